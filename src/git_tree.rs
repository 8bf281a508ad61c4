//! Building a tree from a base tree plus file changes: shared by the local forge (which writes the
//! commit) and the snapshot (which computes, in memory, the tree a campaign branch should have).
//! Both must produce the same tree id for the same changes, so there is exactly one copy.

use crate::forge::FileChange;

/// Apply `changes` to `base_tree` and write the resulting tree; returns its id.
pub fn write_tree(
    repo: &gix::Repository,
    base_tree: gix::ObjectId,
    changes: &[FileChange],
) -> Result<gix::ObjectId, String> {
    use gix::objs::tree::EntryKind;
    let mut editor = repo.edit_tree(base_tree).map_err(|e| format!("tree editor: {e}"))?;
    for change in changes {
        match change {
            FileChange::Write { path, content, executable, .. } => {
                let blob = repo.write_blob(content).map_err(|e| format!("writing {path}: {e}"))?;
                let kind = if *executable { EntryKind::BlobExecutable } else { EntryKind::Blob };
                editor.upsert(path.as_str(), kind, blob).map_err(|e| format!("adding {path}: {e}"))?;
            }
            FileChange::Delete { path } => {
                editor.remove(path.as_str()).map_err(|e| format!("removing {path}: {e}"))?;
            }
        }
    }
    Ok(editor.write().map_err(|e| format!("writing tree: {e}"))?.detach())
}
