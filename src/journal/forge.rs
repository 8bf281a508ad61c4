//! A [`Forge`] that journals every side effect of the forge it wraps: an intent before each
//! write, its outcome after (the new commit, pull request number, or the error). Reads go
//! straight through. Wrapping the forge, rather than each call site of the engine, puts every
//! command that writes (`apply`, `merge`, `close`, `rollout advance`, `audit --fix`, `deps
//! align`) on the journal alike, and keeps the engine free of it.
//!
//! An intent that cannot be written stops its write (the forge is not called): a side effect
//! with no record is what the journal exists to prevent. An outcome that cannot be written
//! leaves the intent pending, which a resume checks against the forge.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::entry::{Done, Op, Outcome};
use super::{Journal, JournalError, JournalStore};
use crate::forge::{
    ApiUsage, CheckVerdict, CommitInfo, CommitStatus, FileChange, Forge, ForgeError, ForgeResult, MergeMethod,
    MergeResult, NewPullRequest, NewRelease, NewRevert, PrState, PullRequest, PullRequestBatchItem, PullRequestStatus,
    PullRequestUpdate, Release, RemoteRepo, RepoId, Tag, WorkflowRun,
};

pub struct JournaledForge<S: JournalStore + Send + Sync + 'static> {
    inner: Arc<dyn Forge>,
    journal: Mutex<Journal<S>>,
    /// Run when the forge is dropped at the end of the command: gives the campaign's claim back.
    on_drop: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
    /// Outcomes written but not synced yet: the next intent's sync covers them (one sync covers
    /// everything written before it), and the end of the run syncs the rest.
    unsynced: std::sync::Mutex<Option<(Arc<dyn super::Durability>, u64)>>,
}

impl<S: JournalStore + Send + Sync + 'static> JournaledForge<S> {
    pub fn new(inner: Arc<dyn Forge>, journal: Journal<S>) -> Self {
        JournaledForge {
            inner,
            journal: Mutex::new(journal),
            on_drop: std::sync::Mutex::new(None),
            unsynced: std::sync::Mutex::new(None),
        }
    }

    /// Run `f` when this forge is dropped (the run is over).
    pub fn on_drop(self, f: impl FnOnce() + Send + 'static) -> Self {
        if let Ok(mut slot) = self.on_drop.lock() {
            *slot = Some(Box::new(f));
        }
        self
    }

    /// Write the intents of `ops` and wait until they are durable, without holding the journal
    /// while the sync runs: other steps' entries written meanwhile share it (group commit).
    async fn intents(&self, ops: Vec<Op>) -> ForgeResult<Vec<u64>> {
        let refused = |e: JournalError| {
            ForgeError::Invalid(format!("the campaign journal refused the next step, so it was not taken: {e}"))
        };
        let written = self.journal.lock().await.write_intents(ops).await.map_err(refused)?;
        written.wait().await.map_err(refused)?;
        Ok(written.seqs)
    }

    async fn intent(&self, op: Op) -> ForgeResult<u64> {
        Ok(self.intents(vec![op]).await?[0])
    }

    /// Write the outcomes without waiting for them to be durable: the next intent's sync makes
    /// them so (a sync covers everything written before it), and so does the end of the run.
    /// An intent is always durable before its forge call; an outcome lost to a power cut
    /// before the next sync leaves its intent pending, which a resume checks against the forge
    /// (a killed process loses nothing written: the data is in the kernel's page cache). This
    /// halves the syncs of a run: one per step, not two.
    async fn outcomes(&self, outcomes: Vec<(u64, Outcome)>) {
        let seqs: Vec<u64> = outcomes.iter().map(|(of, _)| *of).collect();
        match self.journal.lock().await.write_outcomes(outcomes).await {
            Ok(w) => {
                if let (Some(later), Ok(mut slot)) = (w.deferred(), self.unsynced.lock())
                    && slot.as_ref().is_none_or(|(_, seq)| *seq < later.1)
                {
                    *slot = Some(later);
                }
            }
            Err(e) => tracing::warn!("could not journal the outcome of steps {seqs:?}: {e}"),
        }
    }

    async fn outcome<T>(&self, of: u64, result: &ForgeResult<T>, done: impl FnOnce(&T) -> Done) {
        let outcome = match result {
            Ok(v) => Outcome::Ok(done(v)),
            Err(e) => Outcome::Err(e.to_string()),
        };
        self.outcomes(vec![(of, outcome)]).await;
    }
}

impl<S: JournalStore + Send + Sync + 'static> Drop for JournaledForge<S> {
    fn drop(&mut self) {
        // The run is over: its last outcomes are made durable before the claim is given back.
        if let Some((sync, seq)) = self.unsynced.get_mut().ok().and_then(Option::take)
            && let Err(e) = sync.sync_through(seq)
        {
            tracing::warn!("could not sync the journal's last outcomes: {e}");
        }
        if let Some(f) = self.on_drop.get_mut().ok().and_then(Option::take) {
            f();
        }
    }
}

fn pr_done(pr: &PullRequest) -> Done {
    Done { pr: Some(pr.number), sha: Some(pr.head_sha.clone()).filter(|s| !s.is_empty()), ..Default::default() }
}

fn sha_done(sha: &str) -> Done {
    Done { sha: Some(sha.to_owned()), ..Default::default() }
}

fn update_op(repo: &RepoId, number: u64, update: &PullRequestUpdate) -> Op {
    match update.state {
        Some(PrState::Closed) => Op::PrClose { repo: repo.full_name(), pr: number },
        _ => Op::PrUpdate { repo: repo.full_name(), pr: number },
    }
}

#[async_trait]
impl<S: JournalStore + Send + Sync + 'static> Forge for JournaledForge<S> {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.api_usage()
    }
    async fn git_credentials(&self) -> ForgeResult<Option<(String, secrecy::SecretString)>> {
        self.inner.git_credentials().await
    }
    async fn enable_auto_merge(&self, repo: &RepoId, pr: &PullRequest, method: MergeMethod) -> ForgeResult<bool> {
        let seq = self.intent(Op::PrUpdate { repo: repo.full_name(), pr: pr.number }).await?;
        let result = self.inner.enable_auto_merge(repo, pr, method).await;
        self.outcome(seq, &result, |_| Done { pr: Some(pr.number), ..Default::default() }).await;
        result
    }
    fn persist_cache(&self) {
        self.inner.persist_cache()
    }
    async fn scope_to(&self, repos: &[RepoId]) {
        self.inner.scope_to(repos).await
    }
    async fn missing_write_access(&self, repos: &[RepoId]) -> ForgeResult<Vec<RepoId>> {
        self.inner.missing_write_access(repos).await
    }
    async fn workflow_runs(&self, repo: &RepoId, path: &str, limit: usize) -> ForgeResult<Option<Vec<WorkflowRun>>> {
        self.inner.workflow_runs(repo, path, limit).await
    }
    async fn pull_request_statuses(
        &self,
        repos: &[RepoId],
        branch: &str,
    ) -> Vec<(RepoId, ForgeResult<Vec<PullRequestStatus>>)> {
        self.inner.pull_request_statuses(repos, branch).await
    }
    async fn list_repos(&self, owner: &str) -> ForgeResult<Vec<RemoteRepo>> {
        self.inner.list_repos(owner).await
    }
    async fn branch_head(&self, repo: &RepoId, branch: &str) -> ForgeResult<Option<String>> {
        self.inner.branch_head(repo, branch).await
    }
    async fn commit_info(&self, repo: &RepoId, sha: &str) -> ForgeResult<CommitInfo> {
        self.inner.commit_info(repo, sha).await
    }
    async fn create_commit(
        &self,
        repo: &RepoId,
        parent: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let op = Op::Commit { repo: repo.full_name(), branch: String::new(), parent: parent.to_string() };
        let seq = self.intent(op).await?;
        let result = self.inner.create_commit(repo, parent, changes, message).await;
        self.outcome(seq, &result, |s: &String| sha_done(s)).await;
        result
    }
    async fn commit_on_branch(
        &self,
        repo: &RepoId,
        branch: &str,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        let op = Op::Commit { repo: repo.full_name(), branch: branch.to_string(), parent: expected_head.to_string() };
        let seq = self.intent(op).await?;
        let result = self.inner.commit_on_branch(repo, branch, expected_head, changes, message).await;
        self.outcome(seq, &result, |s: &String| sha_done(s)).await;
        result
    }
    async fn commit_on_default_branch(
        &self,
        repo: &RepoId,
        expected_head: &str,
        changes: &[FileChange],
        message: &str,
    ) -> ForgeResult<String> {
        // The branch is named by the forge; the journal records the parent (the head expected).
        let op = Op::Commit { repo: repo.full_name(), branch: String::new(), parent: expected_head.to_string() };
        let seq = self.intent(op).await?;
        let result = self.inner.commit_on_default_branch(repo, expected_head, changes, message).await;
        self.outcome(seq, &result, |s: &String| sha_done(s)).await;
        result
    }
    async fn read_file(&self, repo: &RepoId, sha: &str, path: &str) -> ForgeResult<Option<Vec<u8>>> {
        self.inner.read_file(repo, sha, path).await
    }
    async fn update_branch(&self, repo: &RepoId, branch: &str, sha: &str, force: bool) -> ForgeResult<()> {
        let op = Op::BranchMove { repo: repo.full_name(), branch: branch.to_string(), from: None, to: sha.to_string() };
        let seq = self.intent(op).await?;
        let result = self.inner.update_branch(repo, branch, sha, force).await;
        self.outcome(seq, &result, |_| Done { sha: Some(sha.to_string()), ..Default::default() }).await;
        result
    }
    async fn delete_branch(&self, repo: &RepoId, branch: &str) -> ForgeResult<bool> {
        let seq =
            self.intent(Op::BranchDelete { repo: repo.full_name(), branch: branch.to_string(), sha: None }).await?;
        let result = self.inner.delete_branch(repo, branch).await;
        self.outcome(seq, &result, |_| Done::default()).await;
        result
    }
    async fn find_pull_requests(&self, repo: &RepoId, branch: &str) -> ForgeResult<Vec<PullRequest>> {
        self.inner.find_pull_requests(repo, branch).await
    }
    async fn open_pull_requests(&self, repo: &RepoId) -> ForgeResult<Vec<PullRequest>> {
        self.inner.open_pull_requests(repo).await
    }
    async fn get_pull_request(&self, repo: &RepoId, number: u64) -> ForgeResult<PullRequest> {
        self.inner.get_pull_request(repo, number).await
    }
    async fn create_pull_request(&self, repo: &RepoId, pr: &NewPullRequest) -> ForgeResult<PullRequest> {
        let seq =
            self.intent(Op::PrOpen { repo: repo.full_name(), head: pr.head.clone(), base: pr.base.clone() }).await?;
        let result = self.inner.create_pull_request(repo, pr).await;
        self.outcome(seq, &result, pr_done).await;
        result
    }
    async fn open_change(
        &self,
        repo: &RepoId,
        base: &str,
        changes: &[FileChange],
        message: &str,
        pr: &NewPullRequest,
    ) -> ForgeResult<PullRequest> {
        // One step for the forge (branch, commit and pull request in one document on GitHub):
        // one intent, whose outcome carries the pull request and its head.
        let seq =
            self.intent(Op::PrOpen { repo: repo.full_name(), head: pr.head.clone(), base: pr.base.clone() }).await?;
        let result = self.inner.open_change(repo, base, changes, message, pr).await;
        self.outcome(seq, &result, pr_done).await;
        result
    }
    async fn update_pull_request(
        &self,
        repo: &RepoId,
        number: u64,
        update: &PullRequestUpdate,
    ) -> ForgeResult<PullRequest> {
        let seq = self.intent(update_op(repo, number, update)).await?;
        let result = self.inner.update_pull_request(repo, number, update).await;
        self.outcome(seq, &result, pr_done).await;
        result
    }
    async fn update_pull_requests(&self, items: &[PullRequestBatchItem], concurrency: usize) -> Vec<ForgeResult<()>> {
        if items.is_empty() {
            return Vec::new();
        }
        // The forge gets the whole batch at once, so every intent is made durable before it in
        // one append (one sync, not one per pull request), and every outcome after it in another.
        let ops = items.iter().map(|item| update_op(&item.repo, item.pr.number, &item.update)).collect();
        let seqs = match self.intents(ops).await {
            Ok(seqs) => seqs,
            Err(e) => return items.iter().map(|_| Err(ForgeError::Invalid(e.to_string()))).collect(),
        };
        let answers = self.inner.update_pull_requests(items, concurrency).await;
        let outcomes = seqs
            .iter()
            .zip(items)
            .zip(&answers)
            .map(|((seq, item), answer)| {
                let outcome = match answer {
                    Ok(()) => Outcome::Ok(Done { pr: Some(item.pr.number), ..Default::default() }),
                    Err(e) => Outcome::Err(e.to_string()),
                };
                (*seq, outcome)
            })
            .collect();
        self.outcomes(outcomes).await;
        answers
    }
    async fn merge_pull_request(&self, repo: &RepoId, number: u64, method: MergeMethod) -> ForgeResult<MergeResult> {
        let method_name = match method {
            MergeMethod::Merge => "merge",
            MergeMethod::Squash => "squash",
            MergeMethod::Rebase => "rebase",
        };
        let seq =
            self.intent(Op::PrMerge { repo: repo.full_name(), pr: number, method: method_name.to_string() }).await?;
        let result = self.inner.merge_pull_request(repo, number, method).await;
        self.outcome(seq, &result, |m| Done { sha: Some(m.sha.clone()), pr: Some(number), ..Default::default() }).await;
        result
    }
    async fn revert_pull_request(
        &self,
        repo: &RepoId,
        pr: &PullRequest,
        revert: &NewRevert,
    ) -> ForgeResult<PullRequest> {
        let op = Op::Revert {
            repo: repo.full_name(),
            branch: crate::forge::revert_branch(pr),
            commit: pr.merge_commit_sha.clone().unwrap_or_default(),
        };
        let seq = self.intent(op).await?;
        let result = self.inner.revert_pull_request(repo, pr, revert).await;
        self.outcome(seq, &result, pr_done).await;
        result
    }
    async fn set_commit_status(&self, repo: &RepoId, sha: &str, status: &CommitStatus) -> ForgeResult<()> {
        self.inner.set_commit_status(repo, sha, status).await
    }
    async fn check_verdict(&self, repo: &RepoId, sha: &str) -> ForgeResult<CheckVerdict> {
        self.inner.check_verdict(repo, sha).await
    }
    async fn list_tags(&self, repo: &RepoId) -> ForgeResult<Vec<Tag>> {
        self.inner.list_tags(repo).await
    }
    async fn create_tag(&self, repo: &RepoId, name: &str, sha: &str) -> ForgeResult<()> {
        let seq = self.intent(Op::Tag { repo: repo.full_name(), tag: name.to_string(), sha: sha.to_string() }).await?;
        let result = self.inner.create_tag(repo, name, sha).await;
        self.outcome(seq, &result, |_| Done { sha: Some(sha.to_string()), ..Default::default() }).await;
        result
    }
    async fn delete_tag(&self, repo: &RepoId, name: &str) -> ForgeResult<bool> {
        let seq = self.intent(Op::TagDelete { repo: repo.full_name(), tag: name.to_string() }).await?;
        let result = self.inner.delete_tag(repo, name).await;
        self.outcome(seq, &result, |_| Done::default()).await;
        result
    }
    async fn create_release(&self, repo: &RepoId, release: &NewRelease) -> ForgeResult<Release> {
        let seq = self.intent(Op::Release { repo: repo.full_name(), tag: release.tag.clone() }).await?;
        let result = self.inner.create_release(repo, release).await;
        self.outcome(seq, &result, |r| Done { id: Some(r.id), url: Some(r.url.clone()), ..Default::default() }).await;
        result
    }
    async fn release_by_tag(&self, repo: &RepoId, tag: &str) -> ForgeResult<Option<Release>> {
        self.inner.release_by_tag(repo, tag).await
    }
    async fn delete_release(&self, repo: &RepoId, id: u64) -> ForgeResult<()> {
        let seq = self.intent(Op::ReleaseDelete { repo: repo.full_name(), id }).await?;
        let result = self.inner.delete_release(repo, id).await;
        self.outcome(seq, &result, |_| Done { id: Some(id), ..Default::default() }).await;
        result
    }
}
