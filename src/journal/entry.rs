//! One journal line: its fields, its encoding and its hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// The `v` of every line this version writes and the only one it reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The `prev` of the first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What the line says: a side effect about to be tried, or how one ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intent,
    Outcome,
}

/// A side effect on a forge. `repo` is `owner/name`; shas are full hex commit ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Create `branch` at `sha`.
    BranchCreate {
        repo: String,
        branch: String,
        sha: String,
    },
    /// Move `branch` from `from` (`None`: wherever it is) to `to`.
    BranchMove {
        repo: String,
        branch: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        to: String,
    },
    /// Delete `branch` (that was at `sha`, when known).
    BranchDelete {
        repo: String,
        branch: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha: Option<String>,
    },
    /// A commit on top of `parent`, meant for `branch` (the outcome carries its sha).
    Commit {
        repo: String,
        branch: String,
        parent: String,
    },
    /// Open a pull request from `head` into `base` (the outcome carries its number).
    PrOpen {
        repo: String,
        head: String,
        base: String,
    },
    PrUpdate {
        repo: String,
        pr: u64,
    },
    PrClose {
        repo: String,
        pr: u64,
    },
    /// Merge pull request `pr` with `method` (`merge`, `squash`, `rebase`).
    PrMerge {
        repo: String,
        pr: u64,
        method: String,
    },
    /// A commit on `branch` that reverts `commit`.
    Revert {
        repo: String,
        branch: String,
        commit: String,
    },
    Tag {
        repo: String,
        tag: String,
        sha: String,
    },
    Release {
        repo: String,
        tag: String,
    },
    /// Delete tag `tag` (`release rollback`).
    TagDelete {
        repo: String,
        tag: String,
    },
    /// Delete the forge release `id` (`release rollback`).
    ReleaseDelete {
        repo: String,
        id: u64,
    },
}

impl Op {
    /// The repository the side effect is on.
    pub fn repo(&self) -> &str {
        match self {
            Op::BranchCreate { repo, .. }
            | Op::BranchMove { repo, .. }
            | Op::BranchDelete { repo, .. }
            | Op::Commit { repo, .. }
            | Op::PrOpen { repo, .. }
            | Op::PrUpdate { repo, .. }
            | Op::PrClose { repo, .. }
            | Op::PrMerge { repo, .. }
            | Op::Revert { repo, .. }
            | Op::Tag { repo, .. }
            | Op::Release { repo, .. }
            | Op::TagDelete { repo, .. }
            | Op::ReleaseDelete { repo, .. } => repo,
        }
    }
}

/// What a side effect produced, the fields that apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    /// The commit made or pointed at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The pull request's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    /// The forge's id (a release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// How a side effect ended: `{"ok": {...}}` or `{"err": "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok(Done),
    Err(String),
}

/// One line of the journal (see the module documentation for the JSON shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 0 for the first line, then one more each line.
    pub seq: u64,
    /// When it was written (UTC, from the journal's [`Clock`](super::Clock)).
    pub at: OffsetDateTime,
    /// The run that wrote it.
    pub run: String,
    /// `hash` of the entry before, [`GENESIS`] for the first.
    pub prev: String,
    pub kind: Kind,
    /// The side effect (intents only).
    pub op: Option<Op>,
    /// The `seq` of the intent this outcome ends (outcomes only).
    pub of: Option<u64>,
    /// Outcomes only.
    pub result: Option<Outcome>,
    /// SHA-256 (hex) of the line's bytes without the `hash` member.
    pub hash: String,
}

/// The members in the order they are written; `hash` is appended after.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u32,
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    run: String,
    prev: String,
    kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    of: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<Outcome>,
}

/// `,"hash":"` + 64 hex digits + `"}`.
const HASH_SUFFIX_LEN: usize = 9 + 64 + 2;

impl Entry {
    /// An intent to do `op`, following the entry whose hash is `prev`.
    pub fn intent(seq: u64, at: OffsetDateTime, run: &str, prev: &str, op: Op) -> Entry {
        Self::seal(seq, at, run, prev, Kind::Intent, Some(op), None, None)
    }

    /// The outcome of intent `of`.
    pub fn outcome(seq: u64, at: OffsetDateTime, run: &str, prev: &str, of: u64, result: Outcome) -> Entry {
        Self::seal(seq, at, run, prev, Kind::Outcome, None, Some(of), Some(result))
    }

    #[allow(clippy::too_many_arguments)]
    fn seal(
        seq: u64,
        at: OffsetDateTime,
        run: &str,
        prev: &str,
        kind: Kind,
        op: Option<Op>,
        of: Option<u64>,
        result: Option<Outcome>,
    ) -> Entry {
        // Whole seconds are what the line shows; keep the value equal to what a reader gets back.
        let at = at.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(at);
        let mut entry =
            Entry { seq, at, run: run.to_string(), prev: prev.to_string(), kind, op, of, result, hash: String::new() };
        entry.hash = sha256_hex(entry.body().as_bytes());
        entry
    }

    fn wire(&self) -> Wire {
        Wire {
            v: SCHEMA_VERSION,
            seq: self.seq,
            at: self.at,
            run: self.run.clone(),
            prev: self.prev.clone(),
            kind: self.kind,
            op: self.op.clone(),
            of: self.of,
            result: self.result.clone(),
        }
    }

    /// The JSON object without `hash`: the bytes the hash is taken of.
    fn body(&self) -> String {
        // Serialising plain strings, integers and enums cannot fail.
        serde_json::to_string(&self.wire()).unwrap_or_default()
    }

    /// The line as written, newline included: the body with `"hash":"…"` as its last member.
    pub fn to_line(&self) -> String {
        let mut body = self.body();
        body.pop(); // the closing `}`
        format!("{body},\"hash\":\"{}\"}}\n", self.hash)
    }

    /// Read one line (without its newline). The hash must match the bytes.
    pub fn from_line(line: &[u8]) -> Result<Entry, LineError> {
        if line.len() <= HASH_SUFFIX_LEN || !line.ends_with(b"\"}") {
            return Err(LineError::Malformed("not a journal entry (no trailing \"hash\" member)".into()));
        }
        let split = line.len() - HASH_SUFFIX_LEN;
        let (head, suffix) = line.split_at(split);
        let Some(hex) = suffix.strip_prefix(b",\"hash\":\"").and_then(|s| s.strip_suffix(b"\"}")) else {
            return Err(LineError::Malformed("the last member is not \"hash\"".into()));
        };
        let hash = std::str::from_utf8(hex)
            .ok()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .ok_or_else(|| LineError::Malformed("\"hash\" is not 64 lowercase hex digits".into()))?
            .to_string();
        let mut body = head.to_vec();
        body.push(b'}');
        let wire: Wire =
            serde_json::from_slice(&body).map_err(|e| LineError::Malformed(format!("not a journal entry: {e}")))?;
        if wire.v != SCHEMA_VERSION {
            return Err(LineError::Malformed(format!(
                "schema version {} (this convoy reads {SCHEMA_VERSION})",
                wire.v
            )));
        }
        let actual = sha256_hex(&body);
        let entry = Entry {
            seq: wire.seq,
            at: wire.at,
            run: wire.run,
            prev: wire.prev,
            kind: wire.kind,
            op: wire.op,
            of: wire.of,
            result: wire.result,
            hash,
        };
        if actual != entry.hash {
            return Err(LineError::HashMismatch { entry: Box::new(entry), actual });
        }
        match (entry.kind, &entry.op, entry.of, &entry.result) {
            (Kind::Intent, Some(_), None, None) | (Kind::Outcome, None, Some(_), Some(_)) => Ok(entry),
            (Kind::Intent, ..) => Err(LineError::Malformed("an intent has `op` and no `of` or `result`".into())),
            (Kind::Outcome, ..) => Err(LineError::Malformed("an outcome has `of` and `result` and no `op`".into())),
        }
    }
}

/// Why a line is not a valid entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    Malformed(String),
    /// The line parses but its bytes do not hash to its `hash`: it was edited.
    HashMismatch {
        entry: Box<Entry>,
        actual: String,
    },
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn at() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
    }

    #[test]
    fn a_line_round_trips_and_pins_the_shape() {
        let op = Op::PrOpen { repo: "acme/api".into(), head: "convoy/sync".into(), base: "main".into() };
        let e = Entry::intent(0, at(), "run-1", GENESIS, op);
        let line = e.to_line();
        assert!(line.starts_with(
            r#"{"v":1,"seq":0,"at":"2025-06-15T15:06:40Z","run":"run-1","prev":"0000000000000000000000000000000000000000000000000000000000000000","kind":"intent","op":{"type":"pr_open","repo":"acme/api","head":"convoy/sync","base":"main"},"hash":""#
        ), "{line}");
        assert_eq!(Entry::from_line(line.trim_end().as_bytes()).unwrap(), e);
        let o = Entry::outcome(1, at(), "run-1", &e.hash, 0, Outcome::Ok(Done { pr: Some(7), ..Done::default() }));
        let line = o.to_line();
        assert!(line.contains(r#""kind":"outcome","of":0,"result":{"ok":{"pr":7}},"hash":""#), "{line}");
        assert_eq!(Entry::from_line(line.trim_end().as_bytes()).unwrap(), o);
        let err = Entry::outcome(2, at(), "run-1", &o.hash, 0, Outcome::Err("boom".into()));
        assert!(err.to_line().contains(r#""result":{"err":"boom"}"#));
    }

    #[test]
    fn an_edited_byte_is_a_hash_mismatch_and_unknown_members_are_refused() {
        let e = Entry::intent(0, at(), "r", GENESIS, Op::PrClose { repo: "acme/api".into(), pr: 3 });
        let edited = e.to_line().trim_end().replace("\"pr\":3", "\"pr\":4");
        assert!(matches!(Entry::from_line(edited.as_bytes()), Err(LineError::HashMismatch { .. })));
        let extra = e.to_line().trim_end().replace("\"run\":\"r\"", "\"run\":\"r\",\"x\":1");
        assert!(matches!(Entry::from_line(extra.as_bytes()), Err(LineError::Malformed(_))));
        assert!(matches!(Entry::from_line(b"{}"), Err(LineError::Malformed(_))));
    }
}
