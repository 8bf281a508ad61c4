//! `[release]`: how `convoy release run` lands version bumps, names tags, and waits for each
//! wave to be published before the next one starts.
//!
//! ```toml
//! [release]
//! mode = "pull-request"               # or "commit": one direct commit on the default branch
//! tag = "{name}-v{version}"           # the tag of each released package
//! safety_bumps = true                 # patch-release dependents whose requirement no longer matches
//! compensate = "cargo yank --version {version} {name}"   # `release rollback`, published versions
//!
//! [release.gate]                      # what "published" means before the next wave
//! kind = "index"                      # none | command | index | workflow
//! index = "https://index.crates.io"   # the sparse index (kind = "index")
//! timeout = "30m"
//!
//! [release.repos."acme/core"]         # per repository
//! tag = "v{version}"
//! gate = { kind = "workflow", workflow = "publish.yml" }
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

/// The tag a release gets when `[release] tag` is not set: `{name}-v{version}`, the form
/// release-plz and cargo-release write for workspaces, and one that `release plan` reads back.
pub const DEFAULT_TAG: &str = "{name}-v{version}";

/// The crates.io sparse index (<https://doc.rust-lang.org/cargo/reference/registry-index.html#sparse-protocol>).
pub const CRATES_IO_INDEX: &str = "https://index.crates.io";

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseConfig {
    /// How version bumps land in each repository.
    #[serde(default)]
    pub mode: Mode,
    /// Tag name template with `{name}` (the package) and `{version}` (default [`DEFAULT_TAG`]).
    #[schemars(with = "Option<String>")]
    pub tag: Option<Spanned<String>>,
    /// Release an unchanged package with a patch bump when a requirement it carries no longer
    /// matches a released dependency's new version (default true; false: plan an error instead).
    #[serde(default = "yes")]
    pub safety_bumps: bool,
    /// The publish gate of every repository without its own.
    #[schemars(with = "Option<GateConfig>")]
    pub gate: Option<Spanned<GateConfig>>,
    /// Run by `release rollback` for each version a gate saw published, with `{name}`,
    /// `{version}`, `{tag}` and `{repo}` filled in (e.g. `cargo yank --version {version} {name}`).
    /// Without it, published versions are listed as not undone.
    #[schemars(with = "Option<String>")]
    pub compensate: Option<Spanned<String>>,
    /// How long `mode = "pull-request"` waits for a bump pull request's checks before it merges
    /// it (default `30m`).
    #[schemars(with = "Option<String>")]
    pub merge_timeout: Option<Spanned<String>>,
    /// Per repository (`owner/name`): its tag template and gate.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, RepoRelease>")]
    pub repos: BTreeMap<String, Spanned<RepoRelease>>,
}

fn yes() -> bool {
    true
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            mode: Mode::default(),
            tag: None,
            safety_bumps: true,
            gate: None,
            compensate: None,
            merge_timeout: None,
            repos: BTreeMap::new(),
        }
    }
}

impl ReleaseConfig {
    /// The tag template for `repo`.
    pub fn tag_template(&self, repo: &str) -> &str {
        self.repos
            .get(repo)
            .and_then(|r| r.get_ref().tag.as_ref())
            .or(self.tag.as_ref())
            .map(|t| t.get_ref().as_str())
            .unwrap_or(DEFAULT_TAG)
    }

    /// The gate for `repo` (`None`: no gate).
    pub fn gate_for(&self, repo: &str) -> Option<&GateConfig> {
        self.repos
            .get(repo)
            .and_then(|r| r.get_ref().gate.as_ref())
            .or(self.gate.as_ref())
            .map(Spanned::get_ref)
            .filter(|g| g.kind != GateKind::None)
    }
}

/// `{name}` and `{version}` filled into a tag template.
pub fn tag_name(template: &str, name: &str, version: &str) -> String {
    template.replace("{name}", name).replace("{version}", version)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// One pull request per repository and wave (branch `convoy/release/<wave>`), merged by
    /// convoy once its checks pass.
    #[default]
    PullRequest,
    /// One commit per repository and wave, straight on the default branch (compare-and-swap:
    /// refused if the branch moved since it was read).
    Commit,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoRelease {
    #[schemars(with = "Option<String>")]
    pub tag: Option<Spanned<String>>,
    #[schemars(with = "Option<GateConfig>")]
    pub gate: Option<Spanned<GateConfig>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GateKind {
    /// Go on at once.
    #[default]
    None,
    /// `command` exits 0 (run with `sh -c` in the manifest's folder, with `CONVOY_PACKAGE`,
    /// `CONVOY_VERSION`, `CONVOY_TAG`, `CONVOY_REPO`).
    Command,
    /// The version is in the registry's sparse index.
    Index,
    /// A run of `workflow` on the tag's commit completed successfully.
    Workflow,
}

/// A publish gate: what must be true of each released package before the next wave starts.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    #[serde(default)]
    pub kind: GateKind,
    /// `kind = "command"`: the command (`sh -c`).
    pub command: Option<String>,
    /// `kind = "index"`: the sparse index's base URL (default [`CRATES_IO_INDEX`]).
    pub index: Option<String>,
    /// `kind = "workflow"`: the workflow file (`publish.yml` or `.github/workflows/publish.yml`).
    pub workflow: Option<String>,
    /// How long to wait before the gate fails (default `30m`; a timeout is never a success).
    pub timeout: Option<String>,
    /// The first wait between polls, doubled after each (default `5s`, at most 5 minutes).
    pub interval: Option<String>,
}

impl GateConfig {
    /// Seconds: the timeout and the first poll interval.
    pub fn timings(&self) -> (u64, u64) {
        let secs = |v: &Option<String>, default: u64| {
            v.as_deref().and_then(|t| crate::manifest::parse_duration(t).ok()).map_or(default, |s| s.max(0) as u64)
        };
        (secs(&self.timeout, 30 * 60), secs(&self.interval, 5).max(1))
    }

    /// What is wrong with this gate, for the manifest's validation.
    pub fn problem(&self) -> Option<(String, &'static str)> {
        let needs = |field: &Option<String>, name: &str, hint: &'static str| {
            field
                .as_deref()
                .is_none_or(|v| v.trim().is_empty())
                .then(|| (format!("a `{}` gate needs `{name}`", format!("{:?}", self.kind).to_lowercase()), hint))
        };
        let missing = match self.kind {
            GateKind::Command => needs(&self.command, "command", "e.g. command = \"cargo publish -p $CONVOY_PACKAGE\""),
            GateKind::Workflow => needs(&self.workflow, "workflow", "e.g. workflow = \"publish.yml\""),
            GateKind::Index | GateKind::None => None,
        };
        if missing.is_some() {
            return missing;
        }
        for (field, value) in [("timeout", &self.timeout), ("interval", &self.interval)] {
            if let Some(v) = value
                && let Err(e) = crate::manifest::parse_duration(v)
            {
                return Some((format!("gate `{field}`: {e}"), "write e.g. \"30m\" or \"10s\""));
            }
        }
        if let Some(url) = &self.index
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Some((
                format!("gate `index` = `{url}` is not an http(s) URL"),
                "write the sparse index's URL without `sparse+`, e.g. \"https://index.crates.io\"",
            ));
        }
        None
    }
}
