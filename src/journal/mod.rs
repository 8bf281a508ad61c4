//! The campaign journal and the exclusive claim (issue 11, part 4).
//!
//! Every side effect a campaign has on a forge (a branch created, moved or deleted, a commit, a
//! pull request opened, updated, closed or merged, a revert, a tag, a release) is written here
//! twice: an **intent** before it is tried and an **outcome** after. A run that stops in
//! between leaves an intent without an outcome, which [`Progress`] lists as *pending*: resume
//! reads the forge to learn whether it happened. Before a run acts it takes the campaign's
//! **claim** ([`claim`]), a lease that keeps a second run of the same campaign from acting at
//! the same time.
//!
//! The CLI puts every forge write of a claiming command on the journal by wrapping the session's
//! forge ([`forge::JournaledForge`]); `convoy journal verify` reads it back.
//!
//! # Resume
//!
//! A run killed at any point (`kill -9`) leaves its claim behind and, if it died between an
//! intent and its outcome, a pending intent. Running the same command again takes the claim over
//! (at once when the dead run was on this host and its process is gone, [`claim::decide_on_host`];
//! else when its lease runs out), says what it resumes ([`resume::interrupted`]), and converges:
//! the engine reads the forge and does only what is missing, so the pending step is found done
//! or done now. The dead run's intents keep no outcome (only the run that tried a step writes
//! its outcome); they are pending, which is no verify problem. A crash can be injected before
//! any append with the test-only `CONVOY_TEST_KILL_AT_JOURNAL_STEP` (`tests/it/resume.rs`).
//!
//! # Where it lives
//!
//! [`JournalStore`] has two implementations:
//!
//! - [`LocalStore`] (default), beside the manifest:
//!   ```text
//!   <manifest dir>/.convoy/campaigns/<slug>/journal.jsonl   the journal, one entry a line
//!   <manifest dir>/.convoy/campaigns/<slug>/journal.head    {"seq":N,"hash":"…"} of the last entry
//!   <manifest dir>/.convoy/campaigns/<slug>/claim.json      the claim
//!   <manifest dir>/.convoy/campaigns/<slug>/claim.lock      flock'd around every claim change
//!   ```
//! - [`StateBranchStore`], for scheduled CI runs whose disk does not outlive them: the same
//!   `journal.jsonl`, `journal.head` and `claim.json` under `campaigns/<slug>/` on a state
//!   branch of a control repository, each change one commit made with compare-and-swap
//!   ([`Forge::commit_on_branch`](crate::forge::Forge::commit_on_branch)): its parent is the
//!   head the writer read, and the branch moves only if it is still there.
//!
//! `<slug>` is the campaign branch ([`Campaign`]) with `/` written `~`: git refuses `~` in
//! branch names, so the slug is one path component that names exactly one branch and cannot be
//! `.`, `..` or start with a dot.
//!
//! # JSON shape (schema version 1)
//!
//! One object per line, members in this order, `hash` always last:
//!
//! ```text
//! {"v":1,"seq":0,"at":"2025-06-15T15:06:40Z","run":"run-1","prev":"000…000","kind":"intent",
//!  "op":{"type":"pr_open","repo":"acme/api","head":"convoy/sync","base":"main"},"hash":"<64 hex>"}
//! {"v":1,"seq":1,"at":"2025-06-15T15:06:41Z","run":"run-1","prev":"<hash of seq 0>","kind":"outcome",
//!  "of":0,"result":{"ok":{"pr":7}},"hash":"<64 hex>"}
//! ```
//!
//! - `v`: schema version, on every line (a line says what it is without the lines before it).
//! - `seq`: 0, 1, 2… with no gap. `at`: RFC 3339, UTC, whole seconds, from the [`Clock`].
//! - `run`: the run that wrote the line. `prev`: `hash` of the line before; 64 zeros first.
//! - `kind`: `intent` (with `op`) or `outcome` (with `of`, the intent's `seq`, and `result`:
//!   `{"ok":{"sha"?,"pr"?,"id"?,"url"?}}` or `{"err":"message"}`).
//! - `op.type`: `branch_create {repo,branch,sha}`, `branch_move {repo,branch,from?,to}`,
//!   `branch_delete {repo,branch,sha?}`, `commit {repo,branch,parent}`,
//!   `pr_open {repo,head,base}`, `pr_update {repo,pr}`, `pr_close {repo,pr}`,
//!   `pr_merge {repo,pr,method}`, `revert {repo,branch,commit}`, `tag {repo,tag,sha}`,
//!   `release {repo,tag}`.
//! - `hash`: SHA-256, lowercase hex, of the line's exact bytes up to `hash` with the object
//!   closed there: the line minus `,"hash":"…"`. Unknown members are refused.
//!
//! `claim.json`: `{"v":1,"campaign","holder","host","pid","run","acquired_at","expires_at"}`.
//!
//! # Guarantees
//!
//! - **Verify** ([`verify()`]) finds an edited line (its bytes no longer hash to its `hash`), a
//!   deleted line (a gap in `seq` and a broken `prev`), moved lines (`seq` out of order), an
//!   outcome with no open intent, and entries cut off the end (the journal ends before
//!   `journal.head`). The chain catches accidents and naive edits, not an adversary who rewrites
//!   the whole file and its head: that needs a copy elsewhere (the state branch's history is one).
//! - **A torn last line** (no newline: a crash during an append) is reported by verify and cut
//!   away, with a warning, when the journal is opened for append. It is never a side effect that
//!   happened: the forge is only touched after the intent's append has returned.
//! - **Durable**: an append is one `write` of whole lines (one entry, or a batch the forge is
//!   then handed at once) to a file opened `O_APPEND`, then `fdatasync`; creating the folders
//!   and the file fsyncs their parent folders. Writers that append at the same time (an `apply`
//!   with several jobs) share one `fdatasync` (group commit, [`Journal::write_intents`] and
//!   [`Written::wait`]), and no intent's forge call is made before the intent is durable. The
//!   [`forge::JournaledForge`] does not wait for an outcome's sync: the next intent's sync
//!   covers it (a sync covers everything written before it), and the end of the run syncs the
//!   rest, so a power cut can lose only outcomes (their intents stay pending, which a resume
//!   checks against the forge), and a killed process loses nothing. The head is rewritten in place after
//!   the journal's sync, without a sync of its own: it can lag after a power loss (then the last
//!   entries cannot be told from a cut), never run ahead.
//! - **Claim**: two runs asking at once never both win: the local store decides under an
//!   exclusive `flock` of `claim.lock`, re-reading `claim.json` under it, and replaces the file
//!   atomically; the state branch decides by compare-and-swap. The loser gets
//!   [`JournalError::ClaimHeld`], naming the holder and when the lease expires. An expired claim
//!   is taken over with a warning. A claim is checked when it is taken and renewed; the state
//!   branch also checks it on every append that has to retry.

pub mod claim;
pub mod entry;
pub mod forge;
mod local;
pub mod resume;
mod state_branch;
pub mod verify;

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

pub use claim::{Acquired, Claim, ClaimRequest};
pub use entry::{Done, Entry, GENESIS, Kind, Op, Outcome, SCHEMA_VERSION};
pub use local::LocalStore;
pub use resume::{Interrupted, interrupted};
pub use state_branch::StateBranchStore;
pub use verify::{Anchor, Completed, Pending, Problem, Progress, TornTail, VerifyReport, verify};

use crate::forge::ForgeError;

/// Errors of the journal and the claim.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("`{name}` cannot name a campaign journal: {reason}")]
    BadCampaign { name: String, reason: String },
    #[error("{location} is corrupt: {reason}")]
    Corrupt { location: String, reason: String },
    /// The journal did not verify; nothing was appended.
    #[error(
        "the journal {location} does not verify: {}\n  help: run `convoy journal verify` to see every problem; convoy will not append to a journal it cannot trust",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Invalid { location: String, problems: Vec<Problem> },
    /// Another run holds the campaign.
    #[error(
        "campaign `{}` is claimed by run {} ({}@{}, pid {}) until {} (in {} s)\n  help: wait for that run to finish; if it died, run again after {} and convoy takes over the expired claim",
        claim.campaign, claim.run, claim.holder, claim.host, claim.pid, claim::rfc3339(claim.expires_at),
        (claim.expires_at - *now).whole_seconds().max(0), claim::rfc3339(claim.expires_at)
    )]
    ClaimHeld { claim: Box<Claim>, now: OffsetDateTime },
    /// The claim this run held is gone or someone else's (its lease expired and was taken over).
    #[error("run {run} no longer holds the claim on campaign `{campaign}`{}", by.as_ref().map(|c| format!(": run {} ({}@{}) took it over", c.run, c.holder, c.host)).unwrap_or_default())]
    ClaimLost { campaign: String, run: String, by: Option<Box<Claim>> },
    /// Someone else wrote the journal since it was loaded.
    #[error(
        "{0}\n  help: another run wrote this campaign's journal; make sure only one run acts on it (the claim), then run again"
    )]
    Conflict(String),
    #[error("an outcome for seq {0}, which is not an open intent of this journal")]
    NoSuchIntent(u64),
    #[error(transparent)]
    Forge(#[from] ForgeError),
}

impl JournalError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        JournalError::Io { context: context.into(), source }
    }
}

/// A campaign, by its branch, and the one path component its files live under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Campaign {
    branch: String,
    slug: String,
}

impl Campaign {
    /// Accept a branch name git accepts, at most 200 bytes.
    pub fn new(branch: &str) -> Result<Campaign, JournalError> {
        if branch.len() > 200 {
            let short: String = branch.chars().take(40).collect();
            return Err(JournalError::BadCampaign {
                name: format!("{short}…"),
                reason: "longer than 200 bytes".into(),
            });
        }
        crate::manifest::valid_branch_name(branch)
            .map_err(|reason| JournalError::BadCampaign { name: branch.to_string(), reason })?;
        let slug = branch.replace('/', "~");
        // What valid_branch_name refuses already makes these impossible; checked again because
        // the slug becomes a path.
        if slug.is_empty() || slug.starts_with('.') || slug.contains(['/', '\\', '\0']) {
            return Err(JournalError::BadCampaign {
                name: branch.to_string(),
                reason: "not one path component".into(),
            });
        }
        Ok(Campaign { branch: branch.to_string(), slug })
    }

    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The folder name: the branch with `/` written `~`.
    pub fn slug(&self) -> &str {
        &self.slug
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.branch)
    }
}

/// Where "now" comes from: [`SystemClock`] ([`crate::clock::now`], which honours `CONVOY_NOW`),
/// or a [`FixedClock`] that tests move by hand.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock, or `CONVOY_NOW` when set ([`crate::clock::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        crate::clock::now()
    }
}

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    pub fn new(at: OffsetDateTime) -> Self {
        FixedClock(Mutex::new(at))
    }
    pub fn set(&self, at: OffsetDateTime) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }
    pub fn advance(&self, by: std::time::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0.lock().map(|t| *t).unwrap_or_else(|_| OffsetDateTime::now_utc())
    }
}

/// What opening a journal for append found.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Every entry, verified.
    pub entries: Vec<Entry>,
    /// A torn last line that was cut away (said once, as a warning, too).
    pub repaired: Option<TornTail>,
}

/// Where a campaign's journal and claim are kept.
#[async_trait]
pub trait JournalStore: Send + Sync {
    /// Where, for messages (`.convoy/campaigns/x/journal.jsonl`, `acme/control@convoy-state:…`).
    fn location(&self) -> String;

    /// Read and check the journal; changes nothing (`journal verify`).
    async fn verify(&mut self) -> Result<VerifyReport, JournalError>;

    /// Open for append: the entries so far. A torn last line is cut away (and reported in
    /// [`Loaded::repaired`]); any other problem is [`JournalError::Invalid`].
    async fn load(&mut self) -> Result<Loaded, JournalError>;

    /// Append `entries`, which continue the chain [`load`](Self::load) returned (and what was
    /// appended since), durably, before returning.
    async fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError>;

    /// Append `entries` like [`append`](Self::append), but a store that can make them durable
    /// later, for several writers with one sync (group commit), returns before they are, with
    /// the handle that does it: they are durable once [`Durability::sync_through`] their last
    /// `seq` returned. `None`: already durable (the default: [`append`](Self::append)).
    async fn write(&mut self, entries: &[Entry]) -> Result<Option<Arc<dyn Durability>>, JournalError> {
        self.append(entries).await.map(|()| None)
    }

    /// Take the campaign's claim, renew it (same run), or take over an expired one.
    async fn claim(&mut self, request: &ClaimRequest, now: OffsetDateTime) -> Result<Acquired, JournalError>;

    /// Give the claim up (only if `claim`'s run still holds it; a no-op otherwise).
    async fn release(&mut self, claim: &Claim) -> Result<(), JournalError>;

    /// The claim as stored now, if any.
    async fn current_claim(&mut self) -> Result<Option<Claim>, JournalError>;

    /// Another file of the campaign's folder (`rollout.json`), as stored now; `None` when there
    /// is none. `name` is one plain file name.
    async fn read_doc(&mut self, name: &str) -> Result<Option<Vec<u8>>, JournalError>;

    /// Replace the campaign's file `name` with `bytes`, durably and all at once (the local store
    /// renames a synced temporary file; the state branch makes one compare-and-swap commit). The
    /// caller holds the campaign's claim, so no other run writes the file meanwhile.
    async fn write_doc(&mut self, name: &str, bytes: &[u8]) -> Result<(), JournalError>;
}

/// Refuse a document name that is not one plain file name of the campaign's folder.
pub(crate) fn check_doc_name(name: &str) -> Result<(), JournalError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    let ours = ["journal.jsonl", "journal.head", "claim.json", "claim.lock"].contains(&name);
    if plain && !ours {
        Ok(())
    } else {
        Err(JournalError::BadCampaign { name: name.to_string(), reason: "not a campaign document name".into() })
    }
}

/// Makes written entries durable, without the store (see [`JournalStore::write`]).
pub trait Durability: Send + Sync {
    /// Return once every entry through `seq` is durable. Writers calling at the same time share
    /// one sync.
    fn sync_through(&self, seq: u64) -> Result<(), JournalError>;
}

/// Entries written to the journal, durable once [`wait`](Self::wait) returned.
#[must_use = "entries are durable only after `wait`"]
pub struct Written {
    /// Their `seq`s, in order.
    pub seqs: Vec<u64>,
    sync: Option<Arc<dyn Durability>>,
}

impl Written {
    /// What makes these entries durable, and their last `seq`, for a caller that syncs them
    /// later (`None` when the store made them durable as it wrote them).
    pub fn deferred(&self) -> Option<(Arc<dyn Durability>, u64)> {
        Some((self.sync.clone()?, *self.seqs.last()?))
    }

    /// Wait until the entries are durable. Meant to be called without the journal's lock, so
    /// that other writers can add theirs and share the sync; the sync runs on tokio's blocking
    /// pool, so that the runtime's workers go on running the tasks that write them.
    pub async fn wait(&self) -> Result<(), JournalError> {
        let (Some(sync), Some(last)) = (self.sync.clone(), self.seqs.last().copied()) else { return Ok(()) };
        tokio::task::spawn_blocking(move || sync.sync_through(last)).await.map_err(|e| JournalError::Io {
            context: "waiting for the journal's sync".into(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}

#[async_trait]
impl JournalStore for Box<dyn JournalStore> {
    fn location(&self) -> String {
        (**self).location()
    }
    async fn verify(&mut self) -> Result<VerifyReport, JournalError> {
        (**self).verify().await
    }
    async fn load(&mut self) -> Result<Loaded, JournalError> {
        (**self).load().await
    }
    async fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        (**self).append(entries).await
    }
    async fn claim(&mut self, request: &ClaimRequest, now: OffsetDateTime) -> Result<Acquired, JournalError> {
        (**self).claim(request, now).await
    }
    async fn release(&mut self, claim: &Claim) -> Result<(), JournalError> {
        (**self).release(claim).await
    }
    async fn current_claim(&mut self) -> Result<Option<Claim>, JournalError> {
        (**self).current_claim().await
    }
    async fn read_doc(&mut self, name: &str) -> Result<Option<Vec<u8>>, JournalError> {
        (**self).read_doc(name).await
    }
    async fn write_doc(&mut self, name: &str, bytes: &[u8]) -> Result<(), JournalError> {
        (**self).write_doc(name, bytes).await
    }
}

/// A journal open for append: builds each entry (sequence, chain, time, run) and hands it to
/// its store before returning.
pub struct Journal<S: JournalStore> {
    store: S,
    clock: Arc<dyn Clock>,
    run: String,
    entries: Vec<Entry>,
    /// Intents without an outcome yet.
    open: std::collections::BTreeSet<u64>,
}

impl<S: JournalStore> Journal<S> {
    /// Load `store` for append, as run `run`. The returned [`Loaded::repaired`] says whether a
    /// torn last line was cut away.
    pub async fn open(
        mut store: S,
        clock: Arc<dyn Clock>,
        run: impl Into<String>,
    ) -> Result<(Journal<S>, Option<TornTail>), JournalError> {
        let loaded = store.load().await?;
        let open = Progress::of(&loaded.entries).pending.iter().map(|p| p.intent).collect();
        Ok((Journal { store, clock, run: run.into(), entries: loaded.entries, open }, loaded.repaired))
    }

    /// Record that `op` is about to be tried, durably; returns the intent's `seq`, for its
    /// outcome.
    pub async fn intent(&mut self, op: Op) -> Result<u64, JournalError> {
        Ok(self.intents(vec![op]).await?[0])
    }

    /// Record how intent `of` ended, durably.
    pub async fn outcome(&mut self, of: u64, result: Outcome) -> Result<u64, JournalError> {
        Ok(self.outcomes(vec![(of, result)]).await?[0])
    }

    /// Record that each of `ops` is about to be tried, all in one durable append (one sync for a
    /// batch of writes the forge is then handed at once); their `seq`s, in order.
    pub async fn intents(&mut self, ops: Vec<Op>) -> Result<Vec<u64>, JournalError> {
        let written = self.write_intents(ops).await?;
        written.wait().await?;
        Ok(written.seqs)
    }

    /// Record how each intent ended, all in one durable append.
    pub async fn outcomes(&mut self, results: Vec<(u64, Outcome)>) -> Result<Vec<u64>, JournalError> {
        let written = self.write_outcomes(results).await?;
        written.wait().await?;
        Ok(written.seqs)
    }

    /// [`intents`](Self::intents) without waiting until they are durable: the caller must
    /// [`Written::wait`] before it acts on them (before the forge call), and should do so
    /// without holding the journal, so that concurrent writers share one sync.
    pub async fn write_intents(&mut self, ops: Vec<Op>) -> Result<Written, JournalError> {
        let mut batch: Vec<Entry> = Vec::with_capacity(ops.len());
        for op in ops {
            let (seq, prev) = self.after(batch.last());
            batch.push(Entry::intent(seq, self.clock.now(), &self.run, &prev, op));
        }
        self.write(batch).await
    }

    /// [`outcomes`](Self::outcomes) without waiting until they are durable (see
    /// [`write_intents`](Self::write_intents)).
    pub async fn write_outcomes(&mut self, results: Vec<(u64, Outcome)>) -> Result<Written, JournalError> {
        let mut batch: Vec<Entry> = Vec::with_capacity(results.len());
        for (of, result) in results {
            if !self.open.contains(&of) || batch.iter().any(|e| e.of == Some(of)) {
                return Err(JournalError::NoSuchIntent(of));
            }
            let (seq, prev) = self.after(batch.last());
            batch.push(Entry::outcome(seq, self.clock.now(), &self.run, &prev, of, result));
        }
        self.write(batch).await
    }

    /// The `seq` and `prev` of an entry after `last` of a batch being built (or after the
    /// journal's last entry).
    fn after(&self, last: Option<&Entry>) -> (u64, String) {
        match last {
            Some(e) => (e.seq + 1, e.hash.clone()),
            None => (self.next_seq(), self.prev()),
        }
    }

    /// One append of `batch` (one write), then the bookkeeping.
    async fn write(&mut self, batch: Vec<Entry>) -> Result<Written, JournalError> {
        if batch.is_empty() {
            return Ok(Written { seqs: Vec::new(), sync: None });
        }
        crash_point();
        let sync = self.store.write(&batch).await?;
        let mut seqs = Vec::with_capacity(batch.len());
        for entry in batch {
            seqs.push(entry.seq);
            match (entry.kind, entry.of) {
                (Kind::Intent, _) => {
                    self.open.insert(entry.seq);
                }
                (Kind::Outcome, Some(of)) => {
                    self.open.remove(&of);
                }
                (Kind::Outcome, None) => {}
            }
            self.entries.push(entry);
        }
        Ok(Written { seqs, sync })
    }

    fn next_seq(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.seq + 1)
    }

    fn prev(&self) -> String {
        self.entries.last().map_or_else(|| GENESIS.to_string(), |e| e.hash.clone())
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// What is done and what is pending.
    pub fn progress(&self) -> Progress {
        Progress::of(&self.entries)
    }

    pub fn store(&mut self) -> &mut S {
        &mut self.store
    }

    pub fn into_store(self) -> S {
        self.store
    }
}

/// Test only: with `CONVOY_TEST_KILL_AT_JOURNAL_STEP=N`, the process sends itself `SIGKILL` just
/// before its N-th append (0-based, every journal of this process counted together; an append
/// is one write of one entry or of a batch). Every append of every store goes through
/// [`Journal`]'s one write, so this is the one place: before
/// an intent is a crash before the forge call, before an outcome a forge write that happened but
/// was not recorded. A value that is not a number is ignored with a warning.
fn crash_point() {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    static APPENDS: AtomicU64 = AtomicU64::new(0);
    let at = AT.get_or_init(|| {
        let name = crate::env_vars::CONVOY_TEST_KILL_AT_JOURNAL_STEP;
        let value = std::env::var(name).ok()?;
        let parsed = value.trim().parse().ok();
        if parsed.is_none() {
            tracing::warn!("{name}={value:?} is not a step number; ignored");
        }
        parsed
    });
    let Some(at) = *at else { return };
    if APPENDS.fetch_add(1, Ordering::SeqCst) == at {
        kill_self();
    }
}

/// `SIGKILL` to this process: no destructor, no flush, no claim given back, as `kill -9` does.
fn kill_self() {
    #[cfg(unix)]
    {
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
    // Not reached where the signal was delivered.
    std::process::abort();
}
