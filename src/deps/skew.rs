//! `convoy deps skew`: for each crate used by two or more repositories, every version
//! requirement in use and where, and whether one version can satisfy them all.
//!
//! A use counts when it names a registry crate: a registry dependency (`[workspace.dependencies]`
//! entries included), or a `workspace = true` dependency whose workspace entry is a registry
//! one (its requirement is the inherited one). Path and git dependencies are local decisions and
//! are left out. Crates of another registry are kept apart from crates.io ones of the same name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::cargo::{self, METHOD, WORKSPACE_DEPENDENCIES, table_header};
use super::model::{DepKind, DepSource, RepoDeps};
use super::versions::{bucket, lower_bound, parse_req, satisfiable_together};
use crate::report::table::{md_cell, plural};
use crate::workspace::OrgInput;

/// Bumped when a field changes meaning or goes away (new fields do not bump it).
pub const SKEW_SCHEMA_VERSION: u32 = 1;

/// The report, as `--format json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkewReport {
    pub schema_version: u32,
    pub command: String,
    pub tool: String,
    /// How packages and dependencies were found ([`cargo::METHOD`]).
    pub discovery: String,
    /// Repositories with at least one `Cargo.toml`, sorted.
    pub repos: Vec<String>,
    /// Crates used by two or more repositories: incompatible ones first, then by name.
    pub crates: Vec<CrateSkew>,
    /// Repositories or manifests that could not be read.
    pub errors: Vec<SkewError>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub repos: usize,
    /// Crates used by two or more repositories.
    pub shared_crates: usize,
    /// Of those, the ones no single version satisfies.
    pub incompatible: usize,
    pub errors: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrateSkew {
    pub name: String,
    /// `registry = "..."` when not crates.io.
    pub registry: Option<String>,
    /// The repositories using it, sorted.
    pub repos: Vec<String>,
    /// Whether one version satisfies every requirement below (requirements that do not parse
    /// are left out of that question): [`super::versions::compatible`], the same question
    /// `deps align` asks before it moves a requirement.
    pub compatible: bool,
    /// The distinct requirements, lowest lower bound first.
    pub requirements: Vec<Requirement>,
    /// Every use, in the order of `requirements`, then repository, manifest and line.
    pub uses: Vec<SkewUse>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// As written (`*` for a registry dependency written without a version).
    pub req: String,
    /// The lowest version it allows; `None` when it does not parse.
    pub lower_bound: Option<String>,
    /// Its Cargo compatibility bucket (`1`, `0.3`, `0.0.2`): requirements in different
    /// buckets can never share a version.
    pub bucket: Option<String>,
    /// How many uses have it.
    pub uses: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkewUse {
    pub repo: String,
    pub manifest: String,
    pub line: usize,
    /// The package of the manifest (`None` for a virtual workspace root).
    pub package: Option<String>,
    /// The table path as written (`["target", "cfg(unix)", "dependencies"]`).
    pub table: Vec<String>,
    /// The key in that table (differs from the crate name when renamed).
    pub key: String,
    /// `None` for a `[workspace.dependencies]` entry (a declaration, of no kind).
    pub kind: Option<DepKind>,
    /// The requirement in force: written here, or inherited.
    pub req: String,
    pub optional: bool,
    /// For `workspace = true`: the manifest whose `[workspace.dependencies]` holds `req`.
    pub inherited_from: Option<String>,
    /// For `workspace = true`: the line of that entry.
    pub inherited_line: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkewError {
    pub repo: String,
    /// `None` when the repository itself could not be read.
    pub manifest: Option<String>,
    pub message: String,
}

/// `(repository, what discovery found)` for every repository with a `Cargo.toml`.
pub type OrgDeps = Vec<(String, RepoDeps)>;
/// `(repository, why)` for every repository that could not be read.
pub type RepoErrors = Vec<(String, String)>;

/// Read every target's cached default branch and discover its Cargo packages, in parallel.
/// Repositories without any `Cargo.toml` are left out. Returns the repositories read (sorted)
/// and the ones that could not be read, with why.
pub fn collect(org: &OrgInput<'_>) -> (OrgDeps, RepoErrors) {
    let targets = org.targets();
    let results = crate::parallel::map(targets, org.jobs, |t| {
        let repo = t.repo.id.full_name();
        let snapshot = org.snapshot(t)?;
        let paths = cargo::manifest_paths(&snapshot);
        if paths.is_empty() {
            return Ok(None);
        }
        let mut files = BTreeMap::new();
        let mut unreadable = Vec::new();
        for path in paths {
            match snapshot.read(&path) {
                Ok(Some(bytes)) => match String::from_utf8(bytes) {
                    Ok(text) => {
                        files.insert(path, text);
                    }
                    Err(_) => unreadable.push((path, "not UTF-8 text".to_string())),
                },
                Ok(None) => {}
                Err(e) => unreadable.push((path, e)),
            }
        }
        let mut deps = cargo::discover(&repo, &files);
        for (manifest, message) in unreadable {
            deps.errors.push(super::model::ManifestError { repo: repo.clone(), manifest, message });
        }
        deps.errors.sort_by(|a, b| a.manifest.cmp(&b.manifest));
        Ok::<_, String>(Some(deps))
    });
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for (t, result) in targets.iter().zip(results) {
        let repo = t.repo.id.full_name();
        match result.unwrap_or_else(|panic| Err(format!("internal error: {panic}"))) {
            Ok(Some(deps)) => found.push((repo, deps)),
            Ok(None) => {}
            Err(e) => errors.push((repo, e)),
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    errors.sort();
    (found, errors)
}

/// The skew report over what [`collect`] found.
pub fn report(org: &[(String, RepoDeps)], repo_errors: &[(String, String)]) -> SkewReport {
    // (registry, name) → uses.
    let mut by_crate: BTreeMap<(Option<String>, String), Vec<SkewUse>> = BTreeMap::new();
    for (_, deps) in org {
        for u in &deps.uses {
            let (registry, inherited) = match &u.source {
                DepSource::Registry { registry } => (registry.clone(), None),
                // Only when discovery resolved the inheritance (a package outside any workspace
                // inherits nothing, whatever manifest sits above it).
                DepSource::Workspace => match cargo::workspace_entry(deps, u).filter(|e| e.req == u.inherited_req) {
                    Some(entry) => match &entry.source {
                        DepSource::Registry { registry } => (registry.clone(), Some(entry)),
                        _ => continue,
                    },
                    None => continue,
                },
                DepSource::Path { .. } | DepSource::Git { .. } => continue,
            };
            let req = match inherited {
                Some(entry) => entry.req.clone().unwrap_or_else(|| "*".into()),
                None => u.req.clone().unwrap_or_else(|| "*".into()),
            };
            by_crate.entry((registry, u.name.clone())).or_default().push(SkewUse {
                repo: u.repo.clone(),
                manifest: u.manifest.clone(),
                line: u.line,
                package: u.package.clone(),
                table: u.table.clone(),
                key: u.key.clone(),
                kind: (u.table != WORKSPACE_DEPENDENCIES).then_some(u.kind),
                req,
                optional: u.optional,
                inherited_from: inherited.map(|e| e.manifest.clone()),
                inherited_line: inherited.map(|e| e.line),
            });
        }
    }
    let mut crates = Vec::new();
    for ((registry, name), mut uses) in by_crate {
        let repos: BTreeSet<&str> = uses.iter().map(|u| u.repo.as_str()).collect();
        if repos.len() < 2 {
            continue;
        }
        let repos: Vec<String> = repos.into_iter().map(str::to_string).collect();
        let mut requirements: Vec<Requirement> = Vec::new();
        for u in &uses {
            match requirements.iter_mut().find(|r| r.req == u.req) {
                Some(r) => r.uses += 1,
                None => {
                    let parsed = parse_req(&u.req);
                    let low = parsed.as_ref().map(lower_bound);
                    requirements.push(Requirement {
                        req: u.req.clone(),
                        lower_bound: low.as_ref().map(ToString::to_string),
                        bucket: low.as_ref().map(|v| match bucket(v) {
                            (0, 0, patch) => format!("0.0.{patch}"),
                            (0, minor, _) => format!("0.{minor}"),
                            (major, _, _) => major.to_string(),
                        }),
                        uses: 1,
                    });
                }
            }
        }
        // Lowest lower bound first; requirements that do not parse last.
        requirements.sort_by_cached_key(|r| {
            let low = parse_req(&r.req).map(|p| lower_bound(&p));
            (low.is_none(), low, r.req.clone())
        });
        let parsed: Vec<_> = requirements.iter().filter_map(|r| parse_req(&r.req)).collect();
        let compatible = satisfiable_together(&parsed) || parsed.is_empty();
        let rank = |req: &str| requirements.iter().position(|r| r.req == req).unwrap_or(usize::MAX);
        uses.sort_by(|a, b| {
            (rank(&a.req), &a.repo, &a.manifest, a.line).cmp(&(rank(&b.req), &b.repo, &b.manifest, b.line))
        });
        crates.push(CrateSkew { name, registry, repos, compatible, requirements, uses });
    }
    crates.sort_by(|a, b| (a.compatible, &a.name, &a.registry).cmp(&(b.compatible, &b.name, &b.registry)));
    let mut errors: Vec<SkewError> = repo_errors
        .iter()
        .map(|(repo, message)| SkewError { repo: repo.clone(), manifest: None, message: message.clone() })
        .collect();
    for (_, deps) in org {
        errors.extend(deps.errors.iter().map(|e| SkewError {
            repo: e.repo.clone(),
            manifest: Some(e.manifest.clone()),
            message: e.message.clone(),
        }));
    }
    errors.sort_by(|a, b| (&a.repo, &a.manifest).cmp(&(&b.repo, &b.manifest)));
    let mut repos: Vec<String> = org.iter().map(|(r, _)| r.clone()).collect();
    repos.sort();
    repos.dedup();
    let summary = Summary {
        repos: repos.len(),
        shared_crates: crates.len(),
        incompatible: crates.iter().filter(|c| !c.compatible).count(),
        errors: errors.len(),
    };
    SkewReport {
        schema_version: SKEW_SCHEMA_VERSION,
        command: "deps skew".into(),
        tool: format!("convoy {}", env!("CARGO_PKG_VERSION")),
        discovery: METHOD.into(),
        repos,
        crates,
        errors,
        summary,
    }
}

/// `3 crates used by 2 or more of 5 repositories: 1 incompatible; 1 repository or manifest could
/// not be read`.
pub fn summary_line(report: &SkewReport) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{} {} used by 2 or more of {} {}: {} incompatible",
        s.shared_crates,
        plural(s.shared_crates, "crate", "crates"),
        s.repos,
        plural(s.repos, "repository", "repositories"),
        s.incompatible,
    );
    if s.errors > 0 {
        let what = plural(s.errors, "repository or manifest", "repositories or manifests");
        let _ = write!(line, "; {} {what} could not be read", s.errors);
    }
    line
}

/// `name`, with its registry when not crates.io.
fn crate_label(c: &CrateSkew) -> String {
    match &c.registry {
        Some(r) => format!("{} (registry {r})", c.name),
        None => c.name.clone(),
    }
}

/// What a use row says after the table: renames, optional, and what inherits it.
fn notes(u: &SkewUse, name: &str, inheritors: &[&SkewUse]) -> String {
    let mut notes = Vec::new();
    if u.key != name {
        notes.push(format!("as `{}`", u.key));
    }
    if u.optional {
        notes.push("optional".to_string());
    }
    if !inheritors.is_empty() {
        let list: Vec<String> = inheritors.iter().map(|i| format!("{}:{}", i.manifest, i.line)).collect();
        notes.push(format!("inherited by {}", list.join(", ")));
    }
    notes.join("; ")
}

/// The rows shown for people: uses written in place, with the `workspace = true` uses folded
/// into the `[workspace.dependencies]` entry they inherit from.
fn rows(c: &CrateSkew) -> Vec<(&SkewUse, Vec<&SkewUse>)> {
    let mut out: Vec<(&SkewUse, Vec<&SkewUse>)> =
        c.uses.iter().filter(|u| u.inherited_from.is_none()).map(|u| (u, Vec::new())).collect();
    for u in c.uses.iter().filter(|u| u.inherited_from.is_some()) {
        let entry = out.iter_mut().find(|(e, _)| {
            e.repo == u.repo && Some(&e.manifest) == u.inherited_from.as_ref() && Some(e.line) == u.inherited_line
        });
        match entry {
            Some((_, inheritors)) => inheritors.push(u),
            None => out.push((u, Vec::new())),
        }
    }
    out
}

/// Grouped per crate, incompatible ones first, with a summary line.
pub fn text(report: &SkewReport) -> String {
    let mut out = String::new();
    for c in &report.crates {
        let reqs: Vec<&str> = c.requirements.iter().map(|r| r.req.as_str()).collect();
        let _ = writeln!(
            out,
            "{}  {} ({} {}): {}",
            if c.compatible { "compatible  " } else { "INCOMPATIBLE" },
            crate_label(c),
            c.repos.len(),
            plural(c.repos.len(), "repository", "repositories"),
            reqs.join(", "),
        );
        let cells: Vec<[String; 4]> = rows(c)
            .iter()
            .map(|(u, inheritors)| {
                let table = format!("{} {}", table_header(&u.table), notes(u, &c.name, inheritors));
                [u.req.clone(), u.repo.clone(), format!("{}:{}", u.manifest, u.line), table]
            })
            .collect();
        let width = |i: usize| cells.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
        let (w0, w1, w2) = (width(0), width(1), width(2));
        for r in &cells {
            let _ = writeln!(out, "    {:<w0$}  {:<w1$}  {:<w2$}  {}", r[0], r[1], r[2], r[3].trim_end());
        }
    }
    if !report.errors.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for e in &report.errors {
            match &e.manifest {
                Some(m) => {
                    let _ = writeln!(out, "error {} {m}:{}", e.repo, sep(&e.message));
                }
                None => {
                    let _ = writeln!(out, "error {}: {}", e.repo, e.message);
                }
            }
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{}", summary_line(report));
    out
}

/// `3:7: ...` follows `path:` directly; anything else after a space.
fn sep(message: &str) -> String {
    if message.chars().next().is_some_and(|c| c.is_ascii_digit()) { message.to_string() } else { format!(" {message}") }
}

/// A Markdown table, for `$GITHUB_STEP_SUMMARY` or a pull request.
pub fn markdown(report: &SkewReport) -> String {
    let mut out = String::from("## convoy deps skew\n\n");
    let _ = writeln!(out, "{}.\n", md_cell(&summary_line(report), usize::MAX));
    if !report.crates.is_empty() {
        out.push_str("| Crate | Status | Requirement | Repository | Manifest | Table |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for c in &report.crates {
            let verdict = if c.compatible { "compatible" } else { "**incompatible**" };
            for (i, (u, inheritors)) in rows(c).into_iter().enumerate() {
                let (name, status) = if i == 0 {
                    (md_cell(&crate_label(c), 200), verdict.to_string())
                } else {
                    (String::new(), String::new())
                };
                let note = notes(u, &c.name, &inheritors);
                let table = md_cell(&table_header(&u.table), 200);
                let _ = writeln!(
                    out,
                    "| {name} | {status} | {} | {} | {}:{} | {}{} |",
                    md_cell(&u.req, 100),
                    md_cell(&u.repo, 200),
                    md_cell(&u.manifest, 200),
                    u.line,
                    table,
                    if note.is_empty() { String::new() } else { format!(" ({})", md_cell(&note, 500)) },
                );
            }
        }
    }
    if !report.errors.is_empty() {
        out.push_str("\n### Not read\n\n");
        for e in &report.errors {
            let place = match &e.manifest {
                Some(m) => format!("{} {}", md_cell(&e.repo, 200), md_cell(m, 200)),
                None => md_cell(&e.repo, 200),
            };
            let _ = writeln!(out, "- {place}: {}", md_cell(&e.message, 500));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str, files: &[(&str, &str)]) -> (String, RepoDeps) {
        let files = files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect();
        (name.to_string(), cargo::discover(name, &files))
    }

    fn org() -> Vec<(String, RepoDeps)> {
        vec![
            repo(
                "acme/api",
                &[(
                    "Cargo.toml",
                    "[package]\nname = \"api\"\nversion = \"0.1.0\"\n\n[dependencies]\nserde = \"1.0.100\"\nrand = \"0.7\"\njson = { package = \"serde_json\", version = \"1\" }\nlocal = { path = \"local\" }\nonly-here = \"3\"\n",
                )],
            ),
            repo(
                "acme/ws",
                &[
                    (
                        "Cargo.toml",
                        "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.dependencies]\nserde = \"1.0.228\"\nrand = \"0.8\"\nlocal = { path = \"crates/local\" }\n",
                    ),
                    (
                        "crates/a/Cargo.toml",
                        "[package]\nname = \"a\"\n\n[dependencies]\nserde.workspace = true\nlocal.workspace = true\n\n[dev-dependencies]\nrand = { workspace = true, optional = true }\n",
                    ),
                    (
                        "crates/b/Cargo.toml",
                        "[package]\nname = \"b\"\n\n[target.'cfg(unix)'.dependencies]\nserde_json = \"1.0.120\"\n",
                    ),
                ],
            ),
            repo("acme/broken", &[("Cargo.toml", "[package\n")]),
        ]
    }

    #[test]
    fn requirements_per_crate_incompatible_first() {
        let report = report(&org(), &[("acme/gone".into(), "not fetched".into())]);
        assert_eq!(report.repos, ["acme/api", "acme/broken", "acme/ws"]);
        let names: Vec<(&str, bool)> = report.crates.iter().map(|c| (c.name.as_str(), c.compatible)).collect();
        assert_eq!(names, [("rand", false), ("serde", true), ("serde_json", true)]);
        let serde = &report.crates[1];
        let reqs: Vec<(&str, Option<&str>, usize)> =
            serde.requirements.iter().map(|r| (r.req.as_str(), r.bucket.as_deref(), r.uses)).collect();
        assert_eq!(reqs, [("1.0.100", Some("1"), 1), ("1.0.228", Some("1"), 2)]);
        let inherited = serde.uses.iter().find(|u| u.manifest == "crates/a/Cargo.toml").unwrap();
        assert_eq!(
            (inherited.req.as_str(), inherited.inherited_from.as_deref(), inherited.inherited_line, inherited.kind),
            ("1.0.228", Some("Cargo.toml"), Some(5), Some(DepKind::Normal))
        );
        let declared = serde.uses.iter().find(|u| u.table == WORKSPACE_DEPENDENCIES).unwrap();
        assert_eq!(declared.kind, None);
        assert_eq!(report.summary, Summary { repos: 3, shared_crates: 3, incompatible: 1, errors: 2 });
        assert_eq!(report.discovery, "manifest files read directly (no cargo)");

        assert_eq!(
            text(&report),
            "INCOMPATIBLE  rand (2 repositories): 0.7, 0.8
    0.7  acme/api  Cargo.toml:7  [dependencies]
    0.8  acme/ws   Cargo.toml:6  [workspace.dependencies] inherited by crates/a/Cargo.toml:9
compatible    serde (2 repositories): 1.0.100, 1.0.228
    1.0.100  acme/api  Cargo.toml:6  [dependencies]
    1.0.228  acme/ws   Cargo.toml:5  [workspace.dependencies] inherited by crates/a/Cargo.toml:5
compatible    serde_json (2 repositories): 1, 1.0.120
    1        acme/api  Cargo.toml:8           [dependencies] as `json`
    1.0.120  acme/ws   crates/b/Cargo.toml:5  [target.'cfg(unix)'.dependencies]

error acme/broken Cargo.toml:1:9: unclosed table, expected `]`
error acme/gone: not fetched

3 crates used by 2 or more of 3 repositories: 1 incompatible; 2 repositories or manifests could not be read
"
        );
        let md = markdown(&report);
        assert!(
            md.contains("| rand | **incompatible** | 0.7 | acme/api | Cargo.toml:7 | \\[dependencies\\] |\n"),
            "{md}"
        );
        assert!(md.contains("|  |  | 0.8 | acme/ws | Cargo.toml:6 | \\[workspace.dependencies\\] (inherited by crates/a/Cargo.toml:9) |\n"), "{md}");
        assert!(md.contains("- acme/broken Cargo.toml: 1:9: unclosed table, expected &#96;\\]&#96;\n"), "{md}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["schema_version"], 1);
        assert_eq!(json["crates"][0]["uses"][1]["table"], serde_json::json!(["workspace", "dependencies"]));
        assert_eq!(json["crates"][0]["uses"][2]["kind"], "dev");
        assert_eq!(json["crates"][0]["uses"][2]["optional"], true);
    }

    #[test]
    fn nothing_shared() {
        let report = report(&org()[..1], &[]);
        assert!(report.crates.is_empty());
        assert_eq!(text(&report), "0 crates used by 2 or more of 1 repository: 0 incompatible\n");
    }
}
