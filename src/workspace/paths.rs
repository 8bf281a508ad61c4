//! Repository-relative paths that cannot escape the repository.
//!
//! Every destination written by convoy goes through [`RepoPath::parse`]; the symlink half of the
//! check needs the repository's tree and lives in [`crate::workspace::Snapshot::check_writable`].

use std::fmt;
use std::path::Path;

/// A normalised, relative, `/`-separated path inside a repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RepoPath(String);

impl RepoPath {
    /// Accept `a/b/c`; refuse absolute paths, `..`, empty components, backslashes, and `.git`
    /// with every spelling a file system may fold into it: `.GIT`, `.git.`, `.git ` and
    /// `git~1` (NTFS), `.g\u{200c}it` (HFS+ ignores some Unicode code points). These are git's
    /// own `core.protectNTFS` / `core.protectHFS` checks, through `gix::validate::path::component`.
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
                p => {
                    check_component(raw, p)?;
                    parts.push(p);
                }
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

/// One component of a destination, as git checks tree entries before it writes them
/// (`core.protectHFS` and `core.protectNTFS`, both on; Windows device names and characters are
/// left alone, they are legal in repositories that are never checked out on Windows).
fn check_component(raw: &str, part: &str) -> Result<(), String> {
    use gix::validate::path::component::{Error, Options};
    let options = Options { protect_windows: false, protect_hfs: true, protect_ntfs: true };
    match gix::validate::path::component(part.into(), None, options) {
        Ok(_) => Ok(()),
        Err(Error::DotGitDir) => Err(format!(
            "`{raw}` points into `.git` (`{}` is how a file system may spell it), which convoy never writes",
            part.escape_debug()
        )),
        Err(e) => Err(format!("`{raw}`: component `{}`: {e}", part.escape_debug())),
    }
}

/// Which kind of forge name [`check_name`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// An owner: a GitHub user or organisation, or a folder under the local forge's root.
    Owner,
    /// A repository name.
    Repo,
}

/// Check a name that becomes a folder (the clone cache, the local forge): `org.name` from the
/// manifest and every owner and repository name a forge lists go through here.
///
/// GitHub's rules: a repository name is ASCII letters, digits, `-`, `_` and `.`, at most 100
/// characters, and is not `.` or `..`; an owner (user or organisation) is letters, digits and
/// `-` (`_` too, for Enterprise Managed Users), at most 39 characters, not starting with `.`
/// (GitHub docs: "Creating a new repository" and "Creating a new organization from scratch").
/// Everything that is not one of those characters is refused, so no name can carry a `/`, a
/// `..` or a control character into a path.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), String> {
    let what = match kind {
        NameKind::Owner => "owner",
        NameKind::Repo => "repository name",
    };
    let max = match kind {
        NameKind::Owner => 39,
        NameKind::Repo => 100,
    };
    if name.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is not a valid {what}"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!(
            "`{}` is not a valid {what}: `{}` is not allowed (letters, digits, `-`, `_` and `.` are)",
            name.escape_debug(),
            c.escape_debug()
        ));
    }
    if kind == NameKind::Owner && name.starts_with('.') {
        return Err(format!("`{name}` is not a valid {what}: it may not start with `.`"));
    }
    if name.len() > max {
        return Err(format!("`{name}` is not a valid {what}: longer than {max} characters"));
    }
    Ok(())
}

/// The largest file convoy reads from the manifest's folder (`org.toml`, templates, shared
/// files, keys): 10 MiB.
pub const MAX_INPUT_FILE: u64 = 10 * 1024 * 1024;

/// Read a file convoy was told about, refusing what is not a regular file (a FIFO would hang,
/// `/dev/zero` would never end) and what is larger than `max` bytes. Errors name the path.
pub fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, why);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(invalid(format!("{} is not a regular file", path.display())));
    }
    if meta.len() > max {
        return Err(invalid(format!("{} is {} bytes, more than the limit of {max}", path.display(), meta.len())));
    }
    let file = std::fs::File::open(path)?;
    // The file may grow between the check and the read: read one byte past the limit to know.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(invalid(format!("{} is more than the limit of {max} bytes", path.display())));
    }
    Ok(bytes)
}

/// Read `rel` (already a [`RepoPath`]) from inside `root` (`templates/` or `files/`): no
/// component may be a symbolic link, the canonical path must stay under the canonical root,
/// and the file must be regular and at most [`MAX_INPUT_FILE`] bytes. `folder` names the root
/// in errors (`files/d/x: ...`). Used at validate time and again at read time, so a folder
/// swapped for a link between the two is still refused.
pub fn read_contained(root: &Path, folder: &str, rel: &RepoPath) -> Result<Vec<u8>, String> {
    let shown = format!("{folder}/{rel}");
    let mut path = root.to_path_buf();
    for part in rel.as_str().split('/') {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                let at =
                    path.strip_prefix(root).map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
                return Err(format!(
                    "{shown} goes through a symbolic link ({folder}/{at}); sources must be regular files inside {folder}/"
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("{shown} does not exist")),
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        }
    }
    let canon_root = root.canonicalize().map_err(|e| format!("cannot read {folder}/: {e}"))?;
    let canon = path.canonicalize().map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !canon.starts_with(&canon_root) {
        return Err(format!("{shown} resolves to {}, outside {folder}/", canon.display()));
    }
    read_bounded(&canon, MAX_INPUT_FILE).map_err(|e| match e.kind() {
        std::io::ErrorKind::InvalidInput => format!("{shown}: {e}"),
        _ => format!("cannot read {shown}: {e}"),
    })
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
    fn refuses_dot_git_look_alikes() {
        for raw in [".GIT/config", "a/.git./x", "a/.git /x", "git~1/config", "a/.g\u{200c}it/hooks", ".Git"] {
            let e = RepoPath::parse(raw).unwrap_err();
            assert!(e.contains("points into `.git`"), "{raw}: {e}");
        }
        assert!(RepoPath::parse(".github/workflows/ci.yml").is_ok());
        assert!(RepoPath::parse(".gitignore").is_ok());
        assert!(RepoPath::parse("docs/git~2.md").is_ok());
    }

    #[test]
    fn names_follow_github_rules() {
        assert!(check_name(NameKind::Repo, ".github").is_ok());
        assert!(check_name(NameKind::Repo, "svc_a-1.2").is_ok());
        assert!(check_name(NameKind::Owner, "acme-corp").is_ok());
        for bad in ["", ".", "..", "../x", "a/b", "a\\b", "x\n", "é"] {
            assert!(check_name(NameKind::Repo, bad).is_err(), "{bad:?}");
            assert!(check_name(NameKind::Owner, bad).is_err(), "{bad:?}");
        }
        assert!(check_name(NameKind::Owner, ".hidden").is_err());
        assert_eq!(
            check_name(NameKind::Repo, "../x").unwrap_err(),
            "`../x` is not a valid repository name: `/` is not allowed (letters, digits, `-`, `_` and `.` are)"
        );
    }

    #[cfg(unix)]
    #[test]
    fn contained_reads_refuse_links_anywhere() {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("files");
        std::fs::create_dir_all(files.join("real")).unwrap();
        std::fs::write(files.join("real/a"), "A").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "S").unwrap();
        std::os::unix::fs::symlink(outside.path(), files.join("d")).unwrap();
        assert_eq!(read_contained(&files, "files", &RepoPath::parse("real/a").unwrap()).unwrap(), b"A");
        let e = read_contained(&files, "files", &RepoPath::parse("d/secret").unwrap()).unwrap_err();
        assert!(e.contains("files/d/secret goes through a symbolic link (files/d)"), "{e}");
        let e = read_contained(&files, "files", &RepoPath::parse("nope").unwrap()).unwrap_err();
        assert_eq!(e, "files/nope does not exist");
    }

    #[cfg(unix)]
    #[test]
    fn bounded_reads_refuse_devices_and_big_files() {
        let e = read_bounded(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("is not a regular file"), "{e}");
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), "12345678901").unwrap();
        assert!(read_bounded(f.path(), 10).unwrap_err().to_string().contains("more than the limit of 10"));
        assert_eq!(read_bounded(f.path(), 11).unwrap(), b"12345678901");
    }

    #[test]
    fn lists_ancestors() {
        let p = RepoPath::parse("a/b/c").unwrap();
        assert_eq!(p.ancestors().collect::<Vec<_>>(), vec!["a", "a/b"]);
    }
}
