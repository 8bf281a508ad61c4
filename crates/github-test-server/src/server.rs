//! Accept loop, request dispatch (REST at `/` and `/api/v3`, GraphQL, smart HTTP), and the API
//! middleware: faults, authentication, rate limits, ETags, common headers and the request log.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use hyper_util::rt::TokioIo;
use sha2::Digest;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::LoggedRequest;
use crate::faults::Pre;
use crate::http::{ApiError, AppState, Base, Ctx, H};
use crate::rate_limit::Snapshot;
use crate::state::{Identity, Shared};
use crate::{actions, apps, checks, git_data, graphql, pulls, rate_limit, releases, repos, smart_http};

/// Per-connection handle that lets a request close its connection without answering.
#[derive(Clone)]
pub(crate) struct ConnCtl(pub Arc<Notify>);

pub(crate) async fn start(
    config: crate::ServerConfig,
) -> std::io::Result<(Arc<Shared>, watch::Sender<bool>, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared::new(config, addr)?);
    let router = api_router(shared.clone());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, shared.clone(), router, rx));
    Ok((shared, tx, task))
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    router: Router,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let router = router.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let ctl = ConnCtl(kill.clone());
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let shared = shared.clone();
                let router = router.clone();
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ctl.clone());
                async move { Ok::<_, Infallible>(dispatch(shared, router, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
                _ = stop.changed() => {}
            }
        });
    }
}

/// Route a request: smart HTTP, the GHES `/api/v3` and `/api/graphql` prefixes, or the REST router.
async fn dispatch(shared: Arc<Shared>, router: Router, mut req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Some(target) = smart_http::parse_path(&path) {
        return smart_http::handle(shared, target, req).await;
    }
    let ghes = path == "/api/v3" || path.starts_with("/api/v3/") || path == "/api/graphql";
    if path == "/api/v3/graphql" {
        let err = ApiError::not_found().with_doc("https://docs.github.com/rest");
        return err.into_response();
    }
    let orig_path = path.clone();
    let orig_query = req.uri().query().map(str::to_string);
    if ghes {
        let stripped =
            if path == "/api/graphql" { "/graphql".to_string() } else { path["/api/v3".len()..].to_string() };
        let stripped = if stripped.is_empty() { "/".to_string() } else { stripped };
        let pq = match &orig_query {
            Some(q) => format!("{stripped}?{q}"),
            None => stripped,
        };
        if let Ok(uri) = pq.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req.extensions_mut().insert(Origin { base: Base::new(shared.host(), ghes), orig_path, orig_query });
    match router.oneshot(req).await {
        Ok(resp) => resp,
        Err(never) => match never {},
    }
}

/// Where a request came from, before `/api/v3` was stripped.
#[derive(Clone)]
struct Origin {
    base: Base,
    orig_path: String,
    orig_query: Option<String>,
}

fn h(f: fn(&Shared, &crate::http::ApiReq) -> crate::http::ApiResult) -> H {
    H(f)
}

fn api_router(shared: Arc<Shared>) -> Router {
    let r = |m: MethodRouter<AppState>| m.fallback(not_found);
    Router::new()
        .route("/", r(get(h(repos::root))))
        .route("/user", r(get(h(repos::user))))
        .route("/rate_limit", r(get(h(rate_limit::get))))
        .route("/orgs/{org}/repos", r(get(h(repos::org_repos))))
        .route("/users/{user}/repos", r(get(h(repos::user_repos))))
        .route("/orgs/{org}/installation", r(get(h(apps::org_installation))))
        .route("/users/{user}/installation", r(get(h(apps::user_installation))))
        .route("/app", r(get(h(apps::get_app))))
        .route("/app/installations", r(get(h(apps::installations))))
        .route("/app/installations/{installation_id}", r(get(h(apps::get_installation))))
        .route("/app/installations/{installation_id}/access_tokens", r(post(h(apps::create_token))))
        .route("/graphql", r(post(h(graphql::handle))))
        .route("/repos/{owner}/{repo}", r(get(h(repos::get_repo)).patch(h(repos::update_repo))))
        .route("/repos/{owner}/{repo}/installation", r(get(h(apps::repo_installation))))
        .route("/repos/{owner}/{repo}/topics", r(get(h(repos::get_topics)).put(h(repos::put_topics))))
        .route("/repos/{owner}/{repo}/tags", r(get(h(repos::tags))))
        .route("/repos/{owner}/{repo}/branches", r(get(h(repos::branches))))
        .route("/repos/{owner}/{repo}/branches/{*branch}", r(get(h(repos::get_branch))))
        .route("/repos/{owner}/{repo}/commits/{*ref}", r(get(h(repos::commits_dispatch))))
        .route("/repos/{owner}/{repo}/git/ref/{*ref}", r(get(h(git_data::get_ref))))
        .route("/repos/{owner}/{repo}/git/matching-refs/{*ref}", r(get(h(git_data::matching_refs))))
        .route("/repos/{owner}/{repo}/git/refs", r(get(h(git_data::list_refs)).post(h(git_data::create_ref))))
        .route(
            "/repos/{owner}/{repo}/git/refs/{*ref}",
            r(get(h(git_data::get_refs_prefix)).patch(h(git_data::update_ref)).delete(h(git_data::delete_ref))),
        )
        .route("/repos/{owner}/{repo}/git/blobs", r(post(h(git_data::create_blob))))
        .route("/repos/{owner}/{repo}/git/blobs/{sha}", r(get(h(git_data::get_blob))))
        .route("/repos/{owner}/{repo}/git/trees", r(post(h(git_data::create_tree))))
        .route("/repos/{owner}/{repo}/git/trees/{sha}", r(get(h(git_data::get_tree))))
        .route("/repos/{owner}/{repo}/git/commits", r(post(h(git_data::create_commit))))
        .route("/repos/{owner}/{repo}/git/commits/{sha}", r(get(h(git_data::get_commit))))
        .route("/repos/{owner}/{repo}/pulls", r(get(h(pulls::list)).post(h(pulls::create))))
        .route("/repos/{owner}/{repo}/pulls/{number}", r(get(h(pulls::get)).patch(h(pulls::update))))
        .route("/repos/{owner}/{repo}/pulls/{number}/merge", r(get(h(pulls::merge_status)).put(h(pulls::merge))))
        .route("/repos/{owner}/{repo}/pulls/{number}/commits", r(get(h(pulls::commits))))
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/reviews",
            r(get(h(pulls::list_reviews)).post(h(pulls::create_review))),
        )
        .route(
            "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers",
            r(get(h(pulls::get_reviewers)).post(h(pulls::request_reviewers)).delete(h(pulls::remove_reviewers))),
        )
        .route("/repos/{owner}/{repo}/issues/{number}", r(get(h(pulls::get_issue)).patch(h(pulls::update_issue))))
        .route(
            "/repos/{owner}/{repo}/issues/{number}/labels",
            r(get(h(pulls::get_labels))
                .post(h(pulls::add_labels))
                .put(h(pulls::set_labels))
                .delete(h(pulls::clear_labels))),
        )
        .route("/repos/{owner}/{repo}/issues/{number}/labels/{name}", r(axum::routing::delete(h(pulls::remove_label))))
        .route("/repos/{owner}/{repo}/issues/{number}/assignees", r(post(h(pulls::add_assignees))))
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            r(get(h(pulls::list_comments)).post(h(pulls::create_comment))),
        )
        .route("/repos/{owner}/{repo}/statuses/{sha}", r(post(h(checks::create_status))))
        .route("/repos/{owner}/{repo}/check-runs", r(post(h(checks::create_check_run))))
        .route(
            "/repos/{owner}/{repo}/check-runs/{id}",
            r(get(h(checks::get_check_run)).patch(h(checks::update_check_run))),
        )
        .route("/repos/{owner}/{repo}/releases", r(get(h(releases::list)).post(h(releases::create))))
        .route("/repos/{owner}/{repo}/releases/latest", r(get(h(releases::latest))))
        .route("/repos/{owner}/{repo}/releases/tags/{*tag}", r(get(h(releases::by_tag))))
        .route(
            "/repos/{owner}/{repo}/releases/{id}",
            r(get(h(releases::get)).patch(h(releases::update)).delete(h(releases::delete))),
        )
        .route("/repos/{owner}/{repo}/actions/runs", r(get(h(actions::list_runs))))
        .route("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs", r(get(h(actions::list_workflow_runs))))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), api_middleware))
        .with_state(shared)
}

async fn not_found() -> Response {
    ApiError::not_found().with_doc("https://docs.github.com/rest").into_response()
}

/// The route template of a request, without `/api/v3`, with `{*x}` written `{x}`, and with the
/// sub-resource of `/commits/{ref}/...` spelled out.
fn route_template(matched: Option<&str>, path: &str) -> String {
    let Some(m) = matched else { return path.to_string() };
    let mut route = m.replace("{*", "{");
    if route == "/repos/{owner}/{repo}/commits/{ref}" {
        for suffix in ["/status", "/statuses", "/check-runs", "/check-suites"] {
            if path.ends_with(suffix) {
                route.push_str(suffix);
                break;
            }
        }
    }
    route
}

fn auth_error(status: StatusCode, message: &str) -> ApiError {
    ApiError::new(status, message).with_doc("https://docs.github.com/rest")
}

/// Extra response headers that describe the caller's token.
struct Authenticated {
    ident: Identity,
    headers: Vec<(HeaderName, String)>,
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Authenticated, ApiError> {
    let anonymous = Authenticated { ident: Identity::Anonymous, headers: Vec::new() };
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(anonymous) };
    let value = value.to_str().map_err(|_| auth_error(StatusCode::UNAUTHORIZED, "Bad credentials"))?.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let token = match scheme.to_ascii_lowercase().as_str() {
        "bearer" | "token" => rest.trim().to_string(),
        "basic" => {
            use base64::Engine;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| auth_error(StatusCode::UNAUTHORIZED, "Bad credentials"))?;
            let (user, pass) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            if pass.is_empty() { user.to_string() } else { pass.to_string() }
        }
        _ => return Err(auth_error(StatusCode::UNAUTHORIZED, "Bad credentials")),
    };
    if apps::looks_like_jwt(&token) {
        let app_id = apps::verify_jwt(shared, &token).map_err(|m| auth_error(StatusCode::UNAUTHORIZED, &m))?;
        return Ok(Authenticated { ident: Identity::App { app_id }, headers: Vec::new() });
    }
    let st = shared.lock();
    let Some(t) = st.tokens.get(&token) else { return Err(auth_error(StatusCode::UNAUTHORIZED, "Bad credentials")) };
    let now = time::OffsetDateTime::now_utc();
    if t.expires_at.is_some_and(|e| e <= now) {
        return Err(auth_error(StatusCode::UNAUTHORIZED, "Bad credentials"));
    }
    let mut extra = Vec::new();
    let ident = match &t.kind {
        crate::TokenKind::Classic { scopes } => {
            extra.push((HeaderName::from_static("x-oauth-scopes"), scopes.join(", ")));
            extra.push((HeaderName::from_static("x-accepted-oauth-scopes"), String::new()));
            Identity::User { login: t.login.clone() }
        }
        crate::TokenKind::FineGrained { .. } => {
            if let Some(exp) = t.expires_at {
                let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
                let exp = exp.to_offset(time::UtcOffset::UTC).format(&f).unwrap_or_default();
                extra.push((HeaderName::from_static("github-authentication-token-expiration"), exp));
            }
            Identity::User { login: t.login.clone() }
        }
        crate::TokenKind::Installation => Identity::Installation {
            app_id: t.installation.map(|(a, _)| a),
            installation_id: t.installation.map(|(_, i)| i),
            repositories: t.repositories.clone(),
        },
    };
    Ok(Authenticated { ident, headers: extra })
}

/// Routes that take a GitHub App's JWT (and only that).
fn app_route(route: &str) -> bool {
    route == "/app"
        || route.starts_with("/app/")
        || route == "/orgs/{org}/installation"
        || route == "/users/{user}/installation"
        || route == "/repos/{owner}/{repo}/installation"
}

fn rate_limited(ident: &Identity) -> ApiError {
    let message = match ident {
        Identity::Anonymous => "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)".to_string(),
        Identity::Installation { installation_id, .. } => {
            format!("API rate limit exceeded for installation ID {}.", installation_id.unwrap_or(1))
        }
        Identity::App { app_id } => format!("API rate limit exceeded for app ID {app_id}."),
        Identity::User { login } => {
            format!("API rate limit exceeded for user ID {}.", crate::json::account_id(login))
        }
    };
    ApiError::new(StatusCode::FORBIDDEN, &message)
        .with_doc("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
}

fn fault_error(status: u16) -> ApiError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = match status.as_u16() {
        500 => "Server Error",
        502 => "Server Error",
        503 => "Service Unavailable",
        504 => {
            "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request and contact us if the problem persists."
        }
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    ApiError::new(status, message).with_doc("https://docs.github.com/rest")
}

async fn api_middleware(State(shared): State<AppState>, mut req: Request, next: Next) -> Response {
    let arrived = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let route = route_template(matched.as_deref(), &path);
    let origin = req.extensions().get::<Origin>().cloned().unwrap_or_else(|| Origin {
        base: Base::new(shared.host(), false),
        orig_path: path.clone(),
        orig_query: req.uri().query().map(str::to_string),
    });
    let request_id = shared.next_request_id();
    // GraphQL queries are POSTs that read: the log tells them from content-creating mutations.
    let mut graphql_query = false;
    if method == Method::POST && route == "/graphql" {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 256 << 20).await.unwrap_or_default();
        graphql_query = graphql::is_query(&bytes);
        req = Request::from_parts(parts, Body::from(bytes));
    }
    let log = |status: u16| LoggedRequest {
        at: arrived,
        finished: Instant::now(),
        method: method.as_str().to_string(),
        route: route.clone(),
        path: origin.orig_path.clone(),
        status,
        graphql_query,
    };

    let delay = shared.faults.latency_of(method.as_str(), &route);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match shared.faults.pre(method.as_str(), &route) {
        Some(Pre::Drop) => {
            shared.record(log(0));
            if let Some(ctl) = req.extensions().get::<ConnCtl>() {
                ctl.0.notify_one();
            }
            // The connection task drops this future together with the connection.
            std::future::pending::<()>().await;
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Some(Pre::Fail(status)) => {
            let resp = finish(&shared, fault_error(status).into_response(), &request_id, None, &[]);
            shared.record(log(resp.status().as_u16()));
            return resp;
        }
        None => {}
    }

    let outcome = pre_handler(&shared, &req, &method, &route);
    let auth = match outcome {
        Ok(auth) => auth,
        Err((err, snapshot, extra)) => {
            let resp = finish(&shared, err.into_response(), &request_id, snapshot, &extra);
            shared.record(log(resp.status().as_u16()));
            return resp;
        }
    };
    // A token scoped to some repositories gets 404 for the others, as GitHub answers.
    if route.starts_with("/repos/{owner}/{repo}") {
        let path = req.uri().path();
        let path = path.strip_prefix("/api/v3").unwrap_or(path);
        let repo = path.split('/').nth(3).unwrap_or_default();
        if !auth.ident.allows_repo(repo) {
            let resp =
                finish(&shared, crate::http::ApiError::not_found().into_response(), &request_id, None, &auth.headers);
            shared.record(log(resp.status().as_u16()));
            return resp;
        }
    }
    let counted = route != "/rate_limit";
    let snapshot = if counted {
        match shared.rate.take() {
            Ok(s) => s,
            Err(s) => {
                let resp =
                    finish(&shared, rate_limited(&auth.ident).into_response(), &request_id, Some(s), &auth.headers);
                shared.record(log(resp.status().as_u16()));
                return resp;
            }
        }
    } else {
        shared.rate.snapshot()
    };

    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_string);
    req.extensions_mut().insert(Ctx {
        ident: auth.ident.clone(),
        base: origin.base.clone(),
        route: route.clone(),
        orig_path: origin.orig_path.clone(),
        orig_query: origin.orig_query.clone(),
    });
    let mut resp = next.run(req).await;

    if resp.status().is_success() && shared.faults.take_apply_then_502(method.as_str(), &route) {
        resp = fault_error(502).into_response();
    }
    let mut snapshot = Some(snapshot);
    if method == Method::GET && resp.status() == StatusCode::OK {
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        let etag = format!("W/\"{}\"", hex(&sha2::Sha256::digest(&bytes)));
        let matches = if_none_match.as_deref().is_some_and(|inm| etag_matches(inm, &etag));
        resp = if matches {
            if counted {
                snapshot = Some(shared.rate.refund());
            }
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            for name in [header::LINK] {
                if let Some(v) = parts.headers.get(&name) {
                    r.headers_mut().insert(name, v.clone());
                }
            }
            r
        } else {
            Response::from_parts(parts, Body::from(bytes))
        };
        if let Ok(v) = HeaderValue::from_str(&etag) {
            resp.headers_mut().insert(header::ETAG, v);
        }
    }
    let resp = finish(&shared, resp, &request_id, snapshot, &auth.headers);
    shared.record(log(resp.status().as_u16()));
    resp
}

type PreError = (ApiError, Option<Snapshot>, Vec<(HeaderName, String)>);

/// Authentication, app-route rules, the primary limit when it is already exhausted, and the
/// secondary limit fault.
fn pre_handler(shared: &Shared, req: &Request, method: &Method, route: &str) -> Result<Authenticated, PreError> {
    let auth = authenticate(shared, req.headers()).map_err(|e| (e, None, Vec::new()))?;
    let app_only = app_route(route);
    match &auth.ident {
        Identity::App { .. } if !app_only && route != "/rate_limit" => {
            return Err((
                ApiError::forbidden("Resource not accessible by integration").with_doc("https://docs.github.com/rest"),
                None,
                Vec::new(),
            ));
        }
        Identity::App { .. } => {}
        _ if app_only => {
            return Err((
                auth_error(StatusCode::UNAUTHORIZED, "A JSON web token could not be decoded"),
                None,
                auth.headers,
            ));
        }
        Identity::Anonymous if shared.config.require_auth && route != "/rate_limit" => {
            return Err((auth_error(StatusCode::UNAUTHORIZED, "Requires authentication"), None, Vec::new()));
        }
        _ => {}
    }
    if route != "/rate_limit" {
        let s = shared.rate.snapshot();
        if s.remaining == 0 {
            return Err((rate_limited(&auth.ident), Some(s), auth.headers));
        }
    }
    if let Some(retry_after) = shared.faults.secondary(method.as_str(), route) {
        let id = shared.next_request_id();
        let message = format!(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID {id}."
        );
        let mut err = ApiError::forbidden(&message)
            .with_doc("https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits");
        err.headers.push((header::RETRY_AFTER, retry_after.to_string()));
        return Err((err, None, auth.headers));
    }
    Ok(auth)
}

fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let strip = |s: &str| s.trim().trim_start_matches("W/").trim_matches('"').to_string();
    let ours = strip(etag);
    if_none_match.split(',').any(|candidate| candidate.trim() == "*" || strip(candidate) == ours)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Headers every API response carries.
fn finish(
    shared: &Shared,
    mut resp: Response,
    request_id: &str,
    snapshot: Option<Snapshot>,
    extra: &[(HeaderName, String)],
) -> Response {
    let s = snapshot.unwrap_or_else(|| shared.rate.snapshot());
    let h = resp.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-ratelimit-limit", s.limit.to_string());
    set("x-ratelimit-remaining", s.remaining.to_string());
    set("x-ratelimit-reset", s.reset.to_string());
    set("x-ratelimit-used", s.used().to_string());
    set("x-ratelimit-resource", "core".to_string());
    set("x-github-request-id", request_id.to_string());
    set("x-github-api-version-selected", "2022-11-28".to_string());
    set("x-github-media-type", "github.v3; format=json".to_string());
    set("cache-control", "private, max-age=60, s-maxage=60".to_string());
    set("vary", "Accept, Authorization, Cookie, X-GitHub-OTP".to_string());
    for (name, value) in extra {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name.clone(), v);
        }
    }
    resp
}

/// Record a request that bypassed the API middleware (smart HTTP).
pub(crate) fn record_plain(shared: &Shared, arrived: Instant, method: &Method, route: &str, path: &str, status: u16) {
    shared.record(LoggedRequest {
        graphql_query: false,
        at: arrived,
        finished: Instant::now(),
        method: method.as_str().to_string(),
        route: route.to_string(),
        path: path.to_string(),
        status,
    });
}
