use crate::support::{Entry, HEAD, Org, row};

const CAMPAIGN: &str =
    "\n[campaign]\nbranch = \"convoy/ci\"\ntitle = \"ci: baseline for {{ repo.name }}\"\nlabels = [\"convoy\"]\n";

fn org_with_template() -> Org {
    let org = Org::new();
    org.repo("api", &[("Cargo.toml", "[package]\nname = \"api\"\n"), ("README.md", "api\n")]);
    org.repo("web", &[("package.json", "{}\n")]);
    org.template("ci.yml.j2", "name: ci\non: push\n# {{ repo.full_name }} {{ repo.ecosystems | join(',') }}\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n{CAMPAIGN}"
    ));
    org
}

#[test]
fn plan_writes_nothing_and_shows_diffs() {
    let org = org_with_template();
    let out = org.convoy(&["plan", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains(
            "--- /dev/null\n+++ b/.github/workflows/ci.yml\n@@ -0,0 +1,3 @@\n+name: ci\n+on: push\n+# acme/api rust\n"
        ),
        "{out:?}"
    );
    assert!(out.stdout.contains("2 repositories: 2 changed, 0 unchanged, 0 failed\n"), "{out:?}");
    assert!(org.pulls("api").is_empty());
    assert_eq!(org.branch_head("api", "convoy/ci"), None);

    let json = org.convoy(&["plan", "-q", "--offline", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "plan");
    assert_eq!(v["summary"]["changed"], 2);
    assert_eq!(v["repos"][0]["files"][0]["action"], "create");
    assert_eq!(v["repos"][0]["pull_request"]["title"], "ci: baseline for api");
}

#[test]
fn apply_is_idempotent_and_links_siblings() {
    let org = org_with_template();
    let first = org.convoy(&["apply", "-q"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert!(first.stdout.contains("2 repositories: 2 opened, 0 updated, 0 unchanged, 0 closed, 0 failed"), "{first:?}");
    let pulls = org.pulls("api");
    assert_eq!(pulls.len(), 1);
    let body = pulls[0]["body"].as_str().unwrap();
    assert!(body.contains("- acme/api#1 (this pull request)\n- acme/web#1\n"), "{body}");
    assert_eq!(pulls[0]["labels"], serde_json::json!(["convoy"]));
    assert_eq!(org.show("api", "convoy/ci", ".github/workflows/ci.yml"), "name: ci\non: push\n# acme/api rust\n");
    let head = org.branch_head("api", "convoy/ci").unwrap();

    let second = org.convoy(&["apply", "-q"]);
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second.stdout.contains("2 repositories: 0 opened, 0 updated, 2 unchanged, 0 closed, 0 failed"),
        "{second:?}"
    );
    assert_eq!(org.pulls("api").len(), 1, "no duplicate PR");
    assert_eq!(org.branch_head("api", "convoy/ci").unwrap(), head, "no new commit");
}

#[test]
fn base_moving_rebases_the_branch_and_updates_the_same_pr() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    let before = org.branch_head("api", "convoy/ci").unwrap();
    org.commit("api", &[Entry::File("README.md", "api v2\n")], "docs");
    let out = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("pushed new commit to PR #1"), "{out:?}");
    let after = org.branch_head("api", "convoy/ci").unwrap();
    assert_ne!(before, after);
    let parent = crate::support::git(&org.bare("api"), &["rev-parse", &format!("{after}^")]);
    assert_eq!(parent.trim(), org.branch_head("api", "main").unwrap());
    // The filtered run kept the sibling it did not visit.
    let body = org.pulls("api")[0]["body"].as_str().unwrap().to_string();
    assert!(body.contains("- acme/web#1\n"), "{body}");
}

#[test]
fn pr_is_closed_when_the_change_disappears() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    // Someone lands the same file on main by hand: nothing is left to change.
    org.commit("web", &[Entry::File(".github/workflows/ci.yml", "name: ci\non: push\n# acme/web node\n")], "ci");
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("closed PR #1 (no change left)"), "{out:?}");
    assert_eq!(org.pulls("web")[0]["state"], "closed");
    assert_eq!(org.branch_head("web", "convoy/ci"), None, "branch deleted");
    // The other repository's PR now lists one sibling.
    let body = org.pulls("api")[0]["body"].as_str().unwrap().to_string();
    assert!(!body.contains("acme/web"), "{body}");
}

#[test]
fn symlinks_in_the_target_repo_are_refused_for_that_repo_only() {
    let org = Org::new();
    org.repo_with("api", &[Entry::File("README.md", "x\n"), Entry::Link(".github", "/tmp")]);
    org.repo_with("web", &[Entry::File("README.md", "x\n"), Entry::Link(".editorconfig", "../outside")]);
    org.repo("ok", &[("README.md", "x\n")]);
    org.template("ci.yml.j2", "name: ci\n");
    org.file("editorconfig", "root = true\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n[[file]]\nsource = \"editorconfig\"\ndest = \".editorconfig\"\n{CAMPAIGN}"
    ));
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        row(&out.stdout, "acme/api"),
        "acme/api failed: `.github` is a symbolic link in the repository; convoy never writes through symlinks (.github/workflows/ci.yml)"
    );
    assert_eq!(
        row(&out.stdout, "acme/web"),
        "acme/web failed: `.editorconfig` is a symbolic link in the repository; convoy does not replace or write through symlinks"
    );
    assert_eq!(row(&out.stdout, "acme/ok"), "acme/ok opened PR #1 local:acme/ok#1");
    assert!(org.pulls("api").is_empty() && org.pulls("web").is_empty());
    assert_eq!(org.branch_head("api", "convoy/ci"), None);
}

#[test]
fn template_errors_fail_their_repo_with_name_and_line() {
    let org = Org::new();
    org.repo("api", &[("README.md", "x\n")]);
    org.repo("web", &[("README.md", "x\n")]);
    org.template("ci.yml.j2", "name: ci\n{% if repo.name == 'web' %}\nteam: {{ vars.team }}\n{% endif %}\n");
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"ci.yml\"\n{CAMPAIGN}"));
    let out = org.convoy(&["plan", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        row(&out.stdout, "acme/web"),
        "acme/web failed - templates/ci.yml.j2:3: undefined value: `vars.team` is undefined"
    );
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api changed 1 ci.yml");
}

#[test]
fn rendered_yaml_that_does_not_parse_fails_the_repo() {
    let org = Org::new();
    org.repo("api", &[("README.md", "x\n")]);
    org.template("ci.yml.j2", "jobs:\n  a: [unclosed\n");
    org.manifest(&format!("{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \"ci.yml\"\n{CAMPAIGN}"));
    let out = org.convoy(&["plan", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("templates/ci.yml.j2 rendered to ci.yml: not valid YAML at line"), "{out:?}");
}

#[test]
fn prune_deletes_files_the_manifest_stopped_declaring() {
    let org = Org::new();
    org.repo("api", &[("README.md", "x\n")]);
    org.file("editorconfig", "root = true\n");
    org.file("owners", "* @acme/platform\n");
    let files = "[[file]]\nsource = \"editorconfig\"\ndest = \".editorconfig\"\n\n[[file]]\nsource = \"owners\"\ndest = \".github/CODEOWNERS\"\n";
    let campaign = format!("{CAMPAIGN}prune = true\n");
    org.manifest(&format!("{HEAD}{files}{campaign}"));
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    // The PR is merged: main now has the files and the managed list.
    let head = org.branch_head("api", "convoy/ci").unwrap();
    crate::support::git(&org.bare("api"), &["update-ref", "refs/heads/main", &head]);
    let list = org.show("api", "main", ".github/convoy-managed");
    assert!(list.ends_with(".editorconfig\n.github/CODEOWNERS\n"), "{list}");

    // CODEOWNERS leaves the manifest.
    org.manifest(&format!("{HEAD}[[file]]\nsource = \"editorconfig\"\ndest = \".editorconfig\"\n{campaign}"));
    let out = org.convoy(&["plan", "-q"]);
    assert!(
        out.stdout.contains("# delete .github/CODEOWNERS (from prune (listed in .github/convoy-managed))"),
        "{out:?}"
    );
    assert!(out.stdout.contains("-.github/CODEOWNERS\n"), "{out:?}");
}

#[test]
fn a_deleted_campaign_branch_is_recreated_with_a_new_pr() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    // Someone deletes the branch: the forge closes its PR (as GitHub does).
    crate::support::git(&org.bare("api"), &["update-ref", "-d", "refs/heads/convoy/ci"]);
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api opened PR #2 local:acme/api#2");
    let pulls = org.pulls("api");
    assert_eq!(pulls.iter().filter(|p| p["state"] == "open").count(), 1, "exactly one open PR");
    assert!(org.branch_head("api", "convoy/ci").is_some());
}

#[test]
fn a_repo_that_fails_to_fetch_is_not_planned_from_its_stale_cache() {
    let org = org_with_template();
    let (daemon, port) = crate::transport::start_daemon(&org.path().join("forge"));
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap().replace(
        "forge = { kind = \"local\", root = \"forge\" }",
        &format!("forge = {{ kind = \"local\", root = \"forge\", clone_url = \"git://127.0.0.1:{port}/{{owner}}/{{name}}.git\" }}"),
    );
    org.manifest(&manifest);
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    // web moves on while the transport goes down: its cache entry is now stale.
    drop(daemon);
    org.commit("web", &[Entry::File("README.md", "moved\n")], "moved");
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        row(&out.stdout, "acme/web")
            .starts_with("acme/web failed: not planned, the fetch failed: cannot fetch acme/web"),
        "{out:?}"
    );
    assert!(org.pulls("web").is_empty(), "no PR against an old base");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api opened PR #1 local:acme/api#1");
}
