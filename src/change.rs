//! Edits proposed by change producers (`transform/`), and the change set they amount to against a snapshot.

use serde::Serialize;
use similar::TextDiff;

use crate::forge::FileChange;
use crate::workspace::paths::RepoPath;
use crate::workspace::{EntryKind, Snapshot};

/// What a producer wants a file to become.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// This content; an existing file keeps its mode, a new file is a regular file (`100644`).
    Content(Vec<u8>),
    /// This content, with its mode chosen by the rule.
    ContentWithMode(Vec<u8>, ModeRule),
    Absent,
}

/// A git file mode convoy writes: the two modes of a regular file in a git tree
/// (git's `100644` and `100755`; GitHub's git data API takes the same strings in `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub enum FileMode {
    /// `100644`: a regular file.
    #[serde(rename = "100644")]
    Regular,
    /// `100755`: an executable file.
    #[serde(rename = "100755")]
    Executable,
}

impl FileMode {
    pub fn is_executable(self) -> bool {
        self == FileMode::Executable
    }
    /// `100644` or `100755`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileMode::Regular => "100644",
            FileMode::Executable => "100755",
        }
    }
}

/// How the mode of a written file is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeRule {
    /// A new file gets this mode; an existing file keeps its own (e.g. a shared file copied from
    /// an executable source: convoy creates it executable, but does not change a file a
    /// repository already has).
    ForNewFile(FileMode),
    /// The file gets this mode, new or not (`[[file]] mode = "100755"`).
    Always(FileMode),
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
    /// The mode the file is written with (`100755` when true): an existing file's own mode unless
    /// the edit sets one.
    pub executable: bool,
    /// The mode the file had (`false` for a new file).
    pub old_executable: bool,
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
        // Mode lines as `git diff` prints them, where a mode is not the plain `100644`.
        let mode = |x: bool| if x { FileMode::Executable } else { FileMode::Regular }.as_str();
        let mut modes = String::new();
        match self.action {
            Action::Create if self.executable => modes = format!("new file mode {}\n", mode(true)),
            Action::Update if self.executable != self.old_executable => {
                modes = format!("old mode {}\nnew mode {}\n", mode(self.old_executable), mode(self.executable))
            }
            _ => {}
        }
        if old_text == new_text {
            return modes;
        }
        let mut out = modes + &diff.unified_diff().context_radius(3).header(&a, &b).to_string();
        if !out.ends_with('\n') && !out.is_empty() {
            out.push('\n');
        }
        out
    }

    /// Lines added and removed, as `git diff --stat` counts them (the line diff of
    /// [`unified`](Self::unified)); `None` for a binary file (not UTF-8 on either side).
    pub fn line_counts(&self) -> Option<(usize, usize)> {
        let old = std::str::from_utf8(self.old.as_deref().unwrap_or_default()).ok()?;
        let new = std::str::from_utf8(self.new.as_deref().unwrap_or_default()).ok()?;
        let (mut added, mut removed) = (0, 0);
        for change in TextDiff::from_lines(old, new).iter_all_changes() {
            match change.tag() {
                similar::ChangeTag::Insert => added += 1,
                similar::ChangeTag::Delete => removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
        Some((added, removed))
    }

    pub fn to_change(&self) -> FileChange {
        match &self.new {
            Some(content) => FileChange::Write {
                path: self.path.to_string(),
                content: content.clone(),
                executable: self.executable,
                was_executable: self.old_executable,
            },
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
        let old_executable = snapshot.kind(path.as_str()) == Some(EntryKind::Executable);
        let (content, rule) = match edit.want {
            Want::Content(c) => (Some(c), None),
            Want::ContentWithMode(c, rule) => (Some(c), Some(rule)),
            Want::Absent => (None, None),
        };
        let executable = match (rule, &old) {
            (Some(ModeRule::Always(m)), _) | (Some(ModeRule::ForNewFile(m)), None) => m.is_executable(),
            (None, None) => false,
            (_, Some(_)) => old_executable,
        };
        let (action, new) = match (content, &old) {
            (Some(c), Some(o)) if &c == o && executable == old_executable => continue,
            (Some(c), Some(_)) => (Action::Update, Some(c)),
            (Some(c), None) => (Action::Create, Some(c)),
            (None, _) => (Action::Delete, None),
        };
        diffs.push(FileDiff { path, action, origin: edit.origin, old, new, executable, old_executable });
    }
    Ok(diffs)
}
