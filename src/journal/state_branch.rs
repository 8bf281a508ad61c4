//! The journal and claim on a state branch of a control repository, written with
//! compare-and-swap commits (see the module documentation).

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::claim::{self, Acquired, Claim, ClaimRequest};
use super::verify::{Anchor, VerifyReport, verify};
use super::{Campaign, Entry, JournalError, JournalStore, Loaded};
use crate::forge::{FileChange, Forge, ForgeError, RepoId};

/// How many compare-and-swap attempts one write makes before it gives up: each lost race is
/// another writer's commit landing, so this bounds a write under heavy contention, not a wait.
const MAX_ATTEMPTS: usize = 32;

/// A campaign's journal and claim under `campaigns/<slug>/` on `branch` of `repo`.
pub struct StateBranchStore {
    forge: Arc<dyn Forge>,
    repo: RepoId,
    branch: String,
    /// The branch a missing state branch is started from (the control repository's default
    /// branch): the trait has no root commit, so the state branch shares its first commit.
    start_from: String,
    campaign: Campaign,
    /// The branch head the journal below was read at.
    head: Option<String>,
    /// The journal's complete lines at `head` (a torn tail dropped).
    journal: Vec<u8>,
    /// Set by `load`; appends refuse before it.
    loaded: bool,
    /// The claim this store took: every retried append checks it still stands.
    claimed: Option<Claim>,
}

/// What a campaign's files say at one commit.
struct Snapshot {
    head: String,
    journal: Vec<u8>,
    anchor: Option<Anchor>,
    claim: Option<Claim>,
}

impl StateBranchStore {
    pub fn new(
        forge: Arc<dyn Forge>,
        repo: RepoId,
        branch: impl Into<String>,
        start_from: impl Into<String>,
        campaign: &Campaign,
    ) -> StateBranchStore {
        StateBranchStore {
            forge,
            repo,
            branch: branch.into(),
            start_from: start_from.into(),
            campaign: campaign.clone(),
            head: None,
            journal: Vec::new(),
            loaded: false,
            claimed: None,
        }
    }

    fn path(&self, file: &str) -> String {
        format!("campaigns/{}/{file}", self.campaign.slug())
    }

    /// The state branch's head, creating the branch (at `start_from`'s head) when missing.
    async fn ensure_branch(&self) -> Result<String, JournalError> {
        if let Some(head) = self.forge.branch_head(&self.repo, &self.branch).await? {
            return Ok(head);
        }
        let base = self.forge.branch_head(&self.repo, &self.start_from).await?.ok_or_else(|| {
            ForgeError::NotFound(format!(
                "branch {} of {} (to start the state branch from)",
                self.start_from, self.repo
            ))
        })?;
        match self.forge.update_branch(&self.repo, &self.branch, &base, false).await {
            // Someone else created it first (and may have written to it already): theirs stands.
            Ok(()) | Err(ForgeError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.forge.branch_head(&self.repo, &self.branch).await?.ok_or_else(|| {
            JournalError::Forge(ForgeError::NotFound(format!("branch {} of {}", self.branch, self.repo)))
        })
    }

    async fn snapshot(&self, head: String) -> Result<Snapshot, JournalError> {
        let journal = self.forge.read_file(&self.repo, &head, &self.path("journal.jsonl")).await?.unwrap_or_default();
        let anchor = match self.forge.read_file(&self.repo, &head, &self.path("journal.head")).await? {
            Some(bytes) => Some(serde_json::from_slice(bytes.trim_ascii()).map_err(|e| JournalError::Corrupt {
                location: format!("{}:{}", self.location(), "journal.head"),
                reason: e.to_string(),
            })?),
            None => None,
        };
        let claim = match self.forge.read_file(&self.repo, &head, &self.path("claim.json")).await? {
            Some(bytes) => {
                Some(Claim::from_json(&bytes, &format!("{}@{}:{}", self.repo, self.branch, self.path("claim.json")))?)
            }
            None => None,
        };
        Ok(Snapshot { head, journal, anchor, claim })
    }

    /// One compare-and-swap commit on top of `head`; `Ok(None)` when the branch moved.
    async fn cas(&self, head: &str, changes: &[FileChange], message: &str) -> Result<Option<String>, JournalError> {
        match self.forge.commit_on_branch(&self.repo, &self.branch, head, changes, message).await {
            Ok(sha) => Ok(Some(sha)),
            // Moved, or the answer was lost: the caller reads the branch again and decides.
            Err(ForgeError::Conflict(_) | ForgeError::Partial(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Take, renew or hand back the claim: read, decide, compare-and-swap; again on a lost race.
    async fn claim_loop(
        &mut self,
        decide: impl Fn(Option<&Claim>) -> Result<Option<(Option<Claim>, String)>, JournalError>,
    ) -> Result<Option<Claim>, JournalError> {
        for _ in 0..MAX_ATTEMPTS {
            let snap = self.snapshot(self.ensure_branch().await?).await?;
            let Some((next, message)) = decide(snap.claim.as_ref())? else { return Ok(snap.claim) };
            let path = self.path("claim.json");
            let change = match &next {
                Some(c) => FileChange::Write { path, content: c.to_json(), executable: false, was_executable: false },
                None if snap.claim.is_none() => return Ok(None),
                None => FileChange::Delete { path },
            };
            if let Some(sha) = self.cas(&snap.head, &[change], &message).await? {
                if self.loaded && self.head.as_deref() == Some(snap.head.as_str()) {
                    self.head = Some(sha);
                }
                return Ok(next);
            }
        }
        Err(self.contended())
    }

    fn contended(&self) -> JournalError {
        JournalError::Conflict(format!(
            "{}: {MAX_ATTEMPTS} compare-and-swap attempts on {}@{} all lost to other writers",
            self.campaign, self.repo, self.branch
        ))
    }
}

#[async_trait]
impl JournalStore for StateBranchStore {
    fn location(&self) -> String {
        format!("{}@{}:{}", self.repo, self.branch, self.path("journal.jsonl"))
    }

    async fn verify(&mut self) -> Result<VerifyReport, JournalError> {
        let Some(head) = self.forge.branch_head(&self.repo, &self.branch).await? else {
            return Ok(VerifyReport::default());
        };
        let snap = self.snapshot(head).await?;
        Ok(verify(&snap.journal, snap.anchor.as_ref()))
    }

    async fn load(&mut self) -> Result<Loaded, JournalError> {
        let snap = self.snapshot(self.ensure_branch().await?).await?;
        let report = verify(&snap.journal, snap.anchor.as_ref());
        if !report.is_intact() {
            return Err(JournalError::Invalid { location: self.location(), problems: report.problems });
        }
        if let Some(torn) = &report.torn {
            // Commits are all-or-nothing, so this is not a crash's leftover; it goes with the
            // next append all the same. The CLI says it as a `warning:` line; debug here, so once.
            tracing::debug!("{}: dropping an unterminated last line ({} bytes)", self.location(), torn.len);
        }
        self.journal = snap.journal[..report.complete_len as usize].to_vec();
        self.head = Some(snap.head);
        self.loaded = true;
        Ok(Loaded { entries: report.entries, repaired: report.torn })
    }

    async fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        let Some(last) = entries.last() else { return Ok(()) };
        if !self.loaded {
            self.load().await?;
        }
        let lines: String = entries.iter().map(Entry::to_line).collect();
        let mut next = self.journal.clone();
        next.extend_from_slice(lines.as_bytes());
        let mut anchor = serde_json::to_vec(&Anchor::of(last)).unwrap_or_default();
        anchor.push(b'\n');
        let changes = [
            FileChange::Write {
                path: self.path("journal.jsonl"),
                content: next.clone(),
                executable: false,
                was_executable: false,
            },
            FileChange::Write {
                path: self.path("journal.head"),
                content: anchor,
                executable: false,
                was_executable: false,
            },
        ];
        let first = entries.first().map_or(0, |e| e.seq);
        let message = format!(
            "convoy journal: {} seq {first}..={}\n\nJournal-Head: {} {}",
            self.campaign, last.seq, last.seq, last.hash
        );
        for _ in 0..MAX_ATTEMPTS {
            let head = self.head.clone().unwrap_or_default();
            if let Some(sha) = self.cas(&head, &changes, &message).await? {
                self.head = Some(sha);
                self.journal = next;
                return Ok(());
            }
            // Lost the race (or the answer): read again. Our lines there: it landed. The journal
            // as we had it: another campaign or a claim moved the branch; go again on top.
            let snap = self.snapshot(self.ensure_branch().await?).await?;
            if snap.journal == next {
                self.head = Some(snap.head);
                self.journal = next;
                return Ok(());
            }
            if snap.journal != self.journal {
                return Err(JournalError::Conflict(format!(
                    "the journal {} changed since it was loaded (another writer appended to it)",
                    self.location()
                )));
            }
            if let Some(mine) = &self.claimed
                && snap.claim.as_ref().is_none_or(|c| c.run != mine.run)
            {
                return Err(JournalError::ClaimLost {
                    campaign: self.campaign.branch().to_string(),
                    run: mine.run.clone(),
                    by: snap.claim.map(Box::new),
                });
            }
            self.head = Some(snap.head);
        }
        Err(self.contended())
    }

    async fn claim(&mut self, request: &ClaimRequest, now: OffsetDateTime) -> Result<Acquired, JournalError> {
        let campaign = self.campaign.branch().to_string();
        let outcome = std::sync::Mutex::new(None);
        let won = self
            .claim_loop(|existing| {
                let acquired = claim::decide(&campaign, existing, request, now)?;
                let message = match (&acquired.took_over, acquired.renewed) {
                    (Some(old), _) => format!("convoy claim: {campaign} taken over from expired run {}", old.run),
                    (None, true) => format!("convoy claim: {campaign} renewed by run {}", acquired.claim.run),
                    (None, false) => format!("convoy claim: {campaign} by run {}", acquired.claim.run),
                };
                let next = acquired.claim.clone();
                if let Ok(mut slot) = outcome.lock() {
                    *slot = Some(acquired);
                }
                Ok(Some((Some(next), message)))
            })
            .await?;
        let acquired = outcome.into_inner().ok().flatten().filter(|a| Some(&a.claim) == won.as_ref());
        let acquired =
            acquired.ok_or_else(|| JournalError::Conflict(format!("{campaign}: the claim was not written")))?;
        self.claimed = Some(acquired.claim.clone());
        Ok(acquired)
    }

    async fn release(&mut self, claim: &Claim) -> Result<(), JournalError> {
        let run = claim.run.clone();
        let campaign = self.campaign.branch().to_string();
        self.claim_loop(|existing| match existing {
            Some(c) if c.run == run => Ok(Some((None, format!("convoy claim: {campaign} released by run {run}")))),
            _ => Ok(None),
        })
        .await?;
        if self.claimed.as_ref().is_some_and(|c| c.run == claim.run) {
            self.claimed = None;
        }
        Ok(())
    }

    async fn current_claim(&mut self) -> Result<Option<Claim>, JournalError> {
        let Some(head) = self.forge.branch_head(&self.repo, &self.branch).await? else { return Ok(None) };
        Ok(self.snapshot(head).await?.claim)
    }

    async fn read_doc(&mut self, name: &str) -> Result<Option<Vec<u8>>, JournalError> {
        super::check_doc_name(name)?;
        let Some(head) = self.forge.branch_head(&self.repo, &self.branch).await? else { return Ok(None) };
        Ok(self.forge.read_file(&self.repo, &head, &self.path(name)).await?)
    }

    async fn write_doc(&mut self, name: &str, bytes: &[u8]) -> Result<(), JournalError> {
        super::check_doc_name(name)?;
        let change = FileChange::Write {
            path: self.path(name),
            content: bytes.to_vec(),
            executable: false,
            was_executable: false,
        };
        let message = format!("convoy state: {} {name}", self.campaign);
        for _ in 0..MAX_ATTEMPTS {
            let head = self.ensure_branch().await?;
            if let Some(sha) = self.cas(&head, std::slice::from_ref(&change), &message).await? {
                if self.loaded && self.head.as_deref() == Some(head.as_str()) {
                    self.head = Some(sha);
                }
                return Ok(());
            }
            // Lost the race (or the answer): if the file is there as written, it landed.
            if let Some(now) = self.forge.branch_head(&self.repo, &self.branch).await?
                && self.forge.read_file(&self.repo, &now, &self.path(name)).await?.as_deref() == Some(bytes)
            {
                return Ok(());
            }
        }
        Err(self.contended())
    }
}
