//! The local forge: a folder of bare git repositories plus convoy's forge state beside the git data.
//!
//! Layout (documented in docs/local-forge.md):
//!
//! ```text
//! <root>/<owner>/<name>.git/                     a bare repository; HEAD names the default branch
//! <root>/<owner>/<name>.git/convoy-forge.json    pull requests, statuses, releases, repo metadata
//! <root>/<owner>/<name>.git/convoy-forge.lock    taken (flock) around every read-modify-write
//! ```
//!
//! Branches and tags are real refs; commits are written with gix straight into the object
//! database; merges are real three-way merges (gix-merge). The state file is rewritten atomically
//! (temp file in the same folder, fsync, rename), so a crash leaves the old or the new state, never
//! half of one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use gix::bstr::ByteSlice;
use serde::{Deserialize, Serialize};

use super::{
    CheckVerdict, CommitInfo, CommitStatus, FileChange, Forge, ForgeError, ForgeResult, MergeMethod, MergeResult,
    Mergeable, NewPullRequest, NewRelease, NewRevert, PrState, PullRequest, PullRequestStatus, PullRequestUpdate,
    Release, RemoteRepo, RepoId, Tag,
};

const STATE_FILE: &str = "convoy-forge.json";
const LOCK_FILE: &str = "convoy-forge.lock";
const STATE_FORMAT: u32 = 1;

/// Repository metadata the forge reports (GitHub has these on the repository object).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RepoMeta {
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub fork: bool,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub description: String,
}

/// The on-disk state of one repository (`convoy-forge.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoState {
    #[serde(default = "format_one")]
    format: u32,
    #[serde(default)]
    meta: RepoMeta,
    /// Next PR number (PRs and issues share numbering on GitHub; here only PRs exist).
    /// Absent in a hand-written file: derived from the PRs present.
    #[serde(default)]
    next_number: u64,
    #[serde(default)]
    pull_requests: Vec<PullRequest>,
    /// Commit statuses by commit sha, latest per context wins.
    #[serde(default)]
    statuses: BTreeMap<String, Vec<CommitStatus>>,
    #[serde(default)]
    releases: Vec<Release>,
    #[serde(default = "one")]
    next_release_id: u64,
    /// The base branch's head just before each merge, by pull request number: what a revert
    /// takes the base back to (a rebase merge leaves no merge commit whose parent says it).
    #[serde(default)]
    merged_onto: BTreeMap<u64, String>,
}

fn one() -> u64 {
    1
}

fn format_one() -> u32 {
    STATE_FORMAT
}

impl Default for RepoState {
    fn default() -> Self {
        RepoState {
            format: STATE_FORMAT,
            meta: RepoMeta::default(),
            next_number: 1,
            pull_requests: Vec::new(),
            statuses: BTreeMap::new(),
            releases: Vec::new(),
            next_release_id: 1,
            merged_onto: BTreeMap::new(),
        }
    }
}

/// Who the local forge writes commits as.
const BOT_NAME: &str = "convoy";
const BOT_EMAIL: &str = "convoy@localhost";

#[derive(Clone)]
pub struct LocalForge {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    clone_url: Option<String>,
    /// Reported for a repository whose HEAD names no branch.
    fallback_branch: String,
}

impl LocalForge {
    /// `root` holds `<owner>/<name>.git`; `clone_url` (with `{owner}` and `{name}`) overrides the
    /// `file://` URL, e.g. to clone through a `git daemon` serving `root`.
    pub fn new(root: impl Into<PathBuf>, clone_url: Option<String>) -> Self {
        Self::with_fallback_branch(root, clone_url, "main")
    }

    /// Like [`new`](Self::new), reporting `fallback_branch` for repositories whose HEAD names none
    /// (the manifest's `[org] default_branch`).
    pub fn with_fallback_branch(root: impl Into<PathBuf>, clone_url: Option<String>, fallback_branch: &str) -> Self {
        let inner = Inner { root: root.into(), clone_url, fallback_branch: fallback_branch.to_string() };
        LocalForge { inner: Arc::new(inner) }
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Run blocking git and file work off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> ForgeResult<T> + Send + 'static,
    ) -> ForgeResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| ForgeError::Invalid(format!("local forge task failed: {e}")))?
    }

    /// Create a repository with one commit holding `files` (administration, used by `demo` and
    /// tests; GitHub's equivalent is creating a repo in the web UI).
    pub fn create_repo(
        &self,
        id: &RepoId,
        default_branch: &str,
        files: &[(&str, &[u8])],
        meta: &RepoMeta,
    ) -> ForgeResult<String> {
        let inner = &self.inner;
        let path = inner.repo_path(id);
        if path.exists() {
            return Err(ForgeError::Conflict(format!("{id} already exists")));
        }
        std::fs::create_dir_all(&path).map_err(|e| ForgeError::io(format!("creating {}", path.display()), e))?;
        let repo = gix::init_bare(&path).map_err(|e| ForgeError::git(format!("creating {id}"), e))?;
        std::fs::write(path.join("HEAD"), format!("ref: refs/heads/{default_branch}\n"))
            .map_err(|e| ForgeError::io(format!("writing HEAD of {id}"), e))?;
        let empty = repo.empty_tree().id;
        let changes: Vec<FileChange> = files
            .iter()
            .map(|(p, c)| FileChange::Write {
                path: (*p).to_string(),
                content: c.to_vec(),
                executable: false,
                was_executable: false,
            })
            .collect();
        let tree = write_tree(&repo, empty, &changes)?;
        let sha = write_commit(&repo, tree, &[], "Initial commit")?;
        repo.reference(
            format!("refs/heads/{default_branch}"),
            sha,
            gix::refs::transaction::PreviousValue::MustNotExist,
            "convoy: create",
        )
        .map_err(|e| ForgeError::git(format!("creating branch of {id}"), e))?;
        inner.with_state(id, |s| {
            s.meta = meta.clone();
            Ok(())
        })?;
        Ok(sha.to_string())
    }

    /// Replace a repository's metadata (topics, archived flag...).
    pub fn set_meta(&self, id: &RepoId, meta: &RepoMeta) -> ForgeResult<()> {
        self.inner.with_state(id, |s| {
            s.meta = meta.clone();
            Ok(())
        })
    }

    /// Commit `changes` on top of `branch` and move it (administration: what a developer pushing
    /// to the repo would do; used by demo and tests to move a default branch).
    pub fn push_commit(&self, id: &RepoId, branch: &str, changes: &[FileChange], message: &str) -> ForgeResult<String> {
        let inner = &self.inner;
        let repo = inner.open(id)?;
        let head = inner
            .branch_head_sync(&repo, branch)?
            .ok_or_else(|| ForgeError::NotFound(format!("branch {branch} of {id}")))?;
        let sha = inner.create_commit_sync(&repo, &head, changes, message)?;
        inner.set_ref(&repo, &format!("refs/heads/{branch}"), &sha)?;
        Ok(sha)
    }
}

impl Inner {
    fn repo_path(&self, id: &RepoId) -> PathBuf {
        self.root.join(&id.owner).join(format!("{}.git", id.name))
    }

    fn open(&self, id: &RepoId) -> ForgeResult<gix::Repository> {
        let path = self.repo_path(id);
        if !path.is_dir() {
            return Err(ForgeError::NotFound(format!("repository {id}")));
        }
        gix::open(&path).map_err(|e| ForgeError::git(format!("opening {id}"), e))
    }

    /// The branch `HEAD` names (GitHub's "default branch"), or the fallback branch.
    fn default_branch(&self, id: &RepoId) -> String {
        let head = std::fs::read_to_string(self.repo_path(id).join("HEAD")).unwrap_or_default();
        head.trim().strip_prefix("ref: refs/heads/").unwrap_or(&self.fallback_branch).to_string()
    }

    /// Commit `changes` on `expected` and move `branch` there only if it is still at
    /// `expected` (the ref lock compares the old value): `commit_on_branch`'s compare-and-swap.
    fn commit_on_branch_sync(
        &self,
        id: &RepoId,
        branch: &str,
        expected: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let repo = self.open(id)?;
        let name = format!("refs/heads/{branch}");
        let Some(current) = self.branch_head_sync(&repo, branch)? else {
            return Err(ForgeError::NotFound(format!("branch {branch} of {id}")));
        };
        if current != expected {
            return Err(ForgeError::Conflict(format!("{branch} of {id} is at {current}, not at {expected}")));
        }
        let sha = self.create_commit_sync(&repo, expected, changes, message)?;
        let previous =
            gix::refs::transaction::PreviousValue::MustExistAndMatch(gix::refs::Target::Object(parse_oid(expected)?));
        self.set_ref_if(&repo, &name, &sha, previous)?;
        Ok(sha)
    }

    /// Refuse to write `branch` if it is `id`'s default branch.
    fn refuse_default_branch(&self, id: &RepoId, branch: &str, what: &str) -> ForgeResult<()> {
        if self.default_branch(id) == branch {
            return Err(super::default_branch_refusal(id, branch, what));
        }
        Ok(())
    }

    fn clone_url(&self, id: &RepoId) -> String {
        match &self.clone_url {
            Some(t) => t.replace("{owner}", &id.owner).replace("{name}", &id.name),
            None => {
                let path = self.repo_path(id);
                let abs = std::path::absolute(&path).unwrap_or(path);
                format!("file://{}", abs.display())
            }
        }
    }

    /// Read-modify-write the state of `id` under an exclusive lock; written only if `f` succeeds.
    fn with_state<T>(&self, id: &RepoId, f: impl FnOnce(&mut RepoState) -> ForgeResult<T>) -> ForgeResult<T> {
        let dir = self.repo_path(id);
        if !dir.is_dir() {
            return Err(ForgeError::NotFound(format!("repository {id}")));
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(|e| ForgeError::io(format!("opening lock of {id}"), e))?;
        lock.lock().map_err(|e| ForgeError::io(format!("locking {id}"), e))?;
        let mut state = read_state(&dir)?;
        let before = serde_json::to_vec_pretty(&state).unwrap_or_default();
        let out = f(&mut state)?;
        let after = serde_json::to_vec_pretty(&state).map_err(|e| ForgeError::Invalid(e.to_string()))?;
        if after != before {
            crate::workspace::write::write_atomically(&dir.join(STATE_FILE), &after)
                .map_err(|e| ForgeError::io(format!("writing state of {id}"), e))?;
        }
        drop(lock);
        Ok(out)
    }

    fn read_only<T>(&self, id: &RepoId, f: impl FnOnce(&RepoState) -> T) -> ForgeResult<T> {
        let dir = self.repo_path(id);
        if !dir.is_dir() {
            return Err(ForgeError::NotFound(format!("repository {id}")));
        }
        Ok(f(&read_state(&dir)?))
    }

    /// The PRs of `id` with open ones brought in line with their head branch, as GitHub does:
    /// the head sha follows pushes, and deleting the head branch closes the PR.
    fn synced_pulls(&self, id: &RepoId) -> ForgeResult<Vec<PullRequest>> {
        let git = self.open(id)?;
        let pulls = self.read_only(id, |s| s.pull_requests.clone())?;
        let mut changes = Vec::new();
        for pr in pulls.iter().filter(|p| p.state == PrState::Open) {
            let live = self.branch_head_sync(&git, &pr.head)?;
            if live.as_deref() != Some(pr.head_sha.as_str()) {
                changes.push((pr.number, live));
            }
        }
        if changes.is_empty() {
            return Ok(pulls);
        }
        self.with_state(id, |s| {
            for (number, live) in &changes {
                if let Some(pr) = s.pull_requests.iter_mut().find(|p| p.number == *number) {
                    match live {
                        Some(sha) => pr.head_sha = sha.clone(),
                        None => pr.state = PrState::Closed,
                    }
                }
            }
            Ok(s.pull_requests.clone())
        })
    }

    fn branch_head_sync(&self, repo: &gix::Repository, branch: &str) -> ForgeResult<Option<String>> {
        let name = format!("refs/heads/{branch}");
        match repo.try_find_reference(name.as_str()).map_err(|e| ForgeError::git(&name, e))? {
            None => Ok(None),
            Some(mut r) => {
                let id = r.peel_to_id().map_err(|e| ForgeError::git(&name, e))?;
                Ok(Some(id.to_string()))
            }
        }
    }

    fn set_ref(&self, repo: &gix::Repository, name: &str, sha: &str) -> ForgeResult<()> {
        self.set_ref_if(repo, name, sha, gix::refs::transaction::PreviousValue::Any)
    }

    /// Write ref `name` only if it is as `previous` says, compared under the ref's lock file:
    /// a ref that moved is a [`ForgeError::Conflict`], never overwritten.
    fn set_ref_if(
        &self,
        repo: &gix::Repository,
        name: &str,
        sha: &str,
        previous: gix::refs::transaction::PreviousValue,
    ) -> ForgeResult<()> {
        use gix::refs::transaction::PreviousValue;
        let id = parse_oid(sha)?;
        let checked = !matches!(previous, PreviousValue::Any);
        with_ref_locks(repo, name, || {
            repo.reference(name, id, previous.clone(), "convoy").map(|_| ()).map_err(|e| {
                // gix-ref words a failed comparison (made while it holds the ref's lock) as
                // `… changed to …`, `… already exists with content …` or `… must exist with
                // content …`; a held lock or an I/O failure stays a git error, which
                // with_ref_locks looks at.
                let text = error_chain(&e);
                let moved = ["changed to", "already exists with content", "must exist with content"];
                if checked && moved.iter().any(|m| text.contains(m)) {
                    ForgeError::Conflict(format!("{name} moved: {text}"))
                } else {
                    ForgeError::git(name, e)
                }
            })
        })
    }

    fn create_commit_sync(
        &self,
        repo: &gix::Repository,
        parent: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let parent = parse_oid(parent)?;
        let parent_commit = repo.find_commit(parent).map_err(|e| ForgeError::git(format!("commit {parent}"), e))?;
        let base_tree = parent_commit.tree_id().map_err(|e| ForgeError::git("tree", e))?.detach();
        let tree = write_tree(repo, base_tree, changes)?;
        Ok(write_commit(repo, tree, &[parent], message)?.to_string())
    }

    fn pr_url(&self, id: &RepoId, number: u64) -> String {
        format!("local:{id}#{number}")
    }

    /// Merge `pr` into its base branch with `method`; returns the new base head.
    /// Whether `pr` merges into its base without conflicts: the three-way merge `merge_sync`
    /// would do, kept in memory (no object or ref is written).
    fn mergeable_sync(&self, id: &RepoId, pr: &PullRequest) -> ForgeResult<Mergeable> {
        let repo = self.open(id)?;
        let (Some(base), Some(head)) =
            (self.branch_head_sync(&repo, &pr.base)?, self.branch_head_sync(&repo, &pr.head)?)
        else {
            return Ok(Mergeable::Unknown);
        };
        let options = repo.tree_merge_options().map_err(|e| ForgeError::git("merge options", e))?;
        let outcome = repo
            .merge_commits(parse_oid(&base)?, parse_oid(&head)?, Default::default(), options.into())
            .map_err(|e| ForgeError::git(format!("merging #{}", pr.number), e))?;
        Ok(if outcome.tree_merge.has_unresolved_conflicts(gix::merge::tree::TreatAsUnresolved::git()) {
            Mergeable::Conflicting
        } else {
            Mergeable::Mergeable
        })
    }

    fn merge_sync(&self, id: &RepoId, pr: &PullRequest, method: MergeMethod) -> ForgeResult<String> {
        let repo = self.open(id)?;
        let base = self
            .branch_head_sync(&repo, &pr.base)?
            .ok_or_else(|| ForgeError::NotFound(format!("base branch {} of {id}", pr.base)))?;
        let head = self
            .branch_head_sync(&repo, &pr.head)?
            .ok_or_else(|| ForgeError::Conflict(format!("head branch {} of {id} is gone", pr.head)))?;
        let (base_id, head_id) = (parse_oid(&base)?, parse_oid(&head)?);
        let conflict = || ForgeError::Conflict(format!("pull request #{} of {id} has merge conflicts", pr.number));
        let new_head = match method {
            MergeMethod::Merge | MergeMethod::Squash => {
                let options = repo.tree_merge_options().map_err(|e| ForgeError::git("merge options", e))?;
                let mut outcome = repo
                    .merge_commits(base_id, head_id, Default::default(), options.into())
                    .map_err(|e| ForgeError::git(format!("merging #{}", pr.number), e))?;
                if outcome.tree_merge.has_unresolved_conflicts(gix::merge::tree::TreatAsUnresolved::git()) {
                    return Err(conflict());
                }
                let tree =
                    outcome.tree_merge.tree.write().map_err(|e| ForgeError::git("writing merged tree", e))?.detach();
                if method == MergeMethod::Merge {
                    let msg =
                        format!("Merge pull request #{} from {}/{}\n\n{}", pr.number, id.owner, pr.head, pr.title);
                    write_commit(&repo, tree, &[base_id, head_id], &msg)?
                } else {
                    write_commit(&repo, tree, &[base_id], &format!("{} (#{})\n\n{}", pr.title, pr.number, pr.body))?
                }
            }
            MergeMethod::Rebase => {
                // Replay each commit of the PR (oldest first) onto the base, as GitHub's rebase merge.
                let merge_base = repo
                    .merge_base(base_id, head_id)
                    .map_err(|e| ForgeError::git("merge base", e))?
                    .ok_or_else(|| {
                        ForgeError::Conflict(format!(
                            "pull request #{} of {id} shares no history with {}",
                            pr.number, pr.base
                        ))
                    })?
                    .detach();
                let mut commits = Vec::new();
                let mut cursor = head_id;
                while cursor != merge_base {
                    let c = repo.find_commit(cursor).map_err(|e| ForgeError::git("walk", e))?;
                    let parent = c.parent_ids().next().map(|p| p.detach()).ok_or_else(conflict)?;
                    commits.push((cursor, parent));
                    cursor = parent;
                }
                let mut onto = base_id;
                for (commit, parent) in commits.into_iter().rev() {
                    let tree_of = |oid| -> ForgeResult<gix::ObjectId> {
                        Ok(repo
                            .find_commit(oid)
                            .map_err(|e| ForgeError::git("commit", e))?
                            .tree_id()
                            .map_err(|e| ForgeError::git("tree", e))?
                            .detach())
                    };
                    let options = repo.tree_merge_options().map_err(|e| ForgeError::git("merge options", e))?;
                    let mut outcome = repo
                        .merge_trees(tree_of(parent)?, tree_of(onto)?, tree_of(commit)?, Default::default(), options)
                        .map_err(|e| ForgeError::git("rebase", e))?;
                    if outcome.has_unresolved_conflicts(gix::merge::tree::TreatAsUnresolved::git()) {
                        return Err(conflict());
                    }
                    let tree = outcome.tree.write().map_err(|e| ForgeError::git("writing tree", e))?.detach();
                    let msg = repo
                        .find_commit(commit)
                        .map_err(|e| ForgeError::git("commit", e))?
                        .message_raw_sloppy()
                        .to_str_lossy()
                        .into_owned();
                    onto = write_commit(&repo, tree, &[onto], &msg)?;
                }
                onto
            }
        };
        // Only fast-forward the base: if it moved while we merged, the merge is refused, not lost.
        repo.reference(
            format!("refs/heads/{}", pr.base),
            new_head,
            gix::refs::transaction::PreviousValue::MustExistAndMatch(gix::refs::Target::Object(base_id)),
            format!("convoy: merge #{}", pr.number),
        )
        .map_err(|e| ForgeError::Conflict(format!("base branch moved during merge: {e}")))?;
        Ok(new_head.to_string())
    }
}

impl Inner {
    /// The revert commit of merged `pr` on top of its base's head, and that head: see
    /// [`Forge::revert_pull_request`]. Writes objects only (no ref).
    fn revert_commit_sync(&self, id: &RepoId, pr: &PullRequest) -> ForgeResult<(String, String)> {
        let merged = pr
            .merge_commit_sha
            .as_deref()
            .filter(|_| pr.state == PrState::Merged)
            .ok_or_else(|| ForgeError::Invalid(format!("pull request #{} of {id} is not merged", pr.number)))?;
        let repo = self.open(id)?;
        let head = self
            .branch_head_sync(&repo, &pr.base)?
            .ok_or_else(|| ForgeError::NotFound(format!("base branch {} of {id}", pr.base)))?;
        let merged_id = parse_oid(merged)?;
        let onto = match self.read_only(id, |s| s.merged_onto.get(&pr.number).cloned())? {
            Some(sha) => parse_oid(&sha)?,
            // Merged before convoy recorded it: a merge or squash commit's first parent.
            None => repo
                .find_commit(merged_id)
                .map_err(|e| ForgeError::git(format!("commit {merged}"), e))?
                .parent_ids()
                .next()
                .map(|p| p.detach())
                .ok_or_else(|| ForgeError::Invalid(format!("merge commit {merged} of {id} has no parent")))?,
        };
        let tree_of = |oid: gix::ObjectId| -> ForgeResult<gix::ObjectId> {
            Ok(repo
                .find_commit(oid)
                .map_err(|e| ForgeError::git(format!("commit {oid}"), e))?
                .tree_id()
                .map_err(|e| ForgeError::git("tree", e))?
                .detach())
        };
        let head_id = parse_oid(&head)?;
        let options = repo.tree_merge_options().map_err(|e| ForgeError::git("merge options", e))?;
        // git revert: merge base = the merged commit, ours = the base now, theirs = before.
        let mut outcome = repo
            .merge_trees(tree_of(merged_id)?, tree_of(head_id)?, tree_of(onto)?, Default::default(), options)
            .map_err(|e| ForgeError::git(format!("reverting #{}", pr.number), e))?;
        if outcome.has_unresolved_conflicts(gix::merge::tree::TreatAsUnresolved::git()) {
            let paths: Vec<String> = outcome.conflicts.iter().map(|c| c.ours.location().to_string()).collect();
            return Err(ForgeError::Conflict(format!(
                "reverting pull request #{} of {id} conflicts with later changes to {}",
                pr.number,
                paths.join(", ")
            )));
        }
        let tree = outcome.tree.write().map_err(|e| ForgeError::git("writing tree", e))?.detach();
        // As GitHub refuses a revert that would change nothing (reverted already, or the
        // content changed since): no empty revert commit.
        if tree == tree_of(head_id)? {
            return Err(ForgeError::Conflict(format!(
                "pull request #{} of {id} has nothing left to revert: its changes are no longer on {}",
                pr.number, pr.base
            )));
        }
        let message = format!("Revert \"{}\"\n\nThis reverts commit {merged}.\n", pr.title);
        Ok((write_commit(&repo, tree, &[head_id], &message)?.to_string(), head))
    }
}

/// An error and its sources, one message after the other.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn parse_oid(sha: &str) -> ForgeResult<gix::ObjectId> {
    gix::ObjectId::from_hex(sha.as_bytes()).map_err(|e| ForgeError::Invalid(format!("`{sha}` is not a commit id: {e}")))
}

fn read_state(dir: &Path) -> ForgeResult<RepoState> {
    let path = dir.join(STATE_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let state: RepoState = serde_json::from_slice(&bytes)
                .map_err(|e| ForgeError::Corrupt { path: path.display().to_string(), reason: e.to_string() })?;
            let mut state = state;
            if state.next_number == 0 {
                state.next_number = state.pull_requests.iter().map(|p| p.number).max().unwrap_or(0) + 1;
            }
            if state.format != STATE_FORMAT {
                return Err(ForgeError::Corrupt {
                    path: path.display().to_string(),
                    reason: format!("format {} is not the supported format {STATE_FORMAT}", state.format),
                });
            }
            Ok(state)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RepoState::default()),
        Err(e) => Err(ForgeError::io(format!("reading {}", path.display()), e)),
    }
}

fn signature() -> gix::actor::Signature {
    gix::actor::Signature { name: BOT_NAME.into(), email: BOT_EMAIL.into(), time: gix::date::Time::now_utc() }
}

fn write_tree(repo: &gix::Repository, base_tree: gix::ObjectId, changes: &[FileChange]) -> ForgeResult<gix::ObjectId> {
    crate::git_tree::write_tree(repo, base_tree, changes).map_err(ForgeError::Git)
}

fn write_commit(
    repo: &gix::Repository,
    tree: gix::ObjectId,
    parents: &[gix::ObjectId],
    message: &str,
) -> ForgeResult<gix::ObjectId> {
    let sig = signature();
    let commit = gix::objs::Commit {
        tree,
        parents: parents.iter().copied().collect(),
        author: sig.clone(),
        committer: sig,
        encoding: None,
        message: message.into(),
        extra_headers: Vec::new(),
    };
    Ok(repo.write_object(&commit).map_err(|e| ForgeError::git("writing commit", e))?.detach())
}

fn latest_statuses(all: &[CommitStatus]) -> Vec<CommitStatus> {
    // Later statuses for the same context replace earlier ones, as on GitHub.
    let mut by_context: BTreeMap<&str, &CommitStatus> = BTreeMap::new();
    for s in all {
        by_context.insert(&s.context, s);
    }
    by_context.into_values().cloned().collect()
}

#[async_trait]
impl Forge for LocalForge {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn list_repos(&self, owner: &str) -> ForgeResult<Vec<RemoteRepo>> {
        let owner = owner.to_string();
        self.blocking(move |inner| {
            let dir = inner.root.join(&owner);
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ForgeError::NotFound(format!("owner `{owner}` (no folder {})", dir.display())));
                }
                Err(e) => return Err(ForgeError::io(format!("listing {}", dir.display()), e)),
            };
            let mut repos = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| ForgeError::io("listing", e))?;
                let file_name = entry.file_name();
                let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".git")) else { continue };
                if !entry.path().is_dir() {
                    continue;
                }
                let id = RepoId::new(owner.clone(), name);
                let default_branch = inner.default_branch(&id);
                let meta = read_state(&entry.path())?.meta;
                // A repository that cannot be opened still lists; its fetch reports the problem.
                let head = gix::open(entry.path())
                    .ok()
                    .and_then(|git| inner.branch_head_sync(&git, &default_branch).ok().flatten());
                repos.push(RemoteRepo {
                    head,
                    clone_url: inner.clone_url(&id),
                    id,
                    default_branch,
                    topics: meta.topics,
                    archived: meta.archived,
                    fork: meta.fork,
                    private: meta.private,
                });
            }
            repos.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(repos)
        })
        .await
    }

    async fn branch_head(&self, repo: &RepoId, branch: &str) -> ForgeResult<Option<String>> {
        let (id, branch) = (repo.clone(), branch.to_string());
        self.blocking(move |inner| inner.branch_head_sync(&inner.open(&id)?, &branch)).await
    }

    async fn commit_info(&self, repo: &RepoId, sha: &str) -> ForgeResult<CommitInfo> {
        let (id, sha) = (repo.clone(), sha.to_string());
        self.blocking(move |inner| {
            let repo = inner.open(&id)?;
            let oid = parse_oid(&sha)?;
            let c = repo.find_commit(oid).map_err(|_| ForgeError::NotFound(format!("commit {sha} in {id}")))?;
            Ok(CommitInfo {
                sha,
                tree: c.tree_id().map_err(|e| ForgeError::git("tree", e))?.to_string(),
                parents: c.parent_ids().map(|p| p.to_string()).collect(),
                message: c.message_raw_sloppy().to_str_lossy().into_owned(),
            })
        })
        .await
    }

    async fn create_commit(
        &self,
        repo: &RepoId,
        parent: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let (id, parent, changes, message) = (repo.clone(), parent.to_string(), changes.to_vec(), message.to_string());
        self.blocking(move |inner| inner.create_commit_sync(&inner.open(&id)?, &parent, &changes, &message)).await
    }

    async fn update_branch(&self, repo: &RepoId, branch: &str, sha: &str, force: bool) -> ForgeResult<()> {
        let (id, branch, sha) = (repo.clone(), branch.to_string(), sha.to_string());
        self.blocking(move |inner| {
            let repo = inner.open(&id)?;
            inner.refuse_default_branch(&id, &branch, "move")?;
            let target = parse_oid(&sha)?;
            if repo.find_commit(target).is_err() {
                return Err(ForgeError::Invalid(format!("commit {sha} does not exist in {id}")));
            }
            let name = format!("refs/heads/{branch}");
            if force {
                return inner.set_ref(&repo, &name, &sha);
            }
            // The fast-forward check holds only for the value it looked at: the ref is written
            // with that value as its expected previous one, so a move in between is a conflict.
            use gix::refs::transaction::PreviousValue;
            let previous = match inner.branch_head_sync(&repo, &branch)? {
                Some(current) => {
                    let current = parse_oid(&current)?;
                    let base = repo.merge_base(current, target).ok().flatten().map(|b| b.detach());
                    if base != Some(current) {
                        return Err(ForgeError::Conflict(format!(
                            "updating {branch} of {id} to {sha} is not a fast-forward"
                        )));
                    }
                    PreviousValue::MustExistAndMatch(gix::refs::Target::Object(current))
                }
                None => PreviousValue::MustNotExist,
            };
            inner.set_ref_if(&repo, &name, &sha, previous)
        })
        .await
    }

    async fn commit_on_branch(
        &self,
        repo: &RepoId,
        branch: &str,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let (id, branch, expected, changes, message) =
            (repo.clone(), branch.to_string(), expected_head.to_string(), changes.to_vec(), message.to_string());
        self.blocking(move |inner| {
            inner.refuse_default_branch(&id, &branch, "move")?;
            inner.commit_on_branch_sync(&id, &branch, &expected, &changes, &message)
        })
        .await
    }

    async fn commit_on_default_branch(
        &self,
        repo: &RepoId,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let (id, expected, changes, message) =
            (repo.clone(), expected_head.to_string(), changes.to_vec(), message.to_string());
        self.blocking(move |inner| {
            let branch = inner.default_branch(&id);
            inner.commit_on_branch_sync(&id, &branch, &expected, &changes, &message)
        })
        .await
    }

    async fn read_file(&self, repo: &RepoId, sha: &str, path: &str) -> ForgeResult<Option<Vec<u8>>> {
        let (id, sha, path) = (repo.clone(), sha.to_string(), path.to_string());
        self.blocking(move |inner| {
            let repo = inner.open(&id)?;
            let oid = parse_oid(&sha)?;
            let commit = repo.find_commit(oid).map_err(|_| ForgeError::NotFound(format!("commit {sha} in {id}")))?;
            let tree = commit.tree().map_err(|e| ForgeError::git(format!("tree of {sha}"), e))?;
            let Some(entry) =
                tree.lookup_entry_by_path(&path).map_err(|e| ForgeError::git(format!("{path} at {sha}"), e))?
            else {
                return Ok(None);
            };
            if !entry.mode().is_blob() {
                return Err(ForgeError::Invalid(format!("{path} at {sha} of {id} is not a file")));
            }
            let blob = repo.find_blob(entry.oid()).map_err(|e| ForgeError::git(format!("{path} at {sha}"), e))?;
            Ok(Some(blob.data.clone()))
        })
        .await
    }

    async fn delete_branch(&self, repo: &RepoId, branch: &str) -> ForgeResult<bool> {
        let (id, branch) = (repo.clone(), branch.to_string());
        self.blocking(move |inner| {
            let repo = inner.open(&id)?;
            inner.refuse_default_branch(&id, &branch, "delete")?;
            let name = format!("refs/heads/{branch}");
            match repo.try_find_reference(name.as_str()).map_err(|e| ForgeError::git(&name, e))? {
                None => Ok(false),
                Some(r) => {
                    with_ref_locks(&repo, &name, || {
                        r.clone().delete().map_err(|e| ForgeError::git(format!("deleting {name}"), e))
                    })?;
                    Ok(true)
                }
            }
        })
        .await
    }

    async fn find_pull_requests(&self, repo: &RepoId, branch: &str) -> ForgeResult<Vec<PullRequest>> {
        let (id, branch) = (repo.clone(), branch.to_string());
        self.blocking(move |inner| {
            let mut prs: Vec<_> = inner.synced_pulls(&id)?.into_iter().filter(|p| p.head == branch).collect();
            prs.sort_by_key(|p| std::cmp::Reverse(p.number));
            Ok(prs)
        })
        .await
    }

    async fn open_pull_requests(&self, repo: &RepoId) -> ForgeResult<Vec<PullRequest>> {
        let id = repo.clone();
        self.blocking(move |inner| {
            let mut prs: Vec<_> = inner.synced_pulls(&id)?.into_iter().filter(|p| p.state == PrState::Open).collect();
            prs.sort_by_key(|p| std::cmp::Reverse(p.number));
            Ok(prs)
        })
        .await
    }

    async fn get_pull_request(&self, repo: &RepoId, number: u64) -> ForgeResult<PullRequest> {
        let id = repo.clone();
        self.blocking(move |inner| {
            inner
                .synced_pulls(&id)?
                .into_iter()
                .find(|p| p.number == number)
                .ok_or_else(|| ForgeError::NotFound(format!("pull request #{number} of {id}")))
        })
        .await
    }

    async fn create_pull_request(&self, repo: &RepoId, pr: &NewPullRequest) -> ForgeResult<PullRequest> {
        let (id, new) = (repo.clone(), pr.clone());
        self.blocking(move |inner| {
            let git = inner.open(&id)?;
            let head_sha = inner
                .branch_head_sync(&git, &new.head)?
                .ok_or_else(|| ForgeError::Invalid(format!("head branch {} does not exist in {id}", new.head)))?;
            if inner.branch_head_sync(&git, &new.base)?.is_none() {
                return Err(ForgeError::Invalid(format!("base branch {} does not exist in {id}", new.base)));
            }
            inner.with_state(&id, |s| {
                // GitHub answers 422 "A pull request already exists" for a second open PR on a head.
                if let Some(open) = s.pull_requests.iter().find(|p| p.head == new.head && p.state == PrState::Open) {
                    return Err(ForgeError::Conflict(format!(
                        "a pull request already exists for {}: #{}",
                        new.head, open.number
                    )));
                }
                let number = s.next_number;
                s.next_number += 1;
                let pr = PullRequest {
                    number,
                    state: PrState::Open,
                    title: new.title.clone(),
                    body: new.body.clone(),
                    head: new.head.clone(),
                    base: new.base.clone(),
                    head_sha: head_sha.clone(),
                    draft: new.draft,
                    labels: new.labels.clone(),
                    reviewers: new.reviewers.clone(),
                    assignees: new.assignees.clone(),
                    url: inner.pr_url(&id, number),
                    merge_commit_sha: None,
                    node_id: None,
                    created_at: Some(crate::clock::now_rfc3339()),
                    merged_at: None,
                    closed_at: None,
                };
                s.pull_requests.push(pr.clone());
                Ok(pr)
            })
        })
        .await
    }

    async fn update_pull_request(
        &self,
        repo: &RepoId,
        number: u64,
        update: &PullRequestUpdate,
    ) -> ForgeResult<PullRequest> {
        let (id, update) = (repo.clone(), update.clone());
        self.blocking(move |inner| {
            let git = inner.open(&id)?;
            inner.with_state(&id, |s| {
                let pr = s
                    .pull_requests
                    .iter_mut()
                    .find(|p| p.number == number)
                    .ok_or_else(|| ForgeError::NotFound(format!("pull request #{number} of {id}")))?;
                if let Some(t) = &update.title {
                    pr.title = t.clone();
                }
                if let Some(b) = &update.body {
                    pr.body = b.clone();
                }
                if let Some(l) = &update.labels {
                    pr.labels = l.clone();
                }
                if let Some(a) = &update.assignees {
                    pr.assignees = a.clone();
                }
                // As GitHub: only an open pull request changes its base, to a branch that exists.
                if let Some(base) = update.base.as_ref().filter(|b| **b != pr.base) {
                    if pr.state != PrState::Open {
                        return Err(ForgeError::Conflict(format!(
                            "cannot change the base branch of closed pull request #{number} of {id}"
                        )));
                    }
                    if inner.branch_head_sync(&git, base)?.is_none() {
                        return Err(ForgeError::Invalid(format!("base branch {base} does not exist in {id}")));
                    }
                    pr.base = base.clone();
                }
                match (update.state, pr.state) {
                    (None, _) => {}
                    (Some(PrState::Merged), _) => {
                        return Err(ForgeError::Invalid("merge through merge_pull_request".into()));
                    }
                    (Some(_), PrState::Merged) => {
                        return Err(ForgeError::Conflict(format!("pull request #{number} of {id} is merged")));
                    }
                    (Some(PrState::Open), PrState::Closed) => {
                        pr.head_sha = inner.branch_head_sync(&git, &pr.head)?.ok_or_else(|| {
                            ForgeError::Conflict(format!("cannot reopen #{number}: branch {} is gone", pr.head))
                        })?;
                        pr.state = PrState::Open;
                        pr.closed_at = None;
                    }
                    (Some(PrState::Closed), PrState::Open) => {
                        pr.state = PrState::Closed;
                        pr.closed_at = Some(crate::clock::now_rfc3339());
                    }
                    (Some(st), _) => pr.state = st,
                }
                // The head sha follows the branch, as GitHub's does after a push.
                if pr.state == PrState::Open
                    && let Some(sha) = inner.branch_head_sync(&git, &pr.head)?
                {
                    pr.head_sha = sha;
                }
                Ok(pr.clone())
            })
        })
        .await
    }

    /// The default reading, plus mergeability from an in-memory three-way merge of each open
    /// pull request (GitHub computes the same on its side).
    async fn pull_request_statuses(
        &self,
        repos: &[RepoId],
        branch: &str,
    ) -> Vec<(RepoId, ForgeResult<Vec<PullRequestStatus>>)> {
        let mut out = super::statuses_one_by_one(self, repos, branch).await;
        for (repo, result) in &mut out {
            let Ok(list) = result else { continue };
            for status in list.iter_mut().filter(|s| s.pr.state == PrState::Open) {
                let (id, pr) = (repo.clone(), status.pr.clone());
                match self.blocking(move |inner| inner.mergeable_sync(&id, &pr)).await {
                    Ok(m) => status.mergeable = m,
                    Err(e) => tracing::warn!(%repo, "cannot tell whether #{} merges: {e}", status.pr.number),
                }
            }
        }
        out
    }

    async fn merge_pull_request(&self, repo: &RepoId, number: u64, method: MergeMethod) -> ForgeResult<MergeResult> {
        let id = repo.clone();
        self.blocking(move |inner| {
            let pr = inner
                .read_only(&id, |s| s.pull_requests.iter().find(|p| p.number == number).cloned())?
                .ok_or_else(|| ForgeError::NotFound(format!("pull request #{number} of {id}")))?;
            if pr.state != PrState::Open {
                return Err(ForgeError::Conflict(format!("pull request #{number} of {id} is not open")));
            }
            let onto = inner.branch_head_sync(&inner.open(&id)?, &pr.base)?;
            let sha = inner.merge_sync(&id, &pr, method)?;
            inner.with_state(&id, |s| {
                if let Some(onto) = onto {
                    s.merged_onto.insert(number, onto);
                }
                if let Some(p) = s.pull_requests.iter_mut().find(|p| p.number == number) {
                    p.state = PrState::Merged;
                    p.merge_commit_sha = Some(sha.clone());
                    let at = crate::clock::now_rfc3339();
                    p.merged_at = Some(at.clone());
                    p.closed_at = Some(at);
                }
                Ok(())
            })?;
            Ok(MergeResult { sha })
        })
        .await
    }

    async fn revert_pull_request(
        &self,
        repo: &RepoId,
        pr: &PullRequest,
        revert: &NewRevert,
    ) -> ForgeResult<PullRequest> {
        let branch = super::revert_branch(pr);
        let (id, original, name) = (repo.clone(), pr.clone(), branch.clone());
        self.blocking(move |inner| {
            // A revert branch that a pull request uses is a revert made already; one with no
            // pull request was left by a run that stopped between the two steps, and is redone.
            if let Some(p) = inner.read_only(&id, |s| s.pull_requests.iter().find(|p| p.head == name).cloned())? {
                return Err(ForgeError::Conflict(format!(
                    "{id} has a revert of #{} already: #{} on {name}",
                    original.number, p.number
                )));
            }
            let (commit, _) = inner.revert_commit_sync(&id, &original)?;
            let git = inner.open(&id)?;
            inner.set_ref(&git, &format!("refs/heads/{name}"), &commit)
        })
        .await?;
        let new = NewPullRequest {
            title: revert.title.clone(),
            body: revert.body.clone(),
            head: branch,
            base: pr.base.clone(),
            draft: revert.draft,
            ..Default::default()
        };
        self.create_pull_request(repo, &new).await
    }

    async fn set_commit_status(&self, repo: &RepoId, sha: &str, status: &CommitStatus) -> ForgeResult<()> {
        let (id, sha, status) = (repo.clone(), sha.to_string(), status.clone());
        self.blocking(move |inner| {
            inner.with_state(&id, |s| {
                s.statuses.entry(sha).or_default().push(status);
                Ok(())
            })
        })
        .await
    }

    async fn check_verdict(&self, repo: &RepoId, sha: &str) -> ForgeResult<CheckVerdict> {
        let (id, sha) = (repo.clone(), sha.to_string());
        self.blocking(move |inner| {
            let all = inner.read_only(&id, |s| s.statuses.get(&sha).cloned().unwrap_or_default())?;
            Ok(CheckVerdict::fold(latest_statuses(&all)))
        })
        .await
    }

    async fn list_tags(&self, repo: &RepoId) -> ForgeResult<Vec<Tag>> {
        let id = repo.clone();
        self.blocking(move |inner| {
            let repo = inner.open(&id)?;
            let refs = repo.references().map_err(|e| ForgeError::git("refs", e))?;
            let mut tags = Vec::new();
            for r in refs.tags().map_err(|e| ForgeError::git("tags", e))? {
                let mut r = r.map_err(|e| ForgeError::git("tag", e))?;
                let name = r.name().shorten().to_string();
                let sha = r.peel_to_id().map_err(|e| ForgeError::git(&name, e))?.to_string();
                tags.push(Tag { name, sha });
            }
            tags.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(tags)
        })
        .await
    }

    async fn create_tag(&self, repo: &RepoId, name: &str, sha: &str) -> ForgeResult<()> {
        let (id, name, sha) = (repo.clone(), name.to_string(), sha.to_string());
        self.blocking(move |inner| create_tag_sync(inner, &id, &name, &sha)).await
    }

    async fn delete_tag(&self, repo: &RepoId, name: &str) -> ForgeResult<bool> {
        let (id, name) = (repo.clone(), name.to_string());
        self.blocking(move |inner| {
            let repo = inner.open(&id)?;
            let full = format!("refs/tags/{name}");
            match repo.try_find_reference(full.as_str()).map_err(|e| ForgeError::git(&full, e))? {
                None => Ok(false),
                Some(r) => {
                    r.delete().map_err(|e| ForgeError::git(format!("deleting {full}"), e))?;
                    Ok(true)
                }
            }
        })
        .await
    }

    async fn create_release(&self, repo: &RepoId, release: &NewRelease) -> ForgeResult<Release> {
        let (id, new) = (repo.clone(), release.clone());
        self.blocking(move |inner| {
            if inner.read_only(&id, |s| s.releases.iter().any(|r| r.tag == new.tag))? {
                return Err(ForgeError::Conflict(format!("a release for tag {} already exists in {id}", new.tag)));
            }
            create_tag_sync(inner, &id, &new.tag, &new.target_sha)?;
            inner.with_state(&id, |s| {
                let release = Release {
                    id: s.next_release_id,
                    tag: new.tag.clone(),
                    name: new.name.clone(),
                    body: new.body.clone(),
                    draft: new.draft,
                    prerelease: new.prerelease,
                    url: format!("local:{id}/releases/tag/{}", new.tag),
                };
                s.next_release_id += 1;
                s.releases.push(release.clone());
                Ok(release)
            })
        })
        .await
    }

    async fn release_by_tag(&self, repo: &RepoId, tag: &str) -> ForgeResult<Option<Release>> {
        let (id, tag) = (repo.clone(), tag.to_string());
        self.blocking(move |inner| inner.read_only(&id, |s| s.releases.iter().find(|r| r.tag == tag).cloned())).await
    }

    async fn delete_release(&self, repo: &RepoId, release_id: u64) -> ForgeResult<()> {
        let id = repo.clone();
        self.blocking(move |inner| {
            inner.with_state(&id, |s| {
                let before = s.releases.len();
                s.releases.retain(|r| r.id != release_id);
                if s.releases.len() == before {
                    return Err(ForgeError::NotFound(format!("release {release_id} of {id}")));
                }
                Ok(())
            })
        })
        .await
    }
}

fn create_tag_sync(inner: &Inner, id: &RepoId, name: &str, sha: &str) -> ForgeResult<()> {
    let repo = inner.open(id)?;
    let target = parse_oid(sha)?;
    if repo.find_commit(target).is_err() {
        return Err(ForgeError::Invalid(format!("commit {sha} does not exist in {id}")));
    }
    let full = format!("refs/tags/{name}");
    if let Some(mut existing) = repo.try_find_reference(full.as_str()).map_err(|e| ForgeError::git(&full, e))? {
        let at = existing.peel_to_id().map_err(|e| ForgeError::git(&full, e))?.detach();
        return if at == target {
            Ok(())
        } else {
            Err(ForgeError::Conflict(format!("tag {name} of {id} already points at {at}")))
        };
    }
    repo.reference(full.as_str(), target, gix::refs::transaction::PreviousValue::MustNotExist, "convoy: tag")
        .map_err(|e| ForgeError::git(&full, e))?;
    Ok(())
}

/// How old a ref lock file must be before convoy takes it for the leftover of a killed process.
/// A ref update holds its lock for milliseconds (git and gix alike), so a minute-old lock has no
/// living writer.
const STALE_REF_LOCK: std::time::Duration = std::time::Duration::from_secs(60);

/// Run a ref update of `name`; when it fails and a lock file of that ref (`<ref>.lock`) or of
/// `packed-refs` is left behind by a killed run (older than [`STALE_REF_LOCK`]), remove it, say
/// so, and try once more. A fresh lock is named in the error, with what to do: a repository
/// must never stay broken behind an error that names no file.
fn with_ref_locks(repo: &gix::Repository, name: &str, mut write: impl FnMut() -> ForgeResult<()>) -> ForgeResult<()> {
    let first = match write() {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let locks = [repo.git_dir().join(format!("{name}.lock")), repo.git_dir().join("packed-refs.lock")];
    let mut removed = false;
    for lock in locks.iter().filter(|l| l.is_file()) {
        let age = std::fs::metadata(lock).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        match age {
            Some(age) if age >= STALE_REF_LOCK => {
                std::fs::remove_file(lock)
                    .map_err(|e| ForgeError::io(format!("removing the stale lock {}", lock.display()), e))?;
                tracing::warn!("removed {}, a ref lock left by a killed run ({} s old)", lock.display(), age.as_secs());
                removed = true;
            }
            _ => {
                return Err(ForgeError::Git(format!(
                    "{first}\n  help: {} is held; if no git or convoy process is writing this repository, remove that file (convoy removes it itself once it is {} s old)",
                    lock.display(),
                    STALE_REF_LOCK.as_secs()
                )));
            }
        }
    }
    if removed { write() } else { Err(first) }
}
