//! Reading a journal back: the hash chain checked line by line, and the fold into what is done
//! and what is pending.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::entry::{Entry, GENESIS, Kind, LineError, Op, Outcome};

/// The last entry as recorded beside the journal (`journal.head`), written after each append:
/// the journal may run ahead of it (a crash between the two writes), never behind. A journal
/// that ends before it was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
}

impl Anchor {
    pub fn of(entry: &Entry) -> Anchor {
        Anchor { seq: entry.seq, hash: entry.hash.clone() }
    }
}

/// A last line without its newline: what a crash in the middle of an append leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TornTail {
    /// Where the torn line starts (the length the file is cut back to).
    pub offset: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// Something wrong with a journal. `line` counts from 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// Not a journal entry at all (bad JSON, unknown member, unknown schema version).
    Malformed { line: usize, reason: String },
    /// The line's bytes do not hash to its `hash`: it was edited.
    Edited { line: usize, seq: u64 },
    /// The sequence jumps (`found` > `expected`: lines were deleted) or goes back (lines were
    /// moved or repeated).
    Sequence { line: usize, expected: u64, found: u64 },
    /// `prev` is not the hash of the line before.
    Chain { line: usize, seq: u64 },
    /// An outcome for an intent that is not before it, or that already has one.
    Unmatched { line: usize, seq: u64, of: u64 },
    /// The journal ends before the recorded head: entries were cut off its end.
    Truncated { head_seq: u64, last_seq: Option<u64> },
    /// The entry at the recorded head's `seq` is not the recorded one.
    HeadMismatch { seq: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Malformed { line, reason } => write!(f, "line {line}: {reason}"),
            Problem::Edited { line, seq } => {
                write!(f, "line {line} (seq {seq}) was edited: its bytes do not match its hash")
            }
            Problem::Sequence { line, expected, found } if found > expected => write!(
                f,
                "line {line}: seq {found} where {expected} was expected: {} entr{} missing (deleted lines)",
                found - expected,
                if found - expected == 1 { "y is" } else { "ies are" }
            ),
            Problem::Sequence { line, expected, found } => {
                write!(f, "line {line}: seq {found} where {expected} was expected: lines were moved or repeated")
            }
            Problem::Chain { line, seq } => {
                write!(f, "line {line} (seq {seq}): `prev` is not the hash of the line before it")
            }
            Problem::Unmatched { line, seq, of } => {
                write!(f, "line {line} (seq {seq}): outcome of {of}, which is no earlier open intent")
            }
            Problem::Truncated { head_seq, last_seq } => match last_seq {
                Some(last) => write!(
                    f,
                    "the journal ends at seq {last} but its head records seq {head_seq}: entries were cut off its end"
                ),
                None => write!(f, "the journal is empty but its head records seq {head_seq}: entries were cut off"),
            },
            Problem::HeadMismatch { seq } => {
                write!(f, "the entry at seq {seq} is not the one its head records: the journal was rewritten")
            }
        }
    }
}

/// The result of reading a journal: its valid entries, and what is wrong with it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerifyReport {
    /// Every line that parsed with a matching hash, in file order (also after a problem, so a
    /// person can see the rest).
    #[serde(skip)]
    pub entries: Vec<Entry>,
    pub problems: Vec<Problem>,
    pub torn: Option<TornTail>,
    /// Bytes of the complete lines (where a torn tail starts, or the whole length).
    pub complete_len: u64,
}

impl VerifyReport {
    /// No problem, whether or not a torn tail was found (a torn tail is the expected leftover
    /// of a crash and is cut away on the next open for append).
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The entry the next one must follow.
    pub fn last(&self) -> Option<&Entry> {
        self.entries.last()
    }
}

/// At most this many problems are listed; a journal rewritten from top to bottom says so in
/// its first ones.
const MAX_PROBLEMS: usize = 100;

/// Check `bytes` (a whole journal) line by line: each line's hash, the sequence, the chain of
/// `prev`, the pairing of outcomes with intents, and the `anchor` when one is recorded.
pub fn verify(bytes: &[u8], anchor: Option<&Anchor>) -> VerifyReport {
    let mut report = VerifyReport::default();
    let complete = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(i) => i + 1,
        None => 0,
    };
    if complete < bytes.len() {
        report.torn = Some(TornTail { offset: complete as u64, len: (bytes.len() - complete) as u64 });
    }
    report.complete_len = complete as u64;
    let mut expected_seq = 0u64;
    let mut prev = GENESIS.to_string();
    let mut open: BTreeMap<u64, ()> = BTreeMap::new();
    let mut problems = Vec::new();
    for (i, line) in bytes[..complete].split_inclusive(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let entry = match Entry::from_line(line) {
            Ok(e) => e,
            Err(LineError::HashMismatch { entry, .. }) => {
                problems.push(Problem::Edited { line: line_no, seq: entry.seq });
                // Follow the chain from the edited line's own hash as written, and its pairing, so
                // the lines after it are judged on their own.
                match entry.kind {
                    Kind::Intent => {
                        open.insert(entry.seq, ());
                    }
                    Kind::Outcome => {
                        open.remove(&entry.of.unwrap_or(u64::MAX));
                    }
                }
                expected_seq = entry.seq.saturating_add(1);
                prev = entry.hash.clone();
                continue;
            }
            Err(LineError::Malformed(reason)) => {
                problems.push(Problem::Malformed { line: line_no, reason });
                expected_seq = expected_seq.saturating_add(1);
                continue;
            }
        };
        if entry.seq != expected_seq {
            problems.push(Problem::Sequence { line: line_no, expected: expected_seq, found: entry.seq });
        } else if entry.prev != prev {
            problems.push(Problem::Chain { line: line_no, seq: entry.seq });
        }
        match entry.kind {
            Kind::Intent => {
                open.insert(entry.seq, ());
            }
            Kind::Outcome => {
                let of = entry.of.unwrap_or(u64::MAX);
                if open.remove(&of).is_none() {
                    problems.push(Problem::Unmatched { line: line_no, seq: entry.seq, of });
                }
            }
        }
        expected_seq = entry.seq.saturating_add(1);
        prev = entry.hash.clone();
        report.entries.push(entry);
    }
    if let Some(anchor) = anchor {
        let last_seq = report.entries.last().map(|e| e.seq);
        match report.entries.iter().find(|e| e.seq == anchor.seq) {
            Some(e) if e.hash != anchor.hash => problems.push(Problem::HeadMismatch { seq: anchor.seq }),
            Some(_) => {}
            None if last_seq.is_none_or(|l| l < anchor.seq) => {
                problems.push(Problem::Truncated { head_seq: anchor.seq, last_seq })
            }
            None => problems.push(Problem::HeadMismatch { seq: anchor.seq }),
        }
    }
    problems.truncate(MAX_PROBLEMS);
    report.problems = problems;
    report
}

/// A side effect that finished, well or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Completed {
    pub intent: u64,
    pub outcome: u64,
    pub op: Op,
    pub result: Outcome,
}

/// An intent without an outcome: the run stopped between saying what it would do and saying
/// how it went. Resume reads the forge to learn whether it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub intent: u64,
    pub run: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub op: Op,
}

/// A journal folded into what is done and what is pending, in journal order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub done: Vec<Completed>,
    pub pending: Vec<Pending>,
}

impl Progress {
    /// Fold `entries` (as [`verify`] returns them).
    pub fn of(entries: &[Entry]) -> Progress {
        let mut intents: BTreeMap<u64, &Entry> = BTreeMap::new();
        let mut done = Vec::new();
        for e in entries {
            match (e.kind, &e.op, e.of, &e.result) {
                (Kind::Intent, Some(_), ..) => {
                    intents.insert(e.seq, e);
                }
                (Kind::Outcome, _, Some(of), Some(result)) => {
                    if let Some(intent) = intents.remove(&of)
                        && let Some(op) = &intent.op
                    {
                        done.push(Completed { intent: of, outcome: e.seq, op: op.clone(), result: result.clone() });
                    }
                }
                _ => {}
            }
        }
        let pending = intents
            .into_values()
            .filter_map(|e| Some(Pending { intent: e.seq, run: e.run.clone(), at: e.at, op: e.op.clone()? }))
            .collect();
        Progress { done, pending }
    }
}
