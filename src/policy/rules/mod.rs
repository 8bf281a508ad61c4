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
use super::workflow::{Pos, Workflow};

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

/// `owner/repo@ref` split into the action (`owner/repo[/path]`) and the ref.
pub(crate) fn split_uses(uses: &str) -> (&str, Option<&str>) {
    match uses.rsplit_once('@') {
        Some((action, r)) => (action, Some(r)),
        None => (uses, None),
    }
}

/// A full 40-hex commit SHA (what GitHub calls a pinned action).
pub(crate) fn is_full_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a `uses:` value (already trimmed) names, read from its text. This is the one place that
/// tells local, container and remote references apart; every rule, `deps actions` and the
/// fixers ask it, so a new syntax is taught once.
///
/// Source: GitHub Docs, "Workflow syntax for GitHub Actions", `jobs.<job_id>.steps[*].uses` and
/// `jobs.<job_id>.uses` (`{owner}/{repo}/{path}@{ref}`, `./path/to/dir`, `docker://{image}:{tag}`),
/// and the same-repository form `$/path` (GitHub changelog, 2026-07), which names a file of the
/// repository that holds the workflow, like `./`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsesRef<'a> {
    /// `./path` or `$/path`: an action or reusable workflow of the workflow's own repository,
    /// run at the same commit. It has no tag that could move and no version to compare.
    Local(&'a str),
    /// `docker://image[:tag|@digest]`: a container image, not an action repository.
    Docker(&'a str),
    /// `owner/repo[/path][@ref]`: an action or reusable workflow of another (or the same)
    /// repository, at `reference` (`None` when there is no `@`, `Some("")` for a bare `@`).
    Remote { action: &'a str, reference: Option<&'a str> },
}

impl UsesRef<'_> {
    /// Local and container references point at no action repository and no tag that could move.
    pub fn is_remote(&self) -> bool {
        matches!(self, UsesRef::Remote { .. })
    }
}

/// Classify a trimmed `uses:` value (see [`UsesRef`]).
pub fn classify_uses(uses: &str) -> UsesRef<'_> {
    if uses.starts_with("./") || uses.starts_with("$/") {
        UsesRef::Local(uses)
    } else if uses.starts_with("docker://") {
        UsesRef::Docker(uses)
    } else {
        let (action, reference) = split_uses(uses);
        UsesRef::Remote { action, reference }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_classified_once_for_everyone() {
        assert_eq!(classify_uses("./.github/actions/setup"), UsesRef::Local("./.github/actions/setup"));
        assert_eq!(classify_uses("$/.github/actions/setup"), UsesRef::Local("$/.github/actions/setup"));
        assert_eq!(classify_uses("$/.github/workflows/ci.yml@main"), UsesRef::Local("$/.github/workflows/ci.yml@main"));
        assert_eq!(classify_uses("docker://alpine:3"), UsesRef::Docker("docker://alpine:3"));
        assert_eq!(
            classify_uses("actions/checkout@v4"),
            UsesRef::Remote { action: "actions/checkout", reference: Some("v4") }
        );
        assert_eq!(classify_uses("acme/tool"), UsesRef::Remote { action: "acme/tool", reference: None });
        // `$` alone or inside a name is no same-repository reference.
        assert!(classify_uses("$acme/tool@v1").is_remote());
        assert!(!classify_uses("$/x").is_remote());
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::policy::workflow;

    /// Run one rule over one workflow text; `(line, message)` of each hit.
    pub fn hits(rule: &dyn Rule, source: &str, options: &Options) -> Vec<(usize, String)> {
        let wf = workflow::parse(source, false).expect("fixture parses");
        let ctx = FileCtx { repo: "acme/api", path: ".github/workflows/ci.yml", source, workflow: &wf };
        let mut out = Vec::new();
        rule.check_file(&ctx, options, &mut out);
        out.into_iter().map(|h| (h.pos.line, h.message)).collect()
    }
}
