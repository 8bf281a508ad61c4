//! The HTTP layer of the GitHub forge: every request convoy sends to GitHub goes through
//! [`Api::send`], which owns what GitHub asks of integrators at scale:
//!
//! - **Primary rate limit.** `x-ratelimit-remaining`/`reset` from every response; when the budget
//!   runs low convoy waits for the reset (up to `max_wait`) instead of failing half-way.
//! - **Secondary rate limits.** A 403/429 with `retry-after`, or one saying "secondary rate
//!   limit", was not processed: convoy waits and sends it again, writes included.
//! - **Pacing.** Content-creating requests (POST/PATCH/PUT/DELETE) go one at a time, spaced to
//!   stay under `writes_per_minute` and `writes_per_hour`.
//! - **Retries.** Reads and idempotent writes are retried on 5xx and dropped connections with
//!   exponential backoff and jitter. A POST is never re-sent blindly: a 5xx or a dropped
//!   connection after a POST may have been applied, so it surfaces as [`ApiError::Ambiguous`]
//!   and the forge checks whether it took effect before trying again. (octocrab's own retry
//!   layer re-sends POSTs blindly, so it is not compiled in: see Cargo.toml features.)
//! - **Conditional requests.** GET responses are cached with their `ETag`; repeated reads send
//!   `If-None-Match`, and a 304 (free on GitHub's rate limit) serves the cached body.
//! - **Accounting.** Requests are counted (total, 304s, writes, retries, per route) so every
//!   command can say what it spent.
//!
//! octocrab is the HTTP engine (TLS, connection pool, timeouts). It is given only the server's
//! origin: its base-URI layer would otherwise prefix `/api/v3` to GHES's GraphQL path
//! `/api/graphql`. convoy builds the full path itself ([`Endpoints`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes_body::collect;
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, IF_NONE_MATCH, USER_AGENT};
use http::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use tokio::sync::Mutex;

use super::auth::TokenSource;

/// Where the REST and GraphQL APIs live on one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `https://api.github.com`, or `https://ghe.example.com` for GHES.
    pub origin: String,
    /// `""` on github.com, `/api/v3` on GHES.
    pub rest_prefix: String,
    /// `/graphql` on github.com, `/api/graphql` on GHES (not under `/api/v3`).
    pub graphql_path: String,
}

impl Endpoints {
    /// From an `api_url` as users write it: `https://api.github.com` (the default) or a GHES
    /// REST base `https://HOST/api/v3`.
    pub fn from_api_url(api_url: &str) -> Result<Self, String> {
        let url = api_url.trim_end_matches('/');
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{api_url}` is not an http(s) URL"))?;
        if scheme != "https" && scheme != "http" {
            return Err(format!("`{api_url}` is not an http(s) URL"));
        }
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let origin = format!("{scheme}://{host}");
        if host.eq_ignore_ascii_case("github.com") || host.eq_ignore_ascii_case("www.github.com") {
            return Err(format!(
                "`{api_url}` is GitHub's website, not its API: the API is https://api.github.com, the default (remove api_url)"
            ));
        }
        match path {
            "" => Ok(Endpoints { origin, rest_prefix: String::new(), graphql_path: "/graphql".into() }),
            "/api/v3" => Ok(Endpoints { origin, rest_prefix: "/api/v3".into(), graphql_path: "/api/graphql".into() }),
            other => Err(format!(
                "`{api_url}`: expected https://api.github.com or a GitHub Enterprise Server URL ending in /api/v3, not a path `{other}`"
            )),
        }
    }
}

/// The accounting route of GraphQL queries: POSTs that read, so they are not paced as writes.
const GRAPHQL_QUERY_ROUTE: &str = "query /graphql";

/// Limits and pacing, from `[org.forge]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub writes_per_minute: u32,
    pub writes_per_hour: u32,
    /// The longest convoy waits for a rate limit to reset before failing the request.
    pub max_wait: Duration,
    /// Attempts after the first, for requests that are safe to repeat.
    pub retries: u32,
    /// Below this many remaining requests, wait for the reset before sending more.
    pub reserve: u64,
    /// Content-creating requests in flight at once. GitHub asks for 1 (serial writes); a GHES
    /// with relaxed limits may allow more.
    pub write_concurrency: usize,
    /// Pull request updates sent together in one GraphQL document (`graphql_batch`): GitHub's
    /// content limits count requests, so one document of N `updatePullRequest` mutations is one
    /// paced write instead of N. 1 turns batching off.
    pub update_batch: usize,
    /// The longest wait for a TCP (and TLS) connection to the API (`connect_timeout`).
    pub connect_timeout: Duration,
    /// The longest silence while waiting for response bytes (`read_timeout`).
    pub read_timeout: Duration,
    /// The longest one request may take, from sending it to the last byte of the response
    /// (`request_timeout`). A request that runs out of time is not sent again: a server that
    /// accepted the connection and does not answer fails the command within this bound.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            writes_per_minute: 30,
            writes_per_hour: 400,
            max_wait: Duration::from_secs(900),
            retries: 5,
            reserve: 20,
            write_concurrency: 1,
            update_batch: 20,
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// What to check when GitHub's API cannot be reached at all.
const TRANSPORT_HELP: &str = "check the network and any proxy (HTTPS_PROXY), and api_url under [org.forge] (GitHub Enterprise Server: https://HOST/api/v3); connect_timeout, read_timeout and request_timeout there bound each attempt. Without a network, --offline runs plan, validate, audit, deps, grep and release graph from the clone cache and the org's saved listing";

/// Whether a request may be sent again after a failure that leaves its effect unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Reads, and writes that set state (PATCH a PR's title, PUT labels, DELETE a ref).
    Safe,
    /// Creates: the caller must check whether the first attempt took effect.
    CheckFirst,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `target` is the request's path as sent (`/repos/acme/api/pulls`), not its route template.
    #[error("{method} {target}: HTTP {status}{}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Status { method: Method, target: String, status: StatusCode, message: String, body: serde_json::Value },
    /// No answer at all: `target` is the whole URL (which host convoy could not reach).
    #[error("{method} {target}: {cause}\n  help: {TRANSPORT_HELP}")]
    Transport { method: Method, target: String, cause: String },
    /// A write failed in a way that may or may not have applied it.
    #[error("{method} {target} may or may not have been applied: {cause}")]
    Ambiguous { method: Method, target: String, cause: String },
    #[error(
        "GitHub's rate limit is exhausted until {reset} (in {wait_secs} s), longer than the configured wait of {max_secs} s\n  help: run later, or raise rate_limit_wait under [org.forge]"
    )]
    RateLimited { reset: u64, wait_secs: u64, max_secs: u64 },
    #[error("authentication: {0}")]
    Auth(String),
    #[error("{target}: unexpected response: {cause}")]
    Decode { target: String, cause: String },
}

impl ApiError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct Response {
    /// The path requested (`/repos/acme/api/pulls?state=open`), for messages.
    pub path: String,
    /// The server it was requested from (`https://api.github.com`), for messages.
    pub origin: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes_body::Bytes,
}

impl Response {
    /// The body as `T`; an error names the URL requested.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| {
                let html = self.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
                let cause = if html {
                    "the server answered HTML, not JSON: is api_url GitHub's API (https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server)?".to_string()
                } else {
                    e.to_string()
                };
                ApiError::Decode { target: format!("{}{}", self.origin, self.path), cause }
            })
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a run spent, for `--json` and the closing line of every command.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Usage {
    /// Every HTTP request sent, retries included.
    pub requests: u64,
    /// Requests answered 304 from the ETag cache (free on GitHub's primary limit).
    pub not_modified: u64,
    /// Content-creating requests (POST/PATCH/PUT/DELETE).
    pub writes: u64,
    pub retries: u64,
    /// Milliseconds spent waiting for rate limits and pacing.
    pub waited_ms: u64,
    /// `METHOD /route/{template}` → count.
    pub by_route: BTreeMap<String, u64>,
    /// The primary limit as last reported.
    pub rate_limit_remaining: Option<u64>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    not_modified: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
    waited_ms: AtomicU64,
}

#[derive(Debug, Default, Clone, Copy)]
struct RateState {
    remaining: Option<u64>,
    reset: Option<u64>,
}

struct Pacer {
    spacing: Duration,
    per_hour: usize,
    last: Option<Instant>,
    recent: VecDeque<Instant>,
}

impl Pacer {
    /// How long to wait before the next write may go out.
    fn delay(&mut self, now: Instant) -> Duration {
        while self.recent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600)) {
            self.recent.pop_front();
        }
        let by_spacing = self.last.map_or(Duration::ZERO, |l| (l + self.spacing).saturating_duration_since(now));
        let by_hour = if self.recent.len() >= self.per_hour {
            self.recent
                .front()
                .map_or(Duration::ZERO, |t| (*t + Duration::from_secs(3600)).saturating_duration_since(now))
        } else {
            Duration::ZERO
        };
        by_spacing.max(by_hour)
    }
    fn record(&mut self, at: Instant) {
        self.last = Some(at);
        self.recent.push_back(at);
    }
}

pub struct Api {
    client: octocrab::Octocrab,
    /// Where the ETag cache is kept between runs (a no-op re-run is a new process).
    etag_file: Option<std::path::PathBuf>,
    endpoints: Endpoints,
    limits: Limits,
    token: Arc<dyn TokenSource>,
    rate: std::sync::Mutex<RateState>,
    etags: std::sync::Mutex<HashMap<String, (String, bytes_body::Bytes)>>,
    routes: std::sync::Mutex<BTreeMap<String, u64>>,
    counters: Counters,
    /// Spacing between the starts of content-creating requests.
    writes: Mutex<Pacer>,
    /// Content-creating requests in flight at once (`write_concurrency`, default 1).
    write_slots: tokio::sync::Semaphore,
}

impl Api {
    pub fn new(
        endpoints: Endpoints,
        limits: Limits,
        token: Arc<dyn TokenSource>,
        etag_file: Option<std::path::PathBuf>,
    ) -> Result<Self, ApiError> {
        let client = octocrab::Octocrab::builder()
            .base_uri(endpoints.origin.as_str())
            .map_err(|e| ApiError::Auth(format!("invalid API origin {}: {e}", endpoints.origin)))?
            .set_connect_timeout(Some(limits.connect_timeout))
            .set_read_timeout(Some(limits.read_timeout))
            .set_write_timeout(Some(limits.read_timeout))
            .build()
            .map_err(|e| ApiError::Auth(format!("cannot build the HTTP client: {e}")))?;
        let spacing = Duration::from_secs_f64(60.0 / f64::from(limits.writes_per_minute.max(1)));
        let pacer =
            Pacer { spacing, per_hour: limits.writes_per_hour.max(1) as usize, last: None, recent: VecDeque::new() };
        let etags = etag_file.as_deref().map(load_etags).unwrap_or_default();
        let write_slots = limits.write_concurrency.max(1);
        Ok(Api {
            client,
            etag_file,
            endpoints,
            limits,
            token,
            rate: std::sync::Mutex::new(RateState::default()),
            etags: std::sync::Mutex::new(etags),
            routes: std::sync::Mutex::new(BTreeMap::new()),
            counters: Counters::default(),
            writes: Mutex::new(pacer),
            write_slots: tokio::sync::Semaphore::new(write_slots),
        })
    }

    /// Write the ETag cache for the next run (atomically; a failure only costs rate limit).
    pub fn persist_etags(&self) {
        let Some(file) = &self.etag_file else { return };
        let Ok(map) = self.etags.lock() else { return };
        let entries: BTreeMap<&String, (&String, String)> =
            map.iter().map(|(k, (etag, body))| (k, (etag, String::from_utf8_lossy(body).into_owned()))).collect();
        let doc = serde_json::json!({"origin": self.endpoints.origin, "entries": entries});
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = crate::workspace::write::write_atomically_private(file, doc.to_string().as_bytes()) {
            tracing::warn!(file = %file.display(), error = %e, "could not save the ETag cache");
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The whole URL of `path` (which host a failed request went to).
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoints.origin)
    }

    pub fn usage(&self) -> Usage {
        let c = &self.counters;
        Usage {
            requests: c.requests.load(Ordering::Relaxed),
            not_modified: c.not_modified.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            waited_ms: c.waited_ms.load(Ordering::Relaxed),
            by_route: self.routes.lock().map(|r| r.clone()).unwrap_or_default(),
            rate_limit_remaining: self.rate.lock().ok().and_then(|r| r.remaining),
        }
    }

    /// A REST request to `path` (relative to the REST root, e.g. `/repos/acme/api/pulls`).
    /// `route` is the path template used for accounting and messages.
    pub async fn rest(
        &self,
        method: Method,
        route: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        repeat: Repeat,
    ) -> Result<Response, ApiError> {
        let full = format!("{}{}", self.endpoints.rest_prefix, path);
        self.send(method, route, &full, body, repeat, None).await
    }

    /// A GraphQL query or mutation; `errors` in the answer become an error.
    pub async fn graphql(
        &self,
        query: &str,
        variables: serde_json::Value,
        repeat: Repeat,
    ) -> Result<serde_json::Value, ApiError> {
        let value = self.graphql_document(query, variables, repeat).await?;
        if let Some(errors) = value.get("errors").filter(|e| !e.is_null()) {
            return Err(ApiError::Status {
                method: Method::POST,
                target: self.endpoints.graphql_path.clone(),
                status: StatusCode::OK,
                message: errors.to_string(),
                body: value.clone(),
            });
        }
        Ok(value)
    }

    /// A GraphQL query (no mutations): a read, so it is neither paced nor held to the one
    /// write at a time. Answered in full, `data` and `errors` side by side.
    pub async fn graphql_query(
        &self,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<serde_json::Value, ApiError> {
        debug_assert!(!query.trim_start().starts_with("mutation"), "a mutation sent as a query");
        self.post_graphql(GRAPHQL_QUERY_ROUTE, query, variables, Repeat::Safe).await
    }

    /// A GraphQL document answered in full: `data` and `errors` side by side, for documents of
    /// several mutations where some may succeed and others fail. HTTP errors are still errors.
    pub async fn graphql_document(
        &self,
        query: &str,
        variables: serde_json::Value,
        repeat: Repeat,
    ) -> Result<serde_json::Value, ApiError> {
        self.post_graphql("POST /graphql", query, variables, repeat).await
    }

    async fn post_graphql(
        &self,
        route: &str,
        query: &str,
        variables: serde_json::Value,
        repeat: Repeat,
    ) -> Result<serde_json::Value, ApiError> {
        let body = serde_json::json!({"query": query, "variables": variables});
        let path = self.endpoints.graphql_path.clone();
        let resp = self.send(Method::POST, route, &path, Some(&body), repeat, None).await?;
        if !resp.status.is_success() {
            let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let message = body["message"].as_str().unwrap_or("GraphQL request refused").to_string();
            return Err(ApiError::Status {
                method: Method::POST,
                target: self.endpoints.graphql_path.clone(),
                status: resp.status,
                message,
                body,
            });
        }
        resp.json()
    }

    /// Send with an explicit bearer (GitHub App JWTs for `/app/*` routes).
    pub async fn rest_with_bearer(
        &self,
        method: Method,
        route: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        bearer: &str,
    ) -> Result<Response, ApiError> {
        let full = format!("{}{}", self.endpoints.rest_prefix, path);
        self.send(method, route, &full, body, Repeat::CheckFirst, Some(bearer)).await
    }

    async fn send(
        &self,
        method: Method,
        route: &str,
        path: &str,
        body: Option<&serde_json::Value>,
        repeat: Repeat,
        bearer: Option<&str>,
    ) -> Result<Response, ApiError> {
        let is_write = method != Method::GET && method != Method::HEAD && route != GRAPHQL_QUERY_ROUTE;
        let route_key = format!("{method} {route}");
        let mut attempt: u32 = 0;
        loop {
            self.wait_for_budget().await?;
            // A write holds a slot for the whole request (one slot by default: one at a time, as
            // GitHub asks), and starts no sooner than the pace allows.
            let slot = if is_write { Some(self.write_slots.acquire().await) } else { None };
            if is_write {
                let mut p = self.writes.lock().await;
                let delay = p.delay(Instant::now());
                if !delay.is_zero() {
                    self.sleep(delay).await;
                }
                p.record(Instant::now());
                self.counters.writes.fetch_add(1, Ordering::Relaxed);
            }
            let cached =
                if method == Method::GET { self.etags.lock().ok().and_then(|m| m.get(path).cloned()) } else { None };
            let request =
                self.build(&method, path, body, cached.as_ref().map(|(etag, _)| etag.as_str()), bearer).await?;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut routes) = self.routes.lock() {
                *routes.entry(route_key.clone()).or_default() += 1;
            }
            let limit = self.limits.request_timeout;
            let sent = Instant::now();
            let outcome = tokio::time::timeout(limit, async {
                let response = self
                    .client
                    .execute(request)
                    .await
                    .map_err(|e| format!("connection failed: {}", error_chain(&e)))?;
                let (parts, body_stream) = response.into_parts();
                Ok::<_, String>((parts, collect(body_stream).await))
            })
            .await
            .unwrap_or_else(|_| {
                Err(format!("no complete response within {} s (request_timeout)", limit.as_secs_f64()))
            });
            drop(slot);
            // A request that ran as long as a timeout allows met a server that does not answer:
            // it is not sent again (five more waits would hold the command for many minutes).
            let timed_out = sent.elapsed() >= limit.min(self.limits.read_timeout);
            let (parts, body) = match outcome {
                Ok(r) => r,
                Err(cause) => {
                    let cause = if timed_out && !cause.contains("request_timeout") {
                        format!(
                            "no answer within {} s (read_timeout), the request is not retried: {cause}",
                            self.limits.read_timeout.as_secs_f64()
                        )
                    } else {
                        cause
                    };
                    // A name that does not resolve will not resolve a second later (a temporary
                    // resolver failure, EAI_AGAIN, may: it is retried).
                    let unknown_host = cause.contains("dns error") && !cause.contains("Temporary failure");
                    if attempt < self.limits.retries && repeat == Repeat::Safe && !timed_out && !unknown_host {
                        attempt += 1;
                        self.backoff(attempt, None).await;
                        continue;
                    }
                    let cause = if attempt > 0 { format!("{cause} ({} attempts)", attempt + 1) } else { cause };
                    return Err(if is_write && repeat == Repeat::CheckFirst {
                        ApiError::Ambiguous { method, target: self.url(path), cause }
                    } else {
                        ApiError::Transport { method, target: self.url(path), cause }
                    });
                }
            };
            self.note_rate_limit(&parts.headers);
            let status = parts.status;
            let bytes = match body {
                Ok(b) => b,
                Err(cause) => {
                    if attempt < self.limits.retries && repeat == Repeat::Safe && !timed_out {
                        attempt += 1;
                        self.backoff(attempt, None).await;
                        continue;
                    }
                    return Err(if is_write {
                        ApiError::Ambiguous { method, target: self.url(path), cause }
                    } else {
                        ApiError::Transport { method, target: self.url(path), cause }
                    });
                }
            };
            if status == StatusCode::NOT_MODIFIED
                && let Some((_, cached_body)) = cached
            {
                self.counters.not_modified.fetch_add(1, Ordering::Relaxed);
                return Ok(Response {
                    path: path.to_string(),
                    origin: self.endpoints.origin.clone(),
                    status: StatusCode::OK,
                    headers: parts.headers,
                    body: cached_body,
                });
            }
            if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
                // Rate-limited requests were not processed: waiting and resending is safe even
                // for writes.
                let text = String::from_utf8_lossy(&bytes).to_lowercase();
                let retry_after =
                    parts.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
                let exhausted = parts.headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()) == Some("0");
                let secondary = retry_after.is_some() || text.contains("secondary rate limit");
                let primary = !secondary && (exhausted || text.contains("rate limit exceeded"));
                if (secondary || primary) && attempt < self.limits.retries.max(3) {
                    attempt += 1;
                    if secondary {
                        self.backoff(attempt, retry_after.map(Duration::from_secs)).await;
                    } else {
                        self.wait_for_reset().await?;
                    }
                    continue;
                }
            }
            if status.is_server_error() {
                if repeat == Repeat::Safe && attempt < self.limits.retries {
                    attempt += 1;
                    self.backoff(attempt, None).await;
                    continue;
                }
                let cause = format!("HTTP {status}");
                return Err(if is_write && repeat == Repeat::CheckFirst {
                    ApiError::Ambiguous { method, target: self.url(path), cause }
                } else {
                    ApiError::Status {
                        method,
                        target: path.to_string(),
                        status,
                        message: cause,
                        body: serde_json::Value::Null,
                    }
                });
            }
            if method == Method::GET
                && status == StatusCode::OK
                && let Some(etag) = parts.headers.get(http::header::ETAG).and_then(|v| v.to_str().ok())
                && let Ok(mut etags) = self.etags.lock()
            {
                etags.insert(path.to_string(), (etag.to_string(), bytes.clone()));
            }
            if status == StatusCode::UNAUTHORIZED {
                return Err(ApiError::Auth(format!(
                    "{method} {path}: HTTP 401 Bad credentials\n  help: check GITHUB_TOKEN / GH_TOKEN or the GitHub App settings; `convoy auth status` shows what convoy sees"
                )));
            }
            return Ok(Response {
                path: path.to_string(),
                origin: self.endpoints.origin.clone(),
                status,
                headers: parts.headers,
                body: bytes,
            });
        }
    }

    async fn build(
        &self,
        method: &Method,
        path: &str,
        body: Option<&serde_json::Value>,
        if_none_match: Option<&str>,
        bearer: Option<&str>,
    ) -> Result<http::Request<String>, ApiError> {
        let mut builder = http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header(ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header(USER_AGENT, concat!("convoy/", env!("CARGO_PKG_VERSION")));
        let token = match bearer {
            Some(b) => Some(b.to_string()),
            None => self.token.bearer(self).await?.map(|s| s.expose_secret().to_string()),
        };
        if let Some(token) = token {
            if !crate::workspace::may_send_credentials(&self.endpoints.origin) {
                return Err(ApiError::Auth(format!(
                    "refusing to send credentials to {} over plain http (only https, or http to this machine)\n  help: set api_url under [org.forge] to an https:// URL",
                    self.endpoints.origin
                )));
            }
            let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| ApiError::Auth("the token contains characters not allowed in an HTTP header".into()))?;
            value.set_sensitive(true);
            builder = builder.header(AUTHORIZATION, value);
        }
        if let Some(etag) = if_none_match {
            builder = builder.header(IF_NONE_MATCH, etag);
        }
        let text = match body {
            Some(b) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/json");
                b.to_string()
            }
            None => String::new(),
        };
        builder.body(text).map_err(|e| ApiError::Transport {
            method: method.clone(),
            target: self.url(path),
            cause: e.to_string(),
        })
    }

    fn note_rate_limit(&self, headers: &HeaderMap) {
        let num = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if let (Some(remaining), Ok(mut rate)) = (num("x-ratelimit-remaining"), self.rate.lock()) {
            rate.remaining = Some(remaining);
            rate.reset = num("x-ratelimit-reset");
        }
    }

    /// Before a request: if the budget is nearly spent, wait for the reset (bounded).
    async fn wait_for_budget(&self) -> Result<(), ApiError> {
        let state = self.rate.lock().map(|r| *r).unwrap_or_default();
        match state.remaining {
            Some(r) if r <= self.limits.reserve => self.wait_for_reset().await,
            _ => Ok(()),
        }
    }

    async fn wait_for_reset(&self) -> Result<(), ApiError> {
        let state = self.rate.lock().map(|r| *r).unwrap_or_default();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let reset = state.reset.unwrap_or(now + 60);
        let wait = reset.saturating_sub(now) + 1;
        if Duration::from_secs(wait) > self.limits.max_wait {
            return Err(ApiError::RateLimited { reset, wait_secs: wait, max_secs: self.limits.max_wait.as_secs() });
        }
        tracing::warn!(wait_secs = wait, "GitHub rate limit nearly exhausted; waiting for the reset");
        self.sleep(Duration::from_secs(wait)).await;
        if let Ok(mut rate) = self.rate.lock() {
            rate.remaining = None;
        }
        Ok(())
    }

    /// Exponential backoff with full jitter, or exactly `retry_after` when the server said so.
    async fn backoff(&self, attempt: u32, retry_after: Option<Duration>) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        let delay = retry_after.unwrap_or_else(|| {
            let base = Duration::from_millis(250).saturating_mul(1 << attempt.min(7));
            let cap = base.min(Duration::from_secs(30));
            cap.mul_f64(0.5 + jitter() * 0.5)
        });
        self.sleep(delay).await;
    }

    async fn sleep(&self, d: Duration) {
        self.counters.waited_ms.fetch_add(d.as_millis() as u64, Ordering::Relaxed);
        tokio::time::sleep(d).await;
    }
}

/// The ETag cache saved by an earlier run; anything unreadable is an empty cache.
fn load_etags(file: &std::path::Path) -> HashMap<String, (String, bytes_body::Bytes)> {
    let Ok(text) = std::fs::read_to_string(file) else { return HashMap::new() };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else { return HashMap::new() };
    doc["entries"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let etag = v[0].as_str()?.to_string();
                    let body = v[1].as_str()?.as_bytes().to_vec();
                    Some((k.clone(), (etag, bytes_body::Bytes::from(body))))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A number in [0, 1) that differs between calls and processes; good enough for backoff jitter.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// Reading octocrab's boxed body into bytes.
mod bytes_body {
    pub use bytes::Bytes;
    use http_body_util::BodyExt;

    pub async fn collect(body: http_body_util::combinators::BoxBody<Bytes, octocrab::Error>) -> Result<Bytes, String> {
        body.collect().await.map(|c| c.to_bytes()).map_err(|e| format!("reading the response failed: {e}"))
    }
}

/// An error and its sources, joined with `: ` (a source already in the text is left out), so
/// "client error (Connect)" becomes "... (Connect): tcp connect error: Connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_for_dotcom_and_ghes() {
        let dotcom = Endpoints::from_api_url("https://api.github.com/").unwrap();
        assert_eq!((dotcom.rest_prefix.as_str(), dotcom.graphql_path.as_str()), ("", "/graphql"));
        let ghes = Endpoints::from_api_url("https://ghe.example.com/api/v3").unwrap();
        assert_eq!(ghes.origin, "https://ghe.example.com");
        assert_eq!((ghes.rest_prefix.as_str(), ghes.graphql_path.as_str()), ("/api/v3", "/api/graphql"));
        assert!(Endpoints::from_api_url("https://ghe.example.com/api").is_err());
        assert!(Endpoints::from_api_url("ftp://x").is_err());
        let website = Endpoints::from_api_url("https://github.com").unwrap_err();
        assert!(website.contains("GitHub's website, not its API: the API is https://api.github.com"), "{website}");
    }

    #[tokio::test]
    async fn credentials_never_go_over_plain_http_to_another_host() {
        use secrecy::SecretString;
        let token: Arc<dyn TokenSource> =
            Arc::new(super::super::auth::StaticToken::new(Some(SecretString::from("ghp_x".to_string())), "test"));
        // 192.0.2.0/24 is TEST-NET-1: nothing answers there, and nothing may be sent.
        let endpoints = Endpoints::from_api_url("http://192.0.2.1").unwrap();
        let api = Api::new(endpoints, Limits::default(), token, None).unwrap();
        let started = Instant::now();
        let err = api.rest(Method::GET, "/user", "/user", None, Repeat::Safe).await.unwrap_err().to_string();
        assert!(err.contains("refusing to send credentials to http://192.0.2.1 over plain http"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5), "refused before connecting");
    }

    /// A host that refuses connections: the error names the URL requested (not the route
    /// template), the operating system's reason, how many attempts were made, and what to check.
    #[tokio::test]
    async fn an_unreachable_api_names_the_url_the_cause_and_what_to_check() {
        let token: Arc<dyn TokenSource> = Arc::new(super::super::auth::StaticToken::new(None, "test"));
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let endpoints = Endpoints::from_api_url(&format!("http://127.0.0.1:{port}/api/v3")).unwrap();
        let api = Api::new(endpoints, Limits { retries: 1, ..Limits::default() }, token, None).unwrap();
        let err = api
            .rest(Method::GET, "/orgs/{org}/repos", "/orgs/acme/repos", None, Repeat::Safe)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("GET http://127.0.0.1:{port}/api/v3/orgs/acme/repos: ")), "{err}");
        assert!(!err.contains("{org}"), "{err}");
        assert!(err.to_lowercase().contains("connection refused"), "the OS's reason is kept: {err}");
        assert!(err.contains("(2 attempts)"), "{err}");
        assert!(err.contains("\n  help: check the network") && err.contains("api_url"), "{err}");
    }

    /// An `api_url` that is a web server, not GitHub's API (GHES without `/api/v3`): the
    /// message says the answer was HTML and what api_url should look like.
    #[tokio::test]
    async fn an_html_answer_says_api_url_is_not_the_api() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let page = "<!DOCTYPE html><html><body>Sign in</body></html>";
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                page.len()
            );
            stream.write_all(head.as_bytes()).unwrap();
            stream.write_all(page.as_bytes()).unwrap();
        });
        let token: Arc<dyn TokenSource> = Arc::new(super::super::auth::StaticToken::new(None, "test"));
        let endpoints = Endpoints::from_api_url(&format!("http://127.0.0.1:{port}")).unwrap();
        let api = Api::new(endpoints, Limits { retries: 0, ..Limits::default() }, token, None).unwrap();
        let resp = api.rest(Method::GET, "/orgs/{org}/repos", "/orgs/acme/repos", None, Repeat::Safe).await.unwrap();
        let err = resp.json::<serde_json::Value>().unwrap_err().to_string();
        assert!(err.starts_with(&format!("http://127.0.0.1:{port}/orgs/acme/repos: unexpected response: ")), "{err}");
        assert!(err.contains("the server answered HTML, not JSON: is api_url GitHub's API"), "{err}");
    }

    #[test]
    fn pacer_spaces_writes_and_caps_the_hour() {
        let mut p = Pacer { spacing: Duration::from_millis(500), per_hour: 3, last: None, recent: VecDeque::new() };
        let t0 = Instant::now();
        assert_eq!(p.delay(t0), Duration::ZERO);
        p.record(t0);
        assert_eq!(p.delay(t0 + Duration::from_millis(100)), Duration::from_millis(400));
        p.record(t0 + Duration::from_millis(500));
        p.record(t0 + Duration::from_millis(1000));
        // Three writes in the last hour: the fourth waits until the first leaves the window.
        let d = p.delay(t0 + Duration::from_millis(2000));
        assert_eq!(d, Duration::from_secs(3600) - Duration::from_millis(2000));
    }
}
