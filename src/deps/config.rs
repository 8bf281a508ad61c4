//! `[align]` in `org.toml`.
//!
//! ```toml
//! [align.cargo]
//! crates = { serde = "1.0.228", tokio = "highest" }
//! ignore = ["openssl-sys"]
//! dev_dependencies = true      # also align dev-dependencies
//! allow_breaking = false       # never cross a semver-incompatible boundary silently
//! org_crates = true            # crates published by the org's repos follow their version
//!
//! [align.actions]
//! versions = { "actions/checkout" = "v4.2.2" }
//! pin = true                   # pin to the commit SHA, version as a trailing comment
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlignConfig {
    #[serde(default)]
    pub cargo: CargoAlign,
    #[serde(default)]
    pub actions: ActionsAlign,
    /// The campaign branch of `convoy deps align` (default `convoy/align-deps`).
    pub branch: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CargoAlign {
    /// Crate name → a version requirement to use everywhere, or `"highest"`: the highest
    /// requirement already used in the org.
    #[serde(default)]
    pub crates: BTreeMap<String, Spanned<String>>,
    /// Crates never touched.
    #[serde(default)]
    pub ignore: Vec<Spanned<String>>,
    /// Align `[dev-dependencies]` too.
    #[serde(default = "yes")]
    pub dev_dependencies: bool,
    /// Cross semver-incompatible boundaries (`1.x` → `2.x`, `0.3` → `0.4`). Off: such a change
    /// is reported, not made.
    #[serde(default)]
    pub allow_breaking: bool,
    /// Crates published by the org's own repositories follow their current version.
    #[serde(default = "yes")]
    pub org_crates: bool,
}

impl Default for CargoAlign {
    fn default() -> Self {
        CargoAlign {
            crates: BTreeMap::new(),
            ignore: Vec::new(),
            dev_dependencies: true,
            allow_breaking: false,
            org_crates: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsAlign {
    /// Action (`owner/repo`, or `owner/repo/path`) → the version to use everywhere (a tag).
    #[serde(default)]
    pub versions: BTreeMap<String, Spanned<String>>,
    /// Pin to the commit the version names, with the version as a trailing comment.
    #[serde(default = "yes")]
    pub pin: bool,
}

impl Default for ActionsAlign {
    fn default() -> Self {
        ActionsAlign { versions: BTreeMap::new(), pin: true }
    }
}
