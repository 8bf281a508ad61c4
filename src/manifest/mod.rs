//! The `org.toml` model: what the org is, which repositories convoy manages, and what it puts in them.
//!
//! The serde structs here *are* the model: fields that later checks must point back at are kept
//! as [`Spanned`] so every semantic error (a missing template, a selector that matches nothing)
//! names the exact line and column, not only parse errors.

pub mod discover;
mod load;
pub mod schema;
pub mod selector;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

pub use load::{ManifestError, load, load_str, valid_branch_name};
pub use selector::Selector;

/// A loaded manifest: the parsed model plus where it came from, so paths resolve relative to it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file as given (used in error messages).
    pub path: PathBuf,
    /// The folder relative paths are resolved against.
    pub dir: PathBuf,
    /// The raw text, kept to turn spans into line/column later.
    pub source: String,
    pub model: OrgManifest,
}

impl Manifest {
    pub fn templates_dir(&self) -> PathBuf {
        self.dir.join("templates")
    }
    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join(&self.model.org.cache_dir)
    }
    pub fn forge(&self) -> &ForgeConfig {
        &self.model.org.forge
    }
    /// Resolve a path written in the manifest against the manifest's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() { path.to_path_buf() } else { self.dir.join(path) }
    }
    pub fn campaign(&self) -> &Campaign {
        &self.model.campaign
    }
}

/// The whole `org.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgManifest {
    pub org: Org,
    /// Global template variables, visible as `vars.*` in every template.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, toml::Value>,
    /// Named selector lists, referenced as `group:NAME`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub groups: BTreeMap<String, Vec<Spanned<String>>>,
    /// Repository rules: which repos are managed, with tags and variables.
    #[serde(default, rename = "repo")]
    #[schemars(with = "Vec<RepoRule>")]
    pub repos: Vec<Spanned<RepoRule>>,
    #[serde(default, rename = "template")]
    pub templates: Vec<TemplateEntry>,
    #[serde(default, rename = "file")]
    pub files: Vec<FileEntry>,
    /// `[[replace]]`: text replacements over matching files (`transform::replace`).
    #[serde(default, rename = "replace")]
    pub replaces: Vec<ReplaceEntry>,
    /// `[[patch]]`: key-level edits of YAML, JSON and TOML files and line edits of line lists,
    /// the rest of each file kept byte for byte (`transform::patch`).
    #[serde(default, rename = "patch")]
    pub patches: Vec<PatchEntry>,
    /// `[[script]]`: commands run in a scratch checkout of each repository (`transform::script`).
    #[serde(default, rename = "script")]
    pub scripts: Vec<ScriptEntry>,
    #[serde(default)]
    pub campaign: Campaign,
    /// `[policy]`: workflow rules for `convoy audit`.
    #[serde(default)]
    pub policy: crate::policy::config::PolicyConfig,
    /// `[align]`: dependency alignment for `convoy deps`.
    #[serde(default)]
    pub align: crate::deps::config::AlignConfig,
    /// `[rollout]`: gate defaults and org-wide caps for `[[wave]]`s.
    #[serde(default)]
    pub rollout: RolloutConfig,
    /// `[[wave]]`: the campaign's rollout waves, in order (none: one pass over every repository).
    #[serde(default, rename = "wave")]
    pub waves: Vec<Wave>,
    /// `[state]`: where campaigns keep their journal, claim and rollout state (default: beside
    /// the manifest, `.convoy/campaigns/`).
    #[serde(default)]
    pub state: StateConfig,
    /// `[release]`: how `convoy release run` lands bumps, names tags and gates waves.
    #[serde(default)]
    pub release: crate::release::config::ReleaseConfig,
}

/// `[state]`: keep each campaign's journal, claim and rollout state on a branch of a control
/// repository instead of beside the manifest, for scheduled runs in CI whose disk does not
/// outlive them. Every change is one commit made with compare-and-swap (the branch moves only
/// if it is still where the writer read it), so two runners cannot both win a claim. Artifacts
/// and the Actions cache are not used: artifacts expire and cache entries are immutable.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// The control repository, `owner/name` (it need not be selected).
    #[schemars(with = "Option<String>")]
    pub repo: Option<Spanned<String>>,
    /// The state branch (default `convoy-state`); created from the control repository's
    /// default branch on first use.
    #[schemars(with = "Option<String>")]
    pub branch: Option<Spanned<String>>,
}

impl StateConfig {
    pub const DEFAULT_BRANCH: &'static str = "convoy-state";
}

/// What a wave's gate requires of its pull requests before the next wave starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    /// Every pull request of the wave is merged.
    Merged,
    /// Every pull request of the wave has green checks (or is merged).
    ChecksGreen,
    /// Every repository of the wave has its pull request opened.
    Opened,
}

/// What a halted campaign does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnHalt {
    /// Stop: nothing more is applied until `convoy rollout resume`.
    #[default]
    Stop,
    /// Stop and roll back (close the campaign's open pull requests and delete their branches).
    Rollback,
}

/// A wave's gate keys, or the `[rollout]` defaults every wave falls back to (all optional). The
/// same keys are written in `[rollout]` and in each `[[wave]]` (not `#[serde(flatten)]`, which
/// would lose the spans that errors point at).
#[derive(Debug, Clone, Default)]
pub struct Gate {
    pub require: Option<Require>,
    /// How long after the wave's last merge (or, with nothing merged, after the wave was
    /// applied) the next wave waits: `30m`, `24h`, `2d` (jiff's friendly duration format).
    pub soak: Option<Spanned<String>>,
    /// Halt the campaign when more than this share of the wave's pull requests failed
    /// (failing checks, or closed unmerged by a person): `0.2`.
    pub max_failure_ratio: Option<Spanned<f64>>,
    pub on_halt: Option<OnHalt>,
    /// A person must run `convoy rollout approve WAVE` before this wave is applied.
    pub approve: Option<bool>,
}

/// `[rollout]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutConfig {
    /// What the gate waits for: `merged`, `checks-green` or `opened` (see [`Require`]).
    pub require: Option<Require>,
    /// How long after the wave's last merge (or, with nothing merged, after it was applied)
    /// the next wave waits: `30m`, `24h`, `2d`.
    #[schemars(with = "Option<String>")]
    pub soak: Option<Spanned<String>>,
    /// Halt the campaign when more than this share of the wave's pull requests failed: `0.2`.
    #[schemars(with = "Option<f64>")]
    pub max_failure_ratio: Option<Spanned<f64>>,
    /// What a halted campaign does: `stop` (default) or `rollback`.
    pub on_halt: Option<OnHalt>,
    /// A person must run `convoy rollout approve WAVE` before the wave is applied.
    pub approve: Option<bool>,
    /// At most this many of the campaign's pull requests open at once, across every wave.
    pub max_open_prs: Option<usize>,
    /// At most this many new pull requests in any hour (a CI storm across the org is the thing
    /// to avoid).
    pub max_new_prs_per_hour: Option<usize>,
}

/// `[[wave]]`: a named set of repositories, applied in order.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    /// Selectors of the wave's repositories (names, globs, `tag:`, `topic:`, `group:`). A
    /// repository belongs to the first wave that selects it.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub repos: Vec<Spanned<String>>,
    /// Every selected repository no earlier wave took (the last wave, usually).
    #[serde(default)]
    pub rest: bool,
    /// What the gate waits for: `merged`, `checks-green` or `opened` (see [`Require`]).
    pub require: Option<Require>,
    /// How long after the wave's last merge (or, with nothing merged, after it was applied)
    /// the next wave waits: `30m`, `24h`, `2d`.
    #[schemars(with = "Option<String>")]
    pub soak: Option<Spanned<String>>,
    /// Halt the campaign when more than this share of the wave's pull requests failed: `0.2`.
    #[schemars(with = "Option<f64>")]
    pub max_failure_ratio: Option<Spanned<f64>>,
    /// What a halted campaign does: `stop` (default) or `rollback`.
    pub on_halt: Option<OnHalt>,
    /// A person must run `convoy rollout approve WAVE` before the wave is applied.
    pub approve: Option<bool>,
}

impl RolloutConfig {
    /// The defaults every wave falls back to.
    pub fn defaults(&self) -> Gate {
        Gate {
            require: self.require,
            soak: self.soak.clone(),
            max_failure_ratio: self.max_failure_ratio.clone(),
            on_halt: self.on_halt,
            approve: self.approve,
        }
    }
}

impl Wave {
    /// This wave's gate keys as written.
    pub fn gate(&self) -> Gate {
        Gate {
            require: self.require,
            soak: self.soak.clone(),
            max_failure_ratio: self.max_failure_ratio.clone(),
            on_halt: self.on_halt,
            approve: self.approve,
        }
    }
}

/// A duration such as `24h`, `30m`, `2d`, `1h 30m` in seconds, or why not.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let d: jiff::SignedDuration =
        text.trim().parse().map_err(|e| format!("`{text}` is not a duration such as `30m`, `24h` or `2d`: {e}"))?;
    if d.is_negative() {
        return Err(format!("`{text}` is negative"));
    }
    Ok(d.as_secs())
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Org {
    /// The owner on the forge: a GitHub organisation or user, or a folder under the local root.
    pub name: String,
    /// Used when the forge does not report a repository's default branch.
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// Branch-name globs no campaign branch (`[campaign] branch`, `[policy] fix_branch`,
    /// `[align] branch`) may match, beside every repository's default branch: convoy
    /// force-updates and deletes its own branches. `*` stays within one `/` level.
    #[serde(default = "default_protected_branches")]
    #[schemars(with = "Vec<String>")]
    pub protected_branches: Vec<Spanned<String>>,
    /// How many repositories are worked on at once.
    #[serde(default = "default_jobs")]
    #[schemars(range(min = 1))]
    pub jobs: usize,
    /// The clone cache, relative to the manifest's folder.
    #[serde(default = "default_cache_dir")]
    pub cache_dir: PathBuf,
    /// Archived repositories are skipped unless this is set.
    #[serde(default)]
    pub include_archived: bool,
    /// Forks are managed like any repository unless this is set to false.
    #[serde(default = "yes")]
    pub include_forks: bool,
    pub forge: ForgeConfig,
}

fn yes() -> bool {
    true
}
fn default_branch() -> String {
    "main".into()
}
fn default_protected_branches() -> Vec<Spanned<String>> {
    ["main", "master", "trunk", "develop", "gh-pages", "release/*", "releases/*"].into_iter().map(unspanned).collect()
}
fn default_jobs() -> usize {
    8
}
fn default_cache_dir() -> PathBuf {
    PathBuf::from(".convoy/cache")
}

/// Which forge backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForgeKind {
    /// A folder of bare repositories plus convoy's own forge state: the embedded default.
    Local,
    /// GitHub or GitHub Enterprise Server (docs/github.md).
    Github,
}

/// Where the repositories live. A flat struct rather than a tagged enum: serde's tagged enums
/// buffer their content and lose the spans the error messages need.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgeConfig {
    #[schemars(with = "ForgeKind")]
    pub kind: Spanned<ForgeKind>,
    /// local: `<root>/<owner>/<name>.git`, relative to the manifest's folder.
    #[serde(default)]
    #[schemars(with = "Option<PathBuf>")]
    pub root: Option<Spanned<PathBuf>>,
    /// local: clone through this URL instead of the bare repo's path, e.g.
    /// `git://127.0.0.1:9418/{owner}/{name}.git` for a `git daemon` serving `root`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub clone_url: Option<Spanned<String>>,
    /// github: the REST API base (GitHub Enterprise Server: `https://HOST/api/v3`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub api_url: Option<Spanned<String>>,
    /// github: authenticate as this GitHub App (when no GITHUB_TOKEN/GH_TOKEN is set).
    #[serde(default)]
    pub app_id: Option<u64>,
    /// github: the App's private key (PEM), relative to the manifest's folder; or set
    /// CONVOY_GITHUB_APP_PRIVATE_KEY to the PEM text.
    #[serde(default)]
    #[schemars(with = "Option<PathBuf>")]
    pub private_key_path: Option<Spanned<PathBuf>>,
    /// github: the App's installation on the org (looked up when omitted).
    #[serde(default)]
    pub installation_id: Option<u64>,
    /// github: content-creating requests per minute, at most (GitHub documents 80).
    #[serde(default = "default_writes_per_minute")]
    pub writes_per_minute: u32,
    /// github: content-creating requests per hour, at most (GitHub documents 500).
    #[serde(default = "default_writes_per_hour")]
    pub writes_per_hour: u32,
    /// github: the longest wait, in seconds, for a rate limit to reset before a request fails.
    #[serde(default = "default_rate_limit_wait")]
    pub rate_limit_wait: u64,
    /// github: content-creating requests in flight at once. GitHub asks integrations for 1
    /// (serial writes); raise it only where the server's limits allow (e.g. a GHES).
    #[serde(default = "default_write_concurrency")]
    pub write_concurrency: usize,
    /// github: pull request updates sent together in one GraphQL document (one paced write for
    /// up to this many PRs); 1 sends each as its own REST request.
    #[serde(default = "default_graphql_batch")]
    pub graphql_batch: usize,
    /// github: seconds to wait for a connection to the API (default 20).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u64,
    /// github: seconds of silence allowed while waiting for response bytes (default 60).
    #[serde(default = "default_read_timeout")]
    pub read_timeout: u64,
    /// github: seconds one API request may take in all, sending to last byte (default 120); a
    /// request that runs out of time is not retried.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: u64,
}

fn default_connect_timeout() -> u64 {
    20
}
fn default_read_timeout() -> u64 {
    60
}
fn default_request_timeout() -> u64 {
    120
}

fn default_write_concurrency() -> usize {
    1
}

fn default_graphql_batch() -> usize {
    20
}

fn default_writes_per_minute() -> u32 {
    30
}
fn default_writes_per_hour() -> u32 {
    400
}
fn default_rate_limit_wait() -> u64 {
    900
}

/// A `[[repo]]` rule. Exactly one of `name` or `topic` selects repositories from the forge listing.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepoRule {
    /// `owner/name`, `name`, or a glob such as `acme/svc-*`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// Select every repository carrying this forge topic.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub topic: Option<Spanned<String>>,
    /// Manifest-side tags, used by `tag:` selectors.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Per-repo template variables; they override global and template variables.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, toml::Value>,
    /// Remove the matched repositories from the selection.
    #[serde(default)]
    pub exclude: bool,
}

/// A `[[template]]`: a minijinja template rendered into each repo it applies to.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateEntry {
    /// Relative to `templates/` beside the manifest.
    #[schemars(with = "String")]
    pub source: Spanned<String>,
    /// Destination path inside each repository.
    #[schemars(with = "String")]
    pub dest: Spanned<String>,
    /// Selectors; default: every selected repository.
    #[serde(default = "all_repos")]
    #[schemars(with = "Vec<String>")]
    pub repos: Vec<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, toml::Value>,
}

/// A `[[replace]]`: a regular expression (or literal text) replaced in every file whose path
/// matches `files`, in the selected repositories (`transform::replace` has the rules).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceEntry {
    /// Globs over paths from the repository root (`globset`: `*` stays within a folder, `**`
    /// crosses folders), e.g. `["**/*.rs", "Cargo.toml"]`.
    #[schemars(with = "Vec<String>")]
    pub files: Vec<Spanned<String>>,
    /// A regular expression in the `regex` crate's syntax (or plain text with `literal`).
    #[schemars(with = "String")]
    pub pattern: Spanned<String>,
    /// What each match becomes; `$1`, `${name}` expand capture groups, `$$` is `$`.
    #[schemars(with = "String")]
    pub replacement: Spanned<String>,
    /// Match `pattern` as plain text and insert `replacement` as written.
    #[serde(default)]
    pub literal: bool,
    /// At most this many replacements per file (the first ones); 0: all.
    #[serde(default)]
    pub max_per_file: usize,
    #[serde(default = "all_repos")]
    #[schemars(with = "Vec<String>")]
    pub repos: Vec<Spanned<String>>,
}

/// A `[[patch]]`: operations on every file whose path matches `files`, in the selected
/// repositories, in one format (`transform::patch` has the rules).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchEntry {
    /// Globs over paths from the repository root (`globset`, as `[[replace]]`'s `files`).
    #[schemars(with = "Vec<String>")]
    pub files: Vec<Spanned<String>>,
    /// How the files are read; unset: `lines` when every op is a line op, otherwise from the
    /// extension every glob ends with (`.yml`/`.yaml`, `.json`, `.toml`).
    #[serde(default)]
    #[schemars(with = "Option<PatchFormat>")]
    pub format: Option<Spanned<PatchFormat>>,
    /// `[[patch.op]]`: the operations, applied in order.
    #[serde(default, rename = "op")]
    #[schemars(with = "Vec<PatchOp>")]
    pub ops: Vec<Spanned<PatchOp>>,
    #[serde(default = "all_repos")]
    #[schemars(with = "Vec<String>")]
    pub repos: Vec<Spanned<String>>,
}

/// A `[[script]]`: a command run in a scratch checkout of each selected repository; what it
/// changes there becomes the repository's edits (`transform::script` has the rules).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptEntry {
    /// What the entry is called in the plan, the PR body's `changes` list and errors (default:
    /// the command).
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    /// A command line, run with `sh -c` in the checkout. Exactly one of `run` and `command`.
    #[schemars(with = "Option<String>")]
    pub run: Option<Spanned<String>>,
    /// A program and its arguments, run as they are (no shell).
    #[schemars(with = "Option<Vec<String>>")]
    pub command: Option<Vec<Spanned<String>>>,
    /// How long one run may take before it is killed: `30s`, `5m` (default), `1h`.
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    /// Extra environment variables for the command (after convoy's own, so they may override).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default = "all_repos")]
    #[schemars(with = "Vec<String>")]
    pub repos: Vec<Spanned<String>>,
}

/// The format of a `[[patch]]`'s files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PatchFormat {
    Yaml,
    Json,
    Toml,
    /// A list of lines (`.gitignore`, `CODEOWNERS`).
    Lines,
}

/// One `[[patch.op]]`: exactly one of `set`, `remove`, `append` (a key path, with `value` for
/// `set` and `append`), `ensure_line` or `remove_line` (for `lines`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchOp {
    /// Set the key path to `value`, creating missing mappings on the way.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub set: Option<Spanned<String>>,
    /// Remove the key (or item) at the key path, if it is there.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub remove: Option<Spanned<String>>,
    /// Append `value` to the sequence at the key path unless an equal item is there (the
    /// sequence is created when missing).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub append: Option<Spanned<String>>,
    /// The value of `set` and `append`, a TOML value written in the target format.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub value: Option<toml::Value>,
    /// `lines`: append this line unless the file has it.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub ensure_line: Option<Spanned<String>>,
    /// `lines`: remove every line equal to this one.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub remove_line: Option<Spanned<String>>,
}

/// A `[[file]]`: a shared file, copied verbatim or rendered, or a shared folder synced file by
/// file (`transform::files` has the rules).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to `files/` beside the manifest: a file, or a folder whose files (recursively)
    /// go to the same relative paths under `dest`. Omitted with `delete = true`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub source: Option<Spanned<String>>,
    /// The file (or, for a folder source, the folder) in the repository.
    #[schemars(with = "String")]
    pub dest: Spanned<String>,
    #[serde(default = "all_repos")]
    #[schemars(with = "Vec<String>")]
    pub repos: Vec<Spanned<String>>,
    /// Render through minijinja (same context as templates) instead of copying bytes.
    #[serde(default)]
    pub render: bool,
    /// Remove `dest` from the matched repositories.
    #[serde(default)]
    pub delete: bool,
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub vars: BTreeMap<String, toml::Value>,
    /// `"100644"` or `"100755"`: the git file mode `dest` gets, new or existing. Unset: a new
    /// file is `100755` when its source is executable, an existing file keeps its mode.
    #[serde(default)]
    #[schemars(with = "Option<crate::change::FileMode>")]
    pub mode: Option<Spanned<crate::change::FileMode>>,
    /// `false`: write `dest` only where the repository does not have it yet (create only).
    #[serde(default = "yes")]
    pub replace: bool,
    /// Folder sources only: globs over paths relative to the source folder (`globset`, `*`
    /// stays within a folder, `dir/**` is everything under `dir`) that are neither copied nor,
    /// with `delete_orphaned`, deleted.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exclude: Vec<Spanned<String>>,
    /// Folder sources only: delete the files under `dest` that the source folder does not have
    /// (and that `exclude` does not match).
    #[serde(default)]
    pub delete_orphaned: bool,
}

fn all_repos() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "*".to_string())]
}

/// `[campaign]`: how changes reach the forge.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    /// One branch name across every repository: the campaign's identity.
    #[serde(default = "default_campaign_branch")]
    #[schemars(with = "String")]
    pub branch: Spanned<String>,
    #[serde(default = "default_commit_message")]
    #[schemars(with = "String")]
    pub commit_message: Spanned<String>,
    /// minijinja template for the PR title.
    #[serde(default = "default_title")]
    #[schemars(with = "String")]
    pub title: Spanned<String>,
    /// minijinja template for the PR body; convoy appends the list of sibling PRs.
    #[serde(default = "default_body")]
    #[schemars(with = "String")]
    pub body: Spanned<String>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub draft: bool,
    /// Users (`login`) and teams (`team:slug`) asked to review each new pull request.
    #[serde(default)]
    pub reviewers: Vec<String>,
    #[serde(default)]
    pub assignees: Vec<String>,
    /// Turn on the forge's auto-merge with this method (`merge`, `squash`, `rebase`) for each new
    /// pull request, where the repository allows auto-merge.
    #[serde(default)]
    pub auto_merge: Option<crate::forge::MergeMethod>,
    /// Keep a list of the files convoy placed (`.github/convoy-managed`) and delete those the
    /// manifest no longer declares.
    #[serde(default)]
    pub prune: bool,
    /// What to do when the campaign branch exists with commits convoy did not write and no pull
    /// request is open for it: `skip` (default) leaves it and says so, `replace` rebuilds it.
    #[serde(default)]
    pub conflict_strategy: ConflictStrategy,
    /// Open a new pull request where a person closed convoy's last one (default: leave it closed
    /// and report it; `convoy apply --reopen` does the same for one run).
    #[serde(default)]
    pub reopen_closed: bool,
    /// How `convoy merge` merges (`merge`, `squash`, `rebase`; GitHub's `merge_method`). Unset:
    /// the `auto_merge` method when set, else `merge`.
    #[serde(default)]
    pub merge_method: Option<crate::forge::MergeMethod>,
}

impl Campaign {
    /// The method `convoy merge` uses.
    pub fn merge_method(&self) -> crate::forge::MergeMethod {
        self.merge_method.or(self.auto_merge).unwrap_or_default()
    }
}

/// `[campaign] conflict_strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConflictStrategy {
    /// Leave a campaign branch that carries commits convoy did not write.
    #[default]
    Skip,
    /// Force-replace it with convoy's commit.
    Replace,
}

impl Default for Campaign {
    fn default() -> Self {
        Campaign {
            branch: default_campaign_branch(),
            commit_message: default_commit_message(),
            title: default_title(),
            body: default_body(),
            labels: Vec::new(),
            draft: false,
            reviewers: Vec::new(),
            assignees: Vec::new(),
            auto_merge: None,
            prune: false,
            conflict_strategy: ConflictStrategy::Skip,
            reopen_closed: false,
            merge_method: None,
        }
    }
}

fn unspanned(s: &str) -> Spanned<String> {
    Spanned::new(0..0, s.to_string())
}
fn default_campaign_branch() -> Spanned<String> {
    unspanned("convoy/sync")
}
fn default_commit_message() -> Spanned<String> {
    unspanned("chore: sync files managed by convoy")
}
fn default_title() -> Spanned<String> {
    unspanned("chore: sync files managed by convoy")
}
fn default_body() -> Spanned<String> {
    unspanned(
        "This pull request was opened by convoy to keep {{ repo.full_name }} in step with the {{ org.name }} org manifest.",
    )
}
