//! `cargo bench --bench github_status`: `Forge::pull_request_statuses` on a campaign of
//! `BENCH_GH_STATUS_REPOS` (default 1,000) repositories, one pull request each, against the
//! GitHub-compatible test server with `BENCH_GH_LATENCY_MS` (default 20) ms on every request.
//!
//! Measures the GitHub override (one GraphQL query per 100 repositories, a few in flight) and
//! the trait's default per-repository path (`find_pull_requests`, then `check_verdict` for an
//! open pull request: three REST reads per repository, one repository after another), reached
//! through [`DefaultPath`], a wrapper that forwards only the required methods. The default runs
//! on `BENCH_GH_STATUS_DEFAULT_REPOS` (default: all) of them. Prints the figures and writes
//! `bench/results-github-status.json`. Targets are reported, not enforced.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on stdout

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use convoy::forge::github::GithubForge;
use convoy::forge::github::api::{Api, Endpoints, Limits};
use convoy::forge::github::auth::StaticToken;
use convoy::forge::{
    CheckState, CheckVerdict, CommitInfo, CommitStatus, FileChange, Forge, ForgeResult, MergeMethod, MergeResult,
    NewPullRequest, NewRelease, NewRevert, PullRequest, PullRequestUpdate, Release, RemoteRepo, RepoId, Tag,
};
use futures_util::StreamExt;
use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};

const TOKEN: &str = "ghp_benchTOKEN000000000000000000000000";
const BRANCH: &str = "convoy/bench";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A forge that has only the required methods of [`Forge`], forwarded to GitHub: its
/// `pull_request_statuses` is the trait's default.
struct DefaultPath<'a>(&'a GithubForge);

#[async_trait]
impl Forge for DefaultPath<'_> {
    fn kind(&self) -> &'static str {
        "github-default-path"
    }
    async fn list_repos(&self, owner: &str) -> ForgeResult<Vec<RemoteRepo>> {
        self.0.list_repos(owner).await
    }
    async fn branch_head(&self, repo: &RepoId, branch: &str) -> ForgeResult<Option<String>> {
        self.0.branch_head(repo, branch).await
    }
    async fn commit_info(&self, repo: &RepoId, sha: &str) -> ForgeResult<CommitInfo> {
        self.0.commit_info(repo, sha).await
    }
    async fn create_commit(
        &self,
        repo: &RepoId,
        parent: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        self.0.create_commit(repo, parent, changes, message).await
    }
    async fn commit_on_branch(
        &self,
        repo: &RepoId,
        branch: &str,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        self.0.commit_on_branch(repo, branch, expected_head, changes, message).await
    }
    async fn read_file(&self, repo: &RepoId, sha: &str, path: &str) -> ForgeResult<Option<Vec<u8>>> {
        self.0.read_file(repo, sha, path).await
    }
    async fn update_branch(&self, repo: &RepoId, branch: &str, sha: &str, force: bool) -> ForgeResult<()> {
        self.0.update_branch(repo, branch, sha, force).await
    }
    async fn delete_branch(&self, repo: &RepoId, branch: &str) -> ForgeResult<bool> {
        self.0.delete_branch(repo, branch).await
    }
    async fn find_pull_requests(&self, repo: &RepoId, branch: &str) -> ForgeResult<Vec<PullRequest>> {
        self.0.find_pull_requests(repo, branch).await
    }
    async fn open_pull_requests(&self, repo: &RepoId) -> ForgeResult<Vec<PullRequest>> {
        self.0.open_pull_requests(repo).await
    }
    async fn get_pull_request(&self, repo: &RepoId, number: u64) -> ForgeResult<PullRequest> {
        self.0.get_pull_request(repo, number).await
    }
    async fn create_pull_request(&self, repo: &RepoId, pr: &NewPullRequest) -> ForgeResult<PullRequest> {
        self.0.create_pull_request(repo, pr).await
    }
    async fn update_pull_request(
        &self,
        repo: &RepoId,
        number: u64,
        update: &PullRequestUpdate,
    ) -> ForgeResult<PullRequest> {
        self.0.update_pull_request(repo, number, update).await
    }
    async fn merge_pull_request(&self, repo: &RepoId, number: u64, method: MergeMethod) -> ForgeResult<MergeResult> {
        self.0.merge_pull_request(repo, number, method).await
    }
    async fn revert_pull_request(
        &self,
        repo: &RepoId,
        pr: &PullRequest,
        revert: &NewRevert,
    ) -> ForgeResult<PullRequest> {
        self.0.revert_pull_request(repo, pr, revert).await
    }
    async fn set_commit_status(&self, repo: &RepoId, sha: &str, status: &CommitStatus) -> ForgeResult<()> {
        self.0.set_commit_status(repo, sha, status).await
    }
    async fn check_verdict(&self, repo: &RepoId, sha: &str) -> ForgeResult<CheckVerdict> {
        self.0.check_verdict(repo, sha).await
    }
    async fn list_tags(&self, repo: &RepoId) -> ForgeResult<Vec<Tag>> {
        self.0.list_tags(repo).await
    }
    async fn create_tag(&self, repo: &RepoId, name: &str, sha: &str) -> ForgeResult<()> {
        self.0.create_tag(repo, name, sha).await
    }
    async fn delete_tag(&self, repo: &RepoId, name: &str) -> ForgeResult<bool> {
        self.0.delete_tag(repo, name).await
    }
    async fn create_release(&self, repo: &RepoId, release: &NewRelease) -> ForgeResult<Release> {
        self.0.create_release(repo, release).await
    }
    async fn release_by_tag(&self, repo: &RepoId, tag: &str) -> ForgeResult<Option<Release>> {
        self.0.release_by_tag(repo, tag).await
    }
    async fn delete_release(&self, repo: &RepoId, id: u64) -> ForgeResult<()> {
        self.0.delete_release(repo, id).await
    }
}

struct Measured {
    seconds: f64,
    requests: usize,
    ok: usize,
    /// Pull requests whose checks were read as `Success`.
    checks_success: usize,
}

async fn measure(server: &TestServer, forge: &dyn Forge, repos: &[RepoId]) -> Measured {
    server.clear_requests();
    let start = Instant::now();
    let statuses = forge.pull_request_statuses(repos, BRANCH).await;
    let seconds = start.elapsed().as_secs_f64();
    let ok = statuses.iter().filter(|(_, r)| r.as_ref().is_ok_and(|l| l.len() == 1)).count();
    let checks_success = statuses
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flatten()
        .filter(|s| s.checks == Some(CheckState::Success))
        .count();
    Measured { seconds, requests: server.requests().total, ok, checks_success }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_num("BENCH_GH_STATUS_REPOS", 1000) as usize;
    let n_default = (env_num("BENCH_GH_STATUS_DEFAULT_REPOS", n as u64) as usize).min(n);
    let latency = Duration::from_millis(env_num("BENCH_GH_LATENCY_MS", 20));
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.expect("server");
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into()] });
    let token = Arc::new(StaticToken::new(Some(TOKEN.to_string().into()), "bench"));
    let limits = Limits { writes_per_minute: 600_000, writes_per_hour: 10_000_000, ..Limits::default() };
    let api =
        Api::new(Endpoints::from_api_url(&server.api_url()).expect("url"), limits, token.clone(), None).expect("api");
    let forge = GithubForge::new(api, token);
    let setup = Instant::now();
    let repos: Vec<RepoId> = (0..n).map(|i| RepoId::new("acme", format!("svc-{i:04}"))).collect();
    for repo in &repos {
        server.create_repo("acme", &repo.name, &[("README.md", b"# svc\n")], RepoOptions::default());
        server.push_commit("acme", &repo.name, BRANCH, &[("ci.yml", b"on: push\n")], "convoy: ci");
    }
    let pr = NewPullRequest {
        title: "ci".into(),
        body: "b".into(),
        head: BRANCH.into(),
        base: "main".into(),
        ..Default::default()
    };
    let created: Vec<PullRequest> = futures_util::stream::iter(&repos)
        .map(|repo| {
            let (forge, pr) = (&forge, &pr);
            async move { forge.create_pull_request(repo, pr).await.expect("pull request") }
        })
        .buffered(8)
        .collect()
        .await;
    // Every other head has a green `ci` status, so both paths have checks to read.
    for (repo, p) in repos.iter().zip(&created).step_by(2) {
        let ci = CommitStatus { context: "ci".into(), state: CheckState::Success, description: String::new() };
        forge.set_commit_status(repo, &p.head_sha, &ci).await.expect("status");
    }
    println!("setup {:.1} s for {n} repositories", setup.elapsed().as_secs_f64());

    server.faults().latency(latency);
    let graphql = measure(&server, &forge, &repos).await;
    println!("graphql: {:.3} s, {} requests, {} ok", graphql.seconds, graphql.requests, graphql.ok);
    let default = measure(&server, &DefaultPath(&forge), &repos[..n_default]).await;
    println!(
        "default ({n_default} repositories): {:.3} s, {} requests, {} ok",
        default.seconds, default.requests, default.ok
    );
    // The default's time for all `n` repositories, where it ran on fewer (it is linear: one
    // repository after another).
    let default_seconds_all = default.seconds * n as f64 / n_default.max(1) as f64;
    let default_requests_all = default.requests as f64 * n as f64 / n_default.max(1) as f64;
    let figures = serde_json::json!({
        "repos": n,
        "pull_requests": n,
        "latency_ms": latency.as_millis() as u64,
        "profile": if cfg!(debug_assertions) { "dev (convoy unoptimised, dependencies at opt-level 2)" } else { "release" },
        "graphql_seconds": graphql.seconds,
        "graphql_requests": graphql.requests,
        "graphql_ok": graphql.ok,
        "graphql_checks_success": graphql.checks_success,
        "default_repos_measured": n_default,
        "default_seconds": default.seconds,
        "default_requests": default.requests,
        "default_ok": default.ok,
        "default_checks_success": default.checks_success,
        "default_seconds_for_all_repos": default_seconds_all,
        "default_requests_for_all_repos": default_requests_all,
        "speedup": default_seconds_all / graphql.seconds,
        "request_ratio": default_requests_all / graphql.requests.max(1) as f64,
        "targets": {
            "graphql_at_most_15_requests": graphql.requests <= 15,
            "all_statuses_read": graphql.ok == n && default.ok == n_default,
            "same_checks_as_default": n_default < n || graphql.checks_success == default.checks_success,
        },
    });
    for (k, v) in figures.as_object().into_iter().flatten() {
        println!("{k} {v}");
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results-github-status.json");
    std::fs::write(&out, serde_json::to_string_pretty(&figures).unwrap_or_default()).expect("results");
    println!("results written to {}", out.display());
}
