use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;
use serde::Serialize;

use super::Snapshot;
use crate::forge::{RemoteRepo, RepoId};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot fetch {repo} from {url}: {reason}")]
    Fetch { repo: RepoId, url: String, reason: String },
    #[error("{repo} is not in the cache yet\n  help: run `convoy fetch` first, or drop --offline")]
    Missing { repo: RepoId },
    #[error("cache of {repo} at {path}: {reason}")]
    Broken { repo: RepoId, path: String, reason: String },
    #[error("{repo} has no branch `{branch}`, which the forge names as its default branch{}", others_hint(.others))]
    NoBranch { repo: RepoId, branch: String, others: Vec<String> },
    /// The remote has no commit at all: a repository created and never pushed to.
    #[error("{repo} has no commits yet (an empty repository): nothing to plan until its first push")]
    Empty { repo: RepoId },
    #[error("refusing {what} from the forge: {reason}")]
    InvalidName { what: String, reason: String },
}

fn others_hint(others: &[String]) -> String {
    match others {
        [] => String::new(),
        _ => {
            format!(" (its branches: {})\n  help: set the repository's default branch on the forge", others.join(", "))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchStatus {
    Cloned,
    Updated,
    UpToDate,
}

impl FetchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FetchStatus::Cloned => "cloned",
            FetchStatus::Updated => "updated",
            FetchStatus::UpToDate => "up to date",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FetchOutcome {
    pub status: FetchStatus,
    /// The default branch's commit now in the cache.
    pub head: String,
    /// Leftovers of a killed run that were removed first (stale `.lock` files, temporary
    /// clones), as paths.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<String>,
}

/// How much history the cache keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// New clones get one commit; existing entries keep whatever depth they have (a full clone
    /// stays full, a shallow one fetches only what is new).
    #[default]
    Keep,
    /// Exactly this many commits of history, re-cutting existing entries.
    Commits(NonZeroU32),
    /// Full history (unshallows existing entries).
    Full,
}

/// The persistent clone cache.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    depth: Depth,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>, depth: Depth) -> Self {
        Cache { dir: dir.into(), depth }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn repo_dir(&self, id: &RepoId) -> PathBuf {
        self.dir.join(&id.owner).join(format!("{}.git", id.name))
    }

    fn tracking_ref(branch: &str) -> String {
        format!("refs/remotes/origin/{branch}")
    }

    /// Clone `remote` into the cache, or fetch its default branch if it is there already.
    ///
    /// A first clone goes to a temporary folder renamed into place on success, so an interrupted
    /// clone never leaves a broken cache entry. An existing entry that cannot be opened or
    /// fetched into is re-cloned beside it and swapped only when that succeeds.
    ///
    /// The entry is worked on under an exclusive lock (`.locks/<owner>/<name>.lock`, an OS
    /// file lock that ends with the process): a second convoy waits, and whatever lock files or
    /// temporary clones are found while the lock is held were left by a killed run, so they are
    /// removed first and listed in [`FetchOutcome::recovered`].
    pub fn fetch(&self, remote: &RemoteRepo, credentials: Option<&GitCredentials>) -> Result<FetchOutcome, CacheError> {
        install_tls_provider();
        check_remote(remote)?;
        let dest = self.repo_dir(&remote.id);
        let _lock = self.lock_entry(&remote.id, &dest)?;
        let recovered = recover_leftovers(&dest, &remote.id.name);
        for path in &recovered {
            tracing::warn!(repo = %remote.id, path = %path, "removed a leftover of an interrupted run");
        }
        self.fetch_locked(remote, &dest, credentials).map(|outcome| FetchOutcome { recovered, ..outcome })
    }

    /// Take the entry's lock, waiting for another convoy process that holds it.
    fn lock_entry(&self, id: &RepoId, dest: &Path) -> Result<std::fs::File, CacheError> {
        let broken = |reason: String| CacheError::Broken { repo: id.clone(), path: dest.display().to_string(), reason };
        // Beside the owners' folders, not in them: owners never start with `.`.
        let parent = self.dir.join(".locks").join(&id.owner);
        std::fs::create_dir_all(&parent).map_err(|e| broken(format!("creating {}: {e}", parent.display())))?;
        let path = parent.join(format!("{}.lock", id.name));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| broken(format!("opening lock {}: {e}", path.display())))?;
        file.lock().map_err(|e| broken(format!("locking {}: {e}", path.display())))?;
        Ok(file)
    }

    fn fetch_locked(
        &self,
        remote: &RemoteRepo,
        dest: &Path,
        credentials: Option<&GitCredentials>,
    ) -> Result<FetchOutcome, CacheError> {
        let dest = dest.to_path_buf();
        if dest.exists() {
            if let Some(outcome) = self.already_current(remote, &dest) {
                return Ok(outcome);
            }
            match self.update(remote, &dest, credentials) {
                Ok(outcome) => return Ok(outcome),
                // What the remote has (or lacks) is not fixed by cloning it again.
                Err(e @ (CacheError::Empty { .. } | CacheError::NoBranch { .. })) => return Err(e),
                Err(first) => {
                    tracing::warn!(repo = %remote.id, error = %first, "cache entry unusable, re-cloning");
                    let fresh = self.clone_fresh(remote, &dest, credentials)?;
                    return Ok(FetchOutcome { status: FetchStatus::Cloned, ..fresh });
                }
            }
        }
        self.clone_fresh(remote, &dest, credentials)
    }

    fn clone_fresh(
        &self,
        remote: &RemoteRepo,
        dest: &Path,
        credentials: Option<&GitCredentials>,
    ) -> Result<FetchOutcome, CacheError> {
        let parent = dest.parent().unwrap_or(&self.dir);
        let broken =
            |reason: String| CacheError::Broken { repo: remote.id.clone(), path: dest.display().to_string(), reason };
        std::fs::create_dir_all(parent).map_err(|e| broken(e.to_string()))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.clone-", remote.id.name))
            .tempdir_in(parent)
            .map_err(|e| broken(e.to_string()))?;
        let repo = gix::init_bare(tmp.path()).map_err(|e| broken(e.to_string()))?;
        let head = self.fetch_into(&repo, remote, true, credentials)?;
        drop(repo);
        let staged = tmp.keep();
        if dest.exists() {
            // Swap: move the old entry aside first so a failure between the two renames leaves
            // the new clone under the staged name rather than nothing.
            let old = parent.join(format!(".{}.old-{}", remote.id.name, std::process::id()));
            std::fs::rename(dest, &old).map_err(|e| broken(e.to_string()))?;
            std::fs::rename(&staged, dest).map_err(|e| broken(e.to_string()))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&staged, dest).map_err(|e| broken(e.to_string()))?;
        }
        Ok(FetchOutcome { status: FetchStatus::Cloned, head, recovered: Vec::new() })
    }

    /// When the forge reported the default branch's head and the cache already has exactly that
    /// commit, there is nothing to fetch: skip the transport (a warm run over hundreds of
    /// repositories then costs one listing, not hundreds of git handshakes). Explicit depth
    /// changes still go to the network.
    fn already_current(&self, remote: &RemoteRepo, dest: &Path) -> Option<FetchOutcome> {
        let head = remote.head.as_deref()?;
        if self.depth != Depth::Keep {
            return None;
        }
        let repo = gix::open(dest).ok()?;
        let cached = resolve(&repo, &Self::tracking_ref(&remote.default_branch))?;
        let id = gix::ObjectId::from_hex(cached.as_bytes()).ok()?;
        // The ref alone is not enough: a damaged cache may name a commit it no longer has.
        (cached == head && repo.find_commit(id).is_ok()).then_some(FetchOutcome {
            status: FetchStatus::UpToDate,
            head: cached,
            recovered: Vec::new(),
        })
    }

    fn update(
        &self,
        remote: &RemoteRepo,
        dest: &Path,
        credentials: Option<&GitCredentials>,
    ) -> Result<FetchOutcome, CacheError> {
        let repo = gix::open(dest).map_err(|e| CacheError::Broken {
            repo: remote.id.clone(),
            path: dest.display().to_string(),
            reason: e.to_string(),
        })?;
        let before = resolve(&repo, &Self::tracking_ref(&remote.default_branch));
        let head = self.fetch_into(&repo, remote, false, credentials)?;
        let status =
            if before.as_deref() == Some(head.as_str()) { FetchStatus::UpToDate } else { FetchStatus::Updated };
        Ok(FetchOutcome { status, head, recovered: Vec::new() })
    }

    /// Fetch the default branch of `remote` into `repo`; returns the fetched commit.
    fn fetch_into(
        &self,
        repo: &gix::Repository,
        remote: &RemoteRepo,
        new_clone: bool,
        credentials: Option<&GitCredentials>,
    ) -> Result<String, CacheError> {
        use gix::remote::Direction;
        let err = |reason: String| CacheError::Fetch { repo: remote.id.clone(), url: remote.clone_url.clone(), reason };
        let branch = &remote.default_branch;
        let tracking = Self::tracking_ref(branch);
        let spec = format!("+refs/heads/{branch}:{tracking}");
        use gix::remote::fetch::Shallow;
        let shallow = match self.depth {
            Depth::Keep if new_clone => Shallow::DepthAtRemote(NonZeroU32::MIN),
            Depth::Keep => Shallow::NoChange,
            Depth::Commits(n) => Shallow::DepthAtRemote(n),
            Depth::Full if repo.is_shallow().unwrap_or(true) => Shallow::undo(),
            Depth::Full => Shallow::NoChange,
        };
        let interrupt = AtomicBool::new(false);
        let prepared = repo
            .remote_at(remote.clone_url.as_str())
            .and_then(|r| r.with_refspecs([spec.as_str()], Direction::Fetch))
            .map_err(|e| err(e.to_string()))?
            .with_fetch_tags(gix::remote::fetch::Tags::None)
            .connect(Direction::Fetch)
            .map_err(|e| err(chain(&e)))?
            .with_credentials(credential_helper(credentials.filter(|_| may_send_credentials(&remote.clone_url))))
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| err(chain(&e)))?;
        // Before asking for a pack, read what the remote advertised: an empty repository or a
        // default branch that does not exist is said in plain words, not as a refspec error.
        let wanted = format!("refs/heads/{branch}");
        let ref_map = prepared.ref_map();
        let advertised = ref_map.mappings.iter().any(|m| m.remote.as_name().is_some_and(|n| n == wanted.as_str()));
        if !advertised {
            drop(prepared);
            return Err(self.missing_branch(repo, remote, credentials));
        }
        prepared.with_shallow(shallow).receive(gix::progress::Discard, &interrupt).map_err(|e| {
            // `git upload-pack` names the object it could not read on its stderr, which gix
            // discards for `file://` remotes: look for it ourselves, on this failure path only.
            match missing_object_in_local_remote(&remote.clone_url, branch) {
                Some(missing) => err(format!("the remote repository is missing {missing} ({})", chain(&e))),
                None => err(chain(&e)),
            }
        })?;
        resolve(repo, &tracking).ok_or_else(|| err(format!("{tracking} missing after fetch")))
    }

    /// Why the remote advertised no default branch: it has no commit at all (an empty
    /// repository), or its default branch does not exist (with the branches it has). The fetch
    /// asked only for the default branch, so this lists every ref once, on this failure path only.
    fn missing_branch(
        &self,
        repo: &gix::Repository,
        remote: &RemoteRepo,
        credentials: Option<&GitCredentials>,
    ) -> CacheError {
        use gix::remote::Direction;
        let branch = remote.default_branch.clone();
        let no_branch = |others| CacheError::NoBranch { repo: remote.id.clone(), branch: branch.clone(), others };
        let options =
            gix::remote::ref_map::Options { prefix_from_spec_as_filter_on_remote: false, ..Default::default() };
        let listed = repo
            .remote_at(remote.clone_url.as_str())
            .and_then(|r| r.with_refspecs(["+refs/heads/*:refs/remotes/origin/*"], Direction::Fetch))
            .map_err(|e| e.to_string())
            .and_then(|r| {
                r.with_fetch_tags(gix::remote::fetch::Tags::None)
                    .connect(Direction::Fetch)
                    .map_err(|e| chain(&e))?
                    .with_credentials(credential_helper(
                        credentials.filter(|_| may_send_credentials(&remote.clone_url)),
                    ))
                    .ref_map(gix::progress::Discard, options)
                    .map_err(|e| chain(&e))
            });
        let Ok((ref_map, _)) = listed else { return no_branch(Vec::new()) };
        let mut heads = Vec::new();
        let mut any_commit = false;
        for r in &ref_map.remote_refs {
            let (name, target, _) = r.unpack();
            if target.is_some_and(|t| !t.is_null()) {
                any_commit = true;
                if let Some(head) = name.to_str().ok().and_then(|n| n.strip_prefix("refs/heads/")) {
                    heads.push(head.to_string());
                }
            }
        }
        if any_commit { no_branch(heads) } else { CacheError::Empty { repo: remote.id.clone() } }
    }

    /// Open the cached snapshot of `remote`'s default branch.
    pub fn snapshot(&self, remote: &RemoteRepo) -> Result<Snapshot, CacheError> {
        check_remote(remote)?;
        let dest = self.repo_dir(&remote.id);
        if !dest.exists() {
            return Err(CacheError::Missing { repo: remote.id.clone() });
        }
        let broken =
            |reason: String| CacheError::Broken { repo: remote.id.clone(), path: dest.display().to_string(), reason };
        let repo = gix::open(&dest).map_err(|e| broken(e.to_string()))?;
        let tracking = Self::tracking_ref(&remote.default_branch);
        let head =
            resolve(&repo, &tracking).ok_or_else(|| broken(format!("{tracking} is missing; run `convoy fetch`")))?;
        Snapshot::load(repo.with_object_memory(), &head).map_err(broken)
    }
}

/// A forge's names become folders and refs here: refuse what is not a valid owner, repository
/// or branch name before any path is built (the selection already left such repositories
/// out; this keeps the cache safe for every other caller).
fn check_remote(remote: &RemoteRepo) -> Result<(), CacheError> {
    crate::targets::valid_repo_id(&remote.id)
        .map_err(|reason| CacheError::InvalidName { what: format!("repository `{}`", remote.id), reason })?;
    crate::manifest::valid_branch_name(&remote.default_branch).map_err(|reason| CacheError::InvalidName {
        what: format!("the default branch `{}` of {}", remote.default_branch.escape_debug(), remote.id),
        reason,
    })
}

/// Remove what a killed run left in one cache entry; call only while holding the entry's lock,
/// which makes every lock file found stale (the cache is written by convoy alone). Returns
/// the removed paths. Removed: `*.lock` files anywhere in the bare repository except loose
/// object folders (`refs/heads/x.lock`, `packed-refs.lock`, `index.lock`, `shallow.lock`,
/// `config.lock`, `HEAD.lock`...), and the temporary clones `.<name>.clone-*` and swapped-out
/// entries `.<name>.old-*` beside it.
fn recover_leftovers(dest: &Path, name: &str) -> Vec<String> {
    let mut removed = Vec::new();
    let mut folders = vec![dest.to_path_buf()];
    while let Some(dir) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            if kind.is_dir() {
                let loose = dir.file_name().is_some_and(|d| d == "objects")
                    && file_name.len() == 2
                    && file_name.bytes().all(|b| b.is_ascii_hexdigit());
                if !loose {
                    folders.push(path);
                }
            } else if file_name.ends_with(".lock") && std::fs::remove_file(&path).is_ok() {
                removed.push(path.display().to_string());
            }
        }
    }
    if let Some(parent) = dest.parent()
        && let Ok(entries) = std::fs::read_dir(parent)
    {
        let (clone, old) = (format!(".{name}.clone-"), format!(".{name}.old-"));
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let leftover =
                (file_name.starts_with(&clone) || file_name.starts_with(&old)) && !file_name.ends_with(".git");
            if leftover && entry.file_type().is_ok_and(|k| k.is_dir()) && std::fs::remove_dir_all(entry.path()).is_ok()
            {
                removed.push(entry.path().display().to_string());
            }
        }
    }
    removed.sort();
    removed
}

/// Username and secret for git over HTTPS (e.g. `x-access-token` and a GitHub token).
pub type GitCredentials = (String, secrecy::SecretString);

/// Credentials go only over TLS, or to this machine: gix's refusal of clear-text credentials is
/// compiled out (the `http-client-insecure-credentials` feature, so tests can serve git over
/// loopback HTTP), and this check puts the refusal back for every other host.
pub fn may_send_credentials(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']').next().map(|h| &h[1..]).unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or(host)
    };
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Answer gix's credential requests from memory: the token is handed to the transport for this
/// fetch only, never written to the cache's config, and git's own helpers are not consulted.
fn credential_helper(
    credentials: Option<&GitCredentials>,
) -> impl FnMut(gix::credentials::helper::Action) -> gix::error::Result<Option<gix::credentials::protocol::Outcome>> + use<>
{
    use secrecy::ExposeSecret;
    let account = credentials
        .map(|(user, secret)| (user.clone(), secrecy::SecretString::from(secret.expose_secret().to_string())));
    move |action| match (action, &account) {
        (gix::credentials::helper::Action::Get(ctx), Some((user, secret))) => {
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: user.clone(),
                    password: secret.expose_secret().to_string(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            }))
        }
        _ => Ok(None),
    }
}

/// For a remote on this machine (`file://`), the first object the tip of `branch` needs and the
/// repository lacks (`blob <id> (<path>)`, `tree <id> (<path>)` or `commit <id>`): a corrupt
/// remote. Only the tip's commit and tree are checked (what a depth-1 fetch sends); `None` for
/// other remotes or when nothing is missing there.
fn missing_object_in_local_remote(url: &str, branch: &str) -> Option<String> {
    let path = url.strip_prefix("file://")?;
    let repo = gix::open(path).ok()?;
    let name = format!("refs/heads/{branch}");
    let tip = repo.try_find_reference(name.as_str()).ok()??.target().try_id()?.to_owned();
    let Ok(commit) = repo.find_commit(tip) else { return Some(format!("commit {tip} (the tip of {branch})")) };
    let tree = commit.tree_id().ok()?.detach();
    missing_in_tree(&repo, tree, "")
}

fn missing_in_tree(repo: &gix::Repository, id: gix::ObjectId, dir: &str) -> Option<String> {
    let shown = if dir.is_empty() { "the root folder" } else { dir };
    let Ok(tree) = repo.find_tree(id) else { return Some(format!("tree {id} ({shown})")) };
    for entry in tree.iter() {
        let Ok(entry) = entry else { return Some(format!("tree {id} ({shown}, unreadable)")) };
        let path = if dir.is_empty() { entry.filename().to_string() } else { format!("{dir}/{}", entry.filename()) };
        let oid = entry.oid().to_owned();
        if entry.mode().is_tree() {
            if let Some(missing) = missing_in_tree(repo, oid, &path) {
                return Some(missing);
            }
        } else if !entry.mode().is_commit() && !repo.has_object(oid) {
            return Some(format!("blob {oid} ({path})"));
        }
    }
    None
}

fn resolve(repo: &gix::Repository, name: &str) -> Option<String> {
    repo.try_find_reference(name).ok().flatten().and_then(|mut r| r.peel_to_id().ok()).map(|id| id.to_string())
}

/// The error and its causes on one line: gix errors are layered and the root cause is the useful part.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// gix spawns `git-upload-pack` for `file://` URLs: check for git before any clone starts, so
/// the user gets one clear message instead of one error per repository.
pub fn require_git_for(urls: &[&str]) -> Result<(), String> {
    if !urls.iter().any(|u| u.starts_with("file://") || u.starts_with('/')) {
        return Ok(());
    }
    match std::process::Command::new("git").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("the `git` program is needed to clone from the local forge (gix runs `git upload-pack` for file:// URLs), and it was not found on PATH\n  help: install git (e.g. `apt-get install git`), or serve the forge with `git daemon` and set `clone_url` under [org.forge]".into()),
    }
}

/// Make ring rustls's process-wide crypto provider, once, before gix's HTTPS client (reqwest
/// with `rustls-no-provider`) builds a TLS configuration: ring is the one backend in the build
/// (octocrab's too), so there is no choice to make, only this to say it.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err: a provider is installed already (the same one, or the embedding program's).
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_a_killed_run_are_removed() {
        let cache = tempfile::tempdir().unwrap();
        let dest = cache.path().join("acme/api.git");
        std::fs::create_dir_all(dest.join("refs/heads")).unwrap();
        std::fs::create_dir_all(dest.join("objects/ab")).unwrap();
        for f in ["refs/heads/x.lock", "packed-refs.lock", "index.lock", "HEAD", "objects/ab/cd.lock"] {
            std::fs::write(dest.join(f), "").unwrap();
        }
        std::fs::create_dir_all(cache.path().join("acme/.api.clone-Ab12Cd/refs")).unwrap();
        std::fs::create_dir_all(cache.path().join("acme/.api.old-123")).unwrap();
        std::fs::create_dir_all(cache.path().join("acme/.apix.clone-Ab12Cd")).unwrap();
        let removed = recover_leftovers(&dest, "api");
        let shown: Vec<String> =
            removed.iter().map(|p| p.strip_prefix(&cache.path().display().to_string()).unwrap().to_string()).collect();
        assert_eq!(
            shown,
            [
                "/acme/.api.clone-Ab12Cd",
                "/acme/.api.old-123",
                "/acme/api.git/index.lock",
                "/acme/api.git/packed-refs.lock",
                "/acme/api.git/refs/heads/x.lock"
            ]
        );
        assert!(dest.join("HEAD").exists());
        assert!(cache.path().join("acme/.apix.clone-Ab12Cd").exists(), "another repository's clone is not ours");
        assert!(recover_leftovers(&dest, "api").is_empty());
    }

    #[test]
    fn credentials_only_over_tls_or_loopback() {
        assert!(may_send_credentials("https://github.com/acme/api.git"));
        assert!(may_send_credentials("http://127.0.0.1:8080/acme/api.git"));
        assert!(may_send_credentials("http://localhost/acme/api.git"));
        assert!(may_send_credentials("http://[::1]:9/a.git"));
        assert!(!may_send_credentials("http://ghe.internal/acme/api.git"));
        assert!(!may_send_credentials("http://10.0.0.1/acme/api.git"));
        assert!(!may_send_credentials("http://127.0.0.1.evil.example/a.git"));
        assert!(!may_send_credentials("git://127.0.0.1/acme/api.git"));
    }
}
