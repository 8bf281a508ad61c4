//! `convoy release plan`: what a coordinated release would publish, in which waves, and why.
//!
//! For each package of the [`Graph`]:
//!
//! 1. its **last release**: the highest non-pre-release version among its repository's tags
//!    `name-v1.2.3`, `name-1.2.3`, `name@1.2.3` (or `name@v1.2.3`), `name/v1.2.3`, and, for the
//!    repository's root or single package only, `v1.2.3` (or `1.2.3`); see [`last_release`];
//! 2. the **commits since** that tag (reachable from the default branch, not from the tag) that
//!    touched the package's folder, leaving out folders of packages nested inside it (`cargo
//!    package` leaves those out too); merge commits are skipped, their parents are walked;
//! 3. the **bump** they imply by conventional commits ([`super::conventional`]).
//!
//! A package without any release tag is released at its manifest version (a first release); a
//! manifest version above the last tag (bumped by hand, not released) is released as it is.
//! `--bump NAME=LEVEL|VERSION` overrides the decision, `--all` releases every package (a patch
//! for those with nothing to release). An unchanged package whose normal or build requirement
//! on a released package does not match that package's new version gets a patch "safety bump",
//! so that it can be published with the requirement moved.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::conventional::{self, Level};
use super::graph::{Graph, Node};
use crate::deps::model::DepKind;
use crate::forge::Tag;

/// The release tag a package was last released as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRelease {
    pub tag: String,
    pub version: String,
    /// The commit the tag points at.
    pub sha: String,
}

/// One commit that touched a package since its last release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitInfo {
    pub sha: String,
    pub subject: String,
    /// The bump this commit implies.
    pub bump: Level,
    /// The whole message (not in `release plan --json`; a resumed release reads the subject).
    #[serde(skip_serializing, default)]
    pub message: String,
}

/// What the repository's tags and history say about one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub last: Option<LastRelease>,
    /// Newest first.
    pub commits: Vec<CommitInfo>,
}

/// `--bump NAME=LEVEL|VERSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Override {
    Level(Level),
    Version(semver::Version),
}

impl Override {
    /// Parse `NAME=LEVEL|VERSION`.
    pub fn parse(arg: &str) -> Result<(String, Override), String> {
        let (name, what) = arg.split_once('=').ok_or_else(|| format!("`{arg}`: expected NAME=LEVEL|VERSION"))?;
        let what = what.trim();
        let o = match Level::parse(what) {
            Some(l) => Override::Level(l),
            None => Override::Version(
                semver::Version::parse(what.trim_start_matches('v'))
                    .map_err(|e| format!("`{arg}`: `{what}` is neither major, minor, patch nor a version ({e})"))?,
            ),
        };
        Ok((name.trim().to_string(), o))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub overrides: BTreeMap<String, Override>,
    pub all: bool,
    /// `[release] safety_bumps = false`: an unchanged package whose requirement no longer
    /// matches is an error of the plan instead of a patch release.
    pub no_safety_bumps: bool,
}

/// An org package this release also releases, that a planned package depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requires {
    pub package: String,
    /// Its new version.
    pub to: String,
    pub kind: DepKind,
    /// The requirement as written today (`None`: path only).
    pub req: Option<String>,
    /// Whether that requirement already matches the new version (if not, `release run` moves it).
    pub satisfied: bool,
}

/// A package this release publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub package: String,
    pub repo: String,
    pub from: String,
    pub to: String,
    /// `major`, `minor`, `patch`, `version` (an explicit `--bump NAME=VERSION`), `initial` (no
    /// release tag yet) or `manifest` (the manifest is ahead of the last tag).
    pub bump: String,
    pub reason: String,
    pub requires: Vec<Requires>,
    pub manifest: String,
    pub last_release: Option<LastRelease>,
    /// The commits that drive the bump, newest first.
    pub commits: Vec<CommitInfo>,
}

/// A package this release leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub package: String,
    pub repo: String,
    pub version: String,
    pub reason: String,
}

/// Something that could not be planned: the repository (and file or package) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanError {
    pub repo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<&str> = Vec::new();
        parts.extend(self.repo.as_deref());
        parts.extend(self.manifest.as_deref());
        if parts.is_empty() {
            parts.extend(self.package.as_deref());
        }
        parts.push(&self.message);
        write!(f, "{}", parts.join(": "))
    }
}

/// The plan, as `release plan --json` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub schema_version: u32,
    pub waves: Vec<Vec<Planned>>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<PlanError>,
}

/// The last release of package `name` among `tags` ([`crate::deps::run::release_version`]: the
/// per-crate forms, and bare `v1.2.3`/`1.2.3` only when `primary`). Highest version wins.
pub fn last_release(tags: &[Tag], name: &str, primary: bool) -> Option<LastRelease> {
    tags.iter()
        .filter_map(|t| crate::deps::run::release_version(&t.name, name, primary).map(|v| (v, t)))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.name.cmp(&a.1.name)))
        .map(|(v, t)| LastRelease { tag: t.name.clone(), version: v.to_string(), sha: t.sha.clone() })
}

/// Plan the release from the graph and each package's facts (`Err`: why they could not be read).
pub fn plan(graph: &Graph, facts: &BTreeMap<String, Result<Facts, String>>, options: &Options) -> Plan {
    let mut out = Plan { schema_version: super::SCHEMA_VERSION, ..Plan::default() };
    for e in &graph.errors {
        out.errors.push(PlanError {
            repo: Some(e.repo.clone()),
            manifest: e.manifest.clone(),
            package: None,
            message: e.message.clone(),
        });
    }
    for line in graph.cycle_lines() {
        out.errors.push(PlanError { repo: None, manifest: None, package: None, message: line });
    }
    if !graph.cycles.is_empty() {
        return out;
    }
    let mut released: BTreeMap<String, Planned> = BTreeMap::new();
    for name in graph.waves.iter().flatten() {
        let Some(node) = graph.node(name) else { continue };
        let error = |message: String| PlanError {
            repo: Some(node.repo.clone()),
            manifest: Some(node.manifest.clone()),
            package: Some(node.package.clone()),
            message,
        };
        let from = match semver::Version::parse(&node.version) {
            Ok(v) => v,
            Err(e) => {
                out.errors.push(error(format!("version `{}` of {}: {e}", node.version, node.package)));
                continue;
            }
        };
        let f = match facts.get(name) {
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                out.errors.push(error(format!("{}: {e}", node.package)));
                continue;
            }
            None => {
                out.errors.push(error(format!("{}: its tags and history were not read", node.package)));
                continue;
            }
        };
        let decided = match decide(node, &from, f, options.overrides.get(name), options.all) {
            Ok(d) => d,
            Err(e) => {
                out.errors.push(error(e));
                continue;
            }
        };
        let decided = match decided {
            Some(d) => Some(d),
            None if options.no_safety_bumps => {
                if let Some((_, _, reason)) = safety_bump(graph, node, &from, &released) {
                    out.errors.push(error(format!(
                        "{} needs a release ({reason}) but [release] safety_bumps = false: --bump {}=patch",
                        node.package, node.package
                    )));
                    continue;
                }
                None
            }
            None => safety_bump(graph, node, &from, &released),
        };
        let Some((to, bump, reason)) = decided else {
            let reason = match &f.last {
                Some(last) => format!("no commits touched it since {}", last.tag),
                None => "nothing to release".to_string(),
            };
            out.skipped.push(Skipped {
                package: node.package.clone(),
                repo: node.repo.clone(),
                version: node.version.clone(),
                reason,
            });
            continue;
        };
        let requires = graph
            .deps_of(name)
            .filter_map(|e| {
                let dep = released.get(&e.to)?;
                let satisfied = match (&e.req, semver::Version::parse(&dep.to)) {
                    (None, _) => true,
                    (Some(r), Ok(v)) => crate::deps::versions::parse_req(r).is_some_and(|r| r.matches(&v)),
                    (Some(_), Err(_)) => false,
                };
                Some(Requires {
                    package: e.to.clone(),
                    to: dep.to.clone(),
                    kind: e.kind,
                    req: e.req.clone(),
                    satisfied,
                })
            })
            .collect();
        let commits = if bump == "initial" { Vec::new() } else { f.commits.clone() };
        released.insert(
            name.clone(),
            Planned {
                package: node.package.clone(),
                repo: node.repo.clone(),
                from: node.version.clone(),
                to: to.to_string(),
                bump,
                reason,
                requires,
                manifest: node.manifest.clone(),
                last_release: f.last.clone(),
                commits,
            },
        );
    }
    for wave in &graph.waves {
        let planned: Vec<Planned> = wave.iter().filter_map(|p| released.remove(p)).collect();
        if !planned.is_empty() {
            out.waves.push(planned);
        }
    }
    out
}

type Decision = Option<(semver::Version, String, String)>;

/// The release of one package on its own account: an override, a first release, a manifest
/// ahead of its tag, its commits, or `--all`.
fn decide(
    node: &Node,
    from: &semver::Version,
    f: &Facts,
    forced: Option<&Override>,
    all: bool,
) -> Result<Decision, String> {
    let name = &node.package;
    match forced {
        Some(Override::Level(l)) => {
            return Ok(Some((l.apply(from), l.as_str().into(), format!("--bump {name}={}", l.as_str()))));
        }
        Some(Override::Version(v)) if v <= from => {
            return Err(format!("--bump {name}={v}: not above its current version {from}"));
        }
        Some(Override::Version(v)) => return Ok(Some((v.clone(), "version".into(), format!("--bump {name}={v}")))),
        None => {}
    }
    let Some(last) = &f.last else {
        return Ok(Some((
            from.clone(),
            "initial".into(),
            format!(
                "no release tag of {name} (as {name}-v{from}, {name}@{from}, ...): a first release of the manifest version"
            ),
        )));
    };
    if semver::Version::parse(&last.version).is_ok_and(|v| v < *from) {
        return Ok(Some((
            from.clone(),
            "manifest".into(),
            format!("the manifest version {from} is ahead of the last release tag {}", last.tag),
        )));
    }
    if let Some(level) = conventional::bump(f.commits.iter().map(|c| c.message.as_str())) {
        let n = f.commits.len();
        let commits = if n == 1 { "1 commit".to_string() } else { format!("{n} commits") };
        return Ok(Some((level.apply(from), level.as_str().into(), format!("{commits} since {}", last.tag))));
    }
    if all {
        return Ok(Some((Level::Patch.apply(from), "patch".into(), "--all".into())));
    }
    Ok(None)
}

/// A patch release of an unchanged package whose normal or build requirement on a released
/// package does not match that package's new version.
fn safety_bump(graph: &Graph, node: &Node, from: &semver::Version, released: &BTreeMap<String, Planned>) -> Decision {
    graph.deps_of(&node.package).filter(|e| e.kind != DepKind::Dev).find_map(|e| {
        let dep = released.get(&e.to)?;
        let req = e.req.as_deref()?;
        let new = semver::Version::parse(&dep.to).ok()?;
        let fits = crate::deps::versions::parse_req(req).is_some_and(|r| r.matches(&new));
        (!fits).then(|| {
            (
                Level::Patch.apply(from),
                "patch".to_string(),
                format!("safety bump: it requires {} `{req}`, which the new {} {new} does not satisfy", e.to, e.to),
            )
        })
    })
}

/// The commits reachable from `head` but not from `since` that touched `folder` (outside the
/// folders in `nested`), newest first. Merge commits are skipped (their parents are walked).
///
/// A commit touched the folder iff the folder's tree differs from its parent's, which is cheap
/// (tree ids are compared, and only folders leading to a nested package are opened) and exact.
pub fn touching_commits(
    repo: &gix::Repository,
    head: gix::ObjectId,
    since: Option<gix::ObjectId>,
    folder: &str,
    nested: &[String],
) -> Result<Vec<CommitInfo>, String> {
    let mut walk = repo.rev_walk([head]).sorting(gix::revision::walk::Sorting::BreadthFirst);
    if let Some(since) = since {
        if !repo.has_object(since) {
            return Err(format!("the release tag's commit {since} is not in the cached history"));
        }
        walk = walk.with_hidden([since]);
    }
    let mut out = Vec::new();
    for info in walk.all().map_err(|e| format!("walking history: {e}"))? {
        let info = info.map_err(|e| format!("walking history: {e}"))?;
        let parents: Vec<gix::ObjectId> = info.parent_ids().map(|p| p.detach()).collect();
        if parents.len() > 1 {
            continue;
        }
        let commit = info.object().map_err(|e| format!("commit {}: {e}", info.id))?;
        let tree = commit.tree_id().map_err(|e| format!("commit {}: {e}", info.id))?.detach();
        let before = match parents.first() {
            Some(p) => Some(
                repo.find_commit(*p)
                    .and_then(|c| c.tree_id().map(|t| t.detach()))
                    .map_err(|e| format!("commit {p}: {e}"))?,
            ),
            None => None,
        };
        let a = subtree(repo, Some(tree), folder)?;
        let b = subtree(repo, before, folder)?;
        if differs(repo, a, b, folder, nested)? {
            let message = commit.message_raw_sloppy().to_string();
            let subject = message.lines().next().unwrap_or_default().trim().to_string();
            let bump = conventional::parse(&message).level();
            out.push(CommitInfo { sha: info.id.to_string(), subject, bump, message });
        }
    }
    Ok(out)
}

/// The tree of `folder` (`""`: the root) in `tree`, if it is a folder there.
fn subtree(repo: &gix::Repository, tree: Option<gix::ObjectId>, folder: &str) -> Result<Option<gix::ObjectId>, String> {
    let Some(tree) = tree else { return Ok(None) };
    if folder.is_empty() {
        return Ok(Some(tree));
    }
    let tree = repo.find_tree(tree).map_err(|e| format!("tree {tree}: {e}"))?;
    let entry = tree.lookup_entry_by_path(folder).map_err(|e| format!("{folder} in tree {}: {e}", tree.id))?;
    Ok(entry.filter(|e| e.mode().is_tree()).map(|e| e.object_id()))
}

/// `(name, (id, is a folder))` of a tree's entries.
fn entries(
    repo: &gix::Repository,
    tree: Option<gix::ObjectId>,
) -> Result<BTreeMap<String, (gix::ObjectId, bool)>, String> {
    let Some(id) = tree else { return Ok(BTreeMap::new()) };
    let tree = repo.find_tree(id).map_err(|e| format!("tree {id}: {e}"))?;
    let decoded = tree.decode().map_err(|e| format!("tree {id}: {e}"))?;
    Ok(decoded.entries.iter().map(|e| (e.filename.to_string(), (e.oid.to_owned(), e.mode.is_tree()))).collect())
}

/// Whether trees `a` and `b` of folder `prefix` differ outside the `nested` package folders.
fn differs(
    repo: &gix::Repository,
    a: Option<gix::ObjectId>,
    b: Option<gix::ObjectId>,
    prefix: &str,
    nested: &[String],
) -> Result<bool, String> {
    if a == b {
        return Ok(false);
    }
    let join = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
    let inside: Vec<&String> =
        nested.iter().filter(|n| prefix.is_empty() || n.starts_with(&format!("{prefix}/"))).collect();
    if inside.is_empty() {
        return Ok(true);
    }
    let (ea, eb) = (entries(repo, a)?, entries(repo, b)?);
    let mut names: Vec<&String> = ea.keys().chain(eb.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (x, y) = (ea.get(name), eb.get(name));
        if x == y {
            continue;
        }
        let path = join(name);
        if inside.iter().any(|n| **n == path) {
            continue; // a nested package's own folder
        }
        let leads_to_nested = inside.iter().any(|n| n.starts_with(&format!("{path}/")));
        let as_tree = |e: Option<&(gix::ObjectId, bool)>| e.filter(|(_, t)| *t).map(|(id, _)| *id);
        let both_folders_or_gone = x.is_none_or(|(_, t)| *t) && y.is_none_or(|(_, t)| *t);
        if leads_to_nested && both_folders_or_gone {
            if differs(repo, as_tree(x), as_tree(y), &path, nested)? {
                return Ok(true);
            }
        } else {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Each package's facts, or why they could not be read.
pub type PackageFacts = Vec<(String, Result<Facts, String>)>;

/// Tags and history of every package of one repository (blocking): `git_dir` is its cache entry,
/// `head` the cached default branch's commit.
pub fn repo_facts(git_dir: &Path, head: &str, tags: &[Tag], nodes: &[&Node], all_folders: &[String]) -> PackageFacts {
    let opened = gix::open(git_dir).map_err(|e| format!("opening the cache entry {}: {e}", git_dir.display())).and_then(
        |repo| {
            let head = gix::ObjectId::from_hex(head.as_bytes()).map_err(|e| format!("head {head}: {e}"))?;
            if repo.is_shallow().unwrap_or(false) {
                return Err("the cached clone is shallow: fetch without --offline (release plan fetches full history), or run `convoy fetch --full`".to_string());
            }
            Ok((repo, head))
        },
    );
    nodes
        .iter()
        .map(|node| {
            let facts = opened.as_ref().map_err(Clone::clone).and_then(|(repo, head)| {
                let last = last_release(tags, &node.package, node.primary);
                let since = match &last {
                    Some(l) => {
                        Some(gix::ObjectId::from_hex(l.sha.as_bytes()).map_err(|e| format!("tag {}: {e}", l.tag))?)
                    }
                    None => None,
                };
                let folder = node.folder();
                let nested: Vec<String> = all_folders
                    .iter()
                    .filter(|f| f.as_str() != folder && (folder.is_empty() || f.starts_with(&format!("{folder}/"))))
                    .cloned()
                    .collect();
                let commits = touching_commits(repo, *head, since, folder, &nested)
                    .map_err(|e| format!("{}: {e}", last.as_ref().map(|l| l.tag.as_str()).unwrap_or("history")))?;
                Ok(Facts { last, commits })
            });
            (node.package.clone(), facts)
        })
        .collect()
}

/// The plan as text: the waves, each package's versions and why, with the commit subjects that
/// drive its bump; then the skipped packages and the errors.
pub fn text(plan: &Plan) -> String {
    let mut s = String::new();
    for (i, wave) in plan.waves.iter().enumerate() {
        let _ = writeln!(s, "wave {}", i + 1);
        for p in wave {
            let _ = writeln!(s, "  {} ({}) {} -> {}  {}: {}", p.package, p.repo, p.from, p.to, p.bump, p.reason);
            for c in &p.commits {
                let short = c.sha.get(..7).unwrap_or(&c.sha);
                let _ = writeln!(s, "      {short} {}", c.subject);
            }
            for r in p.requires.iter().filter(|r| !r.satisfied) {
                let _ = writeln!(
                    s,
                    "      requirement moves: {} `{}` does not match {}",
                    r.package,
                    r.req.as_deref().unwrap_or_default(),
                    r.to
                );
            }
        }
    }
    if plan.waves.is_empty() && plan.errors.is_empty() {
        s.push_str("nothing to release\n");
    }
    for k in &plan.skipped {
        let _ = writeln!(s, "skipped {} ({}) {}: {}", k.package, k.repo, k.version, k.reason);
    }
    let n: usize = plan.waves.iter().map(Vec::len).sum();
    let _ = writeln!(
        s,
        "{n} packages to release in {} waves, {} skipped, {} errors",
        plan.waves.len(),
        plan.skipped.len(),
        plan.errors.len()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(names: &[&str]) -> Vec<Tag> {
        names.iter().map(|n| Tag { name: n.to_string(), sha: format!("sha-{n}") }).collect()
    }

    fn last(names: &[&str], name: &str, primary: bool) -> Option<String> {
        last_release(&tags(names), name, primary).map(|l| format!("{} {}", l.tag, l.version))
    }

    #[test]
    fn tag_formats() {
        assert_eq!(last(&["core-v1.2.3"], "core", false).as_deref(), Some("core-v1.2.3 1.2.3"));
        assert_eq!(last(&["core-1.2.3"], "core", false).as_deref(), Some("core-1.2.3 1.2.3"));
        assert_eq!(last(&["core@1.2.3"], "core", false).as_deref(), Some("core@1.2.3 1.2.3"));
        assert_eq!(last(&["core/v1.2.3"], "core", false).as_deref(), Some("core/v1.2.3 1.2.3"));
        // A bare version tag belongs to the repository's root or single package only.
        assert_eq!(last(&["v1.2.3"], "core", true).as_deref(), Some("v1.2.3 1.2.3"));
        assert_eq!(last(&["v1.2.3"], "core", false), None);
        // Other crates' tags, pre-releases and junk are not releases of `core`.
        assert_eq!(last(&["core-macros-v2.0.0", "core-v3.0.0-rc.1", "core-latest"], "core", false), None);
        assert_eq!(last(&["core-macros-v2.0.0"], "core-macros", false).as_deref(), Some("core-macros-v2.0.0 2.0.0"));
        // The highest version wins, not the newest name.
        assert_eq!(
            last(&["core-v1.10.0", "core-v1.9.0", "core@1.2.0"], "core", false).as_deref(),
            Some("core-v1.10.0 1.10.0")
        );
    }

    #[test]
    fn overrides_parse() {
        assert_eq!(Override::parse("core=minor").unwrap(), ("core".into(), Override::Level(Level::Minor)));
        assert_eq!(
            Override::parse("core=v2.0.0").unwrap(),
            ("core".into(), Override::Version(semver::Version::new(2, 0, 0)))
        );
        assert!(Override::parse("core").is_err());
        assert!(Override::parse("core=huge").is_err());
    }
}
