//! Pruning: delete files convoy placed earlier that the manifest no longer declares.
//!
//! A repository cannot tell which of its files convoy wrote, so with `[campaign] prune = true`
//! convoy keeps the list in the repository itself ([`MANAGED_LIST`]), next to the files, where
//! reviewers see it change in the pull request. Only paths on that list are ever pruned.

use std::collections::BTreeSet;

use super::{Changes, Producer, RepoInput};
use crate::change::{Edit, Want};
use crate::workspace::paths::RepoPath;

pub const MANAGED_LIST: &str = ".github/convoy-managed";

const HEADER: &str = "# Files managed by convoy. Edit the org manifest, not these files: convoy overwrites them,\n# and deletes a listed file once the manifest stops declaring it.\n";

/// Prune over the producers whose files it tracks: their changes, then the deletions of listed
/// files none of them declares any more and the updated [`MANAGED_LIST`].
pub struct Prune {
    declared: Vec<Box<dyn Producer>>,
}

impl Prune {
    pub fn over(declared: Vec<Box<dyn Producer>>) -> Prune {
        Prune { declared }
    }
}

impl Producer for Prune {
    fn name(&self) -> &str {
        "prune"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let mut out = Changes::default();
        for producer in &self.declared {
            out.extend(producer.edits(input)?);
        }
        let pruned = edits(input, &out.edits)?;
        out.edits.extend(pruned);
        Ok(out)
    }
}

fn edits(input: &RepoInput<'_>, declared: &[Edit]) -> Result<Vec<Edit>, String> {
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
