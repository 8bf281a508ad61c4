//! Coordinated releases across the org's repositories (issue 12), read-only so far.
//!
//! - [`graph`]: the org's publishable packages and the order they must be released in (waves),
//!   from the dependency discovery of [`crate::deps`] (no manifest is parsed here).
//! - [`plan`]: per package, the last release tag, the commits since it that touched the
//!   package, the bump they imply, overrides, and safety bumps of dependents.
//! - [`conventional`]: conventional-commit messages and the bump each implies.
//!
//! - [`run`]: `release run` (bumps through [`bump`], tags, forge releases with [`notes`],
//!   publish [`gate`]s), its record for `--resume`, and `release rollback`;
//! - [`budget`]: crates.io's publish limits over the waves;
//! - [`config`]: the manifest's `[release]` section.

pub mod budget;
pub mod bump;
pub mod config;
pub mod conventional;
pub mod gate;
pub mod graph;
pub mod notes;
pub mod plan;
pub mod run;

/// Bumped when a field of the `release graph` or `release plan` JSON changes meaning or goes
/// away (new fields do not bump it).
pub const SCHEMA_VERSION: u32 = 1;
