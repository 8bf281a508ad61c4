//! What an audit produces: findings with a rule, a severity and a place, and the report that
//! carries them. Every output format (text, JSON, SARIF, Markdown, annotations) renders an
//! [`AuditReport`]; `convoy report merge` combines the JSON of several shards into one.

use serde::{Deserialize, Serialize};

/// Ordered: `Note < Warning < Error`, so `--fail-on warning` means "warning or worse".
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule as reports describe it (SARIF `reportingDescriptor`, the Markdown legend).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMeta {
    /// Stable id, e.g. `schedule-frequency`; also the name used in `# convoy: ignore[...]`.
    pub id: String,
    /// Severity unless `org.toml` overrides it.
    pub severity: Severity,
    /// One sentence: what the rule checks.
    pub description: String,
    /// One line: why it matters and how to fix it in general.
    pub help: String,
}

/// One finding, at a 1-based line and column of a repository-relative file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: String,
    pub severity: Severity,
    /// `owner/name`.
    pub repo: String,
    /// Path inside the repository, `/`-separated, e.g. `.github/workflows/ci.yml`.
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// What is wrong here, specific to this place.
    pub message: String,
    /// How to fix this one.
    pub hint: String,
    /// Whether `convoy audit --fix` can fix it.
    #[serde(default)]
    pub fixable: bool,
}

/// A repository the audit could not read (missing from the cache, a broken tree): reported, and
/// the other repositories go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditError {
    pub repo: String,
    pub message: String,
}

/// `--shard K/N`: this report covers shard `index` (1-based) of `count`, of the audit run `run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
    /// The run the shard belongs to (`audit --run-id`, `CONVOY_RUN_ID`, or `GITHUB_RUN_ID` in
    /// GitHub Actions); `report merge` refuses shards of different runs. Absent when none was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

pub const AUDIT_SCHEMA_VERSION: u32 = 1;

/// The whole result of an audit, or of merging several shard reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    pub schema_version: u32,
    /// `convoy <version>`.
    pub tool: String,
    /// Every rule that ran (also those with no findings), sorted by id.
    pub rules: Vec<RuleMeta>,
    /// Repositories audited, sorted.
    pub repos: Vec<String>,
    /// Workflow and action files read.
    pub files: usize,
    /// Sorted by repo, path, line, column, rule.
    pub findings: Vec<Finding>,
    #[serde(default)]
    pub errors: Vec<AuditError>,
    /// The shards this report covers; empty for an unsharded audit.
    #[serde(default)]
    pub shards: Vec<ShardInfo>,
}

impl AuditReport {
    /// The highest severity among the findings, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    pub fn sort(&mut self) {
        self.rules.sort_by(|a, b| a.id.cmp(&b.id));
        self.rules.dedup_by(|a, b| a.id == b.id);
        self.repos.sort();
        self.repos.dedup();
        self.findings.sort_by(|a, b| {
            (&a.repo, &a.path, a.line, a.column, &a.rule).cmp(&(&b.repo, &b.path, b.line, b.column, &b.rule))
        });
        self.errors.sort_by(|a, b| a.repo.cmp(&b.repo));
        self.shards.sort_by_key(|s| (s.count, s.index));
    }
}
