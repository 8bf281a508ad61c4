//! `convoy deps align`, `[align.actions]`: the `uses:` of a repository's workflows and actions
//! moved to the configured versions, pinned or not, by the `deps/` rules
//! ([`crate::deps::run::actions_edits`]). The PR body sees the changes made as `changes` and
//! those left to a person as `skipped` (also the plan's notes).

use std::sync::Arc;

use super::cargo_align::changes;
use super::{Changes, Producer, RepoInput};
use crate::deps::run::Alignment;

/// Over the versions and pins resolved beforehand ([`Alignment::pins`]).
pub struct ActionsAlign(pub Arc<Alignment>);

impl Producer for ActionsAlign {
    fn name(&self) -> &str {
        "align actions"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let config = &input.manifest.model.align;
        crate::deps::run::actions_edits(config, &self.0, input.snapshot).map(changes)
    }
}
