//! `convoy deps align`, `[align.actions]`: the `uses:` of a repository's workflows and actions
//! moved to the configured versions, pinned or not, by the `deps/` rules
//! ([`crate::deps::run::actions_edits`]). The PR body sees the changes made as `changes` and
//! those left to a person as `skipped` (also the plan's notes).

use std::sync::Arc;

use super::cargo_align::changes;
use super::{Changes, Producer, RepoInput};
use crate::deps::run::Alignment;

pub struct ActionsAlign {
    alignment: Arc<Alignment>,
}

impl ActionsAlign {
    pub fn new(alignment: Arc<Alignment>) -> ActionsAlign {
        ActionsAlign { alignment }
    }
}

impl Producer for ActionsAlign {
    fn name(&self) -> &str {
        "align actions"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let config = &input.manifest.model.align;
        crate::deps::run::actions_edits(config, &self.alignment, input.snapshot).map(changes)
    }
}
