//! The rules, one file each. A rule looks at one parsed workflow (or, for rules that compare
//! files, at all of a repository's workflows) and reports hits; the audit engine turns hits
//! into findings, applying severity overrides, exemptions and `# convoy: ignore[...]` comments.

mod cache;
pub(crate) mod concurrency;
mod duplicate_workflows;
mod outdated_actions;
mod permissions;
mod schedule_frequency;
mod timeout;
mod unpinned_actions;

use globset::GlobSet;

use super::Severity;
use crate::workflow::{Pos, Workflow};

/// A file a rule looks at.
pub struct FileCtx<'a> {
    pub repo: &'a str,
    /// Repository-relative path.
    pub path: &'a str,
    pub source: &'a str,
    pub workflow: &'a Workflow,
}

/// What a rule found, before the engine decides whether it is reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub pos: Pos,
    pub message: String,
    pub hint: String,
    /// `--fix` can make this change safely.
    pub fixable: bool,
}

impl Hit {
    pub fn new(pos: Pos, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Hit { pos, message: message.into(), hint: hint.into(), fixable: false }
    }
    pub fn fixable(mut self) -> Self {
        self.fixable = true;
        self
    }
}

/// Rule options with their defaults applied (each rule reads its own).
#[derive(Debug, Clone)]
pub struct Options {
    pub min_interval_minutes: u32,
    pub max_timeout_minutes: u32,
    pub default_timeout_minutes: u32,
    pub allow_unpinned: GlobSet,
    pub require_cancel_in_progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_interval_minutes: 30,
            max_timeout_minutes: 120,
            default_timeout_minutes: 30,
            allow_unpinned: GlobSet::empty(),
            require_cancel_in_progress: true,
        }
    }
}

pub trait Rule: Send + Sync {
    fn id(&self) -> &'static str;
    fn severity(&self) -> Severity;
    /// One sentence: what the rule checks.
    fn description(&self) -> &'static str;
    /// One line: why it matters and the general fix.
    fn help(&self) -> &'static str;
    /// Hits in one file.
    fn check_file(&self, _file: &FileCtx<'_>, _options: &Options, _out: &mut Vec<Hit>) {}
    /// Hits that come from comparing a repository's files: `(index into files, hit)`.
    fn check_repo(&self, _files: &[FileCtx<'_>], _options: &Options, _out: &mut Vec<(usize, Hit)>) {}
}

/// Every rule, in id order.
pub fn all() -> Vec<Box<dyn Rule>> {
    let mut rules: Vec<Box<dyn Rule>> = vec![
        Box::new(cache::Cache),
        Box::new(concurrency::Concurrency),
        Box::new(duplicate_workflows::DuplicateWorkflows),
        Box::new(outdated_actions::OutdatedActions),
        Box::new(permissions::Permissions),
        Box::new(schedule_frequency::ScheduleFrequency),
        Box::new(timeout::Timeout),
        Box::new(unpinned_actions::UnpinnedActions),
    ];
    rules.sort_by_key(|r| r.id());
    rules
}

/// The id of the finding a file gets when it cannot be read as a workflow.
pub const INVALID_WORKFLOW: &str = "invalid-workflow";

/// Known rule ids, for the manifest check (`invalid-workflow` cannot be configured away but its
/// severity can be changed).
pub fn ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = all().iter().map(|r| r.id()).collect();
    ids.push(INVALID_WORKFLOW);
    ids.sort_unstable();
    ids
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::workflow;

    /// Run one rule over one workflow text; `(line, message)` of each hit.
    pub fn hits(rule: &dyn Rule, source: &str, options: &Options) -> Vec<(usize, String)> {
        let wf = workflow::parse(source, false).expect("fixture parses");
        let ctx = FileCtx { repo: "acme/api", path: ".github/workflows/ci.yml", source, workflow: &wf };
        let mut out = Vec::new();
        rule.check_file(&ctx, options, &mut out);
        out.into_iter().map(|h| (h.pos.line, h.message)).collect()
    }
}
