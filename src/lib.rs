//! convoy keeps a GitHub organisation's repositories in step: it reads an org manifest, clones
//! the selected repositories into a cache, renders templates and shared files into them, and
//! opens one coordinated pull request per repository.
//!
//! The binary (`src/main.rs`) is a thin shell over [`cli::run`]; everything else is the core.

pub mod campaign;
pub mod change;
pub mod cli;
pub mod clock;
pub mod demo;
pub mod deps;
pub mod diagnostic;
pub mod env_vars;
pub mod forge;
pub mod git_tree;
pub mod journal;
pub mod limits;
pub mod manifest;
pub mod parallel;
pub mod policy;
pub mod progress;
pub mod release;
pub mod render;
pub mod report;
pub mod targets;
pub mod transform;
pub mod workflow;
pub mod workspace;
