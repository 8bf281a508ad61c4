//! Users, repositories, topics, tags, branches and `GET /repos/{owner}/{repo}/commits/{ref}`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::http::{ApiError, ApiReq, ApiResult, Reply, page_reply};
use crate::json;
use crate::state::{Identity, Repo, Shared, State};

/// The repository named by the `{owner}`/`{repo}` parameters, if the caller may see it (private
/// repositories are 404 to anonymous callers, as on GitHub).
pub(crate) fn find<'a>(st: &'a State, req: &ApiReq) -> Result<&'a Repo, ApiError> {
    let r = st.repo(req.param("owner"), req.param("repo")).ok_or_else(ApiError::not_found)?;
    if r.opts.private && !req.ident().is_authenticated() {
        return Err(ApiError::not_found());
    }
    Ok(r)
}

/// [`find`] for a write: the caller must be authenticated and the repository not archived.
pub(crate) fn find_mut<'a>(st: &'a mut State, req: &ApiReq) -> Result<&'a mut Repo, ApiError> {
    find(st, req)?;
    req.require_auth()?;
    let r = st.repo_mut(req.param("owner"), req.param("repo")).ok_or_else(ApiError::not_found)?;
    if r.opts.archived {
        return Err(ApiError::forbidden("Repository was archived so is read-only."));
    }
    Ok(r)
}

pub(crate) fn repo_json(shared: &Shared, req: &ApiReq, r: &Repo) -> Value {
    let kind = json::owner_kind(&r.owner, &shared.config.login);
    json::repo(req.base(), r, kind, req.ident().is_authenticated() && !r.opts.archived)
}

/// `GET /`: the API root.
pub(crate) fn root(_shared: &Shared, req: &ApiReq) -> ApiResult {
    let api = &req.base().api;
    Ok(Reply::ok(json!({
        "current_user_url": format!("{api}/user"),
        "organization_repositories_url": format!("{api}/orgs/{{org}}/repos{{?type,page,per_page,sort}}"),
        "rate_limit_url": format!("{api}/rate_limit"),
        "repository_url": format!("{api}/repos/{{owner}}/{{repo}}"),
        "user_repositories_url": format!("{api}/users/{{user}}/repos{{?type,page,per_page,sort}}"),
    })))
}

/// `GET /user`.
pub(crate) fn user(shared: &Shared, req: &ApiReq) -> ApiResult {
    let login = match req.ident() {
        Identity::User { login, .. } => login.clone(),
        Identity::Anonymous => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Requires authentication")),
        _ => return Err(ApiError::forbidden("Resource not accessible by integration")),
    };
    let st = shared.lock();
    let public_repos = st.repos.values().filter(|r| r.owner.eq_ignore_ascii_case(&login) && !r.opts.private).count();
    let private_repos = st.repos.values().filter(|r| r.owner.eq_ignore_ascii_case(&login) && r.opts.private).count();
    let mut v = json::user(req.base(), &login, "User");
    if let Some(obj) = v.as_object_mut() {
        let created = json::ts(time::macros::datetime!(2020-01-01 0:00 UTC));
        for (k, val) in [
            ("name", json!(login)),
            ("company", Value::Null),
            ("blog", json!("")),
            ("location", Value::Null),
            ("email", Value::Null),
            ("hireable", Value::Null),
            ("bio", Value::Null),
            ("twitter_username", Value::Null),
            ("public_repos", json!(public_repos)),
            ("public_gists", json!(0)),
            ("followers", json!(0)),
            ("following", json!(0)),
            ("created_at", json!(created)),
            ("updated_at", json!(created)),
            ("private_gists", json!(0)),
            ("total_private_repos", json!(private_repos)),
            ("owned_private_repos", json!(private_repos)),
            ("disk_usage", json!(0)),
            ("collaborators", json!(0)),
            ("two_factor_authentication", json!(true)),
        ] {
            obj.insert(k.to_string(), val);
        }
    }
    Ok(Reply::ok(v))
}

fn sort_repos(req: &ApiReq, repos: &mut Vec<&Repo>, default_sort: &str) {
    let sort = req.query("sort").unwrap_or(default_sort);
    let default_dir = if sort == "full_name" { "asc" } else { "desc" };
    let asc = req.query("direction").unwrap_or(default_dir) == "asc";
    match sort {
        "full_name" => repos.sort_by_key(|r| r.full_name().to_lowercase()),
        "updated" => repos.sort_by_key(|r| (r.updated_at, r.id)),
        "pushed" => repos.sort_by_key(|r| (r.pushed_at, r.id)),
        _ => repos.sort_by_key(|r| (r.created_at, r.id)),
    }
    if !asc {
        repos.reverse();
    }
}

/// `GET /orgs/{org}/repos`: `type` all|public|private|forks|sources|member, `sort`, `direction`.
pub(crate) fn org_repos(shared: &Shared, req: &ApiReq) -> ApiResult {
    let org = req.param("org");
    let st = shared.lock();
    if !st.owner_exists(org) || org.eq_ignore_ascii_case(&shared.config.login) {
        return Err(ApiError::not_found());
    }
    let kind = req.query("type").unwrap_or("all");
    let mut repos: Vec<&Repo> = st
        .repos
        .values()
        .filter(|r| r.owner.eq_ignore_ascii_case(org))
        .filter(|r| !r.opts.private || req.ident().is_authenticated())
        .filter(|r| req.ident().allows_repo(&r.name))
        .filter(|r| match kind {
            "public" => !r.opts.private,
            "private" => r.opts.private,
            "forks" => r.opts.fork,
            "sources" => !r.opts.fork,
            _ => true,
        })
        .collect();
    sort_repos(req, &mut repos, "created");
    let items = repos.into_iter().map(|r| repo_json(shared, req, r)).collect();
    Ok(page_reply(req, items))
}

/// `GET /users/{user}/repos`: `type` owner|all|member, `sort` (default `full_name`), `direction`.
pub(crate) fn user_repos(shared: &Shared, req: &ApiReq) -> ApiResult {
    let user = req.param("user");
    let st = shared.lock();
    if !st.owner_exists(user) && !user.eq_ignore_ascii_case(&shared.config.login) {
        return Err(ApiError::not_found());
    }
    let mut repos: Vec<&Repo> = st
        .repos
        .values()
        .filter(|r| r.owner.eq_ignore_ascii_case(user))
        .filter(|r| !r.opts.private || req.ident().is_authenticated())
        .filter(|r| req.ident().allows_repo(&r.name))
        .collect();
    sort_repos(req, &mut repos, "full_name");
    let items = repos.into_iter().map(|r| repo_json(shared, req, r)).collect();
    Ok(page_reply(req, items))
}

/// `GET /repos/{owner}/{repo}`.
pub(crate) fn get_repo(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    Ok(Reply::ok(repo_json(shared, req, r)))
}

/// `PATCH /repos/{owner}/{repo}` ("Update a repository"): of its fields, this server takes
/// `default_branch` (which must name an existing branch, else 422 `invalid`) and `description`.
/// Changing the default branch does not retarget open pull requests (GitHub does that only when a
/// branch is *renamed*).
pub(crate) fn update_repo(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        default_branch: Option<String>,
        description: Option<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    if let Some(branch) = body.default_branch {
        set_default_branch(r, &branch).map_err(|_| {
            ApiError::validation(vec![ApiError::field_error("Repository", "default_branch", "invalid")])
        })?;
    }
    if let Some(d) = body.description {
        r.opts.description = Some(d);
    }
    r.updated_at = crate::state::now();
    let r = &*r;
    Ok(Reply::ok(repo_json(shared, req, r)))
}

/// Make `branch` (which must exist) the default branch of `r`: the setting and the bare
/// repository's `HEAD`, which clones follow.
pub(crate) fn set_default_branch(r: &mut Repo, branch: &str) -> Result<(), String> {
    let repo = r.repo();
    if crate::git::ref_target(&repo, &format!("refs/heads/{branch}")).is_none() {
        return Err(format!("no branch {branch}"));
    }
    std::fs::write(repo.git_dir().join("HEAD"), format!("ref: refs/heads/{branch}\n"))
        .map_err(|e| format!("writing HEAD: {e}"))?;
    r.opts.default_branch = branch.to_string();
    Ok(())
}

/// `GET /repos/{owner}/{repo}/topics`.
pub(crate) fn get_topics(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    Ok(Reply::ok(json!({ "names": r.opts.topics })))
}

/// `PUT /repos/{owner}/{repo}/topics` `{names}`: replaces all topics.
pub(crate) fn put_topics(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        names: Vec<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let valid = |t: &str| {
        !t.is_empty()
            && t.len() <= 50
            && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !t.starts_with('-')
    };
    if let Some(bad) = body.names.iter().find(|t| !valid(&t.to_lowercase())) {
        return Err(ApiError::validation(vec![json!({
            "resource": "Repository",
            "field": "topics",
            "code": "invalid",
            "message": format!("{bad} is not a valid topic. Topics must start with a lowercase letter or number, consist of 50 characters or less, and can include hyphens."),
        })]));
    }
    r.opts.topics = body.names.iter().map(|t| t.to_lowercase()).collect();
    r.updated_at = crate::state::now();
    Ok(Reply::ok(json!({ "names": r.opts.topics })))
}

/// `GET /repos/{owner}/{repo}/tags`: newest names first.
pub(crate) fn tags(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let api = req.base().repo_api(&r.full_name());
    let mut refs = crate::git::list_refs(&repo, "refs/tags/")?;
    refs.sort_by_key(|r| std::cmp::Reverse(version_key(&r.0)));
    let items = refs
        .into_iter()
        .filter_map(|(name, target)| {
            let commit = crate::git::peel_to_commit(&repo, target)?;
            let tag = name.trim_start_matches("refs/tags/").to_string();
            Some(json!({
                "name": tag,
                "commit": { "sha": commit.to_string(), "url": format!("{api}/commits/{commit}") },
                "zipball_url": format!("{api}/zipball/refs/tags/{}", json::form_path(&tag)),
                "tarball_url": format!("{api}/tarball/refs/tags/{}", json::form_path(&tag)),
                "node_id": format!("REF_{}", json::account_id(&format!("{}:{name}", r.id))),
            }))
        })
        .collect();
    Ok(page_reply(req, items))
}

/// Sort key that orders `v1.10.0` after `v1.9.0`.
fn version_key(name: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut digits = String::new();
    let mut text = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            if !text.is_empty() {
                out.push((0, std::mem::take(&mut text)));
            }
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((digits.parse().unwrap_or(u64::MAX), String::new()));
                digits.clear();
            }
            text.push(c);
        }
    }
    if !digits.is_empty() {
        out.push((digits.parse().unwrap_or(u64::MAX), String::new()));
    }
    if !text.is_empty() {
        out.push((0, text));
    }
    out
}

/// `GET /repos/{owner}/{repo}/branches`.
pub(crate) fn branches(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let api = req.base().repo_api(&r.full_name());
    let items = crate::git::list_refs(&repo, "refs/heads/")?
        .into_iter()
        .map(|(name, target)| {
            json!({
                "name": name.trim_start_matches("refs/heads/"),
                "commit": { "sha": target.to_string(), "url": format!("{api}/commits/{target}") },
                "protected": false,
            })
        })
        .collect();
    Ok(page_reply(req, items))
}

/// `GET /repos/{owner}/{repo}/branches/{branch}` (branch names may contain `/`).
pub(crate) fn get_branch(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let branch = req.param("branch");
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "Branch not found");
    let target = crate::git::ref_target(&repo, &format!("refs/heads/{branch}")).ok_or_else(not_found)?;
    let info = crate::git::commit_info(&repo, target).ok_or_else(not_found)?;
    let api = req.base().repo_api(&r.full_name());
    let web = req.base().repo_web(&r.full_name());
    let path = json::form_path(branch);
    Ok(Reply::ok(json!({
        "name": branch,
        "commit": json::repo_commit(req.base(), r, &info),
        "_links": {
            "self": format!("{api}/branches/{path}"),
            "html": format!("{web}/tree/{branch}"),
        },
        "protected": false,
        "protection": {
            "enabled": false,
            "required_status_checks": { "enforcement_level": "off", "contexts": [], "checks": [] },
        },
        "protection_url": format!("{api}/branches/{path}/protection"),
    })))
}

/// `GET /repos/{owner}/{repo}/commits/{ref}` and its sub-resources `/status`, `/statuses`,
/// `/check-runs` and `/check-suites` (one catch-all route because refs may contain `/`).
pub(crate) fn commits_dispatch(shared: &Shared, req: &ApiReq) -> ApiResult {
    let full = req.param("ref");
    for (suffix, f) in [
        ("/status", crate::checks::combined_status as fn(&Shared, &ApiReq, &str) -> ApiResult),
        ("/statuses", crate::checks::list_statuses),
        ("/check-runs", crate::checks::check_runs_for_ref),
        ("/check-suites", crate::checks::check_suites_for_ref),
    ] {
        if let Some(reference) = full.strip_suffix(suffix)
            && !reference.is_empty()
        {
            return f(shared, req, reference);
        }
    }
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    crate::git_data::require_not_empty(&repo)?;
    let id = crate::git::resolve_commitish(&repo, full)
        .ok_or_else(|| ApiError::invalid(&format!("No commit found for SHA: {full}")))?;
    let info = crate::git::commit_info(&repo, id).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(json::repo_commit(req.base(), r, &info)))
}
