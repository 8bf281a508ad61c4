//! `convoy audit` and `convoy report merge` end to end: real bare repositories, the real binary,
//! every output format, shards, exemptions and exit codes.

use crate::support::{HEAD, Org};

const CLEAN: &str = "name: ci\non: [push, pull_request]\npermissions:\n  contents: read\nconcurrency:\n  group: ci-${{ github.ref }}\n  cancel-in-progress: true\njobs:\n  test:\n    runs-on: ubuntu-latest\n    timeout-minutes: 20\n    steps:\n      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n      - run: make test\n";

const NOISY: &str = "name: status\non:\n  schedule:\n    - cron: '*/5 * * * *'\njobs:\n  poll:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v3\n      - run: cargo run --bin poll\n";

fn org() -> Org {
    let org = Org::new();
    org.repo("api", &[(".github/workflows/ci.yml", CLEAN)]);
    org.repo("status", &[(".github/workflows/status.yml", NOISY), (".github/workflows/ci.yml", CLEAN)]);
    org.repo(
        "broken",
        &[
            (".github/workflows/ci.yml", "on: push\njobs:\n  a: [\n"),
            (
                ".github/actions/setup/action.yml",
                "runs:\n  using: composite\n  steps:\n    - uses: actions/setup-node@v2\n",
            ),
            ("docs/ci.yml", "not: [a workflow\n"),
        ],
    );
    org
}

fn json(out: &crate::support::Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn rules_at(report: &serde_json::Value, repo: &str) -> Vec<(String, String, u64)> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["repo"] == repo)
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn findings_per_repo_with_positions_and_exit_codes() {
    let org = org();
    org.manifest(HEAD);
    let out = org.convoy(&["--json", "audit"]);
    // The broken workflow is an error-level finding: exit 1 at the default --fail-on error.
    assert_eq!(out.code, 1, "{out:?}");
    let report = json(&out);
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["repos"], serde_json::json!(["acme/api", "acme/broken", "acme/status"]));
    assert_eq!(report["summary"]["files"], 5, "docs/ci.yml is not a workflow: {report}");
    assert!(rules_at(&report, "acme/api").is_empty(), "{report}");
    let status = rules_at(&report, "acme/status");
    let at = |rule: &str| status.iter().find(|(r, _, _)| r == rule).map(|(_, p, l)| (p.as_str(), *l));
    assert_eq!(at("schedule-frequency"), Some((".github/workflows/status.yml", 4)));
    assert_eq!(at("outdated-actions"), Some((".github/workflows/status.yml", 9)));
    assert_eq!(at("cache"), Some((".github/workflows/status.yml", 6)));
    for rule in ["concurrency", "permissions", "timeout", "unpinned-actions"] {
        assert!(at(rule).is_some(), "{rule} fires: {status:?}");
    }
    let broken = rules_at(&report, "acme/broken");
    assert_eq!(broken[0], ("outdated-actions".into(), ".github/actions/setup/action.yml".into(), 4), "{broken:?}");
    assert!(broken.contains(&("invalid-workflow".into(), ".github/workflows/ci.yml".into(), 4)), "{broken:?}");

    // Warnings only fail the run when asked to; `never` ignores findings.
    org.manifest(&format!("{HEAD}\n[policy]\nexempt = [\"acme/broken\"]\n"));
    let out = org.convoy(&["audit", "--offline"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("\n  .github/workflows/status.yml:4:13  warning  schedule-frequency  cron `*/5 * * * *`"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("acme/broken"), "exempt: {out:?}");
    assert_eq!(org.convoy(&["audit", "--offline", "--fail-on", "warning"]).code, 1);
}

#[test]
fn rule_settings_exemptions_and_bad_settings() {
    let org = org();
    org.manifest(&format!(
        "{HEAD}\n[policy.rules.schedule-frequency]\nmin_interval_minutes = 5\n\n[policy.rules.unpinned-actions]\nexempt = [\"acme/status\"]\n\n[policy.rules.timeout]\nseverity = \"error\"\n"
    ));
    let out = org.convoy(&["--json", "audit", "--repo", "status"]);
    let report = json(&out);
    let rules: Vec<String> = rules_at(&report, "acme/status").into_iter().map(|(r, _, _)| r).collect();
    assert!(!rules.contains(&"schedule-frequency".to_string()), "every 5 minutes is allowed now: {rules:?}");
    assert!(!rules.contains(&"unpinned-actions".to_string()), "{rules:?}");
    assert_eq!(out.code, 1, "timeout raised to error fails the run: {out:?}");

    let fresh = Org::new();
    fresh.repo("api", &[(".github/workflows/ci.yml", CLEAN)]);
    fresh.manifest(&format!(
        "{HEAD}\n[policy.rules.timeout]\nmin_interval_minutes = 5\n\n[policy.rules.no-such-rule]\nenabled = false\n"
    ));
    let out = fresh.convoy(&["audit"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("`min_interval_minutes` is not an option of rule `timeout`"), "{out:?}");
    assert!(out.stderr.contains("help: it belongs to `schedule-frequency`"), "{out:?}");
    assert!(out.stderr.contains("unknown policy rule `no-such-rule`"), "{out:?}");
    assert!(out.stderr.contains("org.toml:13:"), "positions: {out:?}");
    fresh.manifest(&format!("{HEAD}\n[policy]\nfix_branch = \"fixes..here\"\n"));
    let out = fresh.convoy(&["audit"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("`fixes..here` is not a valid branch name"), "{out:?}");
    assert!(!fresh.path().join("cache").exists(), "nothing touched");
}

#[test]
fn shards_cover_every_repo_once_and_merge_into_one_report() {
    let org = org();
    for i in 0..9 {
        org.repo(&format!("svc-{i}"), &[(".github/workflows/status.yml", NOISY)]);
    }
    org.manifest(HEAD);
    let whole = json(&org.convoy(&["--json", "audit"]));
    let mut paths = Vec::new();
    let mut seen = Vec::new();
    for k in 1..=3 {
        let file = org.path().join(format!("shard-{k}.json"));
        let out = org.convoy(&[
            "audit",
            "--offline",
            "--shard",
            &format!("{k}/3"),
            "--format",
            "json",
            "--output",
            file.to_str().unwrap(),
        ]);
        assert!(out.code <= 1, "{out:?}");
        let part: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        seen.extend(part["repos"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()));
        paths.push(file);
    }
    seen.sort();
    assert_eq!(serde_json::json!(seen), whole["repos"], "each repository in exactly one shard");

    let mut args = vec!["report", "merge", "--format", "json"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let merged = org.convoy(&args);
    assert_eq!(merged.code, 1, "{merged:?}");
    let merged = json(&merged);
    assert_eq!(merged["results"], whole["results"]);
    assert_eq!(merged["files"], whole["files"]);
    assert_eq!(merged["shards"].as_array().unwrap().len(), 3);

    // The same shard twice is a mistake in the workflow, not data to double-count.
    let dup = org.convoy(&["report", "merge", paths[0].to_str().unwrap(), paths[0].to_str().unwrap()]);
    assert_eq!(dup.code, 2, "{dup:?}");
    assert!(dup.stderr.contains("appears in two reports"), "{dup:?}");

    let mut args = vec!["report", "merge", "--format", "sarif", "--fail-on", "never"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let sarif = org.convoy(&args);
    assert_eq!(sarif.code, 0, "{sarif:?}");
    let sarif = json(&sarif);
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), whole["results"].as_array().unwrap().len());
}

#[test]
fn markdown_and_annotations() {
    let org = org();
    org.manifest(HEAD);
    let md = org.convoy(&["audit", "--format", "markdown", "--repo", "status"]);
    assert!(md.stdout.contains("| <code>schedule-frequency</code> | warning | 1 | 1 |"), "{md:?}");
    let gh = org.convoy(&["audit", "--offline", "--format", "github", "--repo", "status"]);
    assert!(
        gh.stdout.lines().any(|l| l.starts_with(
            "::warning file=.github/workflows/status.yml,line=4,col=13,title=schedule-frequency (acme/status)::"
        )),
        "{gh:?}"
    );
}

#[test]
fn a_repo_that_cannot_be_read_is_an_error_and_the_others_go_on() {
    let org = org();
    org.manifest(HEAD);
    // Never fetched: the cache has nothing for any repository.
    let out = org.convoy(&["--json", "audit", "--offline", "--fail-on", "never"]);
    assert_eq!(out.code, 1, "unreadable repositories fail the run: {out:?}");
    let report = json(&out);
    assert_eq!(report["errors"].as_array().unwrap().len(), 3, "{report}");
    // One repository's cache entry broken: the others are audited.
    org.convoy(&["fetch"]);
    std::fs::remove_dir_all(org.path().join("cache/acme/api.git/objects")).unwrap();
    let report = json(&org.convoy(&["--json", "audit", "--offline", "--fail-on", "never"]));
    assert_eq!(report["errors"][0]["repo"], "acme/api", "{report}");
    assert_eq!(report["repos"], serde_json::json!(["acme/broken", "acme/status"]));
}

#[test]
fn fixes_flow_into_a_campaign_of_their_own() {
    let org = org();
    org.manifest(HEAD);
    let plan = org.convoy(&["audit", "--fix", "--repo", "status"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("-    - cron: '*/5 * * * *'\n+    - cron: '*/30 * * * *'\n"), "{plan:?}");
    assert!(plan.stdout.contains("Plan for campaign branch `convoy/policy-fixes` (nothing was written)"), "{plan:?}");
    assert!(org.pulls("status").is_empty(), "a plan writes nothing");

    let out = org.convoy(&["audit", "--fix", "--apply", "--repo", "status"]);
    let journal = org.path().join(".convoy/campaigns/convoy~policy-fixes/journal.jsonl");
    let journal = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(journal.contains(r#""type":"pr_open""#), "the fix campaign's writes are journaled: {journal}");
    assert_eq!(out.code, 0, "{out:?}");
    let prs = org.pulls("status");
    assert_eq!(prs.len(), 1, "{prs:?}");
    let body = prs[0]["body"].as_str().unwrap();
    assert!(body.contains("- .github/workflows/status.yml: cron `*/5 * * * *` → `*/30 * * * *`"), "{body}");
    let fixed = org.show("status", "convoy/policy-fixes", ".github/workflows/status.yml");
    // Byte for byte apart from the fixes: the original lines are all still there, in order.
    let mut rest = fixed.as_str();
    for line in NOISY.lines().filter(|l| !l.contains("cron")) {
        let at = rest.find(line).unwrap_or_else(|| panic!("{line:?} lost or moved:\n{fixed}"));
        rest = &rest[at + line.len()..];
    }
    // What was fixed no longer fires; what cannot be fixed automatically still does.
    let file =
        convoy::workflow::files::SourceFile { path: ".github/workflows/status.yml".into(), bytes: fixed.into_bytes() };
    let left = convoy::policy::audit::Policy::default_rules().audit_repo("acme/status", &[file], &|_| false);
    let rules: Vec<&str> = left.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["cache", "outdated-actions", "unpinned-actions"], "{left:#?}");

    // Re-running changes nothing; the manifest's own campaign branch is untouched.
    let again = org.convoy(&["audit", "--fix", "--apply", "--repo", "status"]);
    assert!(again.stdout.contains("up to date"), "{again:?}");
    assert_eq!(org.pulls("status").len(), 1);
    assert_eq!(org.branch_head("status", "convoy/sync"), None);
}

#[test]
fn fixes_pin_actions_to_the_commits_their_tags_name_on_the_forge() {
    let org = org();
    // The action's own repository on the local forge, with an annotated tag v3 and a branch.
    let work = org.path().join("checkout-src");
    std::fs::create_dir_all(&work).unwrap();
    crate::support::git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("action.yml"), "runs:\n  using: node20\n  main: index.js\n").unwrap();
    crate::support::git(&work, &["add", "."]);
    crate::support::git(&work, &["commit", "-q", "-m", "v3"]);
    crate::support::git(&work, &["tag", "-a", "v3", "-m", "release v3"]);
    let sha = crate::support::git(&work, &["rev-parse", "v3^{commit}"]).trim().to_string();
    let bare = org.path().join("forge/actions/checkout.git");
    crate::support::git(org.path(), &["clone", "-q", "--bare", work.to_str().unwrap(), bare.to_str().unwrap()]);
    org.manifest(HEAD);

    let out = org.convoy(&["audit", "--fix", "--apply", "--repo", "status"]);
    assert_eq!(out.code, 0, "{out:?}");
    let fixed = org.show("status", "convoy/policy-fixes", ".github/workflows/status.yml");
    assert!(fixed.contains(&format!("      - uses: actions/checkout@{sha} # v3\n")), "{fixed}");
    let body = org.pulls("status")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains(&format!("pinned actions/checkout v3 to {sha}")), "{body}");
}

/// The corpus under `tests/data/workflows/`: unusual files GitHub accepts must parse (no
/// `invalid-workflow`), broken ones must be exactly one `invalid-workflow` finding each, with a
/// position, and never a crash.
#[test]
fn corpus_of_unusual_and_malformed_workflows() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/workflows");
    let policy = convoy::policy::audit::Policy::default_rules();
    let audit = |dir: &str| {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let file = convoy::workflow::files::SourceFile {
                path: format!(".github/workflows/{name}"),
                bytes: std::fs::read(&path).unwrap(),
            };
            out.push((name, policy.audit_repo("acme/corpus", &[file], &|_| false)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    let valid = audit("valid");
    assert!(valid.len() >= 8);
    for (name, findings) in &valid {
        let invalid: Vec<_> = findings.iter().filter(|f| f.rule == "invalid-workflow").collect();
        assert!(invalid.is_empty(), "{name} must parse: {invalid:#?}");
    }
    let malformed = audit("malformed");
    assert!(malformed.len() >= 7);
    for (name, findings) in &malformed {
        let invalid: Vec<_> = findings.iter().filter(|f| f.rule == "invalid-workflow").collect();
        assert_eq!(invalid.len(), 1, "{name}: {findings:#?}");
        assert!(invalid[0].line >= 1 && invalid[0].column >= 1, "{name}: {:?}", invalid[0]);
        assert_eq!(findings.len(), 1, "{name}: a broken file gets no other findings: {findings:#?}");
    }
}

/// Steps nested `depth` block sequences deep, written compactly (`- - - x`): 5,000 levels in
/// about 10 KB.
fn deep_workflow(depth: usize) -> String {
    format!("on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      {}x\n", "- ".repeat(depth))
}

#[test]
fn a_workflow_nested_thousands_deep_is_invalid_and_the_other_repositories_are_audited() {
    let org = org();
    let deep = deep_workflow(5_000);
    org.repo("deep", &[(".github/workflows/deep.yml", deep.as_str()), (".github/workflows/ci.yml", CLEAN)]);
    org.manifest(HEAD);
    let out = org.convoy(&["--json", "audit", "--fail-on", "never"]);
    assert_eq!(out.code, 0, "no repository failed: {out:?}");
    let report = json(&out);
    assert_eq!(report["repos"], serde_json::json!(["acme/api", "acme/broken", "acme/deep", "acme/status"]));
    let deep: Vec<&serde_json::Value> =
        report["results"].as_array().unwrap().iter().filter(|f| f["repo"] == "acme/deep").collect();
    assert_eq!(deep.len(), 1, "{deep:#?}");
    assert_eq!(
        (deep[0]["rule"].as_str(), deep[0]["path"].as_str()),
        (Some("invalid-workflow"), Some(".github/workflows/deep.yml"))
    );
    assert_eq!((deep[0]["line"].as_u64(), deep[0]["severity"].as_str()), (Some(6), Some("error")));
    let message = deep[0]["message"].as_str().unwrap();
    assert!(message.contains("nested more than 64 levels deep (convoy's limit for YAML is 64 levels)"), "{message}");
    assert!(!rules_at(&report, "acme/status").is_empty(), "the others are audited: {report}");

    // `deps actions` lists the other repositories' actions and skips the deep file.
    let out = org.convoy(&["--json", "deps", "actions", "--offline"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("actions/checkout"), "{out:?}");

    // `plan` with a template rendering the same nesting: that repository fails, clearly.
    org.template("deep.yml.j2", "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      {{ '- ' * 5000 }}x\n");
    org.file("editorconfig", "root = true\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"deep.yml.j2\"\ndest = \".github/workflows/deep-gen.yml\"\nrepos = [\"acme/api\"]\n\n[[file]]\nsource = \"editorconfig\"\ndest = \".editorconfig\"\n"
    ));
    let out = org.convoy(&["plan", "--offline", "--json"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("templates/deep.yml.j2 rendered to .github/workflows/deep-gen.yml: not accepted as YAML at line 6 column 129: nested more than 64 levels deep"),
        "{out:?}"
    );
    assert!(out.stdout.contains(".editorconfig"), "the other repositories are planned: {out:?}");
}

#[test]
fn report_merge_refuses_a_missing_doubled_or_mixed_set_of_shards() {
    let org = org();
    for i in 0..6 {
        org.repo(&format!("svc-{i}"), &[(".github/workflows/status.yml", NOISY)]);
    }
    org.manifest(HEAD);
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    let shard = |k: &str, run: &str| {
        let file = org.path().join(format!("shard-{}-{run}.json", k.replace('/', "-of-")));
        let out = org.convoy(&[
            "audit",
            "--offline",
            "--shard",
            k,
            "--run-id",
            run,
            "--format",
            "json",
            "-o",
            file.to_str().unwrap(),
        ]);
        assert!(out.code <= 1, "{out:?}");
        file.to_str().unwrap().to_string()
    };
    let (one, two, three) = (shard("1/3", "77"), shard("2/3", "77"), shard("3/3", "77"));
    let recorded: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&two).unwrap()).unwrap();
    assert_eq!(recorded["shards"], serde_json::json!([{"index": 2, "count": 3, "run": "77"}]));
    let merge = |files: &[&str]| {
        let mut args = vec!["report", "merge", "--format", "json", "--fail-on", "never"];
        args.extend(files);
        org.convoy(&args)
    };
    let ok = merge(&[&three, &one, &two]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(json(&ok)["shards"].as_array().unwrap().len(), 3);

    let missing = merge(&[&one, &two]);
    assert_eq!(missing.code, 2, "{missing:?}");
    assert!(missing.stderr.contains("shard 3/3 is missing"), "{missing:?}");
    let doubled = merge(&[&one, &two, &three, &two]);
    assert_eq!(doubled.code, 2, "{doubled:?}");
    assert!(doubled.stderr.contains("shard 2/3 appears in two reports"), "{doubled:?}");
    let other_run = shard("3/3", "78");
    let mixed = merge(&[&one, &two, &other_run]);
    assert_eq!(mixed.code, 2, "{mixed:?}");
    assert!(mixed.stderr.contains("has run `77` but") && mixed.stderr.contains("has run `78`"), "{mixed:?}");
    let other_count = shard("2/2", "77");
    let mixed = merge(&[&one, &other_count, &three]);
    assert_eq!(mixed.code, 2, "{mixed:?}");
    assert!(mixed.stderr.contains("is a shard of 3 but") && mixed.stderr.contains("has shard 2/2"), "{mixed:?}");
    // A device given as a shard is refused at once, not read until memory runs out.
    let zero = merge(&[&one, &two, "/dev/zero"]);
    assert_eq!(zero.code, 2, "{zero:?}");
    assert!(zero.stderr.contains("/dev/zero") && zero.stderr.contains("not a regular file"), "{zero:?}");
}

/// The top-level blocks of a Markdown text as a CommonMark parser reads it: `(kind, text)`,
/// where a list's text is its items joined by ` | `.
fn markdown_blocks(markdown: &str) -> Vec<(String, String)> {
    use pulldown_cmark::{Event, Parser, Tag};
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut kind = String::new();
    let mut text = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    kind = format!("{tag:?}").split(['(', ' ', '{']).next().unwrap_or_default().to_string();
                    text.clear();
                } else if depth == 1 && matches!(tag, Tag::Item) && !text.is_empty() {
                    text.push_str(" | ");
                }
                depth += 1;
            }
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    out.push((kind.clone(), text.trim().to_string()));
                }
            }
            Event::Rule if depth == 0 => out.push(("Rule".into(), String::new())),
            Event::Text(s) | Event::Code(s) | Event::Html(s) => text.push_str(&s),
            Event::SoftBreak => text.push('\n'),
            _ => {}
        }
    }
    out
}

#[test]
fn the_fix_pull_request_body_is_valid_markdown_with_separate_blocks() {
    let org = org();
    org.manifest(HEAD);
    // The cron is relaxed; `actions/checkout` has no repository on this forge, so its pin is
    // left for a person.
    let out = org.convoy(&["audit", "--fix", "--apply", "--repo", "status"]);
    assert_eq!(out.code, 0, "{out:?}");
    let body = org.pulls("status")[0]["body"].as_str().unwrap().to_string();
    let blocks = markdown_blocks(&body);
    let kinds: Vec<&str> = blocks.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["Paragraph", "List", "Heading", "List", "Paragraph", "HtmlBlock", "Rule", "Paragraph", "List", "HtmlBlock"],
        "{body}\n{blocks:#?}"
    );
    assert_eq!(blocks[2].1, "Left for a person (convoy does not guess these)");
    assert!(blocks[3].1.contains("unpinned-actions"), "{blocks:#?}");
    assert!(!blocks[3].1.contains("Run convoy audit"), "the closing line is not glued to the list: {blocks:#?}");
    assert_eq!(blocks[4].1, "Run convoy audit to see every finding.");
    assert_eq!(blocks[8].1, "acme/status#1 (this pull request)");
}

/// `audit --fix` never breaks a workflow that works today: a caller of a reusable workflow keeps
/// no group that would equal the callee's (GitHub cancels such a call as a deadlock), a scheduled
/// `actions/stale` job keeps the scopes it writes with, a Pages deploy that pushes with the token
/// is left for a person, and each of those leaves the file's other fixes in.
#[test]
fn fixes_that_would_break_a_working_workflow_are_left_for_a_person_alone() {
    let caller = "name: CI\non: push\npermissions: {}\njobs:\n  build:\n    uses: ./.github/workflows/build.yml\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make lint\n";
    let callee = "name: Build\non: [push, workflow_call]\npermissions: {}\nconcurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\njobs:\n  build:\n    runs-on: ubuntu-latest\n    timeout-minutes: 20\n    steps:\n      - run: make\n";
    let stale = "name: stale\non:\n  schedule:\n    - cron: '0 3 * * *'\nconcurrency: stale\njobs:\n  stale:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/stale@v9\n";
    let pages = "name: docs\non:\n  push:\n    branches: [main]\nconcurrency: docs\njobs:\n  docs:\n    runs-on: ubuntu-latest\n    timeout-minutes: 10\n    steps:\n      - run: git push origin HEAD:gh-pages\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n";
    let org = Org::new();
    org.repo(
        "calls",
        &[
            (".github/workflows/ci.yml", caller),
            (".github/workflows/build.yml", callee),
            (".github/workflows/stale.yml", stale),
            (".github/workflows/docs.yml", pages),
        ],
    );
    org.manifest(HEAD);
    let out = org.convoy(&["audit", "--fix", "--apply", "--repo", "calls"]);
    assert_eq!(out.code, 0, "{out:?}");
    let ci = org.show("calls", "convoy/policy-fixes", ".github/workflows/ci.yml");
    assert!(!ci.contains("concurrency"), "no group equal to build.yml's:\n{ci}");
    assert!(ci.contains("  lint:\n    timeout-minutes: 30\n"), "the other fix of the file went in:\n{ci}");
    let stale_fixed = org.show("calls", "convoy/policy-fixes", ".github/workflows/stale.yml");
    assert!(stale_fixed.contains("\npermissions:\n  contents: read\n\njobs:\n"), "{stale_fixed}");
    assert!(
        stale_fixed.contains("    permissions:\n      actions: write\n      contents: read\n      issues: write\n      pull-requests: write\n"),
        "stale keeps what it writes with:\n{stale_fixed}"
    );
    let docs = org.show("calls", "convoy/policy-fixes", ".github/workflows/docs.yml");
    assert_eq!(docs, pages, "nothing of the Pages deploy is fixed");
    let body = org.pulls("calls")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("Left for a person"), "{body}");
    assert!(body.contains(".github/workflows/ci.yml:2 concurrency:") && body.contains("deadlock"), "{body}");
    assert!(body.contains(".github/workflows/docs.yml:1 permissions: job `docs`"), "{body}");

    // The fixed repository audits without a concurrency deadlock, and so did the original.
    let report = json(&org.convoy(&["--json", "audit", "--offline", "--repo", "calls", "--fail-on", "never"]));
    let deadlocks = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["message"].as_str().unwrap().contains("deadlock"))
        .count();
    assert_eq!(deadlocks, 0, "{report}");
}
