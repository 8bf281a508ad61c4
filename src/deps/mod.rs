//! Dependency alignment across repositories: which versions of a crate (or of a GitHub Action)
//! the org uses, and campaigns that bring them in line.
//!
//! - [`model`]: what discovery finds (every dependency use, where it is written).
//! - [`cargo`]: discovery from the `Cargo.toml` files of a snapshot (workspaces, inheritance).
//! - [`skew`]: the org-wide report of requirements per crate.
//! - [`align`]: `[align.cargo]` rules turned into `toml_edit` edits that keep formatting.
//! - [`actions`]: every `uses:` of the org, and `[align.actions]` (align and pin).
//! - [`run`]: alignment over a run's repositories ([`crate::workspace::OrgInput`]): the org-wide
//!   targets, then each repository's edits, which `transform/cargo_align.rs` and
//!   `transform/actions_align.rs` hand to the campaign engine.
//! - [`config`]: `[align]` in `org.toml`.
//!
//! The workflow model `actions` reads is [`crate::workflow`]'s, shared with `policy/`.

pub mod actions;
pub mod align;
pub mod cargo;
pub mod config;
pub mod model;
pub mod run;
pub mod skew;
pub mod versions;
