//! The GitHub forge through the `Forge` trait, against the test server: the same contract
//! `forge_local.rs` holds the local forge to (merges, conflicts, statuses, tags, releases).

use std::sync::Arc;

use convoy::forge::github::GithubForge;
use convoy::forge::github::api::{Api, Endpoints, Limits};
use convoy::forge::github::auth::StaticToken;
use convoy::forge::{FileChange, Forge, ForgeError, MergeMethod, NewRelease, PrState, RepoId};
use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};

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
        installation_token_ttl: std::time::Duration::from_secs(3),
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
        Arc::new(AppToken::new(7, &pem, "acme", None).unwrap().with_refresh_margin(std::time::Duration::from_secs(2)));
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
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
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
