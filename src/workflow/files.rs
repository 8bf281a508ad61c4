//! Which files of a repository are workflows or composite actions, and reading them.

use crate::targets::Target;
use crate::workspace::OrgInput;

/// A file to audit.
pub struct SourceFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Whether `path` is audited, and as what: workflows are the YAML files directly under
/// `.github/workflows/` (GitHub reads no subfolders); actions are `action.yml`/`action.yaml`
/// anywhere in the repository.
pub fn classify(path: &str) -> Option<bool> {
    if let Some(name) = path.strip_prefix(".github/workflows/") {
        return (!name.contains('/') && (name.ends_with(".yml") || name.ends_with(".yaml"))).then_some(false);
    }
    let file = path.rsplit('/').next().unwrap_or(path);
    (file == "action.yml" || file == "action.yaml").then_some(true)
}

/// The workflow and action files of a target's cached default branch (`audit`, `audit --fix`,
/// `cost`, `deps actions` and `deps align` read the same files).
pub fn of_target(org: &OrgInput<'_>, target: &Target) -> Result<Vec<SourceFile>, String> {
    in_snapshot(&org.snapshot(target)?)
}

/// The workflow and action files of a snapshot.
pub fn in_snapshot(snapshot: &crate::workspace::Snapshot) -> Result<Vec<SourceFile>, String> {
    let mut files = Vec::new();
    for path in snapshot.paths().filter(|p| classify(p).is_some()) {
        // Symlinks and submodules are not files GitHub would read as workflows.
        if let Some(bytes) = snapshot.read(path).map_err(|e| format!("{path}: {e}"))? {
            files.push(SourceFile { path: path.to_string(), bytes });
        }
    }
    Ok(files)
}
