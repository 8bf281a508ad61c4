//! `convoy deps align`, `[align.cargo]`: a repository's Cargo requirements moved to the org-wide
//! targets, by the `deps/` rules ([`crate::deps::run::cargo_edits`]). The PR body sees the changes
//! made as `changes` and those left to a person as `skipped` (also the plan's notes).

use std::sync::Arc;

use super::{Changes, Producer, RepoInput};
use crate::deps::run::{AlignEdits, Alignment};

/// Over the org-wide targets worked out beforehand ([`crate::deps::run::prepare`]).
pub struct CargoAlign(pub Arc<Alignment>);

impl Producer for CargoAlign {
    fn name(&self) -> &str {
        "align cargo"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let config = &input.manifest.model.align;
        crate::deps::run::cargo_edits(config, &self.0, input.target, input.snapshot).map(changes)
    }
}

/// The alignment edits as changes: `changes` and `skipped` for the PR body, `skipped` as notes.
pub(super) fn changes(aligned: AlignEdits) -> Changes {
    Changes {
        edits: aligned.edits,
        lists: [("changes".to_string(), aligned.applied), ("skipped".to_string(), aligned.skipped.clone())].into(),
        notes: aligned.skipped,
    }
}
