//! The GitHub forge: github.com and GitHub Enterprise Server through their REST API (and GraphQL
//! for new pull requests, batched pull request updates, auto-merge and reverts), driven by octocrab
//! through [`api::Api`].
//!
//! Every non-idempotent write is checked before it is tried again: a `create pull request` that
//! got a 502 looks the PR up by head branch first, a tag or release that may exist is read back.
//! Re-running a campaign never creates a duplicate PR, branch, tag or release.

pub mod api;
pub mod auth;
mod batch;
mod pr_status;
mod revert;
pub mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine;
use http::{Method, StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};

use self::api::{Api, ApiError, Repeat, Response};
use self::auth::TokenSource;
use super::{
    ApiUsage, CheckState, CheckVerdict, CommitInfo, CommitStatus, FileChange, Forge, ForgeError, ForgeResult,
    MergeMethod, MergeResult, NewPullRequest, NewRelease, NewRevert, PrState, PullRequest, PullRequestBatchItem,
    PullRequestStatus, PullRequestUpdate, Release, RemoteRepo, RepoId, Tag, WorkflowRun,
};

pub struct GithubForge {
    api: Api,
    token: Arc<dyn TokenSource>,
    /// `permissions.push` per repository, from the listing (for the pre-flight check).
    push: Mutex<HashMap<RepoId, bool>>,
    /// GraphQL node ids of repositories, from the listing (GraphQL mutations name repositories
    /// by node id; knowing it saves a lookup per repository).
    node_ids: Mutex<HashMap<RepoId, String>>,
    /// Default branches, from the listing or `GET /repos/{owner}/{repo}`: the branches
    /// [`Forge::update_branch`] and [`Forge::delete_branch`] refuse to write.
    default_branches: Mutex<HashMap<RepoId, String>>,
}

/// Above this much file content a change goes through the git data API (blobs are uploaded one
/// by one there) rather than inline in one GraphQL document.
const GRAPHQL_CHANGE_LIMIT: usize = 4 * 1024 * 1024;

/// Branch, commit and pull request in one GraphQL document. Mutations run in order, so a later
/// one never runs ahead of an earlier one; one that fails leaves the later ones to fail too.
const OPEN_CHANGE_MUTATION: &str =
    "mutation($ref: CreateRefInput!, $commit: CreateCommitOnBranchInput!, $pr: CreatePullRequestInput!) {
  branch: createRef(input: $ref) { ref { name } }
  commit: createCommitOnBranch(input: $commit) { commit { oid } }
  pull: createPullRequest(input: $pr) { pullRequest { number } }
}";

/// One commit on an existing branch, compared with `expectedHeadOid` (see
/// [`Forge::commit_on_branch`]).
const COMMIT_ON_BRANCH_MUTATION: &str = "mutation($input: CreateCommitOnBranchInput!) {
  commit: createCommitOnBranch(input: $input) { commit { oid } }
}";

/// `fileChanges` (contents base64) and `message` (`headline`, and `body` when there is more
/// than one line) of a `CreateCommitOnBranchInput`.
fn commit_on_branch_fields(changes: &[FileChange], message: &str) -> (Value, Value) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut additions = Vec::new();
    let mut deletions = Vec::new();
    for change in changes {
        match change {
            FileChange::Write { path, content, .. } => {
                additions.push(json!({"path": path, "contents": b64.encode(content)}))
            }
            FileChange::Delete { path } => deletions.push(json!({"path": path})),
        }
    }
    let (headline, body) = match message.trim_end().split_once('\n') {
        Some((h, rest)) => (h.trim_end(), rest.trim()),
        None => (message.trim_end(), ""),
    };
    let mut commit_message = json!({"headline": headline});
    if !body.is_empty() {
        commit_message["body"] = json!(body);
    }
    (json!({"additions": additions, "deletions": deletions}), commit_message)
}

fn path(repo: &RepoId) -> String {
    format!("/repos/{}/{}", repo.owner, repo.name)
}

/// Percent-encode one path segment (branch names contain `/`, which GitHub wants as-is in
/// `git/ref/heads/a/b`, so this only escapes what would break the URL).
fn seg(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' | '~' | '/' => c.to_string(),
            _ => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

fn query(s: &str) -> String {
    seg(s).replace('/', "%2F")
}

impl From<ApiError> for ForgeError {
    fn from(e: ApiError) -> Self {
        // "GET /repos/acme/api/pulls/3 not found"
        if let ApiError::Status { method, target, status, .. } = &e
            && *status == StatusCode::NOT_FOUND
        {
            return ForgeError::NotFound(format!("{method} {target}"));
        }
        match e.status() {
            Some(StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::METHOD_NOT_ALLOWED) => {
                ForgeError::Conflict(e.to_string())
            }
            _ => ForgeError::Remote(e.to_string()),
        }
    }
}

/// The forge error for a response the caller has found to be a refusal (not 2xx).
fn refusal(resp: Response, method: Method) -> ForgeError {
    check(resp, method).err().map_or(ForgeError::Remote("unexpected".into()), Into::into)
}

/// Turn a non-2xx response into an error carrying GitHub's message and the path requested.
fn check(resp: Response, method: Method) -> Result<Response, ApiError> {
    if resp.status.is_success() {
        return Ok(resp);
    }
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let mut message = body["message"].as_str().unwrap_or("").to_string();
    if let Some(errors) = body["errors"].as_array() {
        let details: Vec<String> = errors
            .iter()
            .filter_map(|e| {
                e["message"].as_str().map(str::to_string).or_else(|| e["code"].as_str().map(str::to_string))
            })
            .collect();
        if !details.is_empty() {
            message = format!("{message}: {}", details.join("; "));
        }
    }
    Err(ApiError::Status { method, target: resp.path, status: resp.status, message, body })
}

#[derive(Deserialize)]
struct GhRepo {
    name: String,
    owner: GhUser,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    fork: bool,
    #[serde(default)]
    private: bool,
    clone_url: String,
    #[serde(default)]
    permissions: Option<GhPermissions>,
    #[serde(default)]
    node_id: Option<String>,
}

#[derive(Deserialize)]
struct GhPermissions {
    #[serde(default)]
    push: bool,
}

#[derive(Deserialize)]
struct GhUser {
    login: String,
}

#[derive(Deserialize)]
struct GhRef {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

#[derive(Deserialize)]
struct GhLabel {
    name: String,
}

#[derive(Deserialize)]
struct GhTeam {
    slug: String,
}

#[derive(Deserialize)]
struct GhPull {
    number: u64,
    state: String,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    closed_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    head: GhRef,
    base: GhRef,
    #[serde(default)]
    labels: Vec<GhLabel>,
    #[serde(default)]
    requested_reviewers: Vec<GhUser>,
    #[serde(default)]
    requested_teams: Vec<GhTeam>,
    #[serde(default)]
    assignees: Vec<GhUser>,
    html_url: String,
    #[serde(default)]
    node_id: Option<String>,
}

impl From<GhPull> for PullRequest {
    fn from(p: GhPull) -> Self {
        let state = match (p.state.as_str(), p.merged_at.is_some()) {
            (_, true) => PrState::Merged,
            ("open", _) => PrState::Open,
            _ => PrState::Closed,
        };
        let mut reviewers: Vec<String> = p.requested_reviewers.into_iter().map(|u| u.login).collect();
        reviewers.extend(p.requested_teams.into_iter().map(|t| format!("team:{}", t.slug)));
        PullRequest {
            number: p.number,
            state,
            title: p.title,
            body: p.body.unwrap_or_default(),
            head: p.head.name,
            base: p.base.name,
            head_sha: p.head.sha,
            draft: p.draft.unwrap_or(false),
            labels: p.labels.into_iter().map(|l| l.name).collect(),
            reviewers,
            assignees: p.assignees.into_iter().map(|u| u.login).collect(),
            url: p.html_url,
            merge_commit_sha: p.merge_commit_sha.filter(|_| state == PrState::Merged),
            node_id: p.node_id,
            created_at: p.created_at,
            merged_at: p.merged_at,
            closed_at: p.closed_at,
        }
    }
}

impl GithubForge {
    pub fn new(api: Api, token: Arc<dyn TokenSource>) -> Self {
        GithubForge {
            api,
            token,
            push: Mutex::new(HashMap::new()),
            node_ids: Mutex::new(HashMap::new()),
            default_branches: Mutex::new(HashMap::new()),
        }
    }

    pub fn api(&self) -> &Api {
        &self.api
    }

    pub fn token_source(&self) -> &Arc<dyn TokenSource> {
        &self.token
    }

    async fn get(&self, route: &str, p: &str) -> Result<Response, ApiError> {
        self.api.rest(Method::GET, route, p, None, Repeat::Safe).await
    }

    /// GET that maps 404 to `None`.
    async fn get_opt(&self, route: &str, p: &str) -> Result<Option<Response>, ApiError> {
        let resp = self.get(route, p).await?;
        if resp.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        check(resp, Method::GET).map(Some)
    }

    async fn write(
        &self,
        method: Method,
        route: &str,
        p: &str,
        body: Value,
        repeat: Repeat,
    ) -> Result<Response, ApiError> {
        self.api.rest(method, route, p, Some(&body), repeat).await
    }

    /// Follow `Link: rel="next"` pages of a list endpoint.
    async fn paginate(&self, route: &str, first: String) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(p) = next.take() {
            let resp = check(self.get(route, &p).await?, Method::GET)?;
            let page: Vec<Value> = resp.json()?;
            items.extend(page);
            next = resp.header("link").and_then(|l| next_link(l, self.api.endpoints()));
        }
        Ok(items)
    }

    async fn list_pulls(&self, repo: &RepoId, branch: &str) -> Result<Vec<PullRequest>, ApiError> {
        let route = "/repos/{owner}/{repo}/pulls";
        let first =
            format!("{}/pulls?state=all&per_page=100&head={}", path(repo), query(&format!("{}:{branch}", repo.owner)));
        let items = self.paginate(route, first).await?;
        let mut prs = Vec::new();
        for item in items {
            let pr: GhPull = serde_json::from_value(item)
                .map_err(|e| ApiError::Decode { target: route.into(), cause: e.to_string() })?;
            // `head=` filters by owner:branch; keep only same-repository heads of this branch.
            if pr.head.name == branch {
                prs.push(PullRequest::from(pr));
            }
        }
        prs.sort_by_key(|p| std::cmp::Reverse(p.number));
        Ok(prs)
    }

    async fn get_ref(&self, repo: &RepoId, name: &str) -> Result<Option<String>, ApiError> {
        let route = "/repos/{owner}/{repo}/git/ref/{ref}";
        Ok(match self.get_opt(route, &format!("{}/git/ref/{}", path(repo), seg(name))).await? {
            Some(resp) => {
                let v: Value = resp.json()?;
                v["object"]["sha"].as_str().map(str::to_string)
            }
            None => None,
        })
    }

    /// `repo`'s default branch: from the listing, else `GET /repos/{owner}/{repo}`
    /// (`default_branch`).
    async fn default_branch(&self, repo: &RepoId) -> ForgeResult<String> {
        if let Some(b) = self.default_branches.lock().ok().and_then(|m| m.get(repo).cloned()) {
            return Ok(b);
        }
        let route = "/repos/{owner}/{repo}";
        let info: Value = check(self.get(route, &path(repo)).await?, Method::GET)?.json()?;
        let branch = info["default_branch"]
            .as_str()
            .ok_or_else(|| ForgeError::Remote(format!("{route}: no default_branch for {repo}")))?
            .to_string();
        if let Ok(mut m) = self.default_branches.lock() {
            m.insert(repo.clone(), branch.clone());
        }
        Ok(branch)
    }

    /// `createCommitOnBranch` with `expectedHeadOid` on any branch (the callers decide whether
    /// the default branch may be written).
    async fn commit_on_branch_unchecked(
        &self,
        repo: &RepoId,
        branch: &str,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        // createCommitOnBranch takes paths and contents only: a write that makes or replaces an
        // executable file would come out 100644 (see FileChange::Write).
        if changes.iter().any(|c| {
            matches!(c, FileChange::Write { executable: true, .. } | FileChange::Write { was_executable: true, .. })
        }) {
            return Err(ForgeError::Invalid(format!(
                "commit_on_branch cannot write or replace executable files on {repo} (createCommitOnBranch keeps no file modes)"
            )));
        }
        let (file_changes, commit_message) = commit_on_branch_fields(changes, message);
        let variables = json!({"input": {
            "branch": {"repositoryNameWithOwner": repo.full_name(), "branchName": branch},
            "expectedHeadOid": expected_head,
            "message": commit_message,
            "fileChanges": file_changes,
        }});
        let answer = match self.api.graphql_document(COMMIT_ON_BRANCH_MUTATION, variables, Repeat::CheckFirst).await {
            Ok(answer) => answer,
            Err(e @ ApiError::Ambiguous { .. }) => return Err(ForgeError::Partial(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        if let Some(oid) = answer["data"]["commit"]["commit"]["oid"].as_str() {
            return Ok(oid.to_string());
        }
        let errors: Vec<&Value> = answer["errors"].as_array().map(|e| e.iter().collect()).unwrap_or_default();
        let text = errors.iter().filter_map(|e| e["message"].as_str()).collect::<Vec<_>>().join("; ");
        let kind = |t: &str| errors.iter().any(|e| e["type"].as_str() == Some(t));
        Err(if kind("STALE_DATA") {
            ForgeError::Conflict(format!("{branch} of {repo} is no longer at {expected_head}: {text}"))
        } else if kind("NOT_FOUND") {
            ForgeError::NotFound(format!("branch {branch} of {repo}: {text}"))
        } else if text.is_empty() {
            ForgeError::Remote(format!("createCommitOnBranch on {repo}: no commit in the answer"))
        } else {
            ForgeError::Remote(format!("createCommitOnBranch on {repo}: {text}"))
        })
    }

    /// Refuse to write `branch` if it is `repo`'s default branch.
    async fn refuse_default_branch(&self, repo: &RepoId, branch: &str, what: &str) -> ForgeResult<()> {
        if self.default_branch(repo).await? == branch {
            return Err(super::default_branch_refusal(repo, branch, what));
        }
        Ok(())
    }

    /// Labels, reviewers and assignees of a new pull request (GitHub's create takes none).
    async fn decorate_pull_request(
        &self,
        repo: &RepoId,
        mut pr: PullRequest,
        new: &NewPullRequest,
    ) -> ForgeResult<PullRequest> {
        let issue = format!("{}/issues/{}", path(repo), pr.number);
        if !new.labels.is_empty() && new.labels.iter().any(|l| !pr.labels.contains(l)) {
            let route = "/repos/{owner}/{repo}/issues/{issue_number}/labels";
            let resp = self
                .write(Method::POST, route, &format!("{issue}/labels"), json!({"labels": new.labels}), Repeat::Safe)
                .await?;
            let labels: Vec<GhLabel> = check(resp, Method::POST)?.json()?;
            pr.labels = labels.into_iter().map(|l| l.name).collect();
        }
        let (teams, users): (Vec<&String>, Vec<&String>) = new.reviewers.iter().partition(|r| r.starts_with("team:"));
        if !new.reviewers.is_empty() {
            let route = "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers";
            let teams: Vec<&str> = teams.iter().map(|t| t.trim_start_matches("team:")).collect();
            let resp = self
                .write(
                    Method::POST,
                    route,
                    &format!("{}/pulls/{}/requested_reviewers", path(repo), pr.number),
                    json!({"reviewers": users, "team_reviewers": teams}),
                    Repeat::Safe,
                )
                .await?;
            check(resp, Method::POST)?;
            pr.reviewers = new.reviewers.clone();
        }
        if !new.assignees.is_empty() {
            let route = "/repos/{owner}/{repo}/issues/{issue_number}/assignees";
            let resp = self
                .write(
                    Method::POST,
                    route,
                    &format!("{issue}/assignees"),
                    json!({"assignees": new.assignees}),
                    Repeat::Safe,
                )
                .await?;
            check(resp, Method::POST)?;
            pr.assignees = new.assignees.clone();
        }
        Ok(pr)
    }

    /// `PATCH /repos/{o}/{r}/issues/{n}`: title, body, state, labels and assignees of a pull
    /// request in one write (the pulls endpoint takes no labels or assignees), then the pull
    /// request read back (a read, which is not paced like writes).
    async fn update_issue(&self, repo: &RepoId, number: u64, update: &PullRequestUpdate) -> ForgeResult<PullRequest> {
        if let Some(base) = &update.base {
            // The issues endpoint has no `base`: retarget through the pulls endpoint first.
            let only_base = PullRequestUpdate { base: Some(base.clone()), ..Default::default() };
            self.update_pull_request(repo, number, &only_base).await?;
        }
        let mut body = pr_fields(update)?;
        body.remove("base");
        if let Some(labels) = &update.labels {
            body.insert("labels".into(), json!(labels));
        }
        if let Some(assignees) = &update.assignees {
            body.insert("assignees".into(), json!(assignees));
        }
        let route = "/repos/{owner}/{repo}/issues/{issue_number}";
        let resp = self
            .write(Method::PATCH, route, &format!("{}/issues/{number}", path(repo)), Value::Object(body), Repeat::Safe)
            .await?;
        check(resp, Method::PATCH)?;
        self.get_pull_request(repo, number).await
    }

    /// `GET /repos/{o}/{r}`'s `allow_auto_merge`, then GraphQL `enablePullRequestAutoMerge`.
    pub async fn enable_auto_merge(&self, repo: &RepoId, pr: &PullRequest, method: MergeMethod) -> ForgeResult<bool> {
        let route = "/repos/{owner}/{repo}";
        let info: Value = check(self.get(route, &path(repo)).await?, Method::GET)?.json()?;
        if !info["allow_auto_merge"].as_bool().unwrap_or(false) {
            return Ok(false);
        }
        let Some(node) = &pr.node_id else { return Ok(false) };
        let method = match method {
            MergeMethod::Merge => "MERGE",
            MergeMethod::Squash => "SQUASH",
            MergeMethod::Rebase => "REBASE",
        };
        let q = "mutation($id: ID!, $method: PullRequestMergeMethod!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method}) { clientMutationId } }";
        self.api.graphql(q, json!({"id": node, "method": method}), Repeat::Safe).await?;
        Ok(true)
    }
}

/// The title, body and state of a pull request update, as the pulls and issues endpoints take
/// them.
fn pr_fields(update: &PullRequestUpdate) -> ForgeResult<serde_json::Map<String, Value>> {
    let mut body = serde_json::Map::new();
    if let Some(t) = &update.title {
        body.insert("title".into(), json!(t));
    }
    if let Some(b) = &update.body {
        body.insert("body".into(), json!(b));
    }
    match update.state {
        Some(PrState::Open) => {
            body.insert("state".into(), json!("open"));
        }
        Some(PrState::Closed) => {
            body.insert("state".into(), json!("closed"));
        }
        Some(PrState::Merged) => return Err(ForgeError::Invalid("merge through merge_pull_request".into())),
        None => {}
    }
    if let Some(base) = &update.base {
        body.insert("base".into(), json!(base));
    }
    Ok(body)
}

/// A refused `PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge`, carrying GitHub's own words
/// so that a caller can print `refused: <reason>` per repository
/// (<https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request>):
///
/// - 405 `Pull Request is not mergeable` (conflicts, or already closed) and 409 `Head branch was
///   modified. Review and try the merge again.` are [`ForgeError::Conflict`]: the pull request's
///   state is in the way, and may change.
/// - any other 405 (branch protection: `At least 1 approving review is required by reviewers
///   with write access.`, `Required status check "ci" is expected.`; `Pull Request is still a
///   draft`) and 422 are [`ForgeError::Invalid`]: GitHub refuses the merge as things stand.
/// - 404 is [`ForgeError::NotFound`]; anything else [`ForgeError::Remote`].
fn merge_refusal(resp: Response) -> ForgeError {
    let status = resp.status;
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let message = match body["message"].as_str().filter(|m| !m.is_empty()) {
        Some(m) => m.to_string(),
        None => format!("GitHub refused the merge (HTTP {status})"),
    };
    match status {
        StatusCode::CONFLICT => ForgeError::Conflict(message),
        StatusCode::METHOD_NOT_ALLOWED if message.contains("not mergeable") => ForgeError::Conflict(message),
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNPROCESSABLE_ENTITY => ForgeError::Invalid(message),
        StatusCode::NOT_FOUND => ForgeError::NotFound(message),
        _ => refusal(resp, Method::PUT),
    }
}

/// The path (relative to the REST root) of the `rel="next"` link, if any.
fn next_link(header: &str, endpoints: &api::Endpoints) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        if !rel.contains("rel=\"next\"") {
            return None;
        }
        let url = url.trim().trim_start_matches('<').trim_end_matches('>');
        let after_origin = url.strip_prefix(&endpoints.origin).unwrap_or(url);
        Some(after_origin.strip_prefix(&endpoints.rest_prefix).unwrap_or(after_origin).to_string())
    })
}

#[async_trait]
impl Forge for GithubForge {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn api_usage(&self) -> Option<ApiUsage> {
        Some(self.api.usage())
    }

    async fn git_credentials(&self) -> ForgeResult<Option<(String, SecretString)>> {
        // Refresh first so the token outlives the fetch stage.
        let token = self.token.bearer(&self.api).await?;
        Ok(token.map(|t| ("x-access-token".to_string(), t)))
    }

    async fn enable_auto_merge(&self, repo: &RepoId, pr: &PullRequest, method: MergeMethod) -> ForgeResult<bool> {
        GithubForge::enable_auto_merge(self, repo, pr, method).await
    }

    fn persist_cache(&self) {
        self.api.persist_etags();
    }

    async fn scope_to(&self, repos: &[RepoId]) {
        self.token.scope_to(repos.iter().map(|r| r.name.clone()).collect());
    }

    async fn missing_write_access(&self, repos: &[RepoId]) -> ForgeResult<Vec<RepoId>> {
        let push = self.push.lock().map(|m| m.clone()).unwrap_or_default();
        Ok(repos.iter().filter(|r| push.get(*r) == Some(&false)).cloned().collect())
    }

    /// One GraphQL query per 100 repositories (see `pr_status.rs`).
    async fn pull_request_statuses(
        &self,
        repos: &[RepoId],
        branch: &str,
    ) -> Vec<(RepoId, ForgeResult<Vec<PullRequestStatus>>)> {
        self.statuses_by_graphql(repos, branch).await
    }

    async fn list_repos(&self, owner: &str) -> ForgeResult<Vec<RemoteRepo>> {
        let org_route = "/orgs/{org}/repos";
        let first = format!("/orgs/{}/repos?type=all&per_page=100", seg(owner));
        let items = match self.paginate(org_route, first).await {
            Ok(items) => items,
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                // Not an organisation: a user's repositories.
                let user = format!("/users/{}/repos?type=owner&per_page=100", seg(owner));
                match self.paginate("/users/{user}/repos", user).await {
                    Ok(items) => items,
                    Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                        return Err(ForgeError::Remote(format!(
                            "no organisation or user `{owner}` at {} (both /orgs/{owner}/repos and /users/{owner}/repos answered 404)\n  help: check [org] name, and api_url for GitHub Enterprise Server; a token without access to a private org also sees 404",
                            self.api.endpoints().origin
                        )));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let mut repos = Vec::new();
        let mut push = HashMap::new();
        let mut node_ids = HashMap::new();
        let mut default_branches = HashMap::new();
        for item in items {
            let r: GhRepo = serde_json::from_value(item)
                .map_err(|e| ForgeError::Remote(format!("{org_route}: unexpected repository JSON: {e}")))?;
            let id = RepoId::new(r.owner.login, r.name);
            if let Some(p) = r.permissions {
                push.insert(id.clone(), p.push);
            }
            if let Some(node) = r.node_id {
                node_ids.insert(id.clone(), node);
            }
            if let Some(branch) = &r.default_branch {
                default_branches.insert(id.clone(), branch.clone());
            }
            repos.push(RemoteRepo {
                id,
                default_branch: r.default_branch.unwrap_or_else(|| "main".into()),
                topics: r.topics,
                archived: r.archived,
                fork: r.fork,
                private: r.private,
                clone_url: r.clone_url,
                head: None,
            });
        }
        if let Ok(mut m) = self.push.lock() {
            *m = push;
        }
        if let Ok(mut m) = self.node_ids.lock() {
            *m = node_ids;
        }
        if let Ok(mut m) = self.default_branches.lock() {
            *m = default_branches;
        }
        repos.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(repos)
    }

    async fn branch_head(&self, repo: &RepoId, branch: &str) -> ForgeResult<Option<String>> {
        Ok(self.get_ref(repo, &format!("heads/{branch}")).await?)
    }

    async fn commit_info(&self, repo: &RepoId, sha: &str) -> ForgeResult<CommitInfo> {
        let route = "/repos/{owner}/{repo}/git/commits/{sha}";
        let v: Value =
            check(self.get(route, &format!("{}/git/commits/{sha}", path(repo))).await?, Method::GET)?.json()?;
        Ok(CommitInfo {
            sha: v["sha"].as_str().unwrap_or(sha).to_string(),
            tree: v["tree"]["sha"].as_str().unwrap_or_default().to_string(),
            parents: v["parents"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["sha"].as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            message: v["message"].as_str().unwrap_or_default().to_string(),
        })
    }

    async fn create_commit(
        &self,
        repo: &RepoId,
        parent: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        // Git objects are content-addressed and unreferenced until a ref moves: creating them
        // twice is harmless, so these POSTs may be repeated.
        let base_tree = self.commit_info(repo, parent).await?.tree;
        let mut entries = Vec::new();
        for change in changes {
            match change {
                FileChange::Write { path: p, content, executable, .. } => {
                    let mode = if *executable { "100755" } else { "100644" };
                    match std::str::from_utf8(content) {
                        Ok(text) => entries.push(json!({"path": p, "mode": mode, "type": "blob", "content": text})),
                        Err(_) => {
                            let route = "/repos/{owner}/{repo}/git/blobs";
                            let body = json!({"content": base64::engine::general_purpose::STANDARD.encode(content), "encoding": "base64"});
                            let resp = check(
                                self.write(
                                    Method::POST,
                                    route,
                                    &format!("{}/git/blobs", path(repo)),
                                    body,
                                    Repeat::Safe,
                                )
                                .await?,
                                Method::POST,
                            )?;
                            let sha = resp.json::<Value>()?["sha"].as_str().unwrap_or_default().to_string();
                            entries.push(json!({"path": p, "mode": mode, "type": "blob", "sha": sha}));
                        }
                    }
                }
                FileChange::Delete { path: p } => {
                    entries.push(json!({"path": p, "mode": "100644", "type": "blob", "sha": Value::Null}))
                }
            }
        }
        let route = "/repos/{owner}/{repo}/git/trees";
        let tree = check(
            self.write(
                Method::POST,
                route,
                &format!("{}/git/trees", path(repo)),
                json!({"base_tree": base_tree, "tree": entries}),
                Repeat::Safe,
            )
            .await?,
            Method::POST,
        )?
        .json::<Value>()?["sha"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let route = "/repos/{owner}/{repo}/git/commits";
        let commit = check(
            self.write(
                Method::POST,
                route,
                &format!("{}/git/commits", path(repo)),
                json!({"message": message, "tree": tree, "parents": [parent]}),
                Repeat::Safe,
            )
            .await?,
            Method::POST,
        )?
        .json::<Value>()?;
        commit["sha"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ForgeError::Remote(format!("{route}: no sha in the answer")))
    }

    async fn update_branch(&self, repo: &RepoId, branch: &str, sha: &str, force: bool) -> ForgeResult<()> {
        self.refuse_default_branch(repo, branch, "move").await?;
        // Create first (a campaign's first apply); fall back to moving an existing ref. A create
        // whose answer was lost is checked: done, exists at another commit (move it), or absent
        // (create again).
        let create_route = "/repos/{owner}/{repo}/git/refs";
        let body = json!({"ref": format!("refs/heads/{branch}"), "sha": sha});
        for attempt in 0..3 {
            match self
                .write(
                    Method::POST,
                    create_route,
                    &format!("{}/git/refs", path(repo)),
                    body.clone(),
                    Repeat::CheckFirst,
                )
                .await
            {
                Ok(resp) if resp.status.is_success() => return Ok(()),
                Ok(resp) if resp.status == StatusCode::UNPROCESSABLE_ENTITY => break,
                Ok(resp) => {
                    check(resp, Method::POST)?;
                }
                Err(ApiError::Ambiguous { cause, .. }) => match self.branch_head(repo, branch).await? {
                    Some(at) if at == sha => return Ok(()),
                    Some(_) => break,
                    None if attempt < 2 => continue,
                    None => {
                        return Err(ForgeError::Remote(format!("creating branch {branch} of {repo} failed: {cause}")));
                    }
                },
                Err(e) => return Err(e.into()),
            }
        }
        let route = "/repos/{owner}/{repo}/git/refs/{ref}";
        let resp = self
            .write(
                Method::PATCH,
                route,
                &format!("{}/git/refs/heads/{}", path(repo), seg(branch)),
                json!({"sha": sha, "force": force}),
                Repeat::Safe,
            )
            .await?;
        check(resp, Method::PATCH)?;
        Ok(())
    }

    /// `createCommitOnBranch` with `expectedHeadOid`: GitHub checks the head and moves the
    /// branch in one step and answers `STALE_DATA` when the branch is elsewhere (REST has no
    /// ref update with an expected old value: `PATCH git/refs` only refuses non-fast-forwards).
    async fn commit_on_branch(
        &self,
        repo: &RepoId,
        branch: &str,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        self.refuse_default_branch(repo, branch, "move").await?;
        self.commit_on_branch_unchecked(repo, branch, expected_head, changes, message).await
    }

    async fn commit_on_default_branch(
        &self,
        repo: &RepoId,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let branch = self.default_branch(repo).await?;
        self.commit_on_branch_unchecked(repo, &branch, expected_head, changes, message).await
    }

    /// Through the git data API, one folder at a time (`GET git/trees/{sha}` of the commit,
    /// then of each folder on the path, then `GET git/blobs/{sha}`): blobs up to 100 MB, where
    /// the contents API stops inlining at 1 MB; and a non-recursive listing is never truncated
    /// by the size of the rest of the tree.
    async fn read_file(&self, repo: &RepoId, sha: &str, file: &str) -> ForgeResult<Option<Vec<u8>>> {
        let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
        let Some((name, folders)) = parts.split_last() else {
            return Err(ForgeError::Invalid(format!("`{file}` names no file")));
        };
        let route = "/repos/{owner}/{repo}/git/trees/{sha}";
        // The commit's tree: an unknown commit is NotFound, as the local forge has it.
        let mut tree = self.commit_info(repo, sha).await?.tree;
        let find = async |tree: &str, want: &str| -> ForgeResult<Option<(String, String)>> {
            let resp = check(self.get(route, &format!("{}/git/trees/{tree}", path(repo))).await?, Method::GET)?;
            let v: Value = resp.json()?;
            Ok(v["tree"].as_array().into_iter().flatten().find(|e| e["path"].as_str() == Some(want)).map(|e| {
                (e["type"].as_str().unwrap_or_default().to_string(), e["sha"].as_str().unwrap_or_default().to_string())
            }))
        };
        for folder in folders {
            match find(&tree, folder).await? {
                Some((kind, sha)) if kind == "tree" => tree = sha,
                _ => return Ok(None),
            }
        }
        let blob = match find(&tree, name).await? {
            None => return Ok(None),
            Some((kind, _)) if kind == "tree" => {
                return Err(ForgeError::Invalid(format!("{file} at {sha} of {repo} is not a file")));
            }
            Some((_, blob)) => blob,
        };
        let route = "/repos/{owner}/{repo}/git/blobs/{sha}";
        let resp = check(self.get(route, &format!("{}/git/blobs/{blob}", path(repo))).await?, Method::GET)?;
        let v: Value = resp.json()?;
        let content: String =
            v["content"].as_str().unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
        match v["encoding"].as_str() {
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(content)
                .map(Some)
                .map_err(|e| ForgeError::Remote(format!("{route}: blob {blob} is not valid base64: {e}"))),
            Some("utf-8") | Some("utf8") => Ok(Some(v["content"].as_str().unwrap_or_default().as_bytes().to_vec())),
            other => Err(ForgeError::Remote(format!("{route}: blob {blob} has encoding {other:?}"))),
        }
    }

    async fn delete_branch(&self, repo: &RepoId, branch: &str) -> ForgeResult<bool> {
        self.refuse_default_branch(repo, branch, "delete").await?;
        let route = "/repos/{owner}/{repo}/git/refs/{ref}";
        let resp = self
            .api
            .rest(Method::DELETE, route, &format!("{}/git/refs/heads/{}", path(repo), seg(branch)), None, Repeat::Safe)
            .await?;
        match resp.status {
            StatusCode::NO_CONTENT => Ok(true),
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::NOT_FOUND => Ok(false),
            _ => Err(refusal(resp, Method::DELETE)),
        }
    }

    async fn find_pull_requests(&self, repo: &RepoId, branch: &str) -> ForgeResult<Vec<PullRequest>> {
        Ok(self.list_pulls(repo, branch).await?)
    }

    async fn open_pull_requests(&self, repo: &RepoId) -> ForgeResult<Vec<PullRequest>> {
        let route = "/repos/{owner}/{repo}/pulls";
        let items = self.paginate(route, format!("{}/pulls?state=open&per_page=100", path(repo))).await?;
        let mut prs = Vec::new();
        for item in items {
            let pr: GhPull = serde_json::from_value(item)
                .map_err(|e| ForgeError::Remote(format!("{route}: unexpected pull request JSON: {e}")))?;
            prs.push(PullRequest::from(pr));
        }
        prs.sort_by_key(|p| std::cmp::Reverse(p.number));
        Ok(prs)
    }

    async fn get_pull_request(&self, repo: &RepoId, number: u64) -> ForgeResult<PullRequest> {
        let route = "/repos/{owner}/{repo}/pulls/{pull_number}";
        let pr: GhPull =
            check(self.get(route, &format!("{}/pulls/{number}", path(repo))).await?, Method::GET)?.json()?;
        Ok(pr.into())
    }

    async fn create_pull_request(&self, repo: &RepoId, new: &NewPullRequest) -> ForgeResult<PullRequest> {
        let route = "/repos/{owner}/{repo}/pulls";
        let body =
            json!({"title": new.title, "head": new.head, "base": new.base, "body": new.body, "draft": new.draft});
        let created = match self
            .write(Method::POST, route, &format!("{}/pulls", path(repo)), body.clone(), Repeat::CheckFirst)
            .await
        {
            Ok(resp) if resp.status.is_success() => Some(PullRequest::from(resp.json::<GhPull>()?)),
            // "A pull request already exists" (a retry after a lost answer, or a race): use it.
            Ok(resp) if resp.status == StatusCode::UNPROCESSABLE_ENTITY => {
                let err = check(resp, Method::POST).err();
                let open = self.list_pulls(repo, &new.head).await?.into_iter().find(|p| p.state == PrState::Open);
                match open {
                    Some(pr) => Some(pr),
                    None => return Err(err.map_or(ForgeError::Conflict("pull request refused".into()), Into::into)),
                }
            }
            Ok(resp) => {
                return Err(refusal(resp, Method::POST));
            }
            Err(ApiError::Ambiguous { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let pr = match created {
            Some(pr) => pr,
            None => {
                // The create may have happened: look before trying again.
                match self.list_pulls(repo, &new.head).await?.into_iter().find(|p| p.state == PrState::Open) {
                    Some(pr) => pr,
                    None => {
                        let resp = self
                            .write(Method::POST, route, &format!("{}/pulls", path(repo)), body, Repeat::CheckFirst)
                            .await?;
                        PullRequest::from(check(resp, Method::POST)?.json::<GhPull>()?)
                    }
                }
            }
        };
        self.decorate_pull_request(repo, pr, new).await
    }

    /// One GraphQL document (`createRef`, `createCommitOnBranch`, `createPullRequest`) instead
    /// of four REST writes (tree, commit, ref, pull), since content-creating requests are sent
    /// one at a time and are what a campaign waits on. The git data API is kept for what
    /// `createCommitOnBranch` cannot express (executable files) and for very large changes.
    async fn open_change(
        &self,
        repo: &RepoId,
        base: &str,
        changes: &[FileChange],
        message: &str,
        pr: &NewPullRequest,
    ) -> ForgeResult<PullRequest> {
        let node = self.node_ids.lock().ok().and_then(|m| m.get(repo).cloned());
        let size: usize = changes
            .iter()
            .map(|c| match c {
                FileChange::Write { content, .. } => content.len(),
                FileChange::Delete { .. } => 0,
            })
            .sum();
        // `createCommitOnBranch` has no mode field and GitHub documents no mode for its
        // additions: a write that makes or replaces an executable file goes through the git
        // data API, whose tree entries carry the mode explicitly.
        let executable = changes.iter().any(|c| {
            matches!(c, FileChange::Write { executable: true, .. } | FileChange::Write { was_executable: true, .. })
        });
        let (Some(node), false, true) = (node, executable, size <= GRAPHQL_CHANGE_LIMIT) else {
            let sha = self.create_commit(repo, base, changes, message).await?;
            self.update_branch(repo, &pr.head, &sha, true).await?;
            return self.create_pull_request(repo, pr).await;
        };
        let (file_changes, commit_message) = commit_on_branch_fields(changes, message);
        let variables = json!({
            "ref": {"repositoryId": node, "name": format!("refs/heads/{}", pr.head), "oid": base},
            "commit": {
                "branch": {"repositoryNameWithOwner": repo.full_name(), "branchName": pr.head},
                "expectedHeadOid": base,
                "message": commit_message,
                "fileChanges": file_changes,
            },
            "pr": {
                "repositoryId": node,
                "baseRefName": pr.base,
                "headRefName": pr.head,
                "title": pr.title,
                "body": pr.body,
                "draft": pr.draft,
            },
        });
        let answer = match self.api.graphql_document(OPEN_CHANGE_MUTATION, variables, Repeat::CheckFirst).await {
            Ok(answer) => answer,
            Err(e @ ApiError::Ambiguous { .. }) => return Err(ForgeError::Partial(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let number = answer["data"]["pull"]["pullRequest"]["number"].as_u64();
        let errors = answer["errors"].as_array().filter(|e| !e.is_empty());
        match (number, errors) {
            (Some(number), None) => {
                let mut created = self.get_pull_request(repo, number).await?;
                if !pr.reviewers.is_empty() || !pr.assignees.is_empty() || !pr.labels.is_empty() {
                    created = self.decorate_pull_request(repo, created, pr).await?;
                }
                Ok(created)
            }
            (_, errors) => {
                let messages: Vec<String> =
                    errors.into_iter().flatten().filter_map(|e| e["message"].as_str().map(str::to_string)).collect();
                Err(ForgeError::Partial(format!(
                    "opening the pull request for {repo} stopped part-way: {}",
                    if messages.is_empty() { "no pull request in the answer".to_string() } else { messages.join("; ") }
                )))
            }
        }
    }

    async fn update_pull_request(
        &self,
        repo: &RepoId,
        number: u64,
        update: &PullRequestUpdate,
    ) -> ForgeResult<PullRequest> {
        if update.labels.is_some() || update.assignees.is_some() {
            return self.update_issue(repo, number, update).await;
        }
        let body = pr_fields(update)?;
        let route = "/repos/{owner}/{repo}/pulls/{pull_number}";
        let pr = if body.is_empty() {
            self.get_pull_request(repo, number).await?
        } else {
            let resp = self
                .write(
                    Method::PATCH,
                    route,
                    &format!("{}/pulls/{number}", path(repo)),
                    Value::Object(body),
                    Repeat::Safe,
                )
                .await?;
            PullRequest::from(check(resp, Method::PATCH)?.json::<GhPull>()?)
        };
        Ok(pr)
    }

    async fn update_pull_requests(&self, items: &[PullRequestBatchItem], concurrency: usize) -> Vec<ForgeResult<()>> {
        self.batch_update(items, concurrency).await
    }

    async fn revert_pull_request(
        &self,
        repo: &RepoId,
        pr: &PullRequest,
        revert: &NewRevert,
    ) -> ForgeResult<PullRequest> {
        self.revert(repo, pr, revert).await
    }
    async fn merge_pull_request(&self, repo: &RepoId, number: u64, method: MergeMethod) -> ForgeResult<MergeResult> {
        let route = "/repos/{owner}/{repo}/pulls/{pull_number}/merge";
        let m = match method {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        };
        match self
            .write(
                Method::PUT,
                route,
                &format!("{}/pulls/{number}/merge", path(repo)),
                json!({"merge_method": m}),
                Repeat::CheckFirst,
            )
            .await
        {
            Ok(resp) if resp.status.is_success() => {
                let v: Value = resp.json()?;
                Ok(MergeResult { sha: v["sha"].as_str().unwrap_or_default().to_string() })
            }
            Ok(resp) => Err(merge_refusal(resp)),
            Err(ApiError::Ambiguous { cause, .. }) => {
                let pr = self.get_pull_request(repo, number).await?;
                match (pr.state, pr.merge_commit_sha) {
                    (PrState::Merged, Some(sha)) => Ok(MergeResult { sha }),
                    _ => Err(ForgeError::Remote(format!("merging #{number} of {repo} failed: {cause}"))),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn set_commit_status(&self, repo: &RepoId, sha: &str, status: &CommitStatus) -> ForgeResult<()> {
        let route = "/repos/{owner}/{repo}/statuses/{sha}";
        let state = match status.state {
            CheckState::Success => "success",
            CheckState::Pending => "pending",
            CheckState::Failure => "failure",
        };
        let body = json!({"state": state, "context": status.context, "description": status.description});
        check(
            self.write(Method::POST, route, &format!("{}/statuses/{sha}", path(repo)), body, Repeat::Safe).await?,
            Method::POST,
        )?;
        Ok(())
    }

    async fn check_verdict(&self, repo: &RepoId, sha: &str) -> ForgeResult<CheckVerdict> {
        let route = "/repos/{owner}/{repo}/commits/{ref}/status";
        let combined: Value =
            check(self.get(route, &format!("{}/commits/{sha}/status", path(repo))).await?, Method::GET)?.json()?;
        let mut checks = Vec::new();
        for s in combined["statuses"].as_array().into_iter().flatten() {
            let state = match s["state"].as_str() {
                Some("success") => CheckState::Success,
                Some("pending") => CheckState::Pending,
                _ => CheckState::Failure,
            };
            checks.push(CommitStatus {
                context: s["context"].as_str().unwrap_or_default().into(),
                state,
                description: s["description"].as_str().unwrap_or_default().into(),
            });
        }
        let route = "/repos/{owner}/{repo}/commits/{ref}/check-runs";
        let runs: Value = check(
            self.get(route, &format!("{}/commits/{sha}/check-runs?per_page=100", path(repo))).await?,
            Method::GET,
        )?
        .json()?;
        for r in runs["check_runs"].as_array().into_iter().flatten() {
            let state = match (r["status"].as_str(), r["conclusion"].as_str()) {
                (Some("completed"), Some("success" | "neutral" | "skipped")) => CheckState::Success,
                (Some("completed"), _) => CheckState::Failure,
                _ => CheckState::Pending,
            };
            checks.push(CommitStatus {
                context: r["name"].as_str().unwrap_or_default().into(),
                state,
                description: r["conclusion"].as_str().unwrap_or_default().into(),
            });
        }
        Ok(CheckVerdict::fold(checks))
    }

    /// `GET /repos/{owner}/{repo}/actions/workflows/{file}/runs` (GitHub accepts the workflow's
    /// file name as its id), completed runs only, one page of `limit` (at most 100). A 404 (a
    /// workflow GitHub does not know, e.g. never on the default branch) is "no runs".
    async fn workflow_runs(
        &self,
        repo: &RepoId,
        workflow_path: &str,
        limit: usize,
    ) -> ForgeResult<Option<Vec<WorkflowRun>>> {
        let route = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs";
        let file = workflow_path.rsplit('/').next().unwrap_or(workflow_path);
        let per_page = limit.clamp(1, 100);
        let p = format!(
            "{}/actions/workflows/{}/runs?status=completed&exclude_pull_requests=true&per_page={per_page}",
            path(repo),
            query(file)
        );
        let Some(resp) = self.get_opt(route, &p).await? else { return Ok(Some(Vec::new())) };
        let page: Value = resp.json()?;
        let runs = page["workflow_runs"]
            .as_array()
            .into_iter()
            .flatten()
            .take(limit)
            .map(|run| WorkflowRun {
                head_sha: run["head_sha"].as_str().map(str::to_string),
                ..WorkflowRun::new(
                    run["status"].as_str().unwrap_or_default(),
                    run["conclusion"].as_str(),
                    run["event"].as_str().unwrap_or_default(),
                    run["run_started_at"].as_str(),
                    run["updated_at"].as_str(),
                )
            })
            .collect();
        Ok(Some(runs))
    }

    async fn list_tags(&self, repo: &RepoId) -> ForgeResult<Vec<Tag>> {
        let items = self.paginate("/repos/{owner}/{repo}/tags", format!("{}/tags?per_page=100", path(repo))).await?;
        let mut tags: Vec<Tag> = items
            .iter()
            .filter_map(|t| {
                Some(Tag { name: t["name"].as_str()?.to_string(), sha: t["commit"]["sha"].as_str()?.to_string() })
            })
            .collect();
        tags.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tags)
    }

    async fn create_tag(&self, repo: &RepoId, name: &str, sha: &str) -> ForgeResult<()> {
        let route = "/repos/{owner}/{repo}/git/refs";
        let body = json!({"ref": format!("refs/tags/{name}"), "sha": sha});
        let outcome =
            self.write(Method::POST, route, &format!("{}/git/refs", path(repo)), body, Repeat::CheckFirst).await;
        match outcome {
            Ok(resp) if resp.status.is_success() => Ok(()),
            Ok(resp) if resp.status != StatusCode::UNPROCESSABLE_ENTITY => Err(refusal(resp, Method::POST)),
            Ok(_) | Err(ApiError::Ambiguous { .. }) => match self.get_ref(repo, &format!("tags/{name}")).await? {
                Some(at) if at == sha => Ok(()),
                Some(at) => Err(ForgeError::Conflict(format!("tag {name} of {repo} already points at {at}"))),
                None => Err(ForgeError::Remote(format!("creating tag {name} of {repo} failed"))),
            },
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_tag(&self, repo: &RepoId, name: &str) -> ForgeResult<bool> {
        let route = "/repos/{owner}/{repo}/git/refs/{ref}";
        let resp = self
            .api
            .rest(Method::DELETE, route, &format!("{}/git/refs/tags/{}", path(repo), seg(name)), None, Repeat::Safe)
            .await?;
        Ok(resp.status == StatusCode::NO_CONTENT)
    }

    async fn create_release(&self, repo: &RepoId, new: &NewRelease) -> ForgeResult<Release> {
        let route = "/repos/{owner}/{repo}/releases";
        let body = json!({"tag_name": new.tag, "target_commitish": new.target_sha, "name": new.name, "body": new.body, "draft": new.draft, "prerelease": new.prerelease});
        match self.write(Method::POST, route, &format!("{}/releases", path(repo)), body, Repeat::CheckFirst).await {
            Ok(resp) if resp.status.is_success() => Ok(release_from(&resp.json::<Value>()?)),
            Ok(resp) => Err(refusal(resp, Method::POST)),
            Err(ApiError::Ambiguous { cause, .. }) => self
                .release_by_tag(repo, &new.tag)
                .await?
                .ok_or_else(|| ForgeError::Remote(format!("creating release {} of {repo} failed: {cause}", new.tag))),
            Err(e) => Err(e.into()),
        }
    }

    async fn release_by_tag(&self, repo: &RepoId, tag: &str) -> ForgeResult<Option<Release>> {
        let route = "/repos/{owner}/{repo}/releases/tags/{tag}";
        Ok(match self.get_opt(route, &format!("{}/releases/tags/{}", path(repo), seg(tag))).await? {
            Some(resp) => Some(release_from(&resp.json::<Value>()?)),
            None => None,
        })
    }

    async fn delete_release(&self, repo: &RepoId, id: u64) -> ForgeResult<()> {
        let route = "/repos/{owner}/{repo}/releases/{release_id}";
        let resp =
            self.api.rest(Method::DELETE, route, &format!("{}/releases/{id}", path(repo)), None, Repeat::Safe).await?;
        check(resp, Method::DELETE)?;
        Ok(())
    }
}

fn release_from(v: &Value) -> Release {
    Release {
        id: v["id"].as_u64().unwrap_or_default(),
        tag: v["tag_name"].as_str().unwrap_or_default().into(),
        name: v["name"].as_str().unwrap_or_default().into(),
        body: v["body"].as_str().unwrap_or_default().into(),
        draft: v["draft"].as_bool().unwrap_or(false),
        prerelease: v["prerelease"].as_bool().unwrap_or(false),
        url: v["html_url"].as_str().unwrap_or_default().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_made_relative_to_the_rest_root() {
        let e = api::Endpoints::from_api_url("https://ghe.example.com/api/v3").unwrap();
        let h = r#"<https://ghe.example.com/api/v3/orgs/acme/repos?page=2&per_page=100>; rel="next", <https://ghe.example.com/api/v3/orgs/acme/repos?page=5&per_page=100>; rel="last""#;
        assert_eq!(next_link(h, &e).as_deref(), Some("/orgs/acme/repos?page=2&per_page=100"));
        assert_eq!(next_link(r#"<https://x/y?page=1>; rel="prev""#, &e), None);
    }

    #[test]
    fn path_segments_are_escaped_but_keep_slashes() {
        assert_eq!(seg("convoy/org baseline"), "convoy/org%20baseline");
        assert_eq!(query("acme:convoy/x"), "acme%3Aconvoy%2Fx");
    }
}
