//! `convoy status`, `merge`, `close` and `forge set-status` on the local forge: the real binary,
//! real bare repositories, merges that really move `main`.

use crate::support::{Entry, HEAD, Org, git, row};

const CAMPAIGN: &str = "\n[campaign]\nbranch = \"convoy/ci\"\nmerge_method = \"squash\"\n";

/// Three repositories with an applied campaign (one PR each), opened at a fixed time.
fn applied() -> Org {
    let org = Org::new();
    for name in ["api", "web", "docs"] {
        org.repo(name, &[("README.md", &format!("{name}\n"))]);
    }
    org.template("ci.yml.j2", "name: ci\non: push\n# {{ repo.full_name }}\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n{CAMPAIGN}"
    ));
    let out = org.convoy_env(&["apply", "-q"], &[("CONVOY_NOW", "2026-11-27T12:00:00Z")]);
    assert_eq!(out.code, 0, "{out:?}");
    org
}

fn json(out: &crate::support::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn status_shows_each_pr_with_its_checks_age_and_totals() {
    let org = applied();
    let now = [("CONVOY_NOW", "2026-11-29T12:00:00Z")];
    assert_eq!(org.convoy(&["forge", "set-status", "-q", "--repo", "api", "--state", "success"]).code, 0);
    assert_eq!(org.convoy(&["forge", "set-status", "-q", "--repo", "web", "--state", "failure"]).code, 0);
    let out = org.convoy_env(&["status"], &now);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api #1 open success - yes 2d - local:acme/api#1");
    assert_eq!(row(&out.stdout, "acme/web"), "acme/web #1 open failure - yes 2d - local:acme/web#1");
    assert_eq!(row(&out.stdout, "acme/docs"), "acme/docs #1 open none - yes 2d - local:acme/docs#1");
    assert!(
        out.stdout.contains("3 repositories: 3 open; checks of open PRs: 1 success, 1 failure, 0 pending, 1 none\n"),
        "{out:?}"
    );

    // The JSON envelope: command, campaign, summary, one result per repository.
    let doc = json(&org.convoy_env(&["status", "--json"], &now));
    assert_eq!(doc["command"], "status");
    assert_eq!(doc["campaign"]["branch"], "convoy/ci");
    assert_eq!(doc["summary"]["open"], 3);
    assert_eq!(doc["summary"]["checks_failure"], 1);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    let api = results.iter().find(|r| r["repo"] == "acme/api").unwrap();
    assert_eq!(api["state"], "open");
    assert_eq!(api["checks"], "success");
    assert_eq!(api["mergeable"], "mergeable");
    assert_eq!(api["number"], 1);
    assert_eq!(api["age_seconds"], 2 * 86_400);
    assert_eq!(api["created_at"], "2026-11-27T12:00:00Z");

    // Markdown for a step summary: a table a CommonMark reader takes as one.
    let md = org.convoy_env(&["status", "--format", "markdown"], &now);
    assert!(md.stdout.contains("| acme/web | #1 | open | failure | - | yes | 2d | - |\n"), "{md:?}");

    // Another campaign's branch: no PR anywhere.
    let other = org.convoy(&["status", "--campaign", "convoy/other"]);
    assert_eq!(row(&other.stdout, "acme/api"), "acme/api - no PR - - - - -");
    assert!(other.stdout.contains("3 repositories: 3 without a PR\n"), "{other:?}");
    let bad = org.convoy(&["status", "--campaign", "a..b"]);
    assert_eq!(bad.code, 2, "{bad:?}");
}

#[test]
fn merge_takes_green_mergeable_prs_and_says_why_it_leaves_the_others() {
    let org = applied();
    org.convoy(&["forge", "set-status", "-q", "--repo", "api", "--repo", "web", "--state", "success"]);
    org.convoy(&["forge", "set-status", "-q", "--repo", "docs", "--state", "pending"]);
    // A person changes web's main so that the campaign's file conflicts.
    org.commit("web", &[Entry::File(".github/workflows/ci.yml", "name: theirs\n")], "their ci");
    let main_before = org.branch_head("api", "main").unwrap();

    let dry = org.convoy(&["merge", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert_eq!(row(&dry.stdout, "acme/api"), "acme/api would merge PR #1");
    assert_eq!(org.branch_head("api", "main").unwrap(), main_before, "a dry run writes nothing");

    let out = org.convoy(&["merge"]);
    assert_eq!(out.code, 0, "refusals are results, not failures: {out:?}");
    assert!(row(&out.stdout, "acme/api").starts_with("acme/api merged PR #1"), "{out:?}");
    assert_eq!(row(&out.stdout, "acme/web"), "acme/web PR #1 not merged: it conflicts with its base branch", "{out:?}");
    assert_eq!(row(&out.stdout, "acme/docs"), "acme/docs PR #1 not merged: checks are still running", "{out:?}");
    assert!(out.stdout.contains("1 merged, 0 auto-merge, 2 refused, 0 with nothing to merge, 0 failed"), "{out:?}");

    // The squash (the manifest's method) is one commit on main with the campaign's file.
    let main = org.branch_head("api", "main").unwrap();
    assert_eq!(git(&org.bare("api"), &["rev-parse", &format!("{main}^")]).trim(), main_before);
    assert_eq!(org.show("api", "main", ".github/workflows/ci.yml"), "name: ci\non: push\n# acme/api\n");
    assert_eq!(org.pulls("api")[0]["state"], "merged");

    let status = org.convoy(&["status"]);
    assert!(row(&status.stdout, "acme/api").starts_with("acme/api #1 merged - - -"), "{status:?}");
    assert!(row(&status.stdout, "acme/web").starts_with("acme/web #1 open success - conflict"), "{status:?}");

    // Again: nothing left to merge where it merged; the others say the same as before.
    let again = org.convoy(&["merge", "--json"]);
    let doc = json(&again);
    assert_eq!(doc["command"], "merge");
    assert_eq!(doc["summary"]["merged"], 0);
    assert_eq!(doc["summary"]["skipped"], 1);
    assert_eq!(doc["summary"]["refused"], 2);
    let api = doc["results"].as_array().unwrap().iter().find(|r| r["repo"] == "acme/api").unwrap().clone();
    assert_eq!(api["action"], "skipped");

    // The campaign goes on (its title changes): the other PRs keep the merged one listed.
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap();
    org.manifest(&format!("{manifest}title = \"ci: one workflow\"\n"));
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    let body = org.pulls("docs")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("- acme/api#1 (merged)\n"), "{body}");
    assert!(body.contains("- acme/docs#1 (this pull request)\n"), "{body}");
}

#[test]
fn close_marks_prs_closed_by_convoy_and_can_delete_the_branch() {
    let org = applied();
    let dry = org.convoy(&["close", "--dry-run", "--delete-branch"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stdout.contains("3 would be closed"), "{dry:?}");
    assert_eq!(org.pulls("api")[0]["state"], "open");

    let out = org.convoy(&["close", "--repo", "api", "--delete-branch"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api closed PR #1; branch deleted");
    assert_eq!(org.pulls("api")[0]["state"], "closed");
    assert_eq!(org.branch_head("api", "convoy/ci"), None);
    assert_eq!(org.pulls("web")[0]["state"], "open", "--repo narrows what is closed");

    let status = org.convoy(&["status"]);
    assert!(row(&status.stdout, "acme/api").starts_with("acme/api #1 closed by convoy"), "{status:?}");
    let again = org.convoy(&["close", "--repo", "api"]);
    assert_eq!(row(&again.stdout, "acme/api"), "acme/api nothing to close: PR #1 is closed by convoy");
}

/// Every forge write of `apply`, `merge` and `close` is on the campaign's journal, an intent
/// before and an outcome after, and the journal verifies.
#[test]
fn apply_merge_and_close_write_the_campaign_journal() {
    let org = applied();
    org.convoy(&["forge", "set-status", "-q", "--repo", "api", "--state", "success"]);
    assert_eq!(org.convoy(&["merge", "-q"]).code, 0);
    assert_eq!(org.convoy(&["close", "-q", "--repo", "web"]).code, 0);
    let text = std::fs::read_to_string(org.path().join(".convoy/campaigns/convoy~ci/journal.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ops = |t: &str| entries.iter().filter(|e| e["kind"] == "intent" && e["op"]["type"] == t).count();
    assert_eq!(ops("pr_open"), 3, "one per repository's first PR: {text}");
    assert_eq!(ops("pr_merge"), 1, "{text}");
    assert_eq!(ops("pr_close"), 1, "{text}");
    let intents = entries.iter().filter(|e| e["kind"] == "intent").count();
    let outcomes = entries.iter().filter(|e| e["kind"] == "outcome").count();
    assert_eq!(intents, outcomes, "every intent has its outcome: {text}");
    let merged = entries
        .iter()
        .find(|e| e["kind"] == "outcome" && e["result"]["ok"]["sha"].is_string() && e["result"]["ok"]["pr"] == 1);
    assert!(merged.is_some(), "{text}");
    let verify = org.convoy(&["journal", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
}
