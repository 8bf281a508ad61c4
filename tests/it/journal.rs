//! The campaign journal and claim: hash-chain verification on real files, durability on tmpfs,
//! claim races between threads and processes, lease expiry with an injected clock, and the
//! state-branch store on real bare repositories (local forge) and through the real HTTP client
//! against the GitHub test server, with writers racing.

use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use convoy::forge::github::GithubForge;
use convoy::forge::github::api::{Api, Endpoints, Limits};
use convoy::forge::github::auth::StaticToken;
use convoy::forge::local::{LocalForge, RepoMeta};
use convoy::forge::{FileChange, Forge, ForgeError, RepoId};
use convoy::journal::{
    Campaign, ClaimRequest, Done, FixedClock, Journal, JournalError, JournalStore, LocalStore, Op, Outcome, Problem,
    StateBranchStore, verify,
};
use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};
use time::OffsetDateTime;

use crate::support::write;

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(t0()))
}

fn campaign() -> Campaign {
    Campaign::new("convoy/sync").unwrap()
}

fn op(n: u64) -> Op {
    Op::PrUpdate { repo: format!("acme/r{n}"), pr: n }
}

fn request(run: &str, lease_secs: u64) -> ClaimRequest {
    ClaimRequest {
        holder: "ann".into(),
        host: "box".into(),
        pid: 42,
        run: run.into(),
        lease: Duration::from_secs(lease_secs),
    }
}

/// A journal of `pairs` intent/outcome pairs in `root`, written through the real store.
async fn write_journal(root: &Path, pairs: u64) -> LocalStore {
    let (mut journal, repaired) = Journal::open(LocalStore::new(root, &campaign()), clock(), "run-1").await.unwrap();
    assert!(repaired.is_none());
    for n in 0..pairs {
        let i = journal.intent(op(n)).await.unwrap();
        journal.outcome(i, Outcome::Ok(Done { pr: Some(n), ..Done::default() })).await.unwrap();
    }
    journal.into_store()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn journal_verify_finds_edits_deletions_swaps_truncation_and_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = write_journal(dir.path(), 3).await;
    let path = store.journal_path();
    assert_eq!(path, dir.path().join(".convoy/campaigns/convoy~sync/journal.jsonl"));
    let good = store.verify().await.unwrap();
    assert!(good.is_intact() && good.torn.is_none(), "{:?}", good.problems);
    assert_eq!(good.entries.len(), 6);
    let original = lines(&path);
    let check = |text: String| {
        std::fs::write(&path, text).unwrap();
        LocalStore::new(dir.path(), &campaign()).verify_sync().unwrap()
    };

    // An edited entry: its bytes no longer match its hash.
    let edited = original.concat().replacen("\"pr\":1}", "\"pr\":9}", 1);
    let report = check(edited);
    assert!(matches!(report.problems[..], [Problem::Edited { line: 3, seq: 2 }]), "{:?}", report.problems);

    // A deleted middle line: a gap in seq (and the chain is not checked across it twice).
    let mut deleted = original.clone();
    deleted.remove(2);
    let report = check(deleted.concat());
    assert!(
        matches!(report.problems[..], [Problem::Sequence { line: 3, expected: 2, found: 3 }, ..]),
        "{:?}",
        report.problems
    );
    assert!(report.problems[0].to_string().contains("1 entry is missing"), "{}", report.problems[0]);

    // Two swapped lines.
    let mut swapped = original.clone();
    swapped.swap(2, 3);
    let report = check(swapped.concat());
    assert!(
        matches!(report.problems[0], Problem::Sequence { line: 3, expected: 2, found: 3 }),
        "{:?}",
        report.problems
    );
    assert!(report.problems.iter().any(|p| matches!(p, Problem::Sequence { line: 4, expected: 4, found: 2 })));

    // A truncated tail (whole lines): the head records more.
    let report = check(original[..4].concat());
    assert!(
        matches!(report.problems[..], [Problem::Truncated { head_seq: 5, last_seq: Some(3) }]),
        "{:?}",
        report.problems
    );

    // A torn last line: reported, not a problem; cut away on open for append, with the rest kept.
    let torn = format!("{}{}", original.concat(), &original[0][..40]);
    let report = check(torn);
    assert!(report.is_intact(), "{:?}", report.problems);
    let tail = report.torn.clone().unwrap();
    assert_eq!((tail.offset, tail.len), (original.concat().len() as u64, 40));
    let (mut journal, repaired) =
        Journal::open(LocalStore::new(dir.path(), &campaign()), clock(), "run-2").await.unwrap();
    assert_eq!(repaired, Some(tail));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original.concat());
    journal.intent(op(7)).await.unwrap();
    let after = store.verify().await.unwrap();
    assert!(after.is_intact() && after.torn.is_none() && after.entries.len() == 7, "{:?}", after.problems);

    // A journal that does not verify is not appended to.
    std::fs::write(&path, original[1..].concat()).unwrap();
    let err = Journal::open(LocalStore::new(dir.path(), &campaign()), clock(), "run-3").await.err().unwrap();
    assert!(matches!(&err, JournalError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("convoy journal verify"), "{err}");
}

#[test]
fn journal_verify_of_bytes_with_no_head_and_an_empty_file() {
    let report = verify(b"", None);
    assert!(report.is_intact() && report.entries.is_empty() && report.torn.is_none());
    let report = verify(b"not json\n", None);
    assert!(matches!(report.problems[..], [Problem::Malformed { line: 1, .. }]), "{:?}", report.problems);
}

#[tokio::test]
async fn journal_folds_into_done_and_pending_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = Journal::open(LocalStore::new(dir.path(), &campaign()), clock(), "run-1").await.unwrap();
    let a = journal.intent(op(1)).await.unwrap();
    journal.outcome(a, Outcome::Err("HTTP 502".into())).await.unwrap();
    let b = journal
        .intent(Op::Commit { repo: "acme/api".into(), branch: "convoy/sync".into(), parent: "p".into() })
        .await
        .unwrap();
    assert!(matches!(journal.outcome(a, Outcome::Ok(Done::default())).await, Err(JournalError::NoSuchIntent(0))));
    drop(journal);
    // The next run reads what the first left: one done (failed), one pending.
    let (mut journal, _) = Journal::open(LocalStore::new(dir.path(), &campaign()), clock(), "run-2").await.unwrap();
    let progress = journal.progress();
    assert_eq!(progress.done.len(), 1);
    assert_eq!(progress.done[0].result, Outcome::Err("HTTP 502".into()));
    assert_eq!(progress.pending.len(), 1);
    assert_eq!((progress.pending[0].intent, progress.pending[0].run.as_str()), (b, "run-1"));
    journal.outcome(b, Outcome::Ok(Done { sha: Some("abc".into()), ..Done::default() })).await.unwrap();
    assert!(journal.progress().pending.is_empty());
    assert_eq!(journal.entries().last().unwrap().run, "run-2");
}

#[tokio::test]
async fn journal_appends_durably_on_tmpfs() {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm).unwrap() } else { tempfile::tempdir().unwrap() };
    let mut store = write_journal(dir.path(), 50).await;
    let report = store.verify().await.unwrap();
    assert!(report.is_intact() && report.entries.len() == 100, "{:?}", report.problems);
}

#[test]
fn journal_campaign_names_stay_inside_their_folder() {
    assert_eq!(Campaign::new("convoy/ci/update").unwrap().slug(), "convoy~ci~update");
    for bad in ["../x", "a/../b", ".hidden", "a/.b", "", "a b", "a~b", "-x", "a\\b", "a//b", "/a", "x/"] {
        assert!(Campaign::new(bad).is_err(), "{bad:?} accepted");
    }
    assert!(Campaign::new(&"x".repeat(201)).is_err());
}

#[test]
fn journal_claim_race_between_threads_has_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (root, barrier) = (dir.path().to_path_buf(), barrier.clone());
            std::thread::spawn(move || {
                let store = LocalStore::new(&root, &campaign());
                barrier.wait();
                store.claim_sync(&request(&format!("run-{i}"), 600), t0())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = &winners[0].claim;
    for r in &results {
        if let Err(e) = r {
            assert!(matches!(e, JournalError::ClaimHeld { claim, .. } if claim.run == winner.run), "{e}");
        }
    }
    let stored = LocalStore::new(dir.path(), &campaign()).current_claim_sync().unwrap().unwrap();
    assert_eq!(&stored, winner);
}

/// One contender of `journal_claim_race_between_processes_has_exactly_one_winner`: a no-op
/// unless that test started this process.
#[test]
fn journal_claim_race_child() {
    let Ok(root) = std::env::var("CONVOY_TEST_CLAIM_ROOT") else { return };
    let run = std::env::var("CONVOY_TEST_CLAIM_RUN").unwrap();
    // Start together: wait for the go file.
    let go = Path::new(&root).join("go");
    while !go.exists() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let store = LocalStore::new(Path::new(&root), &campaign());
    let verdict = match store.claim_sync(&request(&run, 600), t0()) {
        Ok(_) => "WON".to_string(),
        Err(JournalError::ClaimHeld { claim, .. }) => format!("HELD-BY {}", claim.run),
        Err(e) => format!("ERROR {e}"),
    };
    std::fs::write(Path::new(&root).join(format!("verdict-{run}")), verdict).unwrap();
}

#[test]
fn journal_claim_race_between_processes_has_exactly_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let n = 6;
    let children: Vec<_> = (0..n)
        .map(|i| {
            std::process::Command::new(&exe)
                .args(["--exact", "journal::journal_claim_race_child", "--test-threads=1", "--quiet"])
                .env("CONVOY_TEST_CLAIM_ROOT", dir.path())
                .env("CONVOY_TEST_CLAIM_RUN", format!("proc-{i}"))
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(dir.path().join("go"), "").unwrap();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let verdicts: Vec<String> =
        (0..n).map(|i| std::fs::read_to_string(dir.path().join(format!("verdict-proc-{i}"))).unwrap()).collect();
    let winners: Vec<usize> = (0..n).filter(|i| verdicts[*i] == "WON").collect();
    assert_eq!(winners.len(), 1, "{verdicts:?}");
    let held = format!("HELD-BY proc-{}", winners[0]);
    assert!(verdicts.iter().all(|v| v == "WON" || *v == held), "{verdicts:?}");
}

#[tokio::test]
async fn journal_expired_claim_is_taken_over_and_the_loser_is_told_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut store = LocalStore::new(dir.path(), &campaign());
    use convoy::journal::Clock as _;
    let first = store.claim(&request("run-a", 600), clock.now()).await.unwrap();
    assert!(first.took_over.is_none() && !first.renewed);
    clock.advance(Duration::from_secs(599));
    let err = store.claim(&request("run-b", 600), clock.now()).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("claimed by run run-a (ann@box, pid 42) until 2025-06-15T15:16:40Z (in 1 s)"), "{text}");
    // The holder renews (same run): the lease moves on, acquired_at stays.
    let renewed = store.claim(&request("run-a", 600), clock.now()).await.unwrap();
    assert!(renewed.renewed);
    assert_eq!(renewed.claim.acquired_at, t0());
    clock.advance(Duration::from_secs(600));
    let taken = store.claim(&request("run-b", 300), clock.now()).await.unwrap();
    assert_eq!(taken.took_over.as_ref().unwrap().run, "run-a");
    assert_eq!(taken.claim.expires_at, clock.now() + Duration::from_secs(300));
    // The old holder's release does not remove the new holder's claim; the new one's does.
    store.release(&first.claim).await.unwrap();
    assert_eq!(store.current_claim().await.unwrap().unwrap().run, "run-b");
    store.release(&taken.claim).await.unwrap();
    assert!(store.current_claim().await.unwrap().is_none());
}

// ----- forges: the compare-and-swap and read_file contract -----

fn local_forge() -> (tempfile::TempDir, Arc<LocalForge>, RepoId) {
    let dir = tempfile::tempdir().unwrap();
    let forge = LocalForge::new(dir.path().join("forge"), None);
    let repo = RepoId::new("acme", "control");
    forge
        .create_repo(&repo, "main", &[("README.md", b"control\n"), ("docs/a.txt", b"a\n")], &RepoMeta::default())
        .unwrap();
    (dir, Arc::new(forge), repo)
}

const TOKEN: &str = "ghp_journalTOKEN";

async fn github_forge() -> (TestServer, Arc<GithubForge>, RepoId) {
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.unwrap();
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into()] });
    server.create_repo(
        "acme",
        "control",
        &[("README.md", b"control\n"), ("docs/a.txt", b"a\n")],
        RepoOptions::default(),
    );
    let token = Arc::new(StaticToken::new(Some(TOKEN.to_string().into()), "test"));
    let limits = Limits { writes_per_minute: 60_000, writes_per_hour: 1_000_000, ..Limits::default() };
    let api = Api::new(Endpoints::from_api_url(&server.api_url()).unwrap(), limits, token.clone(), None).unwrap();
    (server, Arc::new(GithubForge::new(api, token)), RepoId::new("acme", "control"))
}

async fn assert_cas_and_read_file(forge: &dyn Forge, repo: &RepoId) {
    let main = forge.branch_head(repo, "main").await.unwrap().unwrap();
    assert_eq!(forge.read_file(repo, &main, "docs/a.txt").await.unwrap().as_deref(), Some(&b"a\n"[..]));
    assert_eq!(forge.read_file(repo, &main, "docs/missing.txt").await.unwrap(), None);
    assert_eq!(forge.read_file(repo, &main, "nope/a.txt").await.unwrap(), None);
    assert_eq!(forge.read_file(repo, &main, "README.md/x").await.unwrap(), None);
    assert!(matches!(forge.read_file(repo, &main, "docs").await, Err(ForgeError::Invalid(_))));
    let unknown = "0123456789012345678901234567890123456789";
    assert!(matches!(forge.read_file(repo, unknown, "README.md").await, Err(ForgeError::NotFound(_))));

    forge.update_branch(repo, "state", &main, false).await.unwrap();
    let bin = vec![0u8, 159, 146, 150, b'\n'];
    let one = forge
        .commit_on_branch(
            repo,
            "state",
            &main,
            &[FileChange::Write { path: "s/j".into(), content: bin.clone(), executable: false, was_executable: false }],
            "one\n\nbody",
        )
        .await
        .unwrap();
    assert_eq!(forge.branch_head(repo, "state").await.unwrap().as_deref(), Some(one.as_str()));
    assert_eq!(forge.commit_info(repo, &one).await.unwrap().parents, vec![main.clone()]);
    assert_eq!(forge.read_file(repo, &one, "s/j").await.unwrap(), Some(bin));
    // A writer that read `main` as the head loses: the branch is at `one` now.
    let stale = forge.commit_on_branch(repo, "state", &main, &[write("s/j", "late\n")], "late").await;
    assert!(matches!(stale, Err(ForgeError::Conflict(_))), "{stale:?}");
    // A rewind to an ancestor is refused too, which a fast-forward check alone would allow.
    let two = forge.commit_on_branch(repo, "state", &one, &[write("s/k", "k\n")], "two").await.unwrap();
    forge.update_branch(repo, "state", &one, true).await.unwrap();
    let rewound = forge.commit_on_branch(repo, "state", &two, &[write("s/k", "again\n")], "three").await;
    assert!(matches!(rewound, Err(ForgeError::Conflict(_))), "{rewound:?}");
    assert!(matches!(
        forge.commit_on_branch(repo, "absent", &main, &[write("x", "x")], "x").await,
        Err(ForgeError::NotFound(_))
    ));
    assert!(matches!(
        forge.commit_on_branch(repo, "main", &main, &[write("x", "x")], "x").await,
        Err(ForgeError::Invalid(_))
    ));
    // Deleting a file through a compare-and-swap commit.
    let gone =
        forge.commit_on_branch(repo, "state", &one, &[FileChange::Delete { path: "s/j".into() }], "rm").await.unwrap();
    assert_eq!(forge.read_file(repo, &gone, "s/j").await.unwrap(), None);
}

#[tokio::test]
async fn journal_forge_contract_local_compare_and_swap_and_read_file() {
    let (_dir, forge, repo) = local_forge();
    assert_cas_and_read_file(forge.as_ref(), &repo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_forge_contract_github_compare_and_swap_and_read_file() {
    let (_server, forge, repo) = github_forge().await;
    assert_cas_and_read_file(forge.as_ref(), &repo).await;
    // createCommitOnBranch keeps no modes: a write that would make or replace a 100755 file is
    // refused rather than silently turned into 100644.
    let head = forge.branch_head(&repo, "state").await.unwrap().unwrap();
    for (executable, was_executable) in [(true, false), (false, true)] {
        let change = FileChange::Write { path: "run.sh".into(), content: b"x".to_vec(), executable, was_executable };
        let refused = forge.commit_on_branch(&repo, "state", &head, &[change], "mode").await;
        assert!(matches!(refused, Err(ForgeError::Invalid(_))), "{refused:?}");
    }
}

// ----- the state-branch store -----

fn state_store(forge: Arc<dyn Forge>, repo: &RepoId, branch: &str) -> StateBranchStore {
    StateBranchStore::new(forge, repo.clone(), "convoy-state", "main", &Campaign::new(branch).unwrap())
}

async fn assert_state_branch_store(forge: Arc<dyn Forge>, repo: &RepoId) {
    // Two runs race for the same campaign's claim: the compare-and-swap lets exactly one win.
    let mut a = state_store(forge.clone(), repo, "convoy/sync");
    let mut b = state_store(forge.clone(), repo, "convoy/sync");
    let (req_a, req_b) = (request("run-a", 600), request("run-b", 600));
    let (ra, rb) = tokio::join!(a.claim(&req_a, t0()), b.claim(&req_b, t0()));
    let (winner, loser_err) = match (ra, rb) {
        (Ok(w), Err(e)) | (Err(e), Ok(w)) => (w, e),
        (ra, rb) => panic!("exactly one claim must win: {ra:?} / {rb:?}"),
    };
    assert!(
        matches!(&loser_err, JournalError::ClaimHeld { claim, .. } if claim.run == winner.claim.run),
        "{loser_err}"
    );
    let (mut mine, mut other) = if winner.claim.run == "run-a" { (a, b) } else { (b, a) };

    // The winner journals; a second campaign's run journals on the same branch at the same
    // time: each lost race is another writer's commit, retried on top of it.
    let mut second = state_store(forge.clone(), repo, "convoy/other");
    second.claim(&request("run-c", 600), t0()).await.unwrap();
    let clock: Arc<dyn convoy::journal::Clock> = clock();
    let run = winner.claim.run.clone();
    let (mut j1, _) = Journal::open(mine, clock.clone(), run.clone()).await.unwrap();
    let (mut j2, _) = Journal::open(second, clock.clone(), "run-c").await.unwrap();
    let work1 = async {
        for n in 0..4 {
            let i = j1.intent(op(n)).await.unwrap();
            j1.outcome(i, Outcome::Ok(Done::default())).await.unwrap();
        }
    };
    let work2 = async {
        for n in 0..4 {
            let i = j2.intent(op(100 + n)).await.unwrap();
            j2.outcome(i, Outcome::Ok(Done::default())).await.unwrap();
        }
    };
    tokio::join!(work1, work2);
    mine = j1.into_store();
    let report = mine.verify().await.unwrap();
    assert!(report.is_intact() && report.entries.len() == 8, "{:?}", report.problems);
    let report = j2.into_store().verify().await.unwrap();
    assert!(report.is_intact() && report.entries.len() == 8, "{:?}", report.problems);

    // The loser loaded the journal earlier than the winner's last append: its write is refused
    // (the journal moved under it), and after a reload it sees every entry.
    let mut stale = state_store(forge.clone(), repo, "convoy/sync");
    stale.load().await.unwrap();
    let (mut j1, _) = Journal::open(mine, clock.clone(), run.clone()).await.unwrap();
    j1.intent(op(9)).await.unwrap();
    let entry = convoy::journal::Entry::intent(8, t0(), "run-x", &"0".repeat(64), op(10));
    let err = stale.append(&[entry]).await.unwrap_err();
    assert!(matches!(err, JournalError::Conflict(_)), "{err}");
    let reloaded = other.load().await.unwrap();
    assert_eq!(reloaded.entries.len(), 9);
    assert_eq!(Journal::open(other, clock.clone(), "run-b").await.unwrap().0.progress().pending.len(), 1);

    // Lease expiry through the state branch: the claim is taken over after it expired.
    let mut late = state_store(forge.clone(), repo, "convoy/sync");
    let t_late = t0() + Duration::from_secs(601);
    let taken = late.claim(&request("run-late", 600), t_late).await.unwrap();
    assert_eq!(taken.took_over.unwrap().run, run);
    late.release(&taken.claim).await.unwrap();
    assert!(late.current_claim().await.unwrap().is_none());

    // A tampered journal on the branch does not verify.
    let head = forge.branch_head(repo, "convoy-state").await.unwrap().unwrap();
    let path = "campaigns/convoy~sync/journal.jsonl";
    let text = String::from_utf8(forge.read_file(repo, &head, path).await.unwrap().unwrap()).unwrap();
    let edited = text.replacen("acme/r1", "acme/rX", 1);
    forge.commit_on_branch(repo, "convoy-state", &head, &[write(path, &edited)], "tamper").await.unwrap();
    let report = late.verify().await.unwrap();
    assert!(matches!(report.problems[..], [Problem::Edited { .. }]), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_state_branch_store_on_the_local_forge() {
    let (_dir, forge, repo) = local_forge();
    assert_state_branch_store(forge, &repo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journal_state_branch_store_on_the_github_test_server() {
    let (_server, forge, repo) = github_forge().await;
    assert_state_branch_store(forge, &repo).await;
}

// ----- `convoy journal verify` -----

fn convoy_verify(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("convoy"))
        .arg("-m")
        .arg(dir.join("org.toml"))
        .args(["journal", "verify"])
        .args(args)
        .env_remove("CONVOY_MANIFEST")
        .env_remove("CONVOY_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let root = dir.display().to_string();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&root, "[DIR]");
    (out.status.code().unwrap_or(-1), clean(&out.stdout), clean(&out.stderr))
}

#[tokio::test]
async fn journal_verify_command_reports_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = convoy_verify(dir.path(), &["--campaign", "convoy/sync"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("no journal yet"), "{stdout}");

    let store = write_journal(dir.path(), 2).await;
    let (mut journal, _) = Journal::open(store, clock(), "run-2").await.unwrap();
    journal.intent(op(5)).await.unwrap();
    let (code, stdout, _) = convoy_verify(dir.path(), &["--campaign", "convoy/sync"]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(
        stdout.lines().next().unwrap(),
        "[DIR]/.convoy/campaigns/convoy~sync/journal.jsonl: 5 entries, 2 side effects done, 1 pending"
    );
    assert!(stdout.contains("verified: the hash chain is intact"), "{stdout}");

    let path = journal.into_store().journal_path();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("acme/r1", "acme/rX", 1)).unwrap();
    let (code, stdout, _) = convoy_verify(dir.path(), &["--campaign", "convoy/sync"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("NOT verified: 1 problem(s)\n  line 3 (seq 2) was edited"), "{stdout}");
    let (code, stdout, _) = convoy_verify(dir.path(), &["--campaign", "convoy/sync", "--json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((doc["intact"].as_bool(), doc["results"][0]["problem"].as_str()), (Some(false), Some("edited")));

    let (code, _, stderr) = convoy_verify(dir.path(), &["--campaign", "../escape"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`../escape` cannot name a campaign journal"), "{stderr}");
}
