//! `convoy release`: coordinated releases across the org's repositories (read-only so far:
//! `graph` and `plan`).

use std::collections::BTreeMap;

use clap::{Args, Subcommand, ValueEnum};

use super::{Cli, Failure, SelectArgs, fetch, open};
use crate::deps::skew;
use crate::forge::RepoId;
use crate::release::graph::{self, Graph, GraphError};
use crate::release::plan::{self, Options, Override};
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
    /// Use the cache as it is instead of fetching first.
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

pub async fn release(cli: &Cli, command: &ReleaseCommand) -> Result<bool, Failure> {
    match command {
        ReleaseCommand::Graph(args) => graph_command(cli, args).await,
        ReleaseCommand::Plan(args) => plan_command(cli, args).await,
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
    let session = open(cli, &args.select, Depth::Keep).await?;
    let (graph, _) = read_graph(cli, &session, args.offline).await?;
    session.forge.persist_cache();
    match args.format.unwrap_or(if cli.json { GraphFormat::Json } else { GraphFormat::Text }) {
        GraphFormat::Text => print!("{}", graph::text(&graph)),
        GraphFormat::Json => println!("{}", serde_json::to_string_pretty(&graph).unwrap_or_default()),
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
    let mut options = Options { all: args.all, ..Options::default() };
    for b in &args.bump {
        let (name, o) = Override::parse(b).map_err(|e| Failure::usage(format!("--bump {e}")))?;
        options.overrides.insert(name, o);
    }
    // History since the last tag: the cache entries are unshallowed (kept full afterwards).
    let depth = if args.offline { Depth::Keep } else { Depth::Full };
    let session = open(cli, &args.select, depth).await?;
    let (graph, org) = read_graph(cli, &session, args.offline).await?;
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
    let mut tags = BTreeMap::new();
    for repo in repos.keys() {
        let Some((owner, name)) = repo.split_once('/') else { continue };
        tags.insert(repo.clone(), session.forge.list_tags(&RepoId::new(owner, name)).await.map_err(|e| e.to_string()));
    }
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
                Ok(plan::repo_facts(&dir, &head, tags, nodes, &folders))
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
    let planned = plan::plan(&graph, &facts, &options);
    session.forge.persist_cache();
    match args.format.unwrap_or(if cli.json { PlanFormat::Json } else { PlanFormat::Text }) {
        PlanFormat::Text => print!("{}", plan::text(&planned)),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&planned).unwrap_or_default()),
    }
    for e in &planned.errors {
        eprintln!("error: {e}");
    }
    if let Some(u) = session.forge.api_usage() {
        eprintln!("{}", crate::report::usage_line(&u));
    }
    Ok(planned.errors.is_empty())
}
