//! The plumbing every REST handler shares: request context, GitHub-shaped errors, replies,
//! pagination, and the adapter that runs a synchronous handler on the blocking pool.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::state::{Identity, Shared};

pub(crate) type AppState = Arc<Shared>;

/// URL bases for what a response links to: the API root (`http://host` or `http://host/api/v3`)
/// and the web root (`http://host`).
#[derive(Clone, Debug)]
pub(crate) struct Base {
    pub api: String,
    pub web: String,
}

impl Base {
    pub fn new(host: String, ghes: bool) -> Base {
        let api = if ghes { format!("{host}/api/v3") } else { host.clone() };
        Base { api, web: host }
    }
    pub fn repo_api(&self, full_name: &str) -> String {
        format!("{}/repos/{full_name}", self.api)
    }
    pub fn repo_web(&self, full_name: &str) -> String {
        format!("{}/{full_name}", self.web)
    }
}

/// Per-request context the API middleware puts in the request extensions.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub ident: Identity,
    pub base: Base,
    /// Route template without any `/api/v3` prefix, e.g. `/repos/{owner}/{repo}/pulls`.
    pub route: String,
    /// The path and query as the client sent them (with any `/api/v3` prefix), for `Link` headers.
    pub orig_path: String,
    pub orig_query: Option<String>,
}

/// What a synchronous handler sees of a request.
pub(crate) struct ApiReq {
    pub params: HashMap<String, String>,
    pub query: Vec<(String, String)>,
    pub body: axum::body::Bytes,
    pub ctx: Ctx,
}

impl ApiReq {
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    pub fn ident(&self) -> &Identity {
        &self.ctx.ident
    }
    pub fn base(&self) -> &Base {
        &self.ctx.base
    }
    /// The JSON body as a value: 400 `Problems parsing JSON` when it is not JSON; an empty body is `{}`.
    pub fn json_value(&self) -> Result<Value, ApiError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body).map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Problems parsing JSON"))
    }
    /// The JSON body as `T`: 400 for malformed JSON, 422 `Invalid request.` for the wrong shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let value = self.json_value()?;
        serde_json::from_value(value).map_err(|e| ApiError::invalid(&format!("Invalid request.\n\n{e}.")))
    }
    /// Writes need authentication (401 `Requires authentication`).
    pub fn require_auth(&self) -> Result<(), ApiError> {
        if self.ctx.ident.is_authenticated() {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "Requires authentication"))
        }
    }
}

/// An error response in GitHub's shape. `documentation_url` and `status` are filled in by the
/// handler adapter from the route.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: &str) -> ApiError {
        ApiError { status, body: json!({ "message": message }), headers: Vec::new() }
    }
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found")
    }
    /// 422 with only a message, as GitHub answers for git data errors.
    pub fn invalid(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
    /// 422 `Validation Failed` with `errors`.
    pub fn validation(errors: Vec<Value>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({ "message": "Validation Failed", "errors": errors }),
            headers: Vec::new(),
        }
    }
    /// One `errors` entry.
    pub fn field_error(resource: &str, field: &str, code: &str) -> Value {
        json!({ "resource": resource, "field": field, "code": code })
    }
    pub fn custom_error(resource: &str, message: &str) -> Value {
        json!({ "resource": resource, "code": "custom", "message": message })
    }
    pub fn internal(what: &str) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, &format!("Server Error: {what}"))
    }
    pub fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
    pub fn with_doc(mut self, doc: &str) -> ApiError {
        if let Some(obj) = self.body.as_object_mut() {
            obj.entry("documentation_url").or_insert_with(|| json!(doc));
            obj.entry("status").or_insert_with(|| json!(self.status.as_u16().to_string()));
        }
        self
    }
}

impl From<String> for ApiError {
    fn from(e: String) -> ApiError {
        ApiError::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = json_response(self.status, &self.body);
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }
}

/// A successful reply.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Option<Value>,
    pub headers: Vec<(HeaderName, String)>,
}

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply { status: StatusCode::OK, body: Some(body), headers: Vec::new() }
    }
    pub fn created(body: Value) -> Reply {
        Reply { status: StatusCode::CREATED, body: Some(body), headers: Vec::new() }
    }
    pub fn no_content() -> Reply {
        Reply { status: StatusCode::NO_CONTENT, body: None, headers: Vec::new() }
    }
    pub fn header(mut self, name: HeaderName, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
    /// A `201 Created` with a `Location` header pointing at `location`.
    pub fn created_at(body: Value, location: String) -> Reply {
        Reply::created(body).header(header::LOCATION, location)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = match &self.body {
            Some(body) => json_response(self.status, body),
            None => {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = self.status;
                r
            }
        };
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().append(name, v);
            }
        }
        resp
    }
}

pub(crate) type ApiResult = Result<Reply, ApiError>;

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

/// Where GitHub's documentation of a route lives, for `documentation_url`.
pub(crate) fn doc_url(method: &Method, route: &str) -> String {
    let m = method.as_str();
    let page = match (m, route) {
        (_, "/user") => "users/users#get-the-authenticated-user",
        (_, "/rate_limit") => "rate-limit/rate-limit#get-rate-limit-status-for-the-authenticated-user",
        (_, "/orgs/{org}/repos") => "repos/repos#list-organization-repositories",
        (_, "/users/{user}/repos") => "repos/repos#list-repositories-for-a-user",
        (_, "/repos/{owner}/{repo}") => "repos/repos#get-a-repository",
        (_, "/repos/{owner}/{repo}/topics") => "repos/repos#get-all-repository-topics",
        (_, "/repos/{owner}/{repo}/git/ref/{ref}") => "git/refs#get-a-reference",
        (_, "/repos/{owner}/{repo}/git/matching-refs/{ref}") => "git/refs#list-matching-references",
        ("POST", "/repos/{owner}/{repo}/git/refs") => "git/refs#create-a-reference",
        ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}") => "git/refs#update-a-reference",
        ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}") => "git/refs#delete-a-reference",
        ("POST", "/repos/{owner}/{repo}/git/blobs") => "git/blobs#create-a-blob",
        (_, "/repos/{owner}/{repo}/git/blobs/{sha}") => "git/blobs#get-a-blob",
        ("POST", "/repos/{owner}/{repo}/git/trees") => "git/trees#create-a-tree",
        (_, "/repos/{owner}/{repo}/git/trees/{sha}") => "git/trees#get-a-tree",
        ("POST", "/repos/{owner}/{repo}/git/commits") => "git/commits#create-a-commit",
        (_, "/repos/{owner}/{repo}/git/commits/{sha}") => "git/commits#get-a-commit-object",
        (_, "/repos/{owner}/{repo}/tags") => "repos/repos#list-repository-tags",
        (_, "/repos/{owner}/{repo}/branches") => "branches/branches#list-branches",
        (_, "/repos/{owner}/{repo}/branches/{branch}") => "branches/branches#get-a-branch",
        ("GET", "/repos/{owner}/{repo}/pulls") => "pulls/pulls#list-pull-requests",
        ("POST", "/repos/{owner}/{repo}/pulls") => "pulls/pulls#create-a-pull-request",
        ("GET", "/repos/{owner}/{repo}/pulls/{number}") => "pulls/pulls#get-a-pull-request",
        ("PATCH", "/repos/{owner}/{repo}/pulls/{number}") => "pulls/pulls#update-a-pull-request",
        (_, "/repos/{owner}/{repo}/pulls/{number}/merge") => "pulls/pulls#merge-a-pull-request",
        (_, "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers") => {
            "pulls/review-requests#request-reviewers-for-a-pull-request"
        }
        ("PATCH", "/repos/{owner}/{repo}/issues/{number}") => "issues/issues#update-an-issue",
        (_, "/repos/{owner}/{repo}/issues/{number}") => "issues/issues#get-an-issue",
        (_, "/repos/{owner}/{repo}/issues/{number}/labels") => "issues/labels#add-labels-to-an-issue",
        (_, "/repos/{owner}/{repo}/issues/{number}/assignees") => "issues/assignees#add-assignees-to-an-issue",
        (_, "/repos/{owner}/{repo}/issues/{number}/comments") => "issues/comments#create-an-issue-comment",
        (_, "/repos/{owner}/{repo}/statuses/{sha}") => "commits/statuses#create-a-commit-status",
        ("POST", "/repos/{owner}/{repo}/check-runs") => "checks/runs#create-a-check-run",
        (_, "/repos/{owner}/{repo}/releases") => "releases/releases#create-a-release",
        (_, "/repos/{owner}/{repo}/releases/tags/{tag}") => "releases/releases#get-a-release-by-tag-name",
        (_, "/repos/{owner}/{repo}/releases/{id}") => "releases/releases#get-a-release",
        (_, "/repos/{owner}/{repo}/actions/runs") => "actions/workflow-runs#list-workflow-runs-for-a-repository",
        ("POST", "/app/installations/{id}/access_tokens") => "apps/apps#create-an-installation-access-token-for-an-app",
        (_, "/app/installations") => "apps/apps#list-installations-for-the-authenticated-app",
        (_, "/orgs/{org}/installation") => "apps/apps#get-an-organization-installation-for-the-authenticated-app",
        _ => "",
    };
    if route == "/graphql" {
        "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql".to_string()
    } else if page.is_empty() {
        "https://docs.github.com/rest".to_string()
    } else {
        format!("https://docs.github.com/rest/{page}")
    }
}

/// Marker for [`H`]'s `Handler` implementation.
pub(crate) struct SyncHandler;

/// A synchronous REST handler: it runs on the blocking pool (it takes the state lock and does git
/// work), and its errors get `documentation_url` for the route.
#[derive(Clone, Copy)]
pub(crate) struct H(pub fn(&Shared, &ApiReq) -> ApiResult);

impl Handler<SyncHandler, AppState> for H {
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, req: Request, state: AppState) -> Self::Future {
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let params = match RawPathParams::from_request_parts(&mut parts, &state).await {
                Ok(raw) => raw.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                Err(_) => HashMap::new(),
            };
            let query = parts.uri.query().map(parse_query).unwrap_or_default();
            let Some(ctx) = parts.extensions.get::<Ctx>().cloned() else {
                return ApiError::internal("missing request context").into_response();
            };
            let body = match axum::body::to_bytes(body, 256 << 20).await {
                Ok(b) => b,
                Err(_) => return ApiError::new(StatusCode::BAD_REQUEST, "Problems reading the body").into_response(),
            };
            let doc = doc_url(&parts.method, &ctx.route);
            let api = ApiReq { params, query, body, ctx };
            let f = self.0;
            let outcome = tokio::task::spawn_blocking(move || f(&state, &api)).await;
            match outcome {
                Ok(Ok(reply)) => reply.into_response(),
                Ok(Err(err)) => err.with_doc(&doc).into_response(),
                Err(_) => ApiError::internal("handler panicked").with_doc(&doc).into_response(),
            }
        })
    }
}

pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// `per_page` (default 30, at most 100) and `page` (from 1) of a request.
pub(crate) fn page_params(req: &ApiReq) -> (usize, usize) {
    let per_page =
        req.query("per_page").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(30).min(100);
    let page = req.query("page").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(1);
    (per_page, page)
}

/// One page of `items`, plus the `Link` header GitHub would send for it (none when everything fits
/// on one page). Links keep the request's other query parameters, in order, with `page` replaced.
pub(crate) fn paginate<T>(req: &ApiReq, items: Vec<T>) -> (Vec<T>, Option<String>) {
    let (per_page, page) = page_params(req);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let start = (page - 1).saturating_mul(per_page);
    let slice: Vec<T> = items.into_iter().skip(start).take(per_page).collect();
    (slice, link_header(req, page, last))
}

pub(crate) fn link_header(req: &ApiReq, page: usize, last: usize) -> Option<String> {
    if last <= 1 && page <= 1 {
        return None;
    }
    let url = |p: usize| {
        let mut pairs: Vec<(String, String)> = req.ctx.orig_query.as_deref().map(parse_query).unwrap_or_default();
        match pairs.iter_mut().find(|(k, _)| k == "page") {
            Some(pair) => pair.1 = p.to_string(),
            None => pairs.push(("page".into(), p.to_string())),
        }
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &pairs {
            ser.append_pair(k, v);
        }
        format!("{}{}?{}", req.ctx.base.web, req.ctx.orig_path, ser.finish())
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("<{}>; rel=\"prev\"", url((page - 1).min(last.max(1)).max(1))));
    }
    if page < last {
        links.push(format!("<{}>; rel=\"next\"", url(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", url(last)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", url(1)));
    }
    if links.is_empty() { None } else { Some(links.join(", ")) }
}

/// A JSON array reply for one page of `items`, with its `Link` header.
pub(crate) fn page_reply(req: &ApiReq, items: Vec<Value>) -> Reply {
    let (page, link) = paginate(req, items);
    let mut reply = Reply::ok(Value::Array(page));
    if let Some(link) = link {
        reply = reply.header(header::LINK, link);
    }
    reply
}

/// Parse a `{number}` path parameter; 404 when it is not a number.
pub(crate) fn number_param(req: &ApiReq, name: &str) -> Result<u64, ApiError> {
    req.param(name).parse::<u64>().map_err(|_| ApiError::not_found())
}
