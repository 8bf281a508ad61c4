//! How long crates.io's publish limits make a release take, wave by wave.
//!
//! crates.io limits publishing per account with token buckets: **new versions** of existing
//! crates 30 at once, then one a minute; **new crates** 5 at once, then one every ten minutes
//! (crates.io's rate limits, `PublishUpdate` and `PublishNew` in `crates_io::rate_limiter`, and
//! "Rate limits" in its usage policy). A release whose waves publish more than that waits for
//! the buckets; the gates of later waves wait with it. The estimate assumes every package of a
//! wave is published as soon as its wave starts and the buckets are full at the start.

use serde::Serialize;

use super::plan::Plan;

/// `(burst, seconds per token)` of a bucket.
const VERSIONS: (f64, f64) = (30.0, 60.0);
const NEW_CRATES: (f64, f64) = (5.0, 600.0);

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Budget {
    pub versions: usize,
    pub new_crates: usize,
    /// Per wave: minutes after the release starts at which its last publish is allowed.
    pub wave_minutes: Vec<f64>,
    /// The last wave's figure: the least time the limits allow, gates not counted.
    pub minutes: f64,
}

/// Replay the plan's waves against both buckets.
pub fn estimate(plan: &Plan) -> Budget {
    let mut out = Budget::default();
    let mut buckets = [Bucket::new(VERSIONS), Bucket::new(NEW_CRATES)];
    let mut now = 0.0_f64;
    for wave in &plan.waves {
        let mut end = now;
        for p in wave {
            let which = usize::from(p.bump == "initial" && p.last_release.is_none());
            if which == 1 {
                out.new_crates += 1;
            } else {
                out.versions += 1;
            }
            end = end.max(buckets[which].take(now));
        }
        now = end;
        out.wave_minutes.push((now / 60.0 * 10.0).round() / 10.0);
    }
    out.minutes = out.wave_minutes.last().copied().unwrap_or(0.0);
    out
}

/// A token bucket in seconds: `take(at)` is when the next token is available from `at` on.
struct Bucket {
    tokens: f64,
    burst: f64,
    per: f64,
    at: f64,
}

impl Bucket {
    fn new((burst, per): (f64, f64)) -> Bucket {
        Bucket { tokens: burst, burst, per, at: 0.0 }
    }

    fn take(&mut self, at: f64) -> f64 {
        let at = at.max(self.at);
        self.tokens = (self.tokens + (at - self.at) / self.per).min(self.burst);
        self.at = at;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return at;
        }
        let wait = (1.0 - self.tokens) * self.per;
        self.at = at + wait;
        self.tokens = 0.0;
        self.at
    }
}

/// One line for a person, when the limits matter at all.
pub fn line(b: &Budget) -> Option<String> {
    if b.versions + b.new_crates == 0 {
        return None;
    }
    let mut s = format!(
        "crates.io: {} new version{} and {} new crate{}",
        b.versions,
        if b.versions == 1 { "" } else { "s" },
        b.new_crates,
        if b.new_crates == 1 { "" } else { "s" }
    );
    if b.minutes > 0.0 {
        s.push_str(&format!(
            "; its publish limits (30 versions, then 1 a minute; 5 new crates, then 1 every 10 minutes) make this release take at least {} minutes, gates not counted",
            b.minutes.ceil()
        ));
    } else {
        s.push_str(" fit within its publish limits' bursts");
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::plan::Planned;

    fn planned(name: &str, bump: &str) -> Planned {
        Planned {
            package: name.into(),
            repo: "acme/x".into(),
            from: "1.0.0".into(),
            to: "1.0.1".into(),
            bump: bump.into(),
            reason: String::new(),
            requires: Vec::new(),
            manifest: "Cargo.toml".into(),
            last_release: None,
            commits: Vec::new(),
        }
    }

    #[test]
    fn bursts_are_free_then_each_token_waits() {
        let wave = |n: usize, bump: &str| (0..n).map(|i| planned(&format!("c{i}"), bump)).collect::<Vec<_>>();
        let plan = |waves: Vec<Vec<Planned>>| Plan { waves, ..Plan::default() };
        let b = estimate(&plan(vec![wave(30, "patch")]));
        assert_eq!((b.versions, b.minutes), (30, 0.0));
        // 40 versions: 30 at once, then 10 one minute apart.
        let b = estimate(&plan(vec![wave(40, "patch")]));
        assert_eq!(b.minutes, 10.0);
        // 7 new crates: 5 at once, then two 10 minutes apart.
        let b = estimate(&plan(vec![wave(7, "initial")]));
        assert_eq!((b.new_crates, b.minutes), (7, 20.0));
        // Waves add up: the second wave starts when the first may be published.
        let b = estimate(&plan(vec![wave(31, "patch"), wave(2, "patch")]));
        assert_eq!(b.wave_minutes, vec![1.0, 3.0]);
        assert!(line(&b).is_some_and(|l| l.contains("at least 3 minutes")));
    }
}
