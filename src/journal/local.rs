//! The journal and claim as files beside the manifest (see the module documentation).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::claim::{self, Acquired, Claim, ClaimRequest};
use super::verify::{Anchor, VerifyReport, verify};
use super::{Campaign, Durability, Entry, JournalError, JournalStore, Loaded};

const JOURNAL: &str = "journal.jsonl";
const HEAD: &str = "journal.head";
const CLAIM: &str = "claim.json";
const CLAIM_LOCK: &str = "claim.lock";

/// `journal.head` is rewritten in place at this fixed width (spaces, then a newline), so a
/// shorter record never leaves the end of a longer one behind.
const HEAD_WIDTH: usize = 127;

/// A campaign's journal and claim under `<root>/.convoy/campaigns/<slug>/`.
pub struct LocalStore {
    dir: PathBuf,
    campaign: Campaign,
    /// Open for append after [`JournalStore::load`].
    journal: Option<File>,
    /// What makes the journal durable, shared with writers that wait for it without the store.
    sync: Option<Arc<GroupSync>>,
}

/// Group commit: [`LocalStore::write_sync`] writes entries without syncing; whoever needs them
/// durable calls [`Durability::sync_through`], and one `fdatasync` makes everything written so
/// far durable for every writer waiting at that moment (runs of `apply` with several jobs append
/// from several repositories at once; one sync costs milliseconds on a disk). Each writer still
/// returns only once its own entries are durable: an intent before its forge call, an outcome
/// before its step returns.
pub(crate) struct GroupSync {
    path: PathBuf,
    head_path: PathBuf,
    /// A handle of the journal file, for `fdatasync`.
    file: File,
    /// The last entry written (not necessarily durable yet).
    written: Mutex<Option<Anchor>>,
    /// Held through each sync: the head file, and the last entry known durable.
    synced: Mutex<(File, Option<u64>)>,
}

impl GroupSync {
    fn wrote(&self, last: &Entry) {
        if let Ok(mut w) = self.written.lock() {
            *w = Some(Anchor::of(last));
        }
    }
}

impl Durability for GroupSync {
    fn sync_through(&self, seq: u64) -> Result<(), JournalError> {
        let poisoned =
            || JournalError::Corrupt { location: self.path.display().to_string(), reason: "a writer panicked".into() };
        let mut synced = self.synced.lock().map_err(|_| poisoned())?;
        if synced.1.is_some_and(|s| s >= seq) {
            return Ok(()); // made durable by another writer's sync
        }
        // Everything written before this point is covered by the sync below.
        let Some(target) = self.written.lock().map_err(|_| poisoned())?.clone() else { return Ok(()) };
        self.file.sync_data().map_err(|e| JournalError::io(format!("syncing {}", self.path.display()), e))?;
        // The head follows the durable journal, never ahead of it (no sync of its own: after a
        // power loss it can lag, which verify tells from a cut).
        let mut record = serde_json::to_vec(&target).unwrap_or_default();
        record.resize(HEAD_WIDTH.max(record.len()), b' ');
        record.push(b'\n');
        let head = &mut synced.0;
        head.seek(SeekFrom::Start(0))
            .and_then(|_| head.write_all(&record))
            .map_err(|e| JournalError::io(format!("writing {}", self.head_path.display()), e))?;
        synced.1 = Some(target.seq);
        Ok(())
    }
}

impl LocalStore {
    /// The store of `campaign` beside a manifest in `root` (the manifest's folder).
    pub fn new(root: &Path, campaign: &Campaign) -> LocalStore {
        LocalStore {
            dir: root.join(".convoy").join("campaigns").join(campaign.slug()),
            campaign: campaign.clone(),
            journal: None,
            sync: None,
        }
    }

    /// The campaign's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn journal_path(&self) -> PathBuf {
        self.dir.join(JOURNAL)
    }

    fn read_anchor(&self) -> Result<Option<Anchor>, JournalError> {
        let path = self.dir.join(HEAD);
        match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok(bytes) => serde_json::from_slice(bytes.trim_ascii())
                .map(Some)
                .map_err(|e| JournalError::Corrupt { location: path.display().to_string(), reason: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(JournalError::io(format!("reading {}", path.display()), e)),
        }
    }

    fn read_journal(&self) -> Result<Vec<u8>, JournalError> {
        let path = self.journal_path();
        match std::fs::read(&path) {
            Ok(bytes) => Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(JournalError::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Read and check, changing nothing.
    pub fn verify_sync(&self) -> Result<VerifyReport, JournalError> {
        let anchor = self.read_anchor()?;
        Ok(verify(&self.read_journal()?, anchor.as_ref()))
    }

    /// [`JournalStore::load`], blocking.
    pub fn load_sync(&mut self) -> Result<Loaded, JournalError> {
        create_dirs_durably(&self.dir)?;
        let path = self.journal_path();
        let (mut file, created) = match OpenOptions::new().read(true).append(true).create_new(true).open(&path) {
            Ok(f) => (f, true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
                OpenOptions::new()
                    .read(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| JournalError::io(format!("opening {}", path.display()), e))?,
                false,
            ),
            Err(e) => return Err(JournalError::io(format!("creating {}", path.display()), e)),
        };
        if created {
            sync_dir(&self.dir)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| JournalError::io(format!("reading {}", path.display()), e))?;
        let report = verify(&bytes, self.read_anchor()?.as_ref());
        if !report.is_intact() {
            return Err(JournalError::Invalid { location: path.display().to_string(), problems: report.problems });
        }
        if let Some(torn) = &report.torn {
            // The CLI says it as a `warning:` line (`cli::journaled`); debug here, so once.
            tracing::debug!(
                "{}: cut away a torn last line ({} bytes at offset {}) that a crash left half-written; the side effect it announced was never tried",
                path.display(),
                torn.len,
                torn.offset
            );
            file.set_len(torn.offset).map_err(|e| JournalError::io(format!("truncating {}", path.display()), e))?;
            file.sync_all().map_err(|e| JournalError::io(format!("syncing {}", path.display()), e))?;
        }
        let head_path = self.dir.join(HEAD);
        let head = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&head_path)
            .map_err(|e| JournalError::io(format!("opening {}", head_path.display()), e))?;
        let handle = file.try_clone().map_err(|e| JournalError::io(format!("opening {}", path.display()), e))?;
        let last = report.entries.last().map(Anchor::of);
        let durable = last.as_ref().map(|a| a.seq);
        self.sync = Some(Arc::new(GroupSync {
            path: path.clone(),
            head_path,
            file: handle,
            written: Mutex::new(last),
            synced: Mutex::new((head, durable)),
        }));
        self.journal = Some(file);
        Ok(Loaded { entries: report.entries, repaired: report.torn })
    }

    /// [`JournalStore::append`], blocking: [`write_sync`](Self::write_sync), then the sync.
    pub fn append_sync(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        let Some(last) = entries.last() else { return Ok(()) };
        let sync = self.write_sync(entries)?;
        sync.sync_through(last.seq)
    }

    /// [`JournalStore::write`], blocking: one write of whole lines to the file opened for append,
    /// not yet durable; the returned handle makes it so (then writes the head).
    pub fn write_sync(&mut self, entries: &[Entry]) -> Result<Arc<dyn Durability>, JournalError> {
        if self.journal.is_none() {
            self.load_sync()?;
        }
        let path = self.journal_path();
        let (Some(file), Some(sync)) = (self.journal.as_mut(), self.sync.as_ref()) else {
            return Err(JournalError::Corrupt { location: path.display().to_string(), reason: "not open".into() });
        };
        if let Some(last) = entries.last() {
            let lines: String = entries.iter().map(Entry::to_line).collect();
            file.write_all(lines.as_bytes())
                .map_err(|e| JournalError::io(format!("appending to {}", path.display()), e))?;
            sync.wrote(last);
        }
        Ok(sync.clone())
    }

    /// Run `f` on the claim found, under the exclusive lock of `claim.lock`; write what it
    /// returns (`Some`: replace atomically, `None`: leave as is).
    fn with_claim<T>(
        &self,
        f: impl FnOnce(Option<Claim>) -> Result<(T, Change), JournalError>,
    ) -> Result<T, JournalError> {
        create_dirs_durably(&self.dir)?;
        let lock_path = self.dir.join(CLAIM_LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| JournalError::io(format!("opening {}", lock_path.display()), e))?;
        lock.lock().map_err(|e| JournalError::io(format!("locking {}", lock_path.display()), e))?;
        let path = self.dir.join(CLAIM);
        let existing = match std::fs::read(&path) {
            Ok(bytes) => Some(Claim::from_json(&bytes, &path.display().to_string())?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(JournalError::io(format!("reading {}", path.display()), e)),
        };
        let (out, change) = f(existing)?;
        match change {
            Change::Keep => {}
            Change::Write(claim) => {
                crate::workspace::write::write_atomically(&path, &claim.to_json())
                    .map_err(|e| JournalError::io(format!("writing {}", path.display()), e))?;
                sync_dir(&self.dir)?;
            }
            Change::Remove => {
                std::fs::remove_file(&path).map_err(|e| JournalError::io(format!("removing {}", path.display()), e))?;
                sync_dir(&self.dir)?;
            }
        }
        drop(lock);
        Ok(out)
    }

    /// [`JournalStore::claim`], blocking.
    pub fn claim_sync(&self, request: &ClaimRequest, now: OffsetDateTime) -> Result<Acquired, JournalError> {
        let campaign = self.campaign.branch().to_string();
        self.with_claim(|existing| {
            // Only this host's processes write this folder (claim.json names the host), so a
            // holder whose process is gone is known dead and not waited for.
            let acquired = claim::decide_on_host(&campaign, existing.as_ref(), request, now, claim::process_alive)?;
            let write = Change::Write(acquired.claim.clone());
            Ok((acquired, write))
        })
    }

    /// [`JournalStore::release`], blocking.
    pub fn release_sync(&self, claim: &Claim) -> Result<(), JournalError> {
        self.with_claim(|existing| match existing {
            Some(c) if c.run == claim.run => Ok(((), Change::Remove)),
            _ => Ok(((), Change::Keep)),
        })
    }

    /// [`JournalStore::current_claim`], blocking.
    pub fn current_claim_sync(&self) -> Result<Option<Claim>, JournalError> {
        self.with_claim(|existing| Ok((existing, Change::Keep)))
    }
}

enum Change {
    Keep,
    Write(Claim),
    Remove,
}

#[async_trait]
impl JournalStore for LocalStore {
    fn location(&self) -> String {
        self.journal_path().display().to_string()
    }

    async fn verify(&mut self) -> Result<VerifyReport, JournalError> {
        self.verify_sync()
    }

    async fn load(&mut self) -> Result<Loaded, JournalError> {
        self.load_sync()
    }

    async fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        self.append_sync(entries)
    }

    async fn write(&mut self, entries: &[Entry]) -> Result<Option<Arc<dyn Durability>>, JournalError> {
        self.write_sync(entries).map(Some)
    }

    async fn claim(&mut self, request: &ClaimRequest, now: OffsetDateTime) -> Result<Acquired, JournalError> {
        self.claim_sync(request, now)
    }

    async fn release(&mut self, claim: &Claim) -> Result<(), JournalError> {
        self.release_sync(claim)
    }

    async fn current_claim(&mut self) -> Result<Option<Claim>, JournalError> {
        self.current_claim_sync()
    }

    async fn read_doc(&mut self, name: &str) -> Result<Option<Vec<u8>>, JournalError> {
        super::check_doc_name(name)?;
        let path = self.dir().join(name);
        match crate::workspace::paths::read_bounded(&path, crate::workspace::paths::MAX_INPUT_FILE) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(JournalError::io(path.display().to_string(), e)),
        }
    }

    async fn write_doc(&mut self, name: &str, bytes: &[u8]) -> Result<(), JournalError> {
        super::check_doc_name(name)?;
        create_dirs_durably(self.dir())?;
        let path = self.dir().join(name);
        crate::workspace::write::write_atomically(&path, bytes)
            .map_err(|e| JournalError::io(path.display().to_string(), e))
    }
}

/// `create_dir_all`, fsyncing each new folder's parent so the new entries survive a crash.
fn create_dirs_durably(dir: &Path) -> Result<(), JournalError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => break,
        }
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(JournalError::io(format!("creating {}", d.display()), e)),
        }
        if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// fsync a folder (its entries). Where the file system cannot sync a folder (`EINVAL` on
/// some), there is nothing more to do.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    let f = File::open(dir).map_err(|e| JournalError::io(format!("opening {}", dir.display()), e))?;
    match f.sync_all() {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => Ok(()),
        Err(e) => Err(JournalError::io(format!("syncing {}", dir.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use time::OffsetDateTime;

    use super::*;
    use crate::journal::{GENESIS, Op};

    fn entries(n: u64) -> Vec<Entry> {
        let at = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let mut out: Vec<Entry> = Vec::new();
        for seq in 0..n {
            let prev = out.last().map_or(GENESIS.to_string(), |e| e.hash.clone());
            out.push(Entry::intent(seq, at, "r", &prev, Op::PrUpdate { repo: "acme/api".into(), pr: seq }));
        }
        out
    }

    fn head(store: &LocalStore) -> Option<Anchor> {
        store.read_anchor().unwrap()
    }

    /// Writes from several steps, then one sync: it covers all of them, the head follows it (and
    /// only it), and a writer whose entries it covered does not sync again.
    #[test]
    fn one_sync_makes_every_earlier_write_durable_and_the_head_follows_it() {
        let dir = tempfile::tempdir().unwrap();
        let campaign = Campaign::new("convoy/ci").unwrap();
        let mut store = LocalStore::new(dir.path(), &campaign);
        store.load_sync().unwrap();
        let e = entries(3);
        let first = store.write_sync(&e[..1]).unwrap();
        let second = store.write_sync(&e[1..]).unwrap();
        assert_eq!(head(&store), None, "nothing is durable yet, so the head says nothing");
        second.sync_through(2).unwrap();
        assert_eq!(head(&store), Some(Anchor::of(&e[2])));
        // The first writer's entries are covered: nothing to do, and the head stays.
        first.sync_through(0).unwrap();
        assert_eq!(head(&store), Some(Anchor::of(&e[2])));
        let report = store.verify_sync().unwrap();
        assert!(report.is_intact() && report.entries == e, "{:?}", report.problems);
        // A reopened store starts from what is there.
        let mut again = LocalStore::new(dir.path(), &campaign);
        assert_eq!(again.load_sync().unwrap().entries.len(), 3);
        let more = entries(4);
        again.append_sync(&more[3..]).unwrap();
        assert_eq!(head(&again), Some(Anchor::of(&more[3])));
    }
}
