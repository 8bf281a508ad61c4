//! `convoy deps align` over a session: the org-wide targets are worked out once from every
//! repository's manifests (a rule like `"highest"` needs them all), action tags are resolved
//! once through the forge, then each repository's plan gets the manifest and workflow edits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use super::align::{self, Targets};
use super::model::RepoDeps;
use super::versions::{lower_bound, parse_req};
use super::{actions, skew};
use crate::campaign::Session;
use crate::change::{Edit, Want};
use crate::policy::audit::classify;
use crate::policy::fix::PinMap;
use crate::targets::Target;
use crate::workspace::Snapshot;
use crate::workspace::paths::RepoPath;

/// What every repository's alignment needs from the whole org.
#[derive(Debug, Default)]
pub struct Alignment {
    pub cargo: Targets,
    pub org: BTreeMap<String, RepoDeps>,
    pub pins: PinMap,
    /// Run `cargo update --precise` so `Cargo.lock` follows the new requirements.
    pub update_lockfile: bool,
}

/// Read every target's manifests and workflows (blocking): the Cargo targets, and the action
/// refs to resolve through the forge.
pub fn prepare(session: &Session) -> (Alignment, BTreeSet<(String, String)>) {
    let config = &session.manifest.model.align;
    let (org, _errors) = skew::collect(session);
    let deps: Vec<RepoDeps> = org.iter().map(|(_, d)| d.clone()).collect();
    let cargo = align::targets(&config.cargo, &deps);
    let uses = crate::parallel::map(session.targets(), session.options.jobs, |t| {
        crate::policy::run::read_files(session, t)
            .map(|files| actions::inventory(&t.repo.id.full_name(), &files))
            .unwrap_or_default()
    });
    let uses: Vec<actions::ActionUse> = uses.into_iter().flatten().flatten().collect();
    let wanted = actions::wanted_refs(&config.actions, &uses);
    (Alignment { cargo, org: org.into_iter().collect(), pins: PinMap::new(), update_lockfile: false }, wanted)
}

/// Crates the org publishes follow their *released* version: the highest release tag of the
/// repository that publishes them (`v1.2.3`, `name-v1.2.3`, `name@1.2.3`, `name/v1.2.3`, `1.2.3`),
/// read through the forge; the manifest's version (which may be ahead of any release) only when
/// the repository has no such tag.
pub async fn use_released_versions(session: &Session, alignment: &mut Alignment) {
    let published: Vec<(String, String)> = alignment
        .org
        .values()
        .flat_map(|d| &d.packages)
        .filter(|p| alignment.cargo.wanted.get(&p.name).is_some_and(|w| w.reason.starts_with("published by")))
        .map(|p| (p.repo.clone(), p.name.clone()))
        .collect();
    for (repo, name) in published {
        let Some((owner, repo_name)) = repo.split_once('/') else { continue };
        let tags = match session.forge.list_tags(&crate::forge::RepoId::new(owner, repo_name)).await {
            Ok(tags) => tags,
            Err(e) => {
                tracing::warn!(%repo, "cannot list release tags: {e}");
                continue;
            }
        };
        let released = tags.iter().filter_map(|t| release_version(&t.name, &name).map(|v| (v, t.name.clone()))).max();
        if let Some(w) = alignment.cargo.wanted.get_mut(&name) {
            match released {
                Some((version, tag)) => {
                    w.req = version.to_string();
                    w.reason = format!("released by {repo} as tag {tag}");
                }
                None => w.reason = format!("{} (no release tag in {repo}: the manifest's version)", w.reason),
            }
        }
    }
}

/// The version a release tag of crate `name` names, if it is one.
fn release_version(tag: &str, name: &str) -> Option<semver::Version> {
    let rest = [format!("{name}-v"), format!("{name}-"), format!("{name}@"), format!("{name}/v"), "v".to_string()]
        .iter()
        .find_map(|p| tag.strip_prefix(p.as_str()))
        .unwrap_or(tag);
    semver::Version::parse(rest).ok().filter(|v| v.pre.is_empty())
}

/// One repository's alignment edits, with a line per change and per change not made.
pub struct AlignEdits {
    pub edits: Vec<Edit>,
    pub applied: Vec<String>,
    pub skipped: Vec<String>,
}

pub fn edits(
    session: &Session,
    alignment: &Alignment,
    target: &Target,
    snapshot: &Snapshot,
) -> Result<AlignEdits, String> {
    let config = &session.manifest.model.align;
    let repo = target.repo.id.full_name();
    let mut out = AlignEdits { edits: Vec::new(), applied: Vec::new(), skipped: Vec::new() };
    let read = |path: &str| -> Result<Option<String>, String> {
        Ok(snapshot.read(path).map_err(|e| format!("{path}: {e}"))?.and_then(|b| String::from_utf8(b).ok()))
    };
    if let Some(deps) = alignment.org.get(&repo) {
        out.skipped.extend(deps.errors.iter().map(|e| format!("{}: {}", e.manifest, e.message)));
        let mut texts = BTreeMap::new();
        for u in &deps.uses {
            if !texts.contains_key(&u.manifest)
                && let Some(text) = read(&u.manifest)?
            {
                texts.insert(u.manifest.clone(), text);
            }
        }
        let result = align::align_repo(&config.cargo, &alignment.cargo, deps, &texts);
        out.skipped.extend(result.skipped);
        let mut edited: BTreeMap<String, String> = BTreeMap::new();
        for m in result.manifests {
            out.applied.extend(m.changes.iter().map(|c| format!("{}: {c}", m.manifest)));
            edited.insert(m.manifest.clone(), m.text);
        }
        if !result.changed.is_empty() && snapshot.kind("Cargo.lock").is_some() {
            if alignment.update_lockfile {
                // All or nothing: a lockfile cargo cannot update fails the repository, so no
                // pull request carries manifests and a lockfile that disagree.
                let lock = update_lockfile(snapshot, &edited, &result.changed)?;
                edited.insert("Cargo.lock".to_string(), lock);
                out.applied.push("Cargo.lock: updated with `cargo update --precise`".into());
            } else {
                let names: Vec<String> = result.changed.iter().map(|(n, _)| format!("-p {n}")).collect();
                out.skipped.push(format!(
                    "Cargo.lock needs updating: run `cargo update {}` (or re-run with --update-lockfile)",
                    names.join(" ")
                ));
            }
        }
        for (path, text) in edited {
            out.edits.push(Edit {
                path: RepoPath::parse(&path)?,
                want: Want::Content(text.into_bytes()),
                origin: "align cargo".into(),
            });
        }
    }
    if !config.actions.versions.is_empty() {
        let paths: Vec<String> = snapshot.paths().filter(|p| classify(p).is_some()).map(str::to_string).collect();
        for path in paths {
            let Some(text) = read(&path)? else { continue };
            match actions::align_file(&config.actions, &path, &text, &alignment.pins) {
                Ok(aligned) => {
                    out.skipped.extend(aligned.skipped);
                    if aligned.text != text {
                        out.applied.extend(aligned.changes);
                        out.edits.push(Edit {
                            path: RepoPath::parse(&path)?,
                            want: Want::Content(aligned.text.into_bytes()),
                            origin: "align actions".into(),
                        });
                    }
                }
                // Not a workflow GitHub can read: the audit reports it; alignment leaves it.
                Err(e) => out.skipped.push(format!("{path}: {e}")),
            }
        }
    }
    Ok(out)
}

/// Write the repository into a temporary folder with the edited manifests, let cargo move each
/// changed crate to the lowest version its new requirement allows, and return the lockfile.
fn update_lockfile(
    snapshot: &Snapshot,
    edited: &BTreeMap<String, String>,
    changed: &[(String, String)],
) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("Cargo.lock: no temporary folder: {e}"))?;
    for path in snapshot.paths() {
        if snapshot.kind(path) != Some(crate::workspace::EntryKind::File)
            && snapshot.kind(path) != Some(crate::workspace::EntryKind::Executable)
        {
            continue;
        }
        let bytes = match edited.get(path) {
            Some(text) => text.clone().into_bytes(),
            None => snapshot.read(path)?.unwrap_or_default(),
        };
        let dest = dir.path().join(path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{path}: {e}"))?;
        }
        std::fs::write(&dest, bytes).map_err(|e| format!("{path}: {e}"))?;
    }
    for (name, req) in changed {
        let version = parse_req(req).map(|r| lower_bound(&r).to_string()).ok_or_else(|| format!("{name}: `{req}`"))?;
        run_cargo(dir.path(), &["update", "-p", name, "--precise", &version])?;
    }
    std::fs::read_to_string(dir.path().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))
}

fn run_cargo(dir: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run cargo to update Cargo.lock: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("failed");
        return Err(format!("`cargo {}` failed: {last}", args.join(" ")));
    }
    Ok(())
}
