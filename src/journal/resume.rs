//! What a run that takes over a dead run's claim resumes: the earlier runs that stopped
//! part-way, their steps and the ones left without an outcome.
//!
//! The journal alone cannot tell a run that stopped from one that finished (no line marks a
//! run's end, and a run that found nothing to do writes nothing), but the claim can: a run gives
//! its claim back when it ends, so a claim still there whose process is gone, or whose lease
//! ran out, was left by a run that did not finish. That run, and the runs just before it that
//! left intents without outcomes, are what the new run reports it resumes. A run that finished
//! normally has already read the forge over any intent an earlier run left pending, so those
//! are not reported again by the runs after it.
//!
//! Resuming is not replaying: the campaign engine reads the forge (branch heads, pull requests
//! by head branch) and does only what is missing, so an intent without an outcome is simply
//! found done, or done now. Its outcome is never written afterwards: an outcome is the word of
//! the run that tried the step, and that run is gone. `verify` lists such intents as pending,
//! and they are not a problem.

use std::fmt;

use serde::Serialize;

use super::entry::{Entry, Kind, Op};
use super::verify::{Pending, Progress};

/// An earlier run that stopped part-way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interrupted {
    pub run: String,
    /// The steps (intents) it wrote.
    pub steps: usize,
    /// Of those, the ones whose outcome it wrote too.
    pub finished: usize,
    /// The ones it left without an outcome: tried or not, the forge tells.
    pub pending: Vec<Pending>,
}

/// The runs to report as resumed by a run that took over the claim of run `stale` (left behind
/// by a run that did not finish): `stale` itself, when it wrote anything, and, going back from
/// the end of the journal, every run that left an intent without an outcome, up to the first
/// run (other than `stale`) that left none. In journal order. Empty when `stale` is `None`.
pub fn interrupted(entries: &[Entry], stale: Option<&str>) -> Vec<Interrupted> {
    let Some(stale) = stale else { return Vec::new() };
    let progress = Progress::of(entries);
    // Runs in the order of their last entry.
    let mut runs: Vec<&str> = Vec::new();
    for e in entries {
        if let Some(i) = runs.iter().position(|r| *r == e.run) {
            runs.remove(i);
        }
        runs.push(&e.run);
    }
    let mut out = Vec::new();
    for run in runs.into_iter().rev() {
        let pending: Vec<Pending> = progress.pending.iter().filter(|p| p.run == run).cloned().collect();
        if pending.is_empty() && run != stale {
            break;
        }
        let steps = entries.iter().filter(|e| e.run == run && e.kind == Kind::Intent).count();
        out.push(Interrupted { run: run.to_string(), steps, finished: steps - pending.len(), pending });
    }
    out.reverse();
    out
}

impl fmt::Display for Interrupted {
    /// `run X stopped after 7 steps; 1 step had no outcome: pr_open acme/api (convoy/ci into
    /// main)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = |n: usize| if n == 1 { "1 step".to_string() } else { format!("{n} steps") };
        write!(f, "run {} stopped after {}", self.run, steps(self.steps))?;
        match self.pending.len() {
            0 if self.steps == 0 => Ok(()),
            0 => write!(f, ", each with its outcome"),
            n => {
                let ops: Vec<String> = self.pending.iter().map(|p| p.op.to_string()).collect();
                write!(f, "; {} had no outcome: {}", steps(n), ops.join(", "))
            }
        }
    }
}

impl fmt::Display for Op {
    /// The step in a few words: `pr_open acme/api (convoy/ci into main)`, `pr_merge acme/api#3
    /// (squash)`, `commit acme/api on convoy/ci`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |sha: &str| sha.chars().take(12).collect::<String>();
        match self {
            Op::BranchCreate { repo, branch, sha } => write!(f, "branch_create {repo} {branch} at {}", short(sha)),
            Op::BranchMove { repo, branch, to, .. } => write!(f, "branch_move {repo} {branch} to {}", short(to)),
            Op::BranchDelete { repo, branch, .. } => write!(f, "branch_delete {repo} {branch}"),
            Op::Commit { repo, branch, parent } if branch.is_empty() => {
                write!(f, "commit {repo} on {}", short(parent))
            }
            Op::Commit { repo, branch, .. } => write!(f, "commit {repo} on {branch}"),
            Op::PrOpen { repo, head, base } => write!(f, "pr_open {repo} ({head} into {base})"),
            Op::PrUpdate { repo, pr } => write!(f, "pr_update {repo}#{pr}"),
            Op::PrClose { repo, pr } => write!(f, "pr_close {repo}#{pr}"),
            Op::PrMerge { repo, pr, method } => write!(f, "pr_merge {repo}#{pr} ({method})"),
            Op::Revert { repo, branch, commit } => write!(f, "revert {repo} {} on {branch}", short(commit)),
            Op::Tag { repo, tag, sha } => write!(f, "tag {repo} {tag} at {}", short(sha)),
            Op::Release { repo, tag } => write!(f, "release {repo} {tag}"),
            Op::TagDelete { repo, tag } => write!(f, "delete tag {repo} {tag}"),
            Op::ReleaseDelete { repo, id } => write!(f, "delete release {repo} #{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use time::OffsetDateTime;

    use super::*;
    use crate::journal::entry::{Done, GENESIS, Outcome};

    /// A journal from `(run, step)` pairs: `Intent(n)` opens step n, `Outcome(n)` ends it.
    enum Step {
        Intent(u64),
        Outcome(u64),
    }

    fn journal(steps: &[(&str, Step)]) -> Vec<Entry> {
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let mut out: Vec<Entry> = Vec::new();
        let mut seq_of = std::collections::BTreeMap::new();
        for (run, step) in steps {
            let seq = out.len() as u64;
            let prev = out.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
            let e = match step {
                Step::Intent(n) => {
                    seq_of.insert(*n, seq);
                    Entry::intent(seq, at, run, &prev, Op::PrUpdate { repo: format!("acme/r{n}"), pr: *n })
                }
                Step::Outcome(n) => Entry::outcome(seq, at, run, &prev, seq_of[n], Outcome::Ok(Done::default())),
            };
            out.push(e);
        }
        out
    }

    use Step::{Intent as I, Outcome as O};

    #[test]
    fn nothing_is_resumed_without_a_stale_claim() {
        let j = journal(&[("a", I(1))]);
        assert!(interrupted(&j, None).is_empty());
    }

    #[test]
    fn the_stale_run_is_reported_with_its_pending_steps() {
        let j = journal(&[("a", I(1)), ("a", O(1)), ("a", I(2)), ("a", O(2)), ("a", I(3))]);
        let r = interrupted(&j, Some("a"));
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].steps, r[0].finished, r[0].pending.len()), (3, 2, 1));
        assert_eq!(r[0].to_string(), "run a stopped after 3 steps; 1 step had no outcome: pr_update acme/r3#3");
        // Killed before an intent: every step it took has its outcome, and it still stopped.
        let j = journal(&[("a", I(1)), ("a", O(1))]);
        assert_eq!(interrupted(&j, Some("a"))[0].to_string(), "run a stopped after 1 step, each with its outcome");
        // Killed before its first step: nothing to say.
        assert!(interrupted(&journal(&[("a", I(1)), ("a", O(1))]), Some("b")).is_empty());
    }

    #[test]
    fn earlier_pending_runs_count_back_to_the_last_run_that_left_none() {
        // `old` left a step open, `clean` finished after it (it read the forge over that step),
        // `x` then left one open and `y` died before writing anything (its claim is the stale one).
        let j = journal(&[("old", I(1)), ("clean", I(2)), ("clean", O(2)), ("x", I(3)), ("x", O(3)), ("x", I(4))]);
        let runs: Vec<_> = interrupted(&j, Some("y")).into_iter().map(|r| r.run).collect();
        assert_eq!(runs, ["x"]);
        let runs: Vec<_> = interrupted(&j, Some("x")).into_iter().map(|r| r.run).collect();
        assert_eq!(runs, ["x"]);
        // Two interrupted runs in a row are both reported.
        let j = journal(&[("a", I(1)), ("b", I(2)), ("b", O(2)), ("b", I(3))]);
        let r = interrupted(&j, Some("b"));
        assert_eq!(r.iter().map(|r| r.run.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(r[0].pending[0].intent, 0);
    }
}
