use std::collections::{BTreeMap, BTreeSet};

use gix::bstr::ByteSlice;

use super::paths::RepoPath;
use crate::forge::FileChange;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Executable,
    Symlink,
    Submodule,
}

/// A read-only view of one commit of a cached repository.
pub struct Snapshot {
    /// Opened with object memory: trees computed for comparison never touch the cache on disk.
    repo: gix::Repository,
    commit: gix::ObjectId,
    tree: gix::ObjectId,
    entries: BTreeMap<String, (EntryKind, gix::ObjectId)>,
    dirs: BTreeSet<String>,
}

impl Snapshot {
    pub(super) fn load(repo: gix::Repository, head: &str) -> Result<Self, String> {
        let commit = gix::ObjectId::from_hex(head.as_bytes()).map_err(|e| e.to_string())?;
        let (tree_id, recorder) = {
            let tree = repo
                .find_commit(commit)
                .map_err(|e| format!("commit {head}: {e}"))?
                .tree()
                .map_err(|e| format!("tree of {head}: {e}"))?;
            let mut recorder = gix::traverse::tree::Recorder::default();
            tree.traverse().breadthfirst(&mut recorder).map_err(|e| format!("reading tree: {e}"))?;
            (tree.id, recorder)
        };
        let mut entries = BTreeMap::new();
        let mut dirs = BTreeSet::new();
        for e in recorder.records {
            let path = e.filepath.to_str_lossy().into_owned();
            let kind = if e.mode.is_tree() {
                dirs.insert(path);
                continue;
            } else if e.mode.is_link() {
                EntryKind::Symlink
            } else if e.mode.is_commit() {
                EntryKind::Submodule
            } else if e.mode.is_executable() {
                EntryKind::Executable
            } else {
                EntryKind::File
            };
            entries.insert(path, (kind, e.oid));
        }
        Ok(Snapshot { repo, commit, tree: tree_id, entries, dirs })
    }

    pub fn commit_id(&self) -> String {
        self.commit.to_string()
    }

    pub fn kind(&self, path: &str) -> Option<EntryKind> {
        self.entries.get(path).map(|(k, _)| *k)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(path)
    }

    /// Every non-folder entry, in path order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The bytes of a regular file; `None` if there is no such file.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match self.entries.get(path) {
            None => Ok(None),
            Some((EntryKind::File | EntryKind::Executable, oid)) => {
                let blob = self.repo.find_blob(*oid).map_err(|e| format!("reading {path}: {e}"))?;
                Ok(Some(blob.data.clone()))
            }
            Some((kind, _)) => Err(format!("`{path}` is a {kind:?}, not a file").to_lowercase()),
        }
    }

    /// Refuse destinations that would write through a symlink or submodule, or over a folder.
    pub fn check_writable(&self, path: &RepoPath) -> Result<(), String> {
        for ancestor in path.ancestors() {
            match self.kind(ancestor) {
                Some(EntryKind::Symlink) => {
                    return Err(format!(
                        "`{ancestor}` is a symbolic link in the repository; convoy never writes through symlinks ({path})"
                    ));
                }
                Some(EntryKind::Submodule) => {
                    return Err(format!("`{ancestor}` is a submodule; convoy does not write into submodules ({path})"));
                }
                Some(_) => return Err(format!("`{ancestor}` is a file, so `{path}` cannot be created under it")),
                None => {}
            }
        }
        match self.kind(path.as_str()) {
            Some(EntryKind::Symlink) => Err(format!(
                "`{path}` is a symbolic link in the repository; convoy does not replace or write through symlinks"
            )),
            Some(EntryKind::Submodule) => Err(format!("`{path}` is a submodule")),
            _ if self.is_dir(path.as_str()) => Err(format!("`{path}` is a folder in the repository")),
            _ => Ok(()),
        }
    }

    /// The cache's git folder this snapshot reads from (for a scratch checkout's alternates).
    pub fn git_dir(&self) -> &std::path::Path {
        self.repo.path()
    }

    /// Every non-folder entry with its kind, in path order (scratch checkouts materialise them).
    pub(super) fn entries(&self) -> impl Iterator<Item = (&str, EntryKind)> {
        self.entries.iter().map(|(p, (k, _))| (p.as_str(), *k))
    }

    /// The target of a symbolic link; `None` if `path` is not one.
    pub fn link_target(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match self.kind(path) {
            Some(EntryKind::Symlink) => self.blob(path),
            _ => Ok(None),
        }
    }

    /// Every folder of the tree, parents before their children.
    pub(super) fn dirs(&self) -> impl Iterator<Item = &str> {
        self.dirs.iter().map(String::as_str)
    }

    /// The raw bytes of any blob entry: a file's content or a symbolic link's target.
    pub(super) fn blob(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match self.entries.get(path) {
            Some((EntryKind::File | EntryKind::Executable | EntryKind::Symlink, oid)) => {
                Ok(Some(self.repo.find_blob(*oid).map_err(|e| format!("reading {path}: {e}"))?.data.clone()))
            }
            _ => Ok(None),
        }
    }

    /// This commit's tree as a git index file at `path` (no stat data: git refreshes it).
    pub(super) fn write_index(&self, path: &std::path::Path) -> Result<(), String> {
        let state = gix::index::State::from_tree(&self.tree, &self.repo.objects, Default::default())
            .map_err(|e| format!("index of {}: {e}", self.commit))?;
        let mut file = gix::index::File::from_state(state, path.to_path_buf());
        file.write(Default::default()).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// The id of this commit's tree with `changes` applied (computed in memory).
    pub fn tree_with(&self, changes: &[FileChange]) -> Result<String, String> {
        Ok(crate::git_tree::write_tree(&self.repo, self.tree, changes)?.to_string())
    }
}
