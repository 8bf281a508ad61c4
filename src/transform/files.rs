//! `[[file]]` entries: shared files copied verbatim, rendered, or deleted.

use super::templates::check_rendered;
use super::{RepoInput, Transformer, template_context};
use crate::change::{Edit, Want};
use crate::workspace::paths::RepoPath;

pub struct Files;

impl Transformer for Files {
    fn id(&self) -> &'static str {
        "files"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Vec<Edit>, String> {
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
            let content = if entry.render {
                let ctx = template_context(input.manifest, input.target, input.snapshot, &entry.vars);
                let text = input.renderer.render(&name, &ctx).map_err(|e| e.to_string())?;
                check_rendered(&path, &text).map_err(|e| format!("{name} rendered to {path}: {e}"))?;
                text.into_bytes()
            } else {
                let rel = RepoPath::parse(source.get_ref()).map_err(|e| format!("{name}: {e}"))?;
                crate::workspace::paths::read_contained(&input.manifest.files_dir(), "files", &rel)?
            };
            edits.push(Edit { path, want: Want::Content(content), origin: name });
        }
        Ok(edits)
    }
}
