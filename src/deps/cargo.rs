//! Cargo discovery from the `Cargo.toml` files of a repository, read directly with `toml_edit`
//! (no checkout and no `cargo` process: a snapshot's blobs are enough).
//!
//! What is resolved, following Cargo's own rules:
//!
//! - `[package]` (or the old `[project]`): name, version (`version.workspace = true` from
//!   `[workspace.package]`), `publish` (`false`, `[]`, or absent together with `version`: not
//!   published).
//! - Workspaces: `[workspace] members` globs (one path component per `*`, `**` across), `exclude`
//!   path prefixes (a member named literally wins over an exclude, as in Cargo), the root as a
//!   package of its own, and path dependencies under the root as implicit members. A package
//!   belongs to its explicit `package.workspace` root, or else to the nearest root above it that
//!   includes it.
//! - Dependencies in `[dependencies]`, `[dev-dependencies]`, `[build-dependencies]` (and the
//!   `dev_dependencies` / `build_dependencies` spellings), `[target.<cfg>.*]`, and
//!   `[workspace.dependencies]`; string, inline-table, dotted and `[dependencies.name]` forms;
//!   `package = "..."` renames, `optional`, `path`, `git` with `branch`/`tag`/`rev`, `registry`,
//!   and `workspace = true` inheritance (the real name and requirement come from the root).
//!
//! A manifest that does not parse (or that Cargo would refuse for a reason found here) becomes a
//! [`ManifestError`]; the other manifests of the repository are still read.

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{Item, TableLike, Value};

use super::model::{DepKind, DepSource, DepUse, ManifestError, Package, RepoDeps};
use crate::workspace::Snapshot;

/// How discovery works, for reports (`discovery` in `convoy deps skew --format json`).
pub const METHOD: &str = "manifest files read directly (no cargo)";

/// The table of `[workspace.dependencies]`.
pub const WORKSPACE_DEPENDENCIES: [&str; 2] = ["workspace", "dependencies"];

/// Dependency tables and the kind of dependency each declares (both spellings Cargo accepts).
const KIND_TABLES: [(&str, DepKind); 5] = [
    ("dependencies", DepKind::Normal),
    ("dev-dependencies", DepKind::Dev),
    ("dev_dependencies", DepKind::Dev),
    ("build-dependencies", DepKind::Build),
    ("build_dependencies", DepKind::Build),
];

/// Whether `path` is a `Cargo.toml` discovery reads: not vendored sources, not build output.
pub fn is_manifest_path(path: &str) -> bool {
    let mut parts = path.split('/').rev();
    parts.next() == Some("Cargo.toml") && parts.all(|dir| dir != "target" && dir != "vendor")
}

/// Every `Cargo.toml` of a snapshot, in path order (none under `target/` or `vendor/`).
pub fn manifest_paths(snapshot: &Snapshot) -> Vec<String> {
    snapshot.paths().filter(|p| is_manifest_path(p)).map(str::to_string).collect()
}

/// Discover the packages and dependency uses of `repo` from its manifests (path → text).
pub fn discover(repo: &str, snapshot_files: &BTreeMap<String, String>) -> RepoDeps {
    let mut out = RepoDeps::default();
    let mut manifests = Vec::new();
    for (path, text) in snapshot_files {
        match toml_edit::Document::parse(text.as_str()) {
            Ok(doc) => manifests.push(Manifest::new(path, text, doc)),
            Err(e) => out.errors.push(ManifestError {
                repo: repo.to_string(),
                manifest: path.clone(),
                message: parse_error_message(text, &e),
            }),
        }
    }
    let mut problems: Vec<(usize, String)> = Vec::new();
    let roots = workspace_roots(&manifests, &mut problems);
    for (i, m) in manifests.iter().enumerate() {
        let root = root_of(&manifests, &roots, i);
        read_manifest(repo, &manifests, i, root, &mut out, &mut problems);
        if m.package().is_none() && m.workspace().is_none() {
            problems.push((i, "neither [package] nor [workspace]: not a manifest Cargo can read".into()));
        }
    }
    for (i, message) in problems {
        out.errors.push(ManifestError { repo: repo.to_string(), manifest: manifests[i].path.to_string(), message });
    }
    for p in &mut out.packages {
        if let Some(i) = manifests.iter().position(|m| m.path == p.manifest) {
            p.refused = refused(&manifests, &roots, i);
        }
    }
    let single = out.packages.len() == 1;
    for p in &mut out.packages {
        p.primary = single || p.manifest == "Cargo.toml";
    }
    out.packages.sort_by(|a, b| a.manifest.cmp(&b.manifest));
    out.uses.sort_by(|a, b| (&a.manifest, a.line, &a.table, &a.key).cmp(&(&b.manifest, b.line, &b.table, &b.key)));
    out.errors.sort_by(|a, b| a.manifest.cmp(&b.manifest));
    out
}

/// The `[workspace.dependencies]` entry a `workspace = true` use inherits from: the entry with
/// the same key in the nearest manifest above the use that declares one (Cargo's rule for
/// finding the root; an explicit `package.workspace` pointing elsewhere is not followed here).
pub fn workspace_entry<'a>(deps: &'a RepoDeps, u: &DepUse) -> Option<&'a DepUse> {
    let dir = parent_dir(&u.manifest);
    deps.uses
        .iter()
        .filter(|w| w.table == WORKSPACE_DEPENDENCIES && w.key == u.key && under(dir, parent_dir(&w.manifest)))
        .max_by_key(|w| parent_dir(&w.manifest).len())
}

/// One parsed manifest.
struct Manifest<'a> {
    path: &'a str,
    /// The folder of the manifest, repository-relative (`""` at the top).
    dir: &'a str,
    doc: toml_edit::Document<&'a str>,
    /// Byte offset of the start of each line.
    lines: Vec<usize>,
}

impl<'a> Manifest<'a> {
    fn new(path: &'a str, text: &'a str, doc: toml_edit::Document<&'a str>) -> Self {
        Manifest { path, dir: parent_dir(path), doc, lines: line_starts(text) }
    }

    fn table(&self, name: &str) -> Option<&dyn TableLike> {
        self.doc.as_table().get(name).and_then(Item::as_table_like)
    }

    fn package(&self) -> Option<&dyn TableLike> {
        self.table("package").or_else(|| self.table("project"))
    }

    fn workspace(&self) -> Option<&dyn TableLike> {
        self.table("workspace")
    }

    /// `[workspace.dependencies]` of a root.
    fn workspace_deps(&self) -> Option<&dyn TableLike> {
        self.workspace()?.get("dependencies")?.as_table_like()
    }

    fn line(&self, offset: usize) -> usize {
        self.lines.partition_point(|&start| start <= offset).max(1)
    }

    /// Every dependency table of the manifest (not `[workspace.dependencies]`): its path as
    /// written, its kind, and the table. `edition_2024`: the underscore spellings are errors.
    fn dep_tables(
        &self,
        edition_2024: bool,
        problems: &mut Vec<String>,
    ) -> Vec<(Vec<String>, DepKind, &dyn TableLike)> {
        let mut out = Vec::new();
        let root = self.doc.as_table();
        kind_tables(root, &[], edition_2024, &mut out, problems);
        if let Some(targets) = root.get("target").and_then(Item::as_table_like) {
            for (cfg, item) in targets.iter() {
                match item.as_table_like() {
                    Some(target) => kind_tables(target, &["target", cfg], edition_2024, &mut out, problems),
                    None => problems.push(format!("[target.{}] is not a table", key_text(cfg))),
                }
            }
        }
        out
    }
}

/// The `dependencies`, `dev-dependencies` and `build-dependencies` tables of `parent` (the
/// manifest, or one `[target.<cfg>]`), as Cargo reads them: the underscore spelling is ignored
/// when the dashed one is also there, and refused from the 2024 edition on.
fn kind_tables<'d>(
    parent: &'d dyn TableLike,
    prefix: &[&str],
    edition_2024: bool,
    out: &mut Vec<(Vec<String>, DepKind, &'d dyn TableLike)>,
    problems: &mut Vec<String>,
) {
    let path = |name: &str| prefix.iter().copied().chain([name]).map(str::to_string).collect::<Vec<_>>();
    for (name, kind) in KIND_TABLES {
        let Some(item) = parent.get(name) else { continue };
        let Some(table) = item.as_table_like() else {
            problems.push(format!("{} is not a table", table_header(&path(name))));
            continue;
        };
        if name.contains('_') {
            let dashed = name.replace('_', "-");
            if edition_2024 {
                problems.push(format!(
                    "{} is unsupported as of the 2024 edition; use {}",
                    table_header(&path(name)),
                    table_header(&path(&dashed))
                ));
            }
            if parent.contains_key(&dashed) {
                continue;
            }
        }
        out.push((path(name), kind, table));
    }
}

/// A workspace root and the manifests (indexes) that are its members, the root included when
/// it is a package.
struct Root {
    manifest: usize,
    members: BTreeSet<usize>,
    /// Packages its `exclude` leaves out.
    excluded: BTreeSet<usize>,
}

/// Why Cargo refuses package manifest `i`, when it does: the workspace root Cargo finds for it
/// (its explicit `package.workspace`, else the nearest root above it that does not exclude it)
/// does not have it as a member. Cargo reference, "Workspaces" (`package.workspace`,
/// `members` and `exclude`).
fn refused(ms: &[Manifest<'_>], roots: &[Root], i: usize) -> Option<String> {
    if roots.iter().any(|r| r.manifest == i) {
        return None;
    }
    let explicit = ms[i].package().and_then(|p| p.get("workspace")).and_then(Item::as_str);
    let root = match explicit.and_then(|p| join(ms[i].dir, p.trim_end_matches("Cargo.toml"), false)) {
        Some(dir) => roots.iter().find(|r| ms[r.manifest].dir == dir),
        None => roots
            .iter()
            .filter(|r| under(ms[i].dir, ms[r.manifest].dir) && !r.excluded.contains(&i))
            .max_by_key(|r| ms[r.manifest].dir.len()),
    }?;
    (!root.members.contains(&i)).then(|| {
        format!(
            "{} is a workspace root above it that neither lists it in `members` nor excludes it: cargo refuses to build it",
            ms[root.manifest].path
        )
    })
}

fn workspace_roots(ms: &[Manifest<'_>], problems: &mut Vec<(usize, String)>) -> Vec<Root> {
    let mut roots = Vec::new();
    for (i, m) in ms.iter().enumerate() {
        let Some(ws) = m.workspace() else { continue };
        let patterns = strings(ws.get("members"), "workspace.members", |e| problems.push((i, e)));
        let exclude = strings(ws.get("exclude"), "workspace.exclude", |e| problems.push((i, e)));
        let mut globs = globset::GlobSetBuilder::new();
        let mut literals = Vec::new();
        for pattern in &patterns {
            let (Some(literal), Some(glob)) = (join(m.dir, pattern, false), join(m.dir, pattern, true)) else {
                problems.push((i, format!("workspace member `{pattern}` is outside the repository")));
                continue;
            };
            literals.push(literal);
            match globset::GlobBuilder::new(&glob).literal_separator(true).build() {
                Ok(g) => {
                    globs.add(g);
                }
                Err(e) => problems.push((i, format!("workspace member `{pattern}` is not a valid glob: {e}"))),
            }
        }
        let globs = globs.build().unwrap_or_else(|_| globset::GlobSet::empty());
        let excluded: Vec<String> = exclude.iter().filter_map(|e| join(m.dir, e, false)).collect();
        // Cargo: excluded unless a member is named literally (a prefix of the manifest path).
        let is_excluded = |j: usize| {
            let path = ms[j].path;
            excluded.iter().any(|e| under(path, e)) && !literals.iter().any(|l| under(path, l))
        };
        let mut members = BTreeSet::new();
        if m.package().is_some() {
            members.insert(i);
        }
        for (j, other) in ms.iter().enumerate() {
            if j != i && other.package().is_some() && globs.is_match(other.dir) && !is_excluded(j) {
                members.insert(j);
            }
        }
        // Path dependencies of members under the root are members too.
        let mut queue: Vec<usize> = members.iter().copied().collect();
        while let Some(j) = queue.pop() {
            for dir in path_dep_dirs(&ms[j], m) {
                let Some(k) = ms.iter().position(|x| x.dir == dir) else { continue };
                if ms[k].package().is_some() && under(ms[k].path, m.dir) && !is_excluded(k) && members.insert(k) {
                    queue.push(k);
                }
            }
        }
        let excluded = (0..ms.len()).filter(|&j| j != i && is_excluded(j)).collect();
        roots.push(Root { manifest: i, members, excluded });
    }
    roots
}

/// The folders of the path dependencies of `m` (inherited ones through `root`).
fn path_dep_dirs(m: &Manifest<'_>, root: &Manifest<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for (_, _, table) in m.dep_tables(false, &mut Vec::new()) {
        for (key, item) in table.iter() {
            let Some(t) = item.as_table_like() else { continue };
            if let Some(path) = t.get("path").and_then(Item::as_str) {
                out.extend(join(m.dir, path, false));
            } else if t.get("workspace").and_then(Item::as_bool) == Some(true) {
                let inherited = root.workspace_deps().and_then(|d| d.get(key)).and_then(Item::as_table_like);
                if let Some(path) = inherited.and_then(|t| t.get("path")).and_then(Item::as_str) {
                    out.extend(join(root.dir, path, false));
                }
            }
        }
    }
    out
}

/// The workspace root manifest `i` belongs to: itself when it is a root, its explicit
/// `package.workspace`, or the nearest root above it that includes it.
fn root_of(ms: &[Manifest<'_>], roots: &[Root], i: usize) -> Option<usize> {
    if roots.iter().any(|r| r.manifest == i) {
        return Some(i);
    }
    let explicit = ms[i].package().and_then(|p| p.get("workspace")).and_then(Item::as_str);
    if let Some(dir) = explicit.and_then(|p| join(ms[i].dir, p.trim_end_matches("Cargo.toml"), false)) {
        return roots.iter().find(|r| ms[r.manifest].dir == dir).map(|r| r.manifest);
    }
    roots
        .iter()
        .filter(|r| r.members.contains(&i) && under(ms[i].dir, ms[r.manifest].dir))
        .max_by_key(|r| ms[r.manifest].dir.len())
        .map(|r| r.manifest)
}

/// The package and every dependency use of manifest `i` (whose workspace root is `root`).
fn read_manifest(
    repo: &str,
    ms: &[Manifest<'_>],
    i: usize,
    root: Option<usize>,
    out: &mut RepoDeps,
    problems: &mut Vec<(usize, String)>,
) {
    let m = &ms[i];
    let root_manifest = root.map(|r| &ms[r]);
    let inherited_package = |field: &str| {
        root_manifest
            .and_then(|r| r.workspace())
            .and_then(|w| w.get("package"))
            .and_then(|p| p.as_table_like()?.get(field))
    };
    let inherits =
        |item: &Item| item.as_table_like().and_then(|t| t.get("workspace")).and_then(Item::as_bool) == Some(true);
    let mut package_name = None;
    if let Some(p) = m.package() {
        match p.get("name").and_then(Item::as_str) {
            Some(name) => package_name = Some(name.to_string()),
            None => problems.push((i, "[package] has no `name`".into())),
        }
        let version_item = p.get("version");
        let version = match version_item {
            Some(v) if inherits(v) => {
                if root.is_none() {
                    problems
                        .push((i, "`version.workspace = true` but no workspace root includes this manifest".into()));
                }
                inherited_package("version").and_then(Item::as_str).map(str::to_string)
            }
            Some(v) => v.as_str().map(str::to_string),
            None => None,
        };
        let publish = match p.get("publish") {
            Some(v) if inherits(v) => inherited_package("publish").is_none_or(publishes),
            Some(v) => publishes(v),
            // Cargo: a package without a version is not published.
            None => version_item.is_some(),
        };
        if let Some(name) = &package_name {
            out.packages.push(Package {
                repo: repo.to_string(),
                manifest: m.path.to_string(),
                name: name.clone(),
                version,
                publish,
                refused: None,
                primary: false,
            });
        }
    }
    let mut tables: Vec<(Vec<String>, DepKind, &dyn TableLike)> = Vec::new();
    if let Some(deps) = m.workspace_deps() {
        tables.push((WORKSPACE_DEPENDENCIES.iter().map(|s| s.to_string()).collect(), DepKind::Normal, deps));
    }
    let edition = match m.package().and_then(|p| p.get("edition")) {
        Some(e) if inherits(e) => inherited_package("edition").and_then(Item::as_str),
        Some(e) => e.as_str(),
        None => None,
    };
    let mut table_problems = Vec::new();
    tables.extend(m.dep_tables(edition.is_some_and(|e| e >= "2024"), &mut table_problems));
    problems.extend(table_problems.into_iter().map(|p| (i, p)));
    for (table, kind, entries) in tables {
        let where_ = table_header(&table);
        for (key, item) in entries.iter() {
            let spec = match Spec::read(item) {
                Ok(s) => s,
                Err(e) => {
                    problems.push((i, format!("{where_} {key}: {e}")));
                    continue;
                }
            };
            let offset = entries.key(key).and_then(|k| k.span()).or_else(|| item.span()).map_or(0, |s| s.start);
            let mut name = spec.package.clone().unwrap_or_else(|| key.to_string());
            let mut inherited_req = None;
            if spec.source == DepSource::Workspace {
                if table == WORKSPACE_DEPENDENCIES {
                    problems.push((i, format!("{where_} {key}: `workspace = true` inside [workspace.dependencies]")));
                } else if let Some(r) = root_manifest {
                    match r.workspace_deps().and_then(|d| d.get(key)).map(Spec::read) {
                        Some(Ok(from_root)) => {
                            name = from_root.package.unwrap_or_else(|| key.to_string());
                            inherited_req = from_root.req;
                        }
                        // Reported at the root.
                        Some(Err(_)) => {}
                        None => problems.push((
                            i,
                            format!(
                                "{where_} {key}: `workspace = true` but [workspace.dependencies] of {} has no `{key}`",
                                r.path
                            ),
                        )),
                    }
                } else {
                    problems.push((
                        i,
                        format!("{where_} {key}: `workspace = true` but no workspace root includes this manifest"),
                    ));
                }
            }
            out.uses.push(DepUse {
                repo: repo.to_string(),
                manifest: m.path.to_string(),
                package: package_name.clone(),
                table: table.clone(),
                key: key.to_string(),
                name,
                req: spec.req,
                kind,
                optional: spec.optional,
                source: spec.source,
                inherited_req,
                line: m.line(offset),
            });
        }
    }
}

/// `publish = false` or `publish = []` means not published; `true` or a list of registries,
/// published.
fn publishes(item: &Item) -> bool {
    match item {
        Item::Value(Value::Boolean(b)) => *b.value(),
        Item::Value(Value::Array(a)) => !a.is_empty(),
        _ => true,
    }
}

/// One dependency entry, whatever its form.
#[derive(Debug)]
struct Spec {
    req: Option<String>,
    source: DepSource,
    package: Option<String>,
    optional: bool,
}

impl Spec {
    fn read(item: &Item) -> Result<Spec, String> {
        if let Some(req) = item.as_str() {
            let source = DepSource::Registry { registry: None };
            return Ok(Spec { req: Some(req.to_string()), source, package: None, optional: false });
        }
        let Some(t) = item.as_table_like() else {
            return Err(format!("expected a version string or a table, found {}", item.type_name()));
        };
        let text = |field: &str| -> Result<Option<String>, String> {
            match t.get(field) {
                None => Ok(None),
                Some(v) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| format!("`{field}` is not a string")),
            }
        };
        let flag = |field: &str| -> Result<bool, String> {
            match t.get(field) {
                None => Ok(false),
                Some(v) => v.as_bool().ok_or_else(|| format!("`{field}` is not true or false")),
            }
        };
        let req = text("version")?;
        let package = text("package")?;
        let optional = flag("optional")?;
        let source = if flag("workspace")? {
            DepSource::Workspace
        } else if let Some(url) = text("git")? {
            let reference = match (text("branch")?, text("tag")?, text("rev")?) {
                (Some(b), _, _) => Some(format!("branch={b}")),
                (None, Some(t), _) => Some(format!("tag={t}")),
                (None, None, Some(r)) => Some(format!("rev={r}")),
                (None, None, None) => None,
            };
            DepSource::Git { url, reference }
        } else if let Some(path) = text("path")? {
            DepSource::Path { path }
        } else {
            DepSource::Registry { registry: text("registry")?.or(text("registry-index")?) }
        };
        Ok(Spec { req, source, package, optional })
    }
}

/// `strings` of a TOML array (`what` names it in errors).
fn strings(item: Option<&Item>, what: &str, mut problem: impl FnMut(String)) -> Vec<String> {
    let Some(item) = item else { return Vec::new() };
    let Some(array) = item.as_array() else {
        problem(format!("`{what}` is not an array"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for v in array.iter() {
        match v.as_str() {
            Some(s) => out.push(s.to_string()),
            None => problem(format!("`{what}` holds a {}, not a string", v.type_name())),
        }
    }
    out
}

/// `rel` (a path relative to the folder `dir`) as a repository-relative path, `""` for the top;
/// `None` when it leaves the repository. With `escape`, the components of `dir` are escaped so
/// that `rel` can be a glob.
fn join(dir: &str, rel: &str, escape: bool) -> Option<String> {
    let mut parts: Vec<String> = dir
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| if escape { globset::escape(p) } else { p.to_string() })
        .collect();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p.to_string()),
        }
    }
    Some(parts.join("/"))
}

/// Whether `path` is `prefix` or below it (whole components; `""` is the top).
fn under(path: &str, prefix: &str) -> bool {
    prefix.is_empty() || path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

/// A key as it would be written in a table header: bare when it can be, quoted otherwise.
pub fn key_text(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare {
        key.to_string()
    } else if !key.contains('\'') && !key.chars().any(char::is_control) {
        format!("'{key}'")
    } else {
        format!("{:?}", key)
    }
}

/// `[target.'cfg(unix)'.dependencies]` for a use's table path.
pub fn table_header(table: &[String]) -> String {
    format!("[{}]", table.iter().map(|k| key_text(k)).collect::<Vec<_>>().join("."))
}

/// `line:column: message` of a parse error (1-based; the column counts characters).
fn parse_error_message(text: &str, e: &toml_edit::TomlError) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let offset = span.start.min(text.len());
            let starts = line_starts(text);
            let line = starts.partition_point(|&s| s <= offset).max(1);
            let start = starts[line - 1];
            let column = text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
            format!("{line}:{column}: {message}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> BTreeMap<String, String> {
        list.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
    }

    /// One line per use: `manifest:line [table] key=name req kind optional source inherited`.
    fn lines(deps: &RepoDeps) -> Vec<String> {
        deps.uses
            .iter()
            .map(|u| {
                let source = match &u.source {
                    DepSource::Registry { registry: None } => "registry".to_string(),
                    DepSource::Registry { registry: Some(r) } => format!("registry:{r}"),
                    DepSource::Path { path } => format!("path:{path}"),
                    DepSource::Git { url, reference } => format!("git:{url}#{}", reference.as_deref().unwrap_or("-")),
                    DepSource::Workspace => "workspace".to_string(),
                };
                format!(
                    "{}:{} {} {}={} {} {:?}{} {source}{}{}",
                    u.manifest,
                    u.line,
                    table_header(&u.table),
                    u.key,
                    u.name,
                    u.req.as_deref().unwrap_or("-"),
                    u.kind,
                    if u.optional { " optional" } else { "" },
                    u.inherited_req.as_deref().map(|r| format!(" inherits {r}")).unwrap_or_default(),
                    u.package.as_deref().map(|p| format!(" in {p}")).unwrap_or_default(),
                )
            })
            .collect()
    }

    const SINGLE: &str = r#"[package]
name = "api"
version = "1.2.0"
edition = "2021"

[dependencies]
serde = "1.0.100"
tokio = { version = "1.30", features = ["full"], optional = true }
json = { package = "serde_json", version = "1" }
core = { path = "../core", version = "0.4" }
local = { path = "crates/local" }
edge = { git = "https://github.com/acme/edge", branch = "main" }
pinned = { git = "https://github.com/acme/pinned", rev = "0123abc" }
tagged = { git = "https://github.com/acme/tagged", tag = "v1.0.0", version = "1" }
internal = { version = "2.1", registry = "acme" }
bytes.version = "1.5"
bytes.default-features = false

[dependencies.regex]
version = "1.10"
default-features = false

[target.'cfg(unix)'.dependencies]
libc = "0.2.150"

[target."cfg(windows)".dependencies.winapi]
version = "0.3"
features = ["winuser"]

[target.x86_64-pc-windows-msvc.build-dependencies]
cc = "1.0.83"

[dev_dependencies]
proptest = "1"

[dev-dependencies]
serde = { version = "1.0.50", features = ["derive"] }

[build_dependencies]
rustc_version = "0.4"
"#;

    #[test]
    fn every_form_of_a_single_crate() {
        let deps = discover("acme/api", &files(&[("Cargo.toml", SINGLE)]));
        assert!(deps.errors.is_empty(), "{:?}", deps.errors);
        assert_eq!(
            deps.packages,
            vec![Package {
                repo: "acme/api".into(),
                manifest: "Cargo.toml".into(),
                name: "api".into(),
                version: Some("1.2.0".into()),
                publish: true,
                refused: None,
                primary: true,
            }]
        );
        assert_eq!(
            lines(&deps),
            vec![
                "Cargo.toml:7 [dependencies] serde=serde 1.0.100 Normal registry in api",
                "Cargo.toml:8 [dependencies] tokio=tokio 1.30 Normal optional registry in api",
                "Cargo.toml:9 [dependencies] json=serde_json 1 Normal registry in api",
                "Cargo.toml:10 [dependencies] core=core 0.4 Normal path:../core in api",
                "Cargo.toml:11 [dependencies] local=local - Normal path:crates/local in api",
                "Cargo.toml:12 [dependencies] edge=edge - Normal git:https://github.com/acme/edge#branch=main in api",
                "Cargo.toml:13 [dependencies] pinned=pinned - Normal git:https://github.com/acme/pinned#rev=0123abc in api",
                "Cargo.toml:14 [dependencies] tagged=tagged 1 Normal git:https://github.com/acme/tagged#tag=v1.0.0 in api",
                "Cargo.toml:15 [dependencies] internal=internal 2.1 Normal registry:acme in api",
                "Cargo.toml:16 [dependencies] bytes=bytes 1.5 Normal registry in api",
                "Cargo.toml:19 [dependencies] regex=regex 1.10 Normal registry in api",
                "Cargo.toml:24 [target.'cfg(unix)'.dependencies] libc=libc 0.2.150 Normal registry in api",
                "Cargo.toml:26 [target.'cfg(windows)'.dependencies] winapi=winapi 0.3 Normal registry in api",
                "Cargo.toml:31 [target.x86_64-pc-windows-msvc.build-dependencies] cc=cc 1.0.83 Build registry in api",
                // [dev_dependencies] is ignored beside [dev-dependencies], as Cargo does.
                "Cargo.toml:37 [dev-dependencies] serde=serde 1.0.50 Dev registry in api",
                "Cargo.toml:40 [build_dependencies] rustc_version=rustc_version 0.4 Build registry in api",
            ]
        );
        // The table path is the key text after parsing: what `toml_edit` finds the entry by.
        let winapi = deps.uses.iter().find(|u| u.key == "winapi").unwrap();
        assert_eq!(winapi.table, ["target", "cfg(windows)", "dependencies"]);
        let doc = toml_edit::Document::parse(SINGLE).unwrap();
        for u in &deps.uses {
            let mut item = doc.as_table().get(&u.table[0]).unwrap();
            for k in &u.table[1..] {
                item = item.get(k).unwrap();
            }
            assert!(item.get(&u.key).is_some(), "{u:?}");
        }
    }

    #[test]
    fn underscore_spellings_and_the_2024_edition() {
        let manifest = |edition: &str| {
            format!(
                "[package]\nname = \"u\"\nversion = \"0.1.0\"\nedition = \"{edition}\"\n\n[dev_dependencies]\nproptest = \"1\"\n\n[target.'cfg(unix)'.build_dependencies]\ncc = \"1\"\n"
            )
        };
        let deps = discover("acme/u", &files(&[("Cargo.toml", &manifest("2021"))]));
        assert!(deps.errors.is_empty(), "{:?}", deps.errors);
        assert_eq!(
            lines(&deps),
            [
                "Cargo.toml:7 [dev_dependencies] proptest=proptest 1 Dev registry in u",
                "Cargo.toml:10 [target.'cfg(unix)'.build_dependencies] cc=cc 1 Build registry in u",
            ]
        );
        // Cargo refuses them from the 2024 edition on (also when the edition is inherited).
        let deps = discover("acme/u", &files(&[("Cargo.toml", &manifest("2024"))]));
        let errors: Vec<&str> = deps.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            errors,
            [
                "[dev_dependencies] is unsupported as of the 2024 edition; use [dev-dependencies]",
                "[target.'cfg(unix)'.build_dependencies] is unsupported as of the 2024 edition; use [target.'cfg(unix)'.build-dependencies]",
            ]
        );
        assert_eq!(deps.uses.len(), 2, "still reported");
        let inherited = files(&[
            ("Cargo.toml", "[workspace]\nmembers = [\"a\"]\n[workspace.package]\nedition = \"2024\"\n"),
            ("a/Cargo.toml", "[package]\nname = \"a\"\nedition.workspace = true\n[build_dependencies]\ncc = \"1\"\n"),
        ]);
        assert_eq!(discover("acme/u", &inherited).errors.len(), 1);
    }

    const WS_ROOT: &str = r#"# A virtual workspace.
[workspace]
resolver = "2"
members = ["crates/*", "tools/gen/"]
exclude = ["crates/experimental"]

[workspace.package]
version = "0.4.0"
edition = "2021"
publish = false

[workspace.dependencies]
serde = { version = "1.0.228", features = ["derive"] }
rand = "0.8"
json = { package = "serde_json", version = "1.0.120" }
log = "0.4"
acme-core = { path = "crates/core", version = "0.4.0" }
"#;

    const WS_CORE: &str = r#"[package]
name = "acme-core"
version.workspace = true
edition.workspace = true
publish = true

[dependencies]
serde = { workspace = true }
json.workspace = true
log = { workspace = true, optional = true }

[dev-dependencies]
rand.workspace = true
"#;

    const WS_CLI: &str = r#"[package]
name = "acme-cli"
version.workspace = true
publish.workspace = true

[dependencies]
acme-core.workspace = true
helper = { path = "../../helpers/helper" }
"#;

    #[test]
    fn a_virtual_workspace_with_globs_excludes_and_inheritance() {
        let deps = discover(
            "acme/ws",
            &files(&[
                ("Cargo.toml", WS_ROOT),
                ("crates/core/Cargo.toml", WS_CORE),
                ("crates/cli/Cargo.toml", WS_CLI),
                // Excluded: a package of its own, so `workspace = true` has nothing to inherit.
                (
                    "crates/experimental/Cargo.toml",
                    "[package]\nname = \"exp\"\nversion = \"0.0.1\"\n\n[dependencies]\nserde = \"0.9\"\nrand.workspace = true\n",
                ),
                // Not matched by the globs, but a path dependency of a member: a member too.
                (
                    "helpers/helper/Cargo.toml",
                    "[package]\nname = \"helper\"\nversion.workspace = true\n\n[dependencies]\nlog.workspace = true\n",
                ),
                (
                    "tools/gen/Cargo.toml",
                    "[package]\nname = \"gen\"\n\n[build-dependencies]\njson = { workspace = true }\n",
                ),
                // `*` does not cross a `/`.
                (
                    "crates/core/fuzz/Cargo.toml",
                    "[package]\nname = \"core-fuzz\"\nversion = \"0.0.0\"\npublish = false\n\n[dependencies]\nlibfuzzer-sys = \"0.4\"\n",
                ),
            ]),
        );
        assert_eq!(
            deps.errors,
            vec![ManifestError {
                repo: "acme/ws".into(),
                manifest: "crates/experimental/Cargo.toml".into(),
                message: "[dependencies] rand: `workspace = true` but no workspace root includes this manifest".into(),
            }]
        );
        let packages: Vec<(&str, &str, Option<&str>, bool)> = deps
            .packages
            .iter()
            .map(|p| (p.manifest.as_str(), p.name.as_str(), p.version.as_deref(), p.publish))
            .collect();
        assert_eq!(
            packages,
            vec![
                ("crates/cli/Cargo.toml", "acme-cli", Some("0.4.0"), false),
                ("crates/core/Cargo.toml", "acme-core", Some("0.4.0"), true),
                ("crates/core/fuzz/Cargo.toml", "core-fuzz", Some("0.0.0"), false),
                ("crates/experimental/Cargo.toml", "exp", Some("0.0.1"), true),
                // `publish` is not inherited unless asked for.
                ("helpers/helper/Cargo.toml", "helper", Some("0.4.0"), true),
                // No version at all: Cargo does not publish it.
                ("tools/gen/Cargo.toml", "gen", None, false),
            ]
        );
        // Under the root, neither a member nor excluded: cargo refuses it, so it is no org
        // crate. The excluded one is a package of its own; none is the repository's primary one.
        let refused: Vec<&str> =
            deps.packages.iter().filter(|p| p.refused.is_some()).map(|p| p.name.as_str()).collect();
        assert_eq!(refused, ["core-fuzz"]);
        assert!(deps.packages.iter().all(|p| !p.primary));
        assert_eq!(
            lines(&deps),
            vec![
                "Cargo.toml:13 [workspace.dependencies] serde=serde 1.0.228 Normal registry",
                "Cargo.toml:14 [workspace.dependencies] rand=rand 0.8 Normal registry",
                "Cargo.toml:15 [workspace.dependencies] json=serde_json 1.0.120 Normal registry",
                "Cargo.toml:16 [workspace.dependencies] log=log 0.4 Normal registry",
                "Cargo.toml:17 [workspace.dependencies] acme-core=acme-core 0.4.0 Normal path:crates/core",
                "crates/cli/Cargo.toml:7 [dependencies] acme-core=acme-core - Normal workspace inherits 0.4.0 in acme-cli",
                "crates/cli/Cargo.toml:8 [dependencies] helper=helper - Normal path:../../helpers/helper in acme-cli",
                "crates/core/Cargo.toml:8 [dependencies] serde=serde - Normal workspace inherits 1.0.228 in acme-core",
                "crates/core/Cargo.toml:9 [dependencies] json=serde_json - Normal workspace inherits 1.0.120 in acme-core",
                "crates/core/Cargo.toml:10 [dependencies] log=log - Normal optional workspace inherits 0.4 in acme-core",
                "crates/core/Cargo.toml:13 [dev-dependencies] rand=rand - Dev workspace inherits 0.8 in acme-core",
                "crates/core/fuzz/Cargo.toml:7 [dependencies] libfuzzer-sys=libfuzzer-sys 0.4 Normal registry in core-fuzz",
                "crates/experimental/Cargo.toml:6 [dependencies] serde=serde 0.9 Normal registry in exp",
                "crates/experimental/Cargo.toml:7 [dependencies] rand=rand - Normal workspace in exp",
                "helpers/helper/Cargo.toml:6 [dependencies] log=log - Normal workspace inherits 0.4 in helper",
                "tools/gen/Cargo.toml:5 [build-dependencies] json=serde_json - Build workspace inherits 1.0.120 in gen",
            ]
        );
        let inherited = deps.uses.iter().find(|u| u.manifest == "crates/core/Cargo.toml" && u.key == "json").unwrap();
        assert_eq!(inherited.effective_req(), Some("1.0.120"));
        let entry = workspace_entry(&deps, inherited).unwrap();
        assert_eq!((entry.manifest.as_str(), entry.line), ("Cargo.toml", 15));
    }

    #[test]
    fn a_root_package_nested_workspaces_and_an_explicit_root() {
        let deps = discover(
            "acme/mono",
            &files(&[
                (
                    "Cargo.toml",
                    "[package]\nname = \"mono\"\nversion = \"2.0.0\"\n\n[workspace]\nmembers = [\"libs/**\"]\n\n[workspace.dependencies]\nanyhow = \"1.0.80\"\n\n[dependencies]\nanyhow.workspace = true\n",
                ),
                (
                    "libs/a/b/Cargo.toml",
                    "[package]\nname = \"ab\"\nversion = \"0.1.0\"\n[dependencies]\nanyhow = { workspace = true }\n",
                ),
                // A workspace of its own inside the repository: its members inherit from it.
                (
                    "sub/Cargo.toml",
                    "[workspace]\nmembers = [\"x\"]\n[workspace.package]\nversion = \"9.0.0\"\n[workspace.dependencies]\nanyhow = \"1.0.60\"\n",
                ),
                (
                    "sub/x/Cargo.toml",
                    "[package]\nname = \"x\"\nversion.workspace = true\n[dependencies]\nanyhow.workspace = true\n",
                ),
                (
                    "elsewhere/y/Cargo.toml",
                    "[package]\nname = \"y\"\nworkspace = \"../../sub\"\nversion.workspace = true\n[dependencies]\nanyhow.workspace = true\n",
                ),
            ]),
        );
        assert!(deps.errors.is_empty(), "{:?}", deps.errors);
        let versions: Vec<(&str, Option<&str>)> =
            deps.packages.iter().map(|p| (p.name.as_str(), p.version.as_deref())).collect();
        assert_eq!(
            versions,
            vec![("mono", Some("2.0.0")), ("y", Some("9.0.0")), ("ab", Some("0.1.0")), ("x", Some("9.0.0"))]
        );
        let inherits: Vec<(&str, Option<&str>)> = deps
            .uses
            .iter()
            .filter(|u| u.source == DepSource::Workspace)
            .map(|u| (u.manifest.as_str(), u.inherited_req.as_deref()))
            .collect();
        assert_eq!(
            inherits,
            vec![
                ("Cargo.toml", Some("1.0.80")),
                ("elsewhere/y/Cargo.toml", Some("1.0.60")),
                ("libs/a/b/Cargo.toml", Some("1.0.80")),
                ("sub/x/Cargo.toml", Some("1.0.60")),
            ]
        );
        let root_entry =
            deps.uses.iter().find(|u| u.table == WORKSPACE_DEPENDENCIES && u.manifest == "Cargo.toml").unwrap();
        assert_eq!(root_entry.package.as_deref(), Some("mono"), "a root that is also a package");
        let own = deps.uses.iter().find(|u| u.manifest == "Cargo.toml" && u.table == ["dependencies"]).unwrap();
        assert_eq!(workspace_entry(&deps, own).map(|w| w.line), Some(9));
        let x = deps.uses.iter().find(|u| u.manifest == "sub/x/Cargo.toml").unwrap();
        assert_eq!(workspace_entry(&deps, x).map(|w| w.manifest.as_str()), Some("sub/Cargo.toml"));
    }

    #[test]
    fn broken_manifests_are_reported_and_the_rest_goes_on() {
        let deps = discover(
            "acme/broken",
            &files(&[
                (
                    "Cargo.toml",
                    "[package]\nname = \"broken\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = { version = \"1\"\n",
                ),
                ("dup/Cargo.toml", "[package]\nname = \"dup\"\n[dependencies]\nrand = \"0.8\"\nrand = \"0.7\"\n"),
                (
                    "ok/Cargo.toml",
                    "[package]\nname = \"ok\"\nversion = \"0.1.0\"\n[dependencies]\nrand = \"0.8\"\nodd = 3\n",
                ),
                ("fixture/Cargo.toml", "[dependencies]\nrand = \"0.8\"\n"),
            ]),
        );
        let errors: Vec<(&str, &str)> = deps.errors.iter().map(|e| (e.manifest.as_str(), e.message.as_str())).collect();
        assert_eq!(
            errors,
            vec![
                ("Cargo.toml", "6:24: unclosed inline table, expected `}`"),
                ("dup/Cargo.toml", "5:1: duplicate key"),
                ("fixture/Cargo.toml", "neither [package] nor [workspace]: not a manifest Cargo can read"),
                ("ok/Cargo.toml", "[dependencies] odd: expected a version string or a table, found integer"),
            ]
        );
        assert!(deps.errors.iter().all(|e| e.repo == "acme/broken"));
        assert_eq!(deps.packages.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["ok"]);
        assert_eq!(
            deps.uses.iter().map(|u| (u.manifest.as_str(), u.key.as_str())).collect::<Vec<_>>(),
            [("fixture/Cargo.toml", "rand"), ("ok/Cargo.toml", "rand")]
        );
    }

    #[test]
    fn publish_forms() {
        let publish = |package: &str| {
            let deps = discover("acme/p", &files(&[("Cargo.toml", &format!("[package]\nname = \"p\"\n{package}"))]));
            assert!(deps.errors.is_empty(), "{:?}", deps.errors);
            deps.packages[0].publish
        };
        assert!(publish("version = \"1.0.0\"\n"));
        assert!(!publish("version = \"1.0.0\"\npublish = false\n"));
        assert!(!publish("version = \"1.0.0\"\npublish = []\n"));
        assert!(publish("version = \"1.0.0\"\npublish = [\"acme\"]\n"));
        assert!(!publish(""));
    }

    #[test]
    fn manifest_paths_skip_build_output_and_vendored_sources() {
        let keep = ["Cargo.toml", "crates/a/Cargo.toml", "targets/Cargo.toml", "my-vendor/x/Cargo.toml"];
        let skip = [
            "target/package/x-0.1.0/Cargo.toml",
            "vendor/serde/Cargo.toml",
            "a/vendor/b/Cargo.toml",
            "Cargo.lock",
            "x/cargo.toml",
            "x/Cargo.toml.orig",
        ];
        assert!(keep.iter().all(|p| is_manifest_path(p)));
        assert!(!skip.iter().any(|p| is_manifest_path(p)));
    }

    #[test]
    fn paths_and_headers() {
        assert_eq!(join("crates/a", "../b", false).as_deref(), Some("crates/b"));
        assert_eq!(join("", "./crates/*/", false).as_deref(), Some("crates/*"));
        assert_eq!(join("", "..", false), None);
        assert_eq!(join("we[ir]d", "*", true).as_deref(), Some("we[[]ir[]]d/*"));
        assert!(
            under("crates/a/Cargo.toml", "crates/a") && under("x", "") && !under("crates/ab/Cargo.toml", "crates/a")
        );
        assert_eq!(
            table_header(&["target".into(), "cfg(unix)".into(), "dependencies".into()]),
            "[target.'cfg(unix)'.dependencies]"
        );
        assert_eq!(key_text("it's"), "\"it's\"");
    }
}
