//! Scratch checkouts: a real working tree of one snapshot, in a temporary folder, for commands
//! that need files on disk (`[[script]]`, `convoy run`). Made from the clone cache (no network),
//! removed when the [`Scratch`] is dropped (also after an error or a timeout).
//!
//! Layout, under the system's temporary folder (`$TMPDIR`):
//!
//! ```text
//! convoy-scratch-XXXXXX/      the fence: holds exactly these three folders
//!   work/                     the checkout: the snapshot's files, modes and symbolic links
//!     .git/                   a git folder of its own (see below)
//!   tmp/                      the command's private TMPDIR
//!   home/                     the command's private, empty HOME
//! ```
//!
//! **`.git`.** `work/.git` is a small repository of its own: `HEAD` detached at the snapshot's
//! commit, an index of its tree, and `objects/info/alternates` naming the cache's object folder,
//! so `git status`, `git grep`, `git mv`, `git diff` and `git log` work without copying any
//! object. Whatever git writes (objects, refs, the index) lands in `work/.git`; the cache's refs
//! and objects are never written through it (and under Landlock cannot be written at all).
//! `work/.git` is not part of the result.
//!
//! **Sandbox** ([`run`](Scratch::run)). The command runs with a cleared environment (the caller
//! passes exactly what it gets), in its own process group, killed as a group at its timeout, with
//! stdout and stderr captured up to a bound (the tail is kept). On Linux with Landlock (5.13+,
//! also unprivileged and in containers, unless a seccomp policy forbids the calls), the command
//! and everything it starts can write only beneath `work/`, `tmp/` and `home/` (and to
//! `/dev/null`): a write through `..`, an absolute path or a symbolic link that leads elsewhere
//! fails with "Permission denied". Reading is not restricted, nor is the network. Without
//! Landlock (other systems, older kernels) writes elsewhere are only *detected* where they can
//! be: the fence must hold nothing but its three folders afterwards ([`escaped`](Scratch::escaped))
//! — this catches `../x` from the checkout, not a write to an absolute path. [`sandbox`] says
//! which of the two a run gets.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{EntryKind, Snapshot};

/// The largest file a scratch checkout's result may hold (GitHub refuses files over 100 MiB).
pub const MAX_FILE_BYTES: u64 = 100 << 20;
/// The most bytes all changed files of one result may add up to.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// The most files a result may hold.
pub const MAX_FILES: usize = 200_000;

/// How a command's writes are confined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Sandbox {
    /// Landlock (this ABI version): writes outside the scratch folders fail.
    Landlock { abi: u32 },
    /// No Landlock: writes outside are detected afterwards where possible (see the module docs).
    Detection,
}

impl std::fmt::Display for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sandbox::Landlock { abi } => write!(f, "landlock (ABI {abi}): writes confined to the checkout"),
            Sandbox::Detection => f.write_str("no landlock: writes outside the checkout are only detected"),
        }
    }
}

/// The sandbox this system gives commands (probed once per process).
pub fn sandbox() -> Sandbox {
    static PROBED: std::sync::OnceLock<Sandbox> = std::sync::OnceLock::new();
    *PROBED.get_or_init(|| match landlock::abi() {
        Some(abi) => Sandbox::Landlock { abi },
        None => {
            tracing::warn!("Landlock is not available: script writes outside their checkout are only detected");
            Sandbox::Detection
        }
    })
}

/// A command for [`Scratch::run`].
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The program and its arguments (`["sh", "-c", "..."]`).
    pub argv: Vec<String>,
    /// The whole environment of the command, beside `HOME` and `TMPDIR` (set to the scratch's).
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Bytes kept of stdout and of stderr each (the last ones).
    pub max_output: usize,
}

/// Captured output: the last `max_output` bytes, and how many earlier bytes were dropped.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub dropped: u64,
}

impl Captured {
    pub fn text(&self) -> String {
        let mut s = String::new();
        if self.dropped > 0 {
            s.push_str(&format!("[... {} earlier bytes dropped]\n", self.dropped));
        }
        s.push_str(&String::from_utf8_lossy(&self.bytes));
        s
    }
}

/// How a command ended.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The exit code; `None` when a signal ended it (or the timeout killed it).
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    pub elapsed: Duration,
}

impl Ran {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out
    }

    /// The last `lines` lines of stdout then stderr, for an error message.
    pub fn tail(&self, lines: usize) -> String {
        let mut all = String::new();
        for (name, c) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let text = c.text();
            let text = text.trim_end();
            if text.is_empty() {
                continue;
            }
            let kept: Vec<&str> = text.lines().rev().take(lines).collect();
            let cut = if text.lines().count() > lines { "  ...\n" } else { "" };
            all.push_str(&format!("  {name}:\n{cut}"));
            for l in kept.into_iter().rev() {
                all.push_str(&format!("  | {l}\n"));
            }
        }
        all
    }
}

/// What a path of the checkout holds after a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    File { content: Vec<u8>, executable: bool },
    Link(Vec<u8>),
}

/// One scratch checkout; removed on drop.
pub struct Scratch {
    fence: Option<tempfile::TempDir>,
    work: PathBuf,
    tmp: PathBuf,
    home: PathBuf,
}

impl Scratch {
    /// Write `snapshot`'s files into a new scratch folder, with a `.git` of its own.
    pub fn checkout(snapshot: &Snapshot) -> Result<Scratch, String> {
        let io = |what: &str, e: std::io::Error| format!("scratch checkout: {what}: {e}");
        let fence = tempfile::Builder::new().prefix("convoy-scratch-").tempdir().map_err(|e| io("tempdir", e))?;
        let root = fence.path().canonicalize().map_err(|e| io("tempdir", e))?;
        let scratch =
            Scratch { work: root.join("work"), tmp: root.join("tmp"), home: root.join("home"), fence: Some(fence) };
        for d in [&scratch.work, &scratch.tmp, &scratch.home] {
            std::fs::create_dir(d).map_err(|e| io("mkdir", e))?;
        }
        for dir in snapshot.dirs() {
            std::fs::create_dir_all(scratch.work.join(dir)).map_err(|e| io(dir, e))?;
        }
        for (path, kind) in snapshot.entries() {
            let full = scratch.work.join(path);
            match kind {
                EntryKind::File | EntryKind::Executable => {
                    let bytes = snapshot.blob(path)?.unwrap_or_default();
                    std::fs::write(&full, bytes).map_err(|e| io(path, e))?;
                    if kind == EntryKind::Executable {
                        set_mode(&full, 0o755).map_err(|e| io(path, e))?;
                    }
                }
                EntryKind::Symlink => {
                    let target = snapshot.blob(path)?.unwrap_or_default();
                    symlink(&target, &full).map_err(|e| io(path, e))?;
                }
                // An empty folder, as `git clone` leaves an uninitialised submodule.
                EntryKind::Submodule => std::fs::create_dir_all(&full).map_err(|e| io(path, e))?,
            }
        }
        scratch.init_git(snapshot)?;
        Ok(scratch)
    }

    fn init_git(&self, snapshot: &Snapshot) -> Result<(), String> {
        let git = self.work.join(".git");
        let io = |what: &str, e: std::io::Error| format!("scratch checkout: .git/{what}: {e}");
        for d in ["objects/info", "refs/heads", "refs/tags"] {
            std::fs::create_dir_all(git.join(d)).map_err(|e| io(d, e))?;
        }
        let cache = snapshot.git_dir().canonicalize().map_err(|e| io("alternates", e))?;
        let mut alternates = cache.join("objects").into_os_string().into_encoded_bytes();
        alternates.push(b'\n');
        std::fs::write(git.join("objects/info/alternates"), alternates).map_err(|e| io("alternates", e))?;
        std::fs::write(git.join("HEAD"), format!("{}\n", snapshot.commit_id())).map_err(|e| io("HEAD", e))?;
        std::fs::write(
            git.join("config"),
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n",
        )
        .map_err(|e| io("config", e))?;
        // The cache is shallow: git must know where history stops.
        if let Ok(shallow) = std::fs::read(cache.join("shallow")) {
            std::fs::write(git.join("shallow"), shallow).map_err(|e| io("shallow", e))?;
        }
        snapshot.write_index(&git.join("index"))
    }

    /// The checkout's folder (the command's working directory).
    pub fn dir(&self) -> &Path {
        &self.work
    }

    /// Run `spec` in the checkout (see the module docs for the sandbox). `Err` when it could not
    /// be started; how it ended (code, timeout, output) is in [`Ran`].
    pub fn run(&self, spec: &RunSpec) -> Result<Ran, String> {
        let Some((program, args)) = spec.argv.split_first() else { return Err("empty command".into()) };
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(&self.work)
            .env_clear()
            .envs(&spec.env)
            .env("HOME", &self.home)
            .env("TMPDIR", &self.tmp)
            .env("PWD", &self.work)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let ruleset = match sandbox() {
            Sandbox::Landlock { abi } => Some(
                landlock::Ruleset::new(abi, &[&self.work, &self.tmp, &self.home])
                    .map_err(|e| format!("setting up Landlock: {e}"))?,
            ),
            Sandbox::Detection => None,
        };
        if let Some(rules) = &ruleset {
            let fd = rules.fd();
            // SAFETY: between fork and exec the closure makes two system calls (`prctl` and
            // `landlock_restrict_self`) and builds an `io::Error` from errno: no allocation, no
            // lock, async-signal-safe.
            unsafe {
                cmd.pre_exec(move || landlock::restrict_self(fd));
            }
        }
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(|e| format!("cannot start `{program}`: {e}"))?;
        drop(ruleset);
        let pid = child.id();
        let readers = [
            child.stdout.take().map(|s| read_tail(s, spec.max_output)),
            child.stderr.take().map(|s| read_tail(s, spec.max_output)),
        ];
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() >= spec.timeout => {
                    timed_out = true;
                    kill_group(pid);
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for `{program}`: {e}")),
            }
        };
        // What the command left running in the background goes with it.
        kill_group(pid);
        let [out, err] =
            readers.map(|r| r.and_then(|rx| rx.recv_timeout(Duration::from_secs(5)).ok()).unwrap_or_default());
        Ok(Ran {
            exit_code: status.and_then(|s| s.code()),
            timed_out,
            stdout: out,
            stderr: err,
            elapsed: started.elapsed(),
        })
    }

    /// What the fence holds besides the three scratch folders: something the command wrote
    /// outside its checkout (`../x`). Empty when all is well.
    pub fn escaped(&self) -> Vec<String> {
        let Some(fence) = &self.fence else { return Vec::new() };
        let Ok(entries) = std::fs::read_dir(fence.path()) else { return vec!["the scratch folder itself".into()] };
        let mut out: Vec<String> = entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !matches!(n.as_str(), "work" | "tmp" | "home"))
            .map(|n| format!("../{n}"))
            .collect();
        for d in [&self.work, &self.tmp, &self.home] {
            if std::fs::symlink_metadata(d).map(|m| !m.is_dir()).unwrap_or(true) {
                out.push(format!("{} was replaced", d.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()));
            }
        }
        out.sort();
        out
    }

    /// Every file and symbolic link of the checkout now (`.git` at its root left out), by path
    /// from the root; symbolic links are read as links, never followed. Bounded by
    /// [`MAX_FILES`], [`MAX_FILE_BYTES`] and [`MAX_TOTAL_BYTES`].
    pub fn files(&self) -> Result<BTreeMap<String, Found>, String> {
        let mut found = BTreeMap::new();
        let mut total = 0u64;
        let mut folders = vec![(self.work.clone(), String::new())];
        while let Some((dir, rel)) = folders.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|e| format!("reading {rel}/: {e}"))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("reading {rel}/: {e}"))?;
                let name = entry.file_name();
                let Some(name) = name.to_str() else {
                    return Err(format!("`{rel}/{}` is not a UTF-8 path", name.to_string_lossy()));
                };
                if rel.is_empty() && name == ".git" {
                    continue;
                }
                let path = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
                let meta = std::fs::symlink_metadata(entry.path()).map_err(|e| format!("{path}: {e}"))?;
                let kind = meta.file_type();
                if kind.is_dir() {
                    folders.push((entry.path(), path));
                    continue;
                }
                if found.len() >= MAX_FILES {
                    return Err(format!("the checkout holds more than {MAX_FILES} files"));
                }
                if kind.is_symlink() {
                    let target = std::fs::read_link(entry.path()).map_err(|e| format!("{path}: {e}"))?;
                    found.insert(path, Found::Link(target.into_os_string().into_encoded_bytes()));
                } else if kind.is_file() {
                    if meta.len() > MAX_FILE_BYTES {
                        return Err(format!("`{path}` is {} bytes, over the {MAX_FILE_BYTES}-byte limit", meta.len()));
                    }
                    total += meta.len();
                    if total > MAX_TOTAL_BYTES {
                        return Err(format!("the checkout's files add up to over {MAX_TOTAL_BYTES} bytes"));
                    }
                    let mut content = Vec::with_capacity(meta.len() as usize);
                    std::fs::File::open(entry.path())
                        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut content))
                        .map_err(|e| format!("reading `{path}`: {e}"))?;
                    found.insert(path, Found::File { content, executable: is_executable(&meta) });
                } else {
                    return Err(format!(
                        "`{path}` is neither a file, a folder nor a symbolic link (a fifo, socket or device)"
                    ));
                }
            }
        }
        Ok(found)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // A command may have taken write permission away from its folders; give it back so
        // everything can be removed.
        if let Some(fence) = self.fence.take() {
            let mut folders = vec![fence.path().to_path_buf()];
            while let Some(dir) = folders.pop() {
                let _ = set_mode(&dir, 0o700);
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    for e in entries.flatten() {
                        if e.file_type().is_ok_and(|t| t.is_dir()) {
                            folders.push(e.path());
                        }
                    }
                }
            }
            if let Err(e) = fence.close() {
                tracing::warn!("could not remove a scratch checkout: {e}");
            }
        }
    }
}

/// Read `stream` to its end on a thread, keeping the last `max` bytes; the result arrives on
/// the channel (a stream that a stray process keeps open is given up on by the caller).
fn read_tail(mut stream: impl Read + Send + 'static, max: usize) -> std::sync::mpsc::Receiver<Captured> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut c = Captured::default();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    c.bytes.extend_from_slice(&buf[..n]);
                    if c.bytes.len() > max.saturating_mul(2).max(64 * 1024) {
                        let cut = c.bytes.len() - max;
                        c.bytes.drain(..cut);
                        c.dropped += cut as u64;
                    }
                }
            }
        }
        if c.bytes.len() > max {
            let cut = c.bytes.len() - max;
            c.bytes.drain(..cut);
            c.dropped += cut as u64;
        }
        let _ = tx.send(c);
    });
    rx
}

fn kill_group(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o100 != 0
}

fn symlink(target: &[u8], at: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), at)
}

/// Landlock through its three system calls (no crate: the calls are small and stable, and the
/// child side must not allocate between fork and exec).
#[cfg(target_os = "linux")]
mod landlock {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::path::Path;

    const CREATE_RULESET_VERSION: u32 = 1;
    const RULE_PATH_BENEATH: libc::c_int = 1;
    const WRITE_FILE: u64 = 1 << 1;
    /// ABI 1: write a file, remove a folder or file, make a char device, folder, regular file,
    /// socket, fifo, block device or symbolic link.
    const WRITES_V1: u64 = WRITE_FILE | (0x1ff << 4);
    /// ABI 2: link or rename a file into another folder.
    const REFER: u64 = 1 << 13;
    /// ABI 3: truncate a file.
    const TRUNCATE: u64 = 1 << 14;

    #[repr(C)]
    struct RulesetAttr {
        handled_access_fs: u64,
    }

    #[repr(C, packed)]
    struct PathBeneathAttr {
        allowed_access: u64,
        parent_fd: i32,
    }

    /// The kernel's Landlock ABI version, if Landlock is there and enabled.
    pub fn abi() -> Option<u32> {
        // SAFETY: the documented version query: null attributes, size 0, the version flag.
        let v = unsafe {
            libc::syscall(libc::SYS_landlock_create_ruleset, std::ptr::null::<u8>(), 0usize, CREATE_RULESET_VERSION)
        };
        u32::try_from(v).ok().filter(|v| *v >= 1)
    }

    /// A ruleset handling every kind of write, allowing them beneath `dirs` (and writing to
    /// `/dev/null`).
    pub struct Ruleset(OwnedFd);

    impl Ruleset {
        pub fn new(abi: u32, dirs: &[&Path]) -> std::io::Result<Ruleset> {
            let mut handled = WRITES_V1;
            if abi >= 2 {
                handled |= REFER;
            }
            if abi >= 3 {
                handled |= TRUNCATE;
            }
            let attr = RulesetAttr { handled_access_fs: handled };
            // SAFETY: a valid attribute struct and its size.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_landlock_create_ruleset,
                    &attr as *const RulesetAttr,
                    std::mem::size_of::<RulesetAttr>(),
                    0u32,
                )
            };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: the kernel just returned this descriptor (close-on-exec) to us alone.
            let ruleset = Ruleset(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
            for dir in dirs {
                ruleset.allow(dir, handled)?;
            }
            // Best effort: a container without `/dev/null` still gets the rest of the rules.
            let _ = ruleset.allow(Path::new("/dev/null"), handled & (WRITE_FILE | TRUNCATE));
            Ok(ruleset)
        }

        fn allow(&self, path: &Path, access: u64) -> std::io::Result<()> {
            use std::os::unix::fs::OpenOptionsExt;
            let file =
                std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH | libc::O_CLOEXEC).open(path)?;
            let attr = PathBeneathAttr { allowed_access: access, parent_fd: file.as_raw_fd() };
            // SAFETY: a valid rule for a ruleset we own, and an open O_PATH descriptor.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_landlock_add_rule,
                    self.0.as_raw_fd(),
                    RULE_PATH_BENEATH,
                    &attr as *const PathBeneathAttr,
                    0u32,
                )
            };
            if r < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
        }

        pub fn fd(&self) -> RawFd {
            self.0.as_raw_fd()
        }
    }

    /// In the child, between fork and exec: no new privileges, then enforce the ruleset. Only
    /// system calls; no allocation.
    pub fn restrict_self(fd: RawFd) -> std::io::Result<()> {
        // SAFETY: plain system calls on integers.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

#[cfg(not(target_os = "linux"))]
mod landlock {
    use std::path::Path;

    pub fn abi() -> Option<u32> {
        None
    }

    pub struct Ruleset;

    impl Ruleset {
        pub fn new(_abi: u32, _dirs: &[&Path]) -> std::io::Result<Ruleset> {
            Err(std::io::Error::other("Landlock is Linux only"))
        }
        pub fn fd(&self) -> i32 {
            -1
        }
    }

    pub fn restrict_self(_fd: i32) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str, timeout_ms: u64) -> RunSpec {
        let env = [("PATH".to_string(), std::env::var("PATH").unwrap_or_default())].into_iter().collect();
        RunSpec {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env,
            timeout: Duration::from_millis(timeout_ms),
            max_output: 1024,
        }
    }

    fn bare() -> Scratch {
        let fence = tempfile::Builder::new().prefix("convoy-scratch-").tempdir().unwrap();
        let root = fence.path().canonicalize().unwrap();
        let s = Scratch { work: root.join("work"), tmp: root.join("tmp"), home: root.join("home"), fence: Some(fence) };
        for d in [&s.work, &s.tmp, &s.home] {
            std::fs::create_dir(d).unwrap();
        }
        s
    }

    #[test]
    fn a_write_beside_the_checkout_is_detected_and_output_is_bounded() {
        let s = bare();
        let ran = s.run(&spec("echo x > ../escape; seq 1 5000; echo oops >&2; exit 3", 10_000)).unwrap();
        assert_eq!(ran.exit_code, Some(3));
        assert!(ran.stdout.bytes.len() <= 1024 && ran.stdout.dropped > 0, "{:?}", ran.stdout.dropped);
        assert!(ran.stdout.text().ends_with("5000\n"));
        assert_eq!(ran.stderr.text().lines().last(), Some("oops"));
        match sandbox() {
            // Landlock refuses the write itself.
            Sandbox::Landlock { .. } => assert!(s.escaped().is_empty()),
            Sandbox::Detection => assert_eq!(s.escaped(), ["../escape"]),
        }
        // Detection on its own, whatever the sandbox: something written into the fence.
        std::fs::write(s.work.join("../planted"), "x").unwrap();
        assert!(s.escaped().contains(&"../planted".to_string()));
    }

    #[test]
    fn the_timeout_kills_the_whole_process_group() {
        let s = bare();
        let started = Instant::now();
        let ran = s.run(&spec("sleep 30 & sleep 30; echo never", 300)).unwrap();
        assert!(ran.timed_out && ran.exit_code.is_none(), "{ran:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "the background sleep holds no pipe open");
    }

    #[test]
    fn the_environment_is_what_the_caller_gives() {
        let s = bare();
        let ran = s.run(&spec("env", 10_000)).unwrap();
        let mut names: Vec<String> =
            ran.stdout.text().lines().filter_map(|l| l.split_once('=')).map(|(k, _)| k.to_string()).collect();
        names.retain(|n| n != "SHLVL" && n != "_" && n != "OLDPWD");
        names.sort();
        assert_eq!(names, ["HOME", "PATH", "PWD", "TMPDIR"]);
    }

    #[test]
    fn the_folder_goes_away_even_when_made_read_only() {
        let s = bare();
        let ran = s.run(&spec("mkdir -p a/b && touch a/b/c && chmod 500 a/b a", 10_000)).unwrap();
        assert!(ran.success(), "{ran:?}");
        let fence = s.fence.as_ref().unwrap().path().to_path_buf();
        drop(s);
        assert!(!fence.exists());
    }
}
