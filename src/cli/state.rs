//! Where a campaign's journal, claim and rollout state live for this run: beside the manifest
//! (`.convoy/campaigns/<slug>/`, [`LocalStore`]), or with `[state] repo` on a state branch of a
//! control repository ([`StateBranchStore`]), for scheduled CI runs whose disk does not outlive
//! them. Every command that reads or writes them gets its store here, so both places behave
//! alike.

use crate::campaign::Session;
use crate::campaign::rollout::RolloutState;
use crate::forge::RepoId;
use crate::journal::{Campaign, JournalStore, LocalStore, StateBranchStore};
use crate::manifest::{Manifest, StateConfig};

use super::Failure;

/// The rollout state's file name in the campaign's folder.
const ROLLOUT: &str = "rollout.json";

/// The store of `campaign` for `session`'s manifest.
///
/// The state branch is written through a forge of its own, opened from the manifest: the
/// session's forge is wrapped by the journal once the run starts, and the journal's own commits
/// must not be journaled.
pub(super) fn store(session: &Session, branch: &str) -> Result<Box<dyn JournalStore>, Failure> {
    store_of(&session.manifest, branch)
}

/// [`store`], from the manifest alone.
pub(super) fn store_of(manifest: &Manifest, branch: &str) -> Result<Box<dyn JournalStore>, Failure> {
    let campaign = Campaign::new(branch).map_err(|e| Failure::usage(e.to_string()))?;
    let state = &manifest.model.state;
    let Some(repo) = &state.repo else {
        return Ok(Box::new(LocalStore::new(&manifest.dir, &campaign)));
    };
    let (owner, name) = repo.get_ref().split_once('/').unwrap_or_default();
    let forge = crate::campaign::open_forge(manifest).map_err(|e| Failure::run(e.to_string()))?;
    let state_branch = state.branch.as_ref().map_or(StateConfig::DEFAULT_BRANCH, |b| b.get_ref().as_str());
    Ok(Box::new(StateBranchStore::new(
        forge,
        RepoId::new(owner, name),
        state_branch,
        manifest.model.org.default_branch.clone(),
        &campaign,
    )))
}

/// The campaign's rollout state, or a fresh one; a stored state convoy cannot read is an error
/// naming where it is (never a fresh state, which would re-apply waves).
pub(super) async fn load_rollout(store: &mut dyn JournalStore, branch: &str) -> Result<RolloutState, Failure> {
    let origin = format!("{} ({ROLLOUT})", store.location());
    match store.read_doc(ROLLOUT).await.map_err(|e| Failure::run(e.to_string()))? {
        Some(bytes) => RolloutState::from_slice(&bytes, &origin).map_err(Failure::run),
        None => Ok(RolloutState::fresh(branch)),
    }
}

pub(super) async fn save_rollout(store: &mut dyn JournalStore, state: &RolloutState) -> Result<(), Failure> {
    store.write_doc(ROLLOUT, &state.to_vec()).await.map_err(|e| Failure::run(e.to_string()))
}
