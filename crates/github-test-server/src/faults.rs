//! Fault injection for the REST API (not for smart-HTTP clones).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::rate_limit::RateLimiter;

/// Which API requests a fault applies to: a method, a route template, both, or any request.
///
/// Route templates are the ones [`crate::RequestLog`] reports, e.g. `/repos/{owner}/{repo}/pulls`
/// (also matching the same route under `/api/v3`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultFilter {
    /// Only requests with this method (case-insensitive), e.g. `POST`.
    pub method: Option<String>,
    /// Only requests to this route template.
    pub route: Option<String>,
}

impl FaultFilter {
    /// Every API request.
    pub fn any() -> FaultFilter {
        FaultFilter::default()
    }
    /// Requests with `method`.
    pub fn method(method: &str) -> FaultFilter {
        FaultFilter { method: Some(method.to_uppercase()), route: None }
    }
    /// Requests with `method` to the route template `route`.
    pub fn route(method: &str, route: &str) -> FaultFilter {
        FaultFilter { method: Some(method.to_uppercase()), route: Some(route.to_string()) }
    }
    /// Content-creating requests: POST, PATCH, PUT and DELETE.
    pub fn writes() -> FaultFilter {
        FaultFilter { method: Some("WRITE".to_string()), route: None }
    }

    pub(crate) fn matches(&self, method: &str, route: &str) -> bool {
        let method_ok = match self.method.as_deref() {
            None => true,
            Some("WRITE") => matches!(method, "POST" | "PATCH" | "PUT" | "DELETE"),
            Some(m) => m.eq_ignore_ascii_case(method),
        };
        method_ok && self.route.as_deref().is_none_or(|r| r == route)
    }
}

#[derive(Clone, Debug)]
struct Counted<T> {
    left: usize,
    filter: FaultFilter,
    what: T,
}

#[derive(Default)]
struct FaultState {
    fail_rate: Option<(f64, FaultFilter)>,
    rng: u64,
    fail_next: Vec<Counted<u16>>,
    drop_next: Vec<Counted<()>>,
    latency: Vec<(Duration, FaultFilter)>,
    secondary_next: Vec<Counted<u64>>,
    apply_then_502: Vec<Counted<()>>,
}

/// Faults injected into API requests, thread-safe and changeable while the server runs.
///
/// They act in this order: latency, dropped connections, server errors (`fail_next`, then
/// `fail_rate`), authentication, the primary rate limit ([`Faults::exhaust_primary`]), the
/// secondary rate limit, the handler, and finally [`Faults::apply_then_502_next`].
pub struct Faults {
    state: Mutex<FaultState>,
    rate: Arc<RateLimiter>,
}

/// What the API middleware must do before the handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pre {
    Drop,
    Fail(u16),
}

impl Faults {
    pub(crate) fn new(seed: u64, rate: Arc<RateLimiter>) -> Faults {
        Faults { state: Mutex::new(FaultState { rng: seed, ..FaultState::default() }), rate }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answer a random fraction `rate` (0.0–1.0) of API requests with 500, 502 or 503. The random
    /// sequence is deterministic for a seed ([`Faults::seed`], or `ServerConfig::fault_seed`).
    pub fn fail_rate(&self, rate: f64) {
        self.fail_rate_for(rate, FaultFilter::any());
    }

    /// [`Faults::fail_rate`] for the requests `filter` matches only.
    pub fn fail_rate_for(&self, rate: f64, filter: FaultFilter) {
        self.state().fail_rate = if rate > 0.0 { Some((rate.min(1.0), filter)) } else { None };
    }

    /// Reseed the random number generator behind [`Faults::fail_rate`].
    pub fn seed(&self, seed: u64) {
        self.state().rng = seed;
    }

    /// Answer the next `n` API requests with `status` (and GitHub's error body for it).
    pub fn fail_next(&self, n: usize, status: u16) {
        self.fail_next_for(n, status, FaultFilter::any());
    }

    /// [`Faults::fail_next`] for the requests `filter` matches only.
    pub fn fail_next_for(&self, n: usize, status: u16, filter: FaultFilter) {
        self.state().fail_next.push(Counted { left: n, filter, what: status });
    }

    /// Close the connection of the next `n` API requests without answering.
    pub fn drop_connection_next(&self, n: usize) {
        self.drop_connection_next_for(n, FaultFilter::any());
    }

    /// [`Faults::drop_connection_next`] for the requests `filter` matches only.
    pub fn drop_connection_next_for(&self, n: usize, filter: FaultFilter) {
        self.state().drop_next.push(Counted { left: n, filter, what: () });
    }

    /// Delay every API request by `delay` (replacing an earlier global latency; zero removes it).
    pub fn latency(&self, delay: Duration) {
        let mut st = self.state();
        st.latency.retain(|(_, f)| *f != FaultFilter::any());
        if !delay.is_zero() {
            st.latency.push((delay, FaultFilter::any()));
        }
    }

    /// Delay the requests `filter` matches by `delay` (in addition to other latencies).
    pub fn latency_for(&self, delay: Duration, filter: FaultFilter) {
        self.state().latency.push((delay, filter));
    }

    /// Use up the primary rate limit: requests get 403 `API rate limit exceeded` with
    /// `x-ratelimit-remaining: 0` until the window resets in `reset_in`.
    pub fn exhaust_primary(&self, reset_in: Duration) {
        self.rate.exhaust(reset_in);
    }

    /// Answer the next `n` API requests with GitHub's secondary rate limit: 403 `You have exceeded a
    /// secondary rate limit…` and `retry-after: retry_after_secs`.
    pub fn secondary_limit_next(&self, n: usize, retry_after_secs: u64) {
        self.secondary_limit_next_for(n, retry_after_secs, FaultFilter::any());
    }

    /// [`Faults::secondary_limit_next`] for the requests `filter` matches only.
    pub fn secondary_limit_next_for(&self, n: usize, retry_after_secs: u64, filter: FaultFilter) {
        self.state().secondary_next.push(Counted { left: n, filter, what: retry_after_secs });
    }

    /// For the next `n` requests that `filter` matches and that succeed, apply them and then answer
    /// 502 anyway: the "create PR got a 502 but the PR exists" case.
    pub fn apply_then_502_next(&self, n: usize, filter: FaultFilter) {
        self.state().apply_then_502.push(Counted { left: n, filter, what: () });
    }

    /// Remove every fault (the rate limit is left as it is).
    pub fn clear(&self) {
        let mut st = self.state();
        let rng = st.rng;
        *st = FaultState { rng, ..FaultState::default() };
    }

    // ----- used by the API middleware -----

    pub(crate) fn latency_of(&self, method: &str, route: &str) -> Duration {
        self.state().latency.iter().filter(|(_, f)| f.matches(method, route)).map(|(d, _)| *d).sum()
    }

    pub(crate) fn pre(&self, method: &str, route: &str) -> Option<Pre> {
        let mut st = self.state();
        if take(&mut st.drop_next, method, route).is_some() {
            return Some(Pre::Drop);
        }
        if let Some(status) = take(&mut st.fail_next, method, route) {
            return Some(Pre::Fail(status));
        }
        if let Some((rate, filter)) = st.fail_rate.clone()
            && filter.matches(method, route)
        {
            let r = next_random(&mut st.rng);
            if (r as f64 / u64::MAX as f64) < rate {
                let status = [500, 502, 503][(next_random(&mut st.rng) % 3) as usize];
                return Some(Pre::Fail(status));
            }
        }
        None
    }

    pub(crate) fn secondary(&self, method: &str, route: &str) -> Option<u64> {
        take(&mut self.state().secondary_next, method, route)
    }

    pub(crate) fn take_apply_then_502(&self, method: &str, route: &str) -> bool {
        take(&mut self.state().apply_then_502, method, route).is_some()
    }
}

fn take<T: Clone>(list: &mut Vec<Counted<T>>, method: &str, route: &str) -> Option<T> {
    let i = list.iter().position(|c| c.left > 0 && c.filter.matches(method, route))?;
    list[i].left -= 1;
    let what = list[i].what.clone();
    list.retain(|c| c.left > 0);
    Some(what)
}

/// SplitMix64: small, deterministic, good enough for sampling faults.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_run_out_and_respect_filters() {
        let faults = Faults::new(1, Arc::new(RateLimiter::new(10, Duration::from_secs(60))));
        faults.fail_next_for(2, 503, FaultFilter::route("POST", "/repos/{owner}/{repo}/pulls"));
        assert_eq!(faults.pre("GET", "/repos/{owner}/{repo}/pulls"), None);
        assert_eq!(faults.pre("POST", "/repos/{owner}/{repo}/pulls"), Some(Pre::Fail(503)));
        assert_eq!(faults.pre("post", "/repos/{owner}/{repo}/pulls"), Some(Pre::Fail(503)));
        assert_eq!(faults.pre("POST", "/repos/{owner}/{repo}/pulls"), None);
    }

    #[test]
    fn fail_rate_is_deterministic_for_a_seed() {
        let run = || {
            let faults = Faults::new(42, Arc::new(RateLimiter::new(10, Duration::from_secs(60))));
            faults.fail_rate(0.3);
            (0..200).map(|_| faults.pre("GET", "/user")).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let failures = a.iter().filter(|p| p.is_some()).count();
        assert!((30..=90).contains(&failures), "{failures} of 200 failed at a 30% rate");
    }
}
