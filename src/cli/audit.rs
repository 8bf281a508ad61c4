//! `convoy audit` and `convoy report merge`: flags to [`crate::policy`] calls, reports to
//! stdout or a file, findings to an exit code.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Cli, Failure, SelectArgs, fetch, open_reading, progress};
use crate::campaign::SetupError;
use crate::policy::audit::Policy;
use crate::policy::shard::Shard;
use crate::policy::{AuditReport, Severity, render, run, sarif};
use crate::transform::policy_fixes::PolicyFixes;
use crate::workspace::Depth;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped by repository, for people.
    Text,
    /// The versioned report (the input of `convoy report merge`).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// For `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// GitHub Actions workflow commands (`::warning file=...::`), one per finding.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Exit 1 on any finding.
    Note,
    /// Exit 1 on a warning or an error.
    Warning,
    /// Exit 1 on an error only.
    Error,
    /// Exit 0 whatever the findings (repositories that could not be audited still fail).
    Never,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
    /// last online run saved, so nothing goes over the network (docs/cli.md#the-clone-cache).
    #[arg(long)]
    pub offline: bool,
    /// Audit only shard K of N (e.g. `2/8`): a stable share of the repositories, for matrix jobs.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// With `--shard`: the identity of the run the shards belong to, recorded in the report so
    /// that `convoy report merge` refuses shards of different runs. Default: `GITHUB_RUN_ID` in
    /// GitHub Actions.
    #[arg(long, value_name = "ID", env = "CONVOY_RUN_ID")]
    pub run_id: Option<String>,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Exit 1 when a finding has this severity or worse.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Write the report to this file instead of stdout (written whole or not at all).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Instead of reporting, plan the fixes for what can be fixed safely (diffs, nothing written).
    #[arg(long, conflicts_with_all = ["format", "output", "shard"])]
    pub fix: bool,
    /// With `--fix`: open or update one pull request per repository on `[policy] fix_branch`.
    #[arg(long, requires = "fix")]
    pub apply: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// JSON reports written by `convoy audit --format json` (one per shard).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// Output format of the merged report (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Exit 1 when a finding of the merged report has this severity or worse, as `audit
    /// --fail-on` (a shard's repository that could not be audited fails too).
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Write the merged report to this file instead of stdout (written whole or not at all).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

fn format_of(cli: &Cli, format: Option<Format>) -> Format {
    format.unwrap_or(if cli.json { Format::Json } else { Format::Text })
}

/// `report` in `format`; JSON is the envelope of the command that runs (`audit`, `report
/// merge`), with `usage` as its `api`.
fn render(cli: &Cli, report: &AuditReport, format: Format, usage: Option<crate::forge::ApiUsage>) -> String {
    match format {
        Format::Text => render::text(report),
        Format::Json => super::envelope(cli, usage, crate::report::audit::audit_json(report)).to_line() + "\n",
        Format::Sarif => serde_json::to_string_pretty(&sarif::sarif(report)).unwrap_or_default() + "\n",
        Format::Markdown => render::markdown(report),
        Format::Github => render::annotations(report),
    }
}

/// Print or write `text`; a file is replaced atomically.
fn deliver(text: &str, output: Option<&Path>) -> Result<(), Failure> {
    match output {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(path) => crate::workspace::write::write_atomically(path, text.as_bytes())
            .map_err(|e| Failure::run(format!("cannot write {}: {e}", path.display()))),
    }
}

/// `true` when nothing reaches `fail_on` and every repository was audited.
fn verdict(report: &AuditReport, fail_on: FailOn) -> bool {
    let threshold = match fail_on {
        FailOn::Note => Some(Severity::Note),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Error => Some(Severity::Error),
        FailOn::Never => None,
    };
    let failing = match (threshold, report.worst()) {
        (Some(t), Some(w)) => w >= t,
        _ => false,
    };
    !failing && report.errors.is_empty()
}

/// The fixes as a campaign of their own: their own branch, title and body, and only the policy
/// fixes as changes (not the manifest's templates and files).
fn fix_campaign(manifest: crate::manifest::Manifest) -> crate::manifest::Manifest {
    let branch = manifest.model.policy.fix_branch.clone();
    super::own_campaign(manifest, branch, "convoy/policy-fixes", "ci: fix GitHub Actions policy findings", &fix_body())
}

/// The PR body of `audit --fix`: what was fixed, what is left for a person, as separate
/// Markdown blocks (see [`crate::report::markdown`]).
fn fix_body() -> String {
    crate::report::markdown::list_body_template(
        "`convoy audit --fix` made these changes to bring the workflows of {{ repo.full_name }} in line with the {{ org.name }} policy:",
        "fixes",
        "Left for a person (convoy does not guess these)",
        "skipped",
        "Run `convoy audit` to see every finding.",
    )
}

pub async fn audit(cli: &Cli, args: &AuditArgs) -> Result<bool, Failure> {
    if args.fix {
        let manifest = fix_campaign(super::load_manifest(cli)?);
        let mut session = super::open_with(manifest, &args.select, Depth::Keep).await?;
        let policy = Policy::new(&session.manifest.model.policy)
            .map_err(|e| Failure::from(SetupError::Environment(format!("[policy]: {e}"))))?;
        let fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
        // Pinning needs the forge: the tags the findings name are resolved once, up front.
        let wanted = tokio::task::block_in_place(|| crate::policy::pins::wanted(&session.org(), &policy));
        let pins = crate::policy::pins::resolve(session.forge.as_ref(), &wanted).await;
        session.producers = vec![Box::new(PolicyFixes::new(policy, pins))];
        return if args.apply {
            let branch = session.campaign.branch().to_string();
            super::journaled(&mut session, &branch).await?;
            super::rollout::leave_rolled_back_out(&mut session).await?;
            super::apply_fetched(cli, session, fetched).await
        } else {
            super::plan_fetched(cli, session, fetched)
        };
    }
    let session = open_reading(cli, &args.select, Depth::Keep, args.offline).await?;
    let policy = Policy::new(&session.manifest.model.policy).map_err(Failure::usage)?;
    let fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
    let failed: Vec<(String, String)> =
        fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (r.repo.full_name(), e.clone()))).collect();
    let reporter = progress::reporter(cli.quiet, session.options.jobs);
    let mut report = run::audit(&session.org(), &policy, args.shard, &failed, reporter.as_ref());
    let github_run = std::env::var(crate::env_vars::GITHUB_RUN_ID).ok();
    let run_id = crate::policy::shard::run_identity(args.run_id.as_deref(), github_run.as_deref());
    for s in &mut report.shards {
        s.run = run_id.clone();
    }
    session.forge.persist_cache();
    let format = format_of(cli, args.format);
    let skipped = &session.selection.skipped;
    let usage = session.forge.api_usage();
    let text = match format {
        Format::Json => {
            let env = crate::report::audit::audit_json(&report).skipped(skipped);
            super::envelope(cli, usage.clone(), env).to_line() + "\n"
        }
        _ => render(cli, &report, format, None),
    };
    deliver(&text, args.output.as_deref())?;
    if args.output.is_some() || format != Format::Text {
        // The report went elsewhere or is for machines: a one-line summary for the log.
        if !cli.quiet {
            eprintln!("{}", render::summary_line(&report));
        }
    }
    if let Some(line) = usage.as_ref().and_then(crate::report::usage_line) {
        eprintln!("{line}");
    }
    Ok(verdict(&report, args.fail_on))
}

/// The largest shard report `report merge` reads: 1 GiB (an org-wide report with every finding
/// of 1,000 repositories is a few MiB).
const MAX_SHARD_REPORT: u64 = 1 << 30;

pub fn merge(cli: &Cli, args: &MergeArgs) -> Result<bool, Failure> {
    let mut reports = Vec::new();
    for path in &args.reports {
        // Bounded like every input file: a FIFO or /dev/zero given as a shard is refused, not read.
        let bytes = crate::workspace::paths::read_bounded(path, MAX_SHARD_REPORT)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        let report = crate::report::audit::audit_from_json(&bytes)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
        reports.push((path.display().to_string(), report));
    }
    let merged = crate::policy::shard::merge(reports).map_err(Failure::usage)?;
    deliver(&render(cli, &merged, format_of(cli, args.format), None), args.output.as_deref())?;
    Ok(verdict(&merged, args.fail_on))
}
