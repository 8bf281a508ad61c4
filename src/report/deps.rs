//! The JSON views of `deps skew` and `deps actions` (`deps align` prints the plan or apply
//! envelope). Shapes: `docs/schemas/deps-skew.schema.json`, `docs/schemas/deps-actions.schema.json`.

use super::{Envelope, ErrorItem};
use crate::deps::actions::ActionsReport;
use crate::deps::skew::SkewReport;

/// `deps skew`: `results` the crates used by two or more repositories; `tool`, `discovery` and
/// `repos` (those with a `Cargo.toml`) beside them. An unreadable manifest is an error with
/// `repo` and `file`.
pub fn skew_json(report: &SkewReport) -> Envelope {
    let mut env = Envelope::new("deps skew")
        .counts(&report.summary)
        .results(&report.crates)
        .with("tool", &report.tool)
        .with("discovery", &report.discovery)
        .with("repos", &report.repos);
    env.errors = report
        .errors
        .iter()
        .map(|e| ErrorItem { file: e.manifest.clone(), ..ErrorItem::repo(&e.repo, &e.message) })
        .collect();
    env
}

/// `deps actions`: `results` every `uses:` with its position; `actions` the same uses grouped
/// by action and ref. `errors` are `(repo, message)` of repositories not read.
pub fn actions_json(report: &ActionsReport, errors: &[(String, String)]) -> Envelope {
    let repos: std::collections::BTreeSet<&str> = report.uses.iter().map(|u| u.repo.as_str()).collect();
    let mut env = Envelope::new("deps actions")
        .count("repos", repos.len())
        .count("uses", report.uses.len())
        .count("actions", report.actions.len())
        .count("errors", errors.len())
        .results(&report.uses)
        .with("actions", &report.actions);
    env.errors = errors.iter().map(|(repo, m)| ErrorItem::repo(repo, m)).collect();
    env
}
