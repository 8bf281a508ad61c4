//! `outdated-actions`: major versions of widely used actions that GitHub has deprecated (they
//! run on Node 12 or Node 16, or use removed artifact storage) and will fail or warn on every
//! run. The table is curated by hand: no machine-readable source lists deprecated majors.

use super::{FileCtx, Hit, Options, Rule};
use crate::policy::Severity;
use crate::workflow::uses::{UsesRef, classify_uses, is_full_sha};

pub struct OutdatedActions;

/// `(action, first supported major, why the older ones are deprecated)`.
const TABLE: &[(&str, u32, &str)] = &[
    ("actions/checkout", 4, "v1-v3 run on Node 12/16, which GitHub removed from runners"),
    ("actions/setup-node", 4, "v1-v3 run on Node 12/16"),
    ("actions/setup-python", 5, "v1-v4 run on Node 12/16 or are past end of support"),
    ("actions/setup-go", 5, "v1-v4 run on Node 12/16 or are past end of support"),
    ("actions/setup-java", 4, "v1-v3 run on Node 12/16"),
    ("actions/cache", 4, "v1-v3 use the cache service GitHub shut down in 2025"),
    ("actions/upload-artifact", 4, "v1-v3 were shut down by GitHub in January 2025"),
    ("actions/download-artifact", 4, "v1-v3 were shut down by GitHub in January 2025"),
    ("actions/github-script", 7, "v1-v6 run on Node 12/16"),
    ("github/codeql-action/init", 3, "v1-v2 are deprecated"),
    ("github/codeql-action/analyze", 3, "v1-v2 are deprecated"),
    ("github/codeql-action/upload-sarif", 3, "v1-v2 are deprecated"),
];

/// Archived action repositories: no version is current. `(pattern, instead)`, where a pattern
/// is `owner/repo` (that repository, and any action under a path of it) or `owner/*` (every
/// repository of an owner whose actions are all archived, such as `actions-rs`, which GitHub
/// archived as a whole in 2023). The most specific entry gives the suggestion.
const ARCHIVED: &[(&str, &str)] = &[
    ("actions-rs/toolchain", "dtolnay/rust-toolchain"),
    ("actions-rs/cargo", "plain `run: cargo ...` steps"),
    ("actions-rs/clippy-check", "a `run: cargo clippy -- -D warnings` step"),
    ("actions-rs/audit-check", "rustsec/audit-check"),
    ("actions-rs/install", "taiki-e/install-action"),
    ("actions-rs/tarpaulin", "a `run: cargo tarpaulin` step"),
    ("actions-rs/grcov", "a `run: grcov ...` step"),
    ("actions-rs/*", "a maintained action or a plain `run:` step (every `actions-rs` action is archived)"),
    ("actions/create-release", "`gh release create` or softprops/action-gh-release"),
    ("actions/upload-release-asset", "`gh release upload`"),
];

/// The archived-table entry for `action` (lowercase `owner/repo[/path]`), most specific first.
fn archived(action: &str) -> Option<&'static str> {
    let mut parts = action.splitn(3, '/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    let exact = ARCHIVED.iter().find(|(p, _)| p.split_once('/') == Some((owner, repo)));
    let by_owner = || ARCHIVED.iter().find(|(p, _)| p.strip_suffix("/*") == Some(owner));
    exact.or_else(by_owner).map(|(_, instead)| *instead)
}

impl Rule for OutdatedActions {
    fn id(&self) -> &'static str {
        "outdated-actions"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn description(&self) -> &'static str {
        "No deprecated major versions of common actions (Node 12/16 based, shut-down services) and no archived actions."
    }
    fn help(&self) -> &'static str {
        "Move to the current major version; read its release notes for renamed inputs."
    }
    fn check_file(&self, file: &FileCtx<'_>, _options: &Options, out: &mut Vec<Hit>) {
        let wf = file.workflow;
        // Steps' actions, and reusable workflows called by jobs (an archived repository's
        // workflows are as unmaintained as its actions).
        let uses = wf.steps().filter_map(|s| s.uses.as_ref()).map(|u| (u, true));
        let uses = uses.chain(wf.jobs.iter().filter_map(|j| j.uses.as_ref()).map(|u| (u, false)));
        for (uses, is_step) in uses {
            // Local (`./`, `$/`) and `docker://` uses have no upstream version.
            let UsesRef::Remote { action, reference } = classify_uses(uses.value.trim()) else { continue };
            let action = action.to_ascii_lowercase();
            if let Some(instead) = archived(&action) {
                out.push(Hit::new(
                    uses.pos,
                    format!("`{action}` is archived and no longer maintained"),
                    format!("replace it with {instead}"),
                ));
                continue;
            }
            if !is_step {
                continue;
            }
            let Some((_, current, why)) = TABLE.iter().find(|(a, _, _)| *a == action) else { continue };
            // A pinned SHA says its version in the trailing comment, by convention.
            let version = match reference {
                Some(r) if is_full_sha(r) => trailing_comment(file.source, uses.pos.offset),
                Some(r) => Some(r.to_string()),
                None => None,
            };
            let Some(major) = version.as_deref().and_then(major_of) else { continue };
            if major < *current {
                out.push(Hit::new(
                    uses.pos,
                    format!("`{action}@v{major}` is deprecated: {why}"),
                    format!("upgrade to `{action}@v{current}` or later"),
                ));
            }
        }
    }
}

/// The comment after `uses: x@sha` on the same line (`# v4.2.2` gives `v4.2.2`).
fn trailing_comment(source: &str, offset: usize) -> Option<String> {
    let line_end = source[offset..].find('\n').map_or(source.len(), |i| offset + i);
    let line = &source[offset..line_end];
    let comment = line.split_once(" #")?.1.trim();
    comment.split_whitespace().next().map(str::to_string)
}

/// `v3`, `v3.1.0`, `3` → 3.
fn major_of(version: &str) -> Option<u32> {
    let v = version.trim().trim_start_matches(['v', 'V']);
    v.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::rules::testing::hits;

    #[test]
    fn fires_and_stays_quiet() {
        let o = Options::default();
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v3\n      - uses: actions/checkout@v4\n      - uses: actions/upload-artifact@f4ac4d5a1b2c3d4e5f60718293a4b5c6d7e8f901 # v3.1.3\n      - uses: actions-rs/toolchain@v1\n      - uses: actions/cache@main\n      - uses: someone/else@v1\n";
        let h = hits(&OutdatedActions, src, &o);
        assert_eq!(h.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [6, 8, 9], "{h:?}");
        assert!(h[0].1.contains("`actions/checkout@v3` is deprecated"));
        assert!(h[1].1.contains("upload-artifact@v3"));
        assert!(h[2].1.contains("archived"));
    }

    #[test]
    fn every_actions_rs_action_is_archived_and_local_uses_are_not_actions() {
        let o = Options::default();
        let src = "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions-rs/toolchain@v1\n      - uses: actions-rs/clippy-check@v1\n      - uses: Actions-RS/audit-check@v1\n      - uses: actions-rs/some-future-action@v9\n      - uses: actions-rs/cargo/sub@v1\n      - uses: actions-rs-fork/toolchain@v1\n      - uses: $/actions/checkout@v1\n      - uses: ./actions/checkout@v1\n  call:\n    uses: actions-rs/meta/.github/workflows/ci.yml@v1\n";
        let h = hits(&OutdatedActions, src, &o);
        assert_eq!(h.iter().map(|(l, _)| *l).collect::<Vec<_>>(), [6, 7, 8, 9, 10, 15], "{h:?}");
        assert!(h.iter().all(|(_, m)| m.contains("is archived")), "{h:?}");
        assert!(h[2].1.contains("`actions-rs/audit-check`"), "{h:?}");
        assert_eq!(archived("actions-rs/toolchain"), Some("dtolnay/rust-toolchain"));
        assert_eq!(archived("actions-rs/audit-check"), Some("rustsec/audit-check"));
        assert!(archived("actions-rs/some-future-action").is_some_and(|i| i.contains("every `actions-rs` action")));
        assert_eq!(archived("actions/checkout"), None);
        assert_eq!(archived("actions-rs"), None);
    }
}
