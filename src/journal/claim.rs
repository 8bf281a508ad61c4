//! The exclusive claim on a campaign: who acts on it, until when.
//!
//! A claim is a small JSON document (`claim.json`) beside the journal. Whoever holds an
//! unexpired claim is the only run that may act on the campaign; a claim whose lease has
//! expired may be taken over (the taker says so); a run asking again for the claim it holds
//! renews it. The decision ([`decide`]) is the same for every store; what makes it exclusive
//! is where the store makes it: under a file lock with the claim re-read (local), or as a
//! compare-and-swap commit on the state branch.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::JournalError;

/// The `v` of `claim.json`.
pub const CLAIM_VERSION: u32 = 1;

/// `claim.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub v: u32,
    /// The campaign's branch.
    pub campaign: String,
    /// Who runs it (the user, or `github-actions` in CI).
    pub holder: String,
    pub host: String,
    pub pid: u32,
    /// The run's identity; the same run asking again renews its claim.
    pub run: String,
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl Claim {
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    pub(crate) fn from_json(bytes: &[u8], location: &str) -> Result<Claim, JournalError> {
        let claim: Claim = serde_json::from_slice(bytes)
            .map_err(|e| JournalError::Corrupt { location: location.to_string(), reason: e.to_string() })?;
        if claim.v != CLAIM_VERSION {
            return Err(JournalError::Corrupt {
                location: location.to_string(),
                reason: format!("claim version {} (this convoy reads {CLAIM_VERSION})", claim.v),
            });
        }
        Ok(claim)
    }
}

/// Who asks for a claim, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    pub holder: String,
    pub host: String,
    pub pid: u32,
    pub run: String,
    pub lease: Duration,
}

impl ClaimRequest {
    /// This process: the user from `USER`/`USERNAME` (`unknown` without), the host name from
    /// the kernel (`HOSTNAME`, then `unknown`, elsewhere), this pid.
    pub fn for_this_process(run: impl Into<String>, lease: Duration) -> ClaimRequest {
        let holder = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
            .unwrap_or_else(|| "unknown".to_string());
        ClaimRequest { holder, host, pid: std::process::id(), run: run.into(), lease }
    }

    fn claim(&self, campaign: &str, acquired_at: OffsetDateTime, now: OffsetDateTime) -> Claim {
        Claim {
            v: CLAIM_VERSION,
            campaign: campaign.to_string(),
            holder: self.holder.clone(),
            host: self.host.clone(),
            pid: self.pid,
            run: self.run.clone(),
            acquired_at,
            expires_at: now + self.lease,
        }
    }
}

/// A claim won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acquired {
    pub claim: Claim,
    /// The expired claim this one replaced (its run is presumed dead).
    pub took_over: Option<Claim>,
    /// The same run already held it; its lease was extended.
    pub renewed: bool,
    /// [`took_over`](Self::took_over)'s lease had not expired, but its process was gone (see
    /// [`decide_on_host`]).
    pub holder_gone: bool,
    /// The claim found in its place (taken over, renewed, or none), as it was.
    pub found: Option<Claim>,
}

impl Acquired {
    /// The claim found was left by a process that did not give it back, so its run did not
    /// finish: one taken over (expired, or its process gone), or one of this same run (the same
    /// `CONVOY_RUN_ID` or `GITHUB_RUN_ID`, e.g. a re-run CI job) written by another process that
    /// is gone (`alive`: whether a pid of this host has a process).
    pub fn left_by_unfinished_run(&self, request: &ClaimRequest, alive: impl Fn(u32) -> bool) -> Option<&Claim> {
        if let Some(c) = &self.took_over {
            return Some(c);
        }
        self.found.as_ref().filter(|c| {
            self.renewed
                && (c.host != request.host || c.pid != request.pid)
                && (c.host != request.host || !alive(c.pid))
        })
    }
}

/// Decide what to write, given the claim found (`existing`): a new claim, or the error that
/// names the holder.
pub fn decide(
    campaign: &str,
    existing: Option<&Claim>,
    request: &ClaimRequest,
    now: OffsetDateTime,
) -> Result<Acquired, JournalError> {
    let now = whole_seconds(now);
    match existing {
        None => Ok(Acquired {
            claim: request.claim(campaign, now, now),
            took_over: None,
            renewed: false,
            holder_gone: false,
            found: None,
        }),
        // The same run on the same host renews. The same run id on another host is another
        // runner (parallel jobs of one workflow run share `GITHUB_RUN_ID`): it waits like any
        // other run.
        Some(c) if c.run == request.run && c.host == request.host => Ok(Acquired {
            claim: request.claim(campaign, c.acquired_at, now),
            took_over: None,
            renewed: true,
            holder_gone: false,
            found: Some(c.clone()),
        }),
        Some(c) if c.expired(now) => {
            // Said to people by the caller (the CLI: `warning: took over the expired claim ...`);
            // a warning here too would say it twice.
            tracing::debug!(
                campaign,
                "taking over the claim of run {} ({}@{}, pid {}): its lease expired at {}",
                c.run,
                c.holder,
                c.host,
                c.pid,
                rfc3339(c.expires_at)
            );
            Ok(Acquired {
                claim: request.claim(campaign, now, now),
                took_over: Some(c.clone()),
                renewed: false,
                holder_gone: false,
                found: Some(c.clone()),
            })
        }
        Some(c) => Err(JournalError::ClaimHeld { claim: Box::new(c.clone()), now }),
    }
}

/// [`decide`] for a store only this host's processes write (the local one), where a holder whose
/// process is gone need not be waited for: a claim of another run, taken on this host
/// (`request.host`), whose pid `alive` says no process has any more, is taken over at once (a run
/// killed with `kill -9` leaves its claim behind, and its lease would otherwise keep the campaign
/// for 30 minutes). A pid reused by another process counts as alive: the new run waits for the
/// lease, as before. Two hosts with the same name sharing the folder would defeat this, as
/// would two pid namespaces (containers) with the same host name.
pub fn decide_on_host(
    campaign: &str,
    existing: Option<&Claim>,
    request: &ClaimRequest,
    now: OffsetDateTime,
    alive: impl Fn(u32) -> bool,
) -> Result<Acquired, JournalError> {
    match existing {
        Some(c) if c.run != request.run && !c.expired(now) && c.host == request.host && !alive(c.pid) => {
            // Said by the caller, which knows how (the CLI: `warning: took over ...`).
            let now = whole_seconds(now);
            Ok(Acquired {
                claim: request.claim(campaign, now, now),
                took_over: Some(c.clone()),
                renewed: false,
                holder_gone: true,
                found: Some(c.clone()),
            })
        }
        _ => decide(campaign, existing, request, now),
    }
}

/// Whether a process with this pid exists on this host (`kill(pid, 0)`: only "no such process"
/// says it is gone; a process of another user still counts).
pub fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
        !matches!(rustix::process::test_kill_process(pid), Err(e) if e == rustix::io::Errno::SRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// `now` without its fraction of a second (what `claim.json` shows).
pub(crate) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t)
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    crate::clock::format_rfc3339(t)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn req(run: &str) -> ClaimRequest {
        ClaimRequest {
            holder: "ann".into(),
            host: "h".into(),
            pid: 1,
            run: run.into(),
            lease: Duration::from_secs(600),
        }
    }

    #[test]
    fn free_held_renewed_and_expired() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let first = decide("c", None, &req("a"), t0).unwrap();
        assert_eq!(first.claim.expires_at, t0 + Duration::from_secs(600));
        let held = decide("c", Some(&first.claim), &req("b"), t0 + Duration::from_secs(599)).unwrap_err();
        let text = held.to_string();
        assert!(text.contains("run a") && text.contains("ann@h") && text.contains("2025-06-15T15:16:40Z"), "{text}");
        assert!(text.contains("in 1 s"), "{text}");
        let renewed = decide("c", Some(&first.claim), &req("a"), t0 + Duration::from_secs(300)).unwrap();
        assert!(renewed.renewed);
        assert_eq!(renewed.claim.acquired_at, t0);
        let taken = decide("c", Some(&first.claim), &req("b"), t0 + Duration::from_secs(600)).unwrap();
        assert_eq!(taken.took_over.unwrap().run, "a");
        assert_eq!(taken.claim.run, "b");
        // The same run id on another host (a parallel job of one workflow run) does not renew.
        let twin = ClaimRequest { host: "runner-2".into(), ..req("a") };
        assert!(matches!(
            decide("c", Some(&first.claim), &twin, t0 + Duration::from_secs(300)),
            Err(JournalError::ClaimHeld { .. })
        ));
    }

    #[test]
    fn a_live_claim_whose_process_is_gone_is_taken_over_on_its_own_host_only() {
        let t0 = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
        let first = decide("c", None, &req("a"), t0).unwrap().claim;
        let soon = t0 + Duration::from_secs(10);
        // Same host, pid gone: taken over although the lease runs for 590 s more.
        let taken = decide_on_host("c", Some(&first), &req("b"), soon, |_| false).unwrap();
        assert!(taken.holder_gone && taken.took_over.as_ref().unwrap().run == "a" && taken.claim.run == "b");
        // Same host, pid alive: held.
        assert!(matches!(
            decide_on_host("c", Some(&first), &req("b"), soon, |_| true),
            Err(JournalError::ClaimHeld { .. })
        ));
        // Another host: its pids say nothing here.
        let elsewhere = ClaimRequest { host: "other".into(), ..req("b") };
        assert!(decide_on_host("c", Some(&first), &elsewhere, soon, |_| false).is_err());
        // The same run renews, whatever its pid says; a claim of this run written by another
        // process that is gone (a re-run CI job keeps its run id) was left by an unfinished run.
        let again = ClaimRequest { pid: 2, ..req("a") };
        let renewed = decide_on_host("c", Some(&first), &again, soon, |_| false).unwrap();
        assert!(renewed.renewed && renewed.took_over.is_none());
        assert_eq!(renewed.left_by_unfinished_run(&again, |_| false).unwrap().pid, 1);
        assert!(renewed.left_by_unfinished_run(&again, |_| true).is_none(), "that process still runs");
        // The same process asking again (rollout advance, then its journal) renews its own.
        let own = decide_on_host("c", Some(&first), &req("a"), soon, |_| false).unwrap();
        assert!(own.left_by_unfinished_run(&req("a"), |_| false).is_none());
        assert_eq!(taken.left_by_unfinished_run(&req("b"), |_| true).unwrap().run, "a");
    }

    #[test]
    fn this_process_is_alive() {
        assert!(process_alive(std::process::id()));
    }
}
