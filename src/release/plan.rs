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

use std::collections::{BTreeMap, HashMap};
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
///
/// `template` (`[release] tag` of the repository, e.g. `release-{name}-{version}`) is read too,
/// so a release `release run` tagged is found again whatever the template.
pub fn last_release(tags: &[Tag], name: &str, primary: bool, template: Option<&str>) -> Option<LastRelease> {
    tags.iter()
        .filter_map(|t| {
            crate::deps::run::release_version(&t.name, name, primary)
                .or_else(|| template.and_then(|tpl| templated_version(&t.name, tpl, name)))
                .map(|v| (v, t))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.name.cmp(&a.1.name)))
        .map(|(v, t)| LastRelease { tag: t.name.clone(), version: v.to_string(), sha: t.sha.clone() })
}

/// The version in `tag` when it is `template` filled with `name` (a release, not a pre-release).
fn templated_version(tag: &str, template: &str, name: &str) -> Option<semver::Version> {
    let (before, after) =
        template.replace("{name}", name).split_once("{version}").map(|(a, b)| (a.to_string(), b.to_string()))?;
    let middle = tag.strip_prefix(before.as_str())?.strip_suffix(after.as_str())?;
    semver::Version::parse(middle).ok().filter(|v| v.pre.is_empty())
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

/// Each package's facts, or why they could not be read.
pub type PackageFacts = Vec<(String, Result<Facts, String>)>;

/// Tags and history of every package of one repository (blocking): `git_dir` is its cache entry,
/// `head` the cached default branch's commit.
///
/// For each package, the commits reachable from `head` but not from its last release tag that
/// touched its folder (outside the folders of packages nested inside it), newest first in
/// breadth-first order; merge commits are skipped (their parents are walked). The history is
/// walked once for all packages ([`History`]): each commit is diffed against its parent once and
/// every changed file is attributed to the innermost package folder that holds it ([`owner`]).
pub fn repo_facts(
    git_dir: &Path,
    head: &str,
    tags: &[Tag],
    nodes: &[&Node],
    all_folders: &[String],
    template: Option<&str>,
) -> PackageFacts {
    let started = std::time::Instant::now();
    let opened = gix::open(git_dir).map_err(|e| format!("opening the cache entry {}: {e}", git_dir.display())).and_then(
        |repo| {
            let head = gix::ObjectId::from_hex(head.as_bytes()).map_err(|e| format!("head {head}: {e}"))?;
            if repo.is_shallow().unwrap_or(false) {
                return Err("the cached clone is shallow: fetch without --offline (release plan fetches full history), or run `convoy fetch --full`".to_string());
            }
            Ok((repo, head))
        },
    );
    let (repo, head) = match opened {
        Ok(o) => o,
        Err(e) => return nodes.iter().map(|n| (n.package.clone(), Err(e.clone()))).collect(),
    };
    // Every package folder of the repository (publishable or not: a nested one is left out of
    // the package around it either way).
    let mut folders: HashMap<&[u8], usize> = HashMap::new();
    for f in all_folders.iter().map(String::as_str).chain(nodes.iter().map(|n| n.folder())) {
        let next = folders.len();
        folders.entry(f.as_bytes()).or_insert(next);
    }
    let wants: Vec<Result<Want, String>> = nodes
        .iter()
        .map(|node| {
            let last = last_release(tags, &node.package, node.primary, template);
            let since = match &last {
                Some(l) => {
                    let id = gix::ObjectId::from_hex(l.sha.as_bytes()).map_err(|e| format!("tag {}: {e}", l.tag))?;
                    if !repo.has_object(id) {
                        return Err(format!("{}: the release tag's commit {id} is not in the cached history", l.tag));
                    }
                    Some(id)
                }
                None => None,
            };
            let folder = folders.get(node.folder().as_bytes()).copied().unwrap_or_default();
            Ok(Want { last, since, folder })
        })
        .collect();
    let mut read = History::read(&repo, head, wants.iter().flatten().map(|w| w.since));
    let out = nodes
        .iter()
        .zip(wants)
        .map(|(node, want)| {
            let facts = want.and_then(|want| {
                let context = want.last.as_ref().map(|l| l.tag.as_str()).unwrap_or("history");
                let commits = read
                    .as_mut()
                    .map_err(|e| e.clone())
                    .and_then(|h| h.touching(&repo, &folders, want.since, want.folder))
                    .map_err(|e| format!("{context}: {e}"))?;
                Ok(Facts { last: want.last, commits })
            });
            (node.package.clone(), facts)
        })
        .collect();
    let (commits, diffs) = read.as_ref().map(|h| (h.ids.len(), h.touched.iter().flatten().count())).unwrap_or_default();
    tracing::debug!(
        repo = %git_dir.display(),
        packages = nodes.len(),
        commits,
        diffs,
        elapsed_us = started.elapsed().as_micros() as u64,
        "release history read"
    );
    out
}

/// What one package needs from the history: its last release and its folder's index.
struct Want {
    last: Option<LastRelease>,
    since: Option<gix::ObjectId>,
    folder: usize,
}

/// One walk over a repository's history for all its packages: the commits reachable from `head`
/// (down to a boundary every package's release tag contains, when each has one), which of them
/// each release tag reaches, and, computed once per commit as it is first needed, the package
/// folders it touched.
struct History {
    /// Breadth-first from `head`, as `rev_walk` gives them.
    ids: Vec<gix::ObjectId>,
    index: HashMap<gix::ObjectId, usize>,
    /// Parents (ids: a parent past the boundary is not in `index`).
    parents: Vec<Vec<gix::ObjectId>>,
    /// Per release tag commit: which of `ids` it reaches (those are not "since" that tag).
    reached: HashMap<gix::ObjectId, Vec<bool>>,
    /// Per commit, once computed: the package folders it touched and what it says.
    touched: Vec<Option<Touch>>,
    state: gix::diff::tree::State,
}

struct Touch {
    folders: Vec<usize>,
    info: Option<CommitInfo>,
}

impl History {
    /// Walk from `head` once. `sinces` are the packages' release tag commits (`None`: a package
    /// without one, whose commits go back to the root).
    fn read(
        repo: &gix::Repository,
        head: gix::ObjectId,
        sinces: impl Iterator<Item = Option<gix::ObjectId>>,
    ) -> Result<History, String> {
        let mut tips: Vec<gix::ObjectId> = Vec::new();
        let mut untagged = false;
        for s in sinces {
            match s {
                Some(s) if !tips.contains(&s) => tips.push(s),
                Some(_) => {}
                None => untagged = true,
            }
        }
        // Commits every release tag reaches are nobody's: the walk stops at a common ancestor
        // of all tags (none when a package has no tag, or the tags share no history).
        let boundary = match tips.as_slice() {
            _ if untagged => None,
            [] => None,
            [one] => Some(*one),
            many => repo.merge_base_octopus(many.iter().copied()).ok().flatten().map(|id| id.detach()),
        };
        let walk_err = |e: &dyn std::fmt::Display| format!("walking history: {e}");
        let mut walk = repo.rev_walk([head]).sorting(gix::revision::walk::Sorting::BreadthFirst);
        if let Some(b) = boundary {
            walk = walk.with_hidden([b]);
        }
        let mut h = History {
            ids: Vec::new(),
            index: HashMap::new(),
            parents: Vec::new(),
            reached: HashMap::new(),
            touched: Vec::new(),
            state: Default::default(),
        };
        for info in walk.all().map_err(|e| walk_err(&e))? {
            let info = info.map_err(|e| walk_err(&e))?;
            h.index.insert(info.id, h.ids.len());
            h.ids.push(info.id);
            h.parents.push(info.parent_ids().map(|p| p.detach()).collect());
        }
        h.touched.resize_with(h.ids.len(), || None);
        for tip in tips {
            let mut reached = vec![false; h.ids.len()];
            if boundary == Some(tip) {
                // The boundary reaches none of the walked commits.
            } else if h.index.contains_key(&tip) {
                // Its ancestors among the walked commits, in memory: a path from it to one of
                // them stays among them (anything past the boundary has only such ancestors).
                let mut stack = vec![tip];
                while let Some(id) = stack.pop() {
                    let Some(&i) = h.index.get(&id) else { continue };
                    if !std::mem::replace(&mut reached[i], true) {
                        stack.extend(h.parents[i].iter().copied());
                    }
                }
            } else {
                // A tag off the walked history (not on the default branch, or the boundary
                // itself): its own walk down to the boundary.
                let mut walk = repo.rev_walk([tip]);
                if let Some(b) = boundary {
                    walk = walk.with_hidden([b]);
                }
                for info in walk.all().map_err(|e| walk_err(&e))? {
                    let info = info.map_err(|e| walk_err(&e))?;
                    if let Some(&i) = h.index.get(&info.id) {
                        reached[i] = true;
                    }
                }
            }
            h.reached.insert(tip, reached);
        }
        Ok(h)
    }

    /// The commits since `since` that touched package folder `folder`, newest first.
    fn touching(
        &mut self,
        repo: &gix::Repository,
        folders: &HashMap<&[u8], usize>,
        since: Option<gix::ObjectId>,
        folder: usize,
    ) -> Result<Vec<CommitInfo>, String> {
        let mut out = Vec::new();
        for i in 0..self.ids.len() {
            if self.parents[i].len() > 1 || since.is_some_and(|s| self.reached.get(&s).is_none_or(|r| r[i])) {
                continue;
            }
            if self.touched[i].is_none() {
                self.touched[i] = Some(self.touch(repo, folders, i)?);
            }
            if let Some(Touch { folders: touched, info: Some(info) }) = &self.touched[i]
                && touched.contains(&folder)
            {
                out.push(info.clone());
            }
        }
        Ok(out)
    }

    /// The package folders commit `i` touched (its tree against its parent's) and, if any, what
    /// the commit says.
    fn touch(&mut self, repo: &gix::Repository, folders: &HashMap<&[u8], usize>, i: usize) -> Result<Touch, String> {
        let id = self.ids[i];
        let commit = repo.find_commit(id).map_err(|e| format!("commit {id}: {e}"))?;
        let tree = commit.tree_id().map_err(|e| format!("commit {id}: {e}"))?.detach();
        let before = match self.parents[i].first() {
            Some(p) => repo
                .find_commit(*p)
                .and_then(|c| c.tree_id().map(|t| t.detach()))
                .map_err(|e| format!("commit {p}: {e}"))?,
            None => gix::ObjectId::empty_tree(repo.object_hash()),
        };
        let mut touched: Vec<usize> = Vec::new();
        if tree != before {
            let find = |t: gix::ObjectId| repo.find_tree(t).map_err(|e| format!("tree {t}: {e}"));
            let (old, new) = (find(before)?, find(tree)?);
            let mut changes =
                gix::diff::tree::Recorder::default().track_location(Some(gix::diff::tree::recorder::Location::Path));
            gix::diff::tree(
                gix::objs::TreeRefIter::from_bytes(&old.data, repo.object_hash()),
                gix::objs::TreeRefIter::from_bytes(&new.data, repo.object_hash()),
                &mut self.state,
                &repo.objects,
                &mut changes,
            )
            .map_err(|e| format!("commit {id}: comparing its tree with its parent's: {e}"))?;
            use gix::diff::tree::recorder::Change;
            for change in &changes.records {
                let (mode, path) = match change {
                    Change::Addition { entry_mode, path, .. }
                    | Change::Deletion { entry_mode, path, .. }
                    | Change::Modification { entry_mode, path, .. } => (entry_mode, path),
                };
                // Folders are reported too; the files (links, submodules) in them decide.
                if mode.is_tree() {
                    continue;
                }
                if let Some(f) = owner(folders, path)
                    && !touched.contains(&f)
                {
                    touched.push(f);
                }
            }
        }
        let info = (!touched.is_empty()).then(|| {
            let message = commit.message_raw_sloppy().to_string();
            let subject = message.lines().next().unwrap_or_default().trim().to_string();
            let bump = conventional::parse(&message).level();
            CommitInfo { sha: id.to_string(), subject, bump, message }
        });
        Ok(Touch { folders: touched, info })
    }
}

/// The package folder (an index into `folders`) a changed file belongs to: the innermost one
/// that holds it. `None` when none does, or when the file sits where a package folder would be
/// (a file named like a nested package folder belongs to neither package, as the folder-tree
/// comparison this replaced had it).
fn owner(folders: &HashMap<&[u8], usize>, path: &[u8]) -> Option<usize> {
    if folders.contains_key(path) {
        return None;
    }
    let mut end = path.len();
    while let Some(slash) = path[..end].iter().rposition(|b| *b == b'/') {
        if let Some(f) = folders.get(&path[..slash]) {
            return Some(*f);
        }
        end = slash;
    }
    folders.get(&b""[..]).copied()
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
        last_release(&tags(names), name, primary, None).map(|l| format!("{} {}", l.tag, l.version))
    }

    #[test]
    fn a_configured_tag_template_is_read_back() {
        let t = tags(&["release-core-1.4.0", "release-core-1.5.0-rc.1", "release-corex-9.0.0", "core-v1.2.0"]);
        let got = last_release(&t, "core", false, Some("release-{name}-{version}")).map(|l| (l.tag, l.version));
        assert_eq!(got, Some(("release-core-1.4.0".to_string(), "1.4.0".to_string())));
        assert_eq!(last_release(&t, "core", false, None).map(|l| l.version).as_deref(), Some("1.2.0"));
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

    // ---- the single history walk against the per-package walk it replaced -----------------

    /// The per-package history reading `repo_facts` did before it walked each repository once:
    /// a walk from `head` hiding the release tag, and per commit the package folder's subtree
    /// compared with its parent's. Kept as the oracle the single walk must agree with.
    fn oracle(repo: &gix::Repository, head: gix::ObjectId, tags: &[Tag], node: &Node, all: &[String]) -> Vec<String> {
        let last = last_release(tags, &node.package, node.primary, None);
        let since = last.map(|l| gix::ObjectId::from_hex(l.sha.as_bytes()).unwrap());
        let folder = node.folder();
        let nested: Vec<String> = all
            .iter()
            .filter(|f| f.as_str() != folder && (folder.is_empty() || f.starts_with(&format!("{folder}/"))))
            .cloned()
            .collect();
        let mut walk = repo.rev_walk([head]).sorting(gix::revision::walk::Sorting::BreadthFirst);
        if let Some(since) = since {
            walk = walk.with_hidden([since]);
        }
        let mut out = Vec::new();
        for info in walk.all().unwrap() {
            let info = info.unwrap();
            let parents: Vec<gix::ObjectId> = info.parent_ids().map(|p| p.detach()).collect();
            if parents.len() > 1 {
                continue;
            }
            let tree = repo.find_commit(info.id).unwrap().tree_id().unwrap().detach();
            let before = parents.first().map(|p| repo.find_commit(*p).unwrap().tree_id().unwrap().detach());
            let (a, b) = (old_subtree(repo, Some(tree), folder), old_subtree(repo, before, folder));
            if old_differs(repo, a, b, folder, &nested) {
                out.push(info.id.to_string());
            }
        }
        out
    }

    fn old_subtree(repo: &gix::Repository, tree: Option<gix::ObjectId>, folder: &str) -> Option<gix::ObjectId> {
        let tree = tree?;
        if folder.is_empty() {
            return Some(tree);
        }
        let entry = repo.find_tree(tree).unwrap().lookup_entry_by_path(folder).unwrap();
        entry.filter(|e| e.mode().is_tree()).map(|e| e.object_id())
    }

    fn old_entries(repo: &gix::Repository, tree: Option<gix::ObjectId>) -> BTreeMap<String, (gix::ObjectId, bool)> {
        let Some(id) = tree else { return BTreeMap::new() };
        let tree = repo.find_tree(id).unwrap();
        let decoded = tree.decode().unwrap();
        decoded.entries.iter().map(|e| (e.filename.to_string(), (e.oid.to_owned(), e.mode.is_tree()))).collect()
    }

    fn old_differs(
        repo: &gix::Repository,
        a: Option<gix::ObjectId>,
        b: Option<gix::ObjectId>,
        prefix: &str,
        nested: &[String],
    ) -> bool {
        if a == b {
            return false;
        }
        let join = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
        let inside: Vec<&String> =
            nested.iter().filter(|n| prefix.is_empty() || n.starts_with(&format!("{prefix}/"))).collect();
        if inside.is_empty() {
            return true;
        }
        let (ea, eb) = (old_entries(repo, a), old_entries(repo, b));
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
                continue;
            }
            let leads_to_nested = inside.iter().any(|n| n.starts_with(&format!("{path}/")));
            let as_tree = |e: Option<&(gix::ObjectId, bool)>| e.filter(|(_, t)| *t).map(|(id, _)| *id);
            let both_folders_or_gone = x.is_none_or(|(_, t)| *t) && y.is_none_or(|(_, t)| *t);
            if leads_to_nested && both_folders_or_gone {
                if old_differs(repo, as_tree(x), as_tree(y), &path, nested) {
                    return true;
                }
            } else {
                return true;
            }
        }
        false
    }

    /// A repository built with the git CLI, commit by commit: `(branch, message, [(path,
    /// Some(text) | None to delete)])`; a message starting with `merge ` merges that branch.
    struct Fixture {
        dir: tempfile::TempDir,
        n: u32,
    }

    impl Fixture {
        fn new() -> Fixture {
            let f = Fixture { dir: tempfile::tempdir().unwrap(), n: 0 };
            f.git(&["init", "-q", "-b", "main"]);
            f
        }

        fn git(&self, args: &[&str]) -> String {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(self.dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        }

        fn commit(&mut self, message: &str, changes: &[(&str, Option<&str>)]) -> String {
            for (path, text) in changes {
                let full = self.dir.path().join(path);
                match text {
                    Some(t) => {
                        if full.is_dir() {
                            std::fs::remove_dir_all(&full).unwrap();
                        }
                        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                        std::fs::write(&full, t).unwrap();
                    }
                    None if full.is_dir() => std::fs::remove_dir_all(&full).unwrap(),
                    None => std::fs::remove_file(&full).unwrap(),
                }
            }
            self.n += 1;
            let date = format!("{} +0000", 1_700_000_000 + self.n * 60);
            self.git(&["add", "-A"]);
            let out = std::process::Command::new("git")
                .args(["commit", "-q", "--allow-empty", "-m", message])
                .current_dir(self.dir.path())
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .env("GIT_AUTHOR_DATE", &date)
                .env("GIT_COMMITTER_DATE", &date)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            self.git(&["rev-parse", "HEAD"])
        }
    }

    fn node(package: &str, manifest: &str) -> Node {
        Node {
            package: package.into(),
            repo: "acme/r".into(),
            version: "1.0.0".into(),
            manifest: manifest.into(),
            primary: manifest == "Cargo.toml",
        }
    }

    /// Root package `app` with `crates/a` (and `crates/a/inner` nested in it), `crates/b`, and
    /// `tools` (a package folder that is not published, so not a node); merges, a side branch
    /// with a tag on it, a file where a package folder was, a folder turned into a file.
    #[test]
    fn one_walk_agrees_with_a_walk_per_package() {
        let mut f = Fixture::new();
        let mut c = vec![f.commit(
            "init",
            &[
                ("Cargo.toml", Some("[package]\n")),
                ("src/main.rs", Some("fn main() {}\n")),
                ("crates/a/Cargo.toml", Some("a\n")),
                ("crates/a/src/lib.rs", Some("a\n")),
                ("crates/a/inner/Cargo.toml", Some("inner\n")),
                ("crates/b/Cargo.toml", Some("b\n")),
                ("tools/Cargo.toml", Some("tools\n")),
            ],
        )];
        c.push(f.commit("fix(a): one", &[("crates/a/src/lib.rs", Some("a1\n"))]));
        c.push(f.commit("feat(inner): two", &[("crates/a/inner/lib.rs", Some("i\n"))]));
        c.push(f.commit("docs: readme", &[("README.md", Some("r\n"))]));
        f.git(&["checkout", "-q", "-b", "side"]);
        c.push(f.commit("feat(b): on a branch", &[("crates/b/src/lib.rs", Some("b1\n"))]));
        c.push(f.commit("fix(a): on a branch", &[("crates/a/x.rs", Some("x\n"))]));
        f.git(&["checkout", "-q", "main"]);
        c.push(f.commit("fix: tools", &[("tools/src/lib.rs", Some("t\n"))]));
        f.git(&["merge", "-q", "--no-ff", "-m", "Merge side", "side"]);
        c.push(f.git(&["rev-parse", "HEAD"]));
        c.push(f.commit("chore: a file where a nested folder would be", &[("crates/a/inner2", Some("f\n"))]));
        c.push(f.commit("refactor!: tools becomes a file", &[("tools", Some("now a file\n"))]));
        c.push(
            f.commit("fix: both", &[("crates/a/inner/lib.rs", Some("i2\n")), ("crates/b/src/lib.rs", Some("b2\n"))]),
        );
        c.push(f.commit("fix: a file named like a package folder", &[("crates/a/inner2", Some("g\n"))]));
        f.git(&["checkout", "-q", "-b", "off", &c[4]]);
        let off = f.commit("fix(b): never merged", &[("crates/b/src/lib.rs", Some("b-off\n"))]);
        f.git(&["checkout", "-q", "main"]);
        let head_hex = f.git(&["rev-parse", "HEAD"]);
        let git_dir = f.dir.path().join(".git");
        let all: Vec<String> = ["", "crates/a", "crates/a/inner", "crates/a/inner2", "crates/b", "tools"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let nodes = [
            node("app", "Cargo.toml"),
            node("a", "crates/a/Cargo.toml"),
            node("inner", "crates/a/inner/Cargo.toml"),
            node("b", "crates/b/Cargo.toml"),
            node("inner2", "crates/a/inner2/Cargo.toml"),
        ];
        let refs: Vec<&Node> = nodes.iter().collect();
        let repo = gix::open(&git_dir).unwrap();
        let head = gix::ObjectId::from_hex(head_hex.as_bytes()).unwrap();
        let tag = |name: &str, sha: &str| Tag { name: name.into(), sha: sha.into() };
        let tag_sets: Vec<Vec<Tag>> = vec![
            vec![],
            vec![tag("v1.0.0", &c[0]), tag("a-v1.0.0", &c[1]), tag("inner-v1.0.0", &c[3]), tag("b-v1.0.0", &c[4])],
            // The same commit for all: the walk stops there.
            ["v1.0.0", "a-v1.0.0", "inner-v1.0.0", "b-v1.0.0", "inner2-v1.0.0"].iter().map(|t| tag(t, &c[3])).collect(),
            // Tags on the branch, off the default branch, at the merge, and one without a tag.
            vec![tag("v1.0.0", &c[5]), tag("a-v1.0.0", &off), tag("b-v1.0.0", &c[7]), tag("inner-v1.0.0", &c[6])],
            vec![tag("v1.0.0", &head_hex), tag("a-v1.0.0", &c[9])],
        ];
        for (k, tags) in tag_sets.iter().enumerate() {
            let got = repo_facts(&git_dir, &head_hex, tags, &refs, &all, None);
            for (node, (name, facts)) in nodes.iter().zip(got) {
                assert_eq!(name, node.package);
                let facts = facts.unwrap_or_else(|e| panic!("tag set {k}, {name}: {e}"));
                let shas: Vec<String> = facts.commits.iter().map(|c| c.sha.clone()).collect();
                assert_eq!(shas, oracle(&repo, head, tags, node, &all), "tag set {k}, package {name}");
            }
        }
        // Spot checks of what the oracle and the walk agree on.
        let tags = &tag_sets[1];
        let got: BTreeMap<String, Vec<String>> = repo_facts(&git_dir, &head_hex, tags, &refs, &all, None)
            .into_iter()
            .map(|(n, f)| (n, f.unwrap().commits.into_iter().map(|c| c.subject).collect()))
            .collect();
        assert_eq!(got["b"], ["fix: both"], "the branch commit is before b's tag; the merge is skipped");
        assert_eq!(got["inner"], ["fix: both"]);
        assert_eq!(
            got["a"],
            ["fix(a): on a branch"],
            "inner's commits are not a's, nor is a file where the package folder crates/a/inner2 would be"
        );
        assert_eq!(got["inner2"], Vec::<String>::new(), "a file where its folder would be is not the package");
        assert_eq!(
            got["app"],
            ["docs: readme"],
            "the root has what no nested package folder holds (not `tools`, a folder or a file by that name)"
        );
        // A tag whose commit is not in the repository is that package's error only.
        let missing = [tag("a-v1.0.0", "0123456789012345678901234567890123456789")];
        let got = repo_facts(&git_dir, &head_hex, &missing, &refs, &all, None);
        assert_eq!(
            got[1].1.as_ref().unwrap_err(),
            "a-v1.0.0: the release tag's commit 0123456789012345678901234567890123456789 is not in the cached history"
        );
        assert!(got[3].1.is_ok());
    }
}
