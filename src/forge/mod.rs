//! The forge: where repositories, branches, pull requests, checks, tags and releases live.
//!
//! One trait, two backends: [`local::LocalForge`] (a folder of bare repos, the embedded default
//! and the rehearsal target) and the GitHub backend (next issue). The trait is shaped by what
//! campaigns, rollouts and releases need, so both backends are held to the same contract.
//!
//! Idempotency is the caller's job *through* this trait: every write has a read that tells
//! whether it already happened (`find_pull_requests` before `create_pull_request`,
//! `branch_head` before `update_branch`, `release_by_tag` before `create_release`).

pub mod github;
pub mod local;

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RepoId {
    pub owner: String,
    pub name: String,
    /// `owner/name`, kept so selectors can borrow it without allocating per match.
    #[serde(skip)]
    full: String,
}

impl RepoId {
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        let (owner, name) = (owner.into(), name.into());
        let full = format!("{owner}/{name}");
        RepoId { owner, name, full }
    }
    pub fn full_name(&self) -> String {
        self.full.clone()
    }
    pub fn full_name_ref(&self) -> &str {
        &self.full
    }
}

impl<'de> Deserialize<'de> for RepoId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            owner: String,
            name: String,
        }
        let raw = Raw::deserialize(d)?;
        Ok(RepoId::new(raw.owner, raw.name))
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A repository as the forge lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteRepo {
    pub id: RepoId,
    pub default_branch: String,
    pub topics: Vec<String>,
    pub archived: bool,
    pub fork: bool,
    pub private: bool,
    /// Where to clone from; never contains credentials.
    pub clone_url: String,
    /// The default branch's commit, when the listing can tell it cheaply (the local forge reads
    /// the ref; GitHub's GraphQL listing returns it). A cache that already has this commit needs
    /// no network round trip at all.
    #[serde(default)]
    pub head: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrState {
    Open,
    Closed,
    Merged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub state: PrState,
    pub title: String,
    pub body: String,
    /// Head branch name (same repository).
    pub head: String,
    pub base: String,
    pub head_sha: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub assignees: Vec<String>,
    pub url: String,
    pub merge_commit_sha: Option<String>,
    /// GraphQL node id (GitHub; used to enable auto-merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// When it was opened, merged and closed (merged PRs are closed too): RFC 3339, as GitHub's
    /// `created_at`, `merged_at`, `closed_at`. `None` where a forge did not record it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
}

/// A pull request's review state, GitHub's `reviewDecision`
/// (<https://docs.github.com/en/graphql/reference/enums#pullrequestreviewdecision>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approved,
    ChangesRequested,
    ReviewRequired,
}

/// Whether a pull request can be merged, GitHub's `MergeableState`
/// (<https://docs.github.com/en/graphql/reference/enums#mergeablestate>): `Unknown` while GitHub
/// computes it, and where a forge does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mergeable {
    Mergeable,
    Conflicting,
    Unknown,
}

/// One pull request as `convoy status` reads it ([`Forge::pull_request_statuses`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestStatus {
    pub pr: PullRequest,
    /// The head commit's check runs and statuses folded ([`CheckVerdict::fold`]); `None` when it
    /// has none, or the pull request is not open.
    pub checks: Option<CheckState>,
    pub review: Option<ReviewDecision>,
    pub mergeable: Mergeable,
}

/// What the pull request of [`Forge::revert_pull_request`] says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRevert {
    pub title: String,
    pub body: String,
    pub draft: bool,
}

/// The branch a revert of `pr` is made on: `revert-<number>-<head branch>`, the name GitHub's
/// `revertPullRequest` picks (so a re-run finds the revert it made, on either forge).
pub fn revert_branch(pr: &PullRequest) -> String {
    format!("revert-{}-{}", pr.number, pr.head)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPullRequest {
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
    pub labels: Vec<String>,
    pub reviewers: Vec<String>,
    pub assignees: Vec<String>,
}

/// One update of [`Forge::update_pull_requests`]: the pull request as last read, and what to
/// change.
#[derive(Debug, Clone)]
pub struct PullRequestBatchItem {
    pub repo: RepoId,
    pub pr: PullRequest,
    pub update: PullRequestUpdate,
}

/// [`Forge::pull_request_statuses`] from [`Forge::find_pull_requests`] and
/// [`Forge::check_verdict`], one repository after the other: no review decision, mergeability
/// unknown.
pub(crate) async fn statuses_one_by_one<F: Forge + ?Sized>(
    forge: &F,
    repos: &[RepoId],
    branch: &str,
) -> Vec<(RepoId, ForgeResult<Vec<PullRequestStatus>>)> {
    let mut out = Vec::with_capacity(repos.len());
    for repo in repos {
        let result = async {
            let mut statuses = Vec::new();
            for pr in forge.find_pull_requests(repo, branch).await? {
                let checks = match pr.state {
                    PrState::Open => {
                        let verdict = forge.check_verdict(repo, &pr.head_sha).await?;
                        (!verdict.checks.is_empty()).then_some(verdict.state)
                    }
                    _ => None,
                };
                statuses.push(PullRequestStatus { pr, checks, review: None, mergeable: Mergeable::Unknown });
            }
            Ok(statuses)
        }
        .await;
        out.push((repo.clone(), result));
    }
    out
}

/// `items[n]` for each `n` of `which` through [`Forge::update_pull_request`], `concurrency` at a
/// time; the answers in the order of `which`.
pub(crate) async fn update_one_by_one<F: Forge + ?Sized>(
    forge: &F,
    items: &[PullRequestBatchItem],
    which: Vec<usize>,
    concurrency: usize,
) -> Vec<ForgeResult<()>> {
    use futures_util::StreamExt;
    // By index: a closure over `&PullRequestBatchItem` trips async-trait's lifetimes.
    futures_util::stream::iter(which)
        .map(|n| async move {
            let item = &items[n];
            forge.update_pull_request(&item.repo, item.pr.number, &item.update).await.map(drop)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// Fields left `None` are not changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequestUpdate {
    pub title: Option<String>,
    pub body: Option<String>,
    /// `Open` reopens, `Closed` closes; `Merged` is refused (use `merge_pull_request`).
    pub state: Option<PrState>,
    /// Replaces the label set.
    pub labels: Option<Vec<String>>,
    /// Replaces the assignees.
    pub assignees: Option<Vec<String>>,
    /// Retarget the pull request to this base branch (GitHub: `PATCH /repos/{owner}/{repo}/pulls/{pull_number}`
    /// with `base`; only an open pull request can change its base).
    pub base: Option<String>,
}

/// How a pull request is merged: GitHub's `merge_method` (REST "Merge a pull request") and
/// `mergeMethod` (GraphQL `enablePullRequestAutoMerge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    /// A merge commit with both histories.
    #[default]
    Merge,
    /// The pull request's commits squashed into one commit.
    Squash,
    /// The pull request's commits replayed onto the base branch, one by one.
    Rebase,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub sha: String,
    pub tree: String,
    pub parents: Vec<String>,
    pub message: String,
}

/// One file-level change in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileChange {
    /// `executable`: the mode the file gets (`100755` when true, else `100644`).
    /// `was_executable`: whether the file this write replaces is `100755` (false for a new
    /// file). A forge path that cannot set modes (GitHub's `createCommitOnBranch` takes only
    /// paths and contents) must not carry a write where either is true.
    Write {
        path: String,
        content: Vec<u8>,
        executable: bool,
        was_executable: bool,
    },
    Delete {
        path: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckState {
    Success,
    Pending,
    Failure,
}

/// A commit status (`context` is the check's name), as GitHub's statuses API has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitStatus {
    pub context: String,
    pub state: CheckState,
    #[serde(default)]
    pub description: String,
}

/// Check runs and statuses of one commit folded into one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckVerdict {
    /// `Failure` if any failed, else `Pending` if any is pending, else `Success`
    /// (also when there are no checks at all, as GitHub's combined status would be `pending`
    /// with none: callers that require checks look at `checks.is_empty()`).
    pub state: CheckState,
    pub checks: Vec<CommitStatus>,
}

impl CheckVerdict {
    pub fn fold(checks: Vec<CommitStatus>) -> Self {
        let state = checks.iter().map(|c| c.state).max().unwrap_or(CheckState::Success);
        CheckVerdict { state, checks }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
    /// The commit the tag points at (peeled).
    pub sha: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRelease {
    pub tag: String,
    /// Commit to tag when the tag does not exist yet.
    pub target_sha: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub prerelease: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: u64,
    pub tag: String,
    pub name: String,
    pub body: String,
    pub draft: bool,
    pub prerelease: bool,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeResult {
    pub sha: String,
}

/// One run of a GitHub Actions workflow, as the forge's run history has it.
///
/// Times are the forge's RFC 3339 text. `duration_seconds` is `updated_at - run_started_at` of a
/// completed run: GitHub has no "finished at" on a run, and `updated_at` is the last change,
/// which for a completed run is (within seconds) when it finished. It is the run's wall-clock
/// time, not the billed job minutes. `None` for runs that are not completed, lack a time, or
/// whose times run backwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// `queued`, `in_progress`, `completed`, ...
    pub status: String,
    /// `success`, `failure`, `cancelled`, ... (`None` until completed).
    pub conclusion: Option<String>,
    /// What started it: `schedule`, `push`, `workflow_dispatch`, ...
    pub event: String,
    pub run_started_at: Option<String>,
    pub updated_at: Option<String>,
    pub duration_seconds: Option<u64>,
    /// The commit the run ran on (GitHub's `head_sha`), when the forge says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
}

impl WorkflowRun {
    /// A run from the forge's fields, with `duration_seconds` worked out as documented above.
    pub fn new(
        status: &str,
        conclusion: Option<&str>,
        event: &str,
        run_started_at: Option<&str>,
        updated_at: Option<&str>,
    ) -> Self {
        let parse = |t: Option<&str>| t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        let duration_seconds = match (status, parse(run_started_at), parse(updated_at)) {
            ("completed", Some(start), Some(end)) => u64::try_from((end - start).num_seconds()).ok(),
            _ => None,
        };
        WorkflowRun {
            status: status.to_string(),
            conclusion: conclusion.map(str::to_string),
            event: event.to_string(),
            run_started_at: run_started_at.map(str::to_string),
            updated_at: updated_at.map(str::to_string),
            duration_seconds,
            head_sha: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{0} not found")]
    NotFound(String),
    /// The write conflicts with the forge's state (a PR that is already merged, a tag that exists
    /// at another commit, a merge with conflicts).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("refused: {0}")]
    Invalid(String),
    #[error("git: {0}")]
    Git(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("forge state {path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
    /// An error reported by a remote forge's API (message as the forge gave it).
    #[error("{0}")]
    Remote(String),
    /// A multi-step write stopped part-way or its answer was lost: some steps may have happened.
    /// The caller reads the state back and converges; it must not blindly repeat the write.
    #[error("interrupted: {0}")]
    Partial(String),
}

impl ForgeError {
    pub fn git(context: impl fmt::Display, err: impl fmt::Display) -> Self {
        ForgeError::Git(format!("{context}: {err}"))
    }
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ForgeError::Io { context: context.into(), source }
    }
}

pub type ForgeResult<T> = Result<T, ForgeError>;

/// The refusal every forge gives when asked to move or delete `repo`'s default branch.
pub(crate) fn default_branch_refusal(repo: &RepoId, branch: &str, what: &str) -> ForgeError {
    ForgeError::Invalid(format!(
        "will not {what} `{branch}` of {repo}: it is the repository's default branch, and convoy never writes a default branch (changes reach it only by merging a pull request)"
    ))
}

/// What a run spent on a remote forge's API.
pub use github::api::Usage as ApiUsage;

#[async_trait]
pub trait Forge: Send + Sync {
    /// Short name of the backend, for messages (`local`, `github`).
    fn kind(&self) -> &'static str;

    /// API requests spent so far (remote forges only).
    fn api_usage(&self) -> Option<ApiUsage> {
        None
    }

    /// Username and secret for git over HTTPS, valid for the next minutes (remote forges).
    async fn git_credentials(&self) -> ForgeResult<Option<(String, secrecy::SecretString)>> {
        Ok(None)
    }

    /// Turn on the forge's auto-merge for `pr`, if the repository allows it; `Ok(false)` where it
    /// does not (or the forge has no such feature).
    async fn enable_auto_merge(&self, _repo: &RepoId, _pr: &PullRequest, _method: MergeMethod) -> ForgeResult<bool> {
        Ok(false)
    }

    /// Save what makes the next run cheaper (GitHub: the ETag cache). Called once at the end.
    fn persist_cache(&self) {}

    /// The run will touch only these repositories: credentials may be narrowed to them.
    async fn scope_to(&self, _repos: &[RepoId]) {}

    /// Of `repos`, those the credentials cannot push to (known from the listing), so a run can
    /// refuse them before it starts instead of failing half-way.
    async fn missing_write_access(&self, _repos: &[RepoId]) -> ForgeResult<Vec<RepoId>> {
        Ok(Vec::new())
    }

    /// The most recent runs (at most `limit`, newest first) of the workflow at `workflow_path`
    /// (`.github/workflows/ci.yml`), for cost estimates. `Ok(None)` means this forge keeps no
    /// run history at all (the local forge); `Ok(Some(vec![]))` means it has none for this
    /// workflow (GitHub: the workflow never ran, or is unknown to it).
    async fn workflow_runs(
        &self,
        _repo: &RepoId,
        _workflow_path: &str,
        _limit: usize,
    ) -> ForgeResult<Option<Vec<WorkflowRun>>> {
        Ok(None)
    }

    /// The pull requests whose head is `branch` in each of `repos`, newest first, with what
    /// `convoy status` shows: the head commit's checks, the review decision and mergeability.
    /// One answer per repository, in the order of `repos`; a repository the forge could not read
    /// fails alone. Default: [`Forge::find_pull_requests`] and [`Forge::check_verdict`] per
    /// repository (no review decision, mergeability unknown); GitHub overrides it with one
    /// GraphQL document per 100 repositories.
    async fn pull_request_statuses(
        &self,
        repos: &[RepoId],
        branch: &str,
    ) -> Vec<(RepoId, ForgeResult<Vec<PullRequestStatus>>)> {
        statuses_one_by_one(self, repos, branch).await
    }

    /// Every repository of `owner`, archived ones included (selection filters them).
    async fn list_repos(&self, owner: &str) -> ForgeResult<Vec<RemoteRepo>>;

    /// The commit a branch points at, `None` if the branch does not exist.
    async fn branch_head(&self, repo: &RepoId, branch: &str) -> ForgeResult<Option<String>>;
    async fn commit_info(&self, repo: &RepoId, sha: &str) -> ForgeResult<CommitInfo>;
    /// Create a commit with `parent` as its only parent, applying `changes` to the parent's tree.
    /// Does not move any branch.
    async fn create_commit(
        &self,
        repo: &RepoId,
        parent: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String>;
    /// Compare-and-swap on a branch: commit `changes` on top of `expected_head` (its only
    /// parent) and point `branch` at the new commit **only if `branch` still points at
    /// `expected_head`** when the ref is written. The check and the write are one atomic step on
    /// the forge (local: the ref's lock file with the old value compared under it; GitHub:
    /// `createCommitOnBranch` with `expectedHeadOid`), so of two writers that read the same head
    /// exactly one wins; the other gets [`ForgeError::Conflict`] and must read the branch again.
    /// The branch must exist ([`ForgeError::NotFound`] otherwise). On [`ForgeError::Partial`]
    /// the commit may or may not have landed: read the branch back.
    ///
    /// Unlike [`update_branch`](Self::update_branch) without `force`, which only refuses
    /// non-fast-forwards, this refuses every move it did not expect (a rewound branch too).
    /// Refuses the repository's default branch, as `update_branch` does.
    async fn commit_on_branch(
        &self,
        repo: &RepoId,
        branch: &str,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String>;
    /// [`commit_on_branch`](Self::commit_on_branch) onto the repository's **default branch**,
    /// the same compare-and-swap: only `convoy release run` with `[release] mode = "commit"`
    /// writes a default branch, and only with the version bump a person asked for (every other
    /// write refuses it). A protected default branch answers as the forge does (GitHub: a
    /// `Remote` error naming the rule). Default: refused (`Invalid`), for forges without it.
    async fn commit_on_default_branch(
        &self,
        repo: &RepoId,
        expected_head: &str,
        _changes: &[FileChange],
        _message: &str,
    ) -> ForgeResult<String> {
        let _ = expected_head;
        Err(ForgeError::Invalid(format!("{} cannot commit to the default branch of {repo}", self.kind())))
    }
    /// The content of the file at `path` (`a/b.txt`) in commit `sha`; `None` when the commit has
    /// no such file. A `path` naming a folder is [`ForgeError::Invalid`]; an unknown commit is
    /// [`ForgeError::NotFound`].
    async fn read_file(&self, repo: &RepoId, sha: &str, path: &str) -> ForgeResult<Option<Vec<u8>>>;
    /// Point `branch` at `sha`, creating it if needed. Without `force`, only fast-forwards (an
    /// atomic check on both forges: the ref is written only if it is still where the check saw
    /// it), which is not a compare-and-swap: see [`commit_on_branch`](Self::commit_on_branch).
    ///
    /// Refuses ([`ForgeError::Invalid`], naming the repository) to move the repository's default
    /// branch, whatever the caller asks: convoy proposes changes through pull requests and never
    /// writes a default branch itself (merging a pull request is the forge's own write).
    async fn update_branch(&self, repo: &RepoId, branch: &str, sha: &str, force: bool) -> ForgeResult<()>;
    /// Delete `branch`; deleting a missing branch is not an error (returns `false`).
    ///
    /// Refuses ([`ForgeError::Invalid`]) to delete the repository's default branch.
    async fn delete_branch(&self, repo: &RepoId, branch: &str) -> ForgeResult<bool>;

    /// Pull requests whose head is `branch`, any state, newest first.
    async fn find_pull_requests(&self, repo: &RepoId, branch: &str) -> ForgeResult<Vec<PullRequest>>;
    /// Every open pull request of `repo`, whatever its head, newest first (GitHub:
    /// `GET /repos/{owner}/{repo}/pulls?state=open`).
    async fn open_pull_requests(&self, repo: &RepoId) -> ForgeResult<Vec<PullRequest>>;
    async fn get_pull_request(&self, repo: &RepoId, number: u64) -> ForgeResult<PullRequest>;
    async fn create_pull_request(&self, repo: &RepoId, pr: &NewPullRequest) -> ForgeResult<PullRequest>;
    /// Propose a change from scratch: create branch `pr.head` at `base`, commit `changes` on it
    /// (parent `base`) and open the pull request. The branch must not exist yet.
    ///
    /// The default takes the steps one by one; a forge may do it in fewer requests (GitHub sends
    /// one GraphQL document). On [`ForgeError::Partial`] some steps may have happened.
    async fn open_change(
        &self,
        repo: &RepoId,
        base: &str,
        changes: &[FileChange],
        message: &str,
        pr: &NewPullRequest,
    ) -> ForgeResult<PullRequest> {
        let sha = self.create_commit(repo, base, changes, message).await?;
        self.update_branch(repo, &pr.head, &sha, true).await?;
        self.create_pull_request(repo, pr).await
    }
    async fn update_pull_request(
        &self,
        repo: &RepoId,
        number: u64,
        update: &PullRequestUpdate,
    ) -> ForgeResult<PullRequest>;
    /// Several pull request updates, answered in the same order. The default sends them one by
    /// one, `concurrency` at a time; GitHub packs the ones it can into GraphQL documents of
    /// several mutations, one paced write for many pull requests.
    async fn update_pull_requests(&self, items: &[PullRequestBatchItem], concurrency: usize) -> Vec<ForgeResult<()>> {
        update_one_by_one(self, items, (0..items.len()).collect(), concurrency).await
    }
    async fn merge_pull_request(&self, repo: &RepoId, number: u64, method: MergeMethod) -> ForgeResult<MergeResult>;

    /// Open a pull request that reverts the merged pull request `pr`, as GitHub's
    /// `revertPullRequest` mutation does
    /// (<https://docs.github.com/en/graphql/reference/mutations#revertpullrequest>): a new branch
    /// [`revert_branch`]`(pr)` off the head of `pr.base`, with one commit (parent: that head)
    /// whose tree takes back what the merge brought: the three-way merge of the base's head
    /// (ours) and the base as it was before the merge (theirs) over the merged commit (the
    /// merge base). Where nothing else changed since, that tree is the pre-merge tree exactly.
    /// The commit message is `Revert "<pr title>"` and `This reverts commit <sha>.`; the pull
    /// request gets `revert.title`, `revert.body` and `revert.draft`.
    ///
    /// Errors: `Invalid` when `pr` is not merged; `Conflict` when the revert does not apply
    /// cleanly or would change nothing (its changes are gone already), in which case nothing is
    /// created, or when a pull request uses the revert branch already.
    async fn revert_pull_request(
        &self,
        repo: &RepoId,
        pr: &PullRequest,
        revert: &NewRevert,
    ) -> ForgeResult<PullRequest>;

    async fn set_commit_status(&self, repo: &RepoId, sha: &str, status: &CommitStatus) -> ForgeResult<()>;
    async fn check_verdict(&self, repo: &RepoId, sha: &str) -> ForgeResult<CheckVerdict>;

    async fn list_tags(&self, repo: &RepoId) -> ForgeResult<Vec<Tag>>;
    /// Create a lightweight tag; creating an identical tag again is a no-op, a tag that exists at
    /// another commit is a `Conflict`.
    async fn create_tag(&self, repo: &RepoId, name: &str, sha: &str) -> ForgeResult<()>;
    async fn delete_tag(&self, repo: &RepoId, name: &str) -> ForgeResult<bool>;

    async fn create_release(&self, repo: &RepoId, release: &NewRelease) -> ForgeResult<Release>;
    async fn release_by_tag(&self, repo: &RepoId, tag: &str) -> ForgeResult<Option<Release>>;
    async fn delete_release(&self, repo: &RepoId, id: u64) -> ForgeResult<()>;
}
