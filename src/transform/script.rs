//! `[[script]]` entries: a command run in a scratch checkout of each selected repository
//! ([`crate::workspace::scratch`]: the default branch's files, a `.git` of its own, a private
//! `HOME` and `TMPDIR`, writes confined by Landlock where the kernel has it); what it changed
//! there, against the snapshot, becomes the repository's edits.
//!
//! - `run = "..."` is run with `sh -c`; `command = ["prog", "arg"]` is run as given (a relative
//!   program is looked up on `PATH`, or relative to the checkout when it has a `/`).
//! - Several entries run in manifest order in the same checkout, each on what the earlier ones
//!   left. They see the default branch, not the edits of templates, files or replacements.
//! - Result: files added, changed and deleted, and executable bits set or cleared. A symbolic
//!   link the script creates or changes, or a link it replaces or removes, is refused (convoy
//!   writes no links), as is a write through a link or into a submodule
//!   ([`crate::workspace::Snapshot::check_writable`]); `.git` is never part of the result.
//! - A run that exits non-zero, times out (`timeout`, default 5 minutes; the process group is
//!   killed) or writes outside its checkout fails that repository only, with the exit code and
//!   the tail of its output.
//! - The environment is cleared; the command gets [`ALLOWED_ENV`] from convoy's own, then
//!   [`environment`], then the entry's `env`. Never a forge token.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Changes, Producer, RepoInput};
use crate::change::{Edit, FileMode, ModeRule, Want};
use crate::manifest::{Manifest, ScriptEntry};
use crate::targets::Target;
use crate::workspace::EntryKind;
use crate::workspace::paths::RepoPath;
use crate::workspace::scratch::{Found, RunSpec, Scratch};

/// A run's default time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Bytes kept of a run's stdout, and of its stderr (the last ones).
pub const MAX_OUTPUT: usize = 256 * 1024;
/// Lines of output an error message shows (of stdout and of stderr each).
const TAIL_LINES: usize = 20;

/// The variables of convoy's own environment a command gets, when they are set. Nothing else
/// passes: no forge token (`GITHUB_TOKEN`, `GH_TOKEN`, the App key), no `CONVOY_*` setting.
pub const ALLOWED_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM"];

/// The environment of a command run for `target`: [`ALLOWED_ENV`] from this process, and
///
/// - `CONVOY_REPO` (`owner/name`), `CONVOY_OWNER`, `CONVOY_REPO_NAME`, `CONVOY_DEFAULT_BRANCH`;
/// - `CONVOY_DRY_RUN`: `1` in `plan` and `convoy run`, `0` in `apply` and `rollout advance`;
/// - `CONVOY_MANIFEST_DIR`: the absolute folder of `org.toml` (to call scripts kept beside it);
/// - `CONVOY_VARS`: the repository's variables as a JSON object (`[vars]`, overridden by the
///   matching `[[repo]]` rules' `vars`, as templates see them) and, for each, `CONVOY_VAR_<NAME>`
///   (the name upper-cased, other characters than letters and digits as `_`): strings as they
///   are, other values as JSON.
///
/// `HOME` and `TMPDIR` are set by the scratch checkout to private folders.
pub fn environment(manifest: &Manifest, target: &Target, dry_run: bool) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> =
        ALLOWED_ENV.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect();
    env.entry("PATH".into()).or_insert_with(|| "/usr/local/bin:/usr/bin:/bin".into());
    let repo = &target.repo;
    env.insert("CONVOY_REPO".into(), repo.id.full_name());
    env.insert("CONVOY_OWNER".into(), repo.id.owner.clone());
    env.insert("CONVOY_REPO_NAME".into(), repo.id.name.clone());
    env.insert("CONVOY_DEFAULT_BRANCH".into(), repo.default_branch.clone());
    env.insert("CONVOY_DRY_RUN".into(), if dry_run { "1" } else { "0" }.into());
    let dir = manifest.dir.canonicalize().unwrap_or_else(|_| manifest.dir.clone());
    env.insert("CONVOY_MANIFEST_DIR".into(), dir.display().to_string());
    let mut vars = manifest.model.vars.clone();
    vars.extend(target.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.insert("CONVOY_VARS".into(), serde_json::to_string(&vars).unwrap_or_else(|_| "{}".into()));
    for (name, value) in &vars {
        let key: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        let text = match value {
            toml::Value::String(s) => s.clone(),
            other => serde_json::to_string(other).unwrap_or_default(),
        };
        env.insert(format!("CONVOY_VAR_{key}"), text);
    }
    env
}

/// What an entry is called in messages: its `name`, else its command.
pub fn label(entry: &ScriptEntry) -> String {
    if let Some(n) = &entry.name {
        return n.get_ref().clone();
    }
    match (&entry.run, &entry.command) {
        (Some(r), _) => r.get_ref().clone(),
        (None, Some(c)) => c.iter().map(|a| a.get_ref().as_str()).collect::<Vec<_>>().join(" "),
        (None, None) => "[[script]]".into(),
    }
}

/// The program and arguments an entry runs.
pub fn argv(entry: &ScriptEntry) -> Vec<String> {
    match (&entry.run, &entry.command) {
        (Some(r), _) => vec!["sh".into(), "-c".into(), r.get_ref().clone()],
        (None, Some(c)) => c.iter().map(|a| a.get_ref().clone()).collect(),
        (None, None) => Vec::new(),
    }
}

/// Run `spec` in `scratch` and turn how it ended into an error naming `what`, unless it
/// succeeded and wrote nothing outside its checkout.
pub fn run_checked(scratch: &Scratch, spec: &RunSpec, what: &str) -> Result<crate::workspace::scratch::Ran, String> {
    let ran = scratch.run(spec).map_err(|e| format!("{what}: {e}"))?;
    let escaped = scratch.escaped();
    if !escaped.is_empty() {
        return Err(format!(
            "{what} wrote outside its checkout ({}); refused, nothing of it is used",
            escaped.join(", ")
        ));
    }
    if ran.timed_out {
        return Err(format!(
            "{what} timed out after {}s and was killed with its process group\n{}",
            spec.timeout.as_secs_f32(),
            ran.tail(TAIL_LINES)
        ));
    }
    match ran.exit_code {
        Some(0) => Ok(ran),
        Some(code) => Err(format!("{what} exited with code {code}\n{}", ran.tail(TAIL_LINES))),
        None => Err(format!("{what} was killed by a signal\n{}", ran.tail(TAIL_LINES))),
    }
}

/// The `[[script]]` producer. `dry_run` is what `CONVOY_DRY_RUN` says.
pub struct Script {
    pub dry_run: bool,
}

impl Producer for Script {
    fn name(&self) -> &str {
        "script"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let owner = &input.manifest.model.org.name;
        let entries: Vec<&ScriptEntry> = input
            .manifest
            .model
            .scripts
            .iter()
            .filter(|e| input.selection.applies(&e.repos, owner, input.target))
            .collect();
        if entries.is_empty() {
            return Ok(Changes::default());
        }
        let scratch = Scratch::checkout(input.snapshot)?;
        let base = environment(input.manifest, input.target, self.dry_run);
        let mut before = scratch.files()?;
        // Which entries changed each path, in order.
        let mut origins: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut lists = Vec::new();
        for entry in entries {
            let label = label(entry);
            let what = format!("[[script]] `{label}`");
            let timeout = match &entry.timeout {
                Some(t) => Duration::from_secs(crate::manifest::parse_duration(t.get_ref())?.max(1) as u64),
                None => DEFAULT_TIMEOUT,
            };
            let mut env = base.clone();
            env.extend(entry.env.iter().map(|(k, v)| (k.clone(), v.clone())));
            let spec = RunSpec { argv: argv(entry), env, timeout, max_output: MAX_OUTPUT };
            run_checked(&scratch, &spec, &what)?;
            let after = scratch.files().map_err(|e| format!("{what}: {e}"))?;
            let touched: Vec<&String> = after
                .iter()
                .filter(|(p, f)| before.get(*p) != Some(*f))
                .map(|(p, _)| p)
                .chain(before.keys().filter(|p| !after.contains_key(*p)))
                .collect();
            if !touched.is_empty() {
                lists.push(format!("{label}: {} file{}", touched.len(), if touched.len() == 1 { "" } else { "s" }));
            }
            for p in touched {
                origins.entry(p.clone()).or_default().push(what.clone());
            }
            before = after;
        }
        let edits = edits_against(input, before, &origins)?;
        let mut changes = Changes { edits, ..Changes::default() };
        if !lists.is_empty() {
            changes.lists.insert("changes".into(), lists);
        }
        Ok(changes)
    }
}

/// The edits that turn the snapshot into `now`.
fn edits_against(
    input: &RepoInput<'_>,
    now: BTreeMap<String, Found>,
    origins: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<Edit>, String> {
    let snapshot = input.snapshot;
    let origin = |p: &str| origins.get(p).map(|o| o.join(", ")).unwrap_or_else(|| "[[script]]".into());
    let mut edits = Vec::new();
    for (path, found) in &now {
        let kind = snapshot.kind(path);
        match found {
            Found::Link(target) => {
                let same = kind == Some(EntryKind::Symlink) && snapshot_link(input, path)? == *target;
                if !same {
                    return Err(format!(
                        "{} made `{path}` a symbolic link (to `{}`); convoy does not write symbolic links",
                        origin(path),
                        String::from_utf8_lossy(target)
                    ));
                }
            }
            Found::File { content, executable } => {
                if kind == Some(EntryKind::Symlink) {
                    return Err(format!(
                        "{} replaced the symbolic link `{path}` with a file; convoy does not replace symbolic links",
                        origin(path)
                    ));
                }
                let was = match kind {
                    Some(EntryKind::File | EntryKind::Executable) => snapshot.read(path)?,
                    _ => None,
                };
                if was.as_deref() == Some(content.as_slice()) && (kind == Some(EntryKind::Executable)) == *executable {
                    continue;
                }
                let mode = if *executable { FileMode::Executable } else { FileMode::Regular };
                edits.push(Edit {
                    path: RepoPath::parse(path).map_err(|e| format!("{}: `{path}`: {e}", origin(path)))?,
                    want: Want::ContentWithMode(content.clone(), ModeRule::Always(mode)),
                    origin: origin(path),
                });
            }
        }
    }
    for path in snapshot.paths() {
        if now.contains_key(path) {
            continue;
        }
        match snapshot.kind(path) {
            Some(EntryKind::File | EntryKind::Executable) => {
                edits.push(Edit { path: RepoPath::parse(path)?, want: Want::Absent, origin: origin(path) })
            }
            Some(EntryKind::Symlink) => {
                return Err(format!(
                    "{} removed the symbolic link `{path}`; convoy does not remove symbolic links",
                    origin(path)
                ));
            }
            // The checkout has an empty folder for a submodule; the walk reports no file there.
            _ => {}
        }
    }
    Ok(edits)
}

fn snapshot_link(input: &RepoInput<'_>, path: &str) -> Result<Vec<u8>, String> {
    input.snapshot.link_target(path).map(Option::unwrap_or_default)
}
