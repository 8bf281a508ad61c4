//! `uses:` values: telling local, container and remote references apart, splitting a remote one
//! into its action and ref, and the map of refs resolved to commits that pinning works from.
//! The audit rules, `audit --fix` and `deps actions`/`deps align` all read `uses:` through here.

use std::collections::BTreeMap;

/// Resolved tags: `(action repository as owner/name, lowercase; ref)` → commit SHA.
pub type PinMap = BTreeMap<(String, String), String>;

/// `owner/repo@ref` split into the action (`owner/repo[/path]`) and the ref.
pub fn split_uses(uses: &str) -> (&str, Option<&str>) {
    match uses.rsplit_once('@') {
        Some((action, r)) => (action, Some(r)),
        None => (uses, None),
    }
}

/// A full 40-hex commit SHA (what GitHub calls a pinned action).
pub fn is_full_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a `uses:` value (already trimmed) names, read from its text. This is the one place that
/// tells local, container and remote references apart; every rule, `deps actions` and the
/// fixers ask it, so a new syntax is taught once.
///
/// Source: GitHub Docs, "Workflow syntax for GitHub Actions", `jobs.<job_id>.steps[*].uses` and
/// `jobs.<job_id>.uses` (`{owner}/{repo}/{path}@{ref}`, `./path/to/dir`, `docker://{image}:{tag}`),
/// and the same-repository form `$/path` (GitHub changelog, 2026-07), which names a file of the
/// repository that holds the workflow, like `./`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsesRef<'a> {
    /// `./path` or `$/path`: an action or reusable workflow of the workflow's own repository,
    /// run at the same commit. It has no tag that could move and no version to compare.
    Local(&'a str),
    /// `docker://image[:tag|@digest]`: a container image, not an action repository.
    Docker(&'a str),
    /// `owner/repo[/path][@ref]`: an action or reusable workflow of another (or the same)
    /// repository, at `reference` (`None` when there is no `@`, `Some("")` for a bare `@`).
    Remote { action: &'a str, reference: Option<&'a str> },
}

impl UsesRef<'_> {
    /// Local and container references point at no action repository and no tag that could move.
    pub fn is_remote(&self) -> bool {
        matches!(self, UsesRef::Remote { .. })
    }
}

/// Classify a trimmed `uses:` value (see [`UsesRef`]).
pub fn classify_uses(uses: &str) -> UsesRef<'_> {
    if uses.starts_with("./") || uses.starts_with("$/") {
        UsesRef::Local(uses)
    } else if uses.starts_with("docker://") {
        UsesRef::Docker(uses)
    } else {
        let (action, reference) = split_uses(uses);
        UsesRef::Remote { action, reference }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_are_classified_once_for_everyone() {
        assert_eq!(classify_uses("./.github/actions/setup"), UsesRef::Local("./.github/actions/setup"));
        assert_eq!(classify_uses("$/.github/actions/setup"), UsesRef::Local("$/.github/actions/setup"));
        assert_eq!(classify_uses("$/.github/workflows/ci.yml@main"), UsesRef::Local("$/.github/workflows/ci.yml@main"));
        assert_eq!(classify_uses("docker://alpine:3"), UsesRef::Docker("docker://alpine:3"));
        assert_eq!(
            classify_uses("actions/checkout@v4"),
            UsesRef::Remote { action: "actions/checkout", reference: Some("v4") }
        );
        assert_eq!(classify_uses("acme/tool"), UsesRef::Remote { action: "acme/tool", reference: None });
        // `$` alone or inside a name is no same-repository reference.
        assert!(classify_uses("$acme/tool@v1").is_remote());
        assert!(!classify_uses("$/x").is_remote());
    }
}
