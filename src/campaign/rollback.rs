//! `convoy rollback`: take a campaign back out of repositories (issue 11, part 5).
//!
//! Per repository, from the campaign's reading ([`super::steer::read`]):
//!
//! - an **open** (or draft) pull request is closed as convoy closes it (marked
//!   [`CLOSED_BY_CONVOY`](super::apply::CLOSED_BY_CONVOY)) and its branch deleted;
//! - a **merged** pull request gets a revert pull request ([`Forge::revert_pull_request`]):
//!   branch `revert-<number>-<campaign branch>`, one commit whose tree takes back what the merge
//!   brought, labelled [`REVERT_LABEL`]; the merged campaign branch is deleted;
//! - a pull request **closed** unmerged, or none, leaves nothing to undo (a leftover campaign
//!   branch is deleted).
//!
//! Re-running is a no-op: a closed pull request stays closed, and a revert is found again by
//! its branch (open or merged: "reverted already"; closed by a person: left alone, said so).
//! A revert that conflicts with later changes is that repository's error; the others go on.
//! The caller records which repositories were rolled back so that `rollout advance` and `apply`
//! do not put the campaign back ([`super::rollout::RolloutState::rolled_back`]).

use serde::Serialize;

use super::RepoResult;
use super::steer::{PrView, RepoStatus};
use crate::forge::{Forge, NewRevert, PrState, PullRequest, PullRequestUpdate, RepoId, revert_branch};

/// The label every revert pull request gets (GitHub creates a label on first use).
pub const REVERT_LABEL: &str = "revert";

/// What the rollback did (or, with `dry_run`, would do) in one repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RollbackOutcome {
    /// The open pull request `number` was closed and its branch deleted.
    Closed {
        number: u64,
        branch_deleted: bool,
    },
    /// The merged pull request `number` is reverted by the new pull request `revert`.
    Reverted {
        number: u64,
        revert: u64,
        url: String,
    },
    /// A revert of `number` exists already: `revert`, open or merged.
    AlreadyReverted {
        number: u64,
        revert: u64,
        state: &'static str,
    },
    WouldClose {
        number: u64,
    },
    WouldRevert {
        number: u64,
    },
    /// Nothing to undo, and why.
    Nothing {
        reason: String,
        branch_deleted: bool,
    },
}

impl RollbackOutcome {
    /// The outcome's name in `--json` (`action`) and in the summary's counts.
    pub fn key(&self) -> &'static str {
        match self {
            RollbackOutcome::Closed { .. } => "closed",
            RollbackOutcome::Reverted { .. } => "reverted",
            RollbackOutcome::AlreadyReverted { .. } => "already_reverted",
            RollbackOutcome::WouldClose { .. } => "would_close",
            RollbackOutcome::WouldRevert { .. } => "would_revert",
            RollbackOutcome::Nothing { .. } => "nothing",
        }
    }

    /// One line for people.
    pub fn text(&self) -> String {
        let deleted = |d: bool| if d { "; branch deleted" } else { "" };
        match self {
            RollbackOutcome::Closed { number, branch_deleted } => {
                format!("closed PR #{number}{}", deleted(*branch_deleted))
            }
            RollbackOutcome::Reverted { number, revert, url } => {
                format!("merged PR #{number} reverted by PR #{revert} ({url}); merge it to finish")
            }
            RollbackOutcome::AlreadyReverted { number, revert, state } => {
                format!("merged PR #{number} is reverted already by PR #{revert} ({state})")
            }
            RollbackOutcome::WouldClose { number } => format!("would close PR #{number}"),
            RollbackOutcome::WouldRevert { number } => format!("would revert merged PR #{number}"),
            RollbackOutcome::Nothing { reason, branch_deleted } => {
                format!("nothing to undo: {reason}{}", deleted(*branch_deleted))
            }
        }
    }

    /// Whether the repository no longer carries the campaign (or will not once the revert merges).
    pub fn rolled_back(&self) -> bool {
        !matches!(self, RollbackOutcome::WouldClose { .. } | RollbackOutcome::WouldRevert { .. })
    }
}

/// Roll `branch` back in every repository of `statuses`, one after the other.
pub async fn rollback(
    forge: &dyn Forge,
    branch: &str,
    statuses: Vec<RepoResult<RepoStatus>>,
    dry_run: bool,
) -> Vec<RepoResult<RollbackOutcome>> {
    let mut out = Vec::with_capacity(statuses.len());
    for RepoResult { repo, result } in statuses {
        let result = match result {
            Err(e) => Err(e),
            Ok(st) => one(forge, &repo, branch, &st, dry_run).await,
        };
        out.push(RepoResult { repo, result });
    }
    out
}

async fn one(
    forge: &dyn Forge,
    repo: &RepoId,
    branch: &str,
    st: &RepoStatus,
    dry_run: bool,
) -> Result<RollbackOutcome, String> {
    let pr = st.status.as_ref().map(|s| &s.pr);
    match (st.state, pr) {
        (PrView::Open | PrView::Draft, Some(pr)) => {
            if dry_run {
                return Ok(RollbackOutcome::WouldClose { number: pr.number });
            }
            match super::steer::close_one(forge, repo, branch, st, true, false).await? {
                super::steer::CloseOutcome::Closed { number, branch_deleted } => {
                    Ok(RollbackOutcome::Closed { number, branch_deleted })
                }
                other => Err(format!("closing #{}: unexpected answer {other:?}", pr.number)),
            }
        }
        (PrView::Merged, Some(pr)) => revert(forge, repo, branch, pr, dry_run).await,
        _ => {
            let reason = match st.number {
                Some(n) => format!("PR #{n} is {}", st.state.as_str()),
                None => "no pull request".into(),
            };
            let branch_deleted = !dry_run && delete_leftover(forge, repo, branch).await?;
            Ok(RollbackOutcome::Nothing { reason, branch_deleted })
        }
    }
}

async fn revert(
    forge: &dyn Forge,
    repo: &RepoId,
    branch: &str,
    pr: &PullRequest,
    dry_run: bool,
) -> Result<RollbackOutcome, String> {
    let revert_head = revert_branch(pr);
    let mut earlier = forge.find_pull_requests(repo, &revert_head).await.map_err(|e| e.to_string())?;
    earlier.sort_by_key(|p| std::cmp::Reverse(p.number));
    if let Some(r) = earlier.first() {
        return match r.state {
            PrState::Open => {
                Ok(RollbackOutcome::AlreadyReverted { number: pr.number, revert: r.number, state: "open" })
            }
            PrState::Merged => {
                Ok(RollbackOutcome::AlreadyReverted { number: pr.number, revert: r.number, state: "merged" })
            }
            PrState::Closed => Err(format!(
                "the revert of #{} (#{} on {revert_head}) was closed without merging; convoy leaves it alone\n  help: reopen #{} or revert #{} by hand",
                pr.number, r.number, r.number, pr.number
            )),
        };
    }
    if dry_run {
        return Ok(RollbackOutcome::WouldRevert { number: pr.number });
    }
    let new = NewRevert {
        title: format!("Revert \"{}\"", pr.title),
        body: format!(
            "Reverts {repo}#{}: campaign `{branch}` was rolled back with `convoy rollback`.\n\nMerge this pull request to take the campaign's change back out of this repository.\n",
            pr.number
        ),
        draft: false,
    };
    let opened = forge.revert_pull_request(repo, pr, &new).await.map_err(|e| match e {
        crate::forge::ForgeError::Conflict(m) => format!(
            "{m}\n  help: revert #{} by hand; re-running `convoy rollback` skips a repository whose revert pull request exists",
            pr.number
        ),
        other => other.to_string(),
    })?;
    // A label failure does not undo the revert: it is said, and the revert stands.
    let labels = PullRequestUpdate { labels: Some(vec![REVERT_LABEL.to_string()]), ..Default::default() };
    if let Err(e) = forge.update_pull_request(repo, opened.number, &labels).await {
        tracing::warn!(repo = %repo, "could not label revert #{}: {e}", opened.number);
    }
    delete_leftover(forge, repo, branch).await?;
    Ok(RollbackOutcome::Reverted { number: pr.number, revert: opened.number, url: opened.url })
}

/// Delete the campaign branch when it exists (no open pull request uses it here).
async fn delete_leftover(forge: &dyn Forge, repo: &RepoId, branch: &str) -> Result<bool, String> {
    if forge.branch_head(repo, branch).await.map_err(|e| e.to_string())?.is_none() {
        return Ok(false);
    }
    forge.delete_branch(repo, branch).await.map_err(|e| e.to_string())
}
