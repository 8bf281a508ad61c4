//! Workflow runs, seeded by tests with [`crate::TestServer::seed_workflow_runs`].

use serde_json::{Map, Value, json};

use crate::http::{ApiError, ApiReq, ApiResult, Reply, paginate};
use crate::json;
use crate::repos::find;
use crate::state::{Repo, Shared, now};

/// Complete a seeded run with what GitHub always sends (and octocrab's `Run` requires).
pub(crate) fn fill_run(base: &crate::http::Base, r: &Repo, run: Value, default_id: u64) -> Value {
    let mut obj = match run {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    let api = base.repo_api(&r.full_name());
    let web = base.repo_web(&r.full_name());
    let id = obj.get("id").and_then(Value::as_u64).unwrap_or(default_id);
    let created = json::ts(now());
    let head_sha = crate::git::ref_target(&r.repo(), &format!("refs/heads/{}", r.opts.default_branch))
        .map(|id| id.to_string())
        .unwrap_or_else(|| "0".repeat(40));
    let mut defaults = vec![
        ("id", json!(id)),
        ("name", json!("CI")),
        ("node_id", json!(format!("WFR_{id}"))),
        ("head_branch", json!(r.opts.default_branch)),
        ("head_sha", json!(head_sha)),
        ("path", json!(".github/workflows/ci.yml")),
        ("display_title", json!("CI")),
        ("run_number", json!(id % 100_000)),
        ("run_attempt", json!(1)),
        ("event", json!("push")),
        ("status", json!("completed")),
        ("conclusion", json!("success")),
        ("workflow_id", json!(1)),
        ("check_suite_id", json!(id + 7_000_000)),
        ("check_suite_node_id", json!(format!("CS_{id}"))),
        ("url", json!(format!("{api}/actions/runs/{id}"))),
        ("html_url", json!(format!("{web}/actions/runs/{id}"))),
        ("pull_requests", json!([])),
        ("created_at", json!(created)),
        ("updated_at", json!(created)),
        ("actor", json::person(base, "test-user")),
        ("triggering_actor", json::person(base, "test-user")),
        ("run_started_at", json!(created)),
        ("jobs_url", json!(format!("{api}/actions/runs/{id}/jobs"))),
        ("logs_url", json!(format!("{api}/actions/runs/{id}/logs"))),
        ("check_suite_url", json!(format!("{api}/check-suites/{}", id + 7_000_000))),
        ("artifacts_url", json!(format!("{api}/actions/runs/{id}/artifacts"))),
        ("cancel_url", json!(format!("{api}/actions/runs/{id}/cancel"))),
        ("rerun_url", json!(format!("{api}/actions/runs/{id}/rerun"))),
        ("previous_attempt_url", Value::Null),
        ("workflow_url", json!(format!("{api}/actions/workflows/1"))),
    ];
    let sha = obj.get("head_sha").cloned().unwrap_or_else(|| defaults[4].1.clone());
    let updated = obj.get("updated_at").cloned().unwrap_or_else(|| json!(created));
    defaults.push((
        "head_commit",
        json!({
            "id": sha,
            "tree_id": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
            "message": "commit",
            "timestamp": updated,
            "author": { "name": "Test Developer", "email": "developer@example.com" },
            "committer": { "name": "Test Developer", "email": "developer@example.com" },
        }),
    ));
    let mut minimal = json::repo(base, r, "Organization", true);
    if let Some(m) = minimal.as_object_mut() {
        m.retain(|k, _| !matches!(k.as_str(), "permissions"));
    }
    defaults.push(("repository", minimal.clone()));
    defaults.push(("head_repository", minimal));
    for (k, v) in defaults {
        obj.entry(k.to_string()).or_insert(v);
    }
    Value::Object(obj)
}

/// `GET /repos/{owner}/{repo}/actions/runs`: `branch`, `event`, `status` (a status or a
/// conclusion), `head_sha`, `actor`, paginated; `{total_count, workflow_runs}`.
pub(crate) fn list_runs(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    reply_runs(req, r.workflow_runs.iter())
}

/// `GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs`: the runs of one workflow,
/// named as on GitHub by its numeric id (a run's `workflow_id`) or its file name (`ci.yml`, the
/// last segment of a run's `path`), with the filters and shape of [`list_runs`]. A workflow
/// that no seeded run names and whose file is not under `.github/workflows/` on the default
/// branch is a 404, as GitHub answers for an unknown workflow.
pub(crate) fn list_workflow_runs(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let id = req.param("workflow_id");
    let numeric = id.parse::<u64>().ok();
    let of_workflow = |run: &&Value| match numeric {
        Some(n) => run.get("workflow_id").and_then(Value::as_u64) == Some(n),
        None => run
            .get("path")
            .and_then(Value::as_str)
            .is_some_and(|p| p.split('@').next().unwrap_or(p).rsplit('/').next() == Some(id)),
    };
    let runs: Vec<&Value> = r.workflow_runs.iter().filter(of_workflow).collect();
    if runs.is_empty() && (numeric.is_some() || !workflow_file_exists(r, id)) {
        return Err(ApiError::not_found());
    }
    reply_runs(req, runs.into_iter())
}

fn workflow_file_exists(r: &Repo, file: &str) -> bool {
    let repo = r.repo();
    let Some(head) = crate::git::ref_target(&repo, &format!("refs/heads/{}", r.opts.default_branch)) else {
        return false;
    };
    crate::git::commit_tree(&repo, head)
        .is_ok_and(|tree| crate::git_data::path_exists(&repo, tree, &format!(".github/workflows/{file}")))
}

fn reply_runs<'a>(req: &ApiReq, runs: impl Iterator<Item = &'a Value>) -> ApiResult {
    let field = |run: &Value, k: &str| run.get(k).and_then(Value::as_str).map(str::to_string);
    let runs: Vec<Value> = runs
        .filter(|run| req.query("branch").is_none_or(|b| field(run, "head_branch").as_deref() == Some(b)))
        .filter(|run| req.query("event").is_none_or(|e| field(run, "event").as_deref() == Some(e)))
        .filter(|run| req.query("head_sha").is_none_or(|s| field(run, "head_sha").as_deref() == Some(s)))
        .filter(|run| req.query("actor").is_none_or(|a| run.pointer("/actor/login").and_then(Value::as_str) == Some(a)))
        .filter(|run| {
            req.query("status").is_none_or(|s| {
                field(run, "status").as_deref() == Some(s) || field(run, "conclusion").as_deref() == Some(s)
            })
        })
        .cloned()
        .collect();
    let total = runs.len();
    let (page, link) = paginate(req, runs);
    let mut reply = Reply::ok(json!({ "total_count": total, "workflow_runs": page }));
    if let Some(link) = link {
        reply = reply.header(axum::http::header::LINK, link);
    }
    Ok(reply)
}
