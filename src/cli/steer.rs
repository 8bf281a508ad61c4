//! `convoy status`, `convoy merge` and `convoy close`: see and steer a campaign's pull requests.

use clap::{Args, ValueEnum};

use super::{Cli, Failure, SelectArgs, all_ok, open, print_result, print_result_as};
use crate::campaign::steer::{self, MergeOptions};
use crate::campaign::{CampaignId, Session};
use crate::forge::MergeMethod;
use crate::report::Envelope;
use crate::report::steer as view;
use crate::workspace::Depth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// A table for people.
    Text,
    /// The JSON envelope (as `--json`).
    Json,
    /// A Markdown table, for `$GITHUB_STEP_SUMMARY`.
    Markdown,
}

#[derive(Debug, Args)]
pub struct CampaignArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// The campaign branch to look at (default: `[campaign] branch`; e.g. the branch of
    /// `audit --fix` or `deps align`).
    #[arg(long, value_name = "BRANCH")]
    pub campaign: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    /// Output format (`--json` is the same as `--format json`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    /// The merge method (default: `[campaign] merge_method`, else the `auto_merge` method, else
    /// `merge`).
    #[arg(long, value_enum)]
    pub method: Option<MergeMethodArg>,
    /// Where checks are still running, turn on the forge's auto-merge instead of refusing.
    #[arg(long)]
    pub auto: bool,
    /// Only the repositories of this `[[wave]]`.
    #[arg(long, value_name = "WAVE")]
    pub wave: Option<String>,
    /// Say what would be merged; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    /// Delete the campaign branch too (never a default branch).
    #[arg(long)]
    pub delete_branch: bool,
    /// Say what would be closed; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MergeMethodArg {
    Merge,
    Squash,
    Rebase,
}

impl From<MergeMethodArg> for MergeMethod {
    fn from(m: MergeMethodArg) -> Self {
        match m {
            MergeMethodArg::Merge => MergeMethod::Merge,
            MergeMethodArg::Squash => MergeMethod::Squash,
            MergeMethodArg::Rebase => MergeMethod::Rebase,
        }
    }
}

/// The session and the campaign the command works on. The branch is checked as git checks
/// branch names, like `[campaign] branch`.
pub(super) async fn session(cli: &Cli, args: &CampaignArgs) -> Result<(Session, CampaignId), Failure> {
    let session = open(cli, &args.select, Depth::Keep).await?;
    let campaign = match &args.campaign {
        Some(branch) => {
            if gix::validate::reference::name_partial(branch.as_str().into()).is_err() || branch.is_empty() {
                return Err(Failure::usage(format!("--campaign {branch:?} is not a valid branch name")));
            }
            CampaignId::named(branch)
        }
        None => session.campaign.clone(),
    };
    Ok((session, campaign))
}

/// The wave `name` given with `flag`, or a usage error listing the waves there are.
pub(super) fn wave_named<'a>(
    waves: &'a [crate::campaign::rollout::WavePlan],
    flag: &str,
    name: &str,
) -> Result<&'a crate::campaign::rollout::WavePlan, Failure> {
    waves.iter().find(|w| w.name == name).ok_or_else(|| {
        let names: Vec<&str> = waves.iter().map(|w| w.name.as_str()).collect();
        Failure::usage(format!("{flag} {name}: no such wave (waves: {})", names.join(", ")))
    })
}

/// The campaign's reading, each row with its wave (when `[[wave]]`s are configured), and the waves.
pub(super) async fn read(
    session: &Session,
    campaign: &CampaignId,
) -> (Vec<crate::campaign::RepoResult<steer::RepoStatus>>, Vec<crate::campaign::rollout::WavePlan>) {
    let repos: Vec<_> = session.targets().iter().map(|t| t.repo.id.clone()).collect();
    let waves = crate::campaign::rollout::waves(&session.manifest, &session.selection);
    let wave_of = crate::campaign::rollout::wave_of(&waves);
    let mut results = steer::read(session.forge.as_ref(), &repos, campaign.branch()).await;
    // The rollback marks; a state convoy cannot read marks nothing here (`rollout` says why).
    let rolled_back = match super::state::store(session, campaign.branch()) {
        Ok(mut store) => super::state::load_rollout(store.as_mut(), campaign.branch())
            .await
            .map(|state| state.rolled_back)
            .unwrap_or_default(),
        Err(_) => Default::default(),
    };
    for r in &mut results {
        if let Ok(s) = &mut r.result {
            s.wave = wave_of.get(&r.repo).cloned();
            let mark = rolled_back.get(&r.repo.full_name());
            s.rolled_back = mark.is_some();
            s.rollback = mark.map(|m| m.what.clone());
        }
    }
    (results, waves)
}

pub async fn status(cli: &Cli, args: &StatusArgs) -> Result<bool, Failure> {
    let (session, campaign) = session(cli, &args.campaign).await?;
    let (results, _) = read(&session, &campaign).await;
    let branch = campaign.to_string();
    let skipped = &session.selection.skipped;
    session.forge.persist_cache();
    let usage = session.forge.api_usage();
    if cli.json || args.format == StatusFormat::Json {
        print_result_as(cli, true, usage, || view::status_json(&branch, &results, skipped), String::new);
    } else if args.format == StatusFormat::Markdown {
        print_result_as(cli, false, usage, || Envelope::new("status"), || view::status_markdown(&branch, &results));
    } else {
        print_result_as(
            cli,
            false,
            usage,
            || Envelope::new("status"),
            || view::status_text(&branch, &results, skipped),
        );
    }
    Ok(all_ok(&results))
}

pub async fn merge(cli: &Cli, args: &MergeArgs) -> Result<bool, Failure> {
    let (mut session, campaign) = session(cli, &args.campaign).await?;
    if !args.dry_run {
        super::journaled(&mut session, campaign.branch()).await?;
    }
    let (mut statuses, waves) = read(&session, &campaign).await;
    if let Some(wave) = &args.wave {
        let w = wave_named(&waves, "--wave", wave)?;
        statuses.retain(|s| w.repos.contains(&s.repo));
    }
    let method = args.method.map(MergeMethod::from).unwrap_or_else(|| session.manifest.campaign().merge_method());
    let options = MergeOptions { method, auto: args.auto, dry_run: args.dry_run };
    let results = steer::merge(session.forge.as_ref(), statuses, options).await;
    let branch = campaign.to_string();
    session.forge.persist_cache();
    print_result(
        cli,
        session.forge.api_usage(),
        || view::merge_json(&branch, &results, args.dry_run),
        || view::merge_text(&branch, &results, args.dry_run),
    );
    Ok(all_ok(&results))
}

pub async fn close(cli: &Cli, args: &CloseArgs) -> Result<bool, Failure> {
    let (mut session, campaign) = session(cli, &args.campaign).await?;
    if !args.dry_run {
        super::journaled(&mut session, campaign.branch()).await?;
    }
    let (statuses, _) = read(&session, &campaign).await;
    let results =
        steer::close(session.forge.as_ref(), campaign.branch(), statuses, args.delete_branch, args.dry_run).await;
    let branch = campaign.to_string();
    session.forge.persist_cache();
    print_result(
        cli,
        session.forge.api_usage(),
        || view::close_json(&branch, &results, args.dry_run),
        || view::close_text(&branch, &results, args.dry_run),
    );
    Ok(all_ok(&results))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusState {
    /// Checks passed: `merge` may merge.
    Success,
    /// Checks failed: `merge` refuses.
    Failure,
    /// Checks still running: `merge --auto` turns on auto-merge.
    Pending,
}

#[derive(Debug, Args)]
pub struct SetStatusArgs {
    #[command(flatten)]
    pub campaign: CampaignArgs,
    /// The commit to mark (default: the head of the campaign branch in each selected repository).
    #[arg(long)]
    pub sha: Option<String>,
    /// The status's name (GitHub's `context`), e.g. `ci`.
    #[arg(long, default_value = "ci")]
    pub context: String,
    /// The status's state (GitHub's `state`).
    #[arg(long, value_enum)]
    pub state: StatusState,
    /// A short text shown beside the status (GitHub's `description`).
    #[arg(long, default_value = "")]
    pub description: String,
}

/// `convoy forge set-status`: a commit status on the campaign head of each selected repository
/// (GitHub's statuses API; the local forge keeps it in `convoy-forge.json`), so a demo or a test
/// can turn a campaign's checks green or red.
pub async fn set_status(cli: &Cli, args: &SetStatusArgs) -> Result<bool, Failure> {
    use crate::forge::{CheckState, CommitStatus};
    let (session, campaign) = session(cli, &args.campaign).await?;
    let state = match args.state {
        StatusState::Success => CheckState::Success,
        StatusState::Failure => CheckState::Failure,
        StatusState::Pending => CheckState::Pending,
    };
    let status = CommitStatus { context: args.context.clone(), state, description: args.description.clone() };
    // Per repository: the commit marked, or why not (`Err`: failed; `Ok(None)`: no campaign branch).
    let mut marked: Vec<(crate::forge::RepoId, Result<Option<String>, String>)> = Vec::new();
    for target in session.targets() {
        let repo = &target.repo.id;
        let sha = match &args.sha {
            Some(sha) => Some(sha.clone()),
            None => match session.forge.branch_head(repo, campaign.branch()).await {
                Ok(head) => head,
                Err(e) => {
                    marked.push((repo.clone(), Err(e.to_string())));
                    continue;
                }
            },
        };
        let Some(sha) = sha else {
            marked.push((repo.clone(), Ok(None)));
            continue;
        };
        match session.forge.set_commit_status(repo, &sha, &status).await {
            Ok(()) => marked.push((repo.clone(), Ok(Some(sha)))),
            Err(e) => marked.push((repo.clone(), Err(format!("{sha}: {e}")))),
        }
    }
    session.forge.persist_cache();
    let context = args.context.clone();
    let state_name = match args.state {
        StatusState::Success => "success",
        StatusState::Failure => "failure",
        StatusState::Pending => "pending",
    };
    let no_branch = format!("no branch {campaign}");
    let ok = marked.iter().all(|(_, r)| r.is_ok());
    print_result(
        cli,
        session.forge.api_usage(),
        || {
            let mut env = Envelope::new("forge set-status")
                .with("context", &context)
                .with("state", state_name)
                .count("repos", marked.len())
                .count("set", marked.iter().filter(|(_, r)| matches!(r, Ok(Some(_)))).count())
                .count("failed", marked.iter().filter(|(_, r)| r.is_err()).count());
            for (repo, r) in &marked {
                env = match r {
                    Ok(Some(sha)) => env.result(serde_json::json!({"repo": repo.full_name(), "sha": sha})),
                    Ok(None) => env.skipped(&[(repo.clone(), no_branch.clone())]),
                    Err(e) => env.error(crate::report::ErrorItem::repo(repo.full_name(), e)),
                };
            }
            env
        },
        || {
            let mut out = String::new();
            for (repo, r) in &marked {
                match r {
                    Err(e) => out.push_str(&format!("{repo} failed: {e}\n")),
                    Ok(None) => out.push_str(&format!("{repo} skipped: {no_branch}\n")),
                    Ok(Some(sha)) => {
                        out.push_str(&format!("{repo} {context} = {} on {}\n", state_name, &sha[..sha.len().min(12)]))
                    }
                }
            }
            out
        },
    );
    Ok(ok)
}
