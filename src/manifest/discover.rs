//! Finding `org.toml` when neither `--manifest` nor `CONVOY_MANIFEST` names it: the current
//! folder, then each parent, like cargo finds `Cargo.toml`.

use std::path::{Path, PathBuf};

/// The manifest's file name that discovery looks for.
pub const MANIFEST_NAME: &str = "org.toml";

/// How many folders discovery climbs at most (a bound on a pathological path).
const MAX_DEPTH: usize = 256;

/// How many entries of the starting folder discovery looks through for an `org.toml` one
/// folder down, to hint at it (a bound on a huge folder).
const MAX_ENTRIES_LOOKED_AT: usize = 1024;

/// No `org.toml` in the starting folder or any folder above it.
///
/// The message ends with what to do: pass an `org.toml` found one folder down (where `convoy
/// demo` and `convoy init --dir DIR` put theirs) with `--manifest`, else create one.
#[derive(Debug, thiserror::Error)]
#[error("no {MANIFEST_NAME} in {} or any folder above it\n  help: {}", start.display(), help(below))]
pub struct NotFound {
    pub start: PathBuf,
    /// The `org.toml`s one folder below `start` (`convoy-demo/org.toml` after `convoy demo`),
    /// relative to `start`, sorted.
    pub below: Vec<PathBuf>,
}

impl NotFound {
    fn new(start: &Path) -> Self {
        NotFound { start: start.to_path_buf(), below: manifests_below(start) }
    }
}

fn help(below: &[PathBuf]) -> String {
    match below {
        [] => "run `convoy init --forge github --org YOUR-ORG` to start a manifest for your GitHub org here (or `convoy init` for one on a local sample forge, `convoy demo` for an example org); or pass the manifest with --manifest PATH (or CONVOY_MANIFEST)".into(),
        [one] => format!(
            "{0} is one folder down: pass it with `-m {0}` (or set CONVOY_MANIFEST={0})",
            one.display()
        ),
        many => format!(
            "pass one of {} with -m PATH (or CONVOY_MANIFEST)",
            many.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `DIR/org.toml` for each folder `DIR` of `start` that holds one, relative to `start`, sorted;
/// an unreadable folder has none.
fn manifests_below(start: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(start) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .take(MAX_ENTRIES_LOOKED_AT)
        .filter_map(Result::ok)
        .filter(|e| e.path().join(MANIFEST_NAME).is_file())
        .map(|e| PathBuf::from(e.file_name()).join(MANIFEST_NAME))
        .collect();
    found.sort();
    found
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
    Err(NotFound::new(start))
}

/// [`find_upward`] from the current folder; a manifest in the current folder itself is returned
/// as the relative `org.toml`.
pub fn find_from_current_dir() -> Result<PathBuf, NotFound> {
    let cwd = std::env::current_dir().map_err(|_| NotFound { start: PathBuf::from("."), below: Vec::new() })?;
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
        let e = NotFound::new(root.path());
        assert!(e.below.is_empty(), "{:?}", e.below);
        let text = e.to_string();
        assert!(text.contains("convoy init") && text.contains("convoy demo") && text.contains("--manifest"), "{text}");
    }

    #[test]
    fn none_found_points_at_a_manifest_one_folder_down() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("convoy-demo")).unwrap();
        std::fs::write(root.path().join("convoy-demo").join(MANIFEST_NAME), "").unwrap();
        // A folder without one, a folder named org.toml and a file are not hinted at.
        std::fs::create_dir_all(root.path().join("empty")).unwrap();
        std::fs::create_dir_all(root.path().join("odd").join(MANIFEST_NAME)).unwrap();
        std::fs::write(root.path().join("notes.txt"), "").unwrap();
        let e = NotFound::new(root.path());
        let demo = Path::new("convoy-demo").join(MANIFEST_NAME);
        assert_eq!(e.below, vec![demo.clone()]);
        let text = e.to_string();
        assert!(text.contains(&format!("`-m {}`", demo.display())), "{text}");
        assert!(!text.contains("convoy init"), "{text}");

        std::fs::create_dir_all(root.path().join("acme")).unwrap();
        std::fs::write(root.path().join("acme").join(MANIFEST_NAME), "").unwrap();
        let text = NotFound::new(root.path()).to_string();
        let acme = Path::new("acme").join(MANIFEST_NAME);
        assert!(text.contains(&format!("one of {}, {} with -m PATH", acme.display(), demo.display())), "{text}");
    }
}
