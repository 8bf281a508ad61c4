//! Server state: the bare repositories on disk and everything GitHub keeps beside git, in memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use time::OffsetDateTime;

use crate::faults::Faults;
use crate::http::Base;
use crate::rate_limit::RateLimiter;
use crate::{LoggedRequest, RepoOptions, RequestLog, ServerConfig, TokenKind};

/// Everything the connection tasks and the [`crate::TestServer`] handle share.
pub(crate) struct Shared {
    pub config: ServerConfig,
    /// `GIT_PROJECT_ROOT`: `<root>/<owner>/<name>.git`.
    pub root: PathBuf,
    _tmp: tempfile::TempDir,
    pub addr: SocketAddr,
    state: Mutex<State>,
    pub faults: Faults,
    pub rate: Arc<RateLimiter>,
    log: Mutex<Vec<LoggedRequest>>,
    request_seq: AtomicU64,
}

/// In-memory state; one lock for all of it (and for the git writes that go with it).
#[derive(Default)]
pub(crate) struct State {
    /// Keyed by lower-cased `(owner, name)`: GitHub's names are case-insensitive.
    pub repos: BTreeMap<(String, String), Repo>,
    /// Owners that exist although they may have no repository (app installation accounts).
    pub owners: HashSet<String>,
    next_repo_id: u64,
    next_id: u64,
    pub tokens: HashMap<String, Token>,
    pub apps: HashMap<u64, AppRec>,
    pub installations: BTreeMap<u64, InstallationRec>,
}

pub(crate) struct Repo {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub opts: RepoOptions,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub pushed_at: OffsetDateTime,
    pub git: gix::ThreadSafeRepository,
    /// Pull requests by number - 1 (this server has no plain issues, so numbers are dense).
    pub pulls: Vec<Pull>,
    /// Labels by lower-cased name.
    pub labels: BTreeMap<String, LabelRec>,
    pub statuses: Vec<StatusRec>,
    pub check_runs: Vec<CheckRunRec>,
    pub releases: Vec<ReleaseRec>,
    pub comments: Vec<CommentRec>,
    pub workflow_runs: Vec<Value>,
    /// Commits GitHub would report as verified (made by apps, or merges signed by GitHub).
    pub verified: HashSet<String>,
}

impl Repo {
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
    pub fn repo(&self) -> gix::Repository {
        self.git.to_thread_local()
    }
    pub fn pull(&self, number: u64) -> Option<&Pull> {
        let i = usize::try_from(number.checked_sub(1)?).ok()?;
        self.pulls.get(i)
    }
    pub fn pull_mut(&mut self, number: u64) -> Option<&mut Pull> {
        let i = usize::try_from(number.checked_sub(1)?).ok()?;
        self.pulls.get_mut(i)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct AutoMergeRec {
    pub enabled_by: String,
    /// `merge`, `squash` or `rebase`.
    pub method: String,
    pub commit_title: Option<String>,
    pub commit_message: Option<String>,
    pub enabled_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct Pull {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub open: bool,
    pub draft: bool,
    pub user: String,
    pub head_ref: String,
    pub head_sha: String,
    pub base_ref: String,
    /// The base tip when the pull request was closed or merged (rendered then instead of the live one).
    pub base_sha_closed: Option<String>,
    /// The base branch's head just before the merge: the base that `revertPullRequest` takes
    /// back to. For merge and squash merges it is the merge commit's first parent; a rebase
    /// merge leaves no commit whose parent says it, so it is kept here. Internal: no JSON shows it.
    pub merged_onto: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub closed_at: Option<OffsetDateTime>,
    pub merged_at: Option<OffsetDateTime>,
    pub merge_commit_sha: Option<String>,
    pub merged_by: Option<String>,
    pub labels: Vec<String>,
    pub requested_reviewers: Vec<String>,
    pub requested_teams: Vec<String>,
    pub assignees: Vec<String>,
    pub auto_merge: Option<AutoMergeRec>,
    pub maintainer_can_modify: bool,
    /// Submitted reviews, oldest first.
    pub reviews: Vec<ReviewRec>,
}

/// A submitted pull request review (`POST /pulls/{n}/reviews` with an `event`).
#[derive(Clone, Debug)]
pub(crate) struct ReviewRec {
    pub id: u64,
    pub user: String,
    /// `APPROVED`, `CHANGES_REQUESTED` or `COMMENTED`.
    pub state: String,
    pub body: String,
    pub commit_id: String,
    pub submitted_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct LabelRec {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct StatusRec {
    pub id: u64,
    pub sha: String,
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub creator: String,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct CheckRunRec {
    pub id: u64,
    pub name: String,
    pub head_sha: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub details_url: Option<String>,
    pub external_id: Option<String>,
    pub started_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
    pub output: Value,
    pub app_id: Option<u64>,
}

#[derive(Clone, Debug)]
pub(crate) struct ReleaseRec {
    pub id: u64,
    pub tag_name: String,
    pub target_commitish: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub author: String,
    pub created_at: OffsetDateTime,
    pub published_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug)]
pub(crate) struct CommentRec {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub user: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub login: String,
    pub expires_at: Option<OffsetDateTime>,
    /// `(app id, installation id)` for tokens minted for an installation.
    pub installation: Option<(u64, u64)>,
    /// Installation tokens minted with `repositories`: the only repositories they can reach.
    pub repositories: Option<Vec<String>>,
}

pub(crate) struct AppRec {
    pub key: rsa::RsaPublicKey,
    pub created_at: OffsetDateTime,
}

#[derive(Clone, Debug)]
pub(crate) struct InstallationRec {
    pub id: u64,
    pub app_id: u64,
    pub account: String,
    pub created_at: OffsetDateTime,
}

/// The default permissions of installations and installation tokens.
pub(crate) fn app_permissions() -> Value {
    serde_json::json!({
        "checks": "write",
        "contents": "write",
        "issues": "write",
        "metadata": "read",
        "pull_requests": "write",
        "statuses": "write",
        "workflows": "write",
    })
}

pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Who sent a request.
#[derive(Clone, Debug)]
pub(crate) enum Identity {
    Anonymous,
    /// A personal access token (classic or fine-grained).
    User {
        login: String,
    },
    /// An installation token.
    Installation {
        app_id: Option<u64>,
        installation_id: Option<u64>,
        /// `Some` for a token scoped to these repositories (lowercase names).
        repositories: Option<Vec<String>>,
    },
    /// A GitHub App's JWT.
    App {
        app_id: u64,
    },
}

impl Identity {
    /// Whether this identity may see repository `name` (scoped installation tokens see only
    /// their repositories, as on GitHub).
    pub fn allows_repo(&self, name: &str) -> bool {
        match self {
            Identity::Installation { repositories: Some(list), .. } => {
                list.iter().any(|r| r.eq_ignore_ascii_case(name))
            }
            _ => true,
        }
    }

    /// The login that appears as the author of what this identity creates.
    pub fn login(&self) -> String {
        match self {
            Identity::Anonymous => "ghost".to_string(),
            Identity::User { login } => login.clone(),
            Identity::Installation { app_id, .. } => bot_login(*app_id),
            Identity::App { app_id } => bot_login(Some(*app_id)),
        }
    }
    pub fn is_authenticated(&self) -> bool {
        !matches!(self, Identity::Anonymous)
    }
}

pub(crate) fn bot_login(app_id: Option<u64>) -> String {
    match app_id {
        Some(id) => format!("app-{id}[bot]"),
        None => "test-app[bot]".to_string(),
    }
}

pub(crate) fn key(owner: &str, name: &str) -> (String, String) {
    (owner.to_lowercase(), name.to_lowercase())
}

impl State {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    pub fn repo(&self, owner: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&key(owner, name))
    }
    pub fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&key(owner, name))
    }
    /// Whether `owner` is a known account (it owns a repository or has an installation).
    pub fn owner_exists(&self, owner: &str) -> bool {
        let lower = owner.to_lowercase();
        self.owners.contains(&lower) || self.repos.keys().any(|(o, _)| *o == lower)
    }
}

impl Shared {
    pub fn new(config: ServerConfig, addr: SocketAddr) -> std::io::Result<Shared> {
        let tmp = tempfile::Builder::new().prefix("github-test-server-").tempdir()?;
        let root = tmp.path().to_path_buf();
        let rate = Arc::new(RateLimiter::new(config.rate_limit, config.rate_limit_window));
        let faults = Faults::new(config.fault_seed, rate.clone());
        Ok(Shared {
            config,
            root,
            _tmp: tmp,
            addr,
            state: Mutex::new(State::default()),
            faults,
            rate,
            log: Mutex::new(Vec::new()),
            request_seq: AtomicU64::new(0),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// URL bases in github.com layout, for state inspection outside a request.
    pub fn root_base(&self) -> Base {
        Base::new(self.host(), false)
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn next_request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{:04X}:{:04X}:{:06X}:{:06X}:{:08X}", self.addr.port(), n & 0xffff, n * 7919, n * 104_729, n)
    }

    pub fn repo_dir(&self, owner: &str, name: &str) -> PathBuf {
        self.root.join(owner).join(format!("{name}.git"))
    }

    pub fn record(&self, entry: LoggedRequest) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
    }

    pub fn request_log(&self) -> RequestLog {
        let entries = self.log.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut log = RequestLog { total: entries.len(), ..RequestLog::default() };
        for e in &entries {
            if e.status == 304 {
                log.not_modified += 1;
            }
            *log.counts.entry((e.method.clone(), e.route.clone())).or_default() += 1;
        }
        log.entries = entries;
        log
    }

    pub fn clear_request_log(&self) {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    // ----- admin operations (the `TestServer` fixture methods) -----

    pub fn create_repo(
        &self,
        owner: &str,
        name: &str,
        files: &[(&str, &[u8])],
        opts: RepoOptions,
    ) -> Result<String, String> {
        let mut st = self.lock();
        if st.repo(owner, name).is_some() {
            return Err("repository exists already".into());
        }
        let dir = self.repo_dir(owner, name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let repo = gix::init_bare(&dir).map_err(|e| format!("git init: {e}"))?;
        std::fs::write(dir.join("HEAD"), format!("ref: refs/heads/{}\n", opts.default_branch))
            .map_err(|e| format!("writing HEAD: {e}"))?;
        let repo = gix::open_opts(repo.git_dir(), crate::git::open_options()).map_err(|e| format!("git open: {e}"))?;
        let mut head = String::new();
        if !files.is_empty() {
            let tree = crate::git::tree_with_files(&repo, None, files)?;
            let sig = crate::git::developer();
            let id = crate::git::write_commit(&repo, tree, &[], &sig, &sig, "Initial commit")?;
            crate::git::set_ref(&repo, &format!("refs/heads/{}", opts.default_branch), id, None)?;
            head = id.to_string();
        }
        st.next_repo_id += 1;
        let t = now();
        let rec = Repo {
            id: 100_000 + st.next_repo_id,
            owner: owner.to_string(),
            name: name.to_string(),
            opts,
            created_at: t,
            updated_at: t,
            pushed_at: t,
            git: repo.into_sync(),
            pulls: Vec::new(),
            labels: BTreeMap::new(),
            statuses: Vec::new(),
            check_runs: Vec::new(),
            releases: Vec::new(),
            comments: Vec::new(),
            workflow_runs: Vec::new(),
            verified: HashSet::new(),
        };
        st.repos.insert(key(owner, name), rec);
        Ok(head)
    }

    pub fn push_commit(
        &self,
        owner: &str,
        name: &str,
        branch: &str,
        files: &[(&str, &[u8])],
        message: &str,
    ) -> Result<String, String> {
        let mut st = self.lock();
        let rec = st.repo_mut(owner, name).ok_or("no such repository")?;
        let repo = rec.repo();
        let full = format!("refs/heads/{branch}");
        let parent = match crate::git::ref_target(&repo, &full) {
            Some(id) => Some(id),
            None => crate::git::ref_target(&repo, &format!("refs/heads/{}", rec.opts.default_branch)),
        };
        let base_tree = match parent {
            Some(p) => Some(crate::git::commit_tree(&repo, p).map_err(|e| e.to_string())?),
            None => None,
        };
        let tree = crate::git::tree_with_files(&repo, base_tree, files)?;
        let sig = crate::git::developer();
        let parents: Vec<gix::ObjectId> = parent.into_iter().collect();
        let id = crate::git::write_commit(&repo, tree, &parents, &sig, &sig, message)?;
        crate::git::set_ref(&repo, &full, id, None)?;
        rec.pushed_at = now();
        Ok(id.to_string())
    }

    pub fn add_token(&self, token: &str, kind: TokenKind) {
        let mut st = self.lock();
        let expires_at = match &kind {
            TokenKind::Classic { .. } => None,
            TokenKind::FineGrained { expires_at } => *expires_at,
            TokenKind::Installation => Some(OffsetDateTime::now_utc() + self.config.installation_token_ttl),
        };
        let login = match kind {
            TokenKind::Installation => bot_login(None),
            _ => self.config.login.clone(),
        };
        st.tokens.insert(token.to_string(), Token { kind, login, expires_at, installation: None, repositories: None });
    }

    pub fn add_user_token(&self, token: &str, login: &str) {
        let kind = TokenKind::Classic { scopes: vec!["repo".to_string()] };
        let rec = Token { kind, login: login.to_string(), expires_at: None, installation: None, repositories: None };
        self.lock().tokens.insert(token.to_string(), rec);
    }

    pub fn register_app(&self, app_id: u64, pem: &str, installation_id: u64, owner: &str) -> Result<(), String> {
        let key = crate::apps::parse_public_key(pem)?;
        let mut st = self.lock();
        let t = now();
        let created_at = st.apps.get(&app_id).map(|a| a.created_at).unwrap_or(t);
        st.apps.insert(app_id, AppRec { key, created_at });
        st.installations.insert(
            installation_id,
            InstallationRec { id: installation_id, app_id, account: owner.to_string(), created_at: t },
        );
        st.owners.insert(owner.to_lowercase());
        Ok(())
    }

    pub fn pulls_json(&self, owner: &str, name: &str) -> Vec<Value> {
        let base = self.root_base();
        let mut st = self.lock();
        let Some(rec) = st.repo_mut(owner, name) else { return Vec::new() };
        crate::pulls::refresh(rec);
        let rec = &*rec;
        rec.pulls.iter().map(|p| crate::json::pull(&base, rec, p, true)).collect()
    }

    pub fn releases_json(&self, owner: &str, name: &str) -> Vec<Value> {
        let base = self.root_base();
        let st = self.lock();
        let Some(rec) = st.repo(owner, name) else { return Vec::new() };
        rec.releases.iter().map(|r| crate::json::release(&base, rec, r)).collect()
    }

    pub fn comments_json(&self, owner: &str, name: &str, number: u64) -> Vec<Value> {
        let base = self.root_base();
        let st = self.lock();
        let Some(rec) = st.repo(owner, name) else { return Vec::new() };
        rec.comments.iter().filter(|c| c.issue == number).map(|c| crate::json::comment(&base, rec, c)).collect()
    }

    pub fn commit_verified(&self, owner: &str, name: &str, sha: &str) -> bool {
        self.lock().repo(owner, name).is_some_and(|rec| rec.verified.contains(sha))
    }

    pub fn seed_workflow_runs(&self, owner: &str, name: &str, runs: Vec<Value>) -> Result<(), String> {
        let base = self.root_base();
        let mut st = self.lock();
        let first_id = st.next_id();
        let rec = st.repo_mut(owner, name).ok_or("no such repository")?;
        let mut filled = Vec::with_capacity(runs.len());
        for (i, run) in runs.into_iter().enumerate() {
            filled.push(crate::actions::fill_run(&base, rec, run, first_id * 1000 + i as u64));
        }
        rec.workflow_runs = filled;
        Ok(())
    }
}
