//! `cargo bench --bench journal_append`: what the campaign journal costs per side effect.
//!
//! Appends `BENCH_JOURNAL_PAIRS` (default 1000) intent/outcome pairs through
//! `Journal<LocalStore>`, each append one `write` + `fdatasync` (+ the in-place head record), on
//! the disk under `target/` and, for comparison, on tmpfs (`/dev/shm`, where fsync costs
//! nothing). Then `BENCH_JOURNAL_STATE_PAIRS` (default 50) pairs through the state-branch store on
//! the local forge (one compare-and-swap commit per entry; the file is rewritten whole each time,
//! so the cost grows with the journal). Prints one line per figure and writes
//! `bench/results-journal.json`. Per-entry figures are microseconds of wall time.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on stdout

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use convoy::forge::RepoId;
use convoy::forge::local::{LocalForge, RepoMeta};
use convoy::journal::{Campaign, Done, Journal, JournalStore, LocalStore, Op, Outcome, StateBranchStore, SystemClock};

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn op(n: u64) -> Op {
    Op::Commit { repo: format!("acme/svc-{n:04}"), branch: "convoy/sync".into(), parent: "f".repeat(40) }
}

fn done() -> Outcome {
    Outcome::Ok(Done { sha: Some("e".repeat(40)), ..Done::default() })
}

/// Per-entry wall times in µs: mean, p50, p99, max.
fn stats(mut us: Vec<f64>) -> serde_json::Value {
    us.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| us[((us.len() as f64 - 1.0) * q).round() as usize];
    let mean = us.iter().sum::<f64>() / us.len() as f64;
    serde_json::json!({
        "entries": us.len(),
        "mean_us": (mean * 10.0).round() / 10.0,
        "p50_us": (pick(0.5) * 10.0).round() / 10.0,
        "p99_us": (pick(0.99) * 10.0).round() / 10.0,
        "max_us": (pick(1.0) * 10.0).round() / 10.0,
    })
}

async fn pairs<S: JournalStore>(store: S, n: u64) -> (Vec<f64>, u64) {
    let (mut journal, _) = Journal::open(store, Arc::new(SystemClock), "bench").await.expect("open");
    let mut times = Vec::with_capacity(2 * n as usize);
    for i in 0..n {
        let t = Instant::now();
        let seq = journal.intent(op(i)).await.expect("intent");
        times.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        journal.outcome(seq, done()).await.expect("outcome");
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let bytes = journal.entries().iter().map(|e| e.to_line().len() as u64).sum();
    (times, bytes)
}

async fn local(dir: &Path, n: u64) -> serde_json::Value {
    let campaign = Campaign::new("convoy/sync").expect("campaign");
    let t = Instant::now();
    let (times, bytes) = pairs(LocalStore::new(dir, &campaign), n).await;
    let total = t.elapsed().as_secs_f64();
    let verify_start = Instant::now();
    let report = LocalStore::new(dir, &campaign).verify_sync().expect("verify");
    assert!(report.is_intact() && report.entries.len() as u64 == 2 * n);
    let mut s = stats(times);
    s["total_seconds"] = serde_json::json!(total);
    s["journal_bytes"] = serde_json::json!(bytes);
    s["verify_ms"] = serde_json::json!(verify_start.elapsed().as_secs_f64() * 1e3);
    s
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo test --all-targets` runs bench targets too; only `cargo bench` passes --bench. A
    // test run is a smoke run: a few entries through every store, no results file.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let n = if smoke { 5 } else { env_num("BENCH_JOURNAL_PAIRS", 1000) };
    let state_n = if smoke { 2 } else { env_num("BENCH_JOURNAL_STATE_PAIRS", 50) };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target");
    std::fs::create_dir_all(&target).expect("target");

    let disk = tempfile::tempdir_in(&target).expect("tempdir");
    let on_disk = local(disk.path(), n).await;
    println!("local file, disk ({}): {on_disk}", disk.path().display());

    let shm = Path::new("/dev/shm");
    let on_tmpfs = if shm.is_dir() {
        let dir = tempfile::tempdir_in(shm).expect("tempdir");
        let s = local(dir.path(), n).await;
        println!("local file, tmpfs: {s}");
        s
    } else {
        serde_json::Value::Null
    };

    let forge_dir = tempfile::tempdir_in(&target).expect("tempdir");
    let forge = LocalForge::new(forge_dir.path().join("forge"), None);
    let repo = RepoId::new("acme", "control");
    forge.create_repo(&repo, "main", &[("README.md", b"control\n")], &RepoMeta::default()).expect("repo");
    let store = StateBranchStore::new(
        Arc::new(forge),
        repo,
        "convoy-state",
        "main",
        &Campaign::new("convoy/sync").expect("campaign"),
    );
    let t = Instant::now();
    let (times, bytes) = pairs(store, state_n).await;
    let mut state = stats(times);
    state["total_seconds"] = serde_json::json!(t.elapsed().as_secs_f64());
    state["journal_bytes"] = serde_json::json!(bytes);
    println!("state branch, local forge: {state}");

    if smoke {
        return;
    }
    let results = serde_json::json!({
        "what": "wall time of one journal append (intent or outcome), each durable before it returns",
        "pairs": n,
        "local_file_disk": on_disk,
        "local_file_tmpfs": on_tmpfs,
        "state_branch_local_forge_pairs": state_n,
        "state_branch_local_forge": state,
        "profile": if cfg!(debug_assertions) { "dev (dependencies at opt-level 2, convoy unoptimised)" } else { "bench (release)" },
        "machine": format!("{} cores (shared with other builds while measured)", std::thread::available_parallelism().map_or(0, |n| n.get())),
    });
    let out = root.join("bench/results-journal.json");
    let mut text = serde_json::to_string_pretty(&results).expect("json");
    text.push('\n');
    std::fs::write(&out, text).expect("write results");
    println!("wrote {}", out.display());
}
