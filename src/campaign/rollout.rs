//! Staged rollout: `[[wave]]`s applied in order, each behind a gate, within org-wide caps.
//!
//! The concepts are those of progressive delivery (Argo Rollouts' steps, pauses, analysis and
//! abort), applied to a fleet of pull requests:
//!
//! - a repository belongs to the first wave whose selectors match it (`rest = true` takes the
//!   rest); a selected repository in no wave is not rolled out;
//! - `convoy rollout advance` applies the first wave not yet applied, once the previous wave's
//!   gate passes: `require` (`merged`, `checks-green`, `opened`), `soak` after the wave's last
//!   merge, `approve` (a person ran `convoy rollout approve WAVE`), and halts the campaign when
//!   more than `max_failure_ratio` of a wave's pull requests failed (failing checks, or closed
//!   unmerged by a person), rolling it back with `on_halt = "rollback"`;
//! - caps: at most `max_open_prs` of the campaign's pull requests open at once and
//!   `max_new_prs_per_hour` new ones in any hour; a capped wave is applied over several runs.
//!
//! [`decide`] is pure: it takes the campaign's reading ([`super::steer::read`]), the recorded
//! [`RolloutState`] and the time, and says what one `advance` does. The state (which
//! repositories were applied when, approvals, a halt, rollback marks) is `rollout.json` in the
//! campaign's folder, beside its journal and claim (`.convoy/campaigns/<slug>/` beside the
//! manifest, or on the `[state]` branch), read and written through the journal's store;
//! everything else is read from the forge each time, so a run that has nothing to do writes
//! nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::steer::{PrView, RepoStatus};
use crate::forge::{CheckState, RepoId};
use crate::manifest::{Manifest, OnHalt, Require};
use crate::targets::Selection;

/// A wave's gate with the `[rollout]` defaults filled in.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedGate {
    pub require: Require,
    /// Seconds to wait after the wave's last merge.
    pub soak_seconds: i64,
    pub max_failure_ratio: Option<f64>,
    pub on_halt: OnHalt,
    pub approve: bool,
}

/// One wave with its repositories (sorted) and gate.
#[derive(Debug, Clone, Serialize)]
pub struct WavePlan {
    pub name: String,
    pub repos: Vec<RepoId>,
    pub gate: ResolvedGate,
}

/// The manifest's waves over `selection`, in order. Empty when no `[[wave]]` is configured.
pub fn waves(manifest: &Manifest, selection: &Selection) -> Vec<WavePlan> {
    let model = &manifest.model;
    let defaults = model.rollout.defaults();
    let owner = &model.org.name;
    let mut taken: std::collections::BTreeSet<RepoId> = Default::default();
    let mut out = Vec::new();
    for w in &model.waves {
        let gate = w.gate();
        let soak = gate.soak.as_ref().or(defaults.soak.as_ref());
        let gate = ResolvedGate {
            require: gate.require.or(defaults.require).unwrap_or(Require::Merged),
            soak_seconds: soak.and_then(|s| crate::manifest::parse_duration(s.get_ref()).ok()).unwrap_or(0),
            max_failure_ratio: gate.max_failure_ratio.or(defaults.max_failure_ratio.clone()).map(|r| *r.get_ref()),
            on_halt: gate.on_halt.or(defaults.on_halt).unwrap_or_default(),
            approve: gate.approve.or(defaults.approve).unwrap_or(false),
        };
        let mut repos: Vec<RepoId> = selection
            .targets
            .iter()
            .filter(|t| !taken.contains(&t.repo.id))
            .filter(|t| w.rest || selection.applies(&w.repos, owner, t))
            .map(|t| t.repo.id.clone())
            .collect();
        repos.sort();
        taken.extend(repos.iter().cloned());
        out.push(WavePlan { name: w.name.get_ref().clone(), repos, gate });
    }
    out
}

/// The wave of each repository.
pub fn wave_of(waves: &[WavePlan]) -> BTreeMap<RepoId, String> {
    waves.iter().flat_map(|w| w.repos.iter().map(move |r| (r.clone(), w.name.clone()))).collect()
}

/// What convoy records about a rollout (the rest is read from the forge).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutState {
    pub schema_version: u32,
    pub campaign: String,
    /// Repositories `advance` applied (`owner/name` → when and in which wave).
    #[serde(default)]
    pub applied: BTreeMap<String, Applied>,
    /// Waves a person approved.
    #[serde(default)]
    pub approved: BTreeMap<String, Approval>,
    #[serde(default)]
    pub halted: Option<Halt>,
    /// Repositories `convoy rollback` took the campaign out of (`owner/name` → when): neither
    /// `advance` nor `apply` puts it back until `convoy rollout resume` clears the mark.
    #[serde(default)]
    pub rolled_back: BTreeMap<String, RolledBack>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolledBack {
    /// RFC 3339.
    pub at: String,
    /// What was done: `closed #7`, `reverted #7 by #9`, ….
    pub what: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    pub wave: String,
    /// RFC 3339.
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Halt {
    pub wave: String,
    pub at: String,
    pub reason: String,
    /// `on_halt = "rollback"` ran: the campaign's open pull requests were closed.
    pub rolled_back: bool,
}

impl RolloutState {
    pub const SCHEMA_VERSION: u32 = 1;

    /// A fresh state: nothing applied, approved, halted or rolled back.
    pub fn fresh(campaign: &str) -> RolloutState {
        RolloutState { schema_version: Self::SCHEMA_VERSION, campaign: campaign.to_string(), ..Default::default() }
    }

    /// Parse a stored state; `origin` names where it came from, for messages.
    pub fn from_slice(bytes: &[u8], origin: &str) -> Result<RolloutState, String> {
        let state: RolloutState =
            serde_json::from_slice(bytes).map_err(|e| format!("{origin}: not a convoy rollout state: {e}"))?;
        if state.schema_version != Self::SCHEMA_VERSION {
            return Err(format!(
                "{origin}: rollout state version {} (this convoy reads {})",
                state.schema_version,
                Self::SCHEMA_VERSION
            ));
        }
        Ok(state)
    }

    /// The stored form: pretty JSON and a newline.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// What one wave looks like now.
#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    pub name: String,
    pub repos: usize,
    pub applied: usize,
    pub open: usize,
    pub merged: usize,
    /// Failing checks, or closed unmerged by a person.
    pub failed: usize,
    pub without_pr: usize,
    /// Repositories rolled back by `convoy rollback`: left out of the wave and its gate.
    pub rolled_back: usize,
    /// `not started`, `applying`, `waiting`, `passed`, `halted`.
    pub phase: &'static str,
    /// What the wave's gate (or its start) waits for, one line per reason.
    pub waiting_for: Vec<String>,
}

/// What one `advance` does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Apply the campaign to these repositories of `wave` (all of its pending ones, or as many
    /// as the caps allow, `capped` saying which cap).
    Apply { wave: String, repos: Vec<RepoId>, capped: Option<String> },
    /// Halt the campaign: a wave failed too often.
    Halt { wave: String, reason: String, rollback: bool },
    /// Nothing to do now, and why (a gate, an approval, a cap, a halt).
    Wait { reason: String },
    /// Every wave is applied and its gate passed (or `--until` was reached).
    Done { reason: String },
}

/// Org-wide caps (`[rollout] max_open_prs`, `max_new_prs_per_hour`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Caps {
    pub max_open_prs: Option<usize>,
    pub max_new_prs_per_hour: Option<usize>,
}

fn is_failed(s: &RepoStatus) -> bool {
    (matches!(s.state, PrView::Open | PrView::Draft) && s.checks == Some(CheckState::Failure))
        || s.state == PrView::ClosedByPerson
}

/// Why `s` holds its wave's gate back, if it does.
fn holds(require: Require, s: &RepoStatus) -> Option<String> {
    let n = s.number.map(|n| format!("PR #{n}")).unwrap_or_default();
    let checks = |c: Option<CheckState>| match c {
        Some(CheckState::Success) => "checks green",
        Some(CheckState::Failure) => "checks failing",
        Some(CheckState::Pending) => "checks running",
        None => "no checks yet",
    };
    match (s.state, require) {
        (PrView::ClosedByPerson, _) => Some(format!("{n} was closed by a person")),
        (PrView::Open | PrView::Draft, Require::Merged) => Some(format!("{n} is not merged ({})", checks(s.checks))),
        (PrView::Open | PrView::Draft, Require::ChecksGreen) if s.checks != Some(CheckState::Success) => {
            Some(format!("{n}: {}", checks(s.checks)))
        }
        _ => None,
    }
}

fn ago(now: time::OffsetDateTime, at: &str) -> Option<i64> {
    crate::clock::parse_rfc3339(at).map(|t| (now - t).whole_seconds())
}

/// Decide what one `advance` does, and report every wave. `until`: apply no wave after it.
pub fn decide(
    waves: &[WavePlan],
    statuses: &BTreeMap<RepoId, RepoStatus>,
    state: &RolloutState,
    caps: Caps,
    now: time::OffsetDateTime,
    until: Option<&str>,
) -> (Decision, Vec<WaveReport>) {
    let mut reports = Vec::new();
    let mut decision: Option<Decision> = None;
    if let Some(h) = &state.halted {
        let what = if h.rolled_back { "halted and rolled back" } else { "halted" };
        // A halt by `convoy rollback` names no wave.
        let wave = if h.wave.is_empty() { String::new() } else { format!("wave `{}`, ", h.wave) };
        decision = Some(Decision::Wait {
            reason: format!(
                "the campaign is {what} ({wave}{}: {}); fix the cause, then run `convoy rollout resume`",
                h.at, h.reason
            ),
        });
    }
    let mut previous_passed = true;
    for w in waves {
        let live: Vec<&RepoId> = w.repos.iter().filter(|r| !state.rolled_back.contains_key(&r.full_name())).collect();
        let mut r = WaveReport {
            name: w.name.clone(),
            repos: live.len(),
            rolled_back: w.repos.len() - live.len(),
            applied: 0,
            open: 0,
            merged: 0,
            failed: 0,
            without_pr: 0,
            phase: "not started",
            waiting_for: Vec::new(),
        };
        let mut pending = Vec::new();
        let mut holders = Vec::new();
        let mut last_event: Option<i64> = None; // seconds ago of the last merge / apply
        let mut last_merge: Option<i64> = None;
        let mut with_pr = 0;
        for &repo in &live {
            let applied = state.applied.get(&repo.full_name());
            if applied.is_none() {
                pending.push(repo.clone());
            } else {
                r.applied += 1;
            }
            if let Some(a) = applied.and_then(|a| ago(now, &a.at)) {
                last_event = Some(last_event.map_or(a, |l: i64| l.min(a)));
            }
            let Some(s) = statuses.get(repo) else { continue };
            match s.state {
                PrView::Open | PrView::Draft => r.open += 1,
                PrView::Merged => r.merged += 1,
                PrView::None => r.without_pr += 1,
                _ => {}
            }
            if s.state != PrView::None {
                with_pr += 1;
            }
            if is_failed(s) {
                r.failed += 1;
            }
            if let Some(m) = s.merged_at.as_deref().and_then(|at| ago(now, at)) {
                last_merge = Some(last_merge.map_or(m, |l: i64| l.min(m)));
            }
            if applied.is_some()
                && let Some(why) = holds(w.gate.require, s)
            {
                holders.push(format!("{repo}: {why}"));
            }
        }
        if !pending.is_empty() {
            r.phase = if r.applied == 0 { "not started" } else { "applying" };
            if decision.is_none() && previous_passed {
                if w.gate.approve && !state.approved.contains_key(&w.name) {
                    r.waiting_for.push(format!("approval: run `convoy rollout approve {}`", w.name));
                    decision = Some(Decision::Wait {
                        reason: format!("wave `{}` needs approval: run `convoy rollout approve {}`", w.name, w.name),
                    });
                } else {
                    decision = Some(apply_within_caps(w, pending, statuses, caps, now));
                    if let Some(Decision::Wait { reason }) = &decision {
                        r.waiting_for.push(reason.clone());
                    }
                }
            }
            previous_passed = false;
            reports.push(r);
            continue;
        }
        // Every repository applied: the gate.
        let ratio = if with_pr == 0 { 0.0 } else { r.failed as f64 / with_pr as f64 };
        if let Some(max) = w.gate.max_failure_ratio
            && ratio > max
        {
            r.phase = "halted";
            r.waiting_for.push(format!(
                "{} of {with_pr} pull requests failed ({:.0}% > {:.0}%)",
                r.failed,
                ratio * 100.0,
                max * 100.0
            ));
            if decision.is_none() && state.halted.is_none() {
                decision = Some(Decision::Halt {
                    wave: w.name.clone(),
                    reason: format!(
                        "{} of {with_pr} pull requests of wave `{}` failed ({:.0}%, more than max_failure_ratio {})",
                        r.failed,
                        w.name,
                        ratio * 100.0,
                        max
                    ),
                    rollback: w.gate.on_halt == OnHalt::Rollback,
                });
            }
            previous_passed = false;
            reports.push(r);
            continue;
        }
        if !holders.is_empty() {
            r.phase = "waiting";
            r.waiting_for = holders;
            previous_passed = false;
            reports.push(r);
            continue;
        }
        let since = last_merge.or(last_event).unwrap_or(i64::MAX);
        if w.gate.soak_seconds > 0 && since < w.gate.soak_seconds {
            let left = w.gate.soak_seconds - since;
            r.phase = "waiting";
            r.waiting_for.push(format!(
                "soak: {} left of {}",
                super::steer::age_text(left),
                super::steer::age_text(w.gate.soak_seconds)
            ));
            previous_passed = false;
            reports.push(r);
            continue;
        }
        r.phase = "passed";
        let stop_here = until == Some(w.name.as_str());
        reports.push(r);
        if stop_here && decision.is_none() {
            decision = Some(Decision::Done { reason: format!("wave `{}` passed; --until stops here", w.name) });
        }
    }
    // A gate that holds the next wave back is the decision when nothing else was decided.
    let decision =
        decision.unwrap_or_else(|| match reports.iter().find(|r| r.phase == "waiting" || r.phase == "halted") {
            Some(r) => Decision::Wait { reason: format!("wave `{}` waits: {}", r.name, r.waiting_for.join("; ")) },
            None => Decision::Done { reason: "every wave is applied and its gate passed".into() },
        });
    (decision, reports)
}

fn apply_within_caps(
    w: &WavePlan,
    mut pending: Vec<RepoId>,
    statuses: &BTreeMap<RepoId, RepoStatus>,
    caps: Caps,
    now: time::OffsetDateTime,
) -> Decision {
    let open = statuses.values().filter(|s| matches!(s.state, PrView::Open | PrView::Draft)).count();
    let new_last_hour = statuses
        .values()
        .filter(|s| s.created_at.as_deref().and_then(|at| ago(now, at)).is_some_and(|a| a < 3600))
        .count();
    let mut room = usize::MAX;
    let mut capped = None;
    if let Some(max) = caps.max_open_prs {
        let left = max.saturating_sub(open);
        if left < pending.len() {
            capped = Some(format!("max_open_prs = {max} ({open} open)"));
        }
        room = room.min(left);
    }
    if let Some(max) = caps.max_new_prs_per_hour {
        let left = max.saturating_sub(new_last_hour);
        if left < pending.len().min(room) {
            capped = Some(format!("max_new_prs_per_hour = {max} ({new_last_hour} opened in the last hour)"));
        }
        room = room.min(left);
    }
    if room == 0 {
        return Decision::Wait {
            reason: format!(
                "wave `{}` has {} repositories to apply, but {}",
                w.name,
                pending.len(),
                capped.unwrap_or_default()
            ),
        };
    }
    pending.truncate(room);
    Decision::Apply { wave: w.name.clone(), repos: pending, capped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{Mergeable, PrState, PullRequest, PullRequestStatus};
    use std::path::Path;

    fn id(n: &str) -> RepoId {
        RepoId::new("acme", n)
    }

    fn gate(require: Require) -> ResolvedGate {
        ResolvedGate { require, soak_seconds: 0, max_failure_ratio: Some(0.5), on_halt: OnHalt::Stop, approve: false }
    }

    fn wave(name: &str, repos: &[&str], g: ResolvedGate) -> WavePlan {
        WavePlan { name: name.into(), repos: repos.iter().map(|r| id(r)).collect(), gate: g }
    }

    fn pr(state: PrState, checks: Option<CheckState>, created: &str, merged: Option<&str>) -> RepoStatus {
        let pr = PullRequest {
            number: 1,
            state,
            title: String::new(),
            body: String::new(),
            head: "c".into(),
            base: "main".into(),
            head_sha: String::new(),
            draft: false,
            labels: vec![],
            reviewers: vec![],
            assignees: vec![],
            url: String::new(),
            merge_commit_sha: None,
            node_id: None,
            created_at: Some(created.into()),
            merged_at: merged.map(str::to_string),
            closed_at: merged.map(str::to_string),
        };
        RepoStatus::from_newest(Some(PullRequestStatus { pr, checks, review: None, mergeable: Mergeable::Unknown }))
    }

    fn t(s: &str) -> time::OffsetDateTime {
        crate::clock::parse_rfc3339(s).unwrap()
    }

    fn applied(state: &mut RolloutState, wave: &str, repos: &[&str], at: &str) {
        for r in repos {
            state.applied.insert(format!("acme/{r}"), Applied { wave: wave.into(), at: at.into() });
        }
    }

    #[test]
    fn the_first_wave_is_applied_then_the_gate_holds_the_next() {
        let waves =
            [wave("pilot", &["a", "b"], gate(Require::Merged)), wave("rest", &["c", "d"], gate(Require::Merged))];
        let mut state = RolloutState::default();
        let now = t("2026-11-29T12:00:00Z");
        let (d, _) = decide(&waves, &BTreeMap::new(), &state, Caps::default(), now, None);
        assert_eq!(d, Decision::Apply { wave: "pilot".into(), repos: vec![id("a"), id("b")], capped: None });
        applied(&mut state, "pilot", &["a", "b"], "2026-11-29T11:00:00Z");
        let mut st = BTreeMap::new();
        st.insert(id("a"), pr(PrState::Merged, None, "2026-11-29T11:00:00Z", Some("2026-11-29T11:30:00Z")));
        st.insert(id("b"), pr(PrState::Open, Some(CheckState::Pending), "2026-11-29T11:00:00Z", None));
        let (d, reports) = decide(&waves, &st, &state, Caps::default(), now, None);
        assert!(
            matches!(&d, Decision::Wait { reason } if reason.contains("acme/b: PR #1 is not merged (checks running)")),
            "{d:?}"
        );
        assert_eq!(reports[0].phase, "waiting");
        assert_eq!(reports[1].phase, "not started");
        st.insert(id("b"), pr(PrState::Merged, None, "2026-11-29T11:00:00Z", Some("2026-11-29T11:40:00Z")));
        let (d, _) = decide(&waves, &st, &state, Caps::default(), now, None);
        assert_eq!(d, Decision::Apply { wave: "rest".into(), repos: vec![id("c"), id("d")], capped: None });
        // --until stops after the named wave.
        let (d, _) = decide(&waves, &st, &state, Caps::default(), now, Some("pilot"));
        assert!(matches!(d, Decision::Done { .. }), "{d:?}");
    }

    #[test]
    fn soak_counts_from_the_last_merge_with_the_given_clock() {
        let mut g = gate(Require::Merged);
        g.soak_seconds = 24 * 3600;
        let waves = [wave("pilot", &["a"], g), wave("rest", &["c"], gate(Require::Merged))];
        let mut state = RolloutState::default();
        applied(&mut state, "pilot", &["a"], "2026-11-28T00:00:00Z");
        let mut st = BTreeMap::new();
        st.insert(id("a"), pr(PrState::Merged, None, "2026-11-28T00:00:00Z", Some("2026-11-28T12:00:00Z")));
        let (d, _) = decide(&waves, &st, &state, Caps::default(), t("2026-11-29T06:00:00Z"), None);
        assert!(matches!(&d, Decision::Wait { reason } if reason.contains("soak: 6h left of 1d")), "{d:?}");
        let (d, _) = decide(&waves, &st, &state, Caps::default(), t("2026-11-29T12:00:01Z"), None);
        assert!(matches!(d, Decision::Apply { .. }), "{d:?}");
    }

    #[test]
    fn too_many_failures_halt_and_a_halt_stops_everything() {
        let mut g = gate(Require::ChecksGreen);
        g.max_failure_ratio = Some(0.2);
        g.on_halt = OnHalt::Rollback;
        let waves = [wave("pilot", &["a", "b", "c"], g), wave("rest", &["d"], gate(Require::Merged))];
        let mut state = RolloutState::default();
        applied(&mut state, "pilot", &["a", "b", "c"], "2026-11-29T10:00:00Z");
        let mut st = BTreeMap::new();
        st.insert(id("a"), pr(PrState::Open, Some(CheckState::Success), "2026-11-29T10:00:00Z", None));
        st.insert(id("b"), pr(PrState::Open, Some(CheckState::Failure), "2026-11-29T10:00:00Z", None));
        st.insert(id("c"), pr(PrState::Closed, None, "2026-11-29T10:00:00Z", None));
        let now = t("2026-11-29T12:00:00Z");
        let (d, _) = decide(&waves, &st, &state, Caps::default(), now, None);
        match d {
            Decision::Halt { wave, reason, rollback } => {
                assert_eq!(wave, "pilot");
                assert!(reason.starts_with("2 of 3 pull requests of wave `pilot` failed (67%"), "{reason}");
                assert!(rollback);
            }
            other => panic!("{other:?}"),
        }
        state.halted = Some(Halt { wave: "pilot".into(), at: "x".into(), reason: "r".into(), rolled_back: false });
        let (d, _) = decide(&waves, &st, &state, Caps::default(), now, None);
        assert!(matches!(&d, Decision::Wait { reason } if reason.contains("convoy rollout resume")), "{d:?}");
    }

    #[test]
    fn caps_limit_how_many_repositories_one_run_applies() {
        let waves = [wave("all", &["a", "b", "c", "d"], gate(Require::Merged))];
        let mut state = RolloutState::default();
        let now = t("2026-11-29T12:00:00Z");
        let caps = Caps { max_open_prs: Some(3), max_new_prs_per_hour: Some(2) };
        let (d, _) = decide(&waves, &BTreeMap::new(), &state, caps, now, None);
        match d {
            Decision::Apply { repos, capped, .. } => {
                assert_eq!(repos, vec![id("a"), id("b")]);
                assert!(capped.unwrap().contains("max_new_prs_per_hour = 2"));
            }
            other => panic!("{other:?}"),
        }
        applied(&mut state, "all", &["a", "b"], "2026-11-29T11:50:00Z");
        let mut st = BTreeMap::new();
        st.insert(id("a"), pr(PrState::Open, None, "2026-11-29T11:50:00Z", None));
        st.insert(id("b"), pr(PrState::Open, None, "2026-11-29T11:50:00Z", None));
        let (d, _) = decide(&waves, &st, &state, caps, now, None);
        assert!(matches!(&d, Decision::Wait { reason } if reason.contains("max_new_prs_per_hour")), "{d:?}");
        // An hour later one more fits under max_open_prs = 3.
        let (d, _) = decide(&waves, &st, &state, caps, t("2026-11-29T13:00:00Z"), None);
        assert_eq!(
            d,
            Decision::Apply {
                wave: "all".into(),
                repos: vec![id("c")],
                capped: Some("max_open_prs = 3 (2 open)".into())
            }
        );
    }

    #[test]
    fn a_wave_that_needs_approval_waits_for_it() {
        let mut g = gate(Require::Merged);
        g.approve = true;
        let waves = [wave("pilot", &["a"], g)];
        let mut state = RolloutState::default();
        let (d, _) = decide(&waves, &BTreeMap::new(), &state, Caps::default(), t("2026-11-29T12:00:00Z"), None);
        assert!(matches!(&d, Decision::Wait { reason } if reason.contains("convoy rollout approve pilot")), "{d:?}");
        state.approved.insert("pilot".into(), Approval { by: "ana".into(), at: "2026-11-29T12:00:00Z".into() });
        let (d, _) = decide(&waves, &BTreeMap::new(), &state, Caps::default(), t("2026-11-29T12:00:00Z"), None);
        assert!(matches!(d, Decision::Apply { .. }), "{d:?}");
    }

    #[test]
    fn state_paths_are_the_campaign_folder_of_the_journal() {
        use crate::journal::{Campaign, LocalStore};
        let store = LocalStore::new(Path::new("/m"), &Campaign::new("convoy/ci").unwrap());
        assert_eq!(store.dir().join("rollout.json"), Path::new("/m/.convoy/campaigns/convoy~ci/rollout.json"));
        assert!(Campaign::new("../x").is_err());
    }
}
