//! Repository-relative paths that cannot escape the repository.
//!
//! Every destination written by convoy goes through [`RepoPath::parse`]; the symlink half of the
//! check needs the repository's tree and lives in [`crate::workspace::Snapshot::check_writable`].

use std::fmt;

/// A normalised, relative, `/`-separated path inside a repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RepoPath(String);

impl RepoPath {
    /// Accept `a/b/c`; refuse absolute paths, `..`, empty components, backslashes and `.git`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("the path is empty".into());
        }
        if raw.starts_with('/') || raw.starts_with('\\') || raw.get(1..3) == Some(":\\") || raw.get(1..3) == Some(":/")
        {
            return Err(format!("`{raw}` is absolute; destinations are relative to the repository root"));
        }
        if raw.contains('\\') {
            return Err(format!("`{raw}` contains a backslash; use `/` between folders"));
        }
        if raw.contains('\0') {
            return Err(format!("`{raw}` contains a NUL byte"));
        }
        let mut parts = Vec::new();
        for part in raw.split('/') {
            match part {
                "" | "." => continue,
                ".." => return Err(format!("`{raw}` escapes the repository (`..`)")),
                p if p.eq_ignore_ascii_case(".git") => {
                    return Err(format!("`{raw}` points into `.git`, which convoy never writes"));
                }
                p => parts.push(p),
            }
        }
        if parts.is_empty() {
            return Err(format!("`{raw}` names the repository root, not a file"));
        }
        Ok(RepoPath(parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Every proper ancestor folder, shortest first: `a/b/c` → `a`, `a/b`.
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(|(i, _)| &self.0[..i])
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_escapes() {
        assert_eq!(RepoPath::parse("./a//b/c.yml").unwrap().as_str(), "a/b/c.yml");
        assert_eq!(RepoPath::parse("../x").unwrap_err(), "`../x` escapes the repository (`..`)");
        assert_eq!(RepoPath::parse("a/../../x").unwrap_err(), "`a/../../x` escapes the repository (`..`)");
        assert_eq!(
            RepoPath::parse("/etc/passwd").unwrap_err(),
            "`/etc/passwd` is absolute; destinations are relative to the repository root"
        );
        assert!(RepoPath::parse("C:\\x").is_err());
        assert!(RepoPath::parse(".git/config").is_err());
        assert!(RepoPath::parse("sub/.GIT/hooks/x").is_err());
        assert!(RepoPath::parse("./").is_err());
    }

    #[test]
    fn lists_ancestors() {
        let p = RepoPath::parse("a/b/c").unwrap();
        assert_eq!(p.ancestors().collect::<Vec<_>>(), vec!["a", "a/b"]);
    }
}
