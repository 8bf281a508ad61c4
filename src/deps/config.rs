//! `[align]` in `org.toml`.
//!
//! ```toml
//! [align.cargo]
//! crates = { serde = "1.0.228", tokio = "highest" }
//! ignore = ["openssl-sys"]
//! dev_dependencies = true      # also align dev-dependencies
//! allow_breaking = false       # never make a change no single version satisfies before and after
//! org_crates = true            # crates published by the org's repos follow their release
//! move_exact_pins = false      # `=1.2.3` is left for a person
//!
//! [align.actions]
//! versions = { "actions/checkout" = "v4.2.2" }
//! pin = true                   # pin to the commit SHA, version as a trailing comment
//! allow_downgrade = false      # a move to an older version is left for a person
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlignConfig {
    #[serde(default)]
    pub cargo: CargoAlign,
    #[serde(default)]
    pub actions: ActionsAlign,
    /// The campaign branch of `convoy deps align` (default `convoy/align-deps`).
    #[schemars(with = "Option<String>")]
    pub branch: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CargoAlign {
    /// Crate name → the version to move every use to (`"1.5"`, `"1.0.228"`, `"^1.5"`: version
    /// numbers; each use keeps its own operator), or `"highest"`: the highest caret or tilde
    /// requirement already used in the org (exact pins and ranges do not count).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub crates: BTreeMap<String, Spanned<String>>,
    /// Crates never touched.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ignore: Vec<Spanned<String>>,
    /// Align `[dev-dependencies]` too.
    #[serde(default = "yes")]
    pub dev_dependencies: bool,
    /// Make changes after which no single version satisfies both the old and the new
    /// requirement (`1.x` → `2.x`, `0.3` → `0.4`, `~1.2.0` → `~1.5.0`): the question
    /// `convoy deps skew` asks ([`super::versions::compatible`]). Off: such a change is
    /// reported, not made.
    #[serde(default)]
    pub allow_breaking: bool,
    /// Crates published by the org's own repositories (a package with a version, not
    /// `publish = false`, that Cargo accepts) follow their released version: the newest release
    /// tag of that crate, or its manifest's version when that is ahead. On by default.
    #[serde(default = "yes")]
    pub org_crates: bool,
    /// Move exact pins (`=0.8.1` → `=0.8.5`, `=` kept). Off: they are left for a person.
    #[serde(default)]
    pub move_exact_pins: bool,
}

impl Default for CargoAlign {
    fn default() -> Self {
        CargoAlign {
            crates: BTreeMap::new(),
            ignore: Vec::new(),
            dev_dependencies: true,
            allow_breaking: false,
            org_crates: true,
            move_exact_pins: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionsAlign {
    /// Action (`owner/repo`, or `owner/repo/path`) → the version to use everywhere (a tag).
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, String>")]
    pub versions: BTreeMap<String, Spanned<String>>,
    /// Pin to the commit the version names, with the version as a trailing comment.
    #[serde(default = "yes")]
    pub pin: bool,
    /// Move a `uses:` to a version older than the one it names (`v4` → `v3.6.0`). Off: such a
    /// change is left for a person.
    #[serde(default)]
    pub allow_downgrade: bool,
}

impl Default for ActionsAlign {
    fn default() -> Self {
        ActionsAlign { versions: BTreeMap::new(), pin: true, allow_downgrade: false }
    }
}
