//! Edits proposed by transformers, and the change set they amount to against a snapshot.

use serde::Serialize;
use similar::TextDiff;

use crate::forge::FileChange;
use crate::workspace::paths::RepoPath;
use crate::workspace::{EntryKind, Snapshot};

/// What a transformer wants a file to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    Content(Vec<u8>),
    Absent,
}

/// One proposed edit, with the manifest entry that asked for it (for messages and conflicts).
#[derive(Debug, Clone)]
pub struct Edit {
    pub path: RepoPath,
    pub want: Want,
    /// `templates/rust-ci.yml.j2`, `files/editorconfig`, `prune`...
    pub origin: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// One file that differs from the snapshot.
#[derive(Debug, Clone)]
pub struct FileDiff {
    pub path: RepoPath,
    pub action: Action,
    pub origin: String,
    pub old: Option<Vec<u8>>,
    pub new: Option<Vec<u8>>,
    /// Keep the executable bit of a file that had it.
    pub executable: bool,
}

impl FileDiff {
    /// A unified diff with `a/` and `b/` headers, as `git diff` prints them.
    pub fn unified(&self) -> String {
        let old = self.old.as_deref().unwrap_or_default();
        let new = self.new.as_deref().unwrap_or_default();
        let (Ok(old_text), Ok(new_text)) = (std::str::from_utf8(old), std::str::from_utf8(new)) else {
            return format!("Binary files differ: {}\n", self.path);
        };
        let a = if self.action == Action::Create { "/dev/null".to_string() } else { format!("a/{}", self.path) };
        let b = if self.action == Action::Delete { "/dev/null".to_string() } else { format!("b/{}", self.path) };
        let diff = TextDiff::from_lines(old_text, new_text);
        let mut out = diff.unified_diff().context_radius(3).header(&a, &b).to_string();
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        out
    }

    pub fn to_change(&self) -> FileChange {
        match &self.new {
            Some(content) => {
                FileChange::Write { path: self.path.to_string(), content: content.clone(), executable: self.executable }
            }
            None => FileChange::Delete { path: self.path.to_string() },
        }
    }
}

/// Resolve `edits` against `snapshot`: conflicting edits and unsafe paths are errors; edits that
/// change nothing are dropped. The result is sorted by path.
pub fn diff_against(snapshot: &Snapshot, edits: Vec<Edit>) -> Result<Vec<FileDiff>, String> {
    let mut by_path: std::collections::BTreeMap<RepoPath, Edit> = std::collections::BTreeMap::new();
    for edit in edits {
        if let Some(prev) = by_path.get(&edit.path) {
            if prev.want != edit.want {
                return Err(format!(
                    "{} and {} both write `{}` with different content; narrow their `repos` selectors",
                    prev.origin, edit.origin, edit.path
                ));
            }
            continue;
        }
        by_path.insert(edit.path.clone(), edit);
    }
    let mut diffs = Vec::new();
    for (path, edit) in by_path {
        let old = match edit.want {
            Want::Absent if snapshot.kind(path.as_str()).is_none() => continue,
            _ => {
                snapshot.check_writable(&path)?;
                snapshot.read(path.as_str())?
            }
        };
        let executable = snapshot.kind(path.as_str()) == Some(EntryKind::Executable);
        let (action, new) = match (edit.want, &old) {
            (Want::Content(c), Some(o)) if &c == o => continue,
            (Want::Content(c), Some(_)) => (Action::Update, Some(c)),
            (Want::Content(c), None) => (Action::Create, Some(c)),
            (Want::Absent, _) => (Action::Delete, None),
        };
        diffs.push(FileDiff { path, action, origin: edit.origin, old, new, executable });
    }
    Ok(diffs)
}
