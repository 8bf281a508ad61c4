//! Finding `org.toml` when neither `--manifest` nor `CONVOY_MANIFEST` names it: the current
//! folder, then each parent, like cargo finds `Cargo.toml`.

use std::path::{Path, PathBuf};

/// The manifest's file name that discovery looks for.
pub const MANIFEST_NAME: &str = "org.toml";

/// How many folders discovery climbs at most (a bound on a pathological path).
const MAX_DEPTH: usize = 256;

/// No `org.toml` in the starting folder or any folder above it.
#[derive(Debug, thiserror::Error)]
#[error(
    "no {MANIFEST_NAME} in {} or any folder above it\n  help: run `convoy init` to create a starter org here, or `convoy demo` for an example org; or pass the manifest with --manifest PATH (or CONVOY_MANIFEST)",
    start.display()
)]
pub struct NotFound {
    pub start: PathBuf,
}

/// The nearest `org.toml` at or above `start`: `start/org.toml` as the relative `org.toml` when
/// `start` is the current folder (so messages read as they did before discovery), otherwise the
/// path under the folder that holds it. Only regular files (or links to them) count.
pub fn find_upward(start: &Path) -> Result<PathBuf, NotFound> {
    for dir in start.ancestors().take(MAX_DEPTH) {
        let candidate = dir.join(MANIFEST_NAME);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(NotFound { start: start.to_path_buf() })
}

/// [`find_upward`] from the current folder; a manifest in the current folder itself is returned
/// as the relative `org.toml`.
pub fn find_from_current_dir() -> Result<PathBuf, NotFound> {
    let cwd = std::env::current_dir().map_err(|_| NotFound { start: PathBuf::from(".") })?;
    let found = find_upward(&cwd)?;
    Ok(if found.parent() == Some(cwd.as_path()) { PathBuf::from(MANIFEST_NAME) } else { found })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_the_nearest_manifest_above() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.path().join(MANIFEST_NAME), "").unwrap();
        assert_eq!(find_upward(&deep).unwrap(), root.path().join(MANIFEST_NAME));
        // A nearer one wins; a folder named org.toml does not count.
        std::fs::write(root.path().join("a").join(MANIFEST_NAME), "").unwrap();
        std::fs::create_dir_all(root.path().join("a/b").join(MANIFEST_NAME)).unwrap();
        assert_eq!(find_upward(&deep).unwrap(), root.path().join("a").join(MANIFEST_NAME));
    }

    #[test]
    fn none_found_says_what_to_do() {
        let root = tempfile::tempdir().unwrap();
        // Tempdirs can sit under a folder with an org.toml of its own; only check the text.
        let e = NotFound { start: root.path().to_path_buf() };
        let text = e.to_string();
        assert!(text.contains("convoy init") && text.contains("convoy demo") && text.contains("--manifest"), "{text}");
    }
}
