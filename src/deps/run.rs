//! `convoy deps align` over a run's repositories ([`OrgInput`]): the org-wide targets are worked
//! out once from every repository's manifests (a rule like `"highest"` needs them all), action
//! tags are resolved once through the forge, then each repository's plan gets the manifest
//! edits ([`cargo_edits`]) and the workflow edits ([`actions_edits`]), which the alignment
//! producers (`transform/cargo_align.rs`, `transform/actions_align.rs`) hand to the campaign
//! engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use super::align::{self, Changed, Origin, Targets, Wanted};
use super::config::AlignConfig;
use super::model::{Package, RepoDeps};
use super::versions::{lower_bound, parse_req};
use super::{actions, skew};
use crate::change::{Edit, Want};
use crate::forge::{Forge, RepoId};
use crate::targets::Target;
use crate::workflow::files::classify;
use crate::workflow::uses::PinMap;
use crate::workspace::paths::RepoPath;
use crate::workspace::{OrgInput, Snapshot};

/// What every repository's alignment needs from the whole org.
#[derive(Debug, Default)]
pub struct Alignment {
    pub cargo: Targets,
    pub org: BTreeMap<String, RepoDeps>,
    pub pins: PinMap,
    /// Run `cargo update --precise` so `Cargo.lock` follows the new requirements.
    pub update_lockfile: bool,
    /// Configured action versions (`(action repository, version)`) the forge could not
    /// resolve: reported once for the run (exit 1), and their uses left as they are.
    pub missing_actions: BTreeSet<(String, String)>,
    /// Repositories whose manifests could not be read, with why: the targets were worked out
    /// without them.
    pub unread: Vec<(String, String)>,
}

/// Read every target's manifests and workflows (blocking): the Cargo targets, and the action
/// refs to resolve through the forge. `org` must hold every repository the manifest
/// selects: `--repo` narrows what is written afterwards, never what the targets are computed
/// from.
pub fn prepare(input: &OrgInput<'_>) -> (Alignment, BTreeSet<(String, String)>) {
    let config = &input.manifest.model.align;
    let (org, unread) = skew::collect(input);
    let deps: Vec<RepoDeps> = org.iter().map(|(_, d)| d.clone()).collect();
    let cargo = align::targets(&config.cargo, &deps);
    let uses = crate::parallel::map(input.targets(), input.jobs, |t| {
        crate::workflow::files::of_target(input, t)
            .map(|files| actions::inventory(&t.repo.id.full_name(), &files))
            .unwrap_or_default()
    });
    let uses: Vec<actions::ActionUse> = uses.into_iter().flatten().flatten().collect();
    let wanted = actions::wanted_refs(&config.actions, &uses);
    let alignment = Alignment { cargo, org: org.into_iter().collect(), unread, ..Alignment::default() };
    (alignment, wanted)
}

/// Crates the org publishes follow their *released* version, read through the forge from the
/// tags of the repository that publishes them. A tag belongs to a crate when it is
/// `name-1.2.3`, `name-v1.2.3`, `name@1.2.3` or `name/v1.2.3`; a bare `v1.2.3` or `1.2.3`
/// belongs only to the repository's root or single package ([`Package::primary`]), never to
/// every crate of a multi-crate repository. Pre-release tags do not count.
///
/// The newest such tag wins unless the manifest's version is ahead of it (released without a
/// tag, or not yet released): then the manifest decides, and the reason says so. A tag never
/// moves a crate below its manifest's version, and [`align::align_repo`] never lowers a
/// requirement to follow an org crate.
///
/// [`Package::primary`]: super::model::Package::primary
pub async fn use_released_versions(forge: &dyn Forge, alignment: &mut Alignment) {
    let mut tags_of: BTreeMap<String, Vec<crate::forge::Tag>> = BTreeMap::new();
    let names: Vec<String> =
        alignment.cargo.wanted.iter().filter(|(_, w)| w.origin == Origin::OrgCrate).map(|(n, _)| n.clone()).collect();
    for name in names {
        let Some(w) = alignment.cargo.wanted.get(&name) else { continue };
        let Some(p) = alignment
            .org
            .values()
            .flat_map(|d| &d.packages)
            .find(|p| {
                p.name == name && p.publish && p.refused.is_none() && p.version.as_deref() == Some(w.req.as_str())
            })
            .cloned()
        else {
            continue;
        };
        if !tags_of.contains_key(&p.repo) {
            let Some((owner, repo_name)) = p.repo.split_once('/') else { continue };
            let tags = match forge.list_tags(&RepoId::new(owner, repo_name)).await {
                Ok(tags) => tags,
                Err(e) => {
                    tracing::warn!(repo = %p.repo, "cannot list release tags: {e}");
                    Vec::new()
                }
            };
            tags_of.insert(p.repo.clone(), tags);
        }
        let tags = tags_of.get(&p.repo).map(Vec::as_slice).unwrap_or_default();
        let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
        if let Some(w) = alignment.cargo.wanted.get_mut(&name) {
            *w = released(&p, &names, w.clone());
        }
    }
}

/// The wanted version of org crate `p` given its repository's tag names.
fn released(p: &Package, tags: &[&str], manifest: Wanted) -> Wanted {
    let Some(in_manifest) = p.version.as_deref().and_then(|v| semver::Version::parse(v).ok()) else {
        return manifest;
    };
    let newest = tags.iter().filter_map(|t| release_version(t, &p.name, p.primary).map(|v| (v, *t))).max();
    match newest {
        Some((v, tag)) if v >= in_manifest => Wanted {
            req: v.to_string(),
            reason: format!("released by {} as tag {tag}", p.repo),
            origin: Origin::OrgCrate,
        },
        Some((_, tag)) => Wanted {
            reason: format!(
                "{}; its newest release tag {tag} is older (released without a tag, or not released yet): the manifest decides",
                manifest.reason
            ),
            ..manifest
        },
        None => {
            Wanted { reason: format!("{}; {} has no release tag for {}", manifest.reason, p.repo, p.name), ..manifest }
        }
    }
}

/// The version a release tag of crate `name` names, if it is one: `name-1.2.3`, `name-v1.2.3`,
/// `name@1.2.3`, `name/v1.2.3`; and, when `primary` (the repository's root or single package),
/// `v1.2.3` and `1.2.3`. Pre-releases are not releases here.
pub fn release_version(tag: &str, name: &str, primary: bool) -> Option<semver::Version> {
    let own = [format!("{name}-v"), format!("{name}-"), format!("{name}@v"), format!("{name}@"), format!("{name}/v")];
    let rest = match own.iter().find_map(|p| tag.strip_prefix(p.as_str())) {
        Some(rest) => rest,
        None if primary => tag.strip_prefix('v').unwrap_or(tag),
        None => return None,
    };
    semver::Version::parse(rest).ok().filter(|v| v.pre.is_empty())
}

/// One repository's alignment edits, with a line per change and per change not made.
#[derive(Default)]
pub struct AlignEdits {
    pub edits: Vec<Edit>,
    pub applied: Vec<String>,
    pub skipped: Vec<String>,
}

/// A file of `snapshot` as text (`None` when absent or not UTF-8).
fn read_text(snapshot: &Snapshot, path: &str) -> Result<Option<String>, String> {
    Ok(snapshot.read(path).map_err(|e| format!("{path}: {e}"))?.and_then(|b| String::from_utf8(b).ok()))
}

/// One repository's `[align.cargo]` edits: its manifests' requirements moved to the org-wide
/// targets, and its lockfiles updated (`update_lockfile`) or the commands to run listed.
pub fn cargo_edits(
    config: &AlignConfig,
    alignment: &Alignment,
    target: &Target,
    snapshot: &Snapshot,
) -> Result<AlignEdits, String> {
    let repo = target.repo.id.full_name();
    let mut out = AlignEdits::default();
    let read = |path: &str| read_text(snapshot, path);
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
        for (lock, changes) in lockfiles_for(snapshot.paths(), &result.changed) {
            let text = read(&lock)?.unwrap_or_default();
            // A lockfile that already satisfies the new requirements is left as it is.
            let moves = lock_moves(&text, &changes).map_err(|e| format!("{lock}: {e}"))?;
            if moves.is_empty() {
                continue;
            }
            if alignment.update_lockfile {
                // All or nothing: a lockfile cargo cannot update fails the repository, so no
                // pull request carries manifests and a lockfile that disagree.
                let (new_text, lines) = update_lockfile(snapshot, &edited, &lock, &changes, &moves)?;
                edited.insert(lock.clone(), new_text);
                out.applied.extend(lines.into_iter().map(|m| format!("{lock}: {m}")));
            } else {
                let dir = parent_dir(&lock);
                let place = if dir.is_empty() { String::new() } else { format!(" in {dir}") };
                let commands: Vec<String> = moves
                    .iter()
                    .map(|(name, locked, to)| format!("`cargo update -p {name}@{locked} --precise {to}`"))
                    .collect();
                out.skipped.push(format!(
                    "{lock} needs updating: run {}{place} (or re-run with --update-lockfile)",
                    commands.join(", then ")
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
    Ok(out)
}

/// One repository's `[align.actions]` edits: the `uses:` of its workflows and actions moved to
/// the configured versions (pinned to their commits with `pin = true`), except versions the
/// forge could not resolve ([`Alignment::missing_actions`]).
pub fn actions_edits(config: &AlignConfig, alignment: &Alignment, snapshot: &Snapshot) -> Result<AlignEdits, String> {
    let mut out = AlignEdits::default();
    let read = |path: &str| read_text(snapshot, path);
    let actions_config = actions::without(&config.actions, &alignment.missing_actions);
    if !actions_config.versions.is_empty() {
        let paths: Vec<String> = snapshot.paths().filter(|p| classify(p).is_some()).map(str::to_string).collect();
        for path in paths {
            let Some(text) = read(&path)? else { continue };
            match actions::align_file(&actions_config, &path, &text, &alignment.pins) {
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

pub(crate) fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether `dir` is `ancestor` or below it (whole components; `""` is the top).
pub(crate) fn within(dir: &str, ancestor: &str) -> bool {
    ancestor.is_empty() || dir == ancestor || dir.strip_prefix(ancestor).is_some_and(|r| r.starts_with('/'))
}

/// Every `Cargo.lock` of the snapshot (none under `target/` or `vendor/`) with the changes it
/// covers: a change belongs to the lockfile in the nearest folder at or above its manifest
/// (the workspace root's, in any normal layout; nested workspaces have their own).
fn lockfiles_for<'a>(paths: impl Iterator<Item = &'a str>, changed: &[Changed]) -> BTreeMap<String, Vec<Changed>> {
    let locks: Vec<&str> = paths.filter(|p| is_lockfile(p)).collect();
    let mut out: BTreeMap<String, Vec<Changed>> = BTreeMap::new();
    for c in changed {
        let dir = parent_dir(&c.manifest);
        if let Some(lock) = locks.iter().filter(|l| within(dir, parent_dir(l))).max_by_key(|l| l.len()) {
            out.entry(lock.to_string()).or_default().push(c.clone());
        }
    }
    out
}

/// Whether `path` is a `Cargo.lock` of the repository's own (none under `target/` or `vendor/`).
pub(crate) fn is_lockfile(path: &str) -> bool {
    let mut parts = path.split('/').rev();
    parts.next() == Some("Cargo.lock") && parts.all(|d| d != "target" && d != "vendor")
}

/// The `version`s of `name` in a lockfile's `[[package]]` list.
fn locked_versions(lock: &str, name: &str) -> Result<Vec<semver::Version>, String> {
    let doc: toml::Value = toml::from_str(lock).map_err(|e| format!("does not parse: {e}"))?;
    let packages = doc.get("package").and_then(toml::Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(packages
        .iter()
        .filter(|p| p.get("name").and_then(toml::Value::as_str) == Some(name))
        // Path and git packages follow their source, not a requirement.
        .filter(|p| {
            p.get("source")
                .and_then(toml::Value::as_str)
                .is_some_and(|s| s.starts_with("registry+") || s.starts_with("sparse+"))
        })
        .filter_map(|p| semver::Version::parse(p.get("version")?.as_str()?).ok())
        .collect())
}

/// The `cargo update` moves a lockfile needs after `changes`: `(name, locked, to)` for each
/// locked version (of a changed crate) that one of the old requirements allowed and a new one
/// does not. A locked version that already satisfies the new requirements stays; otherwise it
/// moves to the lowest version the new requirements allow that is not lower than it. A
/// lockfile is never downgraded: when no such version exists, that is an error.
pub fn lock_moves(lock: &str, changes: &[Changed]) -> Result<Vec<LockMove>, String> {
    let mut by_name: BTreeMap<&str, (Vec<semver::VersionReq>, Vec<semver::VersionReq>)> = BTreeMap::new();
    for c in changes {
        let entry = by_name.entry(c.name.as_str()).or_default();
        entry.0.extend(parse_req(&c.old));
        entry.1.extend(parse_req(&c.new));
    }
    let mut moves = Vec::new();
    for (name, (olds, news)) in by_name {
        for locked in locked_versions(lock, name)? {
            if !olds.iter().any(|r| r.matches(&locked)) || news.iter().all(|r| r.matches(&locked)) {
                continue;
            }
            let floor = news.iter().map(lower_bound).max().unwrap_or_else(|| locked.clone());
            let to = floor.max(locked.clone());
            if !news.iter().all(|r| r.matches(&to)) {
                let reqs: Vec<String> = news.iter().map(ToString::to_string).collect();
                return Err(format!(
                    "{name} {locked} is locked and `{}` allows no version from {locked} up: convoy never downgrades a lockfile; update it by hand",
                    reqs.join(", ")
                ));
            }
            moves.push((name.to_string(), locked, to));
        }
    }
    Ok(moves)
}

/// One lockfile move: `(crate, locked version, version to move to)`.
pub type LockMove = (String, semver::Version, semver::Version);

/// Write the repository into a temporary folder with the edited manifests and let cargo make
/// the `moves` of lockfile `lock`: each changed requirement that the moved version satisfies is
/// written as `=to` there (never in the pull request), and `cargo update -p name@locked` (the
/// `@locked` picks the right entry when a lockfile holds two versions of a crate) must then
/// lock exactly `to`. A lockfile does not record requirements, so it is the same lockfile cargo
/// would keep for the real ones, which `to` satisfies. (`--precise` alone is not enough: once
/// the requirement no longer allows the locked version, cargo resolves the crate afresh to the
/// newest version, at least with a replaced source such as a vendored directory.)
/// Returns the new lockfile text and one line per move.
fn update_lockfile(
    snapshot: &Snapshot,
    edited: &BTreeMap<String, String>,
    lock: &str,
    changes: &[Changed],
    moves: &[LockMove],
) -> Result<(String, Vec<String>), String> {
    let mut scratch = edited.clone();
    for (name, _, to) in moves {
        for c in changes.iter().filter(|c| c.name == *name && parse_req(&c.new).is_some_and(|r| r.matches(to))) {
            let text = scratch.get(&c.manifest).cloned().unwrap_or_default();
            scratch.insert(c.manifest.clone(), align::pin_exactly(&text, c, to)?);
        }
    }
    let dir = scratch_copy(snapshot, &scratch).map_err(|e| format!("{lock}: {e}"))?;
    let work = dir.path().join(parent_dir(lock));
    let specs: Vec<String> = moves.iter().map(|(name, locked, _)| format!("{name}@{locked}")).collect();
    let mut args = vec!["update"];
    for spec in &specs {
        args.extend(["-p", spec.as_str()]);
    }
    let wanted: Vec<String> = moves.iter().map(|(name, _, to)| format!("{name} {to}")).collect();
    run_cargo(&work, &args).map_err(|e| {
        format!("{lock}: cannot lock {} (asked of cargo as `=` requirements in a scratch copy): {e}", wanted.join(", "))
    })?;
    let text = std::fs::read_to_string(work.join("Cargo.lock")).map_err(|e| format!("{lock}: {e}"))?;
    let mut lines = Vec::new();
    for (name, locked, to) in moves {
        if !locked_versions(&text, name)?.contains(to) {
            return Err(format!("{lock}: cargo did not lock {name} {to}"));
        }
        lines.push(format!("{name} {locked} → {to}"));
    }
    Ok((text, lines))
}

/// The regular files of `snapshot` written to a new temporary folder, with `edited` (path →
/// text) in place of their snapshot content: where cargo can be run on the edited repository
/// without touching the cache. Removed when the returned folder is dropped.
pub(crate) fn scratch_copy(
    snapshot: &Snapshot,
    edited: &BTreeMap<String, String>,
) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
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
    Ok(dir)
}

pub(crate) fn run_cargo(dir: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("cannot run cargo to update Cargo.lock: {e}"))?;
    if !out.status.success() {
        // Cargo's whole message (its first lines say which requirement or source is the cause),
        // on one line: plan and apply tables show a failure's first line.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> =
            stderr.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("Blocking waiting")).collect();
        return Err(format!("`cargo {}` failed ({}): {}", args.join(" "), out.status, lines.join(" | ")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str, version: &str, primary: bool) -> Package {
        Package {
            repo: "acme/multi".into(),
            manifest: format!("crates/{name}/Cargo.toml"),
            name: name.into(),
            version: Some(version.into()),
            publish: true,
            refused: None,
            primary,
        }
    }

    fn from_manifest(version: &str) -> Wanted {
        Wanted { req: version.into(), reason: "the manifest says so".into(), origin: Origin::OrgCrate }
    }

    #[test]
    fn tags_are_matched_per_crate() {
        let v = |tag: &str, name: &str, primary: bool| release_version(tag, name, primary).map(|v| v.to_string());
        for tag in ["core-1.2.3", "core-v1.2.3", "core@1.2.3", "core@v1.2.3", "core/v1.2.3"] {
            assert_eq!(v(tag, "core", false).as_deref(), Some("1.2.3"), "{tag}");
        }
        assert_eq!(v("v1.2.3", "core", false), None, "a bare tag is not every crate's");
        assert_eq!(v("v1.2.3", "core", true).as_deref(), Some("1.2.3"));
        assert_eq!(v("1.2.3", "core", true).as_deref(), Some("1.2.3"));
        assert_eq!(v("core-ext-v2.0.0", "core", true), None, "another crate's tag");
        assert_eq!(v("core-v2.0.0-rc.1", "core", false), None, "a pre-release");
    }

    #[test]
    fn a_manifest_ahead_of_its_newest_tag_decides() {
        let p = package("core", "2.4.0", false);
        let w = released(&p, &["core-v2.3.1", "v9.0.0", "core-v2.2.0"], from_manifest("2.4.0"));
        assert_eq!(w.req, "2.4.0");
        assert!(w.reason.contains("its newest release tag core-v2.3.1 is older"), "{}", w.reason);
        let w = released(&p, &["core-v2.4.0", "core-v2.3.1"], from_manifest("2.4.0"));
        assert_eq!((w.req.as_str(), w.reason.as_str()), ("2.4.0", "released by acme/multi as tag core-v2.4.0"));
        let w = released(&p, &["v9.0.0"], from_manifest("2.4.0"));
        assert_eq!(w.req, "2.4.0", "the bare tag belongs to no crate of a multi-crate repository");
        assert!(w.reason.ends_with("acme/multi has no release tag for core"), "{}", w.reason);
    }

    fn change(manifest: &str, old: &str, new: &str) -> Changed {
        Changed {
            manifest: manifest.into(),
            table: vec!["dependencies".into()],
            key: "leftpad".into(),
            name: "leftpad".into(),
            old: old.into(),
            new: new.into(),
        }
    }

    const LOCK: &str = "version = 4\n\n[[package]]\nname = \"leftpad\"\nversion = \"0.9.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"leftpad\"\nversion = \"1.2.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\n";

    #[test]
    fn lockfiles_move_up_or_not_at_all() {
        let moves = |old: &str, new: &str| {
            lock_moves(LOCK, &[change("Cargo.toml", old, new)])
                .map(|m| m.iter().map(|(n, a, b)| format!("{n} {a} → {b}")).collect::<Vec<_>>())
        };
        assert_eq!(moves("1.0", "1.1"), Ok(vec![]), "1.2.0 already satisfies 1.1");
        assert_eq!(moves("1.0", "1.3"), Ok(vec!["leftpad 1.2.0 → 1.3.0".to_string()]));
        assert_eq!(moves("0.9", "0.9.4"), Ok(vec!["leftpad 0.9.0 → 0.9.4".to_string()]), "only the 0.9 entry");
        let err = moves("1.0", "~1.1.0").expect_err("would be a downgrade");
        assert!(err.contains("never downgrades"), "{err}");
    }

    #[test]
    fn each_change_belongs_to_its_nearest_lockfile() {
        let changed = [
            change("Cargo.toml", "1", "1.1"),
            change("tools/x/Cargo.toml", "1", "1.1"),
            change("toolsets/Cargo.toml", "1", "1.1"),
        ];
        let paths = ["Cargo.lock", "tools/Cargo.lock", "vendor/a/Cargo.lock", "target/Cargo.lock", "src/lib.rs"];
        let locks = lockfiles_for(paths.into_iter(), &changed);
        let found: Vec<(&str, Vec<&str>)> = locks
            .iter()
            .map(|(lock, changes)| (lock.as_str(), changes.iter().map(|c| c.manifest.as_str()).collect()))
            .collect();
        assert_eq!(
            found,
            [
                ("Cargo.lock", vec!["Cargo.toml", "toolsets/Cargo.toml"]),
                ("tools/Cargo.lock", vec!["tools/x/Cargo.toml"])
            ]
        );
    }
}
