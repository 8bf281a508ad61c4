//! Change producers, one file each, one trait ([`Producer`]): each is pure, (repository snapshot,
//! manifest) → edits, and knows nothing of the campaign engine, the forge or the journal. The
//! engine runs the producers the CLI hands it over each repository's [`RepoInput`] and writes the
//! resulting change set; none of them writes to a forge or to disk.
//!
//! - [`templates`], [`files`], [`replace`], [`script`]: the manifest's `[[template]]`, `[[file]]`,
//!   `[[replace]]` and `[[script]]` entries;
//!   [`prune`] wraps them when `[campaign] prune = true` ([`manifest_producers`]).
//! - [`patch`]: the manifest's `[[patch]]` entries, key-level edits of YAML, JSON and TOML files
//!   and line edits, outside prune (a patched file is the repository's, not convoy's).
//! - [`policy_fixes`]: the `audit --fix` edits, from the `policy/` fixers.
//! - [`cargo_align`], [`actions_align`]: the `deps align` edits, from the `deps/` rules.
//!
//! A new kind of change is a new file here and the line that hands it to the engine.

pub mod actions_align;
pub mod cargo_align;
mod context;
pub mod files;
pub mod patch;
pub mod policy_fixes;
pub mod prune;
pub mod replace;
pub mod script;
pub mod templates;

use std::collections::BTreeMap;

pub use context::{check_variables, template_context};
pub use prune::MANAGED_LIST;

use crate::change::Edit;
use crate::manifest::Manifest;
use crate::render::Renderer;
use crate::targets::{Selection, Target};
use crate::workspace::Snapshot;

/// What a producer sees of one repository: its snapshot and identity ([`Target`]: the forge's
/// repository, with the tags and variables the manifest gives it), the manifest, the selection
/// the manifest's selectors are matched in, and the compiled templates. Read-only; nothing of
/// the engine (no forge, no cache, no campaign state).
pub struct RepoInput<'a> {
    pub manifest: &'a Manifest,
    pub selection: &'a Selection,
    pub target: &'a Target,
    pub snapshot: &'a Snapshot,
    pub renderer: &'a Renderer,
}

/// A kind of change. Implementations hold what they need from the whole org (resolved pins,
/// alignment targets, a compiled policy), worked out before planning starts.
pub trait Producer: Send + Sync {
    /// Short name for messages (`templates`, `files`, `prune`, `policy fixes`...).
    fn name(&self) -> &str;
    /// The edits this producer wants in `input`'s repository; an error fails that repository
    /// only, with the message as given.
    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String>;
}

/// What one producer (or several, [`Changes::extend`]) wants in one repository.
#[derive(Debug, Default)]
pub struct Changes {
    pub edits: Vec<Edit>,
    /// Lists the campaign's title and body templates see, by variable name (`fixes`,
    /// `changes`, `skipped`).
    pub lists: BTreeMap<String, Vec<String>>,
    /// What the producer could not do for this repository, for a person (the plan's notes).
    pub notes: Vec<String>,
}

impl Changes {
    /// Add `other` after these: edits and notes appended, lists of the same name joined.
    pub fn extend(&mut self, other: Changes) {
        self.edits.extend(other.edits);
        for (name, items) in other.lists {
            self.lists.entry(name).or_default().extend(items);
        }
        self.notes.extend(other.notes);
    }
}

/// The producers of the manifest's own campaign (`plan`, `apply`), in the order they run:
/// templates and files, wrapped in prune when `[campaign] prune = true` (prune needs their edits
/// to know what is still declared); then replacements, scripts and patches, which edit files the
/// repository owns and so are never pruned.
pub fn manifest_producers(manifest: &Manifest) -> Vec<Box<dyn Producer>> {
    manifest_producers_for(manifest, true)
}

/// [`manifest_producers`] for a run that writes (`apply`, `rollout advance`): `dry_run` false is
/// what `[[script]]` commands see as `CONVOY_DRY_RUN=0`.
pub fn manifest_producers_for(manifest: &Manifest, dry_run: bool) -> Vec<Box<dyn Producer>> {
    let declared: Vec<Box<dyn Producer>> = vec![Box::new(templates::Templates), Box::new(files::Files)];
    let mut all = if manifest.campaign().prune { vec![Box::new(prune::Prune::over(declared)) as _] } else { declared };
    // Outside prune: these change files the repository owns, which must never be listed in
    // the managed list (prune would delete a file once its replacement or script stops
    // changing it).
    if !manifest.model.replaces.is_empty() {
        all.push(Box::new(replace::Replace));
    }
    if !manifest.model.scripts.is_empty() {
        all.push(Box::new(script::Script { dry_run }));
    }
    if !manifest.model.patches.is_empty() {
        all.push(Box::new(patch::Patch));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::Changes;

    #[test]
    fn changes_of_several_producers_join_lists_and_notes_in_order() {
        // `deps align` runs the Cargo then the Actions producer: one `changes` list and one
        // `skipped` list in the PR body, Cargo's lines first, as when one function made both.
        let part = |lists: &[(&str, &[&str])], notes: &[&str]| Changes {
            edits: Vec::new(),
            lists: lists.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect(),
            notes: notes.iter().map(|s| s.to_string()).collect(),
        };
        let mut all = Changes::default();
        all.extend(part(&[("changes", &["Cargo.toml: a"]), ("skipped", &["Cargo.lock: b"])], &["Cargo.lock: b"]));
        all.extend(part(&[("changes", &["ci.yml: c"]), ("skipped", &[])], &[]));
        assert_eq!(all.lists["changes"], ["Cargo.toml: a", "ci.yml: c"]);
        assert_eq!(all.lists["skipped"], ["Cargo.lock: b"]);
        assert_eq!(all.notes, ["Cargo.lock: b"]);
        // A producer that sets no list adds none (the manifest's campaign has no `skipped`).
        let mut manifest = Changes::default();
        manifest.extend(part(&[], &[]));
        assert!(manifest.lists.is_empty());
    }
}
