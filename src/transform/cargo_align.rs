//! `convoy deps align`, `[align.cargo]`: a repository's Cargo requirements moved to the org-wide
//! targets, by the `deps/` rules ([`crate::deps::run::cargo_edits`]). The PR body sees the changes
//! made as `changes` and those left to a person as `skipped` (also the plan's notes).

use std::sync::Arc;

use super::{Changes, Producer, RepoInput};
use crate::deps::run::{AlignEdits, Alignment};

pub struct CargoAlign {
    alignment: Arc<Alignment>,
}

impl CargoAlign {
    pub fn new(alignment: Arc<Alignment>) -> CargoAlign {
        CargoAlign { alignment }
    }
}

impl Producer for CargoAlign {
    fn name(&self) -> &str {
        "align cargo"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let config = &input.manifest.model.align;
        crate::deps::run::cargo_edits(config, &self.alignment, input.target, input.snapshot).map(changes)
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
