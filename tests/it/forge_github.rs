//! The GitHub forge through the `Forge` trait, against the test server: the same contract
//! `forge_local.rs` holds the local forge to (merges, conflicts, statuses, tags, releases).

use std::sync::Arc;

use convoy::forge::github::GithubForge;
use convoy::forge::github::api::{Api, Endpoints, Limits, Repeat};
use convoy::forge::github::auth::StaticToken;
use convoy::forge::{
    CheckState, CommitStatus, FileChange, Forge, ForgeError, MergeMethod, Mergeable, NewRelease, NewRevert, PrState,
    PullRequest, PullRequestUpdate, RepoId, ReviewDecision, revert_branch,
};
use github_test_server::{FaultFilter, RepoOptions, ServerConfig, TestServer, TokenKind};

use crate::support::{git, open_pr, write};

const TOKEN: &str = "ghp_contractTOKEN";

async fn setup() -> (TestServer, GithubForge, RepoId) {
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.unwrap();
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into()] });
    server.create_repo("acme", "api", &[("README.md", b"one\ntwo\nthree\n")], RepoOptions::default());
    let token = Arc::new(StaticToken::new(Some(TOKEN.to_string().into()), "test"));
    let limits = Limits { writes_per_minute: 60_000, writes_per_hour: 1_000_000, ..Limits::default() };
    let api = Api::new(Endpoints::from_api_url(&server.api_url()).unwrap(), limits, token.clone(), None).unwrap();
    (server, GithubForge::new(api, token), RepoId::new("acme", "api"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_deletes_and_branches_through_the_git_data_api() {
    let (server, forge, repo) = setup().await;
    let base = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    let bin = FileChange::Write {
        path: "bin/blob".into(),
        content: vec![0, 159, 146, 150],
        executable: true,
        was_executable: false,
    };
    let sha = forge
        .create_commit(
            &repo,
            &base,
            &[write("a/b.txt", "x\n"), bin, FileChange::Delete { path: "README.md".into() }],
            "msg",
        )
        .await
        .unwrap();
    assert_eq!(forge.commit_info(&repo, &sha).await.unwrap().parents, vec![base.clone()]);
    forge.update_branch(&repo, "topic", &sha, false).await.unwrap();
    let bare = server.repo_path("acme", "api");
    assert_eq!(git(&bare, &["ls-tree", "-r", "topic"]).lines().count(), 2);
    assert!(git(&bare, &["ls-tree", "-r", "topic"]).contains("100755 blob"));
    assert!(matches!(forge.update_branch(&repo, "topic", &base, false).await, Err(ForgeError::Conflict(_))));
    forge.update_branch(&repo, "topic", &base, true).await.unwrap();
    assert!(forge.delete_branch(&repo, "topic").await.unwrap());
    assert!(!forge.delete_branch(&repo, "topic").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merges_and_conflicts() {
    let (server, forge, repo) = setup().await;
    let a = open_pr(&forge, &repo, "a", &[write("README.md", "ONE\ntwo\nthree\n")]).await;
    let b = open_pr(&forge, &repo, "b", &[write("README.md", "one\ntwo\nTHREE\n")]).await;
    let c = open_pr(&forge, &repo, "c", &[write("README.md", "uno\ntwo\nthree\n")]).await;
    forge.merge_pull_request(&repo, a, MergeMethod::Squash).await.unwrap();
    forge.merge_pull_request(&repo, b, MergeMethod::Merge).await.unwrap();
    let bare = server.repo_path("acme", "api");
    assert_eq!(git(&bare, &["show", "main:README.md"]), "ONE\ntwo\nTHREE\n");
    let err = forge.merge_pull_request(&repo, c, MergeMethod::Merge).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict(_)), "{err}");
    assert_eq!(forge.get_pull_request(&repo, c).await.unwrap().state, PrState::Open);
    assert_eq!(forge.get_pull_request(&repo, a).await.unwrap().state, PrState::Merged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_and_check_runs_fold_into_one_verdict() {
    let (_server, forge, repo) = setup().await;
    crate::support::assert_statuses_fold(&forge, &repo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_and_releases_are_idempotent_and_conflict_safe() {
    let (_server, forge, repo) = setup().await;
    let sha = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    forge.create_tag(&repo, "v1.0.0", &sha).await.unwrap();
    forge.create_tag(&repo, "v1.0.0", &sha).await.unwrap();
    let other = forge.create_commit(&repo, &sha, &[write("x", "x\n")], "x").await.unwrap();
    assert!(matches!(forge.create_tag(&repo, "v1.0.0", &other).await, Err(ForgeError::Conflict(_))));
    let release =
        NewRelease { tag: "v1.1.0".into(), target_sha: other.clone(), name: "1.1".into(), ..Default::default() };
    let created = forge.create_release(&repo, &release).await.unwrap();
    assert!(matches!(forge.create_release(&repo, &release).await, Err(ForgeError::Conflict(_))));
    assert_eq!(forge.release_by_tag(&repo, "v1.1.0").await.unwrap().map(|r| r.id), Some(created.id));
    let tags: Vec<String> = forge.list_tags(&repo).await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(tags, ["v1.0.0", "v1.1.0"]);
    forge.delete_release(&repo, created.id).await.unwrap();
    assert!(forge.delete_tag(&repo, "v1.1.0").await.unwrap());
    assert_eq!(forge.release_by_tag(&repo, "v1.1.0").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_follows_pagination_and_reports_metadata() {
    let (server, forge, _repo) = setup().await;
    for i in 0..130 {
        let opts = RepoOptions::default().topics(&["rust"]).archived(i % 50 == 0).private(i % 2 == 0);
        server.create_repo("acme", &format!("r{i:03}"), &[("f", b"x")], opts);
    }
    let repos = forge.list_repos("acme").await.unwrap();
    assert_eq!(repos.len(), 131, "two pages of 100");
    let r050 = repos.iter().find(|r| r.id.name == "r050").unwrap();
    assert!(r050.archived && r050.private && r050.topics == ["rust"]);
    assert!(r050.clone_url.starts_with("http://127.0.0.1:"));
    assert_eq!(server.requests().count("GET", "/orgs/{org}/repos"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_tokens_are_scoped_and_refreshed_before_they_expire() {
    use convoy::forge::github::auth::{AppToken, TokenSource};
    let server = TestServer::start(ServerConfig {
        // Fresh for at least 4 s (8 s less the 3 s margin, less GitHub's whole-second
        // `expires_at`): room for a slow machine between the first two requests.
        installation_token_ttl: std::time::Duration::from_secs(8),
        ..Default::default()
    })
    .await
    .unwrap();
    server.create_repo("acme", "api", &[("f", b"x")], RepoOptions::default());
    server.create_repo("acme", "web", &[("f", b"x")], RepoOptions::default());
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/github-test-server/tests/fixtures");
    server.register_app(7, &std::fs::read_to_string(fixtures.join("app-public-key.pem")).unwrap(), 70, "acme");
    let pem = std::fs::read(fixtures.join("app-private-key.pem")).unwrap();
    let app =
        Arc::new(AppToken::new(7, &pem, "acme", None).unwrap().with_refresh_margin(std::time::Duration::from_secs(3)));
    let api =
        Api::new(Endpoints::from_api_url(&server.api_url()).unwrap(), Limits::default(), app.clone(), None).unwrap();
    let forge = GithubForge::new(api, app.clone());
    forge.scope_to(&[RepoId::new("acme", "api")]).await;
    assert_eq!(forge.list_repos("acme").await.unwrap().len(), 1, "the token only sees the repository of the run");
    let first = app.current().map(|t| secrecy::ExposeSecret::expose_secret(&t).to_string());
    forge.list_repos("acme").await.unwrap();
    assert_eq!(
        app.current().map(|t| secrecy::ExposeSecret::expose_secret(&t).to_string()),
        first,
        "still fresh: reused"
    );
    tokio::time::sleep(std::time::Duration::from_millis(5500)).await;
    // Within the margin of its expiry now: the next request mints a new one first.
    forge.list_repos("acme").await.unwrap();
    assert_ne!(
        app.current().map(|t| secrecy::ExposeSecret::expose_secret(&t).to_string()),
        first,
        "refreshed before expiry"
    );
    let mints = server.requests().count("POST", "/app/installations/{installation_id}/access_tokens");
    assert_eq!(mints, 2, "{:?}", server.requests().counts);
    assert_eq!(app.kind(), convoy::forge::github::auth::TokenKind::Installation);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_branch_is_never_written_and_prs_can_be_retargeted() {
    let (server, forge, repo) = setup().await;
    let main = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    git(&server.repo_path("acme", "api"), &["update-ref", "refs/heads/trunk", &main]);
    crate::forge_local::default_branch_and_retarget_contract(&forge, &repo).await;
    // Without a listing the forge asked `GET /repos/{owner}/{repo}`; no ref write reached GitHub.
    let log = server.requests();
    let main_writes = log.writes().into_iter().filter(|w| w.path.ends_with("/git/refs/heads/main")).count();
    assert_eq!(main_writes, 0, "{:?}", log.counts);
    assert!(log.count("GET", "/repos/{owner}/{repo}") >= 1, "{:?}", log.counts);
}

/// `acme/svc-NN` repositories for status tests, each with a pull request from `convoy/status`.
async fn campaign_repos(server: &TestServer, forge: &GithubForge, n: usize) -> Vec<RepoId> {
    let mut repos = Vec::new();
    for i in 0..n {
        let name = format!("svc-{i:02}");
        server.create_repo("acme", &name, &[("README.md", b"one\n")], RepoOptions::default());
        let repo = RepoId::new("acme", &name);
        open_pr(forge, &repo, "convoy/status", &[write(&format!("f{i}.txt"), "x\n")]).await;
        repos.push(repo);
    }
    repos
}

/// A pull request review by another person than the author, as GitHub's REST API takes it.
async fn review(server: &TestServer, repo: &RepoId, number: u64, event: &str) {
    const REVIEWER: &str = "ghp_reviewerTOKEN";
    server.add_user_token(REVIEWER, "reviewer");
    let token = Arc::new(StaticToken::new(Some(REVIEWER.to_string().into()), "test"));
    let api = Api::new(Endpoints::from_api_url(&server.api_url()).unwrap(), Limits::default(), token, None).unwrap();
    let path = format!("/repos/{}/{}/pulls/{number}/reviews", repo.owner, repo.name);
    let body = serde_json::json!({"event": event, "body": "review"});
    let resp = api
        .rest(http::Method::POST, "/reviews", &path, Some(&body), convoy::forge::github::api::Repeat::Safe)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_of_a_campaign_come_from_one_graphql_query() {
    let (server, forge, _) = setup().await;
    let mut repos = campaign_repos(&server, &forge, 6).await;
    // svc-00: no checks. svc-01 success, svc-02 failure (a check run), svc-03 pending.
    let head = |i: usize| {
        let repo = repos[i].clone();
        let forge = &forge;
        async move { forge.find_pull_requests(&repo, "convoy/status").await.unwrap()[0].head_sha.clone() }
    };
    for (i, state) in [(1, CheckState::Success), (3, CheckState::Pending)] {
        let status = CommitStatus { context: "ci".into(), state, description: String::new() };
        forge.set_commit_status(&repos[i], &head(i).await, &status).await.unwrap();
    }
    let failed =
        serde_json::json!({"name": "lint", "head_sha": head(2).await, "status": "completed", "conclusion": "failure"});
    let token = Arc::new(StaticToken::new(Some(TOKEN.to_string().into()), "test"));
    let raw = Api::new(Endpoints::from_api_url(&server.api_url()).unwrap(), Limits::default(), token, None).unwrap();
    raw.rest(http::Method::POST, "/check-runs", "/repos/acme/svc-02/check-runs", Some(&failed), Repeat::Safe)
        .await
        .unwrap();
    // svc-04: merged; svc-05: closed.
    let merged = forge.merge_pull_request(&repos[4], 1, MergeMethod::Squash).await.unwrap();
    let close = PullRequestUpdate { state: Some(PrState::Closed), ..Default::default() };
    forge.update_pull_request(&repos[5], 1, &close).await.unwrap();
    repos.insert(3, RepoId::new("acme", "gone"));

    server.clear_requests();
    let statuses = forge.pull_request_statuses(&repos, "convoy/status").await;
    let log = server.requests();
    assert_eq!(log.total, 1, "one query for 7 repositories: {:?}", log.counts);
    assert_eq!(log.count("POST", "/graphql"), 1);
    let names: Vec<&str> = statuses.iter().map(|(r, _)| r.name.as_str()).collect();
    assert_eq!(names, ["svc-00", "svc-01", "svc-02", "gone", "svc-03", "svc-04", "svc-05"], "in the order asked");
    let one = |name: &str| {
        let (_, result) = statuses.iter().find(|(r, _)| r.name == name).unwrap();
        let list = result.as_ref().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(list.len(), 1, "{name}");
        list[0].clone()
    };
    let gone = &statuses[3].1;
    assert!(matches!(gone, Err(ForgeError::NotFound(m)) if m.contains("acme/gone")), "{gone:?}");
    let checks: Vec<Option<CheckState>> =
        ["svc-00", "svc-01", "svc-02", "svc-03"].iter().map(|n| one(n).checks).collect();
    assert_eq!(checks, [None, Some(CheckState::Success), Some(CheckState::Failure), Some(CheckState::Pending)]);
    let open = one("svc-00");
    assert_eq!((open.pr.state, open.mergeable, open.review), (PrState::Open, Mergeable::Mergeable, None));
    assert!(open.pr.created_at.is_some() && open.pr.merged_at.is_none() && open.pr.closed_at.is_none());
    assert!(open.pr.node_id.is_some() && open.pr.url.ends_with("/pull/1"));
    let m = one("svc-04");
    assert_eq!((m.pr.state, m.pr.merge_commit_sha.as_deref()), (PrState::Merged, Some(merged.sha.as_str())));
    assert!(m.pr.merged_at.is_some() && m.pr.closed_at.is_some(), "{:?}", m.pr);
    let c = one("svc-05");
    assert_eq!((c.pr.state, c.pr.merged_at.as_deref(), c.checks), (PrState::Closed, None, None));
    assert!(c.pr.closed_at.is_some());
    // The same answers as the REST reads, where they overlap.
    let rest = forge.find_pull_requests(&repos[0], "convoy/status").await.unwrap();
    assert_eq!(
        (rest[0].number, &rest[0].head_sha, &rest[0].created_at),
        (open.pr.number, &open.pr.head_sha, &open.pr.created_at)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_a_hundred_repositories_take_one_query_per_hundred() {
    let (server, forge, _) = setup().await;
    let repos: Vec<RepoId> = (0..150).map(|i| RepoId::new("acme", format!("none-{i:03}"))).collect();
    server.clear_requests();
    let statuses = forge.pull_request_statuses(&repos, "convoy/status").await;
    assert_eq!(server.requests().count("POST", "/graphql"), 2);
    assert_eq!(statuses.len(), 150);
    assert!(statuses.iter().all(|(_, r)| matches!(r, Err(ForgeError::NotFound(_)))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_decisions_conflicts_and_protection_refusals_carry_githubs_words() {
    let (server, forge, repo) = setup().await;
    let opts = RepoOptions::default().require_approving_reviews(1).require_status_checks(&["ci"]);
    server.create_repo("acme", "prot", &[("README.md", b"one\ntwo\nthree\n")], opts);
    let prot = RepoId::new("acme", "prot");
    let a = open_pr(&forge, &prot, "convoy/status", &[write("a.txt", "a\n")]).await;
    let status_of = |repo: RepoId| {
        let forge = &forge;
        async move { forge.pull_request_statuses(&[repo], "convoy/status").await.remove(0).1.unwrap().remove(0) }
    };
    assert_eq!(status_of(prot.clone()).await.review, Some(ReviewDecision::ReviewRequired));
    let err = forge.merge_pull_request(&prot, a, MergeMethod::Merge).await.unwrap_err();
    assert!(matches!(err, ForgeError::Invalid(_)), "{err:?}");
    assert_eq!(err.to_string(), "refused: At least 1 approving review is required by reviewers with write access.");
    review(&server, &prot, a, "REQUEST_CHANGES").await;
    assert_eq!(status_of(prot.clone()).await.review, Some(ReviewDecision::ChangesRequested));
    review(&server, &prot, a, "APPROVE").await;
    assert_eq!(status_of(prot.clone()).await.review, Some(ReviewDecision::Approved));
    let err = forge.merge_pull_request(&prot, a, MergeMethod::Merge).await.unwrap_err();
    assert_eq!(err.to_string(), "refused: Required status check \"ci\" is expected.");
    let head = status_of(prot.clone()).await.pr.head_sha;
    let ci = CommitStatus { context: "ci".into(), state: CheckState::Success, description: String::new() };
    forge.set_commit_status(&prot, &head, &ci).await.unwrap();
    forge.merge_pull_request(&prot, a, MergeMethod::Merge).await.unwrap();

    // A conflict: two pull requests change the same line; the second cannot merge after the first.
    let b = open_pr(&forge, &repo, "b", &[write("README.md", "ONE\ntwo\nthree\n")]).await;
    open_pr(&forge, &repo, "convoy/status", &[write("README.md", "uno\ntwo\nthree\n")]).await;
    forge.merge_pull_request(&repo, b, MergeMethod::Merge).await.unwrap();
    let c = status_of(repo.clone()).await;
    assert_eq!((c.mergeable, c.review), (Mergeable::Conflicting, None));
    let err = forge.merge_pull_request(&repo, c.pr.number, MergeMethod::Merge).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict(_)), "{err:?}");
    assert_eq!(err.to_string(), "conflict: Pull Request is not mergeable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_pull_request_is_reverted_by_one_mutation() {
    let (server, forge, repo) = setup().await;
    let n = open_pr(&forge, &repo, "fix", &[write("README.md", "ONE\ntwo\nthree\n"), write("new.txt", "new\n")]).await;
    let revert = NewRevert { title: "Revert the fix".into(), body: "It broke the build.".into(), draft: false };
    let open = forge.get_pull_request(&repo, n).await.unwrap();
    let err = forge.revert_pull_request(&repo, &open, &revert).await.unwrap_err();
    assert!(matches!(err, ForgeError::Invalid(_)), "an open pull request: {err}");

    let before = forge.branch_head(&repo, "main").await.unwrap().unwrap();
    let pre_merge_tree = forge.commit_info(&repo, &before).await.unwrap().tree;
    let merge = forge.merge_pull_request(&repo, n, MergeMethod::Merge).await.unwrap();
    let pr = forge.get_pull_request(&repo, n).await.unwrap();
    assert_eq!(pr.state, PrState::Merged);
    server.clear_requests();
    let new = forge.revert_pull_request(&repo, &pr, &revert).await.unwrap();
    let log = server.requests();
    assert_eq!((log.total, log.count("POST", "/graphql")), (1, 1), "one mutation: {:?}", log.counts);

    assert_eq!(new.head, revert_branch(&pr));
    assert_eq!(new.head, "revert-1-fix");
    assert_eq!((new.base.as_str(), new.state, new.draft), ("main", PrState::Open, false));
    assert_eq!((new.title.as_str(), new.body.as_str()), ("Revert the fix", "It broke the build."));
    assert!(new.node_id.is_some());
    assert_eq!(forge.get_pull_request(&repo, new.number).await.unwrap().head_sha, new.head_sha);
    // One commit on main's head whose tree is main's tree from before the merge.
    let commit = forge.commit_info(&repo, &new.head_sha).await.unwrap();
    assert_eq!(commit.parents, vec![merge.sha.clone()]);
    assert_eq!(commit.tree, pre_merge_tree);
    assert!(
        commit.message.starts_with(&format!("Revert \"t\"\n\nThis reverts commit {}.", merge.sha)),
        "{}",
        commit.message
    );
    let bare = server.repo_path("acme", "api");
    assert_eq!(git(&bare, &["show", "revert-1-fix:README.md"]), "one\ntwo\nthree\n");
    assert_eq!(git(&bare, &["ls-tree", "--name-only", "revert-1-fix"]), "README.md\n");

    // The branch exists now: a second revert is a conflict, whether the node id is known or read.
    let err = forge.revert_pull_request(&repo, &pr, &revert).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict(_)), "{err}");
    let unknown_node = PullRequest { node_id: None, ..pr.clone() };
    let err = forge.revert_pull_request(&repo, &unknown_node, &revert).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict(_)), "{err}");
    assert_eq!(forge.find_pull_requests(&repo, "revert-1-fix").await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverts_that_conflict_or_are_not_merged_make_nothing() {
    let (server, forge, repo) = setup().await;
    let n = open_pr(&forge, &repo, "fix", &[write("README.md", "ONE\ntwo\nthree\n")]).await;
    // A pull request claimed merged that GitHub says is not: GitHub's answer decides, Invalid.
    let open = forge.get_pull_request(&repo, n).await.unwrap();
    let claimed = PullRequest { state: PrState::Merged, ..open };
    let err = forge.revert_pull_request(&repo, &claimed, &NewRevert::default()).await.unwrap_err();
    assert!(matches!(err, ForgeError::Invalid(_)), "{err}");

    forge.merge_pull_request(&repo, n, MergeMethod::Squash).await.unwrap();
    let later = open_pr(&forge, &repo, "later", &[write("README.md", "UNO\ntwo\nthree\n")]).await;
    forge.merge_pull_request(&repo, later, MergeMethod::Merge).await.unwrap();
    let pr = forge.get_pull_request(&repo, n).await.unwrap();
    let err = forge.revert_pull_request(&repo, &pr, &NewRevert::default()).await.unwrap_err();
    assert!(matches!(err, ForgeError::Conflict(_)), "a later change to the same line: {err}");
    assert_eq!(forge.branch_head(&repo, "revert-1-fix").await.unwrap(), None);
    assert!(forge.find_pull_requests(&repo, "revert-1-fix").await.unwrap().is_empty());
    assert_eq!(server.pulls("acme", "api").len(), 2);

    // GitHub's own title and body when none is given.
    let other = open_pr(&forge, &repo, "other", &[write("other.txt", "o\n")]).await;
    forge.merge_pull_request(&repo, other, MergeMethod::Rebase).await.unwrap();
    let other = forge.get_pull_request(&repo, other).await.unwrap();
    let new = forge.revert_pull_request(&repo, &other, &NewRevert::default()).await.unwrap();
    assert_eq!((new.title.as_str(), new.body.as_str()), ("Revert \"t\"", "Reverts acme/api#3"));
    let bare = server.repo_path("acme", "api");
    assert_eq!(git(&bare, &["ls-tree", "--name-only", &new.head_sha]), "README.md\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_whose_answer_was_lost_is_found_on_its_branch() {
    let (server, forge, repo) = setup().await;
    let n = open_pr(&forge, &repo, "fix", &[write("fix.txt", "fix\n")]).await;
    forge.merge_pull_request(&repo, n, MergeMethod::Merge).await.unwrap();
    let pr = forge.get_pull_request(&repo, n).await.unwrap();
    server.faults().apply_then_502_next(1, FaultFilter::route("POST", "/graphql"));
    let new = forge.revert_pull_request(&repo, &pr, &NewRevert::default()).await.unwrap();
    assert_eq!((new.number, new.head.as_str(), new.state), (2, "revert-1-fix", PrState::Open));
    assert_eq!(server.requests().count("POST", "/graphql"), 1, "the mutation is not sent again");
    assert_eq!(server.pulls("acme", "api").len(), 2, "one revert");
}
