//! Argument parsing, settings resolution, dispatch and exit codes. Nothing here decides what a
//! command does; it turns flags into [`RunOptions`], hands the campaign engine the change
//! producers of the command (`transform/`), and turns results into output.
//!
//! Exit codes: 0 success; 1 some repository failed (the others finished); 2 usage or
//! configuration error (nothing was touched).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod cost;
mod deps;
mod grep;
mod journal;
mod progress;
mod release;
mod rollout;
mod run;
mod setup;
mod state;
mod steer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::campaign::{RepoResult, RunOptions, Session, SetupError};
use crate::manifest::{self, ManifestError, Selector};
use crate::report;
use crate::workspace::{Depth, FetchOutcome};

#[derive(Debug, Parser)]
#[command(
    name = "convoy",
    version,
    about = "Keep a GitHub organisation's repositories in step.",
    after_help = env_help(),
    mut_subcommand("demo", |c| hide_globals(c, &["manifest", "json"])),
    mut_subcommand("init", |c| hide_globals(c, &["manifest", "json"])),
    mut_subcommand("schema", |c| hide_globals(c, &["manifest", "json"])),
    mut_subcommand("completions", |c| hide_globals(c, &["manifest", "quiet", "json"])),
    mut_subcommand("man", |c| hide_globals(c, &["manifest", "quiet", "json"])),
    mut_subcommand("report", |c| c.mut_subcommand("merge", |c| hide_globals(c, &["manifest"]))),
)]
pub struct Cli {
    /// The org manifest, or a folder holding one (default: the nearest org.toml in this folder
    /// or a folder above it).
    #[arg(short = 'm', long, global = true, env = "CONVOY_MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// No progress output; errors and the final summary only.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Machine-readable JSON on stdout (versioned by `schema_version`).
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour text output: `auto` colours a terminal unless `NO_COLOR` is set (or
    /// `CLICOLOR_FORCE` asks for colour anywhere); JSON, SARIF and `-o` files are never coloured.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
    /// The subcommand path (`"plan"`, `"deps align"`): the `command` of every JSON document.
    #[arg(skip)]
    command_path: String,
}

/// `--color WHEN`, as cargo and ripgrep spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset or empty (`CLICOLOR_FORCE`
    /// set and not `0`: colour even in pipes).
    Auto,
    /// Colour everywhere, pipes and files included (not JSON, SARIF or `-o` files).
    Always,
    /// No colour.
    Never,
}

impl ColorWhen {
    fn choice(self) -> anstream::ColorChoice {
        match self {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }

    /// The `--color` of `args` (the last one wins, as clap takes it), looked at before clap
    /// parses them, so that clap's own help and errors follow it too. Written by hand because
    /// clap offers no pass that reads one flag before it reports the errors of the others.
    fn prescan(args: impl IntoIterator<Item = std::ffi::OsString>) -> Option<ColorWhen> {
        use clap::ValueEnum;
        let mut found = None;
        let mut args = args.into_iter().skip(1);
        while let Some(arg) = args.next() {
            let Some(arg) = arg.to_str() else { continue };
            let value = match arg {
                "--" => break,
                "--color" => args.next().and_then(|v| v.into_string().ok()),
                _ => arg.strip_prefix("--color=").map(str::to_string),
            };
            if let Some(when) = value.and_then(|v| ColorWhen::from_str(&v, false).ok()) {
                found = Some(when);
            }
        }
        found
    }
}

/// `-q`, for [`say`]: set once in [`run`], before anything is said.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A line on stderr for a non-fatal event, `LABEL: TEXT` with the label coloured (`warning`
/// yellow, others as `note`). Each event is said once: here for people, not also logged with
/// `tracing::warn!`. `quiet_too`: said even with `-q`, for what went wrong without failing the
/// run (a claim that could not be renewed, a torn journal line cut away); other lines,
/// the recovery notes of a claim taken over or a run resumed among them, are silenced by `-q`.
fn say(label: &str, text: impl std::fmt::Display, quiet_too: bool) {
    if !quiet_too && QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let style = if label == "warning" { report::style::WARNING } else { report::style::NOTE };
    anstream::eprintln!("{} {text}", report::style::label(style, label));
}

/// Whether text written to stderr is coloured under the global colour choice.
fn stderr_coloured() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never
}

impl Cli {
    /// `--manifest`, else `CONVOY_MANIFEST`, else the nearest `org.toml` at or above the current
    /// folder; none found is a usage error that suggests `convoy init` and `convoy demo`.
    fn manifest_path(&self) -> Result<PathBuf, Failure> {
        match &self.manifest {
            // A folder stands for the org.toml in it (`-m my-org`).
            Some(path) if path.is_dir() => Ok(path.join(manifest::discover::MANIFEST_NAME)),
            Some(path) => Ok(path.clone()),
            None => manifest::discover::find_from_current_dir().map_err(|e| Failure::usage(e.to_string())),
        }
    }
}

/// Hide the global options `ids` (the ids of [`Cli`]'s fields) from the help, man page and
/// completions of a command that ignores them (`demo` writes its own manifest, `completions`
/// prints a script, ...).
///
/// clap copies a global option into each subcommand unless the subcommand already has an
/// argument of that id, and offers no per-subcommand switch to hide it; so the command gets a
/// hidden stand-in of the same id, flag and value type. A value given still reaches [`Cli`]
/// (clap propagates global values by id), so a command that refuses `--json` still can.
fn hide_globals(cmd: clap::Command, ids: &[&str]) -> clap::Command {
    use clap::{Arg, ArgAction};
    ids.iter().fold(cmd, |cmd, id| {
        let arg = match *id {
            "manifest" => Arg::new("manifest")
                .short('m')
                .long("manifest")
                .env(crate::env_vars::CONVOY_MANIFEST)
                .value_parser(clap::value_parser!(PathBuf)),
            "quiet" => Arg::new("quiet").short('q').long("quiet").action(ArgAction::SetTrue),
            "json" => Arg::new("json").long("json").action(ArgAction::SetTrue),
            other => panic!("hide_globals: `{other}` is not a global option of convoy"),
        };
        cmd.arg(arg.hide(true))
    })
}

fn env_help() -> String {
    let mut s = String::from("Environment:\n");
    for (name, meaning) in crate::env_vars::ALL {
        s.push_str(&format!("  {name:<16} {meaning}\n"));
    }
    s.push_str(
        "\nExit codes: 0 ok, 1 some repositories failed or the run could not start (forge unreachable, no git), 2 usage or configuration error, 3 another run holds the campaign's claim.",
    );
    s
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the manifest, its templates and selectors against the forge; touches nothing.
    Validate {
        /// No network: check selectors against the listing the last online run saved, or,
        /// when there is none, only what needs no forge (syntax, keys, templates).
        #[arg(long)]
        offline: bool,
    },
    /// Clone or fetch the selected repositories into the cache.
    Fetch {
        #[command(flatten)]
        select: SelectArgs,
        /// Keep exactly N commits of history (default: new clones get 1, existing entries keep
        /// their depth and fetch only what is new).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "full")]
        depth: Option<u32>,
        /// Fetch full history (unshallows existing entries).
        #[arg(long)]
        full: bool,
    },
    /// Show, per repository, the diff a campaign would make; writes nothing to the forge.
    Plan {
        #[command(flatten)]
        select: SelectArgs,
        /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
        /// last online run saved, so nothing goes over the network (docs/cli.md#the-clone-cache).
        #[arg(long)]
        offline: bool,
        /// Instead of the diffs, per repository one `PATH | N ++--` line per file (as `git diff
        /// --stat`), then the table and a totals line.
        #[arg(long)]
        stat: bool,
        /// Print every repository's diffs in full, instead of a diff that several repositories
        /// share once under `same change in N repositories: ...`.
        #[arg(long)]
        no_group: bool,
    },
    /// Commit each change set to the campaign branch and open or update its pull request.
    Apply {
        #[command(flatten)]
        select: SelectArgs,
        /// Use the cache as it is instead of fetching first.
        #[arg(long)]
        offline: bool,
        /// Open pull requests again where a person closed convoy's last one (for this run, as
        /// `[campaign] reopen_closed = true`).
        #[arg(long)]
        reopen: bool,
    },
    /// One row per selected repository: the campaign's pull request, its state, checks, review
    /// decision, mergeability, age and wave; totals.
    ///
    /// Exit 1 when a repository could not be read.
    Status(steer::StatusArgs),
    /// Merge the campaign's pull requests whose checks are green and that the forge reports
    /// mergeable; refuse the others with the reason (or, with `--auto`, turn on auto-merge where
    /// checks are still running).
    ///
    /// A forge's refusal (branch protection, a conflict) is that repository's result. Exit 1 when
    /// a repository failed.
    Merge(steer::MergeArgs),
    /// Close the campaign's open pull requests (marked as closed by convoy), optionally deleting
    /// the campaign branch.
    Close(steer::CloseArgs),
    /// Take the campaign back out: close its open pull requests (deleting their branches) and
    /// open a revert pull request for each merged one; mark those repositories so `rollout
    /// advance` and `apply` do not put it back until `convoy rollout resume`.
    ///
    /// Re-running is a no-op. A revert that conflicts is that repository's error. Exit 1 when a
    /// repository failed.
    Rollback(rollout::RollbackArgs),
    /// Staged rollout in `[[wave]]`s with gates and caps.
    Rollout {
        #[command(subcommand)]
        command: rollout::RolloutCommand,
    },
    /// Check the selected repositories' workflows against the `[policy]` rules.
    ///
    /// Exit 1 when a finding reaches `--fail-on` or a repository could not be audited.
    Audit(audit::AuditArgs),
    /// Estimate the Actions minutes and dollars of scheduled workflows, and what the
    /// `schedule-frequency` fixes (or one consolidated scheduler) would save.
    Cost(cost::CostArgs),
    /// Dependency alignment across the org's repositories.
    Deps {
        #[command(subcommand)]
        command: deps::DepsCommand,
    },
    /// Coordinated releases across repositories (`release graph`, `plan`, `run`, `rollback`).
    Release {
        #[command(subcommand)]
        command: release::ReleaseCommand,
    },
    /// The campaign journal (`journal verify`).
    Journal {
        #[command(subcommand)]
        command: journal::JournalCommand,
    },
    /// Run a command in a scratch checkout of each selected repository and print its output;
    /// a read-only preview (nothing is fetched, written or kept).
    ///
    /// Exit 1 when a command failed in a repository.
    Run(run::RunArgs),
    /// Search the selected repositories' default branches in the clone cache (no checkout).
    ///
    /// Exit 0 when something matched, 1 when nothing did or a repository could not be read.
    Grep(grep::GrepArgs),
    /// Work with audit reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Act on the forge directly (tests, demos).
    Forge {
        #[command(subcommand)]
        command: ForgeCommand,
    },
    /// Inspect credentials for the GitHub forge.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Create a throwaway local org, run validate, fetch and plan against it, then roll the
    /// campaign out in two waves with the real commands, and roll one repository back (it writes
    /// its own manifest, in `--dir`).
    Demo {
        /// Where to create the demo org (recreated if it holds an earlier demo).
        #[arg(long, default_value = "convoy-demo")]
        dir: PathBuf,
    },
    /// Write a starter org (org.toml, templates/, files/) to edit; `convoy validate` passes on it.
    ///
    /// Refuses to overwrite existing files unless `--force` (exit 2).
    Init(setup::InitArgs),
    /// Print the JSON Schema of org.toml (draft 7) to stdout, or write it with `-o FILE`.
    ///
    /// Editors with TOML support read it for completion, hover text and checks as you type:
    /// Taplo and VS Code's Even Better TOML through a first line `#:schema ./org.schema.json` in
    /// org.toml (`convoy init` writes both). After upgrading convoy, refresh the file with
    /// `convoy schema -o org.schema.json`. The schema checks keys, types and values; `convoy
    /// validate` also checks what needs the file system or the forge.
    Schema(setup::SchemaArgs),
    /// Print a shell completion script to stdout.
    ///
    /// bash: `convoy completions bash > ~/.local/share/bash-completion/completions/convoy`;
    /// zsh: `convoy completions zsh > ~/.zfunc/_convoy` (with `fpath+=~/.zfunc` before
    /// `compinit`); fish: `convoy completions fish > ~/.config/fish/completions/convoy.fish`;
    /// PowerShell: `convoy completions powershell | Out-String | Invoke-Expression` in $PROFILE;
    /// elvish: `eval (convoy completions elvish | slurp)` in rc.elv.
    Completions(setup::CompletionsArgs),
    /// Print convoy's man page (roff) to stdout, or write one page per subcommand with `--dir`.
    ///
    /// `convoy man | man -l -` reads it at once; `convoy man --dir ~/.local/share/man/man1`
    /// installs convoy.1, convoy-plan.1 and the others for `man convoy-plan`.
    Man(setup::ManArgs),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the JSON reports of `audit --shard K/N` runs into one report.
    Merge(audit::MergeArgs),
}

#[derive(Debug, Subcommand)]
pub enum ForgeCommand {
    /// Set a commit status (`--context`, `--state`) on the campaign branch's head in each selected
    /// repository, as a CI system would: turns a campaign's checks green or red in demos and tests.
    SetStatus(steer::SetStatusArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Token kind, scopes or permissions, expiry, rate limit, and whether they suffice.
    Status {
        /// The command the credentials are judged for.
        #[arg(long = "for", value_enum, default_value = "apply")]
        purpose: crate::forge::github::status::Purpose,
    },
}

#[derive(Debug, Args, Clone)]
pub struct SelectArgs {
    /// Repositories worked on at once (default: `jobs` in the manifest).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Only these repositories (a selector: name, glob, tag:, topic:, group:). Repeatable.
    #[arg(long = "repo", value_name = "SELECTOR")]
    pub repos: Vec<String>,
}

/// What went wrong for the process as a whole.
struct Failure {
    /// 2: the user must fix the invocation or the manifest; 1: the environment or forge failed.
    code: u8,
    text: String,
    /// Diagnostics for `--json` (file, line, column per error).
    diagnostics: Option<Vec<report::ErrorItem>>,
}

impl Failure {
    fn usage(text: impl Into<String>) -> Self {
        Failure { code: 2, text: text.into(), diagnostics: None }
    }
    fn run(text: impl Into<String>) -> Self {
        Failure { code: 1, text: text.into(), diagnostics: None }
    }
}

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        let diagnostics = match &e {
            SetupError::Invalid(d) | SetupError::Manifest(ManifestError::Invalid(d)) => {
                Some(report::diagnostics_errors(&d.0))
            }
            _ => None,
        };
        Failure { code: e.exit_code(), text: e.to_string(), diagnostics }
    }
}

pub fn run() -> ExitCode {
    // The colour choice is global (anstream's): clap's help and errors, convoy's output and the
    // log all read it.
    if let Some(when) = ColorWhen::prescan(std::env::args_os()) {
        when.choice().write_global();
    }
    let matches = match Cli::command().try_get_matches() {
        Ok(m) => m,
        Err(e) => return usage_error(e),
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    cli.command_path = command_path(&matches);
    cli.color.choice().write_global();
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    init_logging(cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(&cli)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(failure) => {
            print_failure(&cli, &failure);
            ExitCode::from(failure.code)
        }
    }
}

/// The names of the subcommands the arguments chose, joined by spaces (`"deps align"`).
fn command_path(matches: &clap::ArgMatches) -> String {
    let mut names = Vec::new();
    let mut m = matches;
    while let Some((name, sub)) = m.subcommand() {
        names.push(name);
        m = sub;
    }
    names.join(" ")
}

/// A command line clap refused: its own message on stderr (exit 2) and, when `--json` was
/// among the arguments, the failure envelope on stdout. Help and version print as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let wants_json = args.iter().take_while(|a| *a != "--").any(|a| a == "--json");
    let is_output = matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if wants_json && !is_output {
        // The subcommands named before clap stopped: walk the command tree with the words.
        let mut cmd = Cli::command();
        let mut names = Vec::new();
        for word in args.iter().skip(1).take_while(|a| *a != "--").filter_map(|a| a.to_str()) {
            if let Some(sub) = cmd.find_subcommand(word).cloned() {
                names.push(sub.get_name().to_string());
                cmd = sub;
            }
        }
        let message = e.render().to_string();
        let message = message.trim_end().trim_start_matches("error: ");
        let env = report::Envelope::failure(names.join(" "), 2, vec![report::ErrorItem::run(message)]);
        println!("{}", env.to_line());
    }
    let _ = e.print();
    ExitCode::from(if is_output { 0 } else { 2 })
}

/// Errors go to stderr as text; with `--json`, stdout also gets the failure envelope saying why.
fn print_failure(cli: &Cli, failure: &Failure) {
    if cli.json {
        let errors = match &failure.diagnostics {
            Some(d) => d.clone(),
            None => vec![report::ErrorItem::run(failure.text.trim_start_matches("error: "))],
        };
        println!("{}", report::Envelope::failure(&cli.command_path, failure.code, errors).to_line());
    }
    let msg = failure.text.strip_prefix("error: ").unwrap_or(&failure.text);
    anstream::eprintln!("{} {msg}", report::style::label(report::style::ERROR, "error"));
}

/// The log on stderr: `CONVOY_LOG` when set, else warnings and errors (errors only with `-q`);
/// coloured as `--color` says.
fn init_logging(quiet: bool) {
    // octocrab logs every failed request at ERROR, retries included; convoy reports the
    // failure itself, once, with what to do (CONVOY_LOG=octocrab=debug shows them).
    let default = if quiet { "error,octocrab=off" } else { "warn,octocrab=off" };
    let filter = tracing_subscriber::EnvFilter::try_from_env(crate::env_vars::CONVOY_LOG)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(stderr_coloured())
        .with_target(false)
        .try_init();
}

/// `Ok(true)`: everything succeeded; `Ok(false)`: some repositories failed.
async fn dispatch(cli: &Cli) -> Result<bool, Failure> {
    match &cli.command {
        Command::Validate { offline } => validate(cli, *offline).await,
        Command::Fetch { select, depth, full } => {
            let depth = match (depth.and_then(std::num::NonZeroU32::new), full) {
                (_, true) => Depth::Full,
                (Some(n), false) => Depth::Commits(n),
                (None, false) => Depth::Keep,
            };
            let session = open(cli, select, depth).await?;
            let results = fetch(cli, &session).await?;
            let skipped = &session.selection.skipped;
            emit(cli, &session, || report::fetch_json(&results, skipped), || report::fetch_text(&results, skipped));
            Ok(all_ok(&results))
        }
        Command::Plan { select, offline, stat, no_group } => {
            let view = report::PlanTextOptions { stat: *stat, group: !*no_group };
            plan(cli, manifest_campaign(open_reading(cli, select, Depth::Keep, *offline).await?), *offline, view).await
        }
        Command::Apply { select, offline, reopen } => {
            let mut session = open(cli, select, Depth::Keep).await?;
            session.producers = crate::transform::manifest_producers_for(&session.manifest, false);
            session.manifest.model.campaign.reopen_closed |= *reopen;
            let branch = session.campaign.branch().to_string();
            journaled(&mut session, &branch).await?;
            rollout::leave_rolled_back_out(&mut session).await?;
            apply(cli, session, *offline).await
        }
        Command::Status(args) => steer::status(cli, args).await,
        Command::Merge(args) => steer::merge(cli, args).await,
        Command::Close(args) => steer::close(cli, args).await,
        Command::Rollout { command } => rollout::rollout(cli, command).await,
        Command::Rollback(args) => rollout::rollback_command(cli, args).await,
        Command::Forge { command: ForgeCommand::SetStatus(args) } => steer::set_status(cli, args).await,
        Command::Audit(args) => audit::audit(cli, args).await,
        Command::Cost(args) => cost::cost(cli, args).await,
        Command::Deps { command } => deps::deps(cli, command).await,
        Command::Release { command } => release::release(cli, command).await,
        Command::Report { command: ReportCommand::Merge(args) } => audit::merge(cli, args),
        Command::Journal { command } => journal::journal(cli, command).await,
        Command::Run(args) => run::run(cli, args).await,
        Command::Grep(args) => grep::grep(cli, args).await,
        Command::Auth { command: AuthCommand::Status { purpose } } => auth_status(cli, *purpose).await,
        Command::Demo { .. } | Command::Init(_) | Command::Schema(_) | Command::Completions(_) | Command::Man(_)
            if cli.json =>
        {
            Err(Failure::usage(format!(
                "`{}` writes files or text for people and has no JSON output; drop --json (the demo org answers `plan --json`, `apply --json` and the others)",
                cli.command_path
            )))
        }
        Command::Init(args) => setup::init(args),
        Command::Schema(args) => setup::schema(args),
        Command::Completions(args) => setup::completions(args),
        Command::Man(args) => setup::man(args),
        Command::Demo { dir } => crate::demo::run(dir, cli.quiet).await.map_err(|e| match e {
            crate::demo::DemoError::Refused(m) => Failure::usage(m),
            other => Failure::run(other.to_string()),
        }),
    }
}

/// The manifest's own campaign: its templates and files (and prune) are the changes.
fn manifest_campaign(mut session: Session) -> Session {
    session.producers = crate::transform::manifest_producers(&session.manifest);
    session
}

/// Show what a campaign would change (fetching first unless `offline`).
async fn plan(cli: &Cli, session: Session, offline: bool, view: report::PlanTextOptions) -> Result<bool, Failure> {
    let fetched = if offline { Vec::new() } else { fetch(cli, &session).await? };
    plan_fetched_as(cli, session, fetched, view)
}

fn plan_fetched(cli: &Cli, session: Session, fetched: Vec<RepoResult<FetchOutcome>>) -> Result<bool, Failure> {
    plan_fetched_as(cli, session, fetched, report::PlanTextOptions::default())
}

/// Plan and print; `view`: how the text shows the changes (JSON is the same either way).
fn plan_fetched_as(
    cli: &Cli,
    session: Session,
    fetched: Vec<RepoResult<FetchOutcome>>,
    view: report::PlanTextOptions,
) -> Result<bool, Failure> {
    let plans = session.plan_after(&fetched, progress::reporter(cli.quiet, session.options.jobs).as_ref());
    let branch = session.campaign.to_string();
    let skipped = &session.selection.skipped;
    emit(
        cli,
        &session,
        || report::plan_json(&branch, &plans, skipped),
        || report::plan_text_with(&branch, &plans, skipped, view),
    );
    Ok(all_ok(&plans))
}

/// Write a campaign: commit, push and open or update pull requests.
///
/// Fetching, planning and writing overlap: each repository is fetched and planned just before
/// its pull request is written, so the clones run while other repositories wait for their turn
/// to write. `--offline` plans from the cache as it is.
async fn apply(cli: &Cli, session: Session, offline: bool) -> Result<bool, Failure> {
    if offline {
        return apply_fetched(cli, session, Vec::new()).await;
    }
    let denied = preflight(&session).await?;
    let refused = denied.into_iter().map(|r| (r, NO_PUSH.to_string())).collect();
    let session = std::sync::Arc::new(session);
    let reporter = progress::reporter(cli.quiet, session.options.jobs);
    let results = crate::campaign::fetch_plan_apply(session.clone(), refused, reporter.as_ref()).await?;
    report_apply(cli, &session, &results, |env| env);
    Ok(all_ok(&results))
}

const NO_PUSH: &str = "no push access for these credentials (checked before starting)";

/// Repositories these credentials cannot push to, named before anything is written rather
/// than failing half-way.
async fn preflight(session: &Session) -> Result<Vec<crate::forge::RepoId>, Failure> {
    let ids: Vec<_> = session.targets().iter().map(|t| t.repo.id.clone()).collect();
    let denied = session.forge.missing_write_access(&ids).await.map_err(|e| Failure::run(e.to_string()))?;
    if !denied.is_empty() {
        let names: Vec<String> = denied.iter().map(|r| r.full_name()).collect();
        // Their rows in the summary say it too (`failed: no push access ...`): not with -q.
        let text = format!(
            "the credentials cannot push to {} of {} repositories; they will not be changed: {}",
            denied.len(),
            ids.len(),
            names.join(", ")
        );
        say("warning", text, false);
    }
    Ok(denied)
}

async fn apply_fetched(cli: &Cli, session: Session, fetched: Vec<RepoResult<FetchOutcome>>) -> Result<bool, Failure> {
    let denied = preflight(&session).await?;
    let reporter = progress::reporter(cli.quiet, session.options.jobs);
    let mut plans = session.plan_after(&fetched, reporter.as_ref());
    for p in plans.iter_mut().filter(|p| denied.contains(&p.repo)) {
        p.result = Err(NO_PUSH.into());
    }
    let results = crate::campaign::apply(&session, plans, reporter.as_ref()).await;
    report_apply(cli, &session, &results, |env| env);
    Ok(all_ok(&results))
}

/// The apply report; its JSON has `resumed` (the earlier runs this one resumed, see
/// [`journaled`]; empty when none) and whatever `context` adds (`rollout advance`: its waves).
fn report_apply(
    cli: &Cli,
    session: &Session,
    results: &[RepoResult<crate::campaign::ApplyOutcome>],
    context: impl FnOnce(report::Envelope) -> report::Envelope,
) {
    let branch = session.campaign.to_string();
    let skipped = &session.selection.skipped;
    let resumed = RESUMED.lock().map(|r| r.clone()).unwrap_or_default();
    emit(
        cli,
        session,
        || context(report::apply_json(&branch, results, skipped).with("resumed", &resumed)),
        || report::apply_text(&branch, results, skipped),
    );
}

/// Print a command's result: JSON (with the API usage of remote forges under `api`) or text, and
/// for remote forges a closing line on stderr with the requests the command spent.
fn emit(cli: &Cli, session: &Session, json: impl FnOnce() -> report::Envelope, text: impl FnOnce() -> String) {
    session.forge.persist_cache();
    print_result(cli, session.forge.api_usage(), json, text);
}

fn print_result(
    cli: &Cli,
    usage: Option<crate::forge::ApiUsage>,
    json: impl FnOnce() -> report::Envelope,
    text: impl FnOnce() -> String,
) {
    print_result_as(cli, cli.json, usage, json, text)
}

/// [`print_result`] with the JSON choice made by the caller (`--format json`). The envelope's
/// `command` is the subcommand path that ran and `api` the usage of a remote forge.
fn print_result_as(
    cli: &Cli,
    as_json: bool,
    usage: Option<crate::forge::ApiUsage>,
    json: impl FnOnce() -> report::Envelope,
    text: impl FnOnce() -> String,
) {
    if as_json {
        println!("{}", envelope(cli, usage.clone(), json()).to_line());
    } else {
        anstream::print!("{}", text());
    }
    if let Some(line) = usage.as_ref().and_then(report::usage_line) {
        eprintln!("{line}");
    }
}

/// Print `env` (with [`envelope`]) on stdout: for commands that print text of their own.
fn print_json(cli: &Cli, usage: Option<crate::forge::ApiUsage>, env: report::Envelope) {
    println!("{}", envelope(cli, usage, env).to_line());
}

/// `env` with the `command` that ran and the API usage of a remote forge.
fn envelope(cli: &Cli, usage: Option<crate::forge::ApiUsage>, env: report::Envelope) -> report::Envelope {
    let mut env = env.with_api(usage);
    env.command = cli.command_path.clone();
    env
}

async fn auth_status(cli: &Cli, purpose: crate::forge::github::status::Purpose) -> Result<bool, Failure> {
    let manifest = load_manifest(cli)?;
    if *manifest.forge().kind.get_ref() != crate::manifest::ForgeKind::Github {
        return Err(Failure::usage("`auth status` is for `kind = \"github\"`; the local forge needs no credentials"));
    }
    // Nothing to inspect without credentials: say so before any request (anonymous requests
    // would only meet GitHub's 60-an-hour limit and say less).
    if crate::campaign::listing::anonymous(&manifest) {
        return Err(no_credentials());
    }
    let forge = crate::campaign::open_github(&manifest)?;
    let owner = manifest.model.org.name.clone();
    let listing = crate::forge::Forge::list_repos(&forge, &owner).await.map_err(|source| {
        let mut failure = Failure::from(SetupError::Listing { owner: owner.clone(), kind: "github", source });
        // The check starts with the listing: say what could not be done, then why.
        failure.text = format!("cannot check the credentials: {}", failure.text);
        failure
    })?;
    let selection =
        crate::targets::select(&manifest, &listing, &[]).map_err(|d| Failure::from(SetupError::Invalid(d)))?;
    let ids: Vec<_> = selection.targets.iter().map(|t| t.repo.id.clone()).collect();
    let touches_workflows = manifest
        .model
        .templates
        .iter()
        .map(|t| t.dest.get_ref())
        .chain(manifest.model.files.iter().map(|f| f.dest.get_ref()))
        .any(|d| d.trim_start_matches("./").starts_with(".github/workflows/"));
    let status = crate::forge::github::status::inspect(&forge, purpose, &ids, touches_workflows)
        .await
        .map_err(|e| Failure::run(e.to_string()))?;
    print_result(
        cli,
        crate::forge::Forge::api_usage(&forge),
        || {
            report::Envelope::new("auth status")
                .count("repos", ids.len())
                .count("reasons", status.reasons.len())
                .result(&status)
        },
        || report::auth_text(&status),
    );
    Ok(status.sufficient != Some(false))
}

fn all_ok<T>(results: &[RepoResult<T>]) -> bool {
    results.iter().all(|r| r.result.is_ok())
}

/// The run identity recorded in journals and claims: `CONVOY_RUN_ID`, else `GITHUB_RUN_ID` and
/// `GITHUB_RUN_ATTEMPT`, else this process.
fn run_id() -> String {
    static RUN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN.get_or_init(|| {
        // A re-run of a workflow keeps GITHUB_RUN_ID and counts GITHUB_RUN_ATTEMPT up: each
        // attempt is a run of its own.
        std::env::var(crate::env_vars::CONVOY_RUN_ID)
            .or_else(|_| {
                std::env::var(crate::env_vars::GITHUB_RUN_ID).map(|id| match std::env::var("GITHUB_RUN_ATTEMPT") {
                    Ok(attempt) => format!("{id}-{attempt}"),
                    Err(_) => id,
                })
            })
            .unwrap_or_else(|_| format!("pid-{}-{}", std::process::id(), crate::clock::now().unix_timestamp()))
    })
    .clone()
}

/// How long a journaled run waits for another run of the same campaign to give its claim back
/// before it gives up (exit 3).
const CLAIM_WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Take the campaign's claim for this run, waiting up to `wait` while another live run holds it
/// (two `apply`s at once: the second waits, then converges on what the first did), then exit 3
/// naming the holder. An expired claim, or one whose process on this host is gone (`kill -9`), is
/// taken over with a warning, and remembered ([`TAKEN_OVER`]) for [`journaled`] to say what it
/// resumes.
async fn claim_or_wait(
    store: &mut dyn crate::journal::JournalStore,
    campaign: &str,
    wait: std::time::Duration,
) -> Result<crate::journal::Claim, Failure> {
    use crate::journal::JournalError;
    let request = claim_request();
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        match store.claim(&request, crate::clock::now()).await {
            Ok(acquired) => {
                let unfinished = acquired.left_by_unfinished_run(&request, crate::journal::claim::process_alive);
                match (&acquired.took_over, unfinished) {
                    (Some(old), _) => {
                        let (what, why) = if acquired.holder_gone {
                            ("claim", ": its process is gone, so that run did not finish")
                        } else {
                            ("expired claim", "")
                        };
                        let text = format!(
                            "took over the {what} of run {} ({}@{}, pid {}) on campaign `{campaign}`{why}",
                            old.run, old.holder, old.host, old.pid
                        );
                        // A takeover is the normal recovery after a crash: silenced by -q
                        // like any note (the journal and `--json`'s `resumed` keep it).
                        say("warning", text, false);
                    }
                    (None, Some(old)) => {
                        let text = format!(
                            "run {} held the claim on campaign `{campaign}` in another process (pid {} on {}), which is gone: it did not finish",
                            old.run, old.pid, old.host
                        );
                        say("warning", text, false);
                    }
                    (None, None) => {}
                }
                if let (Some(old), Ok(mut slot)) = (unfinished, TAKEN_OVER.lock()) {
                    *slot = Some(old.clone());
                }
                return Ok(acquired.claim);
            }
            Err(e @ JournalError::ClaimHeld { .. }) => {
                if started.elapsed() >= wait {
                    return Err(Failure { code: 3, text: e.to_string(), diagnostics: None });
                }
                if !said {
                    say("waiting", &e, false);
                    said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(Failure::run(e.to_string())),
        }
    }
}

/// How long a claim lasts unless renewed; a journaled run renews it every third of that
/// ([`renew_claim`]), so a run that dies leaves a claim that expires within this time.
const LEASE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

fn claim_request() -> crate::journal::ClaimRequest {
    crate::journal::ClaimRequest::for_this_process(run_id(), LEASE)
}

/// Keep this run's claim alive while it works: every third of the lease, claim again (the same
/// run renews its own claim). A renewal that fails is said once per failure; the run goes on
/// (the store refuses appends once another run has taken the claim over).
fn renew_claim(mut store: Box<dyn crate::journal::JournalStore>, campaign: String) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE / 3).await;
            if let Err(e) = store.claim(&claim_request(), crate::clock::now()).await {
                say("warning", format_args!("could not renew the claim on campaign `{campaign}`: {e}"), true);
            }
        }
    })
}

/// Run `future` to its end from synchronous code (a `Drop`), on this runtime when there is one.
fn finish_blocking<F: std::future::Future<Output = ()> + Send + 'static>(future: F) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| handle.block_on(future))
        }
        _ => {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    rt.block_on(future);
                }
            })
            .join();
        }
    }
}

/// The claim [`claim_or_wait`] took over in this process: left by a run that did not finish
/// (its process is gone, or its lease expired). `rollout advance` takes the claim before
/// [`journaled`] renews it, so the takeover is remembered here rather than returned.
static TAKEN_OVER: std::sync::Mutex<Option<crate::journal::Claim>> = std::sync::Mutex::new(None);

/// What [`journaled`] found it resumes, for the JSON of `apply` and `rollout advance`.
static RESUMED: std::sync::Mutex<Vec<crate::journal::Interrupted>> = std::sync::Mutex::new(Vec::new());

/// Put every forge write of this run of `campaign` on the campaign's journal (beside the
/// manifest, `.convoy/campaigns/<slug>/journal.jsonl`): the session's forge is wrapped in
/// [`crate::journal::forge::JournaledForge`]. A journal that fails verification stops the run
/// before anything is written.
///
/// When the claim was taken over from a run that did not finish, says on stderr what this run
/// resumes (`resuming: run ... stopped after N steps; 1 step had no outcome: ...`), one line per
/// earlier run ([`crate::journal::interrupted`]); the engine then converges by reading the forge.
///
/// `CONVOY_TEST_JOURNAL=off` (benchmarks only) skips all of it: no claim, no journal.
async fn journaled(session: &mut Session, campaign: &str) -> Result<(), Failure> {
    journaled_with(session, campaign, CLAIM_WAIT).await
}

/// [`journaled`] without waiting for another run's claim: a live claim is exit 3 at once
/// (`rollout advance`, `approve`, `resume`: a schedule runs them again later).
async fn journaled_now(session: &mut Session, campaign: &str) -> Result<(), Failure> {
    journaled_with(session, campaign, std::time::Duration::ZERO).await
}

/// What a GitHub run without credentials is told before it would write (or check them).
fn no_credentials() -> Failure {
    Failure::run(
        "no credentials for GitHub: GITHUB_TOKEN and GH_TOKEN are unset and [org.forge] names no GitHub App\n  help: export GITHUB_TOKEN=... (a fine-grained token with Contents, Pull requests and Workflows read and write, or a classic token with `repo` and `workflow`), or set app_id and private_key_path under [org.forge]; see docs/github.md",
    )
}

async fn journaled_with(session: &mut Session, campaign: &str, wait: std::time::Duration) -> Result<(), Failure> {
    use crate::journal::{Journal, SystemClock};
    // Every command that writes to the forge takes the claim here: without credentials it
    // could only fail at its first write, so it stops before the claim.
    if crate::campaign::listing::anonymous(&session.manifest) {
        return Err(no_credentials());
    }
    let off = crate::env_vars::CONVOY_TEST_JOURNAL;
    if std::env::var(off).is_ok_and(|v| v == "off") {
        say(
            "warning",
            format_args!("{off}=off: this run takes no claim and writes no journal (for benchmarks only)"),
            true,
        );
        return Ok(());
    }
    // One run writes a campaign's journal at a time: the claim, renewed while the run works and
    // given back when the forge is dropped. Beside the manifest, or on the `[state]` branch.
    let mut claim_store = state::store(session, campaign)?;
    let claim = claim_or_wait(claim_store.as_mut(), campaign, wait).await?;
    let renewer = renew_claim(state::store(session, campaign)?, campaign.to_string());
    let release = move || {
        renewer.abort();
        finish_blocking(async move {
            if let Err(e) = claim_store.release(&claim).await {
                tracing::warn!("could not give the campaign's claim back: {e}");
            }
        });
    };
    let store = state::store(session, campaign)?;
    let (journal, torn) = match Journal::open(store, std::sync::Arc::new(SystemClock), run_id()).await {
        Ok(opened) => opened,
        Err(e) => {
            release();
            return Err(Failure::run(format!("the journal of campaign `{campaign}`: {e}")));
        }
    };
    if let Some(t) = torn {
        let text = format!(
            "the journal of campaign `{campaign}` ended in a torn line (a crash mid-write); it was cut away: {t:?}"
        );
        say("warning", text, true);
    }
    let stale = TAKEN_OVER.lock().ok().and_then(|slot| slot.as_ref().map(|c| c.run.clone()));
    let resumed = crate::journal::interrupted(journal.entries(), stale.as_deref());
    for r in &resumed {
        say("resuming", format_args!("{r}; convoy reads the forge and does only what is missing"), false);
    }
    if let Ok(mut slot) = RESUMED.lock() {
        *slot = resumed;
    }
    session.forge = std::sync::Arc::new(
        crate::journal::forge::JournaledForge::new(session.forge.clone(), journal).on_drop(release),
    );
    Ok(())
}

fn load_manifest(cli: &Cli) -> Result<manifest::Manifest, Failure> {
    manifest::load(&cli.manifest_path()?).map_err(|e| Failure::from(SetupError::Manifest(e)))
}

/// A campaign of its own, for commands whose changes are not the manifest's templates and files
/// (`audit --fix`, `deps align`): its branch (configured, or `default_branch`), title and body,
/// and none of the manifest's templates, files or prune, so its pull requests carry only its
/// own changes.
fn own_campaign(
    mut manifest: manifest::Manifest,
    branch: Option<serde_spanned::Spanned<String>>,
    default_branch: &str,
    title: &str,
    body: &str,
) -> manifest::Manifest {
    use serde_spanned::Spanned;
    manifest.model.templates.clear();
    manifest.model.files.clear();
    let campaign = &mut manifest.model.campaign;
    campaign.prune = false;
    campaign.branch = branch.unwrap_or_else(|| Spanned::new(0..0, default_branch.into()));
    campaign.commit_message = Spanned::new(0..0, title.into());
    campaign.title = Spanned::new(0..0, title.into());
    campaign.body = Spanned::new(0..0, body.into());
    manifest
}

/// Settings resolution: command line over manifest (`--jobs` over `[org] jobs`).
async fn open(cli: &Cli, run: &SelectArgs, depth: Depth) -> Result<Session, Failure> {
    open_with(load_manifest(cli)?, run, depth).await
}

/// [`open`] for a command that only reads: with `offline`, the org's listing is the copy the
/// last online run saved (`campaign::listing`), so nothing goes over the network.
async fn open_reading(cli: &Cli, run: &SelectArgs, depth: Depth, offline: bool) -> Result<Session, Failure> {
    open_listed(load_manifest(cli)?, run, depth, offline).await
}

async fn open_with(manifest: manifest::Manifest, run: &SelectArgs, depth: Depth) -> Result<Session, Failure> {
    open_listed(manifest, run, depth, false).await
}

async fn open_listed(
    manifest: manifest::Manifest,
    run: &SelectArgs,
    depth: Depth,
    offline: bool,
) -> Result<Session, Failure> {
    let owner = manifest.model.org.name.clone();
    let filters = run
        .repos
        .iter()
        .map(|s| Selector::parse(s, &owner).map_err(|e| Failure::usage(format!("--repo {s}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let jobs = match run.jobs {
        Some(0) => return Err(Failure::usage("--jobs must be at least 1")),
        Some(j) => j,
        None => manifest.model.org.jobs,
    };
    let session = Session::open(manifest, RunOptions { jobs, filters, depth, offline }).await?;
    if !run.repos.is_empty() && session.targets().is_empty() {
        return Err(Failure::usage(format!(
            "--repo {} matches none of the selected repositories\n  help: a bare name means {}/NAME; `convoy validate --json` lists the repositories the manifest selects",
            run.repos.join(" --repo "),
            session.manifest.model.org.name
        )));
    }
    Ok(session)
}

/// Fetch the selected repositories; failures are returned per repository (plan/apply report
/// them as that repository's failure).
async fn fetch(cli: &Cli, session: &Session) -> Result<Vec<RepoResult<FetchOutcome>>, Failure> {
    Ok(session.fetch(progress::reporter(cli.quiet, session.options.jobs).as_ref()).await?)
}

/// Check everything a run would check before touching a repository, and report every
/// problem at once: the manifest on its own first (a manifest that does not load stops there),
/// then, against the forge's listing, selectors and branch names, template compilation, and
/// the template variables each selected repository lacks.
async fn validate(cli: &Cli, offline: bool) -> Result<bool, Failure> {
    use crate::campaign::listing;
    use report::table::count;
    let manifest = load_manifest(cli)?;
    if let Some(note) = setup::stale_schema_note(&manifest) {
        eprintln!("{note}");
    }
    let (templates, files) = (manifest.model.templates.len(), manifest.model.files.len());
    let path = manifest.path.display().to_string();
    // `--offline` on GitHub reads the saved listing, once; with none, only the checks that need
    // no forge run (the loader's and template compilation), and the output says what waited.
    let (listed, forge) = if offline && listing::needs_network(&manifest) {
        (listing::load(&manifest).ok().map(|(repos, _)| repos), None)
    } else {
        let forge = crate::campaign::open_forge(&manifest)?;
        (Some(listing::list_org(&manifest, forge.as_ref(), offline).await?), Some(forge))
    };
    let mut problems = Vec::new();
    let selection = listed.map(|repos| {
        let (selection, found) = crate::targets::select_all(&manifest, &repos, &[]);
        problems.extend(found);
        selection
    });
    listing::explain_anonymous(&manifest, &mut problems);
    match crate::campaign::build_renderer(&manifest) {
        Ok(renderer) => {
            if let Some(selection) = &selection {
                problems.extend(crate::transform::check_variables(&manifest, selection, &renderer));
            }
        }
        Err(compile) => problems.extend(compile.0),
    }
    if !problems.is_empty() {
        return Err(Failure::from(SetupError::Invalid(crate::diagnostic::Diagnostics(problems))));
    }
    let unchecked = selection.is_none().then_some(
        "selectors, branch names and template variables (no saved listing of the org: run `convoy validate` once with GitHub reachable)",
    );
    let (targets, skipped) = selection.map(|s| (s.targets, s.skipped)).unwrap_or_default();
    let n = targets.len();
    print_result(
        cli,
        forge.and_then(|f| f.api_usage()),
        || {
            let env = report::Envelope::new("validate")
                .with("valid", true)
                .with("manifest", &path)
                .count("repos", n)
                .count("templates", templates)
                .count("files", files)
                .results(targets.iter().map(|t| {
                    serde_json::json!({"repo": t.repo.id.full_name(), "default_branch": t.repo.default_branch, "tags": t.tags})
                }))
                .skipped(&skipped);
            match unchecked {
                Some(what) => env.with("unchecked", what),
                None => env,
            }
        },
        || {
            let (templates, files) = (count(templates, "template", "templates"), count(files, "file", "files"));
            if let Some(what) = unchecked {
                return format!(
                    "{path} is valid on its own: {templates}, {files}\nnote: not checked offline: {what}\n"
                );
            }
            let mut out =
                format!("{path} is valid: {} selected, {templates}, {files}\n", count(n, "repository", "repositories"));
            for (repo, why) in &skipped {
                out.push_str(&format!("skipped {repo}: {why}\n"));
            }
            out
        },
    );
    Ok(true)
}
