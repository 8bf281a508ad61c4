//! Publish gates: what must be true of a released package before the next wave starts.
//!
//! - `command`: a command exits 0 (`sh -c`, in the manifest's folder, with `CONVOY_PACKAGE`,
//!   `CONVOY_VERSION`, `CONVOY_TAG`, `CONVOY_REPO`; killed with its process group at the
//!   timeout). It may publish itself (`cargo publish`) or check something.
//! - `index`: the version is listed in the registry's sparse index
//!   (<https://doc.rust-lang.org/cargo/reference/registry-index.html#index-files>: the file of
//!   `name` is `1/name`, `2/name`, `3/n/name` or `na/me/name`, lower-cased; one JSON object per
//!   published version, with `vers`). crates.io's index sits behind a CDN, so a fresh version
//!   can be missing for a while: the gate polls with a doubling wait (from `interval`, at most
//!   five minutes) until `timeout`, and a timeout is a failed gate, never a success.
//! - `workflow`: a completed run of the workflow on the tag's commit concluded `success`
//!   (GitHub's workflow runs, `head_sha`); one that concluded otherwise fails the gate at once.
//!   The local forge has no workflow runs: there the gate reads the commit status whose context
//!   is the workflow's file name (set by `convoy forge set-status`).

use std::path::Path;
use std::time::{Duration, Instant};

use super::config::{CRATES_IO_INDEX, GateConfig, GateKind};
use crate::forge::{CheckState, Forge, RepoId};

/// One package's gate, as the run sees it.
#[derive(Debug, Clone)]
pub struct GateInput<'a> {
    pub repo: &'a RepoId,
    pub package: &'a str,
    pub version: &'a str,
    pub tag: &'a str,
    /// The commit the tag points at.
    pub sha: &'a str,
    /// Where `command` runs.
    pub dir: &'a Path,
}

/// `Ok(what was seen)` when the gate passed, `Err(why not)` otherwise (a timeout included).
pub async fn wait(gate: &GateConfig, input: &GateInput<'_>, forge: &dyn Forge) -> Result<String, String> {
    let (timeout, interval) = gate.timings();
    let timeout = Duration::from_secs(timeout);
    match gate.kind {
        GateKind::None => Ok("no gate".into()),
        GateKind::Command => command(gate.command.as_deref().unwrap_or_default(), input, timeout).await,
        GateKind::Index => {
            let index = gate.index.as_deref().unwrap_or(CRATES_IO_INDEX);
            let url = index_url(index, input.package);
            // One client for every look (its connection pool is reused between them).
            crate::workspace::install_tls_provider();
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .user_agent(concat!("convoy/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("no HTTP client: {e}"))?;
            poll(timeout, Duration::from_secs(interval), || index_has(&client, &url, input.version))
                .await
                .map(|_| format!("{} {} is in the index ({url})", input.package, input.version))
        }
        GateKind::Workflow => {
            let workflow = gate.workflow.as_deref().unwrap_or_default();
            poll(timeout, Duration::from_secs(interval), || workflow_done(forge, input, workflow))
                .await
                .map(|_| format!("{workflow} succeeded on {}", &input.sha[..input.sha.len().min(7)]))
        }
    }
}

/// What one look at a gate saw.
enum Seen {
    Passed,
    /// Not yet: look again after the next wait (the reason, for the timeout's message).
    NotYet(String),
}

/// Look until `check` passes, fails or `timeout` has passed, waiting `interval`, then twice
/// that, ..., at most five minutes between looks.
async fn poll<F, Fut>(timeout: Duration, interval: Duration, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Seen, String>>,
{
    let start = Instant::now();
    let mut wait = interval;
    loop {
        let last = match check().await? {
            Seen::Passed => return Ok(()),
            Seen::NotYet(why) => why,
        };
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(format!("timed out after {}s: {last}", timeout.as_secs()));
        }
        tokio::time::sleep(wait.min(timeout - elapsed)).await;
        wait = (wait * 2).min(Duration::from_secs(300));
    }
}

/// The sparse index file of `name` under `index` (no trailing slash needed).
pub fn index_url(index: &str, name: &str) -> String {
    let name = name.to_lowercase();
    let prefix = match name.len() {
        1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    };
    format!("{}/{prefix}/{name}", index.trim_end_matches('/'))
}

async fn index_has(client: &reqwest::Client, url: &str, version: &str) -> Result<Seen, String> {
    let resp = match client.get(url).header("cache-control", "no-cache").send().await {
        Ok(r) => r,
        // The network may come back before the timeout.
        Err(e) => return Ok(Seen::NotYet(format!("{url}: {e}"))),
    };
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Ok(Seen::NotYet(format!("{url}: 404, the crate is not in the index yet")));
    }
    if !status.is_success() {
        return Ok(Seen::NotYet(format!("{url}: HTTP {status}")));
    }
    let body = resp.text().await.map_err(|e| format!("{url}: {e}"))?;
    let listed = body.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).any(|v| {
        v["vers"].as_str().and_then(|s| semver::Version::parse(s).ok()) == semver::Version::parse(version).ok()
    });
    Ok(if listed { Seen::Passed } else { Seen::NotYet(format!("{url} does not list {version} yet")) })
}

async fn workflow_done(forge: &dyn Forge, input: &GateInput<'_>, workflow: &str) -> Result<Seen, String> {
    let file = workflow.rsplit('/').next().unwrap_or(workflow);
    let path = format!(".github/workflows/{file}");
    match forge.workflow_runs(input.repo, &path, 50).await.map_err(|e| format!("{}: {e}", input.repo))? {
        Some(runs) => {
            let on_tag: Vec<_> = runs.iter().filter(|r| r.head_sha.as_deref() == Some(input.sha)).collect();
            if let Some(run) = on_tag.iter().find(|r| r.status == "completed") {
                return match run.conclusion.as_deref() {
                    Some("success") => Ok(Seen::Passed),
                    other => {
                        Err(format!("{file} concluded {} on {}", other.unwrap_or("without a conclusion"), input.tag))
                    }
                };
            }
            Ok(Seen::NotYet(format!("no completed run of {file} on {} yet", input.tag)))
        }
        None => {
            // The local forge: the commit status named after the workflow file.
            let verdict =
                forge.check_verdict(input.repo, input.sha).await.map_err(|e| format!("{}: {e}", input.repo))?;
            match verdict.checks.iter().find(|c| c.context == file || c.context == workflow).map(|c| c.state) {
                Some(CheckState::Success) => Ok(Seen::Passed),
                Some(CheckState::Failure) => Err(format!("{file} failed on {}", input.tag)),
                _ => Ok(Seen::NotYet(format!("no successful `{file}` status on {} yet", input.tag))),
            }
        }
    }
}

/// Run the gate's command; exit 0 passes. Output is kept for the failure message (its tail).
async fn command(command: &str, input: &GateInput<'_>, timeout: Duration) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(input.dir)
        .env("CONVOY_PACKAGE", input.package)
        .env("CONVOY_VERSION", input.version)
        .env("CONVOY_TAG", input.tag)
        .env("CONVOY_REPO", input.repo.full_name())
        .env("CONVOY_SHA", input.sha)
        .stdin(std::process::Stdio::null())
        // Captured: stdout is `--json`'s; the tail is shown when the command fails.
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    cmd.process_group(0);
    let child = cmd.spawn().map_err(|e| format!("cannot run `{command}`: {e}"))?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) if out.status.success() => Ok(format!("`{command}` exited 0")),
        Ok(Ok(out)) => {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let tail: Vec<&str> = text.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
            Err(format!("`{command}` failed ({}): {}", out.status, tail.join(" | ")))
        }
        Ok(Err(e)) => Err(format!("`{command}`: {e}")),
        Err(_) => {
            #[cfg(unix)]
            if let Some(pid) = pid.and_then(|p| rustix::process::Pid::from_raw(p as i32)) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = pid;
            Err(format!("`{command}` timed out after {}s (killed)", timeout.as_secs()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paths_follow_cargos_layout() {
        let i = "https://index.crates.io/";
        assert_eq!(index_url(i, "a"), "https://index.crates.io/1/a");
        assert_eq!(index_url(i, "ab"), "https://index.crates.io/2/ab");
        assert_eq!(index_url(i, "abc"), "https://index.crates.io/3/a/abc");
        assert_eq!(index_url(i, "Serde_JSON"), "https://index.crates.io/se/rd/serde_json");
    }
}
