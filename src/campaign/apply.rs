//! Apply: turn each repository's change set into one commit on the campaign branch and one pull
//! request, converging on re-runs.
//!
//! Per repository, every write is preceded by the read that tells whether it is needed:
//! - the open PR for the campaign branch is looked up first (never a second PR);
//! - the branch is rewritten only if its commit does not already have the wanted tree on the
//!   wanted parent (re-running changes nothing);
//! - a repository whose change became empty gets its PR closed and the branch deleted.
//!
//! A second pass writes the sibling list into every open PR of the campaign, and with it the
//! title, labels and (for new PRs) assignees: one update per PR, only where something differs,
//! all handed to the forge at once so it can send them together ([`Forge::update_pull_requests`]:
//! on GitHub, `graphql_batch` pull requests per paced write).
//!
//! Content-creating requests are what a campaign waits on (a forge takes them one at a time), so
//! a new PR is proposed through [`Forge::open_change`] (one GraphQL document on GitHub) and
//! everything else about it is settled by that single second-pass update.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;

use super::body::{parse_merged, parse_siblings, with_siblings};
use super::{CampaignId, RepoPlan, RepoResult, Session};
use crate::change::FileDiff;
use crate::forge::{
    Forge, ForgeError, NewPullRequest, PrState, PullRequest, PullRequestBatchItem, PullRequestUpdate, RepoId,
};
use crate::manifest::ConflictStrategy;
use crate::progress::Reporter;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ApplyAction {
    /// A new pull request.
    Opened { number: u64, url: String },
    /// The existing PR was brought up to date (`pushed`: new commit; else title/body/labels).
    Updated { number: u64, url: String, pushed: bool },
    /// The existing PR already matches: nothing was written.
    Unchanged { number: u64, url: String },
    /// The change disappeared: the PR was closed and its branch deleted.
    Closed { number: u64, url: String },
    /// No change and no PR: nothing to do.
    Nothing,
    /// Left alone on purpose, with the reason (a PR a person closed, a campaign branch with
    /// commits convoy did not write); `number`/`url` name the PR concerned, if any.
    Left { number: Option<u64>, url: String, reason: String },
}

impl ApplyAction {
    fn open_pr(&self) -> Option<u64> {
        match self {
            ApplyAction::Opened { number, .. }
            | ApplyAction::Updated { number, .. }
            | ApplyAction::Unchanged { number, .. } => Some(*number),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ApplyOutcome {
    pub action: ApplyAction,
    pub files: usize,
    /// What a person should know (a PR retargeted to a new default branch, open PRs left on a
    /// renamed campaign branch, a branch kept because it has someone else's commits).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Internal per-repo state between the two passes.
struct Pass1 {
    action: ApplyAction,
    files: usize,
    /// The open PR as it stands after pass 1.
    pr: Option<PullRequest>,
    /// The title and body (without the sibling section) the plan wants.
    title: String,
    body: String,
    notes: Vec<String>,
    /// The repository's newest campaign PR, when it is merged and none is open: it stays in the
    /// sibling list, marked merged, so reviewers see the campaign's progress.
    merged: Option<u64>,
}

fn context(session: &Session) -> Arc<ApplyContext> {
    let campaign = session.manifest.campaign();
    Arc::new(ApplyContext {
        forge: session.forge.clone(),
        campaign: session.campaign.clone(),
        message: campaign.commit_message.get_ref().clone(),
        labels: campaign.labels.clone(),
        draft: campaign.draft,
        reviewers: campaign.reviewers.clone(),
        assignees: campaign.assignees.clone(),
        auto_merge: campaign.auto_merge,
        conflict: campaign.conflict_strategy,
        reopen_closed: campaign.reopen_closed,
        outside_run: session.outside_run.clone(),
    })
}

/// Fetch, plan and apply each repository in one go, `jobs` repositories at a time, so clones
/// and plans run while other repositories wait for their turn to write (writes are paced one
/// at a time: with separate stages, the fetch stage would add to the run instead of hiding in
/// it). `refused` repositories (no push access) fail without being touched.
pub async fn fetch_plan_apply(
    session: Arc<Session>,
    refused: Vec<(RepoId, String)>,
    reporter: &dyn Reporter,
) -> Result<Vec<RepoResult<ApplyOutcome>>, super::SetupError> {
    let credentials = Arc::new(session.fetch_setup().await?);
    let ctx = context(&session);
    reporter.stage("apply", session.targets().len());
    let permits = Arc::new(Semaphore::new(session.options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let (step_tx, steps_in) = tokio::sync::mpsc::unbounded_channel();
    let mut results: Vec<Option<RepoResult<Pass1>>> = Vec::new();
    for (index, target) in session.targets().iter().enumerate() {
        results.push(None);
        let repo = target.repo.id.clone();
        if let Some((_, why)) = refused.iter().find(|(r, _)| *r == repo) {
            reporter.item_finished(&repo.full_name(), false, why);
            results[index] = Some(RepoResult { repo, result: Err(why.clone()) });
            continue;
        }
        let (ctx, permits, session, credentials) = (ctx.clone(), permits.clone(), session.clone(), credentials.clone());
        let steps = Steps { item: repo.full_name(), to: step_tx.clone() };
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            steps.started();
            let planning = steps.clone();
            let planned = tokio::task::spawn_blocking(move || {
                let target = &session.targets()[index];
                planning.stage("fetch");
                session
                    .fetch_one(target, credentials.as_ref().as_ref())
                    .map_err(|e| format!("not planned, the fetch failed: {e}"))
                    .and_then(|_| {
                        planning.stage("plan");
                        session.plan_one(target)
                    })
            })
            .await
            .unwrap_or_else(|e| Err(format!("internal error: {e}")));
            let result = match planned {
                Ok(plan) => {
                    steps.stage("write");
                    ctx.pass1(&repo, &plan).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            (index, RepoResult { repo, result })
        });
    }
    drop(step_tx);
    collect_pass1(tasks, steps_in, &mut results, reporter).await;
    let results: Vec<RepoResult<Pass1>> = results.into_iter().flatten().collect();
    Ok(finish(ctx, session.options.jobs.max(1), results, reporter).await)
}

/// Apply `plans` (from [`Session::plan`]) through the session's forge.
pub async fn apply(
    session: &Session,
    plans: Vec<RepoResult<RepoPlan>>,
    reporter: &dyn Reporter,
) -> Vec<RepoResult<ApplyOutcome>> {
    let ctx = context(session);
    reporter.stage("apply", plans.len());
    let permits = Arc::new(Semaphore::new(session.options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let (step_tx, steps_in) = tokio::sync::mpsc::unbounded_channel();
    let mut results: Vec<Option<RepoResult<Pass1>>> = Vec::new();
    for (index, planned) in plans.into_iter().enumerate() {
        results.push(None);
        let RepoResult { repo, result } = planned;
        let plan = match result {
            Ok(p) => p,
            Err(e) => {
                reporter.item_finished(&repo.full_name(), false, &e);
                results[index] = Some(RepoResult { repo, result: Err(e) });
                continue;
            }
        };
        let (ctx, permits) = (ctx.clone(), permits.clone());
        let steps = Steps { item: repo.full_name(), to: step_tx.clone() };
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            steps.started();
            steps.stage("write");
            let result = ctx.pass1(&repo, &plan).await.map_err(|e| e.to_string());
            (index, RepoResult { repo, result })
        });
    }
    drop(step_tx);
    collect_pass1(tasks, steps_in, &mut results, reporter).await;
    let results: Vec<RepoResult<Pass1>> = results.into_iter().flatten().collect();
    finish(ctx, session.options.jobs.max(1), results, reporter).await
}

/// A task's progress on its way to the reporter: tasks are spawned (`'static`), the reporter is
/// borrowed by the caller, so the steps go through a channel that [`collect_pass1`] reads.
#[derive(Clone)]
struct Steps {
    item: String,
    to: tokio::sync::mpsc::UnboundedSender<(String, Option<&'static str>)>,
}

impl Steps {
    /// The task holds a `jobs` slot: its work begins ([`Reporter::item_started`]).
    fn started(&self) {
        let _ = self.to.send((self.item.clone(), None));
    }
    /// [`Reporter::item_stage`]: `fetch`, `plan`, `write`.
    fn stage(&self, stage: &'static str) {
        let _ = self.to.send((self.item.clone(), Some(stage)));
    }
}

/// Wait for pass 1 of every task, passing their steps on to `reporter` as they come and each
/// repository's pass-1 outcome as it ends (`item_finished`; pass 2 reports only its failures).
async fn collect_pass1(
    mut tasks: tokio::task::JoinSet<(usize, RepoResult<Pass1>)>,
    mut steps: tokio::sync::mpsc::UnboundedReceiver<(String, Option<&'static str>)>,
    results: &mut [Option<RepoResult<Pass1>>],
    reporter: &dyn Reporter,
) {
    loop {
        tokio::select! {
            // A task's steps are sent before it ends: taking them first keeps their order.
            biased;
            Some((item, step)) = steps.recv() => match step {
                None => reporter.item_started(&item),
                Some(stage) => reporter.item_stage(&item, stage),
            },
            joined = tasks.join_next() => match joined {
                Some(Ok((index, r))) => {
                    let name = r.repo.full_name();
                    match &r.result {
                        Ok(p) => reporter.item_finished(&name, true, &describe(&p.action)),
                        Err(e) => reporter.item_finished(&name, false, e),
                    }
                    results[index] = Some(r);
                }
                Some(Err(_)) => {}
                None => break,
            },
        }
    }
}

/// Pass 2 over pass 1's results, and the per-repository report.
async fn finish(
    ctx: Arc<ApplyContext>,
    jobs: usize,
    results: Vec<RepoResult<Pass1>>,
    reporter: &dyn Reporter,
) -> Vec<RepoResult<ApplyOutcome>> {
    // Pass 2: the sibling list. Siblings this run did not settle (filtered out with --repo, or
    // failed before their PR could be looked at) keep what the PR bodies listed before.
    // Merged PRs stay listed, marked merged.
    let mut siblings: BTreeMap<RepoId, u64> = BTreeMap::new();
    let mut merged: std::collections::BTreeSet<RepoId> = Default::default();
    let in_run: std::collections::BTreeSet<RepoId> =
        results.iter().filter(|r| r.result.is_ok()).map(|r| r.repo.clone()).collect();
    for r in &results {
        if let Ok(p) = &r.result {
            if let Some(pr) = &p.pr {
                let was_merged = parse_merged(&pr.body);
                for (repo, number) in parse_siblings(&pr.body) {
                    if !in_run.contains(&repo) {
                        if was_merged.contains(&repo) {
                            merged.insert(repo.clone());
                        }
                        siblings.insert(repo, number);
                    }
                }
            }
            if let Some(n) = p.action.open_pr() {
                siblings.insert(r.repo.clone(), n);
            } else if let Some(n) = p.merged {
                siblings.insert(r.repo.clone(), n);
                merged.insert(r.repo.clone());
            }
        }
    }
    // What the caller read of repositories outside the run is fresher than the bodies' lists.
    for (repo, (number, was_merged)) in ctx.outside_run.iter().filter(|(repo, _)| !in_run.contains(*repo)) {
        siblings.insert(repo.clone(), *number);
        if *was_merged {
            merged.insert(repo.clone());
        }
    }
    let siblings: Vec<(RepoId, u64)> = siblings.into_iter().collect();
    // Every update is handed over at once, so the forge can send them together (GitHub: one
    // GraphQL document, a single paced write, per `graphql_batch` pull requests). `settled`
    // keeps each repository's pass-1 outcome and the index of its update in `items`, if any.
    let mut settled: Vec<(RepoResult<ApplyOutcome>, Option<usize>)> = Vec::new();
    let mut items: Vec<PullRequestBatchItem> = Vec::new();
    for RepoResult { repo, result } in results {
        match result {
            Ok(p) => {
                let update = ctx.second_update(&repo, &p, &siblings, &merged);
                let slot = update.map(|(pr, update)| {
                    items.push(PullRequestBatchItem { repo: repo.clone(), pr, update });
                    items.len() - 1
                });
                settled.push((
                    RepoResult { repo, result: Ok(ApplyOutcome { action: p.action, files: p.files, notes: p.notes }) },
                    slot,
                ));
            }
            Err(e) => settled.push((RepoResult { repo, result: Err(e) }, None)),
        }
    }
    let mut answers = ctx.forge.update_pull_requests(&items, jobs).await.into_iter().map(Some).collect::<Vec<_>>();
    let out: Vec<RepoResult<ApplyOutcome>> = settled
        .into_iter()
        .map(|(RepoResult { repo, result }, slot)| {
            let answer = slot.and_then(|n| answers.get_mut(n).and_then(Option::take));
            let result = result.and_then(|outcome| match answer {
                Some(Err(e)) => Err(e.to_string()),
                Some(Ok(())) => {
                    let action = match outcome.action {
                        ApplyAction::Unchanged { number, url } => ApplyAction::Updated { number, url, pushed: false },
                        other => other,
                    };
                    Ok(ApplyOutcome { action, ..outcome })
                }
                None => Ok(outcome),
            });
            RepoResult { repo, result }
        })
        .collect();
    reporter.stage_done();
    // Pass 1 reported every repository; a failed pull request update is reported on its own.
    let updated: std::collections::BTreeSet<&RepoId> = items.iter().map(|i| &i.repo).collect();
    let update_failed: Vec<(&RepoId, &String)> = out
        .iter()
        .filter(|r| updated.contains(&r.repo))
        .filter_map(|r| r.result.as_ref().err().map(|e| (&r.repo, e)))
        .collect();
    if !update_failed.is_empty() {
        reporter.stage("update", update_failed.len());
        for (repo, e) in update_failed {
            reporter.item_finished(&repo.full_name(), false, e);
        }
        reporter.stage_done();
    }
    out
}

pub fn describe(action: &ApplyAction) -> String {
    match action {
        ApplyAction::Opened { number, .. } => format!("opened PR #{number}"),
        ApplyAction::Updated { number, pushed: true, .. } => format!("pushed new commit to PR #{number}"),
        ApplyAction::Updated { number, .. } => format!("updated PR #{number}"),
        ApplyAction::Unchanged { number, .. } => format!("PR #{number} up to date"),
        ApplyAction::Closed { number, .. } => format!("closed PR #{number} (no change left)"),
        ApplyAction::Nothing => "nothing to do".into(),
        ApplyAction::Left { reason, .. } => reason.clone(),
    }
}

struct ApplyContext {
    forge: Arc<dyn Forge>,
    campaign: CampaignId,
    message: String,
    labels: Vec<String>,
    draft: bool,
    reviewers: Vec<String>,
    assignees: Vec<String>,
    auto_merge: Option<crate::forge::MergeMethod>,
    conflict: ConflictStrategy,
    reopen_closed: bool,
    /// [`super::Session::outside_run`].
    outside_run: BTreeMap<RepoId, (u64, bool)>,
}

/// The git trailer convoy ends each of its commits with, `Convoy-Campaign: <branch>`.
///
/// "Commits convoy did not write", precisely: the campaign branch's head commit is convoy's when
/// it has exactly one parent (convoy writes one commit on the default branch's head) and its
/// message has the trailer line `Convoy-Campaign: <branch>` (or, for branches written before
/// the trailer existed, the message is exactly `[campaign] commit_message`). A person's commit
/// on top of convoy's, a merge, or a branch someone else made all fail this test.
pub const CAMPAIGN_TRAILER: &str = "Convoy-Campaign";

/// Written into the body of a PR convoy closes because its change disappeared: a closed PR
/// without it was closed by a person (works on every forge, needs no event history).
pub const CLOSED_BY_CONVOY: &str = "<!-- convoy:closed-by-convoy -->";

/// See [`CAMPAIGN_TRAILER`].
fn written_by_convoy(message: &str, parents: usize, branch: &str, legacy_message: &str) -> bool {
    let trailer = format!("{CAMPAIGN_TRAILER}: {branch}");
    parents == 1 && (message.lines().any(|l| l.trim_end() == trailer) || message.trim() == legacy_message.trim())
}

impl ApplyContext {
    async fn pass1(&self, repo: &RepoId, plan: &RepoPlan) -> Result<Pass1, ForgeError> {
        let mut combined = true;
        let mut attempt = 0;
        loop {
            let result = self.converge(repo, plan, combined).await;
            match result {
                // Part of a combined write happened: read the state back and finish step by step.
                Err(ForgeError::Partial(why)) if attempt < 2 => {
                    tracing::warn!(%repo, "{why}; reading the state back");
                }
                // Another writer got there first (a concurrent `convoy apply`: "a pull request
                // already exists", a branch that moved under us): read its result back and
                // converge on it instead of failing.
                Err(ForgeError::Conflict(why)) if attempt < 2 => {
                    tracing::info!(%repo, "{why}; reading the state back");
                }
                other => return other,
            }
            combined = false;
            attempt += 1;
        }
    }

    /// The commit message of convoy's commits: the manifest's message and the trailer that marks
    /// the commit as convoy's ([`CAMPAIGN_TRAILER`]).
    fn commit_message(&self) -> String {
        format!("{}\n\n{CAMPAIGN_TRAILER}: {}\n", self.message.trim_end(), self.campaign.branch())
    }

    /// Whether convoy wrote commit `sha` of the campaign branch (see [`CAMPAIGN_TRAILER`]).
    async fn wrote(&self, repo: &RepoId, sha: &str) -> Result<bool, ForgeError> {
        let info = self.forge.commit_info(repo, sha).await?;
        Ok(written_by_convoy(&info.message, info.parents.len(), self.campaign.branch(), &self.message))
    }

    /// Open pull requests of `repo` that convoy opened (their body has convoy's sibling section)
    /// on another head branch: the campaign's `branch` was renamed while they were open.
    async fn renamed_from(&self, repo: &RepoId) -> Result<Vec<String>, ForgeError> {
        let open = self.forge.open_pull_requests(repo).await?;
        Ok(open
            .iter()
            .filter(|p| p.head != self.campaign.branch() && !parse_siblings(&p.body).is_empty())
            .map(|p| {
                format!(
                    "PR #{} on branch `{}` is still open: [campaign] branch is now `{}`, so convoy no longer updates it; close it (or set branch back)",
                    p.number, p.head, self.campaign.branch()
                )
            })
            .collect())
    }

    /// Bring the branch and the PR's existence in line with `plan`. `combined`: a PR that does
    /// not exist yet may be proposed in one [`Forge::open_change`].
    async fn converge(&self, repo: &RepoId, plan: &RepoPlan, combined: bool) -> Result<Pass1, ForgeError> {
        let forge = &self.forge;
        // Defence in depth (`validate` refuses it too, and the forges refuse to write it): the
        // campaign never moves or deletes a default branch.
        if self.campaign.branch() == plan.base_branch {
            return Err(ForgeError::Invalid(format!(
                "[campaign] branch `{}` is the default branch of {repo}; convoy never moves or deletes a default branch\n  help: choose a branch of its own, e.g. branch = \"convoy/sync\"",
                self.campaign.branch()
            )));
        }
        let prs = forge.find_pull_requests(repo, self.campaign.branch()).await?;
        let open = prs.iter().find(|p| p.state == PrState::Open).cloned();
        // The newest PR of the branch, if a person closed it (convoy marks the ones it closes).
        let closed_by_person =
            prs.first().filter(|p| p.state == PrState::Closed && !p.body.contains(CLOSED_BY_CONVOY)).cloned();
        let mut notes = Vec::new();
        let merged = prs.first().filter(|p| p.state == PrState::Merged && open.is_none()).map(|p| p.number);
        let nothing = |action, notes| Pass1 {
            action,
            files: 0,
            pr: None,
            title: String::new(),
            body: String::new(),
            notes,
            merged,
        };

        if plan.files.is_empty() {
            return Ok(match open {
                Some(pr) => {
                    let body = format!("{}\n\n{CLOSED_BY_CONVOY}\n", pr.body.trim_end());
                    let close =
                        PullRequestUpdate { state: Some(PrState::Closed), body: Some(body), ..Default::default() };
                    forge.update_pull_request(repo, pr.number, &close).await?;
                    // Commits a person pushed to the branch stay: only convoy's own branch goes.
                    if self.wrote(repo, &pr.head_sha).await? {
                        forge.delete_branch(repo, self.campaign.branch()).await?;
                    } else {
                        notes.push(format!(
                            "branch `{}` kept: it has commits convoy did not write",
                            self.campaign.branch()
                        ));
                    }
                    nothing(ApplyAction::Closed { number: pr.number, url: pr.url }, notes)
                }
                None => {
                    // A branch left behind without a PR (an interrupted run, a PR closed by hand
                    // whose branch stayed) is cleaned up too, if convoy wrote it.
                    if let Some(head) = forge.branch_head(repo, self.campaign.branch()).await? {
                        if head == plan.base || self.wrote(repo, &head).await? {
                            forge.delete_branch(repo, self.campaign.branch()).await?;
                        } else {
                            notes.push(format!(
                                "branch `{}` kept: it has commits convoy did not write",
                                self.campaign.branch()
                            ));
                        }
                    }
                    nothing(ApplyAction::Nothing, notes)
                }
            });
        }

        // No PR on the branch at all, while there is a change: a new campaign branch, maybe a
        // renamed one (a read only then, so steady-state re-runs do not pay for it).
        if prs.is_empty() {
            // Notes reach people in the apply summary (`note OWNER/NAME: ...`), not the log.
            notes.extend(self.renamed_from(repo).await?);
        }
        let head = match &open {
            Some(pr) => Some(pr.head_sha.clone()),
            None => forge.branch_head(repo, self.campaign.branch()).await?,
        };
        if open.is_none()
            && let Some(pr) = &closed_by_person
            && !self.reopen_closed
        {
            let reason = format!(
                "PR #{} closed by a person; left closed (set [campaign] reopen_closed = true to open it again)",
                pr.number
            );
            return Ok(nothing(ApplyAction::Left { number: Some(pr.number), url: pr.url.clone(), reason }, notes));
        }
        if open.is_none()
            && let Some(sha) = &head
            && self.conflict == ConflictStrategy::Skip
            // A branch still at the base carries no commits at all (a combined write that
            // stopped after creating the branch, or another run's in progress).
            && *sha != plan.base
            && !self.wrote(repo, sha).await?
        {
            let reason = format!(
                "branch `{}` has commits convoy did not write and no open pull request; left as it is (set [campaign] conflict_strategy = \"replace\" to replace it)",
                self.campaign.branch()
            );
            return Ok(nothing(ApplyAction::Left { number: None, url: String::new(), reason }, notes));
        }
        let files = plan.files.len();
        let message = self.commit_message();
        let changes = || plan.files.iter().map(FileDiff::to_change).collect::<Vec<_>>();
        let new_pr = || NewPullRequest {
            title: plan.title.clone(),
            body: with_siblings(&plan.body, self.campaign.branch(), &[], repo, &Default::default()),
            head: self.campaign.branch().to_string(),
            base: plan.base_branch.clone(),
            draft: self.draft,
            // Labels and assignees are set by pass 2's single update, with the sibling list.
            labels: Vec::new(),
            reviewers: self.reviewers.clone(),
            assignees: Vec::new(),
        };
        if open.is_none() && head.is_none() && closed_by_person.is_none() && combined {
            let pr = forge.open_change(repo, &plan.base, &changes(), &message, &new_pr()).await?;
            return self.opened(repo, plan, pr, files, notes).await;
        }
        // The commit must sit on the default branch's head as it is now: a PR whose base is not
        // the default branch any more (the repository's default branch changed) is rebuilt on
        // the new one and retargeted below.
        let up_to_date = match &head {
            Some(sha) => {
                let info = forge.commit_info(repo, sha).await?;
                info.tree == plan.tree && info.parents == [plan.base.clone()]
            }
            None => false,
        };
        if !up_to_date {
            let sha = forge.create_commit(repo, &plan.base, &changes(), &message).await?;
            forge.update_branch(repo, self.campaign.branch(), &sha, true).await?;
        }
        match open {
            Some(mut pr) => {
                let retarget = pr.base != plan.base_branch;
                if retarget {
                    let update = PullRequestUpdate { base: Some(plan.base_branch.clone()), ..Default::default() };
                    let note = format!("retargeted PR #{} from `{}` to `{}`", pr.number, pr.base, plan.base_branch);
                    pr = forge.update_pull_request(repo, pr.number, &update).await?;
                    tracing::info!(%repo, "{note}");
                    notes.push(note);
                }
                let action = if up_to_date && !retarget {
                    ApplyAction::Unchanged { number: pr.number, url: pr.url.clone() }
                } else {
                    ApplyAction::Updated { number: pr.number, url: pr.url.clone(), pushed: !up_to_date }
                };
                Ok(Pass1 {
                    action,
                    files,
                    title: plan.title.clone(),
                    body: plan.body.clone(),
                    pr: Some(pr),
                    notes,
                    merged: None,
                })
            }
            None => {
                // Asked to reopen a PR a person closed: reopen that one (its discussion stays),
                // or open a new one where the forge will not reopen it.
                if let Some(closed) = &closed_by_person {
                    let reopen = PullRequestUpdate { state: Some(PrState::Open), ..Default::default() };
                    match forge.update_pull_request(repo, closed.number, &reopen).await {
                        Ok(mut pr) => {
                            if pr.base != plan.base_branch {
                                let update =
                                    PullRequestUpdate { base: Some(plan.base_branch.clone()), ..Default::default() };
                                pr = forge.update_pull_request(repo, pr.number, &update).await?;
                            }
                            notes
                                .push(format!("reopened PR #{}, which a person had closed (reopen_closed)", pr.number));
                            let action =
                                ApplyAction::Updated { number: pr.number, url: pr.url.clone(), pushed: !up_to_date };
                            let (title, body) = (plan.title.clone(), plan.body.clone());
                            return Ok(Pass1 { action, files, title, body, pr: Some(pr), notes, merged: None });
                        }
                        Err(e) => {
                            tracing::info!(%repo, "PR #{} cannot be reopened ({e}); opening a new one", closed.number)
                        }
                    }
                }
                let pr = forge.create_pull_request(repo, &new_pr()).await?;
                self.opened(repo, plan, pr, files, notes).await
            }
        }
    }

    async fn opened(
        &self,
        repo: &RepoId,
        plan: &RepoPlan,
        pr: PullRequest,
        files: usize,
        notes: Vec<String>,
    ) -> Result<Pass1, ForgeError> {
        if let Some(method) = self.auto_merge
            && !self.forge.enable_auto_merge(repo, &pr, method).await?
        {
            tracing::info!(%repo, "auto-merge not enabled: the repository does not allow it");
        }
        let action = ApplyAction::Opened { number: pr.number, url: pr.url.clone() };
        Ok(Pass1 {
            action,
            files,
            title: plan.title.clone(),
            body: plan.body.clone(),
            pr: Some(pr),
            notes,
            merged: None,
        })
    }

    /// Pass 2's update of one repository's open PR: the sibling list, and the title, labels and
    /// (for a new PR) assignees; `None` when the PR already says all that.
    fn second_update(
        &self,
        repo: &RepoId,
        p: &Pass1,
        siblings: &[(RepoId, u64)],
        merged: &std::collections::BTreeSet<RepoId>,
    ) -> Option<(PullRequest, PullRequestUpdate)> {
        let pr = p.pr.as_ref()?;
        let body = with_siblings(&p.body, self.campaign.branch(), siblings, repo, merged);
        let mut labels = pr.labels.clone();
        for l in &self.labels {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        let fresh = matches!(p.action, ApplyAction::Opened { .. });
        let assignees = self.assignees.iter().filter(|a| !pr.assignees.contains(a)).count();
        let update = PullRequestUpdate {
            title: (pr.title != p.title).then(|| p.title.clone()),
            body: (body != pr.body).then_some(body),
            labels: (labels != pr.labels).then_some(labels),
            assignees: (fresh && assignees > 0).then(|| self.assignees.clone()),
            state: None,
            base: None,
        };
        (update != PullRequestUpdate::default()).then(|| (pr.clone(), update))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_parent_commits_with_the_trailer_are_convoys() {
        let ours = "chore: sync\n\nConvoy-Campaign: convoy/ci\n";
        assert!(written_by_convoy(ours, 1, "convoy/ci", "chore: sync"));
        // The trailer names the branch: another campaign's commit is not this one's.
        assert!(!written_by_convoy(ours, 1, "convoy/other", "something else"));
        // A merge, or a root commit, is never convoy's.
        assert!(!written_by_convoy(ours, 2, "convoy/ci", "chore: sync"));
        assert!(!written_by_convoy(ours, 0, "convoy/ci", "chore: sync"));
        // A person's commit (on top of convoy's or not).
        assert!(!written_by_convoy("fix: my change\n", 1, "convoy/ci", "chore: sync"));
        // Branches written before the trailer: exactly the configured message.
        assert!(written_by_convoy("chore: sync\n", 1, "convoy/ci", "chore: sync"));
        // The trailer must be a line of its own, not a mention.
        assert!(!written_by_convoy("see Convoy-Campaign: convoy/ci\n", 1, "convoy/ci", "x"));
    }
}
