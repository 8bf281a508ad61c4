//! `convoy cost`: flags to [`crate::policy::cost`] calls, the estimate to stdout, the suggested
//! scheduler to stdout or a file.

use std::path::PathBuf;

use clap::Args;

use super::{Cli, Failure, SelectArgs, emit, fetch, open_reading, progress};
use crate::policy::audit::Policy;
use crate::policy::cost;
use crate::workspace::Depth;

/// One page of GitHub's runs API.
const MAX_HISTORY: usize = 100;

#[derive(Debug, Args)]
pub struct CostArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
    /// last online run saved (docs/cli.md#the-clone-cache). With `--history 0` nothing goes
    /// over the network; otherwise the run durations are still read from the forge.
    #[arg(long)]
    pub offline: bool,
    /// Recent runs per scheduled workflow to average durations over (at most 100; 0: do not ask
    /// the forge, use `[policy.cost] assumed_minutes_per_run`).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub history: usize,
    /// Also render one scheduler workflow that dispatches the high-frequency scheduled
    /// workflows at consolidated times, with the runs it saves.
    #[arg(long)]
    pub suggest_scheduler: bool,
    /// Write the suggested scheduler workflow to FILE instead of printing it.
    #[arg(long, short, value_name = "FILE", requires = "suggest_scheduler")]
    pub output: Option<PathBuf>,
}

pub async fn cost(cli: &Cli, args: &CostArgs) -> Result<bool, Failure> {
    let session = open_reading(cli, &args.select, Depth::Keep, args.offline).await?;
    let policy = Policy::new(&session.manifest.model.policy).map_err(Failure::usage)?;
    let fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
    let failed: Vec<(String, String)> =
        fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (r.repo.full_name(), e.clone()))).collect();
    let reporter = progress::reporter(cli.quiet, session.options.jobs);
    let limit = args.history.min(MAX_HISTORY);
    let collected = cost::collect(&session.org(), &session.forge, &policy, &failed, limit, reporter.as_ref()).await;
    let min_interval = policy.min_interval_minutes();
    let mut report = cost::estimate(
        &session.manifest.model.org.name,
        &collected.inputs,
        &session.manifest.model.policy.cost,
        min_interval,
        collected.history,
    );
    report.skipped = collected.skipped;
    report.errors = collected.errors;
    let mut written = None;
    if args.suggest_scheduler {
        let timeout = policy.default_timeout_minutes().clamp(1, 10);
        let suggestion = cost::suggest_scheduler(&report, timeout).map_err(Failure::run)?;
        if let (Some(path), Some(yaml)) = (&args.output, &suggestion.workflow) {
            crate::workspace::write::write_atomically(path, yaml.as_bytes())
                .map_err(|e| Failure::run(format!("cannot write {}: {e}", path.display())))?;
            written = Some(path.display().to_string());
        }
        report.scheduler = Some(suggestion);
    }
    let ok = report.errors.is_empty();
    emit(
        cli,
        &session,
        || crate::report::cost::cost_json(&report).skipped(&session.selection.skipped),
        || cost::text(&report, written.as_deref()),
    );
    Ok(ok)
}
