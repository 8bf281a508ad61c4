//! Coordinated releases across the org's repositories (issue 12), read-only so far.
//!
//! - [`graph`]: the org's publishable packages and the order they must be released in (waves),
//!   from the dependency discovery of [`crate::deps`] (no manifest is parsed here).
//! - [`plan`]: per package, the last release tag, the commits since it that touched the
//!   package, the bump they imply, overrides, and safety bumps of dependents.
//! - [`conventional`]: conventional-commit messages and the bump each implies.
//!
//! Not built yet: `release run` (bumps, tags, forge releases, publish gates), resume and
//! rollback. Per-repository settings (tag formats, safety bumps) are CLI flags and built-in
//! defaults for now; there is no `[release]` manifest section.

pub mod conventional;
pub mod graph;
pub mod plan;

/// Bumped when a field of the `release graph` or `release plan` JSON changes meaning or goes
/// away (new fields do not bump it).
pub const SCHEMA_VERSION: u32 = 1;
