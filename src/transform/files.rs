//! `[[file]]` entries: shared files copied verbatim, rendered, or deleted, and shared folders
//! synced file by file.
//!
//! Modes: `mode = "100644" | "100755"` sets the git file mode of `dest`, new or existing. Without
//! it, a file convoy creates is `100755` when its source in `files/` is executable (any `x` bit,
//! as git records a file's mode), and a file the repository already has keeps its own mode.
//!
//! Folders: when `source` names a folder in `files/`, every regular file under it (recursively)
//! is written to the same relative path under `dest`, with the mode of its source (`100755` when
//! executable, `100644` otherwise, new file or not: the folder is a mirror). `exclude` globs
//! (relative to the source folder) leave files out; `delete_orphaned = true` deletes the files
//! under `dest` the source folder does not have and `exclude` does not match (symbolic links and
//! submodules under `dest` are left alone). A symbolic link anywhere in the source folder is
//! refused, as is a path through one: sources stay inside `files/`. `render` and `mode` are for
//! single files only.
//!
//! `replace = false` (file or folder) writes a file only where the repository has nothing at
//! its path yet; a file that is there is left exactly as it is (and still counts as declared for
//! `[campaign] prune`, so it is not pruned).

use std::collections::BTreeSet;
use std::path::Path;

use super::templates::check_rendered;
use super::{Changes, Producer, RepoInput, template_context};
use crate::change::{Edit, FileMode, ModeRule, Want};
use crate::workspace::EntryKind;
use crate::workspace::paths::{RepoPath, read_contained};

/// The most files a synced folder may hold (a bound on what one entry reads).
pub const MAX_FOLDER_FILES: usize = 10_000;

pub struct Files;

impl Producer for Files {
    fn name(&self) -> &str {
        "files"
    }

    fn edits(&self, input: &RepoInput<'_>) -> Result<Changes, String> {
        let owner = &input.manifest.model.org.name;
        let files_dir = input.manifest.files_dir();
        let mut edits = Vec::new();
        for entry in &input.manifest.model.files {
            if !input.selection.applies(&entry.repos, owner, input.target) {
                continue;
            }
            let path = RepoPath::parse(entry.dest.get_ref())?;
            let Some(source) = &entry.source else {
                edits.push(Edit {
                    path,
                    want: Want::Absent,
                    origin: format!("[[file]] delete {}", entry.dest.get_ref()),
                });
                continue;
            };
            let name = format!("files/{}", source.get_ref());
            let rel = RepoPath::parse(source.get_ref()).map_err(|e| format!("{name}: {e}"))?;
            if let Some(listing) = source_folder(&files_dir, &rel)? {
                edits.extend(sync_folder(input, entry, &rel, &path, &listing)?);
                continue;
            }
            if !entry.replace && input.snapshot.kind(path.as_str()).is_some() {
                edits.extend(keep(input, &path, &name)?);
                continue;
            }
            let source_path = files_dir.join(source.get_ref());
            let rule = match entry.mode.as_ref().map(|m| *m.get_ref()) {
                Some(mode) => ModeRule::Always(mode),
                None if is_executable(&source_path) => ModeRule::ForNewFile(FileMode::Executable),
                None => ModeRule::ForNewFile(FileMode::Regular),
            };
            let content = if entry.render {
                let ctx = template_context(input.manifest, input.target, input.snapshot, &entry.vars);
                let text = input.renderer.render(&name, &ctx).map_err(|e| e.to_string())?;
                check_rendered(&path, &text).map_err(|e| format!("{name} rendered to {path}: {e}"))?;
                text.into_bytes()
            } else {
                read_contained(&files_dir, "files", &rel)?
            };
            edits.push(Edit { path, want: Want::ContentWithMode(content, rule), origin: name });
        }
        Ok(Changes { edits, ..Changes::default() })
    }
}

/// A create-only (`replace = false`) destination the repository already has: an edit that
/// asks for what is there, so nothing changes and `prune` still sees the path as declared.
/// Nothing for a link or submodule (there is nothing convoy would write there anyway).
fn keep(input: &RepoInput<'_>, path: &RepoPath, origin: &str) -> Result<Option<Edit>, String> {
    match input.snapshot.kind(path.as_str()) {
        Some(EntryKind::File | EntryKind::Executable) => {
            let bytes = input.snapshot.read(path.as_str())?.unwrap_or_default();
            Ok(Some(Edit { path: path.clone(), want: Want::Content(bytes), origin: origin.to_string() }))
        }
        _ => Ok(None),
    }
}

/// The edits of one folder entry in one repository: its files written under `dest`, and the
/// orphans deleted with `delete_orphaned`.
fn sync_folder(
    input: &RepoInput<'_>,
    entry: &crate::manifest::FileEntry,
    source: &RepoPath,
    dest: &RepoPath,
    listing: &[FolderFile],
) -> Result<Vec<Edit>, String> {
    let exclude = exclude_set(&entry.exclude)?;
    let files_dir = input.manifest.files_dir();
    let mut edits = Vec::new();
    let mut declared = BTreeSet::new();
    for file in listing.iter().filter(|f| !exclude.is_match(&f.rel)) {
        let path = RepoPath::parse(&format!("{dest}/{}", file.rel))?;
        declared.insert(path.to_string());
        let origin = format!("files/{source}/{}", file.rel);
        if !entry.replace && input.snapshot.kind(path.as_str()).is_some() {
            edits.extend(keep(input, &path, &origin)?);
            continue;
        }
        let from = RepoPath::parse(&format!("{source}/{}", file.rel))?;
        let content = read_contained(&files_dir, "files", &from)?;
        let mode = if file.executable { FileMode::Executable } else { FileMode::Regular };
        edits.push(Edit { path, want: Want::ContentWithMode(content, ModeRule::Always(mode)), origin });
    }
    if entry.delete_orphaned {
        let prefix = format!("{dest}/");
        for path in input.snapshot.paths() {
            let Some(rel) = path.strip_prefix(&prefix) else { continue };
            let regular = matches!(input.snapshot.kind(path), Some(EntryKind::File | EntryKind::Executable));
            if !regular || declared.contains(path) || exclude.is_match(rel) {
                continue;
            }
            edits.push(Edit {
                path: RepoPath::parse(path)?,
                want: Want::Absent,
                origin: format!("[[file]] files/{source}/ (not in the source folder)"),
            });
        }
    }
    Ok(edits)
}

/// `exclude` compiled; the error names the glob.
pub fn exclude_set(globs: &[serde_spanned::Spanned<String>]) -> Result<globset::GlobSet, String> {
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g.get_ref())
            .literal_separator(true)
            .build()
            .map_err(|e| format!("`exclude` glob `{}`: {e}", g.get_ref()))?;
        set.add(glob);
    }
    set.build().map_err(|e| format!("`exclude`: {e}"))
}

/// One file of a folder source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderFile {
    /// Its path under the source folder, `/`-separated.
    pub rel: String,
    pub executable: bool,
}

/// The files under `source` when it names a folder inside `root` (`files/`), in path order;
/// `None` when it is not a folder (a file, or nothing: the single-file rules say what is wrong).
/// The folder is read with the rules of [`read_contained`]: no component of the path to it may
/// be a symbolic link and it must resolve under `root`; inside it, a symbolic link (or anything
/// but files and folders) is an error naming it, never followed, and at most
/// [`MAX_FOLDER_FILES`] files are read.
pub fn source_folder(root: &Path, source: &RepoPath) -> Result<Option<Vec<FolderFile>>, String> {
    let shown = format!("files/{source}");
    let mut path = root.to_path_buf();
    for part in source.as_str().split('/') {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Ok(None), // read_contained refuses it by name
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        }
    }
    if !std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
        return Ok(None);
    }
    let canon_root = root.canonicalize().map_err(|e| format!("cannot read files/: {e}"))?;
    let canon = path.canonicalize().map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !canon.starts_with(&canon_root) {
        return Err(format!("{shown} resolves to {}, outside files/", canon.display()));
    }
    let mut out = Vec::new();
    let mut folders = vec![(canon, String::new())];
    while let Some((dir, prefix)) = folders.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {shown}/{prefix}: {e}"))?;
        for item in entries {
            let item = item.map_err(|e| format!("cannot read {shown}/{prefix}: {e}"))?;
            let name = item.file_name();
            let Some(name) = name.to_str() else {
                return Err(format!("{shown}/{prefix}{} is not a UTF-8 name", name.to_string_lossy()));
            };
            let rel = format!("{prefix}{name}");
            RepoPath::parse(&rel).map_err(|e| format!("{shown}/{rel}: {e}"))?;
            let kind = item.file_type().map_err(|e| format!("cannot read {shown}/{rel}: {e}"))?;
            if kind.is_symlink() {
                return Err(format!(
                    "{shown}/{rel} is a symbolic link; a synced folder may hold only files and folders (copy the file there instead)"
                ));
            } else if kind.is_dir() {
                folders.push((item.path(), format!("{rel}/")));
            } else if kind.is_file() {
                out.push(FolderFile { executable: is_executable(&item.path()), rel });
                if out.len() > MAX_FOLDER_FILES {
                    return Err(format!("{shown} has more than {MAX_FOLDER_FILES} files"));
                }
            } else {
                return Err(format!("{shown}/{rel} is not a regular file"));
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Some(out))
}

/// Whether git would record `path` as `100755`: any execute bit set (git's rule for a file's
/// mode). Always false where files have no execute bits.
fn is_executable(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}
