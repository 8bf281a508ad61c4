//! `[[file]]` entries: shared files copied verbatim, rendered, or deleted.
//!
//! Modes: `mode = "100644" | "100755"` sets the git file mode of `dest`, new or existing. Without
//! it, a file convoy creates is `100755` when its source in `files/` is executable (any `x` bit,
//! as git records a file's mode), and a file the repository already has keeps its own mode.

use super::templates::check_rendered;
use super::{Changes, Producer, RepoInput, template_context};
use crate::change::{Edit, FileMode, ModeRule, Want};
use crate::workspace::paths::RepoPath;

pub struct Files;

impl Producer for Files {
    fn name(&self) -> &str {
        "files"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let owner = &input.manifest.model.org.name;
        let mut edits = Vec::new();
        for entry in &input.manifest.model.files {
            if !input.selection.applies(&entry.repos, owner, input.target) {
                continue;
            }
            let path = RepoPath::parse(entry.dest.get_ref())?;
            let Some(source) = &entry.source else {
                edits.push(Edit {
                    path,
                    want: Want::Absent,
                    origin: format!("[[file]] delete {}", entry.dest.get_ref()),
                });
                continue;
            };
            let name = format!("files/{}", source.get_ref());
            let source_path = input.manifest.files_dir().join(source.get_ref());
            let rule = match entry.mode.as_ref().map(|m| *m.get_ref()) {
                Some(mode) => ModeRule::Always(mode),
                None if is_executable(&source_path) => ModeRule::ForNewFile(FileMode::Executable),
                None => ModeRule::ForNewFile(FileMode::Regular),
            };
            let content = if entry.render {
                let ctx = template_context(input.manifest, input.target, input.snapshot, &entry.vars);
                let text = input.renderer.render(&name, &ctx).map_err(|e| e.to_string())?;
                check_rendered(&path, &text).map_err(|e| format!("{name} rendered to {path}: {e}"))?;
                text.into_bytes()
            } else {
                let rel = RepoPath::parse(source.get_ref()).map_err(|e| format!("{name}: {e}"))?;
                crate::workspace::paths::read_contained(&input.manifest.files_dir(), "files", &rel)?
            };
            edits.push(Edit { path, want: Want::ContentWithMode(content, rule), origin: name });
        }
        Ok(Changes { edits, ..Changes::default() })
    }
}

/// Whether git would record `path` as `100755`: any execute bit set (git's rule for a file's
/// mode). Always false where files have no execute bits.
fn is_executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}
