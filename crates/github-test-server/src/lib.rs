//! A GitHub-REST-compatible HTTP server whose repositories are real bare git repositories.
//!
//! `convoy`'s integration tests and benchmarks run the real `octocrab` client (and `git`) against it.
//! State that git holds (objects, branches, tags) lives in bare repositories under a temporary
//! directory (`<tmp>/<owner>/<name>.git`); everything else (pull requests, labels, statuses, check
//! runs, releases, tokens, GitHub Apps) lives in memory.
//!
//! The server follows GitHub's documented REST behaviour: the same paths (at the root, as on
//! github.com, and under `/api/v3`, as on GitHub Enterprise Server), JSON shapes, status codes,
//! error bodies (`{"message", "documentation_url", "status"}` and 422 `Validation Failed` with
//! `errors`), `Link` pagination, rate-limit headers, weak `ETag`s with `304 Not Modified`, and
//! smart-HTTP clones through `git http-backend`. It also injects faults on demand ([`Faults`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};
//! let server = TestServer::start(ServerConfig::default()).await?;
//! server.add_token("ghp_test", TokenKind::Classic { scopes: vec!["repo".into()] });
//! let head = server.create_repo("acme", "api", &[("README.md", b"# api\n")], RepoOptions::default());
//! // point octocrab at server.api_url(), clone from server.git_url("acme", "api") ...
//! # let _ = head; Ok(()) }
//! ```
//!
//! # Routes
//!
//! REST, at `/` and under `/api/v3` (`{ref}`, `{branch}` and `{tag}` may contain `/`):
//!
//! | area | routes |
//! | --- | --- |
//! | account | `GET /user`, `GET /rate_limit` (not counted), `GET /` |
//! | repositories | `GET /orgs/{org}/repos`, `GET /users/{user}/repos` (`type`, `sort`, `direction`, `per_page`, `page`), `GET /repos/{o}/{r}`, `GET`/`PUT /repos/{o}/{r}/topics`, `GET /repos/{o}/{r}/tags`, `GET /repos/{o}/{r}/branches[/{branch}]`, `GET /repos/{o}/{r}/commits/{ref}` |
//! | git data | `GET /repos/{o}/{r}/git/ref/{ref}`, `GET …/git/matching-refs/{ref}`, `GET`/`POST …/git/refs`, `GET`/`PATCH`/`DELETE …/git/refs/{ref}`, `POST …/git/blobs`, `GET …/git/blobs/{sha}`, `POST …/git/trees`, `GET …/git/trees/{sha}` (`recursive`), `POST …/git/commits`, `GET …/git/commits/{sha}` |
//! | pull requests | `GET`/`POST /repos/{o}/{r}/pulls`, `GET`/`PATCH …/pulls/{n}`, `GET`/`PUT …/pulls/{n}/merge`, `GET …/pulls/{n}/commits`, `GET`/`POST …/pulls/{n}/reviews` (events `APPROVE`, `REQUEST_CHANGES`, `COMMENT`; none keeps it `PENDING`), `GET`/`POST`/`DELETE …/pulls/{n}/requested_reviewers`, `GET`/`PATCH …/issues/{n}` (update an issue: title, body, state, state_reason, labels, assignees, milestone; closing closes the pull request), `GET`/`POST`/`PUT`/`DELETE …/issues/{n}/labels`, `DELETE …/issues/{n}/labels/{name}`, `POST …/issues/{n}/assignees`, `GET`/`POST …/issues/{n}/comments` |
//! | checks | `POST /repos/{o}/{r}/statuses/{sha}`, `GET …/commits/{ref}/status`, `GET …/commits/{ref}/statuses`, `POST …/check-runs`, `GET`/`PATCH …/check-runs/{id}`, `GET …/commits/{ref}/check-runs`, `GET …/commits/{ref}/check-suites` (empty) |
//! | releases | `GET`/`POST /repos/{o}/{r}/releases`, `GET …/releases/latest`, `GET …/releases/tags/{tag}`, `GET`/`PATCH`/`DELETE …/releases/{id}` |
//! | actions | `GET /repos/{o}/{r}/actions/runs`, `GET /repos/{o}/{r}/actions/workflows/{id or file name}/runs` (seeded with [`TestServer::seed_workflow_runs`]) |
//! | apps (JWT) | `GET /app`, `GET /app/installations`, `GET /app/installations/{id}`, `POST /app/installations/{id}/access_tokens`, `GET /orgs/{org}/installation`, `GET /users/{user}/installation`, `GET /repos/{o}/{r}/installation` |
//!
//! GraphQL: `POST /graphql` (github.com) and `POST /api/graphql` (GHES); `/api/v3/graphql` is 404,
//! as on GHES. Documents are parsed with `async-graphql-parser` and run as GitHub does:
//! `operationName` picks among several operations; syntax and validation errors (unknown fields,
//! arguments and input fields, bad enum values, undeclared or unused variables, invalid variable
//! values) answer `{"errors": [...]}` without `data` and run nothing; top-level fields run in order
//! (mutations serially), each result pruned to its selection set (aliases, fragments,
//! `@skip`/`@include`, `__typename`), and a failing field is `null` in `data` with an `errors`
//! entry `{"type", "path", "locations", "message"}` while the others still run. The schema is a
//! subset of GitHub's: `viewer`, `repository(owner:, name:)` (with `label(name:)` and the
//! `pullRequests` connection: `mergeable`, `reviewDecision`, `mergedAt`, `closedAt`,
//! `mergeCommit`, `labels`, and `commits { commit { statusCheckRollup { state } } }`; connections
//! need `first`/`last` ≤ 100 and a document at most 500,000 nodes, as on GitHub), and the mutations
//! `enablePullRequestAutoMerge`/`disablePullRequestAutoMerge` (recorded as the pull request's
//! `auto_merge`), `createRef`, `createCommitOnBranch` (a real commit by the authenticated identity,
//! verified for installation tokens), `createPullRequest` (shared with `POST /pulls`),
//! `updatePullRequest`, `createLabel` and `revertPullRequest` (<https://docs.github.com/en/graphql/reference/mutations#revertpullrequest>:
//! a merged pull request's revert on branch `revert-<number>-<head branch>`, one commit off the
//! base's head whose tree is the three-way merge of that head and the base before the merge over
//! the merged commit, and a pull request titled `Revert "<title>"`, body `Reverts o/r#n`; one
//! that conflicts, or whose branch exists, is an error that creates nothing). There is no
//! introspection.
//!
//! Smart HTTP: `GET /{owner}/{repo}.git/info/refs?service=git-upload-pack` and
//! `POST /{owner}/{repo}.git/git-upload-pack` through `git http-backend` (push is refused).
//!
//! # Branch protection
//!
//! A simple form of GitHub's protected branches
//! (<https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches>),
//! on the default branch only: [`RepoOptions::require_status_checks`] (each named check, a commit
//! status context or a check run name, must have succeeded on the head) and
//! [`RepoOptions::require_approving_reviews`] (that many reviewers' latest reviews approve, none
//! requests changes). `PUT …/pulls/{n}/merge` into the default branch answers 405 with GitHub's
//! words while they are not met: `At least 1 approving review is required by reviewers with write
//! access.`, `Required status check "ci" is expected.` (not reported or pending), `Required status
//! check "ci" is failing.` Reviews come from `POST …/pulls/{n}/reviews` by another user than the
//! author ([`TestServer::add_user_token`]). Other protection settings (admins, stale approvals,
//! code owners, rulesets) and pushes to protected branches are not modelled.
//!
//! # Not modelled
//!
//! Token scopes and fine-grained permissions are not enforced (any valid token may do anything);
//! there is one primary rate-limit window shared by all callers; forks, plain issues, check
//! suites and `delete_branch_on_merge` do not exist; enabling auto-merge never
//! merges and never answers GitHub's `Pull request is in clean status` error.

#![recursion_limit = "512"]

mod actions;
mod apps;
mod checks;
mod faults;
mod git;
mod git_data;
mod graphql;
mod http;
mod json;
mod pulls;
mod rate_limit;
mod releases;
mod repos;
mod server;
mod smart_http;
mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use faults::{FaultFilter, Faults};

/// How a [`TestServer`] behaves; `ServerConfig::default()` suits most tests.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The user that classic and fine-grained tokens belong to (`GET /user`, PR authors).
    pub login: String,
    /// How long installation tokens minted through `POST /app/installations/{id}/access_tokens`
    /// (and tokens added as [`TokenKind::Installation`]) stay valid. GitHub's is one hour; make it
    /// shorter to exercise token refresh.
    pub installation_token_ttl: Duration,
    /// Primary rate limit (`x-ratelimit-limit`); GitHub's is 5000 an hour for a user.
    pub rate_limit: u32,
    /// Length of a rate-limit window; `x-ratelimit-reset` is the end of the current one.
    pub rate_limit_window: Duration,
    /// Refuse anonymous requests (401 `Requires authentication`) even for public data. GitHub allows
    /// anonymous reads of public repositories, and so does this server by default.
    pub require_auth: bool,
    /// Seed of the random number generator behind [`Faults::fail_rate`].
    pub fault_seed: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            login: "test-user".to_string(),
            installation_token_ttl: Duration::from_secs(3600),
            rate_limit: 5000,
            rate_limit_window: Duration::from_secs(3600),
            require_auth: false,
            fault_seed: 0x5eed_f417,
        }
    }
}

/// Properties of a repository made with [`TestServer::create_repo`].
#[derive(Clone, Debug)]
pub struct RepoOptions {
    /// The default branch (`main` unless set).
    pub default_branch: String,
    /// Repository topics (`GET /repos/{owner}/{repo}/topics`).
    pub topics: Vec<String>,
    /// Archived repositories are read-only: writes get 403 `Repository was archived so is read-only.`
    pub archived: bool,
    /// Reported as `fork: true` (and filtered by `type=forks|sources`).
    pub fork: bool,
    /// Private repositories are invisible (404) to anonymous callers, and cloning them needs a token.
    pub private: bool,
    /// The repository description.
    pub description: Option<String>,
    /// Whether auto-merge may be enabled on its pull requests (GitHub's `allow_auto_merge`).
    pub allow_auto_merge: bool,
    /// Branch protection of the default branch, GitHub's "Require status checks to pass before
    /// merging": these check names (commit status contexts or check run names) must each have
    /// reported success on a pull request's head before it may merge into the default branch.
    pub required_status_checks: Vec<String>,
    /// Branch protection of the default branch, GitHub's "Require a pull request before merging"
    /// with "Required approvals": at least this many approving reviews (the latest review of each
    /// reviewer counts), and no reviewer's latest review requesting changes. 0 means reviews are
    /// not required (and GraphQL's `reviewDecision` is then `null`).
    pub required_approving_review_count: u32,
}

impl Default for RepoOptions {
    fn default() -> Self {
        RepoOptions {
            default_branch: "main".to_string(),
            topics: Vec::new(),
            archived: false,
            fork: false,
            private: false,
            description: None,
            allow_auto_merge: true,
            required_status_checks: Vec::new(),
            required_approving_review_count: 0,
        }
    }
}

impl RepoOptions {
    /// Use `branch` as the default branch.
    pub fn default_branch(mut self, branch: &str) -> Self {
        self.default_branch = branch.to_string();
        self
    }
    /// Set the topics.
    pub fn topics(mut self, topics: &[&str]) -> Self {
        self.topics = topics.iter().map(|t| t.to_string()).collect();
        self
    }
    /// Make the repository private (or public).
    pub fn private(mut self, private: bool) -> Self {
        self.private = private;
        self
    }
    /// Archive the repository (or not).
    pub fn archived(mut self, archived: bool) -> Self {
        self.archived = archived;
        self
    }
    /// Mark the repository as a fork (or not).
    pub fn fork(mut self, fork: bool) -> Self {
        self.fork = fork;
        self
    }
    /// Protect the default branch: `checks` must pass before a pull request merges into it.
    pub fn require_status_checks(mut self, checks: &[&str]) -> Self {
        self.required_status_checks = checks.iter().map(|c| c.to_string()).collect();
        self
    }
    /// Protect the default branch: `count` approving reviews are needed to merge into it.
    pub fn require_approving_reviews(mut self, count: u32) -> Self {
        self.required_approving_review_count = count;
        self
    }
}

/// What a token added with [`TestServer::add_token`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// A personal access token (classic): responses carry `x-oauth-scopes` with these scopes.
    Classic {
        /// OAuth scopes, e.g. `repo`, `workflow`.
        scopes: Vec<String>,
    },
    /// A fine-grained personal access token: responses carry
    /// `github-authentication-token-expiration` when it expires, and it is refused (401) after.
    FineGrained {
        /// When the token stops working; `None` for a token that never expires.
        expires_at: Option<time::OffsetDateTime>,
    },
    /// A GitHub App installation token (`ghs_…`): commits it creates are reported as verified.
    /// It expires after [`ServerConfig::installation_token_ttl`], counted from when it was added.
    Installation,
}

/// One request the server answered (or dropped), in arrival order.
#[derive(Clone, Debug)]
pub struct LoggedRequest {
    /// When the request arrived.
    pub at: Instant,
    /// When the answer was ready (after any injected latency), for timelines of where a run
    /// spends its time.
    pub finished: Instant,
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// The route template, e.g. `/repos/{owner}/{repo}/pulls` (the same for `/api/v3/...`), or the
    /// raw path for requests that matched no route.
    pub route: String,
    /// The path as requested (with any `/api/v3` prefix).
    pub path: String,
    /// The status answered; 0 when the connection was dropped by [`Faults::drop_connection_next`].
    pub status: u16,
    /// A POST that reads: a GraphQL query (not a mutation).
    pub graphql_query: bool,
}

impl LoggedRequest {
    /// Whether this is a content-creating request (POST, PATCH, PUT or DELETE, but not a
    /// GraphQL query).
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE") && !self.graphql_query
    }
}

/// A snapshot of the requests the server has seen (see [`TestServer::requests`]).
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    /// Number of requests.
    pub total: usize,
    /// How many were answered `304 Not Modified`.
    pub not_modified: usize,
    /// Requests per `(method, route template)`, e.g. `("POST", "/repos/{owner}/{repo}/pulls")`.
    pub counts: BTreeMap<(String, String), usize>,
    /// Every request in arrival order, with its timestamp (for pacing assertions).
    pub entries: Vec<LoggedRequest>,
}

impl RequestLog {
    /// How many requests matched `method` and the route template `route`.
    pub fn count(&self, method: &str, route: &str) -> usize {
        self.counts.get(&(method.to_string(), route.to_string())).copied().unwrap_or(0)
    }
    /// The content-creating requests (POST, PATCH, PUT, DELETE) in order.
    pub fn writes(&self) -> Vec<&LoggedRequest> {
        self.entries.iter().filter(|e| e.is_write()).collect()
    }
}

/// A running server. Dropping it shuts the server down and deletes its repositories.
pub struct TestServer {
    shared: Arc<state::Shared>,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Start a server on `127.0.0.1` with an ephemeral port, on the current tokio runtime.
    pub async fn start(config: ServerConfig) -> std::io::Result<TestServer> {
        let (shared, shutdown, task) = server::start(config).await?;
        Ok(TestServer { shared, shutdown: Some(shutdown), task: Some(task) })
    }

    /// REST base URL in github.com layout, e.g. `http://127.0.0.1:PORT` (GraphQL at `/graphql`).
    pub fn api_url(&self) -> String {
        self.shared.host()
    }

    /// REST base URL in GitHub Enterprise Server layout, `http://127.0.0.1:PORT/api/v3`
    /// (GraphQL at `/api/graphql`; `/api/v3/graphql` is 404, as on GHES).
    pub fn ghes_api_url(&self) -> String {
        format!("{}/api/v3", self.shared.host())
    }

    /// Smart-HTTP clone URL, `http://127.0.0.1:PORT/{owner}/{repo}.git`. Private repositories need
    /// HTTP Basic credentials with a valid token as the password (user `x-access-token`).
    pub fn git_url(&self, owner: &str, repo: &str) -> String {
        format!("{}/{owner}/{repo}.git", self.shared.host())
    }

    /// Create a repository with one commit holding `files` on `opts.default_branch`, and return
    /// that commit's id. With no files the repository is empty (no commit, no branch) and the
    /// returned id is empty, as a GitHub repository before its first push.
    ///
    /// # Panics
    /// If the repository exists already or git fails: this is a test fixture.
    pub fn create_repo(&self, owner: &str, name: &str, files: &[(&str, &[u8])], opts: RepoOptions) -> String {
        match self.shared.create_repo(owner, name, files, opts) {
            Ok(sha) => sha,
            Err(e) => panic!("create_repo {owner}/{name}: {e}"),
        }
    }

    /// Commit `files` (added or replaced) on `branch` as a developer pushing would, and return the
    /// new commit id. A missing branch starts from the default branch's head (or from nothing in an
    /// empty repository). Open pull requests from `branch` follow the new head.
    ///
    /// # Panics
    /// If the repository does not exist or git fails.
    pub fn push_commit(&self, owner: &str, repo: &str, branch: &str, files: &[(&str, &[u8])], message: &str) -> String {
        match self.shared.push_commit(owner, repo, branch, files, message) {
            Ok(sha) => sha,
            Err(e) => panic!("push_commit {owner}/{repo}@{branch}: {e}"),
        }
    }

    /// Make `branch` (which must exist) the default branch of `owner/repo`, as changing it in the
    /// repository's settings does (`PATCH /repos/{owner}/{repo}` with `default_branch`). Open pull
    /// requests keep their base.
    ///
    /// # Panics
    /// If the repository or the branch does not exist.
    pub fn set_default_branch(&self, owner: &str, repo: &str, branch: &str) {
        let mut st = self.shared.lock();
        let Some(r) = st.repo_mut(owner, repo) else { panic!("set_default_branch: no repository {owner}/{repo}") };
        if let Err(e) = crate::repos::set_default_branch(r, branch) {
            panic!("set_default_branch {owner}/{repo}: {e}");
        }
    }

    /// The bare repository on disk (`<tmp>/<owner>/<repo>.git`), for `git` commands in tests.
    pub fn repo_path(&self, owner: &str, repo: &str) -> PathBuf {
        self.shared.repo_dir(owner, repo)
    }

    /// Accept `token` from now on (`Authorization: Bearer TOKEN` or `token TOKEN`). Requests with
    /// tokens that were never added get 401 `Bad credentials`.
    pub fn add_token(&self, token: &str, kind: TokenKind) {
        self.shared.add_token(token, kind);
    }

    /// Accept `token` as a classic personal access token of user `login` (another person than
    /// [`ServerConfig::login`], e.g. a reviewer: GitHub refuses reviews that approve or request
    /// changes on one's own pull request).
    pub fn add_user_token(&self, token: &str, login: &str) {
        self.shared.add_user_token(token, login);
    }

    /// Register GitHub App `app_id` (its RS256 public key in PEM, PKCS#8 or PKCS#1) with an
    /// installation `installation_id` on account `owner`. Calling it again for the same app adds
    /// another installation. A JWT signed with the app's private key (`iss` = app id, `exp` at most
    /// ten minutes after `iat`) then works on `/app/*`, `GET /orgs/{org}/installation` and
    /// `GET /repos/{owner}/{repo}/installation`, and mints installation tokens.
    ///
    /// # Panics
    /// If the key cannot be parsed.
    pub fn register_app(&self, app_id: u64, public_key_pem: &str, installation_id: u64, owner: &str) {
        if let Err(e) = self.shared.register_app(app_id, public_key_pem, installation_id, owner) {
            panic!("register_app {app_id}: {e}");
        }
    }

    /// Fault injection, configurable while the server runs.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// A snapshot of the requests seen so far.
    pub fn requests(&self) -> RequestLog {
        self.shared.request_log()
    }

    /// Forget the requests seen so far (the rate limit is not touched).
    pub fn clear_requests(&self) {
        self.shared.clear_request_log();
    }

    /// Pull requests of `owner/repo` as the REST API renders them (`GET /pulls/{n}` JSON), oldest
    /// first, all states. Empty if the repository does not exist.
    pub fn pulls(&self, owner: &str, repo: &str) -> Vec<serde_json::Value> {
        self.shared.pulls_json(owner, repo)
    }

    /// Releases of `owner/repo` as the REST API renders them (`GET /releases/{id}` JSON), oldest
    /// first, drafts included. Empty if the repository does not exist.
    pub fn releases(&self, owner: &str, repo: &str) -> Vec<serde_json::Value> {
        self.shared.releases_json(owner, repo)
    }

    /// Comments on issue or pull request `number` (`GET /issues/{n}/comments` JSON).
    pub fn issue_comments(&self, owner: &str, repo: &str, number: u64) -> Vec<serde_json::Value> {
        self.shared.comments_json(owner, repo, number)
    }

    /// Whether GitHub would show commit `sha` as verified (made with an installation token, or a
    /// merge GitHub signed).
    pub fn commit_verified(&self, owner: &str, repo: &str, sha: &str) -> bool {
        self.shared.commit_verified(owner, repo, sha)
    }

    /// Set the primary rate limit: `limit` a window, `remaining` left, resetting in `reset_in`.
    pub fn set_rate_limit(&self, limit: u32, remaining: u32, reset_in: Duration) {
        self.shared.rate.set(limit, remaining, reset_in);
    }

    /// Workflow runs that `GET /repos/{owner}/{repo}/actions/runs` lists (newest first, as given).
    /// Each value is a `workflow-run` object as GitHub returns it; missing `id`, `head_branch`,
    /// `status`, `event`, `created_at`… are filled in with plausible values.
    ///
    /// # Panics
    /// If the repository does not exist.
    pub fn seed_workflow_runs(&self, owner: &str, repo: &str, runs: Vec<serde_json::Value>) {
        if let Err(e) = self.shared.seed_workflow_runs(owner, repo, runs) {
            panic!("seed_workflow_runs {owner}/{repo}: {e}");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
