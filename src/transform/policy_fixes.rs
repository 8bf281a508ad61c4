//! `convoy audit --fix`: the fixes for a repository's `[policy]` findings, made by the
//! `policy/` fixers ([`crate::policy::run::fix_edits`]). The PR body sees the fixes made as
//! `fixes` and the findings left to a person as `skipped` (also the plan's notes).

use super::{Changes, Producer, RepoInput};
use crate::policy::audit::Policy;
use crate::workflow::uses::PinMap;

pub struct PolicyFixes {
    policy: Policy,
    /// The action tags the fixes pin, resolved to commits beforehand (`policy::pins`).
    pins: PinMap,
}

impl PolicyFixes {
    pub fn new(policy: Policy, pins: PinMap) -> PolicyFixes {
        PolicyFixes { policy, pins }
    }
}

impl Producer for PolicyFixes {
    fn name(&self) -> &str {
        "policy fixes"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let fixes = crate::policy::run::fix_edits(
            &self.policy,
            &self.pins,
            input.manifest,
            input.selection,
            input.target,
            input.snapshot,
        )?;
        Ok(Changes {
            edits: fixes.edits,
            lists: [("fixes".to_string(), fixes.applied), ("skipped".to_string(), fixes.skipped.clone())].into(),
            notes: fixes.skipped,
        })
    }
}
