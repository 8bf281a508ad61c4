//! `convoy cost` end to end: the local forge (no run history: assumed minutes) with the
//! scheduler suggestion, and the GitHub backend against the test server, where seeded workflow
//! runs give the minutes per run.

use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};
use serde_json::{Value, json};

use crate::support::{HEAD, Org, Output};

/// Every 5 minutes on linux, without `workflow_dispatch`.
const STATUS: &str = "name: status\non:\n  schedule:\n    - cron: '*/5 * * * *'\njobs:\n  poll:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ./poll\n";
/// Every 10 minutes on macOS, dispatchable.
const MAC: &str = "name: mac\non:\n  workflow_dispatch:\n  schedule:\n    - cron: '*/10 * * * *'\njobs:\n  build:\n    runs-on: macos-14\n    steps:\n      - run: ./build\n";
/// Nightly on Windows: within the policy, nothing to save.
const NIGHTLY: &str = "name: nightly\non:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  test:\n    runs-on: windows-latest\n    steps:\n      - run: ./test\n";
const CI: &str = "name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n";

fn json(out: &Output) -> Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn local_org(policy: &str) -> Org {
    let org = Org::new();
    org.repo("status", &[(".github/workflows/status.yml", STATUS)]);
    org.repo("mac", &[(".github/workflows/mac.yml", MAC)]);
    org.repo("api", &[(".github/workflows/ci.yml", CI), (".github/workflows/nightly.yml", NIGHTLY)]);
    org.manifest(&format!("{HEAD}\n[policy.cost]\nassumed_minutes_per_run = 3\n{policy}"));
    org
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-6)
}

#[test]
fn local_forge_assumed_minutes_savings_and_totals() {
    let org = local_org("");
    let out = org.convoy(&["--json", "cost"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    assert_eq!((doc["schema_version"].as_u64(), doc["command"].as_str()), (Some(2), Some("cost")));
    assert_eq!(doc["history"]["available"], false);
    assert_eq!(doc["history"]["note"], "the local forge keeps no run history");
    assert_eq!(doc["summary"]["unscheduled_workflows"], 1, "ci.yml has no schedule");
    let workflows = doc["results"].as_array().unwrap();
    let paths: Vec<&str> = workflows.iter().map(|w| w["path"].as_str().unwrap()).collect();
    assert_eq!(paths, [".github/workflows/nightly.yml", ".github/workflows/mac.yml", ".github/workflows/status.yml"]);
    let by = |repo: &str| workflows.iter().find(|w| w["repo"] == repo).unwrap();
    // acme/status: 12 × 24 × 30 = 8640 runs × 3 assumed minutes = 25920 minutes × $0.008 = $207.36.
    let status = by("acme/status");
    assert_eq!((status["runs_per_month"].as_u64(), status["minutes_source"].as_str()), (Some(8640), Some("assumed")));
    assert!(close(&status["minutes_per_month"], 25_920.0) && close(&status["dollars_per_month"], 207.36), "{status}");
    // acme/mac: 6 × 24 × 30 = 4320 runs × 3 = 12960 minutes × $0.08 = $1036.80.
    let mac = by("acme/mac");
    assert_eq!(mac["runners"][0]["os"], "macos");
    assert!(close(&mac["dollars_per_month"], 1036.8), "{mac}");
    // acme/api nightly: 30 runs × 3 = 90 minutes × $0.016 = $1.44.
    assert!(close(&by("acme/api")["dollars_per_month"], 1.44));
    // Org: 8640 + 4320 + 30 = 12990 runs; 25920 + 12960 + 90 = 38970 minutes; $1245.60.
    let totals = &doc["totals"];
    assert_eq!(totals["runs_per_month"], 12_990);
    assert!(close(&totals["minutes_per_month"], 38_970.0) && close(&totals["dollars_per_month"], 1245.6), "{totals}");
    // Savings: */5 → */30 saves 8640 - 1440 = 7200 runs (21600 min, $172.80); */10 → */30 saves
    // 4320 - 1440 = 2880 runs (8640 min × $0.08 = $691.20). Total 10080 runs, $864.00.
    let savings = doc["savings"].as_array().unwrap();
    assert_eq!(savings.len(), 2, "{savings:?}");
    let s = savings.iter().find(|s| s["repo"] == "acme/status").unwrap();
    assert_eq!(
        (s["relaxed"].as_str(), s["runs_saved"].as_u64(), s["line"].as_u64()),
        (Some("*/30 * * * *"), Some(7200), Some(4))
    );
    assert!(close(&s["dollars_saved"], 172.8), "{s}");
    assert_eq!(doc["savings_totals"]["runs_per_month"], 10_080);
    assert!(close(&doc["savings_totals"]["dollars_per_month"], 864.0));
    assert!(doc["scheduler"].is_null(), "no --consolidate: no scheduler");

    let text = org.convoy(&["cost", "--offline"]);
    assert_eq!(text.code, 0, "{text:?}");
    let row = crate::support::row(&text.stdout, "acme/status");
    assert_eq!(row, "acme/status status.yml linux */5 * * * * 8640 3 (assumed) 25920 $207.36", "{text:?}");
    assert!(crate::support::row(&text.stdout, "TOTAL").ends_with("12990 38970 $1245.60"), "{text:?}");
    assert!(text.stdout.contains("Savings if the schedule-frequency fixes are applied (every 30 minutes at most):"));
    let folded = text.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(folded.contains("acme/status status.yml:4 */5 * * * * */30 * * * * 7200 21600 $172.80"), "{text:?}");
    assert!(folded.contains("TOTAL 2 cron(s) 10080 30240 $864.00"), "{text:?}");
    assert!(text.stdout.contains("run history: unavailable (the local forge keeps no run history)"), "{text:?}");
}

#[test]
fn local_forge_scheduler_suggestion_passes_the_audit() {
    // acme/mac is exempt from the rule: no saving, not dispatched.
    let org = local_org("\n[policy.rules.schedule-frequency]\nexempt = [\"acme/mac\"]\n");
    let file = org.path().join("convoy-scheduler.yml");
    let out = org.convoy(&["cost", "--suggest-scheduler", "--output", file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("dispatching 1 workflow(s)"), "{out:?}");
    // Before 8640 (*/5); after 1440 scheduler runs × 1 workflow; 7200 saved.
    assert!(
        out.stdout
            .contains("runs per month: 8640 before, 1440 after (1440 scheduler runs × 1 workflow(s)): 7200 saved"),
        "{out:?}"
    );
    assert!(out.stdout.contains("add `workflow_dispatch:` to acme/status .github/workflows/status.yml"), "{out:?}");
    assert!(out.stdout.contains("wrote the scheduler workflow to [ORG]/convoy-scheduler.yml"), "{out:?}");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains("- cron: \"*/30 * * * *\""), "{yaml}");
    assert!(yaml.contains("REPOSITORY: \"acme/status\""), "{yaml}");
    assert!(!yaml.contains("acme/mac"), "exempt: {yaml}");

    let doc = json(&org.convoy(&["--json", "cost", "--offline", "--suggest-scheduler"]));
    let s = &doc["scheduler"];
    assert_eq!(
        (s["runs_before"].as_u64(), s["runs_after"].as_u64(), s["runs_saved"].as_u64()),
        (Some(8640), Some(1440), Some(7200))
    );
    assert_eq!(s["workflow"].as_str(), Some(yaml.as_str()));
    assert_eq!(s["add_workflow_dispatch"], json!(["acme/status .github/workflows/status.yml"]));

    // The suggested workflow, committed to a control repository, passes `convoy audit`.
    org.repo("control", &[(".github/workflows/convoy-scheduler.yml", yaml.as_str())]);
    let audit = org.convoy(&["--json", "audit", "--repo", "control"]);
    assert_eq!(audit.code, 0, "{audit:?}");
    assert_eq!(json(&audit)["results"], json!([]), "{audit:?}");
}

#[test]
fn output_needs_the_suggestion() {
    let org = local_org("");
    let out = org.convoy(&["cost", "--output", "x.yml"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--suggest-scheduler"), "{out:?}");
}

const TOKEN: &str = "ghp_convoyCOSTtoken0123456789abcdefXYZ";

/// Run the binary off the runtime's threads (the server runs on them).
async fn convoy(dir: &std::path::Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(cargo_bin("convoy"));
    cmd.arg("-m").arg(dir.join("org.toml")).args(args).current_dir(dir);
    for var in ["GITHUB_TOKEN", "GH_TOKEN", "CONVOY_GITHUB_APP_PRIVATE_KEY", "CONVOY_LOG", "CONVOY_MANIFEST"] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1").env("GITHUB_TOKEN", TOKEN);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn seeded(id: u64, path: &str, event: &str, status: &str, seconds: i64) -> Value {
    let start = "2026-05-01T10:00:00Z";
    let end = (chrono::DateTime::parse_from_rfc3339(start).unwrap() + chrono::TimeDelta::seconds(seconds)).to_rfc3339();
    let conclusion = if status == "completed" { json!("success") } else { Value::Null };
    json!({"id": id, "path": path, "event": event, "status": status, "conclusion": conclusion,
           "run_started_at": start, "updated_at": end})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn github_history_gives_minutes_and_dollars() {
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.unwrap();
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into()] });
    let status = STATUS.replace("on:\n", "on:\n  workflow_dispatch:\n");
    server.create_repo(
        "acme",
        "ops",
        &[(".github/workflows/status.yml", status.as_bytes()), (".github/workflows/ci.yml", CI.as_bytes())],
        RepoOptions::default().private(true),
    );
    server.create_repo(
        "acme",
        "quiet",
        &[(".github/workflows/nightly.yml", NIGHTLY.as_bytes())],
        RepoOptions::default(),
    );
    let path = ".github/workflows/status.yml";
    server.seed_workflow_runs(
        "acme",
        "ops",
        vec![
            seeded(6, path, "schedule", "in_progress", 0),
            seeded(5, path, "schedule", "completed", 170),
            seeded(4, path, "schedule", "completed", 175),
            seeded(3, path, "schedule", "completed", 180),
            // Scheduled runs exist, so a manual run does not count; nor do other workflows' runs.
            seeded(2, path, "workflow_dispatch", "completed", 3600),
            seeded(1, ".github/workflows/ci.yml", "push", "completed", 600),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("org.toml"),
        format!(
            "[org]\nname = \"acme\"\njobs = 2\ncache_dir = \"cache\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"{}\"\n\n[[repo]]\nname = \"acme/*\"\n",
            server.api_url()
        ),
    )
    .unwrap();
    let out = convoy(dir.path(), &["--json", "-q", "cost", "--history", "10"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    assert_eq!((doc["history"]["available"].as_bool(), doc["history"]["limit"].as_u64()), (Some(true), Some(10)));
    let w = doc["results"].as_array().unwrap().iter().find(|w| w["repo"] == "acme/ops").unwrap();
    assert_eq!((w["minutes_source"].as_str(), w["history_runs"].as_u64()), (Some("history"), Some(3)), "{w}");
    // (170 + 175 + 180) / 3 = 175 s = 2.916667 minutes; each run bills 3 whole minutes.
    assert!(close(&w["average_minutes"], 2.916667) && close(&w["billable_minutes_per_runner"], 3.0), "{w}");
    // 8640 runs × 3 minutes = 25920 minutes × $0.008 = $207.36.
    assert!(close(&w["minutes_per_month"], 25_920.0) && close(&w["dollars_per_month"], 207.36), "{w}");
    // acme/quiet's nightly has no runs: assumed 1 minute × 30 runs × $0.016 = $0.48.
    let quiet = doc["results"].as_array().unwrap().iter().find(|w| w["repo"] == "acme/quiet").unwrap();
    assert_eq!(quiet["minutes_source"], "assumed");
    assert!(close(&quiet["dollars_per_month"], 0.48), "{quiet}");
    assert!(quiet["notes"][0].as_str().unwrap().contains("no completed runs"), "{quiet}");
    // One request per scheduled workflow, on GitHub's per-workflow endpoint.
    let route = "GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs";
    assert_eq!(doc["api"]["by_route"][route], 2, "{}", doc["api"]);

    let text = convoy(dir.path(), &["cost", "--offline", "--history", "10"]).await;
    assert_eq!(text.code, 0, "{text:?}");
    let row = crate::support::row(&text.stdout, "acme/ops");
    assert_eq!(row, "acme/ops status.yml linux */5 * * * * 8640 3 (avg 2.9 over 3 runs) 25920 $207.36", "{text:?}");
    assert!(text.stdout.contains("run history: the last 10 runs of each workflow"), "{text:?}");
    assert!(text.stderr.contains("API: "), "{text:?}");

    // --history 0 asks nothing.
    let none = json(&convoy(dir.path(), &["--json", "-q", "cost", "--offline", "--history", "0"]).await);
    assert_eq!(none["history"]["note"], "not asked for (--history 0)");
    assert!(none["api"]["by_route"].get(route).is_none(), "{}", none["api"]);
}

#[test]
fn a_workflow_nested_thousands_deep_is_skipped_and_the_others_are_priced() {
    let org = local_org("");
    // 5,000 nested block sequences in about 10 KB (`- - - ... x`).
    let deep = format!(
        "on:\n  schedule:\n    - cron: '0 3 * * *'\njobs:\n  a:\n    runs-on: x\n    steps:\n      {}x\n",
        "- ".repeat(5_000)
    );
    org.repo("deep", &[(".github/workflows/deep.yml", deep.as_str())]);
    let out = org.convoy(&["--json", "cost"]);
    assert_eq!(out.code, 0, "{out:?}");
    let doc = json(&out);
    let skipped = doc["skipped_workflows"].as_array().unwrap();
    let deep = skipped.iter().find(|s| s["repo"] == "acme/deep").unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(deep["path"], ".github/workflows/deep.yml");
    assert!(deep["reason"].as_str().unwrap().contains("nested more than 64 levels deep"), "{deep}");
    let repos: Vec<&str> = doc["results"].as_array().unwrap().iter().map(|w| w["repo"].as_str().unwrap()).collect();
    assert!(repos.contains(&"acme/status") && repos.contains(&"acme/mac"), "{repos:?}");
}
