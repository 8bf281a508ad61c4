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

use super::body::{parse_siblings, with_siblings};
use super::{RepoPlan, RepoResult, Session};
use crate::change::FileDiff;
use crate::forge::{
    Forge, ForgeError, NewPullRequest, PrState, PullRequest, PullRequestBatchItem, PullRequestUpdate, RepoId,
};
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
}

fn context(session: &Session) -> Arc<ApplyContext> {
    let campaign = session.manifest.campaign();
    Arc::new(ApplyContext {
        forge: session.forge.clone(),
        branch: campaign.branch.get_ref().clone(),
        message: campaign.commit_message.get_ref().clone(),
        labels: campaign.labels.clone(),
        draft: campaign.draft,
        reviewers: campaign.reviewers.clone(),
        assignees: campaign.assignees.clone(),
        auto_merge: campaign.auto_merge,
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
    let mut results: Vec<Option<RepoResult<Pass1>>> = Vec::new();
    for (index, target) in session.targets().iter().enumerate() {
        results.push(None);
        let repo = target.repo.id.clone();
        if let Some((_, why)) = refused.iter().find(|(r, _)| *r == repo) {
            results[index] = Some(RepoResult { repo, result: Err(why.clone()) });
            continue;
        }
        let (ctx, permits, session, credentials) = (ctx.clone(), permits.clone(), session.clone(), credentials.clone());
        reporter.item_started(&repo.full_name());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let planned = tokio::task::spawn_blocking(move || {
                let target = &session.targets()[index];
                session
                    .fetch_one(target, credentials.as_ref().as_ref())
                    .map_err(|e| format!("not planned, the fetch failed: {e}"))
                    .and_then(|_| session.plan_one(target))
            })
            .await
            .unwrap_or_else(|e| Err(format!("internal error: {e}")));
            let result = match planned {
                Ok(plan) => ctx.pass1(&repo, &plan).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            (index, RepoResult { repo, result })
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, r)) = joined {
            results[index] = Some(r);
        }
    }
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
    let mut results: Vec<Option<RepoResult<Pass1>>> = Vec::new();
    for (index, planned) in plans.into_iter().enumerate() {
        results.push(None);
        let RepoResult { repo, result } = planned;
        let plan = match result {
            Ok(p) => p,
            Err(e) => {
                results[index] = Some(RepoResult { repo, result: Err(e) });
                continue;
            }
        };
        let (ctx, permits) = (ctx.clone(), permits.clone());
        reporter.item_started(&repo.full_name());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = ctx.pass1(&repo, &plan).await.map_err(|e| e.to_string());
            (index, RepoResult { repo, result })
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, r)) = joined {
            results[index] = Some(r);
        }
    }
    let results: Vec<RepoResult<Pass1>> = results.into_iter().flatten().collect();
    finish(ctx, session.options.jobs.max(1), results, reporter).await
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
    let mut siblings: BTreeMap<RepoId, u64> = BTreeMap::new();
    let in_run: std::collections::BTreeSet<RepoId> =
        results.iter().filter(|r| r.result.is_ok()).map(|r| r.repo.clone()).collect();
    for r in &results {
        if let Ok(p) = &r.result {
            if let Some(pr) = &p.pr {
                for (repo, number) in parse_siblings(&pr.body) {
                    if !in_run.contains(&repo) {
                        siblings.insert(repo, number);
                    }
                }
            }
            if let Some(n) = p.action.open_pr() {
                siblings.insert(r.repo.clone(), n);
            }
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
                let update = ctx.second_update(&repo, &p, &siblings);
                let slot = update.map(|(pr, update)| {
                    items.push(PullRequestBatchItem { repo: repo.clone(), pr, update });
                    items.len() - 1
                });
                settled
                    .push((RepoResult { repo, result: Ok(ApplyOutcome { action: p.action, files: p.files }) }, slot));
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
    for r in &out {
        match &r.result {
            Ok(o) => reporter.item_finished(&r.repo.full_name(), true, &describe(&o.action)),
            Err(e) => reporter.item_finished(&r.repo.full_name(), false, e),
        }
    }
    reporter.stage_done();
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
    }
}

struct ApplyContext {
    forge: Arc<dyn Forge>,
    branch: String,
    message: String,
    labels: Vec<String>,
    draft: bool,
    reviewers: Vec<String>,
    assignees: Vec<String>,
    auto_merge: Option<crate::forge::MergeMethod>,
}

impl ApplyContext {
    async fn pass1(&self, repo: &RepoId, plan: &RepoPlan) -> Result<Pass1, ForgeError> {
        match self.converge(repo, plan, true).await {
            // Part of a combined write happened: read the state back and finish step by step.
            Err(ForgeError::Partial(why)) => {
                tracing::warn!(%repo, "{why}; reading the state back");
                self.converge(repo, plan, false).await
            }
            other => other,
        }
    }

    /// Bring the branch and the PR's existence in line with `plan`. `combined`: a PR that does
    /// not exist yet may be proposed in one [`Forge::open_change`].
    async fn converge(&self, repo: &RepoId, plan: &RepoPlan, combined: bool) -> Result<Pass1, ForgeError> {
        let forge = &self.forge;
        let open = forge.find_pull_requests(repo, &self.branch).await?.into_iter().find(|p| p.state == PrState::Open);

        if plan.files.is_empty() {
            return Ok(match open {
                Some(pr) => {
                    forge
                        .update_pull_request(
                            repo,
                            pr.number,
                            &PullRequestUpdate { state: Some(PrState::Closed), ..Default::default() },
                        )
                        .await?;
                    forge.delete_branch(repo, &self.branch).await?;
                    Pass1 {
                        action: ApplyAction::Closed { number: pr.number, url: pr.url },
                        files: 0,
                        pr: None,
                        title: String::new(),
                        body: String::new(),
                    }
                }
                None => {
                    // A branch left behind without a PR (an interrupted run, a PR closed by hand
                    // whose branch stayed) is cleaned up too.
                    forge.delete_branch(repo, &self.branch).await?;
                    Pass1 {
                        action: ApplyAction::Nothing,
                        files: 0,
                        pr: None,
                        title: String::new(),
                        body: String::new(),
                    }
                }
            });
        }

        let head = match &open {
            Some(pr) => Some(pr.head_sha.clone()),
            None => forge.branch_head(repo, &self.branch).await?,
        };
        let files = plan.files.len();
        let changes = || plan.files.iter().map(FileDiff::to_change).collect::<Vec<_>>();
        let new_pr = || NewPullRequest {
            title: plan.title.clone(),
            body: with_siblings(&plan.body, &self.branch, &[], repo),
            head: self.branch.clone(),
            base: plan.base_branch.clone(),
            draft: self.draft,
            // Labels and assignees are set by pass 2's single update, with the sibling list.
            labels: Vec::new(),
            reviewers: self.reviewers.clone(),
            assignees: Vec::new(),
        };
        if open.is_none() && head.is_none() && combined {
            let pr = forge.open_change(repo, &plan.base, &changes(), &self.message, &new_pr()).await?;
            return self.opened(repo, plan, pr, files).await;
        }
        let up_to_date = match &head {
            Some(sha) => {
                let info = forge.commit_info(repo, sha).await?;
                info.tree == plan.tree && info.parents == [plan.base.clone()]
            }
            None => false,
        };
        if !up_to_date {
            let sha = forge.create_commit(repo, &plan.base, &changes(), &self.message).await?;
            forge.update_branch(repo, &self.branch, &sha, true).await?;
        }
        match open {
            Some(pr) => {
                let action = if up_to_date {
                    ApplyAction::Unchanged { number: pr.number, url: pr.url.clone() }
                } else {
                    ApplyAction::Updated { number: pr.number, url: pr.url.clone(), pushed: true }
                };
                Ok(Pass1 { action, files, title: plan.title.clone(), body: plan.body.clone(), pr: Some(pr) })
            }
            None => {
                let pr = forge.create_pull_request(repo, &new_pr()).await?;
                self.opened(repo, plan, pr, files).await
            }
        }
    }

    async fn opened(&self, repo: &RepoId, plan: &RepoPlan, pr: PullRequest, files: usize) -> Result<Pass1, ForgeError> {
        if let Some(method) = self.auto_merge
            && !self.forge.enable_auto_merge(repo, &pr, method).await?
        {
            tracing::info!(%repo, "auto-merge not enabled: the repository does not allow it");
        }
        let action = ApplyAction::Opened { number: pr.number, url: pr.url.clone() };
        Ok(Pass1 { action, files, title: plan.title.clone(), body: plan.body.clone(), pr: Some(pr) })
    }

    /// Pass 2's update of one repository's open PR: the sibling list, and the title, labels and
    /// (for a new PR) assignees; `None` when the PR already says all that.
    fn second_update(
        &self,
        repo: &RepoId,
        p: &Pass1,
        siblings: &[(RepoId, u64)],
    ) -> Option<(PullRequest, PullRequestUpdate)> {
        let pr = p.pr.as_ref()?;
        let body = with_siblings(&p.body, &self.branch, siblings, repo);
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
        };
        (update != PullRequestUpdate::default()).then(|| (pr.clone(), update))
    }
}
