//! `cargo bench --bench github_campaign`: a 200-repository campaign against the GitHub-compatible
//! test server with 20 ms of latency on every request, driving the real binary.
//!
//! Measures, in one run: wall time of a first apply and of a no-op re-run at `--jobs 1` and
//! `--jobs 8`; API requests per repository for each; how many re-run requests were served from
//! ETags (304); and the highest rate of content-creating requests seen in any 60-second window
//! against the configured pace. Prints one line per figure and writes `bench/results-github.json`.
//! Targets are reported, not enforced (the machine is shared and noisy).
//!
//! `BENCH_GH_REPOS` (default 200) and `BENCH_GH_LATENCY_MS` (default 20) override the size.
//! `BENCH_GH_TIMELINE=DIR` also writes each run's request log (`DIR/<run>.tsv`: start and end in
//! milliseconds from the first request, method, route, status) to see where the time goes.
//! `BENCH_GH_ONLY=first-jobs8,first-jobs1` runs only the named runs and prints their times,
//! without writing the results file.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on stdout

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};

const TOKEN: &str = "ghp_benchTOKEN000000000000000000000000";
const WRITES_PER_MINUTE: u32 = 6000;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Run {
    seconds: f64,
    api_requests: usize,
    not_modified: usize,
    max_writes_per_minute: usize,
    ok: bool,
    /// The run's server (with its bare repositories) and convoy's cache, deleted only when the
    /// whole benchmark ends: on this machine's journal-less ext4, creating files shortly after
    /// thousands were deleted scans the recently freed inodes, which slowed whichever run came
    /// right after another run's clean-up (the `--jobs 8` one) by a few percent.
    _files: (TestServer, tempfile::TempDir),
}

async fn campaign(
    name: &str,
    repos: usize,
    latency: Duration,
    jobs: usize,
    rerun: bool,
    write_concurrency: usize,
) -> Run {
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.expect("server");
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into(), "workflow".into()] });
    for i in 0..repos {
        let files: Vec<(&str, &[u8])> = vec![("README.md", b"# svc\n"), ("Cargo.toml", b"[package]\nname = \"svc\"\n")];
        server.create_repo("acme", &format!("svc-{i:03}"), &files, RepoOptions::default());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("templates")).expect("templates");
    std::fs::write(dir.path().join("templates/ci.yml.j2"), "name: ci\non: push\n# {{ repo.full_name }}\n").expect("t");
    std::fs::write(dir.path().join("templates/owners.j2"), "* @{{ org.name }}/platform\n").expect("t");
    let manifest = format!(
        "[org]\nname = \"acme\"\njobs = {jobs}\ncache_dir = \"cache\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"{}\"\nwrites_per_minute = {WRITES_PER_MINUTE}\nwrites_per_hour = 1000000\nwrite_concurrency = {write_concurrency}\n\n[[repo]]\nname = \"acme/*\"\n\n[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n[[template]]\nsource = \"owners.j2\"\ndest = \".github/CODEOWNERS\"\n\n[campaign]\nbranch = \"convoy/bench\"\nlabels = [\"convoy\"]\n",
        server.api_url()
    );
    std::fs::write(dir.path().join("org.toml"), manifest).expect("manifest");
    let run = |dir: &Path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_convoy"));
        cmd.arg("-m").arg(dir.join("org.toml")).args(["-q", "apply"]).env("GITHUB_TOKEN", TOKEN).env_remove("GH_TOKEN");
        cmd
    };
    if rerun {
        // Two runs first: the second asks the questions a steady state asks, the third (timed)
        // is answered from the ETags they saved.
        for _ in 0..2 {
            let mut cmd = run(dir.path());
            tokio::task::spawn_blocking(move || cmd.output().expect("convoy")).await.expect("join");
        }
    }
    server.clear_requests();
    server.faults().latency(latency);
    let mut cmd = run(dir.path());
    let start = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("convoy")).await.expect("join");
    let seconds = start.elapsed().as_secs_f64();
    let log = server.requests();
    let api: Vec<_> = log.entries.iter().filter(|e| !e.route.contains(".git/")).collect();
    let writes: Vec<Instant> = api.iter().filter(|e| e.method != "GET").map(|e| e.at).collect();
    let max_writes_per_minute = writes
        .iter()
        .enumerate()
        .map(|(i, t)| writes[i..].iter().take_while(|u| u.duration_since(*t) < Duration::from_secs(60)).count())
        .max()
        .unwrap_or(0);
    let not_modified = api.iter().filter(|e| e.status == 304).count();
    if let Ok(dir) = std::env::var("BENCH_GH_TIMELINE") {
        write_timeline(Path::new(&dir), name, start, &log.entries);
    }
    if !out.status.success() {
        eprintln!("convoy failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    Run {
        seconds,
        api_requests: api.len(),
        not_modified,
        max_writes_per_minute,
        ok: out.status.success(),
        _files: (server, dir),
    }
}

fn write_timeline(dir: &Path, name: &str, start: Instant, entries: &[github_test_server::LoggedRequest]) {
    let ms = |t: Instant| t.saturating_duration_since(start).as_secs_f64() * 1000.0;
    let mut tsv = String::from("start_ms\tend_ms\tmethod\troute\tstatus\n");
    for e in entries {
        tsv.push_str(&format!("{:.1}\t{:.1}\t{}\t{}\t{}\n", ms(e.at), ms(e.finished), e.method, e.route, e.status));
    }
    std::fs::create_dir_all(dir).expect("timeline dir");
    std::fs::write(dir.join(format!("{name}.tsv")), tsv).expect("timeline");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let repos = env_num("BENCH_GH_REPOS", 200) as usize;
    let latency = Duration::from_millis(env_num("BENCH_GH_LATENCY_MS", 20));
    if let Ok(only) = std::env::var("BENCH_GH_ONLY") {
        for name in only.split(',') {
            let (jobs, rerun, wc) = match name {
                "first-jobs1" => (1, false, 1),
                "first-jobs8" => (8, false, 1),
                "noop-jobs1" => (1, true, 1),
                "noop-jobs8" => (8, true, 1),
                "first-jobs8-wc4" => (8, false, 4),
                other => panic!("unknown run {other}"),
            };
            let r = campaign(name, repos, latency, jobs, rerun, wc).await;
            println!("{name} seconds {:.3} requests {} ok {}", r.seconds, r.api_requests, r.ok);
        }
        return;
    }
    let first_1 = campaign("first-jobs1", repos, latency, 1, false, 1).await;
    let first_8 = campaign("first-jobs8", repos, latency, 8, false, 1).await;
    let noop_1 = campaign("noop-jobs1", repos, latency, 1, true, 1).await;
    let noop_8 = campaign("noop-jobs8", repos, latency, 8, true, 1).await;
    // Opt-in for servers with relaxed limits: four writes in flight (jobs 1 has one repo at a
    // time, so its serial figure above is the baseline).
    let first_8_wc4 = campaign("first-jobs8-wc4", repos, latency, 8, false, 4).await;
    let per_repo = |r: &Run| r.api_requests as f64 / repos as f64;
    let figures = serde_json::json!({
        "repos": repos,
        "latency_ms": latency.as_millis() as u64,
        "first_apply_seconds_jobs1": first_1.seconds,
        "first_apply_seconds_jobs8": first_8.seconds,
        "first_apply_speedup": first_1.seconds / first_8.seconds,
        "first_apply_seconds_jobs8_write_concurrency4": first_8_wc4.seconds,
        "first_apply_speedup_write_concurrency4": first_1.seconds / first_8_wc4.seconds,
        "noop_rerun_seconds_jobs1": noop_1.seconds,
        "noop_rerun_seconds_jobs8": noop_8.seconds,
        "noop_rerun_speedup": noop_1.seconds / noop_8.seconds,
        "first_apply_requests_per_repo": per_repo(&first_8),
        "noop_rerun_requests_per_repo": per_repo(&noop_8),
        "noop_rerun_not_modified_share": noop_8.not_modified as f64 / noop_8.api_requests.max(1) as f64,
        "configured_writes_per_minute": WRITES_PER_MINUTE,
        "max_writes_in_any_minute": first_1.max_writes_per_minute.max(first_8.max_writes_per_minute),
        "all_runs_succeeded": first_1.ok && first_8.ok && noop_1.ok && noop_8.ok && first_8_wc4.ok,
        "targets": {
            "speedup_at_least_3": first_1.seconds / first_8.seconds >= 3.0,
            "speedup_at_least_3_with_write_concurrency4": first_1.seconds / first_8_wc4.seconds >= 3.0,
            "noop_at_most_2_requests_per_repo": per_repo(&noop_8) <= 2.0 + 1.0 / repos as f64 * 2.0,
            "pacing_respected": first_1.max_writes_per_minute.max(first_8.max_writes_per_minute) <= WRITES_PER_MINUTE as usize,
        },
    });
    for (k, v) in figures.as_object().into_iter().flatten() {
        println!("{k} {v}");
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results-github.json");
    std::fs::write(&out, serde_json::to_string_pretty(&figures).unwrap_or_default()).expect("results");
    println!("results written to {}", out.display());
}
