use crate::support::{Entry, HEAD, Org};

#[test]
fn one_broken_repo_fails_alone_and_the_rest_finish() {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    org.repo("web", &[("README.md", "web\n")]);
    // Listed by the forge (a folder named like a repository) but not a git repository.
    std::fs::create_dir_all(org.bare("ghost")).unwrap();
    std::fs::write(org.bare("ghost").join("HEAD"), "garbage").unwrap();
    org.manifest(HEAD);

    let out = org.convoy(&["fetch", "--quiet"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("error: acme/ghost: cannot fetch acme/ghost from file://"), "{out:?}");
    assert!(out.stdout.ends_with("fetched 3 repositories: 2 cloned, 0 updated, 0 up to date, 1 failed\n"), "{out:?}");
    assert!(org.path().join("cache/acme/api.git").is_dir());
    assert!(org.path().join("cache/acme/web.git").is_dir());
    // A failed clone leaves nothing half-written in the cache.
    let leftovers: Vec<_> = std::fs::read_dir(org.path().join("cache/acme"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
}

#[test]
fn later_runs_only_fetch_and_see_new_commits() {
    let org = Org::new();
    org.repo("api", &[("README.md", "v1\n")]);
    org.repo("web", &[("README.md", "web\n")]);
    org.manifest(HEAD);

    let first = org.convoy(&["fetch", "--json"]);
    assert_eq!(first.code, 0, "{first:?}");
    let v: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(v["results"][0]["status"], "cloned");

    let second = org.convoy(&["fetch", "-q"]);
    assert!(second.stdout.ends_with("2 repositories: 0 cloned, 0 updated, 2 up to date, 0 failed\n"), "{second:?}");

    org.commit("api", &[Entry::File("README.md", "v2\n")], "bump");
    let third = org.convoy(&["fetch", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&third.stdout).unwrap();
    let api = v["results"].as_array().unwrap().iter().find(|r| r["repo"] == "acme/api").unwrap();
    assert_eq!(api["status"], "updated");
    assert_eq!(api["head"].as_str().unwrap(), org.branch_head("api", "main").unwrap());

    // Shallow by default: the first clone held one commit, the update added only the new one.
    let cache = org.path().join("cache/acme/api.git");
    let count = || crate::support::git(&cache, &["rev-list", "--count", "refs/remotes/origin/main"]).trim().to_string();
    assert_eq!(count(), "2");
    assert!(cache.join("shallow").exists());
    // --depth re-cuts the history, --full unshallows.
    org.commit("api", &[Entry::File("README.md", "v3\n")], "again");
    assert_eq!(org.convoy(&["fetch", "-q", "--depth", "1"]).code, 0);
    assert_eq!(count(), "1");
    assert_eq!(org.convoy(&["fetch", "-q", "--full"]).code, 0);
    assert_eq!(count(), "3");
    assert!(!cache.join("shallow").exists());
    assert_eq!(org.convoy(&["fetch", "-q", "--depth", "0"]).code, 2, "depth 0 is a usage error");
}

#[test]
fn a_deleted_cache_entry_is_recloned() {
    let org = Org::new();
    org.repo("api", &[("README.md", "v1\n")]);
    org.manifest(HEAD);
    assert_eq!(org.convoy(&["fetch", "-q"]).code, 0);
    // Corrupt the cache: remove every object.
    let objects = org.path().join("cache/acme/api.git/objects");
    std::fs::remove_dir_all(&objects).unwrap();
    std::fs::create_dir_all(&objects).unwrap();
    let out = org.convoy(&["fetch", "-q"]);
    assert_eq!(out.code, 0, "{out:?}");
    let plan = org.convoy(&["plan", "--offline", "-q"]);
    assert_eq!(plan.code, 0, "{plan:?}");
}

#[test]
fn plain_progress_lines_when_stderr_is_not_a_terminal() {
    let org = Org::new();
    org.repo("api", &[("README.md", "v1\n")]);
    org.manifest(HEAD);
    let out = org.convoy(&["fetch"]);
    assert_eq!(out.stderr, "fetch acme/api: cloned\n");
    let quiet = org.convoy(&["fetch", "--quiet"]);
    assert_eq!(quiet.stderr, "");
}

#[test]
fn an_empty_repo_and_a_missing_default_branch_are_said_in_plain_words() {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    // Created on the forge, never pushed to.
    crate::support::git(org.path(), &["init", "-q", "--bare", "-b", "main", org.bare("empty").to_str().unwrap()]);
    // Has commits, but HEAD names a branch that does not exist.
    org.repo("moved", &[("README.md", "x\n")]);
    crate::support::git(&org.bare("moved"), &["branch", "-m", "main", "trunk"]);
    crate::support::git(&org.bare("moved"), &["symbolic-ref", "HEAD", "refs/heads/main"]);
    org.manifest(HEAD);

    let out = org.convoy(&["fetch", "--quiet"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains(
            "error: acme/empty: acme/empty has no commits yet (an empty repository): nothing to plan until its first push\n"
        ),
        "{out:?}"
    );
    assert!(
        out.stdout.contains(
            "error: acme/moved: acme/moved has no branch `main`, which the forge names as its default branch (its branches: trunk)\n"
        ),
        "{out:?}"
    );
    assert!(!out.stdout.contains("refspec"), "{out:?}");
    assert!(org.path().join("cache/acme/api.git").is_dir(), "the others go on");
    // Once cached, a later fetch says the same (no re-clone attempt hides it).
    let again = org.convoy(&["fetch", "--quiet"]);
    assert!(again.stdout.contains("error: acme/empty: acme/empty has no commits yet"), "{again:?}");
}

#[test]
fn a_corrupt_remote_names_the_missing_object() {
    let org = Org::new();
    org.repo("api", &[("README.md", "api\n")]);
    org.manifest(HEAD);
    let bare = org.bare("api");
    let blob = crate::support::git(&bare, &["rev-parse", "main:README.md"]).trim().to_string();
    let loose = bare.join("objects").join(&blob[..2]).join(&blob[2..]);
    std::fs::remove_file(&loose).unwrap();
    let out = org.convoy(&["fetch", "--quiet"]);
    assert_eq!(out.code, 1, "{out:?}");
    let named = format!("the remote repository is missing blob {blob} (README.md)");
    assert!(out.stdout.contains(&named), "the missing object is named: {out:?}");
}
