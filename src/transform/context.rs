//! The template context, documented in README ("Template context"):
//!
//! ```text
//! org.name
//! repo.name  repo.owner  repo.full_name  repo.default_branch
//! repo.topics  repo.tags  repo.ecosystems  repo.node_package_manager  repo.private
//! vars.*        global [vars] < entry vars < [[repo]] vars
//! ```

use std::collections::BTreeMap;

use minijinja::Value;

use crate::manifest::Manifest;
use crate::targets::Target;
use crate::workspace::Snapshot;

/// Marker files at the repository root and the ecosystem each one reveals.
const ECOSYSTEM_MARKERS: &[(&str, &str)] = &[
    ("Cargo.toml", "rust"),
    ("package.json", "node"),
    ("pyproject.toml", "python"),
    ("setup.py", "python"),
    ("requirements.txt", "python"),
    ("go.mod", "go"),
];

pub fn ecosystems(snapshot: &Snapshot) -> Vec<&'static str> {
    let mut found: Vec<&'static str> =
        ECOSYSTEM_MARKERS.iter().filter(|(file, _)| snapshot.kind(file).is_some()).map(|(_, eco)| *eco).collect();
    found.dedup();
    found
}

fn node_package_manager(snapshot: &Snapshot) -> Option<&'static str> {
    [("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("package-lock.json", "npm")]
        .into_iter()
        .find(|(lock, _)| snapshot.kind(lock).is_some())
        .map(|(_, pm)| pm)
        .or_else(|| snapshot.kind("package.json").map(|_| "npm"))
}

/// Build the context for one render. `entry_vars` are the `[[template]]`/`[[file]]` entry's own.
pub fn template_context(
    manifest: &Manifest,
    target: &Target,
    snapshot: &Snapshot,
    entry_vars: &BTreeMap<String, toml::Value>,
) -> Value {
    let mut vars: BTreeMap<String, toml::Value> = manifest.model.vars.clone();
    vars.extend(entry_vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    vars.extend(target.vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    let repo = &target.repo;
    minijinja::context! {
        org => minijinja::context! { name => manifest.model.org.name.clone() },
        repo => minijinja::context! {
            name => repo.id.name.clone(),
            owner => repo.id.owner.clone(),
            full_name => repo.id.full_name(),
            default_branch => repo.default_branch.clone(),
            topics => repo.topics.clone(),
            tags => target.tags.iter().cloned().collect::<Vec<_>>(),
            ecosystems => ecosystems(snapshot),
            node_package_manager => node_package_manager(snapshot),
            private => repo.private,
        },
        vars => Value::from(minijinja::value::Serde(&vars)),
    }
}
