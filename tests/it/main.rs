//! Integration tests: the real binary against real git repositories on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply;
mod audit;
mod builtin_templates;
mod cost;
mod demo;
mod deps;
mod docs;
mod fetch;
mod forge_github;
mod forge_local;
mod github;
mod grep;
mod help;
mod hostile;
mod journal;
mod json_envelope;
mod output;
mod own_workflows;
mod patch;
mod release;
mod release_run;
mod replace;
mod resume;
mod rollback;
mod rollout;
mod schema;
mod script;
mod setup;
mod state;
mod steer;
mod support;
mod sync;
mod transport;
mod validate;
