//! Views of `convoy status`, `merge` and `close`: text tables, Markdown (for
//! `$GITHUB_STEP_SUMMARY`) and their [`Envelope`]s (`campaign` beside the envelope's keys,
//! `results` with one entry per repository, failures under `errors`).

use serde_json::json;

use super::Envelope;
use super::table::{md_cell, plural, text};
use crate::campaign::RepoResult;
use crate::campaign::steer::{CloseOutcome, MergeOutcome, PrView, RepoStatus, StatusSummary, age_text, summarize};
use crate::forge::{CheckState, Mergeable, RepoId, ReviewDecision};

fn checks_text(c: Option<CheckState>, state: PrView) -> &'static str {
    match (c, state) {
        (_, PrView::None | PrView::Merged | PrView::ClosedByConvoy | PrView::ClosedByPerson) => "-",
        (Some(CheckState::Success), _) => "success",
        (Some(CheckState::Failure), _) => "failure",
        (Some(CheckState::Pending), _) => "pending",
        (None, _) => "none",
    }
}

fn review_text(r: Option<ReviewDecision>) -> &'static str {
    match r {
        Some(ReviewDecision::Approved) => "approved",
        Some(ReviewDecision::ChangesRequested) => "changes requested",
        Some(ReviewDecision::ReviewRequired) => "review required",
        None => "-",
    }
}

fn mergeable_text(m: Option<Mergeable>) -> &'static str {
    match m {
        Some(Mergeable::Mergeable) => "yes",
        Some(Mergeable::Conflicting) => "conflict",
        Some(Mergeable::Unknown) => "unknown",
        None => "-",
    }
}

fn row(repo: &RepoId, r: &Result<RepoStatus, String>) -> Vec<String> {
    match r {
        Ok(s) => vec![
            repo.full_name(),
            s.number.map_or("-".into(), |n| format!("#{n}")),
            if s.rolled_back { format!("{}, rolled back", s.state.as_str()) } else { s.state.as_str().into() },
            checks_text(s.checks, s.state).into(),
            review_text(s.review).into(),
            mergeable_text(s.mergeable).into(),
            s.age_seconds.map_or("-".into(), age_text),
            s.wave.clone().unwrap_or_else(|| "-".into()),
            s.url.clone().unwrap_or_default(),
        ],
        Err(e) => {
            vec![repo.full_name(), "-".into(), "failed".into(), e.clone(), String::new(), String::new(), String::new()]
        }
    }
}

const HEADER: [&str; 9] = ["REPOSITORY", "PR", "STATE", "CHECKS", "REVIEW", "MERGEABLE", "AGE", "WAVE", "URL"];

fn summary_line(s: &StatusSummary) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (s.open, "open"),
        (s.draft, "draft"),
        (s.merged, "merged"),
        (s.closed_by_convoy, "closed by convoy"),
        (s.closed_by_person, "closed by a person"),
        (s.no_pr, "without a PR"),
        (s.failed, "failed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    let mut line = format!("{} {}: {}", s.repos, plural(s.repos, "repository", "repositories"), parts.join(", "));
    let active = s.open + s.draft;
    if active > 0 {
        line.push_str(&format!(
            "; checks of open PRs: {} success, {} failure, {} pending, {} none",
            s.checks_success, s.checks_failure, s.checks_pending, s.checks_none
        ));
        if s.conflicting > 0 {
            line.push_str(&format!("; {} conflicting", s.conflicting));
        }
    }
    line + "\n"
}

pub fn status_text(branch: &str, results: &[RepoResult<RepoStatus>], skipped: &[(RepoId, String)]) -> String {
    let rows: Vec<Vec<String>> = results.iter().map(|r| row(&r.repo, &r.result)).collect();
    let mut out = format!("Campaign `{branch}`\n");
    out.push_str(&text(&HEADER, &rows));
    out.push_str(&summary_line(&summarize(results)));
    for r in results {
        if let Ok(RepoStatus { rollback: Some(what), .. }) = &r.result {
            out.push_str(&format!("rolled back {}: {what}\n", r.repo));
        }
    }
    for (repo, why) in skipped {
        out.push_str(&format!("skipped {repo}: {why}\n"));
    }
    out
}

pub fn status_markdown(branch: &str, results: &[RepoResult<RepoStatus>]) -> String {
    let mut out = format!("### Campaign `{}`\n\n", branch.replace('`', ""));
    out.push_str("| Repository | PR | State | Checks | Review | Mergeable | Age | Wave |\n");
    out.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let cells = row(&r.repo, &r.result);
        let pr = match &r.result {
            Ok(s) => match (s.number, &s.url) {
                (Some(n), Some(url)) if url.starts_with("http") => format!("[#{n}]({url})"),
                (Some(n), _) => format!("#{n}"),
                _ => "-".into(),
            },
            Err(_) => "-".into(),
        };
        let mut line = format!("| {} | {pr} |", md_cell(&cells[0], 200));
        for cell in &cells[2..8.min(cells.len())] {
            line.push_str(&format!(" {} |", md_cell(cell, 300)));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&summary_line(&summarize(results)));
    out
}

pub fn status_json(branch: &str, results: &[RepoResult<RepoStatus>], skipped: &[(RepoId, String)]) -> Envelope {
    Envelope::new("status")
        .with("campaign", json!({"branch": branch}))
        .counts(summarize(results))
        .repo_results(results, |repo, s| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["repo"] = json!(repo.full_name());
            v
        })
        .skipped(skipped)
}

fn merge_detail(o: &MergeOutcome) -> String {
    match o {
        MergeOutcome::Merged { number, sha } => format!("merged PR #{number} ({})", &sha[..sha.len().min(12)]),
        MergeOutcome::WouldMerge { number } => format!("would merge PR #{number}"),
        MergeOutcome::AutoMergeEnabled { number } => format!("auto-merge turned on for PR #{number}"),
        MergeOutcome::Refused { number: Some(n), reason } => format!("PR #{n} not merged: {reason}"),
        MergeOutcome::Refused { number: None, reason } => format!("not merged: {reason}"),
        MergeOutcome::Skipped { reason } => format!("nothing to merge: {reason}"),
    }
}

pub fn merge_text(branch: &str, results: &[RepoResult<MergeOutcome>], dry_run: bool) -> String {
    let mut out = String::new();
    for r in results {
        let detail = match &r.result {
            Ok(o) => merge_detail(o),
            Err(e) => format!("failed: {e}"),
        };
        out.push_str(&format!("{} {detail}\n", r.repo));
    }
    let n = |k: &str| results.iter().filter(|r| r.result.as_ref().is_ok_and(|o| o.key() == k)).count();
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    let verb = if dry_run { "would merge" } else { "merged" };
    let merged = if dry_run { n("would_merge") } else { n("merged") };
    out.push_str(&format!(
        "Campaign `{branch}`: {merged} {verb}, {} auto-merge, {} refused, {} with nothing to merge, {failed} failed{}\n",
        n("auto_merge"),
        n("refused"),
        n("skipped"),
        if dry_run { " (dry run: nothing was written)" } else { "" }
    ));
    out
}

pub fn merge_json(branch: &str, results: &[RepoResult<MergeOutcome>], dry_run: bool) -> Envelope {
    let keys = ["merged", "would_merge", "auto_merge", "refused", "skipped"];
    outcome_json("merge", branch, results, dry_run, &keys, MergeOutcome::key)
}

fn close_detail(o: &CloseOutcome) -> String {
    match o {
        CloseOutcome::Closed { number, branch_deleted } => {
            format!("closed PR #{number}{}", if *branch_deleted { "; branch deleted" } else { "" })
        }
        CloseOutcome::WouldClose { number } => format!("would close PR #{number}"),
        CloseOutcome::Skipped { reason, branch_deleted } => {
            format!("nothing to close: {reason}{}", if *branch_deleted { "; branch deleted" } else { "" })
        }
    }
}

pub fn close_text(branch: &str, results: &[RepoResult<CloseOutcome>], dry_run: bool) -> String {
    let mut out = String::new();
    for r in results {
        let detail = match &r.result {
            Ok(o) => close_detail(o),
            Err(e) => format!("failed: {e}"),
        };
        out.push_str(&format!("{} {detail}\n", r.repo));
    }
    let n = |k: &str| results.iter().filter(|r| r.result.as_ref().is_ok_and(|o| o.key() == k)).count();
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    let closed = if dry_run { n("would_close") } else { n("closed") };
    out.push_str(&format!(
        "Campaign `{branch}`: {closed} {}, {} with nothing to close, {failed} failed{}\n",
        if dry_run { "would be closed" } else { "closed" },
        n("skipped"),
        if dry_run { " (dry run: nothing was written)" } else { "" }
    ));
    out
}

pub fn close_json(branch: &str, results: &[RepoResult<CloseOutcome>], dry_run: bool) -> Envelope {
    outcome_json("close", branch, results, dry_run, &["closed", "would_close", "skipped"], CloseOutcome::key)
}

pub fn rollback_text(
    branch: &str,
    results: &[RepoResult<crate::campaign::rollback::RollbackOutcome>],
    dry_run: bool,
) -> String {
    let mut out = String::new();
    for r in results {
        let detail = match &r.result {
            Ok(o) => o.text(),
            Err(e) => format!("failed: {e}"),
        };
        out.push_str(&format!("{} {detail}\n", r.repo));
    }
    let n = |k: &str| results.iter().filter(|r| r.result.as_ref().is_ok_and(|o| o.key() == k)).count();
    let failed = results.iter().filter(|r| r.result.is_err()).count();
    if dry_run {
        out.push_str(&format!(
            "Campaign `{branch}`: {} would be closed, {} reverted, {} with nothing to undo, {failed} failed (dry run: nothing was written)\n",
            n("would_close"),
            n("would_revert"),
            n("nothing") + n("already_reverted"),
        ));
    } else {
        out.push_str(&format!(
            "Campaign `{branch}`: {} closed, {} reverted ({} already), {} with nothing to undo, {failed} failed\n",
            n("closed"),
            n("reverted"),
            n("already_reverted"),
            n("nothing"),
        ));
    }
    out
}

pub fn rollback_json(
    branch: &str,
    results: &[RepoResult<crate::campaign::rollback::RollbackOutcome>],
    dry_run: bool,
) -> Envelope {
    let keys = ["closed", "reverted", "already_reverted", "would_close", "would_revert", "nothing"];
    outcome_json("rollback", branch, results, dry_run, &keys, crate::campaign::rollback::RollbackOutcome::key)
}

/// The envelope of a command that acts on a campaign (`merge`, `close`, `rollback`): `summary`
/// counts each `keys` entry (by `key_of`) plus `repos` and `failed`; `results` each outcome's
/// fields plus `repo`; failures under `errors`.
fn outcome_json<T: serde::Serialize>(
    command: &str,
    branch: &str,
    results: &[RepoResult<T>],
    dry_run: bool,
    keys: &[&str],
    key_of: impl Fn(&T) -> &'static str,
) -> Envelope {
    let mut env = Envelope::new(command)
        .with("campaign", json!({"branch": branch}))
        .with("dry_run", dry_run)
        .count("repos", results.len())
        .count("failed", results.iter().filter(|r| r.result.is_err()).count());
    for k in keys {
        env = env.count(k, results.iter().filter(|r| r.result.as_ref().is_ok_and(|o| key_of(o) == *k)).count());
    }
    env.repo_results(results, |repo, o| {
        let mut v = serde_json::to_value(o).unwrap_or_default();
        v["repo"] = json!(repo.full_name());
        v
    })
}
