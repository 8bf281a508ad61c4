//! What `GITHUB_TOKEN` permissions common actions need, as data, each entry with the page that
//! says so (the action's README or `action.yml`, or GitHub's own docs).
//!
//! `audit --fix` reads this table before it narrows a workflow's token: a job whose steps are
//! all known here gets exactly the scopes the table names (never fewer); a job with an action
//! that is not here, or one marked [`Need::Unknowable`], is left for a person. Scopes are
//! GitHub's names ("Permissions for the `GITHUB_TOKEN`", GitHub docs
//! `actions/security-for-github-actions/security-guides/automatic-token-authentication#permissions-for-the-github_token`);
//! levels are `read` < `write`.
//!
//! To add an action: read what its docs say it does with the token (an input such as `token`,
//! `github-token` or `repo-token` that defaults to `${{ github.token }}` hands it the token even
//! when the workflow does not mention it), add the scopes it writes or reads, and cite the page.

/// What one action needs from the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// These scopes (on top of what the job needs otherwise); `extra` scopes apply only when the
    /// step sets the named input (to anything but `false`).
    Scopes {
        scopes: &'static [(&'static str, &'static str)],
        extra: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    },
    /// The action runs code the workflow supplies with the token (a script, an arbitrary API
    /// call): what it needs cannot be told from the action.
    Unknowable,
}

/// One action: `owner/name` (or `owner/name/path`), lowercase, as in `uses:` without the ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub action: &'static str,
    pub need: Need,
    /// The page that documents it.
    pub source: &'static str,
}

const fn scopes(scopes: &'static [(&'static str, &'static str)]) -> Need {
    Need::Scopes { scopes, extra: &[] }
}

/// The table, sorted by action.
pub const TABLE: &[Entry] = &[
    Entry {
        action: "actions/cache",
        need: scopes(&[]),
        source: "https://github.com/actions/cache/blob/main/action.yml",
    },
    Entry {
        action: "actions/cache/restore",
        need: scopes(&[]),
        source: "https://github.com/actions/cache/blob/main/restore/action.yml",
    },
    Entry {
        action: "actions/cache/save",
        need: scopes(&[]),
        source: "https://github.com/actions/cache/blob/main/save/action.yml",
    },
    Entry {
        action: "actions/checkout",
        need: scopes(&[("contents", "read")]),
        source: "https://github.com/actions/checkout#recommended-permissions",
    },
    Entry {
        action: "actions/configure-pages",
        need: scopes(&[("pages", "write")]),
        source: "https://github.com/actions/starter-workflows/blob/main/pages/static.yml",
    },
    Entry {
        action: "actions/deploy-pages",
        need: scopes(&[("pages", "write"), ("id-token", "write")]),
        source: "https://github.com/actions/deploy-pages#security-considerations",
    },
    Entry {
        action: "actions/download-artifact",
        need: Need::Scopes { scopes: &[], extra: &[("github-token", &[("actions", "read")])] },
        source: "https://github.com/actions/download-artifact#download-artifacts-from-other-workflow-runs-or-repositories",
    },
    Entry {
        action: "actions/github-script",
        need: Need::Unknowable,
        source: "https://github.com/actions/github-script#inputs",
    },
    Entry {
        action: "actions/setup-dotnet",
        need: scopes(&[]),
        source: "https://github.com/actions/setup-dotnet/blob/main/action.yml",
    },
    Entry {
        action: "actions/setup-go",
        need: scopes(&[]),
        source: "https://github.com/actions/setup-go/blob/main/action.yml",
    },
    Entry {
        action: "actions/setup-java",
        need: scopes(&[]),
        source: "https://github.com/actions/setup-java/blob/main/action.yml",
    },
    Entry {
        action: "actions/setup-node",
        need: scopes(&[]),
        source: "https://github.com/actions/setup-node/blob/main/action.yml",
    },
    Entry {
        action: "actions/setup-python",
        need: scopes(&[]),
        source: "https://github.com/actions/setup-python/blob/main/action.yml",
    },
    Entry {
        action: "actions/stale",
        need: Need::Scopes {
            scopes: &[("actions", "write"), ("issues", "write"), ("pull-requests", "write")],
            extra: &[("delete-branch", &[("contents", "write")])],
        },
        source: "https://github.com/actions/stale#recommended-permissions",
    },
    Entry {
        action: "actions/upload-artifact",
        need: scopes(&[]),
        source: "https://github.com/actions/upload-artifact/blob/main/action.yml",
    },
    Entry {
        action: "actions/upload-pages-artifact",
        need: scopes(&[]),
        source: "https://github.com/actions/upload-pages-artifact/blob/main/action.yml",
    },
    Entry {
        action: "docker/build-push-action",
        need: scopes(&[("contents", "read")]),
        source: "https://github.com/docker/build-push-action#inputs",
    },
    Entry {
        action: "docker/login-action",
        need: scopes(&[("packages", "write")]),
        source: "https://docs.github.com/en/actions/use-cases-and-examples/publishing-packages/publishing-docker-images#publishing-images-to-github-packages",
    },
    Entry {
        action: "docker/metadata-action",
        need: scopes(&[("contents", "read")]),
        source: "https://github.com/docker/metadata-action#inputs",
    },
    Entry {
        action: "docker/setup-buildx-action",
        need: scopes(&[]),
        source: "https://github.com/docker/setup-buildx-action#inputs",
    },
    Entry {
        action: "docker/setup-qemu-action",
        need: scopes(&[]),
        source: "https://github.com/docker/setup-qemu-action#inputs",
    },
    Entry {
        action: "dtolnay/rust-toolchain",
        need: scopes(&[]),
        source: "https://github.com/dtolnay/rust-toolchain#inputs",
    },
    Entry {
        action: "peaceiris/actions-gh-pages",
        need: scopes(&[("contents", "write")]),
        source: "https://github.com/peaceiris/actions-gh-pages#%EF%B8%8F-first-deployment-with-github_token",
    },
    Entry {
        action: "peter-evans/create-pull-request",
        need: scopes(&[("contents", "write"), ("pull-requests", "write")]),
        source: "https://github.com/peter-evans/create-pull-request#token",
    },
    Entry {
        action: "rustsec/audit-check",
        need: scopes(&[("checks", "write"), ("issues", "write")]),
        source: "https://github.com/rustsec/audit-check#usage",
    },
    Entry {
        action: "softprops/action-gh-release",
        need: scopes(&[("contents", "write")]),
        source: "https://github.com/softprops/action-gh-release#permissions",
    },
    Entry { action: "swatinem/rust-cache", need: scopes(&[]), source: "https://github.com/Swatinem/rust-cache#inputs" },
];

/// The entry for `action` (`owner/name[/path]`, any case, without `@ref`).
pub fn lookup(action: &str) -> Option<&'static Entry> {
    let action = action.to_ascii_lowercase();
    TABLE.binary_search_by(|e| e.action.cmp(action.as_str())).ok().map(|i| &TABLE[i])
}

/// `read` < `write`; anything else (`none`) below both.
pub fn level_rank(level: &str) -> u8 {
    match level {
        "write" => 2,
        "read" => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_sourced_and_uses_github_scope_names() {
        // GitHub's scopes for the token (automatic-token-authentication, "Permissions").
        const SCOPES: [&str; 14] = [
            "actions",
            "attestations",
            "checks",
            "contents",
            "deployments",
            "discussions",
            "id-token",
            "issues",
            "models",
            "packages",
            "pages",
            "pull-requests",
            "security-events",
            "statuses",
        ];
        for pair in TABLE.windows(2) {
            assert!(pair[0].action < pair[1].action, "{} before {}", pair[0].action, pair[1].action);
        }
        for e in TABLE {
            assert!(e.source.starts_with("https://"), "{e:?}");
            assert_eq!(e.action, e.action.to_ascii_lowercase());
            if let Need::Scopes { scopes, extra } = e.need {
                let all = scopes.iter().chain(extra.iter().flat_map(|(_, s)| s.iter()));
                for (scope, level) in all {
                    assert!(SCOPES.contains(scope), "{scope} in {e:?}");
                    assert!(level_rank(level) > 0, "{level} in {e:?}");
                }
            }
        }
        assert_eq!(lookup("Actions/Stale").map(|e| e.action), Some("actions/stale"));
        assert!(lookup("acme/unknown").is_none());
    }
}
