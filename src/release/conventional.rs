//! Conventional commits (<https://www.conventionalcommits.org/en/v1.0.0/>) and the version bump
//! they imply.
//!
//! - `feat` → minor; `fix` and every other type, and messages that are not conventional at all
//!   → patch (a commit that touched the package is a change worth a release);
//! - `type!:` / `type(scope)!:` or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer → major.
//!
//! Below 1.0.0 the levels shift down one place, as Cargo reads 0.x versions (the left-most
//! non-zero part is the breaking one): a breaking change bumps the minor (`0.4.2` → `0.5.0`), a
//! `feat` the patch (`0.4.2` → `0.4.3`, as release-plz and cargo-smart-release do, so a feature
//! does not force every dependent's requirement to move), a `fix` the patch. A release never
//! leaves 0.x by itself: `--bump NAME=1.0.0` does that.

use serde::Serialize;

/// How much a version moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Patch,
    Minor,
    Major,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "patch" => Some(Level::Patch),
            "minor" => Some(Level::Minor),
            "major" => Some(Level::Major),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        }
    }

    /// `version` bumped by this level (pre-release and build metadata dropped). Below 1.0.0 the
    /// levels shift down one place, as Cargo reads 0.x versions (a change of the left-most
    /// non-zero part is breaking: <https://doc.rust-lang.org/cargo/reference/semver.html>): a
    /// breaking change bumps the minor, a feature bumps the patch (as release-plz does), so a
    /// feature does not force every dependent's requirement to move.
    pub fn apply(self, version: &semver::Version) -> semver::Version {
        let v = version;
        match self {
            Level::Major if v.major == 0 => semver::Version::new(0, v.minor + 1, 0),
            Level::Minor if v.major == 0 => semver::Version::new(0, v.minor, v.patch + 1),
            Level::Major => semver::Version::new(v.major + 1, 0, 0),
            Level::Minor => semver::Version::new(v.major, v.minor + 1, 0),
            Level::Patch => semver::Version::new(v.major, v.minor, v.patch + 1),
        }
    }
}

/// What one commit message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// `feat`, `fix`, ... lower-cased; `None` when the subject is not conventional.
    pub kind: Option<String>,
    pub scope: Option<String>,
    pub breaking: bool,
}

impl Parsed {
    /// The bump this commit implies.
    pub fn level(&self) -> Level {
        if self.breaking {
            Level::Major
        } else if self.kind.as_deref() == Some("feat") {
            Level::Minor
        } else {
            Level::Patch
        }
    }
}

/// Parse a whole commit message (subject, body, footers).
pub fn parse(message: &str) -> Parsed {
    let subject = message.lines().next().unwrap_or_default().trim();
    let footer_breaking =
        message.lines().skip(1).any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
    let Some((head, _)) = subject.split_once(": ") else {
        return Parsed { kind: None, scope: None, breaking: footer_breaking };
    };
    let (head, bang) = match head.strip_suffix('!') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let (kind, scope) = match head.split_once('(') {
        Some((k, rest)) => match rest.strip_suffix(')') {
            Some(scope) if !scope.contains(['(', ')']) => (k, Some(scope.to_string())),
            _ => return Parsed { kind: None, scope: None, breaking: footer_breaking },
        },
        None => (head, None),
    };
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Parsed { kind: None, scope: None, breaking: footer_breaking };
    }
    Parsed { kind: Some(kind.to_ascii_lowercase()), scope, breaking: bang || footer_breaking }
}

/// The bump a set of commit messages implies: the largest of theirs; `None` for no commits.
pub fn bump<'a>(messages: impl IntoIterator<Item = &'a str>) -> Option<Level> {
    messages.into_iter().map(|m| parse(m).level()).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(version: &str, messages: &[&str]) -> String {
        let v = semver::Version::parse(version).unwrap();
        bump(messages.iter().copied()).map(|l| l.apply(&v).to_string()).unwrap_or_default()
    }

    #[test]
    fn subjects_parse() {
        let p = parse("feat(parser)!: drop the old syntax");
        assert_eq!((p.kind.as_deref(), p.scope.as_deref(), p.breaking), (Some("feat"), Some("parser"), true));
        let p = parse("Fix: typo");
        assert_eq!((p.kind.as_deref(), p.breaking), (Some("fix"), false));
        assert_eq!(parse("Merge branch 'x'").kind, None);
        assert_eq!(parse("feat add things").kind, None);
        assert_eq!(parse("feat(a)(b): x").kind, None);
        assert!(parse("fix: x\n\nlong body\n\nBREAKING CHANGE: the API moved").breaking);
        assert!(parse("chore: x\n\nBREAKING-CHANGE: gone").breaking);
        assert!(!parse("fix: x\n\nmentions BREAKING CHANGE: inline").breaking);
    }

    #[test]
    fn bumps_at_and_above_one() {
        assert_eq!(next("1.2.3", &["fix: a"]), "1.2.4");
        assert_eq!(next("1.2.3", &["docs: a", "chore: b"]), "1.2.4");
        assert_eq!(next("1.2.3", &["update readme"]), "1.2.4");
        assert_eq!(next("1.2.3", &["fix: a", "feat: b"]), "1.3.0");
        assert_eq!(next("1.2.3", &["feat(x)!: b", "fix: a"]), "2.0.0");
        assert_eq!(next("1.2.3", &["refactor: a\n\nBREAKING CHANGE: renamed"]), "2.0.0");
        assert_eq!(next("1.2.3-alpha.1", &["fix: a"]), "1.2.4");
        assert_eq!(bump([]), None);
    }

    #[test]
    fn below_one_a_breaking_change_bumps_the_minor() {
        assert_eq!(next("0.4.2", &["feat!: b"]), "0.5.0");
        assert_eq!(next("0.4.2", &["fix: a\n\nBREAKING CHANGE: x"]), "0.5.0");
        assert_eq!(next("0.0.3", &["feat!: b"]), "0.1.0");
        assert_eq!(next("0.4.2", &["feat: b"]), "0.4.3", "a feature is not breaking below 1.0 either");
        assert_eq!(next("0.4.2", &["fix: a"]), "0.4.3");
    }
}
