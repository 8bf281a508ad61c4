//! The local forge through the `Forge` trait: the contract the GitHub backend must meet too.

use convoy::forge::local::LocalForge;
use convoy::forge::{
    FileChange, Forge, ForgeError, MergeMethod, NewPullRequest, NewRelease, PrState, PullRequestUpdate, RepoId,
};

use crate::support::{Org, git, open_pr, write};

fn setup() -> (Org, LocalForge, RepoId) {
    let org = Org::new();
    org.repo("api", &[("README.md", "one\ntwo\nthree\n"), ("src/lib.rs", "pub fn a() {}\n")]);
    let forge = LocalForge::new(org.path().join("forge"), None);
    (org, forge, RepoId::new("acme", "api"))
}

#[tokio::test]
async fn commits_land_in_the_bare_repo_and_branches_fast_forward_only() {
    let (org, forge, repo) = setup();
    let base = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    let sha = forge
        .create_commit(
            &repo,
            &base,
            &[write("a/b.txt", "x\n"), FileChange::Delete { path: "src/lib.rs".into() }],
            "msg",
        )
        .await
        .unwrap();
    let info = forge.commit_info(&repo, &sha).await.unwrap();
    assert_eq!(info.parents, vec![base.clone()]);
    assert_eq!(info.message, "msg");
    forge.update_branch(&repo, "topic", &sha, false).await.unwrap();
    assert_eq!(org.show("api", "topic", "a/b.txt"), "x\n");
    assert_eq!(git(&org.bare("api"), &["ls-tree", "-r", "--name-only", "topic"]), "README.md\na/b.txt\n");
    // Moving the branch back is not a fast-forward.
    let err = forge.update_branch(&repo, "topic", &base, false).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict(_)), "{err}");
    forge.update_branch(&repo, "topic", &base, true).await.unwrap();
    assert!(forge.delete_branch(&repo, "topic").await.unwrap());
    assert!(!forge.delete_branch(&repo, "topic").await.unwrap());
    // git itself agrees the repository is sound.
    git(&org.bare("api"), &["fsck", "--strict"]);
}

#[tokio::test]
async fn one_open_pr_per_head_and_reopening() {
    let (_org, forge, repo) = setup();
    let n = open_pr(&forge, &repo, "convoy/x", &[write("x", "1\n")]).await;
    let dup = NewPullRequest { title: "t".into(), head: "convoy/x".into(), base: "main".into(), ..Default::default() };
    assert!(matches!(forge.create_pull_request(&repo, &dup).await, Err(ForgeError::Conflict(_))));
    let closed = forge
        .update_pull_request(&repo, n, &PullRequestUpdate { state: Some(PrState::Closed), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(closed.state, PrState::Closed);
    let reopened = forge
        .update_pull_request(&repo, n, &PullRequestUpdate { state: Some(PrState::Open), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(reopened.state, PrState::Open);
    assert_eq!(forge.find_pull_requests(&repo, "convoy/x").await.unwrap().len(), 1);
}

#[tokio::test]
async fn merge_methods_produce_real_history() {
    let (org, forge, repo) = setup();
    let bare = org.bare("api");

    let n = open_pr(&forge, &repo, "m", &[write("merge.txt", "m\n")]).await;
    let merged = forge.merge_pull_request(&repo, n, MergeMethod::Merge).await.unwrap();
    assert_eq!(git(&bare, &["rev-list", "--parents", "-n1", &merged.sha]).split_whitespace().count(), 3, "two parents");
    assert_eq!(forge.get_pull_request(&repo, n).await.unwrap().state, PrState::Merged);
    assert_eq!(org.show("api", "main", "merge.txt"), "m\n");

    let n = open_pr(&forge, &repo, "s", &[write("squash.txt", "s\n")]).await;
    let squashed = forge.merge_pull_request(&repo, n, MergeMethod::Squash).await.unwrap();
    assert_eq!(
        git(&bare, &["rev-list", "--parents", "-n1", &squashed.sha]).split_whitespace().count(),
        2,
        "one parent"
    );
    assert_eq!(org.show("api", "main", "squash.txt"), "s\n");

    let n = open_pr(&forge, &repo, "r", &[write("rebase.txt", "r\n")]).await;
    let rebased = forge.merge_pull_request(&repo, n, MergeMethod::Rebase).await.unwrap();
    assert_eq!(git(&bare, &["log", "-1", "--format=%s", &rebased.sha]).trim(), "change");
    assert_eq!(org.show("api", "main", "rebase.txt"), "r\n");
    // Merging twice is refused.
    assert!(matches!(forge.merge_pull_request(&repo, n, MergeMethod::Merge).await, Err(ForgeError::Conflict(_))));
    git(&bare, &["fsck", "--strict"]);
}

#[tokio::test]
async fn non_overlapping_edits_merge_and_conflicts_are_refused() {
    let (org, forge, repo) = setup();
    let a = open_pr(&forge, &repo, "a", &[write("README.md", "ONE\ntwo\nthree\n")]).await;
    let b = open_pr(&forge, &repo, "b", &[write("README.md", "one\ntwo\nTHREE\n")]).await;
    let c = open_pr(&forge, &repo, "c", &[write("README.md", "uno\ntwo\nthree\n")]).await;
    forge.merge_pull_request(&repo, a, MergeMethod::Squash).await.unwrap();
    forge.merge_pull_request(&repo, b, MergeMethod::Merge).await.unwrap();
    assert_eq!(org.show("api", "main", "README.md"), "ONE\ntwo\nTHREE\n", "a real three-way merge");
    let before = org.branch_head("api", "main");
    let err = forge.merge_pull_request(&repo, c, MergeMethod::Merge).await.unwrap_err();
    assert!(err.to_string().contains("has merge conflicts"), "{err}");
    assert_eq!(org.branch_head("api", "main"), before, "a failed merge changes nothing");
    assert_eq!(forge.get_pull_request(&repo, c).await.unwrap().state, PrState::Open);
}

#[tokio::test]
async fn statuses_fold_into_one_verdict() {
    let (_org, forge, repo) = setup();
    crate::support::assert_statuses_fold(&forge, &repo).await;
}

#[tokio::test]
async fn tags_and_releases_are_idempotent_and_conflict_safe() {
    let (org, forge, repo) = setup();
    let sha = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    forge.create_tag(&repo, "v1.0.0", &sha).await.unwrap();
    forge.create_tag(&repo, "v1.0.0", &sha).await.unwrap();
    let other = forge.create_commit(&repo, &sha, &[write("x", "x\n")], "x").await.unwrap();
    assert!(matches!(forge.create_tag(&repo, "v1.0.0", &other).await, Err(ForgeError::Conflict(_))));
    assert_eq!(git(&org.bare("api"), &["rev-parse", "v1.0.0^{commit}"]).trim(), sha);

    let release =
        NewRelease { tag: "v1.1.0".into(), target_sha: other.clone(), name: "1.1".into(), ..Default::default() };
    let created = forge.create_release(&repo, &release).await.unwrap();
    assert!(matches!(forge.create_release(&repo, &release).await, Err(ForgeError::Conflict(_))));
    assert_eq!(forge.release_by_tag(&repo, "v1.1.0").await.unwrap(), Some(created.clone()));
    let tags: Vec<String> = forge.list_tags(&repo).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tags, ["v1.0.0", "v1.1.0"]);
    forge.delete_release(&repo, created.id).await.unwrap();
    assert!(forge.delete_tag(&repo, "v1.1.0").await.unwrap());
    assert_eq!(forge.release_by_tag(&repo, "v1.1.0").await.unwrap(), None);
}

#[tokio::test]
async fn a_corrupt_state_file_is_reported_not_overwritten() {
    let (org, forge, repo) = setup();
    let state = org.bare("api").join("convoy-forge.json");
    std::fs::write(&state, "{ not json").unwrap();
    let err = forge.find_pull_requests(&repo, "x").await.unwrap_err();
    assert!(err.to_string().starts_with("forge state ") && err.to_string().contains("is corrupt"), "{err}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{ not json");
}

/// The contract both forges meet: the default branch is never moved or deleted through
/// `update_branch`/`delete_branch`, a PR's base can be changed (retargeted), and the open PRs of a
/// repository are listed whatever their head. `main` is `repo`'s default branch, `trunk` another
/// branch that exists.
pub async fn default_branch_and_retarget_contract(forge: &dyn Forge, repo: &RepoId) {
    let main = forge.branch_head(repo, "main").await.unwrap().unwrap();
    let sha = forge.create_commit(repo, &main, &[write("NEW", "x\n")], "c").await.unwrap();
    for force in [false, true] {
        let err = forge.update_branch(repo, "main", &sha, force).await.unwrap_err();
        assert!(matches!(err, ForgeError::Invalid(_)), "{err}");
        let text = err.to_string();
        assert!(text.contains("`main` of acme/api") && text.contains("default branch"), "{text}");
    }
    let err = forge.delete_branch(repo, "main").await.unwrap_err();
    assert!(err.to_string().contains("will not delete `main` of acme/api"), "{err}");
    assert_eq!(forge.branch_head(repo, "main").await.unwrap().unwrap(), main, "untouched");

    let a = open_pr(forge, repo, "topic-a", &[write("A", "a\n")]).await;
    let b = open_pr(forge, repo, "topic-b", &[write("B", "b\n")]).await;
    let open: Vec<u64> = forge.open_pull_requests(repo).await.unwrap().iter().map(|p| p.number).collect();
    assert_eq!(open, vec![b, a], "newest first, every head");
    let retarget = PullRequestUpdate { base: Some("trunk".into()), ..Default::default() };
    let pr = forge.update_pull_request(repo, a, &retarget).await.unwrap();
    assert_eq!(pr.base, "trunk");
    assert_eq!(forge.get_pull_request(repo, a).await.unwrap().base, "trunk");
    let missing = PullRequestUpdate { base: Some("nope".into()), ..Default::default() };
    assert!(forge.update_pull_request(repo, a, &missing).await.is_err(), "a base that does not exist");
    let close = PullRequestUpdate { state: Some(PrState::Closed), ..Default::default() };
    forge.update_pull_request(repo, b, &close).await.unwrap();
    let open: Vec<u64> = forge.open_pull_requests(repo).await.unwrap().iter().map(|p| p.number).collect();
    assert_eq!(open, vec![a]);
}

#[tokio::test]
async fn the_default_branch_is_never_written_and_prs_can_be_retargeted() {
    let (org, forge, repo) = setup();
    let main = org.branch_head("api", "main").unwrap();
    git(&org.bare("api"), &["update-ref", "refs/heads/trunk", &main]);
    default_branch_and_retarget_contract(&forge, &repo).await;
    // The default branch is whatever HEAD names: once it is `trunk`, `main` is an ordinary branch.
    git(&org.bare("api"), &["symbolic-ref", "HEAD", "refs/heads/trunk"]);
    assert!(forge.delete_branch(&repo, "main").await.unwrap());
    assert!(forge.delete_branch(&repo, "trunk").await.is_err());
}

/// A run killed while it held a ref lock leaves `<ref>.lock` behind (issue 10: 9 of 44 `kill -9`
/// runs). A lock older than a minute is such a leftover: it is removed and the write goes
/// through; a fresh one is named in the error, with what to do, and nothing is removed.
#[tokio::test]
async fn a_ref_lock_left_by_a_killed_run_is_recovered_and_a_fresh_one_is_named() {
    let (org, forge, repo) = setup();
    let base = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    let sha = forge.create_commit(&repo, &base, &[write("x.txt", "x\n")], "msg").await.unwrap();
    let heads = org.bare("api").join("refs/heads/convoy");
    std::fs::create_dir_all(&heads).unwrap();
    let lock = heads.join("sync.lock");

    // Fresh: refused, and the message names the file.
    std::fs::write(&lock, "").unwrap();
    let err = forge.update_branch(&repo, "convoy/sync", &sha, false).await.unwrap_err().to_string();
    assert!(err.contains(&lock.display().to_string()), "{err}");
    assert!(err.contains("remove that file"), "{err}");
    assert!(lock.exists(), "a fresh lock is never removed");

    // Two minutes old: a leftover. Removed, and the branch is written.
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(120);
    std::fs::File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
    forge.update_branch(&repo, "convoy/sync", &sha, false).await.unwrap();
    assert!(!lock.exists());
    assert_eq!(forge.branch_head(&repo, "convoy/sync").await.unwrap().as_deref(), Some(sha.as_str()));

    // The same for a delete, and for a stale `packed-refs.lock`.
    let packed = org.bare("api").join("packed-refs.lock");
    std::fs::write(&packed, "").unwrap();
    std::fs::File::options().write(true).open(&packed).unwrap().set_modified(old).unwrap();
    std::fs::write(&lock, "").unwrap();
    std::fs::File::options().write(true).open(&lock).unwrap().set_modified(old).unwrap();
    assert!(forge.delete_branch(&repo, "convoy/sync").await.unwrap());
    assert!(!lock.exists() && !packed.exists());
    git(&org.bare("api"), &["fsck", "--strict"]);
}
