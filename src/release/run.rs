//! `convoy release run` and `convoy release rollback`: a planned release carried out wave by
//! wave, every step recorded so that a re-run continues where the last one stopped.
//!
//! Per repository and wave, in order:
//!
//! 1. **bump**: the version edits of [`super::bump`] land as one commit on the default branch
//!    (`mode = "commit"`, compare-and-swap) or one pull request (`mode = "pull-request"`,
//!    branch `convoy/release/<package>-<version>` of the wave's first package there), merged by
//!    convoy once its checks pass. A default branch that already carries the new versions
//!    (a run that stopped after its commit) is taken as bumped.
//! 2. **tag** each package (`[release] tag`, default `{name}-v{version}`) at that commit; an
//!    existing tag at the same commit is kept, one elsewhere is the package's error.
//! 3. **forge release** with notes from the commits ([`super::notes`]); one that exists for
//!    the tag is kept.
//! 4. **gate** ([`super::gate`]): the next wave starts only when every package of this one
//!    passed.
//!
//! Each step's result is written to the release state (`release.json` in the campaign folder
//! of `convoy/release`, beside the manifest or on the `[state]` branch) before the next one
//! starts, and every forge write goes through the journal. A step that fails stops its
//! repository; the other repositories of the wave go on; the run ends after that wave, and
//! `release run --resume` continues from the record (finished steps are not repeated; tags and
//! releases are looked up before they are created, so none is ever made twice).

use std::collections::BTreeMap;
use std::path::Path;

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::bump::{self, Released};
use super::config::{Mode, ReleaseConfig, tag_name};
use super::gate::{self, GateInput};
use super::plan::{Plan, Planned};
use crate::change::diff_against;
use crate::deps::model::RepoDeps;
use crate::forge::{FileChange, Forge, ForgeError, MergeMethod, NewPullRequest, NewRelease, PrState, RepoId};
use crate::journal::JournalStore;
use crate::workspace::Snapshot;

/// The campaign (journal, claim, state folder) every release runs under.
pub const CAMPAIGN: &str = "convoy/release";
/// The release state's file in that campaign's folder.
pub const STATE_DOC: &str = "release.json";
/// Bumped when a field of `release.json` changes meaning.
pub const STATE_VERSION: u32 = 1;

/// The record of one release: the plan it carries out and how far each package got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseState {
    pub schema_version: u32,
    /// RFC 3339.
    pub started_at: String,
    pub mode: Mode,
    pub plan: Plan,
    pub packages: BTreeMap<String, PackageState>,
    /// Every wave passed its gates.
    #[serde(default)]
    pub finished: bool,
    /// `release rollback` ran to the end.
    #[serde(default)]
    pub rolled_back: bool,
}

/// How far one package got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageState {
    pub repo: String,
    pub version: String,
    pub tag: String,
    /// The commit that carries the new version (tagged next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The default branch's head before the bump, when convoy made the bump commit itself
    /// (`mode = "commit"`); `release rollback` restores the bumped files from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bumped_from: Option<String>,
    /// The files the bump changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// The default branch the bump went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The bump's pull request (`mode = "pull-request"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    #[serde(default)]
    pub tagged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_url: Option<String>,
    /// What the gate saw when it passed (`no gate` without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<String>,
    /// A gate that waits on publishing passed: the version is out (rollback cannot take it back).
    #[serde(default)]
    pub published: bool,
    /// The last failure, cleared when the package moves on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PackageState {
    pub fn done(&self) -> bool {
        self.gate.is_some()
    }
}

impl ReleaseState {
    /// A fresh record of `plan`, tag names decided now.
    pub fn new(plan: Plan, config: &ReleaseConfig, started_at: String) -> ReleaseState {
        let packages = plan
            .waves
            .iter()
            .flatten()
            .map(|p| {
                let tag = tag_name(config.tag_template(&p.repo), &p.package, &p.to);
                (
                    p.package.clone(),
                    PackageState { repo: p.repo.clone(), version: p.to.clone(), tag, ..PackageState::default() },
                )
            })
            .collect();
        ReleaseState {
            schema_version: STATE_VERSION,
            started_at,
            mode: config.mode,
            plan,
            packages,
            finished: false,
            rolled_back: false,
        }
    }

    pub fn from_slice(bytes: &[u8], origin: &str) -> Result<ReleaseState, String> {
        let state: ReleaseState = serde_json::from_slice(bytes)
            .map_err(|e| format!("{origin}: not a release record convoy can read: {e}"))?;
        if state.schema_version != STATE_VERSION {
            return Err(format!(
                "{origin}: release record version {} (this convoy reads {STATE_VERSION})",
                state.schema_version
            ));
        }
        Ok(state)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// The first wave with a package whose gate has not passed.
    pub fn current_wave(&self) -> Option<usize> {
        self.plan.waves.iter().position(|w| w.iter().any(|p| !self.packages.get(&p.package).is_some_and(|s| s.done())))
    }
}

/// A repository as the run reads it: fetched, at its default branch's head.
pub struct RepoView {
    pub id: RepoId,
    pub default_branch: String,
    pub snapshot: Snapshot,
    pub deps: RepoDeps,
}

/// What a run needs from around it.
pub struct Runner<'a> {
    pub forge: &'a dyn Forge,
    pub config: &'a ReleaseConfig,
    /// The manifest's folder (gate commands run there).
    pub dir: &'a Path,
    pub jobs: usize,
    /// Cargo must not use the network for lockfiles.
    pub offline: bool,
    /// Fetch one repository (`owner/name`) into the cache and read it (blocking).
    pub refresh: &'a (dyn Fn(&str) -> Result<RepoView, String> + Sync),
    /// One line of progress for a person.
    pub say: &'a (dyn Fn(String) + Sync),
}

/// How a run ended.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Waves that passed in this run.
    pub waves_done: Vec<usize>,
    /// `(package, error)` of the wave the run stopped in.
    pub errors: Vec<(String, String)>,
    pub finished: bool,
}

/// The state and where it is saved, shared by the repositories of a wave.
struct Shared<'s> {
    state: ReleaseState,
    store: &'s mut dyn JournalStore,
}

impl Shared<'_> {
    async fn save(&mut self) -> Result<(), String> {
        let bytes = self.state.to_vec();
        self.store.write_doc(STATE_DOC, &bytes).await.map_err(|e| format!("saving the release record: {e}"))
    }
}

type SharedState<'s> = tokio::sync::Mutex<Shared<'s>>;

impl Runner<'_> {
    /// Carry out `state` from its first unfinished wave; saves after every step. Returns the
    /// report and the state as saved last.
    pub async fn run(
        &self,
        state: ReleaseState,
        store: &mut dyn JournalStore,
    ) -> Result<(RunReport, ReleaseState), String> {
        let shared = tokio::sync::Mutex::new(Shared { state, store });
        let mut report = RunReport::default();
        loop {
            let (wave, packages) = {
                let s = shared.lock().await;
                match s.state.current_wave() {
                    None => break,
                    Some(w) => (w, s.state.plan.waves[w].clone()),
                }
            };
            (self.say)(format!("wave {}: {}", wave + 1, names(&packages)));
            // Versions of this wave and the earlier ones: requirements on them are moved.
            let released: BTreeMap<String, semver::Version> = {
                let s = shared.lock().await;
                s.state.plan.waves[..=wave]
                    .iter()
                    .flatten()
                    .filter_map(|p| semver::Version::parse(&p.to).ok().map(|v| (p.package.clone(), v)))
                    .collect()
            };
            let mut by_repo: BTreeMap<String, Vec<Planned>> = BTreeMap::new();
            for p in packages {
                by_repo.entry(p.repo.clone()).or_default().push(p);
            }
            let results: Vec<(Vec<Planned>, Result<(), String>)> =
                futures_util::stream::iter(by_repo.into_values().map(|ps| {
                    let (shared, released) = (&shared, &released);
                    async move {
                        let r = self.release_repo(&ps, released, shared).await;
                        (ps, r)
                    }
                }))
                .buffer_unordered(self.jobs.max(1))
                .collect()
                .await;
            let mut s = shared.lock().await;
            let mut failed = false;
            for (ps, r) in results {
                if let Err(e) = r {
                    failed = true;
                    for p in &ps {
                        if let Some(st) = s.state.packages.get_mut(&p.package) {
                            st.error = Some(e.clone());
                        }
                        report.errors.push((p.package.clone(), e.clone()));
                    }
                }
            }
            s.save().await?;
            if failed {
                return Ok((report, s.state.clone()));
            }
            report.waves_done.push(wave);
        }
        let mut s = shared.lock().await;
        s.state.finished = true;
        s.save().await?;
        report.finished = true;
        Ok((report, s.state.clone()))
    }

    /// Bump, tag, release and gate the packages of one repository in one wave.
    async fn release_repo(
        &self,
        packages: &[Planned],
        released: &BTreeMap<String, semver::Version>,
        shared: &SharedState<'_>,
    ) -> Result<(), String> {
        let repo = packages[0].repo.clone();
        let id = parse_repo(&repo)?;
        let mode = shared.lock().await.state.mode;
        let need_bump = {
            let s = shared.lock().await;
            packages.iter().any(|p| s.state.packages.get(&p.package).is_none_or(|st| st.sha.is_none()))
        };
        if need_bump {
            let landed = self.bump_repo(&id, packages, released, mode).await.map_err(|e| format!("{repo}: {e}"))?;
            let mut s = shared.lock().await;
            for p in packages {
                if let Some(st) = s.state.packages.get_mut(&p.package) {
                    st.sha = Some(landed.sha.clone());
                    st.bumped_from = landed.bumped_from.clone();
                    st.files = landed.files.clone();
                    st.branch = Some(landed.branch.clone());
                    st.pr = landed.pr;
                    st.error = None;
                }
            }
            s.save().await?;
            (self.say)(format!("  {repo}: {}", landed.what));
        }
        for p in packages {
            let st = shared.lock().await.state.packages.get(&p.package).cloned().unwrap_or_default();
            let sha = st.sha.clone().ok_or_else(|| format!("{}: no bump commit recorded", p.package))?;
            if !st.tagged {
                match self.forge.create_tag(&id, &st.tag, &sha).await {
                    Ok(()) => {}
                    Err(ForgeError::Conflict(e)) => {
                        return Err(format!(
                            "{repo}: tag {} exists at another commit ({e}); delete it or set [release] tag",
                            st.tag
                        ));
                    }
                    Err(e) => return Err(format!("{repo}: tag {}: {e}", st.tag)),
                }
                let mut s = shared.lock().await;
                if let Some(x) = s.state.packages.get_mut(&p.package) {
                    x.tagged = true;
                }
                s.save().await?;
                (self.say)(format!("  {repo}: tagged {} at {}", st.tag, short(&sha)));
            }
            if st.release_id.is_none() {
                let existing = self
                    .forge
                    .release_by_tag(&id, &st.tag)
                    .await
                    .map_err(|e| format!("{repo}: release {}: {e}", st.tag))?;
                let made = match existing {
                    Some(r) => r,
                    None => self
                        .forge
                        .create_release(
                            &id,
                            &NewRelease {
                                tag: st.tag.clone(),
                                target_sha: sha.clone(),
                                name: format!("{} {}", p.package, p.to),
                                body: super::notes::notes(p),
                                draft: false,
                                prerelease: semver::Version::parse(&p.to).is_ok_and(|v| !v.pre.is_empty()),
                            },
                        )
                        .await
                        .map_err(|e| format!("{repo}: release {}: {e}", st.tag))?,
                };
                let mut s = shared.lock().await;
                if let Some(x) = s.state.packages.get_mut(&p.package) {
                    x.release_id = Some(made.id);
                    x.release_url = Some(made.url.clone());
                }
                s.save().await?;
                (self.say)(format!("  {repo}: release {} {}", st.tag, made.url));
            }
            if st.gate.is_none() {
                let (seen, published) = match self.config.gate_for(&repo) {
                    None => ("no gate".to_string(), false),
                    Some(g) => {
                        (self.say)(format!("  {repo}: waiting for the {:?} gate of {} {}", g.kind, p.package, p.to));
                        let input = GateInput {
                            repo: &id,
                            package: &p.package,
                            version: &p.to,
                            tag: &st.tag,
                            sha: &sha,
                            dir: self.dir,
                        };
                        let seen = gate::wait(g, &input, self.forge)
                            .await
                            .map_err(|e| format!("{repo}: the gate of {} {}: {e}", p.package, p.to))?;
                        (seen, true)
                    }
                };
                let mut s = shared.lock().await;
                if let Some(x) = s.state.packages.get_mut(&p.package) {
                    x.gate = Some(seen.clone());
                    x.published = published;
                    x.error = None;
                }
                s.save().await?;
                (self.say)(format!("  {repo}: {} {} passed: {seen}", p.package, p.to));
            }
        }
        Ok(())
    }

    /// Land the version bump of `packages` in `id`; returns where it landed.
    async fn bump_repo(
        &self,
        id: &RepoId,
        packages: &[Planned],
        released: &BTreeMap<String, semver::Version>,
        mode: Mode,
    ) -> Result<Landed, String> {
        let repo = id.full_name();
        let prepared = tokio::task::block_in_place(|| -> Result<Prepared, String> {
            let view = (self.refresh)(&repo)?;
            let head = view.snapshot.commit_id();
            let list: Vec<Released<'_>> = packages
                .iter()
                .filter_map(|p| {
                    Some(Released { name: &p.package, manifest: &p.manifest, to: released.get(&p.package)? })
                })
                .collect();
            // Computed even when the versions are there already: a run that stopped after its
            // commit finds nothing left to change, while a first release (version unchanged)
            // may still have requirements to move.
            let b = bump::bump(&view.snapshot, &view.deps, &list, released, self.offline)?;
            let diffs = diff_against(&view.snapshot, b.edits)?;
            let changes = (diffs.iter().map(|d| d.to_change()).collect::<Vec<FileChange>>(), b.lines);
            Ok(Prepared { head, default_branch: view.default_branch, changes: changes.0, lines: changes.1 })
        })?;
        if prepared.changes.is_empty() {
            // Already bumped: by an earlier run of this release, or by hand.
            return Ok(Landed {
                branch: prepared.default_branch.clone(),
                sha: prepared.head.clone(),
                bumped_from: None,
                files: Vec::new(),
                pr: None,
                what: format!("{} already at {} (no bump commit)", names(packages), short(&prepared.head)),
            });
        }
        let files: Vec<String> = prepared
            .changes
            .iter()
            .map(|c| match c {
                FileChange::Write { path, .. } | FileChange::Delete { path } => path.clone(),
            })
            .collect();
        let title = format!("chore(release): {}", names(packages));
        let message = format!("{title}\n\n{}\n", prepared.lines.join("\n"));
        match mode {
            Mode::Commit => {
                let sha = self
                    .forge
                    .commit_on_default_branch(id, &prepared.head, &prepared.changes, &message)
                    .await
                    .map_err(|e| match e {
                        ForgeError::Conflict(e) => {
                            format!("the default branch moved while the bump was made ({e}); run again with --resume")
                        }
                        e => format!("the bump commit: {e}"),
                    })?;
                Ok(Landed {
                    branch: prepared.default_branch.clone(),
                    what: format!("bumped {} in {}", names(packages), short(&sha)),
                    sha,
                    bumped_from: Some(prepared.head),
                    files,
                    pr: None,
                })
            }
            Mode::PullRequest => {
                let branch = release_branch(&packages[0]);
                let pr = self.bump_pull_request(id, &branch, &prepared, &title, &message).await?;
                let merged = self.merge_when_green(id, pr.clone()).await?;
                Ok(Landed {
                    branch: prepared.default_branch.clone(),
                    what: format!("bumped {} in #{} (merged as {})", names(packages), pr.number, short(&merged)),
                    sha: merged,
                    bumped_from: None,
                    files,
                    pr: Some(pr.number),
                })
            }
        }
    }

    /// The bump's pull request: the one on `branch` if a run opened it already, else a new one.
    async fn bump_pull_request(
        &self,
        id: &RepoId,
        branch: &str,
        prepared: &Prepared,
        title: &str,
        message: &str,
    ) -> Result<PrRef, String> {
        let existing = self.forge.find_pull_requests(id, branch).await.map_err(|e| format!("{branch}: {e}"))?;
        if let Some(pr) = existing.iter().find(|p| p.state != PrState::Closed) {
            return Ok(PrRef {
                number: pr.number,
                merged: pr.merge_commit_sha.clone().filter(|_| pr.state == PrState::Merged),
            });
        }
        let sha = self
            .forge
            .create_commit(id, &prepared.head, &prepared.changes, message)
            .await
            .map_err(|e| format!("the bump commit: {e}"))?;
        self.forge.update_branch(id, branch, &sha, true).await.map_err(|e| format!("branch {branch}: {e}"))?;
        let pr = self
            .forge
            .create_pull_request(
                id,
                &NewPullRequest {
                    title: title.to_string(),
                    body: format!(
                        "{}\n\nOpened by `convoy release run`; merged by it once the checks pass.\n",
                        message.split_once("\n\n").map_or("", |(_, rest)| rest).trim_end()
                    ),
                    head: branch.to_string(),
                    base: prepared.default_branch.clone(),
                    draft: false,
                    labels: vec!["release".into()],
                    reviewers: Vec::new(),
                    assignees: Vec::new(),
                },
            )
            .await
            .map_err(|e| format!("the bump pull request: {e}"))?;
        (self.say)(format!("  {id}: opened #{} {}", pr.number, pr.url));
        Ok(PrRef { number: pr.number, merged: None })
    }

    /// Wait for the pull request's checks (at most `merge_timeout`), then merge it. A pull
    /// request without checks merges at once; a failed check fails the repository.
    async fn merge_when_green(&self, id: &RepoId, pr: PrRef) -> Result<String, String> {
        if let Some(sha) = pr.merged {
            return Ok(sha);
        }
        let timeout = self
            .config
            .merge_timeout
            .as_ref()
            .and_then(|t| crate::manifest::parse_duration(t.get_ref()).ok())
            .unwrap_or(30 * 60) as u64;
        let start = std::time::Instant::now();
        let mut wait = std::time::Duration::from_secs(5);
        loop {
            let current =
                self.forge.get_pull_request(id, pr.number).await.map_err(|e| format!("#{}: {e}", pr.number))?;
            match current.state {
                PrState::Merged => {
                    return current
                        .merge_commit_sha
                        .ok_or_else(|| format!("#{}: merged without a merge commit", pr.number));
                }
                PrState::Closed => {
                    return Err(format!(
                        "#{} was closed without merging; reopen it or run `convoy release rollback`",
                        pr.number
                    ));
                }
                PrState::Open => {}
            }
            let verdict =
                self.forge.check_verdict(id, &current.head_sha).await.map_err(|e| format!("#{}: {e}", pr.number))?;
            match verdict.state {
                crate::forge::CheckState::Success => {
                    let merged = self
                        .forge
                        .merge_pull_request(id, pr.number, MergeMethod::Merge)
                        .await
                        .map_err(|e| format!("merging #{}: {e}", pr.number))?;
                    return Ok(merged.sha);
                }
                crate::forge::CheckState::Failure => {
                    return Err(format!("#{}: a check failed; fix it and run again with --resume", pr.number));
                }
                _ => {}
            }
            if start.elapsed().as_secs() >= timeout {
                return Err(format!("#{}: checks still pending after {timeout}s; run again with --resume", pr.number));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(60));
        }
    }
}

struct Prepared {
    head: String,
    default_branch: String,
    changes: Vec<FileChange>,
    lines: Vec<String>,
}

struct Landed {
    sha: String,
    branch: String,
    bumped_from: Option<String>,
    files: Vec<String>,
    pr: Option<u64>,
    what: String,
}

#[derive(Clone)]
struct PrRef {
    number: u64,
    merged: Option<String>,
}

/// `convoy/release/<package>-<version>`: one per repository and wave, found again on resume.
pub fn release_branch(first: &Planned) -> String {
    format!("convoy/release/{}-{}", first.package, first.to)
}

fn names(packages: &[Planned]) -> String {
    packages.iter().map(|p| format!("{} {}", p.package, p.to)).collect::<Vec<_>>().join(", ")
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

fn parse_repo(repo: &str) -> Result<RepoId, String> {
    repo.split_once('/').map(|(o, n)| RepoId::new(o, n)).ok_or_else(|| format!("`{repo}` is not owner/name"))
}

/// What `release rollback` did and could not do.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RollbackReport {
    pub undone: Vec<String>,
    /// What stays, and why (published versions without `compensate`, files changed since).
    pub not_undone: Vec<String>,
    pub errors: Vec<String>,
}

/// Undo `state` in reverse order: per package, newest wave first, a published version gets the
/// `compensate` command (its tag and release stay: something may have consumed them), an
/// unpublished one loses its forge release and its tag; then each repository's bump is taken
/// back (the bump pull request closed if open, reverted if merged; a bump commit answered by a
/// commit that restores the bumped files, when nothing changed them since). With `dry_run`,
/// says what it would do and writes nothing.
pub async fn rollback(
    forge: &dyn Forge,
    config: &ReleaseConfig,
    dir: &Path,
    state: &ReleaseState,
    dry_run: bool,
) -> RollbackReport {
    let mut out = RollbackReport::default();
    let would = if dry_run { "would " } else { "" };
    let mut bumps: Vec<(String, PackageState, Vec<String>)> = Vec::new();
    for p in state.plan.waves.iter().rev().flat_map(|w| w.iter().rev()) {
        let Some(st) = state.packages.get(&p.package) else { continue };
        let Ok(id) = parse_repo(&st.repo) else { continue };
        let what = format!("{} {}", p.package, p.to);
        if st.published {
            match &config.compensate {
                Some(cmd) => {
                    let cmd = cmd
                        .get_ref()
                        .replace("{name}", &p.package)
                        .replace("{version}", &p.to)
                        .replace("{tag}", &st.tag)
                        .replace("{repo}", &st.repo);
                    if dry_run {
                        out.undone.push(format!("{what}: would run `{cmd}`"));
                    } else {
                        match run_compensation(&cmd, dir).await {
                            Ok(()) => out.undone.push(format!("{what}: ran `{cmd}`")),
                            Err(e) => out.errors.push(format!("{what}: `{cmd}` {e}")),
                        }
                    }
                }
                None => out.not_undone.push(format!(
                    "{what} is published and stays (set [release] compensate, e.g. \"cargo yank --version {{version}} {{name}}\")"
                )),
            }
            out.not_undone.push(format!("{what}: tag {} and its release kept (the version is out)", st.tag));
        } else {
            if let Some(rid) = st.release_id {
                if dry_run {
                    out.undone.push(format!("{what}: would delete release {}", st.tag));
                } else {
                    match forge.delete_release(&id, rid).await {
                        Ok(()) | Err(ForgeError::NotFound(_)) => {
                            out.undone.push(format!("{what}: deleted release {}", st.tag))
                        }
                        Err(e) => out.errors.push(format!("{what}: release {}: {e}", st.tag)),
                    }
                }
            }
            if st.tagged {
                if dry_run {
                    out.undone.push(format!("{what}: would delete tag {}", st.tag));
                } else {
                    match forge.delete_tag(&id, &st.tag).await {
                        Ok(_) => out.undone.push(format!("{what}: deleted tag {}", st.tag)),
                        Err(e) => out.errors.push(format!("{what}: tag {}: {e}", st.tag)),
                    }
                }
            }
        }
        if st.sha.is_some() && (st.bumped_from.is_some() || st.pr.is_some()) {
            match bumps.iter_mut().find(|(r, s, _)| *r == st.repo && s.sha == st.sha) {
                Some(entry) => entry.2.push(what.clone()),
                None => bumps.push((st.repo.clone(), st.clone(), vec![what.clone()])),
            }
        }
    }
    for (repo, st, whats) in bumps {
        let Ok(id) = parse_repo(&repo) else { continue };
        let label = whats.join(", ");
        let outcome = if let Some(number) = st.pr {
            undo_pull_request(forge, &id, number, &label, dry_run).await
        } else {
            undo_commit(forge, &id, &st, &label, dry_run).await
        };
        match outcome {
            Ok(Some(line)) => out.undone.push(format!("{repo}: {would}{line}")),
            Ok(None) => {}
            Err(Undo::Kept(why)) => out.not_undone.push(format!("{repo}: the bump of {label} stays: {why}")),
            Err(Undo::Failed(e)) => out.errors.push(format!("{repo}: the bump of {label}: {e}")),
        }
    }
    out
}

enum Undo {
    Kept(String),
    Failed(String),
}

async fn undo_pull_request(
    forge: &dyn Forge,
    id: &RepoId,
    number: u64,
    label: &str,
    dry_run: bool,
) -> Result<Option<String>, Undo> {
    let pr = forge.get_pull_request(id, number).await.map_err(|e| Undo::Failed(format!("#{number}: {e}")))?;
    match pr.state {
        PrState::Closed => Ok(None),
        PrState::Open if dry_run => Ok(Some(format!("close #{number}"))),
        PrState::Open => {
            let update = crate::forge::PullRequestUpdate { state: Some(PrState::Closed), ..Default::default() };
            forge
                .update_pull_request(id, number, &update)
                .await
                .map_err(|e| Undo::Failed(format!("#{number}: {e}")))?;
            let _ = forge.delete_branch(id, &pr.head).await;
            Ok(Some(format!("closed #{number}")))
        }
        PrState::Merged if dry_run => Ok(Some(format!("revert #{number}"))),
        PrState::Merged => {
            let revert = crate::forge::NewRevert {
                title: format!("Revert the release bump of {label}"),
                body: format!("Reverts #{number}: `convoy release rollback` took this release back."),
                draft: false,
            };
            match forge.revert_pull_request(id, &pr, &revert).await {
                Ok(r) => Ok(Some(format!("reverted #{number} in #{} {}", r.number, r.url))),
                Err(ForgeError::Conflict(e)) => Err(Undo::Kept(format!("#{number} does not revert cleanly: {e}"))),
                Err(e) => Err(Undo::Failed(format!("reverting #{number}: {e}"))),
            }
        }
    }
}

/// A commit on the default branch that gives the bumped files back their content from before
/// the bump, when each is still as the bump left it.
async fn undo_commit(
    forge: &dyn Forge,
    id: &RepoId,
    st: &PackageState,
    label: &str,
    dry_run: bool,
) -> Result<Option<String>, Undo> {
    let (Some(sha), Some(from)) = (&st.sha, &st.bumped_from) else { return Ok(None) };
    let failed = |e: ForgeError| Undo::Failed(e.to_string());
    let branch = st.branch.clone().ok_or_else(|| Undo::Failed("no default branch recorded".into()))?;
    let head =
        forge.branch_head(id, &branch).await.map_err(failed)?.ok_or_else(|| Undo::Failed(format!("no {branch}")))?;
    let mut changes = Vec::new();
    for path in &st.files {
        let bumped = forge.read_file(id, sha, path).await.map_err(failed)?;
        let now = forge.read_file(id, &head, path).await.map_err(failed)?;
        if bumped != now {
            return Err(Undo::Kept(format!("{path} changed after the bump commit {}", short(sha))));
        }
        changes.push(match forge.read_file(id, from, path).await.map_err(failed)? {
            Some(content) => {
                FileChange::Write { path: path.clone(), content, executable: false, was_executable: false }
            }
            None => FileChange::Delete { path: path.clone() },
        });
    }
    if dry_run {
        return Ok(Some(format!("restore {} as before {}", st.files.join(", "), short(sha))));
    }
    let message = format!("Revert the release bump of {label}\n\nThis reverts the files of commit {sha}.\n");
    let made = forge.commit_on_default_branch(id, &head, &changes, &message).await.map_err(failed)?;
    Ok(Some(format!("restored {} in {}", st.files.join(", "), short(&made))))
}

async fn run_compensation(cmd: &str, dir: &Path) -> Result<(), String> {
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .await
        .map_err(|e| format!("could not run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}
