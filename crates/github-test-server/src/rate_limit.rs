//! The primary rate limit (`x-ratelimit-*` headers, 403 when exhausted) and `GET /rate_limit`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::http::{ApiReq, ApiResult, Reply};
use crate::state::Shared;

/// One window of the `core` resource, shared by every caller.
pub(crate) struct RateLimiter {
    inner: Mutex<Window>,
}

struct Window {
    limit: u32,
    remaining: u32,
    reset_at: SystemTime,
    window: Duration,
}

/// Rate-limit numbers for the response headers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds.
    pub reset: u64,
}

impl Snapshot {
    pub fn used(&self) -> u32 {
        self.limit.saturating_sub(self.remaining)
    }
}

impl Window {
    fn roll(&mut self) {
        let now = SystemTime::now();
        if now >= self.reset_at {
            self.remaining = self.limit;
            self.reset_at = now + self.window;
        }
    }
    fn snapshot(&self) -> Snapshot {
        let reset = self.reset_at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Snapshot { limit: self.limit, remaining: self.remaining, reset }
    }
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            inner: Mutex::new(Window { limit, remaining: limit, reset_at: SystemTime::now() + window, window }),
        }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set(&self, limit: u32, remaining: u32, reset_in: Duration) {
        let mut w = self.window();
        w.limit = limit;
        w.remaining = remaining.min(limit);
        w.reset_at = SystemTime::now() + reset_in;
    }

    /// Use up the window until `reset_in` from now.
    pub fn exhaust(&self, reset_in: Duration) {
        let mut w = self.window();
        w.remaining = 0;
        w.reset_at = SystemTime::now() + reset_in;
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut w = self.window();
        w.roll();
        w.snapshot()
    }

    /// Take one request from the window: `Err` (with the numbers) when nothing is left.
    pub fn take(&self) -> Result<Snapshot, Snapshot> {
        let mut w = self.window();
        w.roll();
        if w.remaining == 0 {
            return Err(w.snapshot());
        }
        w.remaining -= 1;
        Ok(w.snapshot())
    }

    /// Give back a request taken with [`RateLimiter::take`] (for answers that do not count: 304).
    pub fn refund(&self) -> Snapshot {
        let mut w = self.window();
        w.remaining = (w.remaining + 1).min(w.limit);
        w.snapshot()
    }
}

/// `GET /rate_limit`: does not count against the limit.
pub(crate) fn get(shared: &Shared, _req: &ApiReq) -> ApiResult {
    let s = shared.rate.snapshot();
    let core =
        json!({ "limit": s.limit, "used": s.used(), "remaining": s.remaining, "reset": s.reset, "resource": "core" });
    let other = |limit: u32, resource: &str| json!({ "limit": limit, "used": 0, "remaining": limit, "reset": s.reset, "resource": resource });
    Ok(Reply::ok(json!({
        "resources": {
            "core": core,
            "search": other(30, "search"),
            "graphql": other(5000, "graphql"),
            "integration_manifest": other(5000, "integration_manifest"),
            "source_import": other(100, "source_import"),
            "code_scanning_upload": other(1000, "code_scanning_upload"),
            "actions_runner_registration": other(10000, "actions_runner_registration"),
            "scim": other(15000, "scim"),
            "dependency_snapshots": other(100, "dependency_snapshots"),
            "code_search": other(10, "code_search"),
        },
        "rate": core,
    })))
}
