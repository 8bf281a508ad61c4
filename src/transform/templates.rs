//! `[[template]]` entries: render a template from `templates/` into each matching repository.

use super::{Changes, Producer, RepoInput, template_context};
use crate::change::{Edit, Want};
use crate::workspace::paths::RepoPath;

pub struct Templates;

impl Producer for Templates {
    fn name(&self) -> &str {
        "templates"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let owner = &input.manifest.model.org.name;
        let mut edits = Vec::new();
        for entry in &input.manifest.model.templates {
            if !input.selection.applies(&entry.repos, owner, input.target) {
                continue;
            }
            let path = RepoPath::parse(entry.dest.get_ref())?;
            let ctx = template_context(input.manifest, input.target, input.snapshot, &entry.vars);
            let source = entry.source.get_ref();
            let text = input.renderer.render(source, &ctx).map_err(|e| e.to_string())?;
            check_rendered(&path, &text).map_err(|e| format!("templates/{source} rendered to {path}: {e}"))?;
            edits.push(Edit { path, want: Want::Content(text.into_bytes()), origin: format!("templates/{source}") });
        }
        Ok(Changes { edits, ..Changes::default() })
    }
}

/// Rendered YAML must parse: a template that renders broken YAML for one repository (an odd
/// variable value, a missing newline) must fail that repository, not land in a pull request.
pub fn check_rendered(path: &RepoPath, text: &str) -> Result<(), String> {
    let is_yaml = path.as_str().ends_with(".yml") || path.as_str().ends_with(".yaml");
    if is_yaml {
        use saphyr::LoadableYamlNode;
        crate::limits::check_yaml(text).map_err(|e| format!("not accepted as YAML at {e}"))?;
        saphyr::Yaml::load_from_str(text).map_err(|e| {
            let m = e.marker();
            format!("not valid YAML at line {} column {}: {}", m.line(), m.col() + 1, e.info())
        })?;
    }
    Ok(())
}
