//! The campaign engine: a run of select → fetch → plan → apply for one campaign.
//!
//! [`Session::open`] does every check that can fail for the run as a whole (manifest, forge
//! listing, selectors, template compilation) before anything is written, so an invalid setup
//! touches nothing. After that, each repository succeeds or fails on its own.
//!
//! The engine knows no kind of change: it plans each repository by running the change
//! producers it is given ([`Session::producers`], the [`Producer`] trait of `transform/`) over
//! that repository's [`RepoInput`], and writes the result. The CLI chooses the producers (the
//! manifest's templates and files, `audit --fix`, `deps align`). A campaign is identified by its
//! branch ([`CampaignId`]), the same in every repository.

mod apply;
mod body;
pub mod listing;
pub mod rollback;
pub mod rollout;
pub mod steer;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use apply::{ApplyAction, ApplyOutcome, apply, describe, fetch_plan_apply};

use crate::change::{FileDiff, diff_against};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::forge::github::GithubForge;
use crate::forge::local::LocalForge;
use crate::forge::{Forge, ForgeError, RepoId};
use crate::manifest::{ForgeKind, Manifest, ManifestError, Selector};
use crate::progress::Reporter;
use crate::render::Renderer;
use crate::targets::{Selection, Target};
use crate::transform::{Changes, Producer, RepoInput, template_context};
use crate::workspace::{Cache, Depth, FetchOutcome, OrgInput, require_git_for};

/// Errors that stop a run before any repository is touched.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{0}")]
    Invalid(Diagnostics),
    #[error("{0}")]
    Unsupported(String),
    #[error("cannot list the repositories of `{owner}` on the {kind} forge: {source}")]
    Listing { owner: String, kind: &'static str, source: ForgeError },
    #[error("{0}")]
    Environment(String),
}

impl SetupError {
    /// Exit code: 2 for what the user must fix in the manifest or the command line, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            SetupError::Manifest(_) | SetupError::Invalid(_) | SetupError::Unsupported(_) => 2,
            SetupError::Listing { .. } | SetupError::Environment(_) => 1,
        }
    }
}

/// Options of one run, resolved from the command line and the manifest.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub filters: Vec<Selector>,
    pub depth: Depth,
    /// Read the org's listing from the copy the last online run saved instead of asking a
    /// forge that needs the network (`--offline`; see [`listing`]).
    pub offline: bool,
}

/// A campaign's identity: its branch, one name across every repository (`[campaign] branch`).
/// Its pull requests are found by it, its commits carry it (the `Convoy-Campaign:` trailer) and
/// their bodies list the siblings that share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CampaignId(String);

impl CampaignId {
    /// The campaign `manifest` describes (its `[campaign] branch`).
    pub fn of(manifest: &Manifest) -> CampaignId {
        CampaignId(manifest.campaign().branch.get_ref().clone())
    }

    /// The campaign on `branch` (`--campaign BRANCH`); the caller has checked the name.
    pub fn named(branch: &str) -> CampaignId {
        CampaignId(branch.to_string())
    }

    /// The branch name.
    pub fn branch(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CampaignId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything one run needs, checked.
pub struct Session {
    pub manifest: Manifest,
    pub forge: Arc<dyn Forge>,
    pub cache: Cache,
    pub selection: Selection,
    pub renderer: Renderer,
    pub options: RunOptions,
    /// The campaign this run plans and writes.
    pub campaign: CampaignId,
    /// What each repository's change set is made of, run in this order (none until the caller
    /// sets them: a session that only fetches or reads needs none).
    pub producers: Vec<Box<dyn Producer>>,
    /// The campaign's pull requests in repositories outside this run, as the caller read them
    /// (number, merged): `apply` lists them in every PR's sibling list. `rollout advance`
    /// fills it with the other waves' pull requests, so a wave's PRs list the earlier waves'
    /// from the start; empty otherwise (pass 2 then keeps what the PR bodies listed).
    pub outside_run: BTreeMap<RepoId, (u64, bool)>,
}

/// Build the forge a manifest names.
pub fn open_forge(manifest: &Manifest) -> Result<Arc<dyn Forge>, SetupError> {
    let config = manifest.forge();
    match config.kind.get_ref() {
        ForgeKind::Local => {
            let root = config.root.as_ref().map(|r| manifest.resolve(r.get_ref())).unwrap_or_default();
            let clone_url = config.clone_url.as_ref().map(|u| u.get_ref().clone());
            Ok(Arc::new(LocalForge::with_fallback_branch(root, clone_url, &manifest.model.org.default_branch)))
        }
        ForgeKind::Github => Ok(Arc::new(open_github(manifest)?)),
    }
}

/// The GitHub forge a manifest names, with credentials from the environment or a GitHub App.
pub fn open_github(manifest: &Manifest) -> Result<GithubForge, SetupError> {
    use crate::forge::github::api::{Api, Endpoints, Limits};
    use crate::forge::github::auth::{AppToken, StaticToken, TokenSource};
    let config = manifest.forge();
    let api_url = config.api_url.as_ref().map_or("https://api.github.com", |u| u.get_ref().as_str());
    let endpoints = Endpoints::from_api_url(api_url).map_err(SetupError::Unsupported)?;
    let token: Arc<dyn TokenSource> = match (StaticToken::from_env(), config.app_id) {
        (Some(t), _) => Arc::new(t),
        (None, Some(app_id)) => {
            let pem = match (std::env::var(crate::env_vars::CONVOY_GITHUB_APP_PRIVATE_KEY), &config.private_key_path) {
                (Ok(pem), _) if !pem.trim().is_empty() => pem.into_bytes(),
                (_, Some(path)) => crate::workspace::paths::read_bounded(
                    &manifest.resolve(path.get_ref()),
                    crate::workspace::paths::MAX_INPUT_FILE,
                )
                .map_err(|e| {
                    SetupError::Environment(format!("cannot read the GitHub App key {}: {e}", path.get_ref().display()))
                })?,
                _ => {
                    return Err(SetupError::Environment(format!(
                        "GitHub App {app_id} has no private key\n  help: set private_key_path under [org.forge], or CONVOY_GITHUB_APP_PRIVATE_KEY"
                    )));
                }
            };
            let app = AppToken::new(app_id, &pem, &manifest.model.org.name, config.installation_id)
                .map_err(SetupError::Environment)?;
            Arc::new(app)
        }
        (None, None) => Arc::new(StaticToken::new(None, "no credentials")),
    };
    let limits = Limits {
        writes_per_minute: config.writes_per_minute,
        writes_per_hour: config.writes_per_hour,
        max_wait: std::time::Duration::from_secs(config.rate_limit_wait),
        write_concurrency: config.write_concurrency,
        update_batch: config.graphql_batch,
        connect_timeout: std::time::Duration::from_secs(config.connect_timeout),
        read_timeout: std::time::Duration::from_secs(config.read_timeout),
        request_timeout: std::time::Duration::from_secs(config.request_timeout),
        ..Limits::default()
    };
    // One cache file per API origin, beside the clone cache: responses are only reused by the
    // server that gave them (the file also records its origin).
    let host: String = endpoints.origin.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let etag_file = manifest.cache_dir().join(format!(".etags-{host}.json"));
    let api = Api::new(endpoints, limits, token.clone(), Some(etag_file))
        .map_err(|e| SetupError::Environment(e.to_string()))?;
    Ok(GithubForge::new(api, token))
}

impl Session {
    pub async fn open(manifest: Manifest, options: RunOptions) -> Result<Session, SetupError> {
        let forge = open_forge(&manifest)?;
        let listing = listing::list_org(&manifest, forge.as_ref(), options.offline).await?;
        // Selection and template problems come in one report.
        let (selection, mut problems) = crate::targets::select_all(&manifest, &listing, &options.filters);
        listing::explain_anonymous(&manifest, &mut problems);
        let renderer = build_renderer(&manifest).map_err(|d| problems.extend(d.0));
        let renderer = match renderer {
            Ok(r) if problems.is_empty() => r,
            _ => return Err(SetupError::Invalid(Diagnostics(problems))),
        };
        let ids: Vec<RepoId> = selection.targets.iter().map(|t| t.repo.id.clone()).collect();
        forge.scope_to(&ids).await;
        let cache = Cache::new(manifest.cache_dir(), options.depth);
        let campaign = CampaignId::of(&manifest);
        Ok(Session {
            manifest,
            forge,
            cache,
            selection,
            renderer,
            options,
            campaign,
            producers: Vec::new(),
            outside_run: BTreeMap::new(),
        })
    }

    pub fn targets(&self) -> &[Target] {
        &self.selection.targets
    }

    /// The run's repositories as the org-wide readers see them (`audit`, `cost`, `deps`).
    pub fn org(&self) -> OrgInput<'_> {
        OrgInput { manifest: &self.manifest, selection: &self.selection, cache: &self.cache, jobs: self.options.jobs }
    }

    /// What fetching needs before the first repository: `git` for `file://` URLs, and the
    /// credentials for the forge's git endpoint.
    pub async fn fetch_setup(&self) -> Result<Option<crate::workspace::GitCredentials>, SetupError> {
        let urls: Vec<&str> = self.targets().iter().map(|t| t.repo.clone_url.as_str()).collect();
        require_git_for(&urls).map_err(SetupError::Environment)?;
        self.forge
            .git_credentials()
            .await
            .map_err(|e| SetupError::Environment(format!("cannot get credentials for git: {e}")))
    }

    /// Clone or fetch one target (blocking).
    pub fn fetch_one(
        &self,
        target: &Target,
        credentials: Option<&crate::workspace::GitCredentials>,
    ) -> Result<FetchOutcome, String> {
        self.cache.fetch(&target.repo, credentials).map_err(|e| e.to_string())
    }

    /// Plan one target from the cache (blocking).
    pub fn plan_one(&self, target: &Target) -> Result<RepoPlan, String> {
        self.plan_repo(target)
    }

    /// Clone or fetch every target into the cache, `jobs` at a time.
    pub async fn fetch(&self, reporter: &dyn Reporter) -> Result<Vec<RepoResult<FetchOutcome>>, SetupError> {
        let credentials = self.fetch_setup().await?;
        reporter.stage("fetch", self.targets().len());
        let work = || {
            crate::parallel::map(self.targets(), self.options.jobs, |t| {
                let name = t.repo.id.full_name();
                reporter.item_started(&name);
                let r = self.cache.fetch(&t.repo, credentials.as_ref()).map_err(|e| e.to_string());
                match &r {
                    Ok(o) => reporter.item_finished(&name, true, o.status.as_str()),
                    Err(e) => reporter.item_finished(&name, false, e),
                }
                r
            })
        };
        // Blocking gix work on this runtime thread, without starving the runtime.
        let out = tokio::task::block_in_place(work);
        reporter.stage_done();
        Ok(self.collect(out))
    }

    /// Compute every target's change set from the cache.
    pub fn plan(&self, reporter: &dyn Reporter) -> Vec<RepoResult<RepoPlan>> {
        self.plan_after(&[], reporter)
    }

    /// Like [`plan`](Self::plan), after a fetch: a repository whose fetch failed is not planned
    /// from its stale cache entry (that would open a PR against an old base); it fails instead.
    pub fn plan_after(
        &self,
        fetched: &[RepoResult<FetchOutcome>],
        reporter: &dyn Reporter,
    ) -> Vec<RepoResult<RepoPlan>> {
        let failed: BTreeMap<&RepoId, &String> =
            fetched.iter().filter_map(|r| r.result.as_ref().err().map(|e| (&r.repo, e))).collect();
        reporter.stage("plan", self.targets().len());
        let out = crate::parallel::map(self.targets(), self.options.jobs, |t| {
            let name = t.repo.id.full_name();
            reporter.item_started(&name);
            let r = match failed.get(&t.repo.id) {
                Some(e) => Err(format!("not planned, the fetch failed: {e}")),
                None => self.plan_repo(t),
            };
            match &r {
                Ok(p) if p.files.is_empty() => reporter.item_finished(&name, true, "unchanged"),
                Ok(p) => reporter.item_finished(&name, true, &format!("{} file(s) to change", p.files.len())),
                Err(e) => reporter.item_finished(&name, false, e),
            }
            r
        });
        reporter.stage_done();
        self.collect(out)
    }

    fn collect<T>(&self, out: Vec<Result<Result<T, String>, String>>) -> Vec<RepoResult<T>> {
        self.targets()
            .iter()
            .zip(out)
            .map(|(t, r)| RepoResult {
                repo: t.repo.id.clone(),
                result: r.unwrap_or_else(|panic| Err(format!("internal error: {panic}"))),
            })
            .collect()
    }

    fn plan_repo(&self, target: &Target) -> Result<RepoPlan, String> {
        let snapshot = self.cache.snapshot(&target.repo).map_err(|e| e.to_string())?;
        let input = RepoInput {
            manifest: &self.manifest,
            selection: &self.selection,
            target,
            snapshot: &snapshot,
            renderer: &self.renderer,
        };
        let mut changes = Changes::default();
        for producer in &self.producers {
            changes.extend(producer.edits(&input)?);
        }
        let Changes { edits, lists, notes } = changes;
        let list = |v: Vec<String>| toml::Value::Array(v.into_iter().map(toml::Value::String).collect());
        let mut ctx_vars: BTreeMap<String, toml::Value> = lists.into_iter().map(|(k, v)| (k, list(v))).collect();
        let files = diff_against(&snapshot, edits)?;
        let changes: Vec<_> = files.iter().map(FileDiff::to_change).collect();
        let tree = snapshot.tree_with(&changes)?;
        ctx_vars.insert(
            "changed_files".to_string(),
            toml::Value::Array(files.iter().map(|f| toml::Value::String(f.path.to_string())).collect()),
        );
        let ctx = template_context(&self.manifest, target, &snapshot, &ctx_vars);
        let title = self.renderer.render(body::TITLE, &ctx).map_err(|e| e.to_string())?.trim().to_string();
        let body = self.renderer.render(body::BODY, &ctx).map_err(|e| e.to_string())?;
        Ok(RepoPlan {
            base: snapshot.commit_id(),
            base_branch: target.repo.default_branch.clone(),
            tree,
            files,
            title,
            body,
            notes,
        })
    }
}

/// Load every template once so syntax errors surface before any repository is touched.
pub fn build_renderer(manifest: &Manifest) -> Result<Renderer, Diagnostics> {
    let mut renderer = Renderer::new(&manifest.templates_dir());
    let mut problems = Vec::new();
    for t in &manifest.model.templates {
        if let Err(e) = renderer.compile(t.source.get_ref()) {
            problems.push(
                Diagnostic::at_span(
                    &manifest.path,
                    &manifest.source,
                    t.source.span(),
                    format!("template does not compile: {e}"),
                )
                .with_help("fix the template; minijinja syntax is Jinja2's"),
            );
        }
    }
    for f in &manifest.model.files {
        if let (Some(src), true) = (&f.source, f.render)
            && let Err(e) = renderer.add_file(&manifest.files_dir(), src.get_ref())
        {
            problems.push(
                Diagnostic::at_span(
                    &manifest.path,
                    &manifest.source,
                    src.span(),
                    format!("file template does not compile: {e}"),
                )
                .with_help("fix the template, or set render = false to copy it verbatim"),
            );
        }
    }
    let campaign = manifest.campaign();
    for (name, text) in [(body::TITLE, &campaign.title), (body::BODY, &campaign.body)] {
        if let Err(e) = renderer.add(name, text.get_ref().clone()) {
            problems.push(
                Diagnostic::at_span(&manifest.path, &manifest.source, text.span(), format!("does not compile: {e}"))
                    .with_help("fix the template text"),
            );
        }
    }
    if problems.is_empty() { Ok(renderer) } else { Err(Diagnostics(problems)) }
}

/// One repository's result in a run: the failure stays with its repository.
#[derive(Debug)]
pub struct RepoResult<T> {
    pub repo: RepoId,
    pub result: Result<T, String>,
}

/// What a campaign would change in one repository.
#[derive(Debug, Clone, Serialize)]
pub struct RepoPlan {
    /// The default-branch commit the change is computed against (the PR's parent).
    pub base: String,
    pub base_branch: String,
    /// The tree the campaign branch's commit must have: how re-runs detect "already pushed".
    pub tree: String,
    #[serde(skip)]
    pub files: Vec<FileDiff>,
    pub title: String,
    pub body: String,
    /// What the plan could not do for this repository (e.g. policy fixes left to a person).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
