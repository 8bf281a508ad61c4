//! What Cargo discovery finds in one repository: packages, workspaces, and every dependency use
//! with the manifest and table it is written in (so a report can point at it and an edit can
//! find it again).

use serde::{Deserialize, Serialize};

/// `[dependencies]`, `[dev-dependencies]` or `[build-dependencies]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

/// Where a dependency comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum DepSource {
    /// crates.io or another registry (`registry = "..."` when named).
    Registry { registry: Option<String> },
    /// `path = "..."` (possibly with a `version` for publishing).
    Path { path: String },
    /// `git = "..."` with an optional `branch`/`tag`/`rev`.
    Git { url: String, reference: Option<String> },
    /// `name.workspace = true`: the requirement is the one in `[workspace.dependencies]`.
    Workspace,
}

/// One dependency as written in one table of one manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepUse {
    /// `owner/name` of the repository.
    pub repo: String,
    /// Repository-relative path of the `Cargo.toml`.
    pub manifest: String,
    /// The package whose manifest this is; `None` for a virtual workspace root.
    pub package: Option<String>,
    /// The table path as written in TOML, e.g. `["dependencies"]`,
    /// `["target", "cfg(unix)", "dev-dependencies"]`, `["workspace", "dependencies"]`.
    pub table: Vec<String>,
    /// The key in that table (differs from `name` when renamed with `package = "..."`).
    pub key: String,
    /// The crate's real name.
    pub name: String,
    /// The version requirement as written (`None` for `workspace = true`, or a path/git
    /// dependency without `version`).
    pub req: Option<String>,
    pub kind: DepKind,
    pub optional: bool,
    pub source: DepSource,
    /// For `workspace = true` uses: the requirement inherited from the workspace root.
    pub inherited_req: Option<String>,
    /// 1-based line of the entry, for reports.
    pub line: usize,
}

impl DepUse {
    /// The requirement in force: written here, or inherited.
    pub fn effective_req(&self) -> Option<&str> {
        self.req.as_deref().or(self.inherited_req.as_deref())
    }
    /// `"dependencies"` for `[target.'cfg(unix)'.dependencies]` too.
    pub fn table_kind(&self) -> &str {
        self.table.last().map(String::as_str).unwrap_or_default()
    }
}

/// A package found in a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub repo: String,
    pub manifest: String,
    pub name: String,
    /// `None` when the version is inherited from the workspace and the root does not set it.
    pub version: Option<String>,
    /// `publish = false` (such crates are not "published by the org").
    pub publish: bool,
    /// Why Cargo refuses to build the package, when it does: a workspace root above it neither
    /// lists it in `members` nor excludes it ("current package believes it's in a workspace
    /// when it's not"). Such a package is no org crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Whether it is the repository's root package (`Cargo.toml` at the top) or its only one:
    /// the package a bare `v1.2.3` tag belongs to.
    #[serde(default)]
    pub primary: bool,
}

/// A manifest that could not be read: reported for its repository, the rest go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestError {
    pub repo: String,
    pub manifest: String,
    pub message: String,
}

/// Everything discovery found in one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoDeps {
    pub packages: Vec<Package>,
    pub uses: Vec<DepUse>,
    pub errors: Vec<ManifestError>,
}
