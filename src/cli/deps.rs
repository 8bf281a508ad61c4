//! `convoy deps`: dependency alignment across the org's repositories.

use std::collections::BTreeSet;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};

use super::{Cli, Failure, SelectArgs, fetch, open_reading};
use crate::deps::{actions, skew};
use crate::forge::RepoId;
use crate::manifest::Selector;
use crate::transform::actions_align::ActionsAlign;
use crate::transform::cargo_align::CargoAlign;
use crate::workspace::Depth;

#[derive(Debug, Subcommand)]
pub enum DepsCommand {
    /// For each crate used by two or more repositories: every version requirement in use and
    /// where, marking crates no single version can satisfy.
    ///
    /// Exit 1 when a repository or a manifest could not be read (the report is still printed).
    Skew(SkewArgs),
    /// Every `uses:` of the org's workflows and composite actions, grouped by action, with the
    /// refs in use (tags, branches, SHAs).
    Actions(ActionsArgs),
    /// Plan the `[align]` changes (Cargo requirements, action versions and pins) as a campaign
    /// on `[align] branch`; with `--apply`, open or update the pull requests.
    ///
    /// The targets ("highest", org crates) are worked out from every repository the manifest
    /// selects; `--repo` only narrows which repositories are planned and written. Exit 1 when a
    /// repository failed, or a configured action version exists on no forge.
    Align(AlignArgs),
}

#[derive(Debug, Args)]
pub struct AlignArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first.
    #[arg(long)]
    pub offline: bool,
    /// Open or update one pull request per repository (default: show the plan only).
    #[arg(long)]
    pub apply: bool,
    /// Update every `Cargo.lock` with `cargo update -p NAME@LOCKED --precise VERSION` so `--locked`
    /// builds keep passing (needs `cargo` and the registry); a locked version that already
    /// satisfies the new requirement stays, and none is ever moved down. Without it the PR body
    /// says what to run.
    #[arg(long)]
    pub update_lockfile: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Grouped by crate, incompatible ones first, for people.
    Text,
    /// The versioned report (`schema_version`).
    Json,
    /// A table, for `$GITHUB_STEP_SUMMARY` or a pull request.
    Markdown,
}

/// `deps actions --format`: its report is grouped by action, not by crate, so its formats are
/// described apart from `deps skew`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActionsFormat {
    /// A table for people: one row per ref of each action, with its kind (tag, branch, SHA,
    /// local), how many `uses:` and in which repositories.
    Text,
    /// The versioned report (`schema_version`): each action with its refs, and every `uses:`
    /// with its repository, file, line and column.
    Json,
    /// The same table in Markdown, for `$GITHUB_STEP_SUMMARY` or a pull request.
    Markdown,
}

impl From<ActionsFormat> for Format {
    fn from(f: ActionsFormat) -> Self {
        match f {
            ActionsFormat::Text => Format::Text,
            ActionsFormat::Json => Format::Json,
            ActionsFormat::Markdown => Format::Markdown,
        }
    }
}

#[derive(Debug, Args)]
pub struct ActionsArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
    /// last online run saved, so nothing goes over the network (docs/cli.md#the-clone-cache).
    #[arg(long)]
    pub offline: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<ActionsFormat>,
}

#[derive(Debug, Args)]
pub struct SkewArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
    /// last online run saved, so nothing goes over the network (docs/cli.md#the-clone-cache).
    #[arg(long)]
    pub offline: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

pub async fn deps(cli: &Cli, command: &DepsCommand) -> Result<bool, Failure> {
    match command {
        DepsCommand::Skew(args) => skew_command(cli, args).await,
        DepsCommand::Actions(args) => actions_command(cli, args).await,
        DepsCommand::Align(args) => align_command(cli, args).await,
    }
}

async fn actions_command(cli: &Cli, args: &ActionsArgs) -> Result<bool, Failure> {
    let session = open_reading(cli, &args.select, Depth::Keep, args.offline).await?;
    let fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
    let mut errors: Vec<(String, String)> =
        fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (r.repo.full_name(), e.clone()))).collect();
    let per_repo = tokio::task::block_in_place(|| {
        let org = session.org();
        crate::parallel::map(org.targets(), org.jobs, |t| {
            crate::workflow::files::of_target(&org, t).map(|files| actions::inventory(&t.repo.id.full_name(), &files))
        })
    });
    let mut uses = Vec::new();
    for (t, r) in session.targets().iter().zip(per_repo) {
        match r.unwrap_or_else(|panic| Err(format!("internal error: {panic}"))) {
            Ok(found) => uses.extend(found),
            Err(e) => errors.push((t.repo.id.full_name(), e)),
        }
    }
    let report = actions::report(uses);
    session.forge.persist_cache();
    let (usage, skipped) = (session.forge.api_usage(), &session.selection.skipped);
    match args.format.map(Format::from).unwrap_or(if cli.json { Format::Json } else { Format::Text }) {
        Format::Text => print!("{}", actions::render_text(&report.actions)),
        Format::Json => {
            super::print_json(cli, usage.clone(), crate::report::deps::actions_json(&report, &errors).skipped(skipped))
        }
        Format::Markdown => print!("{}", actions::render_markdown(&report.actions)),
    }
    for (repo, e) in &errors {
        eprintln!("error: {repo}: {e}");
    }
    if let Some(line) = usage.as_ref().and_then(crate::report::usage_line) {
        eprintln!("{line}");
    }
    Ok(errors.is_empty())
}

/// The alignment as a campaign of its own: its own branch, title and body, and only the
/// alignment edits as changes.
fn align_campaign(manifest: crate::manifest::Manifest) -> crate::manifest::Manifest {
    let branch = manifest.model.align.branch.clone();
    super::own_campaign(
        manifest,
        branch,
        "convoy/align-deps",
        "deps: align dependency versions across the org",
        &crate::report::markdown::list_body_template(
            "`convoy deps align` brings {{ repo.full_name }} in line with the {{ org.name }} org's `[align]` rules:",
            "changes",
            "Not changed (needs a person)",
            "skipped",
            "Run `convoy deps skew` to see every requirement in use across the org.",
        ),
    )
}

async fn align_command(cli: &Cli, args: &AlignArgs) -> Result<bool, Failure> {
    let manifest = align_campaign(super::load_manifest(cli)?);
    // `--repo` narrows which repositories are written, never how the targets are computed:
    // the session reads every repository the manifest selects, and is narrowed after.
    let every = SelectArgs { jobs: args.select.jobs, repos: Vec::new() };
    let mut session = super::open_with(manifest, &every, Depth::Keep).await?;
    let owner = session.manifest.model.org.name.clone();
    let filters = args
        .select
        .repos
        .iter()
        .map(|s| Selector::parse(s, &owner).map_err(|e| Failure::usage(format!("--repo {s}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let written: BTreeSet<RepoId> = session
        .targets()
        .iter()
        .filter(|t| filters.is_empty() || filters.iter().any(|f| f.matches(t.facts(), &session.selection.groups)))
        .map(|t| t.repo.id.clone())
        .collect();
    if written.is_empty() {
        return Err(Failure::usage(format!(
            "--repo {} matches none of the selected repositories",
            args.select.repos.join(" --repo ")
        )));
    }
    let mut fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
    // Org-wide first: "highest" needs every repository's requirements, pins need the forge.
    let (mut alignment, wanted) = tokio::task::block_in_place(|| crate::deps::run::prepare(&session.org()));
    alignment.pins = crate::policy::pins::resolve(session.forge.as_ref(), &wanted).await;
    crate::deps::run::use_released_versions(session.forge.as_ref(), &mut alignment).await;
    alignment.update_lockfile = args.update_lockfile;
    let mut ok = true;
    for problem in &alignment.cargo.problems {
        eprintln!("warning: [align.cargo] {problem}");
    }
    // A repository the targets could not see may hold the requirement that decides them.
    for (repo, why) in alignment.unread.iter().filter(|(repo, _)| !written.iter().any(|w| w.full_name() == *repo)) {
        eprintln!("error: {repo}: not read ({why}); the [align.cargo] targets were worked out without it");
        ok = false;
    }
    // A configured version that exists on no forge: one error per version, its uses left alone.
    alignment.missing_actions = wanted.iter().filter(|w| !alignment.pins.contains_key(*w)).cloned().collect();
    for (action, version) in &alignment.missing_actions {
        eprintln!(
            "error: [align.actions] {action} {version}: no tag or branch of that name on the forge (or its tags could not be listed); its uses are left as they are\n  help: fix the version in [align.actions] versions"
        );
        ok = false;
    }
    for r in fetched.iter().filter(|r| !written.contains(&r.repo)) {
        if let Err(e) = &r.result {
            eprintln!(
                "error: {}: the fetch failed ({e}); the [align.cargo] targets were worked out from its cache",
                r.repo
            );
            ok = false;
        }
    }
    let alignment = Arc::new(alignment);
    session.producers = vec![Box::new(CargoAlign(alignment.clone())), Box::new(ActionsAlign(alignment))];
    // Only the `--repo` repositories are planned and written; the others' pull requests are
    // not looked at, so none of them is closed.
    session.selection.targets.retain(|t| written.contains(&t.repo.id));
    let ids: Vec<RepoId> = session.targets().iter().map(|t| t.repo.id.clone()).collect();
    session.forge.scope_to(&ids).await;
    fetched.retain(|r| written.contains(&r.repo));
    let done = if args.apply {
        let branch = session.campaign.branch().to_string();
        super::journaled(&mut session, &branch).await?;
        super::rollout::leave_rolled_back_out(&mut session).await?;
        super::apply_fetched(cli, session, fetched).await?
    } else {
        super::plan_fetched(cli, session, fetched)?
    };
    Ok(done && ok)
}

async fn skew_command(cli: &Cli, args: &SkewArgs) -> Result<bool, Failure> {
    let session = open_reading(cli, &args.select, Depth::Keep, args.offline).await?;
    let fetched = if args.offline { Vec::new() } else { fetch(cli, &session).await? };
    let failed: Vec<(String, String)> =
        fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (r.repo.full_name(), e.clone()))).collect();
    let (mut org, mut errors) = tokio::task::block_in_place(|| skew::collect(&session.org()));
    // A repository whose fetch failed is an error, not a report from a stale cache.
    org.retain(|(repo, _)| !failed.iter().any(|(f, _)| f == repo));
    errors.retain(|(repo, _)| !failed.iter().any(|(f, _)| f == repo));
    errors.extend(failed.into_iter().map(|(repo, e)| (repo, format!("not read, the fetch failed: {e}"))));
    let report = skew::report(&org, &errors);
    session.forge.persist_cache();
    let format = args.format.unwrap_or(if cli.json { Format::Json } else { Format::Text });
    match format {
        Format::Text => print!("{}", skew::text(&report)),
        Format::Json => super::print_json(
            cli,
            session.forge.api_usage(),
            crate::report::deps::skew_json(&report).skipped(&session.selection.skipped),
        ),
        Format::Markdown => print!("{}", skew::markdown(&report)),
    }
    if format != Format::Text && !cli.quiet {
        eprintln!("{}", skew::summary_line(&report));
    }
    if let Some(line) = session.forge.api_usage().as_ref().and_then(crate::report::usage_line) {
        eprintln!("{line}");
    }
    Ok(report.errors.is_empty())
}
