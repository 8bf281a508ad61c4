//! Release notes of one package: its commits since the last release, grouped by what they
//! change (breaking changes, features, fixes, other), as Markdown for the forge release.
//!
//! Written here rather than with `git-cliff-core`: the grouping is the conventional-commit
//! parse `release plan` already makes ([`super::conventional`]), and git-cliff-core brings its
//! own git reader (git2 and libgit2 in C), template engine and configuration format for these
//! twenty lines; its templates would be a second language in the manifest beside minijinja.

use std::fmt::Write as _;

use super::conventional;
use super::plan::Planned;

/// The Markdown body of `planned`'s forge release.
pub fn notes(planned: &Planned) -> String {
    let mut groups: [(&str, Vec<String>); 4] = [
        ("Breaking changes", Vec::new()),
        ("Features", Vec::new()),
        ("Fixes", Vec::new()),
        ("Other changes", Vec::new()),
    ];
    for c in &planned.commits {
        let parsed = conventional::parse(if c.message.is_empty() { &c.subject } else { &c.message });
        let group = if parsed.breaking {
            0
        } else {
            match parsed.kind.as_deref() {
                Some("feat") => 1,
                Some("fix") => 2,
                _ => 3,
            }
        };
        let short = &c.sha[..c.sha.len().min(7)];
        groups[group].1.push(format!("- {} ({short})", c.subject.trim()));
    }
    let mut out = String::new();
    let _ = writeln!(out, "{} {}: {}.", planned.package, planned.to, planned.reason);
    if let Some(last) = &planned.last_release {
        let _ = writeln!(out, "\nChanges since {}:", last.tag);
    }
    for (title, items) in groups.iter().filter(|(_, items)| !items.is_empty()) {
        let _ = writeln!(out, "\n### {title}\n");
        for item in items {
            let _ = writeln!(out, "{item}");
        }
    }
    let moved: Vec<String> = planned
        .requires
        .iter()
        .filter(|r| !r.satisfied)
        .map(|r| format!("- {} `{}` → {}", r.package, r.req.as_deref().unwrap_or_default(), r.to))
        .collect();
    if !moved.is_empty() {
        let _ = writeln!(out, "\n### Dependencies\n");
        for m in moved {
            let _ = writeln!(out, "{m}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::conventional::Level;
    use crate::release::plan::CommitInfo;

    #[test]
    fn commits_are_grouped_breaking_first() {
        let commit = |sha: &str, message: &str| CommitInfo {
            sha: sha.into(),
            subject: message.lines().next().unwrap_or_default().into(),
            bump: Level::Patch,
            message: message.into(),
        };
        let planned = Planned {
            package: "core".into(),
            repo: "acme/core".into(),
            from: "1.2.0".into(),
            to: "2.0.0".into(),
            bump: "major".into(),
            reason: "3 commits since core-v1.2.0".into(),
            requires: Vec::new(),
            manifest: "Cargo.toml".into(),
            last_release: None,
            commits: vec![
                commit("aaaaaaaaaa", "fix: off by one"),
                commit("bbbbbbbbbb", "feat(api)!: drop v1"),
                commit("cccccccccc", "feat: add retry\n\nBody."),
                commit("dddddddddd", "chore: tidy"),
            ],
        };
        let text = notes(&planned);
        let breaking = text.find("### Breaking changes\n\n- feat(api)!: drop v1 (bbbbbbb)").expect(&text);
        let features = text.find("### Features\n\n- feat: add retry (ccccccc)").expect(&text);
        let fixes = text.find("### Fixes\n\n- fix: off by one (aaaaaaa)").expect(&text);
        let other = text.find("### Other changes\n\n- chore: tidy (ddddddd)").expect(&text);
        assert!(breaking < features && features < fixes && fixes < other, "{text}");
    }
}
