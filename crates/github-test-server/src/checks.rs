//! Commit statuses and check runs.

use serde_json::{Value, json};

use crate::git;
use crate::http::{ApiError, ApiReq, ApiResult, Reply, page_reply, paginate};
use crate::json;
use crate::repos::{find, find_mut, repo_json};
use crate::state::{CheckRunRec, Identity, Shared, StatusRec, now};

/// `POST /repos/{owner}/{repo}/statuses/{sha}` `{state, target_url, description, context}`.
pub(crate) fn create_status(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        state: Option<String>,
        target_url: Option<String>,
        description: Option<String>,
        context: Option<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let id = st.next_id();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    let sha = req.param("sha");
    let Some(commit) = git::parse_oid(sha).and_then(|id| git::peel_to_commit(&repo, id)) else {
        return Err(ApiError::invalid(&format!("No commit found for SHA: {sha}")));
    };
    let state = body.state.unwrap_or_default();
    if !matches!(state.as_str(), "error" | "failure" | "pending" | "success") {
        return Err(ApiError::validation(vec![json!({
            "resource": "Status",
            "code": "custom",
            "field": "state",
            "message": format!("state is not included in the list"),
        })]));
    }
    if body.description.as_ref().is_some_and(|d| d.chars().count() > 140) {
        return Err(ApiError::validation(vec![json!({
            "resource": "Status",
            "code": "custom",
            "field": "description",
            "message": "description is too long (maximum is 140 characters)",
        })]));
    }
    let rec = StatusRec {
        id: 2_000_000_000 + id,
        sha: commit.to_string(),
        state,
        context: body.context.filter(|c| !c.is_empty()).unwrap_or_else(|| "default".to_string()),
        description: body.description,
        target_url: body.target_url,
        creator: req.ident().login(),
        created_at: now(),
    };
    if r.statuses.iter().filter(|s| s.sha == rec.sha).count() >= 1000 {
        return Err(ApiError::validation(vec![json!({
            "resource": "Status",
            "code": "custom",
            "message": "This SHA and context has reached the maximum number of statuses.",
        })]));
    }
    r.statuses.push(rec.clone());
    let v = json::status(req.base(), r, &rec);
    Ok(Reply::created_at(v.clone(), v["url"].as_str().unwrap_or_default().to_string()))
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/status`: the latest status per context and their
/// combination (`failure` if any failed or errored, else `pending` if any is pending or there is
/// none, else `success`).
pub(crate) fn combined_status(shared: &Shared, req: &ApiReq, reference: &str) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    crate::git_data::require_not_empty(&repo)?;
    let commit = git::resolve_commitish(&repo, reference)
        .ok_or_else(|| ApiError::invalid(&format!("No commit found for SHA: {reference}")))?;
    let sha = commit.to_string();
    let mut latest: Vec<&StatusRec> = Vec::new();
    for s in r.statuses.iter().rev().filter(|s| s.sha == sha) {
        if !latest.iter().any(|l| l.context == s.context) {
            latest.push(s);
        }
    }
    let state = if latest.iter().any(|s| s.state == "error" || s.state == "failure") {
        "failure"
    } else if latest.is_empty() || latest.iter().any(|s| s.state == "pending") {
        "pending"
    } else {
        "success"
    };
    let total = latest.len();
    let (page, _) = paginate(req, latest);
    let api = req.base().repo_api(&r.full_name());
    let mut repository = repo_json(shared, req, r);
    if let Some(obj) = repository.as_object_mut() {
        // The combined status embeds a `minimal-repository`.
        obj.retain(|k, _| !matches!(k.as_str(), "permissions" | "allow_auto_merge" | "delete_branch_on_merge"));
    }
    Ok(Reply::ok(json!({
        "state": state,
        "statuses": page.into_iter().map(|s| json::status(req.base(), r, s)).collect::<Vec<_>>(),
        "sha": sha,
        "total_count": total,
        "repository": repository,
        "commit_url": format!("{api}/commits/{sha}"),
        "url": format!("{api}/commits/{sha}/status"),
    })))
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/statuses`: every status, newest first.
pub(crate) fn list_statuses(shared: &Shared, req: &ApiReq, reference: &str) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let sha = git::resolve_commitish(&repo, reference).map(|c| c.to_string()).unwrap_or_default();
    let items = r.statuses.iter().rev().filter(|s| s.sha == sha).map(|s| json::status(req.base(), r, s)).collect();
    Ok(page_reply(req, items))
}

#[derive(serde::Deserialize)]
struct CheckRunBody {
    name: Option<String>,
    head_sha: Option<String>,
    status: Option<String>,
    conclusion: Option<String>,
    details_url: Option<String>,
    external_id: Option<String>,
    started_at: Option<String>,
    completed_at: Option<String>,
    output: Option<Value>,
}

const CONCLUSIONS: [&str; 8] =
    ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"];
const STATUSES: [&str; 6] = ["queued", "in_progress", "completed", "waiting", "requested", "pending"];

fn parse_time(s: Option<&String>) -> Result<Option<time::OffsetDateTime>, ApiError> {
    match s {
        None => Ok(None),
        Some(s) => time::OffsetDateTime::parse(s, &time::format_description::well_known::Iso8601::DEFAULT)
            .map(Some)
            .map_err(|_| ApiError::invalid(&format!("Invalid request.\n\n{s} is not a valid date-time."))),
    }
}

/// Apply `body` to a check run: a conclusion completes it; `completed` needs a conclusion.
fn apply_check(rec: &mut CheckRunRec, body: CheckRunBody) -> Result<(), ApiError> {
    if let Some(status) = &body.status
        && !STATUSES.contains(&status.as_str())
    {
        return Err(ApiError::validation(vec![ApiError::field_error("CheckRun", "status", "invalid")]));
    }
    if let Some(c) = &body.conclusion
        && !CONCLUSIONS.contains(&c.as_str())
    {
        return Err(ApiError::validation(vec![ApiError::field_error("CheckRun", "conclusion", "invalid")]));
    }
    if let Some(name) = body.name {
        rec.name = name;
    }
    if let Some(u) = body.details_url {
        rec.details_url = Some(u);
    }
    if let Some(e) = body.external_id {
        rec.external_id = Some(e);
    }
    if let Some(o) = body.output.filter(Value::is_object) {
        rec.output = o;
    }
    if let Some(t) = parse_time(body.started_at.as_ref())? {
        rec.started_at = t;
    }
    let completed_at = parse_time(body.completed_at.as_ref())?;
    if let Some(status) = body.status {
        rec.status = status;
    }
    if let Some(c) = body.conclusion {
        rec.conclusion = Some(c);
        rec.status = "completed".to_string();
    }
    if rec.status == "completed" {
        if rec.conclusion.is_none() {
            return Err(ApiError::invalid(
                "Invalid request.\n\nNo subschema in \"anyOf\" matched.\n\"conclusion\" wasn't supplied.",
            ));
        }
        rec.completed_at = Some(completed_at.or(rec.completed_at).unwrap_or_else(now));
    }
    Ok(())
}

/// `POST /repos/{owner}/{repo}/check-runs` `{name, head_sha, status, conclusion, ...}`: 201.
pub(crate) fn create_check_run(shared: &Shared, req: &ApiReq) -> ApiResult {
    let body: CheckRunBody = req.json()?;
    let mut st = shared.lock();
    let id = st.next_id();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    let mut missing = Vec::new();
    if body.name.as_deref().is_none_or(str::is_empty) {
        missing.push(ApiError::field_error("CheckRun", "name", "missing_field"));
    }
    if body.head_sha.is_none() {
        missing.push(ApiError::field_error("CheckRun", "head_sha", "missing_field"));
    }
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    let head = body.head_sha.clone().unwrap_or_default();
    let Some(commit) = git::parse_oid(&head).and_then(|id| git::peel_to_commit(&repo, id)) else {
        return Err(ApiError::validation(vec![json!({
            "resource": "CheckRun",
            "code": "invalid",
            "field": "head_sha",
        })]));
    };
    let app_id = match req.ident() {
        Identity::Installation { app_id, .. } => *app_id,
        _ => None,
    };
    let mut rec = CheckRunRec {
        id: 3_000_000_000 + id,
        name: String::new(),
        head_sha: commit.to_string(),
        status: "queued".to_string(),
        conclusion: None,
        details_url: None,
        external_id: None,
        started_at: now(),
        completed_at: None,
        output: json!({}),
        app_id,
    };
    apply_check(&mut rec, body)?;
    r.check_runs.push(rec.clone());
    let v = json::check_run(req.base(), r, &rec);
    Ok(Reply::created_at(v.clone(), v["url"].as_str().unwrap_or_default().to_string()))
}

/// `GET /repos/{owner}/{repo}/check-runs/{id}`.
pub(crate) fn get_check_run(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let id: u64 = req.param("id").parse().map_err(|_| ApiError::not_found())?;
    let rec = r.check_runs.iter().find(|c| c.id == id).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(json::check_run(req.base(), r, rec)))
}

/// `PATCH /repos/{owner}/{repo}/check-runs/{id}`.
pub(crate) fn update_check_run(shared: &Shared, req: &ApiReq) -> ApiResult {
    let body: CheckRunBody = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let id: u64 = req.param("id").parse().map_err(|_| ApiError::not_found())?;
    let i = r.check_runs.iter().position(|c| c.id == id).ok_or_else(ApiError::not_found)?;
    let mut rec = r.check_runs[i].clone();
    apply_check(&mut rec, body)?;
    r.check_runs[i] = rec.clone();
    Ok(Reply::ok(json::check_run(req.base(), r, &rec)))
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`: `check_name`, `status`, and `filter`
/// (`latest`, the default, keeps the newest run per name; `all` keeps every run).
pub(crate) fn check_runs_for_ref(shared: &Shared, req: &ApiReq, reference: &str) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let commit = git::resolve_commitish(&repo, reference)
        .ok_or_else(|| ApiError::invalid(&format!("No commit found for SHA: {reference}")))?;
    let sha = commit.to_string();
    let latest_only = req.query("filter").unwrap_or("latest") != "all";
    let mut runs: Vec<&CheckRunRec> = Vec::new();
    for c in r.check_runs.iter().rev().filter(|c| c.head_sha == sha) {
        if latest_only && runs.iter().any(|x| x.name == c.name) {
            continue;
        }
        runs.push(c);
    }
    runs.retain(|c| req.query("check_name").is_none_or(|n| c.name == n));
    runs.retain(|c| req.query("status").is_none_or(|s| c.status == s));
    let total = runs.len();
    let (page, link) = paginate(req, runs);
    let mut reply = Reply::ok(json!({
        "total_count": total,
        "check_runs": page.into_iter().map(|c| json::check_run(req.base(), r, c)).collect::<Vec<_>>(),
    }));
    if let Some(link) = link {
        reply = reply.header(axum::http::header::LINK, link);
    }
    Ok(reply)
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-suites`: always empty (check suites are not modelled).
pub(crate) fn check_suites_for_ref(shared: &Shared, req: &ApiReq, _reference: &str) -> ApiResult {
    let st = shared.lock();
    find(&st, req)?;
    Ok(Reply::ok(json!({ "total_count": 0, "check_suites": [] })))
}

/// One check on a commit, for branch protection and GraphQL's `statusCheckRollup`: the latest
/// commit status per context and the latest check run per name, each as a `StatusState`
/// (<https://docs.github.com/en/graphql/reference/enums#statusstate>).
pub(crate) struct CheckOutcome {
    pub name: String,
    /// `SUCCESS`, `PENDING`, `FAILURE` or `ERROR`.
    pub state: &'static str,
}

/// The latest commit status per context and check run per name on `sha`. A check run counts as
/// successful when it completed `success`, `neutral` or `skipped` (as required status checks
/// treat them: <https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/collaborating-on-repositories-with-code-quality-features/troubleshooting-required-status-checks>),
/// as failed for any other conclusion, and as pending until it completes.
pub(crate) fn outcomes(r: &crate::state::Repo, sha: &str) -> Vec<CheckOutcome> {
    let mut out: Vec<CheckOutcome> = Vec::new();
    for s in r.statuses.iter().rev().filter(|s| s.sha == sha) {
        if out.iter().any(|o| o.name == s.context) {
            continue;
        }
        let state = match s.state.as_str() {
            "success" => "SUCCESS",
            "pending" => "PENDING",
            "error" => "ERROR",
            _ => "FAILURE",
        };
        out.push(CheckOutcome { name: s.context.clone(), state });
    }
    let statuses = out.len();
    for c in r.check_runs.iter().rev().filter(|c| c.head_sha == sha) {
        if out[statuses..].iter().any(|o| o.name == c.name) {
            continue;
        }
        let state = match (c.status.as_str(), c.conclusion.as_deref()) {
            ("completed", Some("success" | "neutral" | "skipped")) => "SUCCESS",
            ("completed", _) => "FAILURE",
            _ => "PENDING",
        };
        out.push(CheckOutcome { name: c.name.clone(), state });
    }
    out
}

/// GraphQL's `Commit.statusCheckRollup.state` for `sha`
/// (<https://docs.github.com/en/graphql/reference/objects#statuscheckrollup>): `None` (the
/// rollup is `null`) when the commit has no status and no check run; else `ERROR` if a status
/// errored, `FAILURE` if one failed, `PENDING` if one is pending, `EXPECTED` if a status check
/// that branch protection requires has not reported, else `SUCCESS`.
pub(crate) fn rollup(r: &crate::state::Repo, sha: &str, required: &[String]) -> Option<&'static str> {
    let all = outcomes(r, sha);
    if all.is_empty() {
        return None;
    }
    let any = |state: &str| all.iter().any(|o| o.state == state);
    Some(if any("ERROR") {
        "ERROR"
    } else if any("FAILURE") {
        "FAILURE"
    } else if any("PENDING") {
        "PENDING"
    } else if required.iter().any(|name| !all.iter().any(|o| o.name == *name)) {
        "EXPECTED"
    } else {
        "SUCCESS"
    })
}
