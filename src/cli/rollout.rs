//! `convoy rollout advance | status | approve | resume`: staged waves with gates and caps (see
//! `campaign::rollout`).

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::{Args, Subcommand};
use serde_json::json;

use crate::report::{Envelope, ErrorItem};

use super::{Cli, Failure, SelectArgs, all_ok, open, print_result, progress, report_apply};
use crate::campaign::rollback::{self, RollbackOutcome};
use crate::campaign::rollout::{self, Caps, Decision, Halt, RolloutState, WavePlan};
use crate::campaign::steer::{self, RepoStatus};
use crate::campaign::{RepoResult, Session};
use crate::forge::RepoId;
use crate::workspace::Depth;

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Evaluate the current wave's gate; if it passes, apply the next wave (within the caps);
    /// if not, say which repositories hold it back and why. Writes nothing when there is nothing
    /// to do: run it from a schedule.
    ///
    /// Exit 1 when the campaign is halted or a repository failed.
    Advance(AdvanceArgs),
    /// Waves × repositories: what each wave's gate waits for.
    Status(RolloutArgs),
    /// Record that a person approved `WAVE` (for waves with `approve = true`).
    Approve {
        #[command(flatten)]
        args: RolloutArgs,
        /// The wave's name.
        wave: String,
    },
    /// Clear a halt and rollback marks so `advance` (and `apply`) go on: every repository
    /// rolled back, or only those of `--repo`.
    Resume(RolloutArgs),
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub campaign: super::steer::CampaignArgs,
    /// Only the repositories of this `[[wave]]`.
    #[arg(long, value_name = "WAVE")]
    pub wave: Option<String>,
    /// Say what would be closed and reverted; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct AdvanceArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Apply no wave after this one.
    #[arg(long, value_name = "WAVE")]
    pub until: Option<String>,
    /// Evaluate and say what would be done; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

struct Rollout {
    session: Session,
    waves: Vec<WavePlan>,
    statuses: BTreeMap<RepoId, RepoStatus>,
    unread: Vec<(RepoId, String)>,
    state: RolloutState,
    /// Where the campaign's claim, journal and rollout state live (`super::state`).
    store: Box<dyn crate::journal::JournalStore>,
}

async fn load(cli: &Cli, select: &SelectArgs) -> Result<Rollout, Failure> {
    let mut session = open(cli, select, Depth::Keep).await?;
    session.producers = crate::transform::manifest_producers_for(&session.manifest, false);
    let waves = rollout::waves(&session.manifest, &session.selection);
    if waves.is_empty() {
        return Err(Failure::usage(
            "the manifest has no [[wave]]: `convoy apply` applies every repository at once; add waves to roll out in stages",
        ));
    }
    let branch = session.campaign.branch().to_string();
    let repos: Vec<RepoId> = waves.iter().flat_map(|w| w.repos.iter().cloned()).collect();
    let mut statuses = BTreeMap::new();
    let mut unread = Vec::new();
    for RepoResult { repo, result } in steer::read(session.forge.as_ref(), &repos, &branch).await {
        match result {
            Ok(s) => {
                statuses.insert(repo, s);
            }
            Err(e) => unread.push((repo, e)),
        }
    }
    let mut store = super::state::store(&session, &branch)?;
    let state = super::state::load_rollout(store.as_mut(), &branch).await?;
    Ok(Rollout { session, waves, statuses, unread, state, store })
}

fn caps(session: &Session) -> Caps {
    let r = &session.manifest.model.rollout;
    Caps { max_open_prs: r.max_open_prs, max_new_prs_per_hour: r.max_new_prs_per_hour }
}

fn waves_text(reports: &[rollout::WaveReport]) -> String {
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.phase.to_string(),
                format!("{}/{}", r.applied, r.repos),
                r.open.to_string(),
                r.merged.to_string(),
                r.failed.to_string(),
                r.rolled_back.to_string(),
                r.waiting_for.first().cloned().unwrap_or_default(),
            ]
        })
        .collect();
    // APPLIED counts the wave's live repositories (rolled-back ones are left out of the wave and
    // its gate), so ROLLED BACK says where the others went.
    let mut out = crate::report::table::text(
        &["WAVE", "PHASE", "APPLIED", "OPEN", "MERGED", "FAILED", "ROLLED BACK", "WAITING FOR"],
        &rows,
    );
    for r in reports {
        for more in r.waiting_for.iter().skip(1) {
            out.push_str(&format!("  {}: {more}\n", r.name));
        }
    }
    out
}

fn decision_text(d: &Decision) -> String {
    match d {
        Decision::Apply { wave, repos, capped } => {
            let names: Vec<String> = repos.iter().map(|r| r.full_name()).collect();
            let cap = capped.as_ref().map(|c| format!(" (capped by {c})")).unwrap_or_default();
            format!(
                "next: apply wave `{wave}` to {}{cap}: {}",
                crate::report::table::count(repos.len(), "repository", "repositories"),
                names.join(", ")
            )
        }
        Decision::Halt { wave, reason, rollback } => {
            format!(
                "next: halt the campaign at wave `{wave}`{}: {reason}",
                if *rollback { " and roll back" } else { "" }
            )
        }
        Decision::Wait { reason } => format!("waiting: {reason}"),
        Decision::Done { reason } => format!("done: {reason}"),
    }
}

pub async fn rollout(cli: &Cli, command: &RolloutCommand) -> Result<bool, Failure> {
    match command {
        RolloutCommand::Status(args) => status(cli, args).await,
        RolloutCommand::Advance(args) => advance(cli, args).await,
        RolloutCommand::Approve { args, wave } => approve(cli, args, wave).await,
        RolloutCommand::Resume(args) => resume(cli, args).await,
    }
}

/// The envelope of `rollout advance` when it applies nothing: the waves' gates as `waves` (one
/// report per wave, in order), the decision as `next`, no `results` (those are the repositories
/// an `advance` applies, as `apply` reports them).
fn waves_envelope(branch: &str, reports: &[rollout::WaveReport], decision: &Decision) -> Envelope {
    Envelope::new("rollout advance")
        .with("campaign", json!({"branch": branch}))
        .with("waves", reports)
        .with("next", decision)
        .count("waves", reports.len())
}

async fn status(cli: &Cli, args: &RolloutArgs) -> Result<bool, Failure> {
    let r = load(cli, &args.select).await?;
    let (decision, reports) =
        rollout::decide(&r.waves, &r.statuses, &r.state, caps(&r.session), crate::clock::now(), None);
    let branch = r.session.campaign.to_string();
    print_result(
        cli,
        r.session.forge.api_usage(),
        || {
            let mut env = Envelope::new("rollout status")
                .with("campaign", json!({"branch": branch}))
                .with("next", &decision)
                .with("halted", &r.state.halted)
                .count("waves", reports.len())
                .results(&reports);
            for (repo, e) in &r.unread {
                env = env.error(ErrorItem::repo(repo.full_name(), e));
            }
            env.count("failed", r.unread.len())
        },
        || {
            let mut out = format!("Campaign `{branch}`\n");
            out.push_str(&waves_text(&reports));
            out.push_str(&decision_text(&decision));
            out.push('\n');
            // Rolled-back repositories are out of their waves; what the rollback left to do
            // (a revert PR to merge) is said here, not only by `status`.
            for (repo, mark) in &r.state.rolled_back {
                out.push_str(&format!("rolled back {repo}: {}\n", mark.what));
            }
            for (repo, e) in &r.unread {
                out.push_str(&format!("could not read {repo}: {e}\n"));
            }
            out
        },
    );
    Ok(r.unread.is_empty())
}

async fn advance(cli: &Cli, args: &AdvanceArgs) -> Result<bool, Failure> {
    let mut r = load(cli, &args.select).await?;
    if let Some(until) = &args.until {
        super::steer::wave_named(&r.waves, "--until", until)?;
    }
    if !r.unread.is_empty() {
        // A gate judged without some of its repositories could pass wrongly: do nothing.
        for (repo, e) in &r.unread {
            eprintln!("error: could not read {repo}: {e}");
        }
        return Err(Failure::run("some repositories could not be read; nothing was advanced"));
    }
    // One `advance` (or `approve`, `resume`) of a campaign at a time: the claim, taken at once
    // (a live claim of another run is exit 3 now; a schedule runs `advance` again later) and
    // held by the journaled forge until the run ends.
    let branch = r.session.campaign.branch().to_string();
    if !args.dry_run {
        super::journaled_now(&mut r.session, &branch).await?;
    }
    // Read the state again under the claim: a run that finished just before may have moved it.
    r.state = super::state::load_rollout(r.store.as_mut(), &branch).await?;
    advance_claimed(cli, args, r).await
}

async fn advance_claimed(cli: &Cli, args: &AdvanceArgs, mut r: Rollout) -> Result<bool, Failure> {
    let now = crate::clock::now();
    let (decision, reports) =
        rollout::decide(&r.waves, &r.statuses, &r.state, caps(&r.session), now, args.until.as_deref());
    let branch = r.session.campaign.to_string();
    if !cli.quiet && !cli.json {
        eprint!("{}", waves_text(&reports));
    }
    if args.dry_run {
        print_result(
            cli,
            r.session.forge.api_usage(),
            || waves_envelope(&branch, &reports, &decision).with("dry_run", true),
            || format!("{} (dry run: nothing was written)\n", decision_text(&decision)),
        );
        return Ok(true);
    }
    match decision.clone() {
        Decision::Apply { wave, repos, .. } => {
            let at = crate::clock::now_rfc3339();
            r.session.selection.targets.retain(|t| repos.contains(&t.repo.id));
            // The other waves' pull requests go in the new PRs' sibling lists from the start.
            r.session.outside_run = r
                .statuses
                .iter()
                .filter(|(repo, _)| !repos.contains(repo))
                .filter_map(|(repo, s)| match s.state {
                    steer::PrView::Open | steer::PrView::Draft => s.number.map(|n| (repo.clone(), (n, false))),
                    steer::PrView::Merged => s.number.map(|n| (repo.clone(), (n, true))),
                    _ => None,
                })
                .collect();
            if !cli.quiet && !cli.json {
                eprintln!("{}", decision_text(&decision));
            }
            let session = Arc::new(r.session);
            let reporter = progress::reporter(cli.quiet, session.options.jobs);
            let results = crate::campaign::fetch_plan_apply(session.clone(), Vec::new(), reporter.as_ref()).await?;
            for res in results.iter().filter(|res| res.result.is_ok()) {
                r.state.applied.insert(res.repo.full_name(), rollout::Applied { wave: wave.clone(), at: at.clone() });
            }
            super::state::save_rollout(r.store.as_mut(), &r.state).await?;
            report_apply(cli, &session, &results, |env| {
                env.with("waves", &reports).with("next", &decision).with("dry_run", false).count("waves", reports.len())
            });
            Ok(all_ok(&results))
        }
        Decision::Halt { wave, reason, rollback } => {
            let mut lines = vec![format!("halted at wave `{wave}`: {reason}")];
            if rollback {
                let repos: Vec<RepoId> = r.waves.iter().flat_map(|w| w.repos.iter().cloned()).collect();
                let statuses = steer::read(r.session.forge.as_ref(), &repos, &branch).await;
                let results = rollback::rollback(r.session.forge.as_ref(), &branch, statuses, false).await;
                record(&mut r.state, &results);
                lines.push(crate::report::steer::rollback_text(&branch, &results, false).trim_end().to_string());
            }
            r.state.halted = Some(Halt { wave, at: crate::clock::now_rfc3339(), reason, rolled_back: rollback });
            super::state::save_rollout(r.store.as_mut(), &r.state).await?;
            lines.push("run `convoy rollout resume` once the cause is fixed".into());
            print_result(
                cli,
                r.session.forge.api_usage(),
                || waves_envelope(&branch, &reports, &decision).with("dry_run", false).with("log", &lines),
                || lines.join("\n") + "\n",
            );
            Ok(false)
        }
        Decision::Wait { .. } | Decision::Done { .. } => {
            let halted = r.state.halted.is_some();
            print_result(
                cli,
                r.session.forge.api_usage(),
                || waves_envelope(&branch, &reports, &decision).with("dry_run", false),
                || decision_text(&decision) + "\n",
            );
            Ok(!halted)
        }
    }
}

async fn approve(cli: &Cli, args: &RolloutArgs, wave: &str) -> Result<bool, Failure> {
    let mut r = load(cli, &args.select).await?;
    if !r.waves.iter().any(|w| w.name == wave) {
        let names: Vec<&str> = r.waves.iter().map(|w| w.name.as_str()).collect();
        return Err(Failure::usage(format!("no wave named `{wave}` (waves: {})", names.join(", "))));
    }
    let by = std::env::var("USER").or_else(|_| std::env::var("GITHUB_ACTOR")).unwrap_or_else(|_| "unknown".into());
    let branch = r.session.campaign.branch().to_string();
    super::journaled_now(&mut r.session, &branch).await?;
    r.state = super::state::load_rollout(r.store.as_mut(), &branch).await?;
    r.state.approved.insert(wave.to_string(), rollout::Approval { by: by.clone(), at: crate::clock::now_rfc3339() });
    super::state::save_rollout(r.store.as_mut(), &r.state).await?;
    print_result(
        cli,
        None,
        || Envelope::new("rollout approve").count("approved", 1).result(json!({"wave": wave, "by": by})),
        || format!("wave `{wave}` approved by {by}; `convoy rollout advance` will apply it when its turn comes\n"),
    );
    Ok(true)
}

async fn resume(cli: &Cli, args: &RolloutArgs) -> Result<bool, Failure> {
    // No waves needed: a campaign applied with `apply` and rolled back resumes too.
    let mut session = open(cli, &args.select, Depth::Keep).await?;
    let branch = session.campaign.branch().to_string();
    super::journaled_now(&mut session, &branch).await?;
    let mut store = super::state::store(&session, &branch)?;
    let mut state = super::state::load_rollout(store.as_mut(), &branch).await?;
    let whole = args.select.repos.is_empty();
    let selected: Vec<String> = session.targets().iter().map(|t| t.repo.id.full_name()).collect();
    let was = if whole { state.halted.take() } else { None };
    if was.as_ref().is_some_and(|h| h.rolled_back) {
        // The rollback took the campaign out: every wave starts again.
        state.applied.clear();
    }
    let cleared: Vec<String> =
        state.rolled_back.keys().filter(|name| whole || selected.contains(name)).cloned().collect();
    for name in &cleared {
        state.rolled_back.remove(name);
        state.applied.remove(name);
    }
    if was.is_some() || !cleared.is_empty() {
        super::state::save_rollout(store.as_mut(), &state).await?;
    }
    print_result(
        cli,
        None,
        || {
            Envelope::new("rollout resume")
                .count("cleared", cleared.len())
                .results(cleared.iter().map(|repo| json!({"repo": repo})))
                .with("resumed", &was)
        },
        || {
            let mut out = String::new();
            if let Some(h) = &was {
                let wave = if h.wave.is_empty() { String::new() } else { format!(" at wave `{}`", h.wave) };
                out.push_str(&format!("resumed: the halt{wave} ({}) is cleared\n", h.reason));
            }
            if !cleared.is_empty() {
                out.push_str(&format!(
                    "rolled back no longer: {} (the next `convoy rollout advance` or `convoy apply` applies the campaign there again)\n",
                    cleared.join(", ")
                ));
            }
            if out.is_empty() {
                out.push_str("the campaign is neither halted nor rolled back; nothing to resume\n");
            }
            out
        },
    );
    Ok(true)
}

/// Leave the repositories `convoy rollback` took the campaign out of out of an apply: they are
/// moved to the selection's skipped list with the way back (`convoy rollout resume`). Called
/// under the campaign's claim, by every command that applies a campaign.
pub(super) async fn leave_rolled_back_out(session: &mut Session) -> Result<(), Failure> {
    let branch = session.campaign.branch().to_string();
    let mut store = super::state::store(session, &branch)?;
    let state = super::state::load_rollout(store.as_mut(), &branch).await?;
    if state.rolled_back.is_empty() {
        return Ok(());
    }
    let selection = &mut session.selection;
    let (out, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut selection.targets)
        .into_iter()
        .partition(|t| state.rolled_back.contains_key(&t.repo.id.full_name()));
    selection.targets = kept;
    for t in out {
        let name = t.repo.id.full_name();
        let at = state.rolled_back.get(&name).map(|r| r.at.clone()).unwrap_or_default();
        selection.skipped.push((
            t.repo.id,
            format!("rolled back at {at}; run `convoy rollout resume --repo {name}` to apply the campaign here again"),
        ));
    }
    Ok(())
}

/// Mark each repository the rollback took the campaign out of, so neither `advance` nor
/// `apply` puts it back until `convoy rollout resume`.
fn record(state: &mut RolloutState, results: &[crate::campaign::RepoResult<RollbackOutcome>]) {
    let at = crate::clock::now_rfc3339();
    for res in results {
        if let Ok(o) = &res.result
            && o.rolled_back()
        {
            state.rolled_back.insert(res.repo.full_name(), rollout::RolledBack { at: at.clone(), what: o.text() });
        }
    }
}

/// `convoy rollback`: close the campaign's open pull requests, revert its merged ones, and mark
/// those repositories rolled back. Without `--repo`/`--wave` the whole campaign is marked
/// halted too, so `rollout advance` waits for `convoy rollout resume`.
pub async fn rollback_command(cli: &Cli, args: &RollbackArgs) -> Result<bool, Failure> {
    let (mut session, campaign) = super::steer::session(cli, &args.campaign).await?;
    if !args.dry_run {
        super::journaled(&mut session, campaign.branch()).await?;
    }
    let (mut statuses, waves) = super::steer::read(&session, &campaign).await;
    if let Some(wave) = &args.wave {
        let w = super::steer::wave_named(&waves, "--wave", wave)?;
        statuses.retain(|s| w.repos.contains(&s.repo));
    }
    let branch = campaign.branch().to_string();
    let results = rollback::rollback(session.forge.as_ref(), &branch, statuses, args.dry_run).await;
    if !args.dry_run {
        let mut store = super::state::store(&session, &branch)?;
        let mut state = super::state::load_rollout(store.as_mut(), &branch).await?;
        record(&mut state, &results);
        if args.wave.is_none() && args.campaign.select.repos.is_empty() {
            state.halted = Some(Halt {
                wave: String::new(),
                at: crate::clock::now_rfc3339(),
                reason: "rolled back with `convoy rollback`".into(),
                rolled_back: true,
            });
        }
        super::state::save_rollout(store.as_mut(), &state).await?;
    }
    session.forge.persist_cache();
    print_result(
        cli,
        session.forge.api_usage(),
        || crate::report::steer::rollback_json(&branch, &results, args.dry_run),
        || crate::report::steer::rollback_text(&branch, &results, args.dry_run),
    );
    Ok(all_ok(&results))
}
