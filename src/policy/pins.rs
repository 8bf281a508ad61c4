//! Resolving the action tags `audit --fix` pins to commits. The fixer itself is pure and
//! synchronous; the forge is asked up front, once per action repository, for the tags the
//! selected repositories' findings name.

use std::collections::{BTreeMap, BTreeSet};

use super::audit::Policy;
use super::fix::wanted_pins;
use super::run::{repo_exempt, rule_exempt};
use crate::forge::{Forge, RepoId};
use crate::workflow::uses::PinMap;
use crate::workspace::OrgInput;

/// Every `(action repository, ref)` the `unpinned-actions` findings of the run's targets
/// would pin (repositories that cannot be read are skipped here; planning reports them).
pub fn wanted(org: &OrgInput<'_>, policy: &Policy) -> BTreeSet<(String, String)> {
    let per_repo = crate::parallel::map(org.targets(), org.jobs, |t| {
        if repo_exempt(org.manifest, org.selection, t) {
            return BTreeSet::new();
        }
        let Ok(files) = crate::workflow::files::of_target(org, t) else { return BTreeSet::new() };
        wanted_pins(policy, &t.repo.id.full_name(), &files, &|rule| rule_exempt(org.manifest, org.selection, t, rule))
    });
    per_repo.into_iter().flatten().flatten().collect()
}

/// Resolve `wanted` through `forge` (read-only): a tag (peeled to its commit) first, then a
/// branch of that name. What cannot be resolved is left out, and its fix is reported as skipped.
pub async fn resolve(forge: &dyn Forge, wanted: &BTreeSet<(String, String)>) -> PinMap {
    let mut by_repo: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (repo, reference) in wanted {
        by_repo.entry(repo.as_str()).or_default().push(reference.as_str());
    }
    let mut pins = PinMap::new();
    for (repo, refs) in by_repo {
        let Some((owner, name)) = repo.split_once('/') else { continue };
        let id = RepoId::new(owner, name);
        let tags = match forge.list_tags(&id).await {
            Ok(tags) => tags,
            Err(e) => {
                tracing::warn!(%repo, "cannot list the tags of the action: {e}");
                continue;
            }
        };
        for reference in refs {
            let sha = match tags.iter().find(|t| t.name == reference) {
                Some(t) => Some(t.sha.clone()),
                None => forge.branch_head(&id, reference).await.ok().flatten(),
            };
            if let Some(sha) = sha {
                pins.insert((repo.to_string(), reference.to_string()), sha);
            }
        }
    }
    pins
}
