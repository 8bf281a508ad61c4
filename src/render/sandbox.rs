//! Rendering in a child process whose memory is capped.
//!
//! Fuel bounds how many steps a template takes and the output buffer bounds what it writes, but
//! neither bounds the values it builds: `{% set s = s ~ s %}` thirty times makes a 1 GiB string
//! in thirty steps, and a few more abort the process (Rust aborts on a failed allocation, so no
//! in-process check can turn that into an error). minijinja has no hook on value sizes, so the
//! bound is the operating system's: renders run in `convoy` processes started for the purpose
//! (the hidden first argument [`WORKER_ARG`]), each of which sets `RLIMIT_AS` to its own
//! footprint plus [`MAX_RENDER_MEMORY`] before it reads a job. A template that goes past the
//! limit kills only its worker; that render fails with the template's name, the repository's
//! other work and the other repositories go on, and the next render starts a fresh worker.
//!
//! The binary turns this on with [`enable`] (from `main`); a library user, and unit tests, render
//! in process. Jobs and answers are JSON lines on the worker's stdin and stdout:
//! `{"key", "setup": {"templates_dir", "sources": [[name, source]...], "max_output"}, "name",
//! "ctx"}` → `{"ok": "text"}` or `{"err": {"location", "message"}}`. The setup goes with the
//! first job of its key only; a worker keeps the engines it has built, so a run compiles each
//! template once per worker.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use super::{Renderer, TemplateError};

/// The first argument that makes `convoy` a render worker instead of the CLI.
pub const WORKER_ARG: &str = "__convoy-render-worker";

/// The address space one render process may add to its own footprint: 1 GiB. Far above any
/// real template (outputs are capped at [`super::MAX_OUTPUT`], 10 MiB).
pub const MAX_RENDER_MEMORY: u64 = 1024 * 1024 * 1024;

/// The executable that serves as worker, once [`enable`]d.
static WORKER_EXE: OnceLock<PathBuf> = OnceLock::new();
/// Idle workers, reused by later renders.
static POOL: Mutex<Vec<Worker>> = Mutex::new(Vec::new());

/// Render in worker processes started from `exe` (the running `convoy` binary) from now on.
pub fn enable(exe: PathBuf) {
    let _ = WORKER_EXE.set(exe);
}

pub(super) fn enabled() -> bool {
    cfg!(unix) && WORKER_EXE.get().is_some()
}

/// What a worker needs to build the same engine as the caller's [`Renderer`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub(super) struct Setup {
    pub templates_dir: PathBuf,
    /// Templates registered with [`Renderer::add`], in order.
    pub sources: Vec<(String, String)>,
    pub max_output: usize,
}

/// One render. `setup` is sent the first time a worker sees `key` (a hash of the setup) and
/// left out afterwards: the worker keeps the engine it built for that key.
#[derive(Serialize, Deserialize)]
struct Job<'a> {
    key: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    setup: Option<std::borrow::Cow<'a, Setup>>,
    name: std::borrow::Cow<'a, str>,
    ctx: minijinja::Value,
}

impl Setup {
    /// The key a worker files this setup's engine under.
    pub(super) fn key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.hash(&mut h);
        h.finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Answer {
    Ok(String),
    Err(TemplateError),
}

struct Worker {
    /// The setups this worker has built engines for.
    known: std::collections::HashSet<u64>,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start() -> Result<Worker, String> {
        let exe = WORKER_EXE.get().ok_or("the render process is not enabled")?;
        let mut child = Command::new(exe)
            .arg(WORKER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start the render process {}: {e}", exe.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the render process has no pipes".into());
        };
        Ok(Worker { known: Default::default(), child, stdin, stdout: BufReader::new(stdout) })
    }

    fn ask(&mut self, line: &[u8]) -> Option<Answer> {
        self.stdin.write_all(line).ok()?;
        self.stdin.flush().ok()?;
        let mut answer = String::new();
        match self.stdout.read_line(&mut answer) {
            Ok(n) if n > 0 => serde_json::from_str(&answer).ok(),
            _ => None,
        }
    }

    /// Why the worker stopped: its exit status and the last of what it wrote on stderr.
    fn death(mut self) -> String {
        drop(self.stdin);
        let status = self.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            let _ = err.by_ref().take(4096).read_to_string(&mut stderr);
        }
        // One line: it ends up in a table cell.
        let stderr = stderr.split_whitespace().collect::<Vec<_>>().join(" ");
        if stderr.is_empty() { status } else { format!("{status}: {stderr}") }
    }
}

/// Render `name` with `ctx` in a worker. A worker that dies mid-render (the memory limit, or
/// any other crash) fails this render only.
pub(super) fn render(setup: &Setup, key: u64, name: &str, ctx: &minijinja::Value) -> Result<String, TemplateError> {
    let location = format!("{}{name}", super::prefix(name));
    let fail = |message: String| TemplateError { location: location.clone(), message };
    let idle = POOL.lock().ok().and_then(|mut pool| pool.pop());
    let mut worker = match idle {
        Some(w) => w,
        None => Worker::start().map_err(fail)?,
    };
    let first = worker.known.insert(key);
    let job =
        Job { key, setup: first.then_some(std::borrow::Cow::Borrowed(setup)), name: name.into(), ctx: ctx.clone() };
    let mut line = serde_json::to_vec(&job).map_err(|e| fail(format!("the template context is not data: {e}")))?;
    line.push(b'\n');
    match worker.ask(&line) {
        Some(answer) => {
            if let Ok(mut pool) = POOL.lock() {
                pool.push(worker);
            }
            match answer {
                Answer::Ok(text) => Ok(text),
                Answer::Err(e) => Err(e),
            }
        }
        None => {
            let death = worker.death();
            Err(fail(if death.contains("memory allocation of") {
                format!(
                    "the render needed more than the {} MiB of memory a template may use (a string or list \
                     doubled in `{{% set %}}` over and over does this), so its process stopped ({death})",
                    MAX_RENDER_MEMORY / (1024 * 1024)
                )
            } else {
                format!("the process rendering it stopped ({death})")
            }))
        }
    }
}

/// The worker's main loop: cap this process's memory, then answer jobs until stdin closes.
pub fn worker_main() -> std::process::ExitCode {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let footprint = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|pages| pages.parse::<u64>().ok()))
            .map_or(256 * 1024 * 1024, |pages| pages * rustix::param::page_size() as u64);
        let limit = footprint + MAX_RENDER_MEMORY;
        let hard = getrlimit(Resource::As).maximum;
        let limit = hard.map_or(limit, |h| h.min(limit));
        if let Err(e) = setrlimit(Resource::As, Rlimit { current: Some(limit), maximum: hard }) {
            // The caller reads this from the pipe and puts it in the render's error.
            let _ = writeln!(std::io::stderr(), "convoy render process: could not limit its memory: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let mut engines: HashMap<u64, Renderer> = HashMap::new();
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lines() {
        let Ok(line) = line else { break };
        let answer = match serde_json::from_str::<Job<'static>>(&line) {
            Ok(job) => {
                if let Some(setup) = job.setup {
                    engines.insert(job.key, Renderer::from_setup(&setup));
                }
                match engines.get(&job.key).map(|r| r.render_here(&job.name, &job.ctx)) {
                    Some(Ok(text)) => Answer::Ok(text),
                    Some(Err(e)) => Answer::Err(e),
                    None => Answer::Err(TemplateError {
                        location: "render process".into(),
                        message: format!("no engine for key {}", job.key),
                    }),
                }
            }
            Err(e) => Answer::Err(TemplateError { location: "render process".into(), message: e.to_string() }),
        };
        let Ok(mut out) = serde_json::to_vec(&answer) else { break };
        out.push(b'\n');
        if stdout.write_all(&out).and_then(|()| stdout.flush()).is_err() {
            break;
        }
    }
    std::process::ExitCode::SUCCESS
}
