//! [`OrgInput`]: what the org-wide readers (`audit`, `cost`, `deps skew`, the alignment targets,
//! the pins `audit --fix` resolves) see of a run: the manifest, the selected repositories and
//! their cached default branches, and how many to read at once. Read-only, and no forge: the
//! campaign engine hands one out ([`crate::campaign::Session::org`]), so these readers need
//! nothing of the engine.

use super::{Cache, Snapshot};
use crate::manifest::Manifest;
use crate::targets::{Selection, Target};

/// The selected repositories of a run, read from the clone cache.
#[derive(Clone, Copy)]
pub struct OrgInput<'a> {
    pub manifest: &'a Manifest,
    pub selection: &'a Selection,
    pub cache: &'a Cache,
    /// Repositories read at once.
    pub jobs: usize,
}

impl OrgInput<'_> {
    pub fn targets(&self) -> &[Target] {
        &self.selection.targets
    }

    /// The cached default branch of `target` (blocking).
    pub fn snapshot(&self, target: &Target) -> Result<Snapshot, String> {
        self.cache.snapshot(&target.repo).map_err(|e| e.to_string())
    }
}
