//! Org-wide workflow policy: rules over GitHub Actions workflows, findings, reports, the cost
//! estimate and the fixes. The workflow model the rules read is [`crate::workflow`]'s (shared
//! with `deps/`); [`run`] reads a run's repositories through [`crate::workspace::OrgInput`].

pub mod audit;
pub mod config;
pub mod cost;
pub mod cron;
pub mod finding;
pub mod fix;
pub mod permission_table;
pub mod pins;
pub mod render;
pub mod rules;
pub mod run;
pub mod sarif;
pub mod shard;

pub use finding::{AuditError, AuditReport, Finding, RuleMeta, Severity, ShardInfo};
