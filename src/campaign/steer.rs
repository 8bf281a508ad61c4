//! Seeing and steering a campaign's pull requests: `status`, `merge` and `close`.
//!
//! All three start from one reading of the campaign ([`read`]): the forge's
//! [`Forge::pull_request_statuses`] for the selected repositories (on GitHub, one GraphQL
//! document per 100 repositories), folded into one [`RepoStatus`] per repository from its newest
//! pull request on the campaign branch. `merge` and `close` act on what that reading shows and
//! report one result per repository; a refusal by the forge (branch protection, a conflict) is
//! that repository's result, never the run's.

use serde::Serialize;

use super::RepoResult;
use super::apply::CLOSED_BY_CONVOY;
use crate::forge::{
    CheckState, Forge, ForgeError, MergeMethod, Mergeable, PrState, PullRequestStatus, PullRequestUpdate, RepoId,
    ReviewDecision,
};

/// Where a repository's part of the campaign stands, from its newest pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrView {
    /// No pull request on the campaign branch (nothing to change, or not applied yet).
    None,
    Open,
    Draft,
    Merged,
    /// Closed by convoy (its change disappeared, `convoy close`, a rollback): the body carries
    /// [`CLOSED_BY_CONVOY`].
    ClosedByConvoy,
    /// Closed by someone else.
    ClosedByPerson,
}

impl PrView {
    pub fn as_str(self) -> &'static str {
        match self {
            PrView::None => "no PR",
            PrView::Open => "open",
            PrView::Draft => "draft",
            PrView::Merged => "merged",
            PrView::ClosedByConvoy => "closed by convoy",
            PrView::ClosedByPerson => "closed by a person",
        }
    }
}

/// One repository's row of `convoy status`.
#[derive(Debug, Clone, Serialize)]
pub struct RepoStatus {
    pub state: PrView,
    /// The newest pull request on the campaign branch, with checks, review and mergeability.
    #[serde(skip)]
    pub status: Option<PullRequestStatus>,
    pub number: Option<u64>,
    pub url: Option<String>,
    /// The head commit's checks, folded; `None`: no check reported (or the PR is not open).
    pub checks: Option<CheckState>,
    pub review: Option<ReviewDecision>,
    pub mergeable: Option<Mergeable>,
    /// Seconds since the pull request was opened, by [`crate::clock::now`].
    pub age_seconds: Option<i64>,
    pub created_at: Option<String>,
    pub merged_at: Option<String>,
    pub closed_at: Option<String>,
    /// The rollout wave the repository belongs to, when `[[wave]]`s are configured.
    pub wave: Option<String>,
    /// `convoy rollback` took the campaign out of this repository (its mark in the rollout
    /// state): the PR was closed, or a revert PR opened.
    pub rolled_back: bool,
    /// What that rollback did, as it said then (`merged PR #1 reverted by PR #2 (...); merge it
    /// to finish`), so a revert PR still to merge is not forgotten; `None` when not rolled back.
    pub rollback: Option<String>,
}

impl RepoStatus {
    pub(crate) fn from_newest(newest: Option<PullRequestStatus>) -> RepoStatus {
        let now = crate::clock::now();
        let Some(s) = newest else {
            return RepoStatus {
                state: PrView::None,
                status: None,
                number: None,
                url: None,
                checks: None,
                review: None,
                mergeable: None,
                age_seconds: None,
                created_at: None,
                merged_at: None,
                closed_at: None,
                wave: None,
                rolled_back: false,
                rollback: None,
            };
        };
        let state = match s.pr.state {
            PrState::Open if s.pr.draft => PrView::Draft,
            PrState::Open => PrView::Open,
            PrState::Merged => PrView::Merged,
            PrState::Closed if s.pr.body.contains(CLOSED_BY_CONVOY) => PrView::ClosedByConvoy,
            PrState::Closed => PrView::ClosedByPerson,
        };
        let open = s.pr.state == PrState::Open;
        let age = s.pr.created_at.as_deref().and_then(crate::clock::parse_rfc3339).map(|t| (now - t).whole_seconds());
        RepoStatus {
            state,
            number: Some(s.pr.number),
            url: Some(s.pr.url.clone()),
            checks: s.checks,
            review: s.review,
            mergeable: open.then_some(s.mergeable),
            age_seconds: age,
            created_at: s.pr.created_at.clone(),
            merged_at: s.pr.merged_at.clone(),
            closed_at: s.pr.closed_at.clone(),
            wave: None,
            rolled_back: false,
            rollback: None,
            status: Some(s),
        }
    }

    /// Why this pull request may not be merged now, or `None` when it may: open, not a draft,
    /// checks reported and all green, no changes requested, and not conflicting. A forge that
    /// cannot tell mergeability (`unknown`) leaves the answer to the merge call itself.
    pub fn merge_blocker(&self) -> Option<String> {
        match self.state {
            PrView::Open => {}
            PrView::Draft => return Some("the pull request is a draft".into()),
            PrView::None => return Some("no pull request".into()),
            PrView::Merged => return Some("already merged".into()),
            PrView::ClosedByConvoy | PrView::ClosedByPerson => return Some(self.state.as_str().to_string()),
        }
        match self.checks {
            None => return Some("no checks have reported on the head commit".into()),
            Some(CheckState::Failure) => return Some("checks failed".into()),
            Some(CheckState::Pending) => return Some("checks are still running".into()),
            Some(CheckState::Success) => {}
        }
        if self.review == Some(ReviewDecision::ChangesRequested) {
            return Some("a reviewer requested changes".into());
        }
        if self.mergeable == Some(Mergeable::Conflicting) {
            return Some("it conflicts with its base branch".into());
        }
        None
    }
}

/// Read the campaign `branch` in `repos`: one status per repository, in order.
pub async fn read(forge: &dyn Forge, repos: &[RepoId], branch: &str) -> Vec<RepoResult<RepoStatus>> {
    forge
        .pull_request_statuses(repos, branch)
        .await
        .into_iter()
        .map(|(repo, result)| RepoResult {
            repo,
            result: result
                .map(|mut list| {
                    // Newest first, by number where the forge did not sort.
                    list.sort_by_key(|s| std::cmp::Reverse(s.pr.number));
                    RepoStatus::from_newest(list.into_iter().next())
                })
                .map_err(|e| e.to_string()),
        })
        .collect()
}

/// Counts for the status summary: per state, and of open PRs per check verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatusSummary {
    pub repos: usize,
    pub no_pr: usize,
    pub open: usize,
    pub draft: usize,
    pub merged: usize,
    pub closed_by_convoy: usize,
    pub closed_by_person: usize,
    pub failed: usize,
    pub checks_success: usize,
    pub checks_failure: usize,
    pub checks_pending: usize,
    pub checks_none: usize,
    pub conflicting: usize,
    pub approved: usize,
    pub changes_requested: usize,
}

pub fn summarize(results: &[RepoResult<RepoStatus>]) -> StatusSummary {
    let mut s = StatusSummary { repos: results.len(), ..Default::default() };
    for r in results {
        let Ok(st) = &r.result else {
            s.failed += 1;
            continue;
        };
        match st.state {
            PrView::None => s.no_pr += 1,
            PrView::Open => s.open += 1,
            PrView::Draft => s.draft += 1,
            PrView::Merged => s.merged += 1,
            PrView::ClosedByConvoy => s.closed_by_convoy += 1,
            PrView::ClosedByPerson => s.closed_by_person += 1,
        }
        if matches!(st.state, PrView::Open | PrView::Draft) {
            match st.checks {
                Some(CheckState::Success) => s.checks_success += 1,
                Some(CheckState::Failure) => s.checks_failure += 1,
                Some(CheckState::Pending) => s.checks_pending += 1,
                None => s.checks_none += 1,
            }
            if st.mergeable == Some(Mergeable::Conflicting) {
                s.conflicting += 1;
            }
            match st.review {
                Some(ReviewDecision::Approved) => s.approved += 1,
                Some(ReviewDecision::ChangesRequested) => s.changes_requested += 1,
                _ => {}
            }
        }
    }
    s
}

/// What `merge` did for one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum MergeOutcome {
    /// Merged: the merge commit (or the squashed / rebased head) on the base branch.
    Merged { number: u64, sha: String },
    /// `--dry-run`: would be merged.
    WouldMerge { number: u64 },
    /// Checks still running, `--auto`: the forge merges when they pass.
    AutoMergeEnabled { number: u64 },
    /// Not merged, and why (convoy's check, or the forge's refusal in its own words).
    Refused { number: Option<u64>, reason: String },
    /// Nothing to merge: no open pull request (merged already, closed, or none).
    Skipped { reason: String },
}

impl MergeOutcome {
    pub fn key(&self) -> &'static str {
        match self {
            MergeOutcome::Merged { .. } => "merged",
            MergeOutcome::WouldMerge { .. } => "would_merge",
            MergeOutcome::AutoMergeEnabled { .. } => "auto_merge",
            MergeOutcome::Refused { .. } => "refused",
            MergeOutcome::Skipped { .. } => "skipped",
        }
    }
}

/// Options of `convoy merge`.
#[derive(Debug, Clone, Copy)]
pub struct MergeOptions {
    pub method: MergeMethod,
    /// Where checks are still running, turn on the forge's auto-merge instead of refusing.
    pub auto: bool,
    pub dry_run: bool,
}

/// Merge the campaign's pull requests that may be merged ([`RepoStatus::merge_blocker`]), one
/// repository at a time (a merge moves a default branch: GitHub paces such writes).
pub async fn merge(
    forge: &dyn Forge,
    statuses: Vec<RepoResult<RepoStatus>>,
    options: MergeOptions,
) -> Vec<RepoResult<MergeOutcome>> {
    let mut out = Vec::with_capacity(statuses.len());
    for RepoResult { repo, result } in statuses {
        let result = match result {
            Err(e) => Err(e),
            Ok(st) => Ok(merge_one(forge, &repo, &st, options).await),
        };
        out.push(RepoResult { repo, result: result.and_then(|r| r) });
    }
    out
}

async fn merge_one(
    forge: &dyn Forge,
    repo: &RepoId,
    st: &RepoStatus,
    options: MergeOptions,
) -> Result<MergeOutcome, String> {
    let (Some(status), Some(number)) = (&st.status, st.number) else {
        return Ok(MergeOutcome::Skipped { reason: "no pull request".into() });
    };
    if matches!(st.state, PrView::Merged | PrView::ClosedByConvoy | PrView::ClosedByPerson) {
        return Ok(MergeOutcome::Skipped { reason: format!("PR #{number} is {}", st.state.as_str()) });
    }
    let pending = st.state == PrView::Open && st.checks == Some(CheckState::Pending);
    if let Some(reason) = st.merge_blocker() {
        if pending && options.auto {
            if options.dry_run {
                return Ok(MergeOutcome::Refused {
                    number: Some(number),
                    reason: "checks are still running; auto-merge would be turned on".into(),
                });
            }
            return match forge.enable_auto_merge(repo, &status.pr, options.method).await {
                Ok(true) => Ok(MergeOutcome::AutoMergeEnabled { number }),
                Ok(false) => Ok(MergeOutcome::Refused {
                    number: Some(number),
                    reason: format!("{reason}, and the forge has no auto-merge for this repository"),
                }),
                Err(e) => refusal(number, e),
            };
        }
        return Ok(MergeOutcome::Refused { number: Some(number), reason });
    }
    if options.dry_run {
        return Ok(MergeOutcome::WouldMerge { number });
    }
    match forge.merge_pull_request(repo, number, options.method).await {
        Ok(m) => Ok(MergeOutcome::Merged { number, sha: m.sha }),
        Err(e) => refusal(number, e),
    }
}

/// A forge's "no" (GitHub's 405 "not mergeable", 409 "head branch was modified", protection
/// rules) is the repository's result; anything else (network, auth) is its error.
fn refusal(number: u64, e: ForgeError) -> Result<MergeOutcome, String> {
    match e {
        ForgeError::Conflict(why) | ForgeError::Invalid(why) => {
            Ok(MergeOutcome::Refused { number: Some(number), reason: why })
        }
        other => Err(other.to_string()),
    }
}

/// What `close` did for one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CloseOutcome {
    Closed {
        number: u64,
        branch_deleted: bool,
    },
    /// `--dry-run`: would be closed.
    WouldClose {
        number: u64,
    },
    /// No open pull request: nothing to close (the branch is still deleted with
    /// `--delete-branch` when it exists and no PR is open on it).
    Skipped {
        reason: String,
        branch_deleted: bool,
    },
}

impl CloseOutcome {
    pub fn key(&self) -> &'static str {
        match self {
            CloseOutcome::Closed { .. } => "closed",
            CloseOutcome::WouldClose { .. } => "would_close",
            CloseOutcome::Skipped { .. } => "skipped",
        }
    }
}

/// Close the campaign's open pull requests (marked [`CLOSED_BY_CONVOY`] so `status` and `apply`
/// tell them from a person's), and with `delete_branch` delete the campaign branch.
pub async fn close(
    forge: &dyn Forge,
    branch: &str,
    statuses: Vec<RepoResult<RepoStatus>>,
    delete_branch: bool,
    dry_run: bool,
) -> Vec<RepoResult<CloseOutcome>> {
    let mut out = Vec::with_capacity(statuses.len());
    for RepoResult { repo, result } in statuses {
        let result = match result {
            Err(e) => Err(e),
            Ok(st) => close_one(forge, &repo, branch, &st, delete_branch, dry_run).await,
        };
        out.push(RepoResult { repo, result });
    }
    out
}

pub(crate) async fn close_one(
    forge: &dyn Forge,
    repo: &RepoId,
    branch: &str,
    st: &RepoStatus,
    delete_branch: bool,
    dry_run: bool,
) -> Result<CloseOutcome, String> {
    let open = st.status.as_ref().filter(|s| s.pr.state == PrState::Open);
    let Some(status) = open else {
        // Only a branch no open PR uses is deleted; a merged PR's branch is fair game too.
        let deleted = if delete_branch && !dry_run && st.state != PrView::None {
            forge.delete_branch(repo, branch).await.map_err(|e| e.to_string())?
        } else {
            false
        };
        let reason = match st.number {
            Some(n) => format!("PR #{n} is {}", st.state.as_str()),
            None => "no pull request".into(),
        };
        return Ok(CloseOutcome::Skipped { reason, branch_deleted: deleted });
    };
    let number = status.pr.number;
    if dry_run {
        return Ok(CloseOutcome::WouldClose { number });
    }
    let body = if status.pr.body.contains(CLOSED_BY_CONVOY) {
        None
    } else {
        Some(format!("{}\n\n{CLOSED_BY_CONVOY}\n", status.pr.body.trim_end()))
    };
    let update = PullRequestUpdate { state: Some(PrState::Closed), body, ..Default::default() };
    forge.update_pull_request(repo, number, &update).await.map_err(|e| e.to_string())?;
    let branch_deleted =
        if delete_branch { forge.delete_branch(repo, branch).await.map_err(|e| e.to_string())? } else { false };
    Ok(CloseOutcome::Closed { number, branch_deleted })
}

/// `3d`, `5h`, `12m`, `40s`: an age in its largest whole unit.
pub fn age_text(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::PullRequest;

    fn status(state: PrState, draft: bool, checks: Option<CheckState>, mergeable: Mergeable) -> RepoStatus {
        let pr = PullRequest {
            number: 4,
            state,
            title: "t".into(),
            body: String::new(),
            head: "convoy/x".into(),
            base: "main".into(),
            head_sha: "0".repeat(40),
            draft,
            labels: Vec::new(),
            reviewers: Vec::new(),
            assignees: Vec::new(),
            url: "u".into(),
            merge_commit_sha: None,
            node_id: None,
            created_at: Some("2026-11-28T12:00:00Z".into()),
            merged_at: None,
            closed_at: None,
        };
        RepoStatus::from_newest(Some(PullRequestStatus { pr, checks, review: None, mergeable }))
    }

    #[test]
    fn only_open_green_unconflicted_prs_may_be_merged() {
        let ok = status(PrState::Open, false, Some(CheckState::Success), Mergeable::Unknown);
        assert_eq!(ok.merge_blocker(), None);
        let cases = [
            (status(PrState::Open, true, Some(CheckState::Success), Mergeable::Mergeable), "a draft"),
            (status(PrState::Open, false, None, Mergeable::Mergeable), "no checks"),
            (status(PrState::Open, false, Some(CheckState::Failure), Mergeable::Mergeable), "checks failed"),
            (status(PrState::Open, false, Some(CheckState::Pending), Mergeable::Mergeable), "still running"),
            (status(PrState::Open, false, Some(CheckState::Success), Mergeable::Conflicting), "conflicts"),
            (status(PrState::Merged, false, None, Mergeable::Unknown), "already merged"),
        ];
        for (st, why) in cases {
            let blocker = st.merge_blocker().unwrap_or_default();
            assert!(blocker.contains(why), "{blocker:?} should say {why:?}");
        }
        let mut changes = ok.clone();
        changes.review = Some(ReviewDecision::ChangesRequested);
        assert!(changes.merge_blocker().unwrap().contains("requested changes"));
    }

    #[test]
    fn closed_prs_are_told_apart_by_convoys_marker() {
        let mut st = status(PrState::Closed, false, None, Mergeable::Unknown);
        assert_eq!(st.state, PrView::ClosedByPerson);
        let mut s = st.status.take().unwrap();
        s.pr.body = format!("x\n\n{CLOSED_BY_CONVOY}\n");
        assert_eq!(RepoStatus::from_newest(Some(s)).state, PrView::ClosedByConvoy);
        assert_eq!(RepoStatus::from_newest(None).state, PrView::None);
    }

    #[test]
    fn ages_read_in_their_largest_unit() {
        assert_eq!(age_text(40), "40s");
        assert_eq!(age_text(3 * 60 + 5), "3m");
        assert_eq!(age_text(5 * 3600 + 1), "5h");
        assert_eq!(age_text(3 * 86_400), "3d");
        assert_eq!(age_text(-5), "0s");
    }
}
