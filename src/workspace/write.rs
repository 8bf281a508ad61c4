//! Writing files in place without leaving half of one: convoy's state files (the local forge's
//! state, the API response cache) and every `-o FILE` output go through [`write_atomically`].

use std::io::Write as _;
use std::path::Path;

/// Write `bytes` to `path` so that readers see either the old or the new content: the one
/// writer for convoy's state files and for every `-o FILE` output.
///
/// - A new path, or a regular file: a temporary file beside it is written, synced and renamed
///   over it. The old file's permissions are kept; a new file gets what a shell redirection
///   would give it (0666 less the umask), not the temporary file's private 0600: `-o` outputs
///   and `org.schema.json` are files people share.
/// - A symbolic link: the same, at the file the link points to; the link stays a link.
/// - Anything else that exists (a FIFO, `/dev/stdout`, `/dev/full`): written in place, as a
///   shell redirection would, so the device or pipe keeps its meaning and a write error (e.g.
///   "no space left" from `/dev/full`) is returned rather than hidden by a rename.
/// - A directory: an error.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, bytes, false)
}

/// [`write_atomically`], but a new file is readable by its owner only (0600): caches of API
/// answers, which may describe private repositories.
pub fn write_atomically_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, bytes, true)
}

fn write_with(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(t) => t,
            // A dangling link: write where it points.
            Err(_) => path.parent().unwrap_or(Path::new(".")).join(std::fs::read_link(path)?),
        },
        _ => path.to_path_buf(),
    };
    let existing = match std::fs::metadata(&target) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    match &existing {
        Some(m) if m.is_dir() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                format!("{} is a directory", target.display()),
            ));
        }
        Some(m) if !m.is_file() => {
            let mut out = std::fs::OpenOptions::new().write(true).open(&target)?;
            out.write_all(bytes)?;
            return out.flush();
        }
        _ => {}
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    if !private {
        use std::os::unix::fs::PermissionsExt;
        // Passed to open(2) with O_CREAT, so the umask applies, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Some(m) = &existing {
        tmp.as_file().set_permissions(m.permissions())?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::write_atomically;

    #[cfg(unix)]
    #[test]
    fn writes_through_links_and_into_devices_without_replacing_them() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o644);

        let fresh = dir.path().join("fresh.txt");
        write_atomically(&fresh, b"x").unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "x");
        // A new file gets the mode a plain create gives under this process's umask.
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, "x").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&fresh), mode(&plain), "not the temporary file's 0600");
        let private = dir.path().join("private.json");
        super::write_atomically_private(&private, b"{}").unwrap();
        assert_eq!(mode(&private), 0o600);

        let full = std::path::Path::new("/dev/full");
        if full.exists() {
            let e = write_atomically(full, b"x").unwrap_err();
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC from the device itself: {e}");
            assert!(std::fs::metadata(full).unwrap().file_type().is_char_device(), "still a device");
        }
        assert!(write_atomically(dir.path(), b"x").is_err());
    }
}
