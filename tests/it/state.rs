//! `[state]`: the journal, claim and rollout state on a state branch of a control repository
//! instead of beside the manifest, on the local forge (compare-and-swap ref updates).

use crate::support::{HEAD, Org, git};

fn org() -> Org {
    let org = Org::new();
    for name in ["api", "web", "control"] {
        org.repo(name, &[("README.md", &format!("{name}\n"))]);
    }
    org.template("ci.yml.j2", "name: ci\non: push\n# {{ repo.full_name }}\n");
    org.manifest(&format!(
        "{HEAD}[[repo]]\nname = \"acme/control\"\nexclude = true\n\n\
         [[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n\
         [campaign]\nbranch = \"convoy/ci\"\n\n[state]\nrepo = \"acme/control\"\n"
    ));
    org
}

fn on_state_branch(org: &Org, file: &str) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(org.bare("control"))
        .args(["show", &format!("convoy-state:campaigns/convoy~ci/{file}")])
        .output()
        .unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn the_journal_claim_and_rollout_state_live_on_the_state_branch() {
    let org = org();
    let out = org.convoy(&["apply", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(org.pulls("api").len(), 1);
    assert!(org.pulls("control").is_empty(), "the control repository is not a target");
    assert!(!org.path().join(".convoy/campaigns").exists(), "nothing beside the manifest");
    let journal = on_state_branch(&org, "journal.jsonl").expect("the journal is on the state branch");
    assert!(journal.lines().count() >= 4 && journal.contains("\"pr_open\""), "{journal}");
    assert_eq!(on_state_branch(&org, "claim.json"), None, "the claim was given back");
    let log = git(&org.bare("control"), &["log", "--format=%s", "convoy-state"]);
    assert!(log.contains("convoy journal: convoy/ci") && log.contains("convoy claim: convoy/ci released"), "{log}");

    let verify = org.convoy(&["journal", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    assert!(verify.stdout.contains("acme/control@convoy-state:campaigns/convoy~ci/journal.jsonl"), "{verify:?}");
    assert!(verify.stdout.contains("verified: the hash chain is intact"), "{verify:?}");

    // The rollout state (here: a rollback mark) goes there too, and apply reads it from there.
    assert_eq!(org.convoy(&["rollback", "-q", "--repo", "web"]).code, 0);
    let state = on_state_branch(&org, "rollout.json").expect("rollout.json on the state branch");
    assert!(state.contains("\"acme/web\""), "{state}");
    let apply = org.convoy(&["apply"]);
    assert!(format!("{}{}", apply.stdout, apply.stderr).contains("skipped acme/web: rolled back"), "{apply:?}");
    assert_eq!(org.pulls("web").len(), 1, "not reopened");
}

/// A live claim of another runner on the state branch stops a run at once (exit 3), naming it.
#[test]
fn a_claim_on_the_state_branch_keeps_other_runners_out() {
    let org = org();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    git(w, &["clone", "-q", "-b", "convoy-state", org.bare("control").to_str().unwrap(), "."]);
    let claim = r#"{"v":1,"campaign":"convoy/ci","holder":"runner","host":"ci-runner-7","pid":4242,"run":"gh-run-7","acquired_at":"2026-11-29T10:00:00Z","expires_at":"2099-01-01T00:00:00Z"}"#;
    std::fs::write(w.join("campaigns/convoy~ci/claim.json"), format!("{claim}\n")).unwrap();
    git(w, &["add", "-A"]);
    git(w, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "another runner claims"]);
    git(w, &["push", "-q", "origin", "convoy-state"]);
    let out = org.convoy(&["rollout", "resume"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("claimed by run gh-run-7 (runner@ci-runner-7"), "{out:?}");
}
