//! `convoy release graph`: the org's publishable packages and the order they must be released in.
//!
//! **Nodes** are the packages [`crate::deps::cargo::discover`] finds that the org publishes: not
//! `publish = false`, with a version, and not refused by Cargo (a package its workspace root
//! neither lists nor excludes). A package name is one crate on the registry, so a name published
//! by two repositories is an error for the second one (it is left out).
//!
//! **Edges** `A → B` ("A depends on B, so B is released first"):
//!
//! - a normal or build dependency of A on org package B, whatever its form: optional, renamed
//!   (`package = "b"`), `path` + `version`, `workspace = true`, target-specific;
//! - a *versioned* dev-dependency of A on B only when its requirement does not match B's current
//!   manifest version. `cargo package` strips path-only dev-dependencies and resolves versioned
//!   ones against the registry when it verifies A
//!   (<https://doc.rust-lang.org/cargo/reference/publishing.html>, "cargo package" and
//!   <https://doc.rust-lang.org/cargo/reference/specifying-dependencies.html#development-dependencies>):
//!   a requirement the current version already satisfies is met by what is published, so it
//!   needs nothing from this release. The published versions are not read yet; the manifest
//!   version stands in for "the version on the registry". Path-only dev-dependencies never order.
//!
//! **Waves** are Kahn's topological layers: wave 1 depends on no org package, wave N only on
//! waves before it. Repository-level cycles (repo X uses Y's crate and Y uses X's) are fine as
//! long as the packages form a DAG: one repository's packages then land in different waves.
//! A cycle of normal/build edges is an error naming every package on it ([`Graph::cycles`]); a
//! dev edge that would close a cycle is dropped from the ordering and reported
//! ([`Graph::ignored_dev_edges`]), since Cargo itself allows such cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::deps::cargo;
use crate::deps::model::{DepKind, DepSource, RepoDeps};

/// A publishable package of the org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub package: String,
    pub repo: String,
    pub version: String,
    /// Repository-relative path of its `Cargo.toml`.
    pub manifest: String,
    /// The repository's root or single package (a bare `v1.2.3` tag is its).
    #[serde(skip)]
    pub primary: bool,
}

impl Node {
    /// The package's folder in its repository (`""` for the root).
    pub fn folder(&self) -> &str {
        self.manifest.strip_suffix("Cargo.toml").unwrap_or_default().trim_end_matches('/')
    }
}

/// An edge that orders the release: `from` depends on `to`, so `to` goes first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The strongest kind among `from`'s uses of `to`: normal, then build, then dev.
    pub kind: DepKind,
    /// The requirement `from` carries on `to` (the first versioned normal or build use; for a
    /// dev edge, its requirement); `None` for a path-only dependency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req: Option<String>,
}

/// A dev-dependency left out of the ordering because it would close a cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgnoredEdge {
    pub from: String,
    pub to: String,
    pub req: Option<String>,
    pub reason: String,
}

/// A repository or manifest that could not be read, or a package that could not be a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphError {
    pub repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    pub message: String,
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manifest {
            Some(m) => write!(f, "{}: {m}: {}", self.repo, self.message),
            None => write!(f, "{}: {}", self.repo, self.message),
        }
    }
}

/// The release graph, as `release graph --json` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Graph {
    pub schema_version: u32,
    /// Sorted by package name.
    pub nodes: Vec<Node>,
    /// The ordering edges, sorted by `from`, then `to`.
    pub edges: Vec<Edge>,
    /// Package names per wave, sorted by name within a wave. Empty when there is a cycle.
    pub waves: Vec<Vec<String>>,
    pub ignored_dev_edges: Vec<IgnoredEdge>,
    /// Package-level cycles of normal/build dependencies: every package on each, sorted.
    pub cycles: Vec<Vec<String>>,
    pub errors: Vec<GraphError>,
}

impl Graph {
    pub fn node(&self, package: &str) -> Option<&Node> {
        self.nodes.binary_search_by(|n| n.package.as_str().cmp(package)).ok().map(|i| &self.nodes[i])
    }

    /// The wave (0-based) of every package.
    pub fn wave_of(&self) -> BTreeMap<&str, usize> {
        self.waves.iter().enumerate().flat_map(|(i, w)| w.iter().map(move |p| (p.as_str(), i))).collect()
    }

    /// The edges out of `package` (what it depends on).
    pub fn deps_of<'a>(&'a self, package: &'a str) -> impl Iterator<Item = &'a Edge> + 'a {
        self.edges.iter().filter(move |e| e.from == package)
    }

    /// One line per cycle: `a → b → a` where a path through every member exists, else the
    /// members and the edges between them.
    pub fn cycle_lines(&self) -> Vec<String> {
        self.cycles
            .iter()
            .map(|members| {
                let inside: Vec<String> = self
                    .edges
                    .iter()
                    .filter(|e| e.kind != DepKind::Dev && members.contains(&e.from) && members.contains(&e.to))
                    .map(|e| format!("{} → {}", e.from, e.to))
                    .collect();
                format!(
                    "package dependency cycle between {} ({}): normal and build dependencies must not form a cycle",
                    members.join(", "),
                    inside.join(", ")
                )
            })
            .collect()
    }
}

/// Build the graph from what discovery found, per repository (sorted by repository).
pub fn build(org: &[(String, RepoDeps)]) -> Graph {
    let mut graph = Graph { schema_version: super::SCHEMA_VERSION, ..Graph::default() };
    let mut by_name: BTreeMap<String, Node> = BTreeMap::new();
    for (repo, deps) in org {
        for e in &deps.errors {
            graph.errors.push(GraphError {
                repo: repo.clone(),
                manifest: Some(e.manifest.clone()),
                message: e.message.clone(),
            });
        }
        for p in deps.packages.iter().filter(|p| p.publish && p.refused.is_none()) {
            let Some(version) = p.version.clone() else { continue };
            if let Some(first) = by_name.get(&p.name) {
                graph.errors.push(GraphError {
                    repo: repo.clone(),
                    manifest: Some(p.manifest.clone()),
                    message: format!(
                        "package `{}` is also published by {} ({}); this one is left out of the release graph",
                        p.name, first.repo, first.manifest
                    ),
                });
                continue;
            }
            by_name.insert(
                p.name.clone(),
                Node {
                    package: p.name.clone(),
                    repo: repo.clone(),
                    version,
                    manifest: p.manifest.clone(),
                    primary: p.primary,
                },
            );
        }
    }
    // Every use of an org package by an org package, collapsed per (from, to).
    let mut hard: BTreeMap<(String, String), Edge> = BTreeMap::new();
    let mut dev: BTreeMap<(String, String), Edge> = BTreeMap::new();
    for (repo, deps) in org {
        for u in &deps.uses {
            let Some(from) = u.package.as_deref() else { continue };
            if u.table.first().map(String::as_str) == Some("workspace") || from == u.name {
                continue;
            }
            let Some(node) = by_name.get(from) else { continue };
            if node.repo != *repo || node.manifest != u.manifest {
                continue;
            }
            let Some(target) = by_name.get(&u.name) else { continue };
            // `workspace = true`: the requirement is the root's entry's.
            let req = match &u.source {
                DepSource::Workspace => {
                    u.effective_req().or_else(|| cargo::workspace_entry(deps, u).and_then(|e| e.req.as_deref()))
                }
                _ => u.effective_req(),
            }
            .map(str::to_string);
            let key = (from.to_string(), u.name.clone());
            match u.kind {
                DepKind::Normal | DepKind::Build => {
                    let edge = hard.entry(key).or_insert_with(|| Edge {
                        from: from.to_string(),
                        to: u.name.clone(),
                        kind: u.kind,
                        req: None,
                    });
                    if u.kind == DepKind::Normal {
                        edge.kind = DepKind::Normal;
                    }
                    if edge.req.is_none() {
                        edge.req = req;
                    }
                }
                DepKind::Dev => {
                    let Some(req) = req else { continue }; // path-only (or git-only): stripped
                    if dev_needs_release(&req, &target.version) {
                        dev.entry(key).or_insert(Edge {
                            from: from.to_string(),
                            to: u.name.clone(),
                            kind: DepKind::Dev,
                            req: Some(req),
                        });
                    }
                }
            }
        }
    }
    graph.nodes = by_name.into_values().collect();
    let names: Vec<&str> = graph.nodes.iter().map(|n| n.package.as_str()).collect();
    let mut adjacency: BTreeMap<&str, BTreeSet<&str>> = names.iter().map(|n| (*n, BTreeSet::new())).collect();
    for (from, to) in hard.keys() {
        adjacency.entry(from.as_str()).or_default().insert(to.as_str());
    }
    graph.cycles = cycles(&adjacency);
    let mut edges: Vec<Edge> = hard.values().cloned().collect();
    if graph.cycles.is_empty() {
        // Dev edges join one by one, in order; one that would close a cycle is dropped.
        for ((from, to), edge) in &dev {
            if hard.contains_key(&(from.clone(), to.clone())) {
                continue;
            }
            if reaches(&adjacency, to, from) {
                graph.ignored_dev_edges.push(IgnoredEdge {
                    from: from.clone(),
                    to: to.clone(),
                    req: edge.req.clone(),
                    reason: format!("dev-dependency {from} → {to} ignored for ordering: it would close a cycle"),
                });
            } else {
                adjacency.entry(from.as_str()).or_default().insert(to.as_str());
                edges.push(edge.clone());
            }
        }
        graph.waves = waves(&adjacency);
    } else {
        edges.extend(dev.values().filter(|e| !hard.contains_key(&(e.from.clone(), e.to.clone()))).cloned());
    }
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    graph.edges = edges;
    graph
}

/// Whether a versioned dev-dependency needs a version this release creates: its requirement
/// does not match the target's current manifest version (a requirement that does not parse
/// orders, to be safe).
pub fn dev_needs_release(req: &str, current: &str) -> bool {
    match (crate::deps::versions::parse_req(req), semver::Version::parse(current)) {
        (Some(r), Ok(v)) => !r.matches(&v),
        _ => true,
    }
}

fn reaches(adjacency: &BTreeMap<&str, BTreeSet<&str>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        if seen.insert(n) {
            stack.extend(adjacency.get(n).into_iter().flatten().copied());
        }
    }
    false
}

/// Strongly connected components with more than one package (Tarjan), each sorted.
fn cycles(adjacency: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<Vec<String>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(v: &'a str, adj: &BTreeMap<&'a str, BTreeSet<&'a str>>, s: &mut State<'a>) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in adj.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(w, adj, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &v in adjacency.keys() {
        if !s.index.contains_key(v) {
            visit(v, adjacency, &mut s);
        }
    }
    s.out.sort();
    s.out
}

/// Kahn's layers over "depends on": a package is ready once everything it depends on is in an
/// earlier wave. The graph must be acyclic.
fn waves(adjacency: &BTreeMap<&str, BTreeSet<&str>>) -> Vec<Vec<String>> {
    let mut remaining: BTreeMap<&str, usize> = adjacency.iter().map(|(n, d)| (*n, d.len())).collect();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, tos) in adjacency {
        for to in tos {
            dependents.entry(*to).or_default().push(*from);
        }
    }
    let mut ready: Vec<&str> = remaining.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    while !ready.is_empty() {
        ready.sort_unstable();
        let mut next = Vec::new();
        for n in &ready {
            for d in dependents.get(n).into_iter().flatten() {
                let left = remaining.get_mut(d).expect("every package has a count");
                *left -= 1;
                if *left == 0 {
                    next.push(*d);
                }
            }
        }
        out.push(ready.iter().map(|s| s.to_string()).collect());
        ready = next;
    }
    out
}

/// The waves as text: `package (repo) version`, then the dev edges left out.
pub fn text(graph: &Graph) -> String {
    let mut s = String::new();
    for (i, wave) in graph.waves.iter().enumerate() {
        let _ = writeln!(s, "wave {}", i + 1);
        for name in wave {
            if let Some(n) = graph.node(name) {
                let _ = writeln!(s, "  {} ({}) {}", n.package, n.repo, n.version);
            }
        }
    }
    for e in &graph.ignored_dev_edges {
        let _ = writeln!(s, "note: {}", e.reason);
    }
    let repos: BTreeSet<&str> = graph.nodes.iter().map(|n| n.repo.as_str()).collect();
    use crate::report::table::count;
    let _ = writeln!(
        s,
        "{} in {}, {}",
        count(graph.nodes.len(), "package", "packages"),
        count(repos.len(), "repository", "repositories"),
        count(graph.waves.len(), "wave", "waves")
    );
    s
}

/// Packages of one wave grouped by repository, in order.
fn by_repo<'a>(graph: &'a Graph, wave: &'a [String]) -> BTreeMap<&'a str, Vec<&'a Node>> {
    let mut out: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in wave.iter().filter_map(|p| graph.node(p)) {
        out.entry(n.repo.as_str()).or_default().push(n);
    }
    out
}

fn node_ids(graph: &Graph) -> BTreeMap<&str, String> {
    graph.nodes.iter().enumerate().map(|(i, n)| (n.package.as_str(), format!("p{i}"))).collect()
}

/// A Mermaid flowchart: one subgraph per wave, one per repository inside it.
pub fn mermaid(graph: &Graph) -> String {
    let ids = node_ids(graph);
    let mut s = String::from("flowchart LR\n");
    for (i, wave) in graph.waves.iter().enumerate() {
        let _ = writeln!(s, "  subgraph wave{}[\"wave {}\"]", i + 1, i + 1);
        for (j, (repo, nodes)) in by_repo(graph, wave).into_iter().enumerate() {
            let _ = writeln!(s, "    subgraph wave{}_repo{j}[\"{}\"]", i + 1, repo.replace('"', "#quot;"));
            for n in nodes {
                let _ = writeln!(s, "      {}[\"{} {}\"]", ids[n.package.as_str()], n.package, n.version);
            }
            s.push_str("    end\n");
        }
        s.push_str("  end\n");
    }
    for e in &graph.edges {
        let arrow = match e.kind {
            DepKind::Normal => "-->".to_string(),
            DepKind::Build => "-->|build|".to_string(),
            DepKind::Dev => "-.->|dev|".to_string(),
        };
        let _ = writeln!(s, "  {} {arrow} {}", ids[e.from.as_str()], ids[e.to.as_str()]);
    }
    s
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A Graphviz digraph: one cluster per wave, one per repository inside it.
pub fn dot(graph: &Graph) -> String {
    let mut s = String::from("digraph release {\n  rankdir=LR;\n  node [shape=box];\n");
    for (i, wave) in graph.waves.iter().enumerate() {
        let _ = writeln!(s, "  subgraph cluster_wave{} {{\n    label=\"wave {}\";", i + 1, i + 1);
        for (j, (repo, nodes)) in by_repo(graph, wave).into_iter().enumerate() {
            let _ = writeln!(s, "    subgraph cluster_wave{}_repo{j} {{\n      label={};", i + 1, dot_quote(repo));
            for n in nodes {
                let _ = writeln!(
                    s,
                    "      {} [label={}];",
                    dot_quote(&n.package),
                    dot_quote(&format!("{} {}", n.package, n.version))
                );
            }
            s.push_str("    }\n");
        }
        s.push_str("  }\n");
    }
    for e in &graph.edges {
        let style = match e.kind {
            DepKind::Normal => String::new(),
            DepKind::Build => " [label=\"build\"]".to_string(),
            DepKind::Dev => " [style=dashed, label=\"dev\"]".to_string(),
        };
        let _ = writeln!(s, "  {} -> {}{style};", dot_quote(&e.from), dot_quote(&e.to));
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str, files: &[(&str, &str)]) -> (String, RepoDeps) {
        let files: BTreeMap<String, String> = files.iter().map(|(p, c)| (p.to_string(), c.to_string())).collect();
        (name.to_string(), cargo::discover(name, &files))
    }

    #[test]
    fn dev_dependency_orders_only_when_its_requirement_needs_a_new_version() {
        assert!(!dev_needs_release("1.2", "1.4.0"));
        assert!(dev_needs_release("2", "1.4.0"));
        assert!(dev_needs_release("0.5", "0.4.3"));
        assert!(!dev_needs_release("0.4.1", "0.4.3"));
    }

    #[test]
    fn a_dev_edge_that_would_close_a_cycle_is_dropped_and_reported() {
        let org = vec![
            repo(
                "acme/a",
                &[("Cargo.toml", "[package]\nname = \"a\"\nversion = \"1.0.0\"\n[dependencies]\nb = \"1\"\n")],
            ),
            repo(
                "acme/b",
                &[("Cargo.toml", "[package]\nname = \"b\"\nversion = \"1.0.0\"\n[dev-dependencies]\na = \"2\"\n")],
            ),
        ];
        let g = build(&org);
        assert!(g.cycles.is_empty());
        assert_eq!(g.waves, vec![vec!["b".to_string()], vec!["a".to_string()]]);
        assert_eq!(g.ignored_dev_edges.len(), 1);
        assert_eq!(g.ignored_dev_edges[0].reason, "dev-dependency b → a ignored for ordering: it would close a cycle");
    }
}
