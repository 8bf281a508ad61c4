//! `[policy]` in `org.toml`: which rules run, at which severity, with which options, and what is
//! exempt.
//!
//! ```toml
//! [policy]
//! exempt = ["acme/legacy-*"]              # repositories no rule looks at
//! exempt_paths = [".github/workflows/experimental-*.yml"]
//!
//! [policy.rules.schedule-frequency]
//! severity = "error"
//! min_interval_minutes = 60
//! exempt = ["acme/status-page"]
//! ```
//!
//! Options live beside the common keys of each rule (flat, as people write them); `load.rs`
//! refuses an option given to a rule it does not belong to, with its line and column.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use super::Severity;

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// Repository selectors exempt from every rule.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exempt: Vec<Spanned<String>>,
    /// Path globs (inside repositories) exempt from every rule.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exempt_paths: Vec<Spanned<String>>,
    /// Per-rule settings, keyed by rule id (`[policy.rules.timeout]`): `enabled`, `severity`,
    /// `exempt`, `exempt_paths`, and the options of that rule.
    #[serde(default)]
    #[schemars(schema_with = "rules_schema")]
    pub rules: BTreeMap<String, Spanned<RuleConfig>>,
    #[serde(default)]
    pub cost: CostConfig,
    /// The campaign branch of `convoy audit --fix` (default `convoy/policy-fixes`).
    #[schemars(with = "Option<String>")]
    pub fix_branch: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// `false` turns the rule off.
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    /// Repository selectors this rule skips.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exempt: Vec<Spanned<String>>,
    /// Path globs this rule skips.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exempt_paths: Vec<Spanned<String>>,
    /// `schedule-frequency`: the shortest allowed gap between scheduled runs (default 30).
    #[schemars(with = "Option<u32>")]
    pub min_interval_minutes: Option<Spanned<u32>>,
    /// `timeout`: the highest allowed `timeout-minutes` (default 120).
    #[schemars(with = "Option<u32>")]
    pub max_minutes: Option<Spanned<u32>>,
    /// `timeout`: what `--fix` writes into a job without a timeout (default 30).
    #[schemars(with = "Option<u32>")]
    pub default_minutes: Option<Spanned<u32>>,
    /// `unpinned-actions`: action globs that may stay on a tag (e.g. `"acme/*"`); local actions
    /// (`./...`) and `docker://` images are never flagged.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub allow: Vec<Spanned<String>>,
    /// `concurrency`: also require `cancel-in-progress` on pull-request workflows (default true).
    pub require_cancel_in_progress: Option<bool>,
}

/// The schema of `[policy.rules]`: one property per known rule id ([`ids`](super::rules::ids)),
/// each taking [`RuleConfig`]'s common keys plus that rule's own options ([`options_of`]), so
/// an editor completes rule ids and the schema refuses an unknown rule or an option given to
/// the wrong rule, as the manifest check in `manifest/load.rs` does. Written by hand because
/// the rule ids come from the rule registry, not from serde fields.
fn rules_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let base = RuleConfig::json_schema(generator);
    let ids = super::rules::ids();
    let options: Vec<&str> = ids.iter().flat_map(|id| options_of(id).iter().copied()).collect();
    let descriptions: BTreeMap<&str, &str> = super::rules::all().iter().map(|r| (r.id(), r.description())).collect();
    let mut rules = serde_json::Map::new();
    for id in ids {
        let mut rule = base.clone();
        if let Some(props) = rule.get_mut("properties").and_then(serde_json::Value::as_object_mut) {
            props.retain(|key, _| !options.contains(&key.as_str()) || options_of(id).contains(&key.as_str()));
        }
        let description = descriptions
            .get(id)
            .copied()
            .unwrap_or("A file that cannot be read as a workflow (its severity can be changed).");
        rule.insert("description".into(), description.into());
        rules.insert(id.to_string(), rule.to_value());
    }
    schemars::json_schema!({ "type": "object", "properties": rules, "additionalProperties": false })
}

/// Which options each rule accepts, besides `enabled`, `severity`, `exempt`, `exempt_paths`.
pub fn options_of(rule: &str) -> &'static [&'static str] {
    match rule {
        "schedule-frequency" => &["min_interval_minutes"],
        "timeout" => &["max_minutes", "default_minutes"],
        "unpinned-actions" => &["allow"],
        "concurrency" => &["require_cancel_in_progress"],
        _ => &[],
    }
}

impl RuleConfig {
    /// The rule-specific options that are set, by name, with where they were written (for the
    /// manifest check).
    pub fn options_set(&self) -> Vec<(&'static str, Option<std::ops::Range<usize>>)> {
        let mut out = Vec::new();
        if let Some(v) = &self.min_interval_minutes {
            out.push(("min_interval_minutes", Some(v.span())));
        }
        if let Some(v) = &self.max_minutes {
            out.push(("max_minutes", Some(v.span())));
        }
        if let Some(v) = &self.default_minutes {
            out.push(("default_minutes", Some(v.span())));
        }
        if let Some(first) = self.allow.first() {
            out.push(("allow", Some(first.span())));
        }
        if self.require_cancel_in_progress.is_some() {
            out.push(("require_cancel_in_progress", None));
        }
        out
    }
}

/// `[policy.cost]`: the price of Actions minutes, per runner OS, in dollars.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    #[serde(default = "default_linux")]
    pub linux_per_minute: f64,
    #[serde(default = "default_windows")]
    pub windows_per_minute: f64,
    #[serde(default = "default_macos")]
    pub macos_per_minute: f64,
    /// Minutes a scheduled run is assumed to take when the forge has no run history.
    #[serde(default = "default_minutes_per_run")]
    pub assumed_minutes_per_run: f64,
}

// GitHub's published per-minute prices for standard hosted runners (2-core Linux, Windows,
// macOS), as of 2026.
fn default_linux() -> f64 {
    0.008
}
fn default_windows() -> f64 {
    0.016
}
fn default_macos() -> f64 {
    0.08
}
fn default_minutes_per_run() -> f64 {
    1.0
}

impl Default for CostConfig {
    fn default() -> Self {
        CostConfig {
            linux_per_minute: default_linux(),
            windows_per_minute: default_windows(),
            macos_per_minute: default_macos(),
            assumed_minutes_per_run: default_minutes_per_run(),
        }
    }
}
