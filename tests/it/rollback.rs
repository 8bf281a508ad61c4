//! `convoy rollback` on the local forge: open pull requests closed, merged ones reverted by a
//! real revert commit, re-running a no-op, a conflict that is one repository's error, and the
//! mark that keeps `apply` and `rollout advance` from putting the campaign back until resumed.

use crate::support::{Entry, HEAD, Org, git};

fn org() -> Org {
    let org = Org::new();
    for name in ["api", "web", "docs", "site"] {
        org.repo(name, &[("README.md", &format!("{name}\n"))]);
    }
    org.template("ci.yml.j2", "name: ci\non: push\n# {{ repo.full_name }}\n");
    org.manifest(&format!(
        "{HEAD}[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n\
         [campaign]\nbranch = \"convoy/ci\"\n"
    ));
    org
}

fn tree(org: &Org, name: &str, rev: &str) -> String {
    git(&org.bare(name), &["rev-parse", &format!("{rev}^{{tree}}")]).trim().to_string()
}

/// api: merged, then a later unrelated commit on main; web: merged, then a later commit that
/// edits the campaign's file (the revert conflicts); docs: left open.
#[test]
fn rollback_closes_open_prs_reverts_merged_ones_and_is_a_no_op_the_second_time() {
    let org = org();
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    let merged = ["--repo", "api", "--repo", "web", "--repo", "site"];
    org.convoy(&[&["forge", "set-status", "-q", "--state", "success"][..], &merged[..]].concat());
    let out = org.convoy(&[&["merge", "-q"][..], &merged[..]].concat());
    assert_eq!(out.code, 0, "{out:?}");
    let pre_merge_api = git(&org.bare("api"), &["rev-parse", "main^1"]).trim().to_string();
    org.commit("api", &[Entry::File("NOTES.md", "later\n")], "an unrelated later change");
    org.commit("web", &[Entry::File(".github/workflows/ci.yml", "name: edited\n")], "edit ci");

    let dry = org.convoy(&["rollback", "--dry-run"]);
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stdout.contains("acme/api would revert merged PR #1"), "{dry:?}");
    assert!(dry.stdout.contains("acme/docs would close PR #1"), "{dry:?}");
    assert_eq!(org.pulls("docs")[0]["state"], "open", "a dry run writes nothing");

    let out = org.convoy(&["rollback"]);
    assert_eq!(out.code, 1, "the web revert conflicts, so the run fails: {out:?}");
    assert!(out.stdout.contains("acme/docs closed PR #1; branch deleted"), "{out:?}");
    assert!(out.stdout.contains("acme/site merged PR #1 reverted by PR #2"), "{out:?}");
    assert!(out.stdout.contains("acme/api merged PR #1 reverted by PR #2"), "{out:?}");
    assert!(
        out.stdout.contains("acme/web failed: reverting pull request #1 of acme/web conflicts with later changes to .github/workflows/ci.yml"),
        "{out:?}"
    );
    assert_eq!(org.pulls("docs")[0]["state"], "closed");
    assert_eq!(org.branch_head("docs", "convoy/ci"), None);

    // The revert: one commit on the base's head, labelled, whose tree is the pre-merge tree
    // plus the later unrelated change, and nothing of the campaign's.
    let revert = &org.pulls("api")[1];
    assert_eq!(revert["head"], "revert-1-convoy/ci");
    assert_eq!(revert["title"], format!("Revert \"{}\"", org.pulls("api")[0]["title"].as_str().unwrap()));
    assert_eq!(revert["labels"], serde_json::json!(["revert"]));
    let parents = git(&org.bare("api"), &["rev-list", "--parents", "-n", "1", "revert-1-convoy/ci"]);
    let main = org.branch_head("api", "main").unwrap();
    assert_eq!(parents.split_whitespace().skip(1).collect::<Vec<_>>(), vec![main.as_str()], "one parent: main's head");
    let files = git(&org.bare("api"), &["ls-tree", "-r", "--name-only", "revert-1-convoy/ci"]);
    assert_eq!(files.lines().collect::<Vec<_>>(), vec!["NOTES.md", "README.md"], "{files}");
    let diff = git(&org.bare("api"), &["diff", "--stat", &pre_merge_api, "revert-1-convoy/ci"]);
    assert!(diff.contains("NOTES.md") && !diff.contains("ci.yml"), "only the later change differs: {diff}");
    let message = git(&org.bare("api"), &["log", "-1", "--format=%B", "revert-1-convoy/ci"]);
    assert!(message.starts_with("Revert \"") && message.contains("This reverts commit "), "{message}");
    assert_eq!(org.branch_head("api", "convoy/ci"), None, "the merged campaign branch is deleted");
    // Where nothing changed since the merge, the revert's tree is the pre-merge tree exactly.
    assert_eq!(tree(&org, "site", "revert-1-convoy/ci"), tree(&org, "site", "main^1"));

    // Re-running: nothing new (the conflict stays web's error until a person reverts by hand).
    let again = org.convoy(&["rollback"]);
    assert!(again.stdout.contains("acme/api merged PR #1 is reverted already by PR #2 (open)"), "{again:?}");
    assert!(again.stdout.contains("acme/docs nothing to undo: PR #1 is closed by convoy"), "{again:?}");
    assert_eq!(org.pulls("api").len(), 2, "no second revert");

    // The campaign is marked: apply leaves the rolled-back repositories out, advance waits.
    let apply = org.convoy(&["apply"]);
    assert!(apply.stdout.contains("rolled back at") || apply.stderr.contains("rolled back at"), "{apply:?}");
    assert_eq!(org.pulls("docs").len(), 1, "apply does not reopen a rolled-back repository");
    assert_eq!(org.branch_head("api", "convoy/ci"), None);

    // Resume (one repository): apply goes back there.
    let out = org.convoy(&["rollout", "resume", "--repo", "docs"]);
    assert!(out.stdout.contains("rolled back no longer: acme/docs"), "{out:?}");
    assert_eq!(org.convoy(&["apply", "-q"]).code, 0);
    assert_eq!(org.pulls("docs").len(), 2, "a new PR once resumed");
    assert_eq!(org.pulls("api").len(), 2, "api is still rolled back");
}

/// A merged change a person already took back by hand leaves nothing to revert: that repository
/// says so and no empty revert PR is opened (as GitHub refuses one).
#[test]
fn a_change_reverted_by_hand_gets_no_empty_revert() {
    let org = org();
    assert_eq!(org.convoy(&["apply", "-q", "--repo", "api"]).code, 0);
    org.convoy(&["forge", "set-status", "-q", "--repo", "api", "--state", "success"]);
    assert_eq!(org.convoy(&["merge", "-q", "--repo", "api"]).code, 0);
    // The person's own revert: the workflow removed again.
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    git(w, &["clone", "-q", org.bare("api").to_str().unwrap(), "."]);
    git(w, &["rm", "-q", ".github/workflows/ci.yml"]);
    git(w, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "revert by hand"]);
    git(w, &["push", "-q", "origin", "main"]);
    let out = org.convoy(&["rollback", "--repo", "api"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("acme/api failed: pull request #1 of acme/api has nothing left to revert"), "{out:?}");
    assert_eq!(org.pulls("api").len(), 1, "no revert PR");
    assert_eq!(org.branch_head("api", "revert-1-convoy/ci"), None, "no revert branch");
}
