//! `convoy release`: coordinated releases across the org's repositories: `graph`, `plan`
//! (read-only), `run` and `rollback`.

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};

use super::{Cli, Failure, SelectArgs, fetch, open, state};
use crate::deps::skew;
use crate::forge::RepoId;
use crate::journal::JournalStore;
use crate::release::budget;
use crate::release::graph::{self, Graph, GraphError};
use crate::release::plan::{self, Options, Override};
use crate::release::run::{self, ReleaseState, RepoView, Runner};
use crate::workspace::Depth;

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// The org's publishable packages and the waves they must be released in (dependencies
    /// first), as text, Mermaid, DOT or JSON.
    ///
    /// Exit 1 when a package-level dependency cycle exists (every package on it is named) or a
    /// repository or manifest could not be read (the others are still in the graph).
    Graph(GraphArgs),
    /// What a coordinated release would publish: per package the last release tag, the commits
    /// since it that touched the package, the bump they imply (conventional commits), and the
    /// waves. Reads full history (the cache entries are unshallowed). Writes nothing.
    ///
    /// Exit 1 when a package could not be planned (listed under errors; the others are planned).
    Plan(PlanArgs),
    /// Carry out the release plan wave by wave: per repository, bump the versions and move the
    /// requirements of in-org dependents (one pull request merged when green, or one commit:
    /// `[release] mode`), tag each package, create its forge release with notes, then wait for
    /// the publish gate before the next wave. Every step is recorded: after a failure, `--resume`
    /// continues without repeating finished steps.
    ///
    /// Exit 1 when a step failed (the run stops after that wave; the others of the wave went
    /// on); 2 when a release is already in progress and `--resume` was not given; 3 when another
    /// run holds the release's claim.
    Run(RunArgs),
    /// Undo a partial or finished release, newest wave first: delete forge releases and tags of
    /// versions no gate saw published, close or revert the bump pull requests (or restore the
    /// bumped files with a commit), and run `[release] compensate` for published versions. Lists
    /// what could not be undone.
    Rollback(RollbackArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Waves with `package (repo) version`.
    Text,
    /// The versioned graph (`schema_version`): nodes, edges with their kind, waves.
    Json,
    /// A Mermaid flowchart, grouped by wave and by repository.
    Mermaid,
    /// A Graphviz digraph, grouped by wave and by repository.
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first; on GitHub, also the org's listing the
    /// last online run saved, so nothing goes over the network (docs/cli.md#the-clone-cache).
    #[arg(long)]
    pub offline: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Use the cache as it is instead of fetching first (its entries must have full history).
    #[arg(long)]
    pub offline: bool,
    /// Override a package's bump: `NAME=major|minor|patch` or `NAME=VERSION`. Repeatable.
    #[arg(long, value_name = "NAME=LEVEL|VERSION")]
    pub bump: Vec<String>,
    /// Release every package (a patch for those with nothing to release).
    #[arg(long)]
    pub all: bool,
    /// Output format (`--json` is `--format json`).
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub plan: PlanArgs,
    /// Continue the release in progress from its record (the plan is not made again).
    #[arg(long)]
    pub resume: bool,
    /// Show the plan, the crates.io estimate and the steps; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Say what would be undone; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn release(cli: &Cli, command: &ReleaseCommand) -> Result<bool, Failure> {
    match command {
        ReleaseCommand::Graph(args) => graph_command(cli, args).await,
        ReleaseCommand::Plan(args) => plan_command(cli, args).await,
        ReleaseCommand::Run(args) => run_command(cli, args).await,
        ReleaseCommand::Rollback(args) => rollback_command(cli, args).await,
    }
}

/// Fetch (unless offline), discover every repository's packages and build the graph. Returns
/// the discovery too, for the package folders.
async fn read_graph(
    cli: &Cli,
    session: &crate::campaign::Session,
    offline: bool,
) -> Result<(Graph, skew::OrgDeps), Failure> {
    let fetched = if offline { Vec::new() } else { fetch(cli, session).await? };
    let failed: Vec<(String, String)> =
        fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (r.repo.full_name(), e.clone()))).collect();
    let (mut org, mut errors) = tokio::task::block_in_place(|| skew::collect(&session.org()));
    // A repository whose fetch failed is an error, not a graph from a stale cache.
    org.retain(|(repo, _)| !failed.iter().any(|(f, _)| f == repo));
    errors.retain(|(repo, _)| !failed.iter().any(|(f, _)| f == repo));
    errors.extend(failed.into_iter().map(|(repo, e)| (repo, format!("not read, the fetch failed: {e}"))));
    let mut graph = graph::build(&org);
    graph.errors.extend(errors.into_iter().map(|(repo, message)| GraphError { repo, manifest: None, message }));
    graph.errors.sort_by(|a, b| (&a.repo, &a.manifest).cmp(&(&b.repo, &b.manifest)));
    Ok((graph, org))
}

async fn graph_command(cli: &Cli, args: &GraphArgs) -> Result<bool, Failure> {
    let session = super::open_reading(cli, &args.select, Depth::Keep, args.offline).await?;
    let (graph, _) = read_graph(cli, &session, args.offline).await?;
    session.forge.persist_cache();
    match args.format.unwrap_or(if cli.json { GraphFormat::Json } else { GraphFormat::Text }) {
        GraphFormat::Text => print!("{}", graph::text(&graph)),
        GraphFormat::Json => super::print_json(
            cli,
            session.forge.api_usage(),
            crate::report::release::graph_json(&graph).skipped(&session.selection.skipped),
        ),
        GraphFormat::Mermaid => print!("{}", graph::mermaid(&graph)),
        GraphFormat::Dot => print!("{}", graph::dot(&graph)),
    }
    for line in graph.cycle_lines() {
        eprintln!("error: {line}");
    }
    for e in &graph.errors {
        eprintln!("error: {e}");
    }
    Ok(graph.errors.is_empty() && graph.cycles.is_empty())
}

async fn plan_command(cli: &Cli, args: &PlanArgs) -> Result<bool, Failure> {
    // History since the last tag: the cache entries are unshallowed (kept full afterwards).
    let depth = if args.offline { Depth::Keep } else { Depth::Full };
    let session = open(cli, &args.select, depth).await?;
    let planned = make_plan(cli, &session, args).await?;
    session.forge.persist_cache();
    match args.format.unwrap_or(if cli.json { PlanFormat::Json } else { PlanFormat::Text }) {
        PlanFormat::Text => {
            print!("{}", plan::text(&planned));
            if let Some(line) = budget::line(&budget::estimate(&planned)) {
                println!("\n{line}");
            }
        }
        PlanFormat::Json => super::print_json(
            cli,
            session.forge.api_usage(),
            crate::report::release::plan_json(&planned).skipped(&session.selection.skipped),
        ),
    }
    for e in &planned.errors {
        eprintln!("error: {e}");
    }
    if let Some(line) = session.forge.api_usage().as_ref().and_then(crate::report::usage_line) {
        eprintln!("{line}");
    }
    Ok(planned.errors.is_empty())
}

/// The release plan of the session's repositories (fetched first unless `--offline`).
async fn make_plan(cli: &Cli, session: &crate::campaign::Session, args: &PlanArgs) -> Result<plan::Plan, Failure> {
    let mut options =
        Options { all: args.all, no_safety_bumps: !session.manifest.model.release.safety_bumps, ..Options::default() };
    for b in &args.bump {
        let (name, o) = Override::parse(b).map_err(|e| Failure::usage(format!("--bump {e}")))?;
        options.overrides.insert(name, o);
    }
    let (graph, org) = read_graph(cli, session, args.offline).await?;
    for name in options.overrides.keys() {
        if graph.node(name).is_none() {
            return Err(Failure::usage(format!(
                "--bump {name}=...: no publishable package `{name}` in the selected repositories"
            )));
        }
    }
    // Tags through the forge, one listing per repository with packages.
    let mut repos: BTreeMap<String, Vec<&graph::Node>> = BTreeMap::new();
    for n in &graph.nodes {
        repos.entry(n.repo.clone()).or_default().push(n);
    }
    // `jobs` listings at a time (one after another, they were a third of a 300-repository plan).
    let tags: BTreeMap<String, Result<Vec<crate::forge::Tag>, String>> = {
        use futures_util::StreamExt as _;
        futures_util::stream::iter(repos.keys().filter_map(|repo| {
            let (owner, name) = repo.split_once('/')?;
            let id = RepoId::new(owner, name);
            Some(async move { (repo.clone(), session.forge.list_tags(&id).await.map_err(|e| e.to_string())) })
        }))
        .buffer_unordered(session.options.jobs.max(1))
        .collect()
        .await
    };
    let work: Vec<(&String, &Vec<&graph::Node>)> = repos.iter().collect();
    let results = tokio::task::block_in_place(|| {
        crate::parallel::map(&work, session.options.jobs, |(repo, nodes)| {
            let folders: Vec<String> = org
                .iter()
                .find(|(r, _)| r == *repo)
                .map(|(_, d)| {
                    d.packages
                        .iter()
                        .map(|p| {
                            p.manifest.strip_suffix("Cargo.toml").unwrap_or_default().trim_end_matches('/').to_string()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let read = || -> Result<plan::PackageFacts, String> {
                let target = session
                    .targets()
                    .iter()
                    .find(|t| t.repo.id.full_name() == **repo)
                    .ok_or_else(|| "not a selected repository".to_string())?;
                let tags = match tags.get(*repo) {
                    Some(Ok(t)) => t.as_slice(),
                    Some(Err(e)) => return Err(format!("listing its tags: {e}")),
                    None => &[],
                };
                let head = session.cache.snapshot(&target.repo).map_err(|e| e.to_string())?.commit_id();
                let dir = session.cache.repo_dir(&target.repo.id);
                let template = session.manifest.model.release.tag_template(repo);
                let template = (template != crate::release::config::DEFAULT_TAG).then_some(template);
                Ok(plan::repo_facts(&dir, &head, tags, nodes, &folders, template))
            };
            match read() {
                Ok(facts) => facts,
                Err(e) => nodes.iter().map(|n| (n.package.clone(), Err(format!("{repo}: {e}")))).collect(),
            }
        })
    });
    let mut facts = BTreeMap::new();
    for ((_, nodes), r) in work.iter().zip(results) {
        match r {
            Ok(found) => facts.extend(found),
            Err(panic) => {
                facts.extend(nodes.iter().map(|n| (n.package.clone(), Err(format!("internal error: {panic}")))))
            }
        }
    }
    Ok(plan::plan(&graph, &facts, &options))
}

/// The release in progress (or last finished), if any.
async fn load_state(store: &mut dyn JournalStore) -> Result<Option<ReleaseState>, Failure> {
    let origin = format!("{} ({})", store.location(), run::STATE_DOC);
    match store.read_doc(run::STATE_DOC).await.map_err(|e| Failure::run(e.to_string()))? {
        Some(bytes) => ReleaseState::from_slice(&bytes, &origin).map(Some).map_err(Failure::run),
        None => Ok(None),
    }
}

fn in_progress(state: &ReleaseState) -> bool {
    !state.finished && !state.rolled_back
}

async fn run_command(cli: &Cli, args: &RunArgs) -> Result<bool, Failure> {
    let depth = if args.plan.offline { Depth::Keep } else { Depth::Full };
    let mut session = open(cli, &args.plan.select, depth).await?;
    let mut store = state::store(&session, run::CAMPAIGN)?;
    let existing = load_state(store.as_mut()).await?;
    let state = match (existing, args.resume) {
        (Some(s), true) if in_progress(&s) => {
            let wave = s.current_wave().map_or(0, |w| w + 1);
            if !cli.quiet {
                eprintln!("resuming the release started {} at wave {wave} of {}", s.started_at, s.plan.waves.len());
            }
            s
        }
        (_, true) => {
            return Err(Failure::usage("no release in progress to resume: start one with `convoy release run`"));
        }
        (Some(s), false) if in_progress(&s) => {
            let wave = s.current_wave().map_or(0, |w| w + 1);
            return Err(Failure::usage(format!(
                "a release is in progress (started {}, stopped in wave {wave} of {}): continue it with `convoy release run --resume`, or undo it with `convoy release rollback`",
                s.started_at,
                s.plan.waves.len()
            )));
        }
        (_, false) => {
            let planned = make_plan(cli, &session, &args.plan).await?;
            if !planned.errors.is_empty() {
                for e in &planned.errors {
                    eprintln!("error: {e}");
                }
                return Err(Failure::run(
                    "the release cannot be planned; nothing was changed (see `convoy release plan`)",
                ));
            }
            ReleaseState::new(planned, &session.manifest.model.release, crate::clock::now_rfc3339())
        }
    };
    if !cli.json {
        print!("{}", plan::text(&state.plan));
        if let Some(line) = budget::line(&budget::estimate(&state.plan)) {
            println!("\n{line}");
        }
    }
    if cli.json && (args.dry_run || state.plan.waves.is_empty()) {
        // Nothing is written: the plan is what would be released.
        let env = crate::report::release::plan_json(&state.plan)
            .with("dry_run", args.dry_run)
            .with("budget", budget::estimate(&state.plan))
            .skipped(&session.selection.skipped);
        super::print_json(cli, session.forge.api_usage(), env);
        return Ok(true);
    }
    if state.plan.waves.is_empty() {
        println!("nothing to release");
        return Ok(true);
    }
    if args.dry_run {
        let mode = match state.mode {
            crate::release::config::Mode::Commit => "one commit on the default branch",
            crate::release::config::Mode::PullRequest => "one pull request, merged when its checks pass",
        };
        println!(
            "\ndry run: per repository and wave, {mode}; then a tag and a forge release per package, then its gate. Nothing was written."
        );
        return Ok(true);
    }
    super::journaled(&mut session, run::CAMPAIGN).await?;
    store.write_doc(run::STATE_DOC, &state.to_vec()).await.map_err(|e| Failure::run(e.to_string()))?;
    let credentials = if args.plan.offline { None } else { session.fetch_setup().await? };
    let refresh = |repo: &str| -> Result<RepoView, String> {
        let target = session
            .targets()
            .iter()
            .find(|t| t.repo.id.full_name() == repo)
            .ok_or_else(|| format!("{repo} is not among the selected repositories"))?;
        if !args.plan.offline {
            session.fetch_one(target, credentials.as_ref())?;
        }
        let snapshot = session.cache.snapshot(&target.repo).map_err(|e| e.to_string())?;
        let mut files = BTreeMap::new();
        for path in crate::deps::cargo::manifest_paths(&snapshot) {
            if let Some(text) = snapshot.read(&path)?.and_then(|b| String::from_utf8(b).ok()) {
                files.insert(path, text);
            }
        }
        Ok(RepoView {
            id: target.repo.id.clone(),
            default_branch: target.repo.default_branch.clone(),
            deps: crate::deps::cargo::discover(repo, &files),
            snapshot,
        })
    };
    let quiet = cli.quiet || cli.json;
    let say = |line: String| {
        if !quiet {
            eprintln!("{line}");
        }
    };
    let runner = Runner {
        forge: session.forge.as_ref(),
        config: &session.manifest.model.release,
        dir: &session.manifest.dir,
        jobs: session.options.jobs,
        offline: args.plan.offline,
        refresh: &refresh,
        say: &say,
    };
    let (report, state) = runner.run(state, store.as_mut()).await.map_err(Failure::run)?;
    session.forge.persist_cache();
    if cli.json {
        let env =
            crate::report::release::run_json(&state, report.finished, &report.errors, budget::estimate(&state.plan))
                .skipped(&session.selection.skipped);
        super::print_json(cli, session.forge.api_usage(), env);
    } else {
        // What each package got, in release order.
        let rows: Vec<[String; 5]> = state
            .plan
            .waves
            .iter()
            .flatten()
            .filter_map(|p| state.packages.get(&p.package).map(|st| (p, st)))
            .filter(|(_, st)| st.sha.is_some())
            .map(|(p, st)| {
                [
                    p.package.clone(),
                    st.version.clone(),
                    if st.tagged { st.tag.clone() } else { "-".into() },
                    st.sha.as_deref().map_or("-".into(), |s| s[..s.len().min(7)].to_string()),
                    st.gate.clone().unwrap_or_else(|| st.error.clone().map_or("not yet".into(), |_| "failed".into())),
                ]
            })
            .collect();
        if !rows.is_empty() {
            let header = ["PACKAGE", "VERSION", "TAG", "COMMIT", "GATE"].map(String::from);
            let widths: Vec<usize> =
                (0..4).map(|i| rows.iter().chain([&header]).map(|r| r[i].len()).max().unwrap_or(0)).collect();
            println!();
            for r in std::iter::once(&header).chain(&rows) {
                println!(
                    "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}",
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    w0 = widths[0],
                    w1 = widths[1],
                    w2 = widths[2],
                    w3 = widths[3]
                );
            }
        }
        if report.finished {
            use crate::report::table::count;
            println!(
                "released {} in {}",
                count(state.packages.len(), "package", "packages"),
                count(state.plan.waves.len(), "wave", "waves")
            );
        }
    }
    for (package, e) in &report.errors {
        eprintln!("error: {package}: {e}");
    }
    if !report.errors.is_empty() {
        eprintln!(
            "the release stopped; fix the cause and continue with `convoy release run --resume`, or undo it with `convoy release rollback`"
        );
    }
    Ok(report.errors.is_empty())
}

async fn rollback_command(cli: &Cli, args: &RollbackArgs) -> Result<bool, Failure> {
    let mut session = open(cli, &SelectArgs { jobs: None, repos: Vec::new() }, Depth::Keep).await?;
    let mut store = state::store(&session, run::CAMPAIGN)?;
    let Some(mut state) = load_state(store.as_mut()).await? else {
        return Err(Failure::usage(
            "no release to roll back: `convoy release run` keeps its record in the campaign folder of convoy/release",
        ));
    };
    if state.rolled_back {
        if cli.json {
            let env = crate::report::release::rollback_json(&Default::default(), args.dry_run, true);
            super::print_json(cli, session.forge.api_usage(), env);
            return Ok(true);
        }
        println!("the release started {} was rolled back already", state.started_at);
        return Ok(true);
    }
    if !args.dry_run {
        super::journaled(&mut session, run::CAMPAIGN).await?;
    }
    let report = run::rollback(
        session.forge.as_ref(),
        &session.manifest.model.release,
        &session.manifest.dir,
        &state,
        args.dry_run,
    )
    .await;
    if !args.dry_run && report.errors.is_empty() {
        state.rolled_back = true;
        store.write_doc(run::STATE_DOC, &state.to_vec()).await.map_err(|e| Failure::run(e.to_string()))?;
    }
    if cli.json {
        let env = crate::report::release::rollback_json(&report, args.dry_run, false);
        super::print_json(cli, session.forge.api_usage(), env);
    } else {
        for line in &report.undone {
            println!("{line}");
        }
        for line in &report.not_undone {
            println!("not undone: {line}");
        }
        for line in &report.errors {
            eprintln!("error: {line}");
        }
    }
    Ok(report.errors.is_empty())
}
