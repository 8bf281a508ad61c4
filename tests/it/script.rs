//! `[[script]]` and `convoy run` through the real binary on real repositories: a script's
//! changes, deletions and mode changes become the plan's diff and the pull request's tree; a
//! failing or slow script fails its repository only; writes outside the checkout and symbolic
//! links are refused; the forge token never reaches the script; entries chain; `convoy run`
//! prints per repository and changes nothing.

use std::path::Path;

use crate::support::{Entry, HEAD, Org, git};

fn org(scripts: &str) -> Org {
    let org = Org::new();
    org.repo("api", &[("README.md", "hello api\n"), ("old.txt", "obsolete\n"), ("run.sh", "#!/bin/sh\necho hi\n")]);
    org.repo_with("web", &[Entry::File("README.md", "hello web\n"), Entry::Link("docs", "README.md")]);
    org.manifest(&format!("{HEAD}{scripts}\n[campaign]\nbranch = \"convoy/script\"\n"));
    org
}

fn mode(org: &Org, repo: &str, path: &str) -> Option<String> {
    let tree = git(&org.bare(repo), &["ls-tree", "-r", "convoy/script"]);
    tree.lines().find(|l| l.ends_with(&format!("\t{path}"))).map(|l| l[..6].to_string())
}

/// Landlock is what makes writes to absolute paths fail; without it they are not caught.
fn landlock(org: &Org) -> bool {
    let out = org.convoy(&["run", "--json", "--repo", "web", "--", "true"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    doc["sandbox"]["kind"] == "landlock"
}

#[test]
fn a_scripts_edits_deletions_and_modes_are_planned_then_applied() {
    let org = org(r#"
[[script]]
name = "tidy"
run = "sed -i 's/hello/HELLO/' README.md && rm old.txt && chmod +x run.sh && echo $CONVOY_DRY_RUN > dry.txt"
repos = ["api"]
"#);
    let plan = org.convoy(&["plan"]);
    assert_eq!(plan.code, 0, "{plan:?}");
    for want in ["-hello api", "+HELLO api", "delete old.txt", "old mode 100644\nnew mode 100755", "+1\n"] {
        assert!(plan.stdout.contains(want), "plan lacks {want:?}: {plan:?}");
    }
    assert!(plan.stdout.contains("from [[script]] `tidy`"), "{plan:?}");
    let apply = org.convoy(&["apply", "-q"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    assert_eq!(org.pulls("api").len(), 1, "a pull request on the local forge");
    assert!(org.pulls("web").is_empty(), "web is not selected by `repos`");
    assert_eq!(org.show("api", "convoy/script", "README.md"), "HELLO api\n");
    assert_eq!(mode(&org, "api", "run.sh").as_deref(), Some("100755"));
    assert_eq!(mode(&org, "api", "old.txt"), None, "deleted");
    assert_eq!(org.show("api", "convoy/script", "dry.txt"), "0\n", "CONVOY_DRY_RUN is 0 in apply");
    // The script runs again and finds nothing new to do.
    let again = org.convoy(&["apply", "-q"]);
    assert!(again.stdout.contains("1 unchanged"), "{again:?}");
}

#[test]
fn a_failing_script_fails_its_repository_only_with_its_exit_code_and_output() {
    let org = org(r#"
[[script]]
run = '''if [ "$CONVOY_REPO_NAME" = api ]; then echo "cannot parse $CONVOY_REPO" >&2; exit 7; fi; echo ok > ok.txt'''
"#);
    let plan = org.convoy(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(all.contains("exited with code 7") && all.contains("cannot parse acme/api"), "{plan:?}");
    assert!(crate::support::row(&plan.stdout, "acme/api").contains("failed"), "{plan:?}");
    assert!(crate::support::row(&plan.stdout, "acme/web").contains("changed"), "{plan:?}");
}

#[test]
fn a_script_past_its_timeout_is_killed_with_its_children() {
    let org = org("[[script]]\nrun = \"echo started; sleep 60 & sleep 60\"\ntimeout = \"1s\"\nrepos = [\"api\"]\n");
    let started = std::time::Instant::now();
    let plan = org.convoy(&["plan"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "killed, not waited for");
    assert_eq!(plan.code, 1, "{plan:?}");
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(all.contains("timed out after 1s") && all.contains("started"), "{plan:?}");
}

#[test]
fn writes_outside_the_checkout_and_symbolic_links_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let out = outside.path().display().to_string();
    // Beside the checkout (`..`): Landlock denies it, or the fence detects it.
    let org = org("[[script]]\nrun = \"echo x > ../escape && echo y > ok.txt\"\nrepos = [\"api\"]\n");
    let plan = org.convoy(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    let all = format!("{}{}", plan.stdout, plan.stderr);
    assert!(all.contains("Permission denied") || all.contains("wrote outside its checkout"), "{plan:?}");
    // A symbolic link the script makes (here to a folder outside) is never part of a change.
    org.manifest(&format!(
        "{HEAD}[[script]]\nrun = \"ln -s {out} outside\"\nrepos = [\"api\"]\n[campaign]\nbranch = \"convoy/script\"\n"
    ));
    let plan = org.convoy(&["plan"]);
    assert_eq!(plan.code, 1, "{plan:?}");
    assert!(format!("{plan:?}").contains("convoy does not write symbolic links"), "{plan:?}");
    // An absolute path: refused by Landlock (not caught without it, as the README says).
    if landlock(&org) {
        org.manifest(&format!(
            "{HEAD}[[script]]\nrun = 'echo y > \"$OUTSIDE/planted\" && echo y > \"$HOME/../../planted\"'\nenv = {{ OUTSIDE = \"{out}\" }}\n[campaign]\nbranch = \"convoy/script\"\n"
        ));
        let plan = org.convoy(&["plan"]);
        assert_eq!(plan.code, 1, "{plan:?}");
        assert!(format!("{plan:?}").contains("Permission denied"), "{plan:?}");
        assert!(!outside.path().join("planted").exists());
    } else {
        eprintln!("no Landlock here: writes to absolute paths are not confined (documented)");
    }
}

#[test]
fn the_forge_token_never_reaches_the_script() {
    let org = org(
        "[[script]]\nrun = \"env | sort > env.txt\"\nenv = { EXTRA = \"from-the-entry\" }\nrepos = [\"api\"]\n[vars]\nteam = \"core\"\n",
    );
    let secrets = [
        ("GITHUB_TOKEN", "ghp_secret1"),
        ("GH_TOKEN", "ghp_secret2"),
        ("CONVOY_GITHUB_TOKEN", "ghp_secret3"),
        ("CONVOY_GITHUB_APP_PRIVATE_KEY", "-----BEGIN secret4"),
        ("AWS_SECRET_ACCESS_KEY", "secret5"),
    ];
    let plan = org.convoy_env(&["plan"], &secrets);
    assert_eq!(plan.code, 0, "{plan:?}");
    assert!(!plan.stdout.contains("secret"), "a secret reached the script: {plan:?}");
    for want in [
        "+CONVOY_REPO=acme/api",
        "+CONVOY_OWNER=acme",
        "+CONVOY_DEFAULT_BRANCH=main",
        "+CONVOY_DRY_RUN=1",
        "+EXTRA=from-the-entry",
        "+CONVOY_VAR_TEAM=core",
        "+PATH=",
    ] {
        assert!(plan.stdout.contains(want), "{want} missing: {plan:?}");
    }
}

#[test]
fn entries_run_in_order_each_on_the_previous_ones_result() {
    let org = org("");
    org.manifest(&format!(
        "{HEAD}[[script]]\nname = \"first\"\nrun = \"echo one > chain.txt\"\n\n\
         [[script]]\nname = \"second\"\ncommand = [\"sh\", \"-c\", \"cp chain.txt copy.txt && echo two >> chain.txt\"]\n\n\
         [campaign]\nbranch = \"convoy/script\"\nbody = \"{{% for c in vars.changes %}}- {{{{ c }}}}\\n{{% endfor %}}\"\n"
    ));
    let apply = org.convoy(&["apply", "-q"]);
    assert_eq!(apply.code, 0, "{apply:?}");
    for repo in ["api", "web"] {
        assert_eq!(org.show(repo, "convoy/script", "chain.txt"), "one\ntwo\n");
        assert_eq!(org.show(repo, "convoy/script", "copy.txt"), "one\n");
    }
    let body = org.pulls("api")[0]["body"].as_str().unwrap_or_default().to_string();
    assert!(body.contains("first: 1 file") && body.contains("second: 2 files"), "{body}");
}

#[test]
fn a_script_entry_needs_exactly_one_command_and_a_valid_timeout() {
    let org = org("[[script]]\nname = \"both\"\nrun = \"true\"\ncommand = [\"true\"]\ntimeout = \"soon\"\n");
    let out = org.convoy(&["validate"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("a [[script]] has `run` or `command`, not both"), "{out:?}");
    assert!(out.stderr.contains("invalid `timeout`"), "{out:?}");
    assert!(out.stderr.contains("org.toml:"), "with the file, line and column: {out:?}");
}

/// Every file under `dir` with its content, to tell whether anything was written.
fn digest(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn convoy_run_prints_each_repositorys_output_and_changes_nothing() {
    let org = org("");
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    let (cache, forge) = (digest(&org.path().join("cache")), digest(&org.path().join("forge")));
    let out = org.convoy(&["run", "--", "sh", "-c", "cat README.md; echo changed > README.md; git mv README.md x.md"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("==> acme/api (exit 0) <==\nhello api\n"), "{out:?}");
    assert!(out.stdout.contains("==> acme/web (exit 0) <==\nhello web\n"), "{out:?}");
    assert_eq!(digest(&org.path().join("cache")), cache, "the cache is unchanged");
    assert_eq!(digest(&org.path().join("forge")), forge, "the forge is unchanged");
    let json = org.convoy(&["--json", "run", "--", "sh", "-c", "echo out; echo err >&2; [ $CONVOY_REPO_NAME = web ]"]);
    assert_eq!(json.code, 1, "the command failed in api: {json:?}");
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["schema_version"], 2);
    assert_eq!(doc["command"], "run");
    assert_eq!(doc["summary"]["failed"], 1);
    let api = &doc["results"][0];
    assert_eq!((api["repo"].as_str(), api["exit_code"].as_i64()), (Some("acme/api"), Some(1)));
    assert_eq!((api["stdout"].as_str(), api["stderr"].as_str()), (Some("out\n"), Some("err\n")));
    assert_eq!(doc["results"][1]["exit_code"], 0);
}

/// A scripted change through the campaign engine unchanged: two waves (`rollout advance`, the
/// pilot's gate, the rest), `merge`, then `rollback` of a merged repository through a revert
/// pull request whose tree is the pre-merge tree.
#[test]
fn a_scripted_change_rolls_out_in_waves_and_rolls_back() {
    let org = Org::new();
    for name in ["api", "web", "db"] {
        org.repo(name, &[("README.md", &format!("hello {name}\n"))]);
    }
    org.manifest(&format!(
        "{HEAD}\n[[script]]\nname = \"shout\"\nrun = \"sed -i 's/hello/HELLO/' README.md\"\n\n\
         [campaign]\nbranch = \"convoy/shout\"\n\n[[wave]]\nname = \"pilot\"\nrepos = [\"api\"]\n\n\
         [[wave]]\nname = \"rest\"\nrest = true\n"
    ));
    let first = org.convoy(&["rollout", "advance", "-q"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!((org.pulls("api").len(), org.pulls("web").len()), (1, 0), "the pilot alone: {first:?}");
    let waits = org.convoy(&["rollout", "advance", "-q"]);
    assert!(waits.stdout.contains("waiting: wave `pilot`"), "{waits:?}");
    assert_eq!(org.convoy(&["forge", "set-status", "-q", "--state", "success"]).code, 0);
    assert_eq!(org.convoy(&["merge", "-q", "--wave", "pilot"]).code, 0);
    let rest = org.convoy(&["rollout", "advance", "-q"]);
    assert_eq!(rest.code, 0, "{rest:?}");
    assert_eq!((org.pulls("web").len(), org.pulls("db").len()), (1, 1), "{rest:?}");
    assert_eq!(org.show("web", "convoy/shout", "README.md"), "HELLO web\n");
    assert_eq!(org.show("api", "main", "README.md"), "HELLO api\n", "the pilot is merged");

    let back = org.convoy(&["rollback", "-q", "--repo", "api"]);
    assert_eq!(back.code, 0, "{back:?}");
    assert!(back.stdout.contains("acme/api merged PR #1 reverted by PR #2"), "{back:?}");
    let tree = |rev: &str| git(&org.bare("api"), &["rev-parse", &format!("{rev}^{{tree}}")]);
    assert_eq!(tree("revert-1-convoy/shout"), tree("main^1"), "the revert takes the script's change back");
    // The rolled-back repository is left out of later applies; the others are untouched.
    let again = org.convoy(&["apply", "-q"]);
    assert!(again.stdout.contains("acme/api") && again.stdout.contains("rolled back"), "{again:?}");
}
