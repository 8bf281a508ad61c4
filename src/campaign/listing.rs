//! The org's repository listing, and the copy of it kept beside the clone cache so that
//! `--offline` commands (`plan`, `audit`, `cost`, `deps`, `grep`, `release graph|plan`,
//! `validate`) need no network at all on a forge that is reached over one (GitHub).
//!
//! The copy is `<cache_dir>/.listing.json`: `{"forge": "github https://api.github.com",
//! "owner": "acme", "saved_at": "2026-11-30T11:00:00Z", "repos": [RemoteRepo, ...]}`. Every
//! run that lists the org online rewrites it (atomically, readable by its owner only).
//! It holds what the listing endpoint returned (names, default branches, topics, flags and
//! clone URLs without credentials), never a token.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SetupError;
use crate::forge::{Forge, RemoteRepo};
use crate::manifest::{ForgeKind, Manifest};

const FILE: &str = ".listing.json";

#[derive(Serialize, Deserialize)]
struct Saved {
    forge: String,
    owner: String,
    saved_at: String,
    repos: Vec<RemoteRepo>,
}

/// The forge a listing came from, as the saved copy records it: the kind and, for GitHub, the
/// API URL (a copy from github.com is never used for a GitHub Enterprise Server manifest).
fn forge_key(manifest: &Manifest) -> String {
    let config = manifest.forge();
    match config.kind.get_ref() {
        ForgeKind::Local => "local".to_string(),
        ForgeKind::Github => {
            let api = config.api_url.as_ref().map_or("https://api.github.com", |u| u.get_ref().as_str());
            format!("github {}", api.trim_end_matches('/'))
        }
    }
}

fn path(manifest: &Manifest) -> PathBuf {
    manifest.cache_dir().join(FILE)
}

/// Is this a GitHub manifest with no credentials (no `GITHUB_TOKEN`/`GH_TOKEN`, no GitHub App)?
/// Its listing is anonymous: GitHub leaves private repositories out of it.
pub fn anonymous(manifest: &Manifest) -> bool {
    needs_network(manifest)
        && crate::forge::github::auth::StaticToken::from_env().is_none()
        && manifest.forge().app_id.is_none()
}

/// After an anonymous listing, a selector that matches nothing may name a private repository
/// the listing could not show: each such problem's help says so (checked by message, the one
/// wording `targets::select_all` gives it).
pub fn explain_anonymous(manifest: &Manifest, problems: &mut [crate::diagnostic::Diagnostic]) {
    if !anonymous(manifest) {
        return;
    }
    for p in problems.iter_mut().filter(|p| p.message.contains(" matches none of the ")) {
        let help = p.help.take().unwrap_or_default();
        p.help = Some(format!(
            "the org was listed without credentials, so its private repositories are not in the listing: export GITHUB_TOKEN (or GH_TOKEN) and run again; {help}"
        ));
    }
}

/// Does this manifest's forge need the network to list the org? The local forge is a folder
/// on this machine: it is always read directly, `--offline` or not.
pub fn needs_network(manifest: &Manifest) -> bool {
    *manifest.forge().kind.get_ref() == ForgeKind::Github
}

/// The repositories of the manifest's org.
///
/// Online (`offline == false`, or a local forge): asks `forge` and saves the answer beside the
/// clone cache (a copy that cannot be written is a warning, not a failure).
/// Offline on GitHub: reads the saved copy, without a request.
///
/// # Errors
/// [`SetupError::Listing`] when the forge cannot list the org; [`SetupError::Environment`]
/// when offline and no usable copy was saved (none yet, unreadable, or from another forge or
/// owner), with what to run to make one.
pub async fn list_org(manifest: &Manifest, forge: &dyn Forge, offline: bool) -> Result<Vec<RemoteRepo>, SetupError> {
    let owner = &manifest.model.org.name;
    if offline && needs_network(manifest) {
        return load(manifest).map(|(repos, _)| repos);
    }
    let repos = forge.list_repos(owner).await.map_err(|source| SetupError::Listing {
        owner: owner.clone(),
        kind: forge.kind(),
        source,
    })?;
    // An anonymous listing lacks the private repositories: an offline run must not take it
    // for the org.
    if needs_network(manifest)
        && !anonymous(manifest)
        && let Err(e) = save(manifest, &repos)
    {
        tracing::warn!("cannot save the org's listing for --offline runs: {e}");
    }
    Ok(repos)
}

/// The saved listing and when it was saved (RFC 3339).
pub fn load(manifest: &Manifest) -> Result<(Vec<RemoteRepo>, String), SetupError> {
    let file = path(manifest);
    let owner = &manifest.model.org.name;
    let help =
        "help: run `convoy fetch` (or the command without --offline) once with GitHub reachable; it saves the listing";
    let text = match std::fs::read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SetupError::Environment(format!(
                "--offline: no saved listing of `{owner}`'s repositories ({} does not exist)\n  {help}",
                file.display()
            )));
        }
        Err(e) => {
            return Err(SetupError::Environment(format!("--offline: cannot read {}: {e}\n  {help}", file.display())));
        }
    };
    let saved: Saved = serde_json::from_slice(&text).map_err(|e| {
        SetupError::Environment(format!("--offline: {} is not a saved listing: {e}\n  {help}", file.display()))
    })?;
    let key = forge_key(manifest);
    if saved.forge != key || &saved.owner != owner {
        return Err(SetupError::Environment(format!(
            "--offline: {} lists `{}` on {}, not `{owner}` on {key}\n  {help}",
            file.display(),
            saved.owner,
            saved.forge
        )));
    }
    Ok((saved.repos, saved.saved_at))
}

fn save(manifest: &Manifest, repos: &[RemoteRepo]) -> std::io::Result<()> {
    std::fs::create_dir_all(manifest.cache_dir())?;
    let saved = Saved {
        forge: forge_key(manifest),
        owner: manifest.model.org.name.clone(),
        saved_at: crate::clock::now_rfc3339(),
        repos: repos.to_vec(),
    };
    // Owner-only, like the ETag cache: it names private repositories.
    crate::workspace::write::write_atomically_private(
        &path(manifest),
        &serde_json::to_vec(&saved).map_err(std::io::Error::other)?,
    )
}
