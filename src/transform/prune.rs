//! Pruning: delete files convoy placed earlier that the manifest no longer declares.
//!
//! A repository cannot tell which of its files convoy wrote, so with `[campaign] prune = true`
//! convoy keeps the list in the repository itself ([`MANAGED_LIST`]), next to the files, where
//! reviewers see it change in the pull request. Only paths on that list are ever pruned.

use std::collections::BTreeSet;

use super::RepoInput;
use crate::change::{Edit, Want};
use crate::workspace::paths::RepoPath;

pub const MANAGED_LIST: &str = ".github/convoy-managed";

const HEADER: &str = "# Files managed by convoy. Edit the org manifest, not these files: convoy overwrites them,\n# and deletes a listed file once the manifest stops declaring it.\n";

pub fn edits(input: &RepoInput<'_>, declared: &[Edit]) -> Result<Vec<Edit>, String> {
    let now: BTreeSet<&str> = declared.iter().filter(|e| e.want != Want::Absent).map(|e| e.path.as_str()).collect();
    let before: BTreeSet<String> = match input.snapshot.read(MANAGED_LIST)? {
        Some(bytes) => String::from_utf8_lossy(&bytes)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect(),
        None => BTreeSet::new(),
    };
    let mut edits = Vec::new();
    for old in before.iter().filter(|p| !now.contains(p.as_str())) {
        // A hand-edited list may name anything: only prune paths that are safe to touch.
        let Ok(path) = RepoPath::parse(old) else { continue };
        edits.push(Edit { path, want: Want::Absent, origin: format!("prune (listed in {MANAGED_LIST})") });
    }
    let mut list = String::from(HEADER);
    for p in &now {
        list.push_str(p);
        list.push('\n');
    }
    let want = if now.is_empty() { Want::Absent } else { Want::Content(list.into_bytes()) };
    edits.push(Edit { path: RepoPath::parse(MANAGED_LIST)?, want, origin: "prune".into() });
    Ok(edits)
}
