//! Change producers. Each is pure: (repository snapshot, manifest) → edits. None of them writes
//! to a forge or to disk; the campaign executor does that with the resulting change set.
//!
//! The registry is explicit ([`all`]): adding a transformer means adding a file and a line here.

mod context;
mod files;
mod prune;
mod templates;

pub use context::{check_variables, template_context};
pub use prune::MANAGED_LIST;

use crate::change::Edit;
use crate::manifest::Manifest;
use crate::render::Renderer;
use crate::targets::{Selection, Target};
use crate::workspace::Snapshot;

/// What a transformer sees of one repository.
pub struct RepoInput<'a> {
    pub manifest: &'a Manifest,
    pub selection: &'a Selection,
    pub target: &'a Target,
    pub snapshot: &'a Snapshot,
    pub renderer: &'a Renderer,
}

pub trait Transformer: Send + Sync {
    /// Short id for messages (`templates`, `files`).
    fn id(&self) -> &'static str;
    /// The edits this transformer wants in `input`'s repository.
    fn edits(&self, input: &RepoInput<'_>) -> Result<Vec<Edit>, String>;
}

/// Every transformer of the sync pipeline, in the order they run.
pub fn all() -> Vec<Box<dyn Transformer>> {
    vec![Box::new(templates::Templates), Box::new(files::Files)]
}

/// Run every transformer, then the prune pass (which needs all other edits to know what is still
/// declared).
pub fn edits_for(input: &RepoInput<'_>) -> Result<Vec<Edit>, String> {
    let mut edits = Vec::new();
    for t in all() {
        edits.extend(t.edits(input)?);
    }
    if input.manifest.campaign().prune {
        edits.extend(prune::edits(input, &edits)?);
    }
    Ok(edits)
}
