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
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["command"], "plan");
    assert_eq!(v["summary"]["changed"], 2);
    assert_eq!(v["results"][0]["files"][0]["action"], "create");
    assert_eq!(v["results"][0]["pull_request"]["title"], "ci: baseline for api");
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
fn a_pr_closed_by_a_person_stays_closed_unless_reopen_closed() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    // Someone deletes the branch: the forge closes its PR (as GitHub does), a person's act.
    crate::support::git(&org.bare("api"), &["update-ref", "-d", "refs/heads/convoy/ci"]);
    for _ in 0..2 {
        let out = org.convoy(&["apply", "-q"]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            row(&out.stdout, "acme/api"),
            "acme/api PR #1 closed by a person; left closed (set [campaign] reopen_closed = true to open it again) local:acme/api#1"
        );
        assert_eq!(org.pulls("api").len(), 1, "no new PR");
        assert_eq!(org.pulls("api")[0]["state"], "closed");
        assert_eq!(org.branch_head("api", "convoy/ci"), None);
    }
    // A PR closed in place (the branch kept) is left the same way.
    let web = &org.pulls("web")[0];
    assert_eq!(web["state"], "open");
    close_by_hand(&org, "web", 1);
    let out = org.convoy(&["apply", "-q", "--repo", "web"]);
    assert!(row(&out.stdout, "acme/web").starts_with("acme/web PR #1 closed by a person; left closed"), "{out:?}");
    // `--reopen` opens it again for one run, without the setting.
    let out = org.convoy(&["apply", "-q", "--repo", "web", "--reopen"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(org.pulls("web")[0]["state"], "open", "{out:?}");
    close_by_hand(&org, "web", 1);

    // The setting opens it again: the branch is rebuilt and the same PR reopened.
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap();
    org.manifest(&format!("{manifest}reopen_closed = true\n"));
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api pushed new commit to PR #1 local:acme/api#1");
    let pulls = org.pulls("api");
    assert_eq!(pulls.len(), 1);
    assert_eq!(pulls[0]["state"], "open");
    assert_eq!(org.show("api", "convoy/ci", ".github/workflows/ci.yml"), "name: ci\non: push\n# acme/api rust\n");
    assert_eq!(org.pulls("web")[0]["state"], "open");
}

/// Push a person's commit (adding `NOTES`) on top of `from` of `name` to `to`; returns its id.
fn push_to_branch(org: &Org, name: &str, from: &str, to: &str) -> String {
    let bare = org.bare(name);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    crate::support::git(w, &["init", "-q"]);
    crate::support::git(w, &["fetch", "-q", bare.to_str().unwrap(), from]);
    crate::support::git(w, &["reset", "-q", "--hard", "FETCH_HEAD"]);
    std::fs::write(w.join("NOTES"), "mine\n").unwrap();
    crate::support::git(w, &["add", "-A"]);
    crate::support::git(w, &["commit", "-q", "-m", "my fix"]);
    crate::support::git(w, &["push", "-q", bare.to_str().unwrap(), &format!("HEAD:refs/heads/{to}")]);
    org.branch_head(name, to).unwrap()
}

/// Close PR `number` of `name` as a person would in the forge's UI (the documented state file).
fn close_by_hand(org: &Org, name: &str, number: u64) {
    let path = org.bare(name).join("convoy-forge.json");
    let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for pr in state["pull_requests"].as_array_mut().unwrap() {
        if pr["number"] == number {
            pr["state"] = "closed".into();
        }
    }
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
}

#[test]
fn a_pr_convoy_closed_is_followed_by_a_new_one_when_the_change_comes_back() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    org.commit("web", &[Entry::File(".github/workflows/ci.yml", "name: ci\non: push\n# acme/web node\n")], "ci");
    let out = org.convoy(&["apply", "-q"]);
    assert!(out.stdout.contains("closed PR #1 (no change left)"), "{out:?}");
    // The change comes back: convoy closed #1 itself, so it opens a new PR.
    org.commit("web", &[Entry::File(".github/workflows/ci.yml", "name: old\n")], "ci by hand");
    let out = org.convoy(&["apply", "-q", "--repo", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/web"), "acme/web opened PR #2 local:acme/web#2");
}

#[test]
fn a_campaign_branch_with_someone_elses_commits_is_left_unless_replace() {
    let org = org_with_template();
    // A person made `convoy/ci` (no PR) with a commit of their own.
    let theirs = push_to_branch(&org, "api", "main", "convoy/ci");
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        row(&out.stdout, "acme/api"),
        "acme/api branch `convoy/ci` has commits convoy did not write and no open pull request; left as it is (set [campaign] conflict_strategy = \"replace\" to replace it)"
    );
    assert_eq!(org.branch_head("api", "convoy/ci").unwrap(), theirs, "not force-replaced");
    assert!(org.pulls("api").is_empty());
    assert_eq!(row(&out.stdout, "acme/web"), "acme/web opened PR #1 local:acme/web#1");
    // Nor deleted when there is nothing to change.
    org.commit("api", &[Entry::File(".github/workflows/ci.yml", "name: ci\non: push\n# acme/api rust\n")], "ci");
    let out = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api nothing to do", "{out:?}");
    assert!(
        out.stdout.contains("note acme/api: branch `convoy/ci` kept: it has commits convoy did not write"),
        "{out:?}"
    );
    assert_eq!(org.branch_head("api", "convoy/ci").unwrap(), theirs);
    org.commit("api", &[Entry::File(".github/workflows/ci.yml", "name: old\n")], "ci by hand");
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap();
    org.manifest(&format!("{manifest}conflict_strategy = \"replace\"\n"));
    let out = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api opened PR #1 local:acme/api#1");
    let head = org.branch_head("api", "convoy/ci").unwrap();
    let message = crate::support::git(&org.bare("api"), &["log", "-1", "--format=%B", &head]);
    assert!(message.trim_end().ends_with("\n\nConvoy-Campaign: convoy/ci"), "{message}");
}

#[test]
fn a_branch_convoy_wrote_is_not_mistaken_for_someone_elses() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    // A person pushes a commit of their own on top of convoy's.
    let theirs = push_to_branch(&org, "api", "convoy/ci", "convoy/ci");
    // The change disappears: the PR is closed, but the branch with their commit stays.
    org.commit("api", &[Entry::File(".github/workflows/ci.yml", "name: ci\non: push\n# acme/api rust\n")], "ci");
    let out = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("closed PR #1 (no change left)"), "{out:?}");
    assert_eq!(org.branch_head("api", "convoy/ci").unwrap(), theirs, "their commit is kept");
    assert!(org.pulls("api")[0]["body"].as_str().unwrap().contains("<!-- convoy:closed-by-convoy -->"));
}

#[test]
fn a_new_default_branch_rebuilds_the_branch_and_retargets_the_pr() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    // The repository moves to `trunk`, which has a commit `main` does not.
    let bare = org.bare("api");
    let main = org.branch_head("api", "main").unwrap();
    crate::support::git(&bare, &["update-ref", "refs/heads/trunk", &main]);
    crate::support::git(&bare, &["symbolic-ref", "HEAD", "refs/heads/trunk"]);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    crate::support::git(w, &["init", "-q"]);
    crate::support::git(w, &["fetch", "-q", bare.to_str().unwrap(), "trunk"]);
    crate::support::git(w, &["reset", "-q", "--hard", "FETCH_HEAD"]);
    std::fs::write(w.join("TRUNK"), "only on trunk\n").unwrap();
    crate::support::git(w, &["add", "-A"]);
    crate::support::git(w, &["commit", "-q", "-m", "trunk only"]);
    crate::support::git(w, &["push", "-q", bare.to_str().unwrap(), "HEAD:refs/heads/trunk"]);
    let trunk = org.branch_head("api", "trunk").unwrap();

    let out = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(row(&out.stdout, "acme/api"), "acme/api pushed new commit to PR #1 local:acme/api#1");
    let pr = &org.pulls("api")[0];
    assert_eq!(pr["base"], "trunk", "{pr}");
    assert_eq!(pr["state"], "open");
    let head = org.branch_head("api", "convoy/ci").unwrap();
    let parent = crate::support::git(&bare, &["rev-parse", &format!("{head}^")]);
    assert_eq!(parent.trim(), trunk, "rebuilt on the new default branch, carrying nobody else's commits");
    assert_eq!(org.branch_head("api", "main").unwrap(), main, "the old default branch is untouched");
    // Converged: a re-run changes nothing.
    let again = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(row(&again.stdout, "acme/api"), "acme/api PR #1 up to date local:acme/api#1");
}

#[test]
fn a_default_branch_is_never_moved_or_deleted() {
    let org = org_with_template();
    let main = org.branch_head("api", "main").unwrap();
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap();
    org.manifest(&manifest.replace("branch = \"convoy/ci\"", "branch = \"main\""));
    // Whoever refuses it (`validate`, the engine, the forge), `main` stays where it was.
    for _ in 0..2 {
        let out = org.convoy(&["apply", "-q"]);
        assert_ne!(out.code, 0, "{out:?}");
        assert_eq!(org.branch_head("api", "main").unwrap(), main, "{out:?}");
        assert!(org.pulls("api").is_empty());
    }
}

#[test]
fn renaming_the_campaign_branch_names_the_prs_left_open() {
    let org = org_with_template();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    let manifest = std::fs::read_to_string(org.path().join("org.toml")).unwrap();
    org.manifest(&manifest.replace("branch = \"convoy/ci\"", "branch = \"convoy/ci-v2\""));
    let out = org.convoy(&["apply", "-q", "--repo", "api"]);
    assert_eq!(out.code, 0, "{out:?}");
    // A note of the result (stdout), said once: not logged as well.
    assert!(
        out.stdout.contains(
            "note acme/api: PR #1 on branch `convoy/ci` is still open: [campaign] branch is now `convoy/ci-v2`"
        ),
        "{out:?}"
    );
    assert!(!out.stderr.contains("is still open"), "{out:?}");
    let json = org.convoy(&["apply", "-q", "--repo", "web", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let notes = v.to_string();
    assert!(notes.contains("PR #1 on branch `convoy/ci` is still open"), "{notes}");
}

#[test]
fn two_applies_at_once_converge_on_one_pr_each() {
    let org = org_with_template();
    for round in 0..3 {
        let runs: Vec<_> = (0..2)
            .map(|_| {
                let args = ["-m", org.path().join("org.toml").to_str().unwrap(), "apply", "-q"].map(String::from);
                std::process::Command::new(assert_cmd::cargo::cargo_bin("convoy"))
                    .args(args)
                    .current_dir(org.path())
                    .env_remove("CONVOY_LOG")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for run in runs {
            let out = run.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        for repo in ["api", "web"] {
            let open = org.pulls(repo).iter().filter(|p| p["state"] == "open").count();
            assert_eq!(open, 1, "round {round}: {repo}");
        }
        // Next round races on a fresh change.
        org.commit("api", &[Entry::File("README.md", &format!("round {round}\n"))], "move");
    }
}

#[cfg(unix)]
#[test]
fn executable_sources_and_the_mode_key_set_file_modes() {
    use std::os::unix::fs::PermissionsExt;
    let org = Org::new();
    org.repo("api", &[("README.md", "x\n"), ("tool.sh", "echo old\n")]);
    org.file("run.sh", "#!/bin/sh\necho hi\n");
    let exe = org.path().join("files/run.sh");
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    org.manifest(&format!(
        "{HEAD}[[file]]\nsource = \"run.sh\"\ndest = \"bin/run.sh\"\n\n\
         [[file]]\nsource = \"run.sh\"\ndest = \"bin/plain.sh\"\nmode = \"100644\"\n\n\
         [[file]]\nsource = \"run.sh\"\ndest = \"README.md\"\n\n\
         [[file]]\nsource = \"run.sh\"\ndest = \"tool.sh\"\nmode = \"100755\"\n{CAMPAIGN}"
    ));
    let plan = org.convoy(&["plan", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(plan.stdout.contains("new file mode 100755\n--- /dev/null\n+++ b/bin/run.sh\n"), "{plan:?}");
    assert!(plan.stdout.contains("old mode 100644\nnew mode 100755\n--- a/tool.sh\n"), "{plan:?}");
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    let tree = crate::support::git(&org.bare("api"), &["ls-tree", "-r", "convoy/ci"]);
    let mode = |path: &str| {
        tree.lines().find(|l| l.ends_with(&format!("\t{path}"))).map(|l| l[..6].to_string()).unwrap_or_default()
    };
    assert_eq!(mode("bin/run.sh"), "100755", "a new file from an executable source: {tree}");
    assert_eq!(mode("bin/plain.sh"), "100644", "mode = 100644 wins: {tree}");
    assert_eq!(mode("README.md"), "100644", "an existing file keeps its mode: {tree}");
    assert_eq!(mode("tool.sh"), "100755", "mode = 100755 changes an existing file: {tree}");

    // A mode-only change is a change; a wrong mode string is refused with its place.
    org.manifest(&format!("{HEAD}[[file]]\nsource = \"run.sh\"\ndest = \"x.sh\"\nmode = \"755\"\n{CAMPAIGN}"));
    let bad = org.convoy(&["validate"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("100644") && bad.stderr.contains("100755"), "{bad:?}");
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
