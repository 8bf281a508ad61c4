//! Pull requests (with real merges), their issue-side labels, assignees and comments, and the
//! GraphQL auto-merge mutations.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use gix::ObjectId;
use gix::refs::transaction::PreviousValue;
use serde_json::{Value, json};

use crate::git;
use crate::http::{ApiError, ApiReq, ApiResult, Reply, number_param, page_reply};
use crate::json;
use crate::repos::{find, find_mut};
use crate::state::{AutoMergeRec, CommentRec, LabelRec, Pull, Repo, Shared, now};

/// Bring open pull requests up to date with their branches: the head follows pushes, and a pull
/// request whose head branch was deleted is closed, as GitHub does.
pub(crate) fn refresh(r: &mut Repo) {
    let repo = r.repo();
    let t = now();
    for p in r.pulls.iter_mut().filter(|p| p.open) {
        match git::ref_target(&repo, &format!("refs/heads/{}", p.head_ref))
            .and_then(|id| git::peel_to_commit(&repo, id))
        {
            Some(id) => {
                let sha = id.to_string();
                if sha != p.head_sha {
                    p.head_sha = sha;
                    p.updated_at = t;
                }
            }
            None => {
                p.open = false;
                p.closed_at = Some(t);
                p.updated_at = t;
                p.base_sha_closed =
                    git::ref_target(&repo, &format!("refs/heads/{}", p.base_ref)).map(|id| id.to_string());
            }
        }
    }
}

fn branch_tip(repo: &gix::Repository, branch: &str) -> Option<ObjectId> {
    git::ref_target(repo, &format!("refs/heads/{branch}")).and_then(|id| git::peel_to_commit(repo, id))
}

/// Whether the pull request merges cleanly (a trial merge in memory); `None` when unknown.
pub(crate) fn mergeable(r: &Repo, p: &Pull) -> Option<bool> {
    let repo = r.repo().with_object_memory();
    let base = branch_tip(&repo, &p.base_ref)?;
    let head = git::parse_oid(&p.head_sha)?;
    git::merge_commit_trees(&repo, base, head).ok().map(|t| t.is_some())
}

/// Number of commits and of changed files of a pull request.
pub(crate) fn diff_stats(r: &Repo, p: &Pull) -> (usize, usize) {
    let repo = r.repo();
    let base = p.base_sha_closed.as_deref().and_then(git::parse_oid).or_else(|| branch_tip(&repo, &p.base_ref));
    let (Some(base), Some(head)) = (base, git::parse_oid(&p.head_sha)) else { return (0, 0) };
    let commits = git::commits_between(&repo, base, head).map(|c| c.len()).unwrap_or(0);
    let Ok(Some(merge_base)) = repo.merge_base(base, head).map(|b| b.map(|b| b.detach())) else {
        return (commits, 0);
    };
    let files = |commit: ObjectId| -> BTreeMap<String, ObjectId> {
        git::commit_tree(&repo, commit)
            .and_then(|t| git::tree_entries(&repo, t, true))
            .map(|entries| {
                entries
                    .into_iter()
                    .filter(|e| e.kind != gix::objs::tree::EntryKind::Tree)
                    .map(|e| (e.path, e.id))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (old, new) = (files(merge_base), files(head));
    let changed = old.iter().filter(|(path, id)| new.get(*path) != Some(id)).count()
        + new.keys().filter(|path| !old.contains_key(*path)).count();
    (commits, changed)
}

/// `owner:branch` or `branch` → the branch, if the owner is this repository's.
fn head_branch<'a>(r: &Repo, head: &'a str) -> Option<&'a str> {
    match head.split_once(':') {
        Some((owner, branch)) if owner.eq_ignore_ascii_case(&r.owner) => Some(branch),
        Some(_) => None,
        None => Some(head),
    }
}

fn pull_of<'a>(r: &'a Repo, req: &ApiReq) -> Result<&'a Pull, ApiError> {
    r.pull(number_param(req, "number")?).ok_or_else(ApiError::not_found)
}

/// `GET /repos/{owner}/{repo}/pulls`: `state`, `head` (`owner:branch`), `base`, `sort`, `direction`.
pub(crate) fn list(shared: &Shared, req: &ApiReq) -> ApiResult {
    let mut st = shared.lock();
    find(&st, req)?;
    let Some(r) = st.repo_mut(req.param("owner"), req.param("repo")) else { return Err(ApiError::not_found()) };
    refresh(r);
    let r = &*r;
    let state = req.query("state").unwrap_or("open");
    let head = req.query("head").map(|h| match h.split_once(':') {
        Some((owner, branch)) => (Some(owner.to_lowercase()), branch.to_string()),
        None => (None, h.to_string()),
    });
    let mut pulls: Vec<&Pull> = r
        .pulls
        .iter()
        .filter(|p| match state {
            "closed" => !p.open,
            "all" => true,
            _ => p.open,
        })
        .filter(|p| match &head {
            Some((Some(owner), branch)) => *owner == r.owner.to_lowercase() && p.head_ref == *branch,
            Some((None, branch)) => p.head_ref == *branch,
            None => true,
        })
        .filter(|p| req.query("base").is_none_or(|b| p.base_ref == b))
        .collect();
    let sort = req.query("sort").unwrap_or("created");
    match sort {
        "updated" => pulls.sort_by_key(|p| (p.updated_at, p.number)),
        "long-running" => pulls.sort_by_key(|p| (std::cmp::Reverse(p.created_at), p.number)),
        _ => pulls.sort_by_key(|p| (p.created_at, p.number)),
    }
    let default_dir = if sort == "created" { "desc" } else { "asc" };
    if req.query("direction").unwrap_or(default_dir) == "desc" {
        pulls.reverse();
    }
    let items = pulls.into_iter().map(|p| json::pull(req.base(), r, p, false)).collect();
    Ok(page_reply(req, items))
}

/// `POST /repos/{owner}/{repo}/pulls` `{title, head, base, body, draft}`.
pub(crate) fn create(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        title: Option<String>,
        head: Option<String>,
        base: Option<String>,
        body: Option<String>,
        #[serde(default)]
        draft: bool,
        maintainer_can_modify: Option<bool>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let id = st.next_id();
    let r = find_mut(&mut st, req)?;
    refresh(r);
    let missing: Vec<Value> = [("title", &body.title), ("head", &body.head), ("base", &body.base)]
        .iter()
        .filter(|(_, v)| v.as_deref().is_none_or(str::is_empty))
        .map(|(f, _)| ApiError::field_error("PullRequest", f, "missing_field"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    let (title, head, base) =
        (body.title.unwrap_or_default(), body.head.unwrap_or_default(), body.base.unwrap_or_default());
    let repo = r.repo();
    let mut errors = Vec::new();
    let base_tip = branch_tip(&repo, &base);
    if base_tip.is_none() {
        errors.push(ApiError::field_error("PullRequest", "base", "invalid"));
    }
    let head_ref = head_branch(r, &head).map(str::to_string);
    let head_tip = head_ref.as_deref().and_then(|h| branch_tip(&repo, h));
    if head_tip.is_none() {
        errors.push(ApiError::field_error("PullRequest", "head", "invalid"));
    }
    let (Some(base_tip), Some(head_tip), Some(head_ref)) = (base_tip, head_tip, head_ref) else {
        return Err(ApiError::validation(errors));
    };
    if r.pulls.iter().any(|p| p.open && p.head_ref == head_ref && p.base_ref == base) {
        return Err(ApiError::validation(vec![ApiError::custom_error(
            "PullRequest",
            &format!("A pull request already exists for {}:{head_ref}.", r.owner),
        )]));
    }
    if git::commits_between(&repo, base_tip, head_tip)?.is_empty() {
        return Err(ApiError::validation(vec![ApiError::custom_error(
            "PullRequest",
            &format!("No commits between {base} and {head_ref}"),
        )]));
    }
    let t = now();
    let number = r.pulls.len() as u64 + 1;
    r.pulls.push(Pull {
        id: 500_000_000 + id,
        number,
        title,
        body: body.body,
        open: true,
        draft: body.draft,
        user: req.ident().login(),
        head_ref,
        head_sha: head_tip.to_string(),
        base_ref: base,
        base_sha_closed: None,
        created_at: t,
        updated_at: t,
        closed_at: None,
        merged_at: None,
        merge_commit_sha: None,
        merged_by: None,
        labels: Vec::new(),
        requested_reviewers: Vec::new(),
        requested_teams: Vec::new(),
        assignees: Vec::new(),
        auto_merge: None,
        maintainer_can_modify: body.maintainer_can_modify.unwrap_or(true),
    });
    let r = &*r;
    let p = r.pull(number).ok_or_else(|| ApiError::internal("pull request vanished"))?;
    let v = json::pull(req.base(), r, p, true);
    let location = v["url"].as_str().unwrap_or_default().to_string();
    Ok(Reply::created_at(v, location))
}

/// `GET /repos/{owner}/{repo}/pulls/{number}`.
pub(crate) fn get(shared: &Shared, req: &ApiReq) -> ApiResult {
    let mut st = shared.lock();
    find(&st, req)?;
    let Some(r) = st.repo_mut(req.param("owner"), req.param("repo")) else { return Err(ApiError::not_found()) };
    refresh(r);
    let r = &*r;
    Ok(Reply::ok(json::pull(req.base(), r, pull_of(r, req)?, true)))
}

/// `PATCH /repos/{owner}/{repo}/pulls/{number}` `{title, body, state, base, maintainer_can_modify}`.
pub(crate) fn update(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        title: Option<String>,
        body: Option<String>,
        state: Option<String>,
        base: Option<String>,
        maintainer_can_modify: Option<bool>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    refresh(r);
    let number = number_param(req, "number")?;
    let repo = r.repo();
    let p = r.pull(number).ok_or_else(ApiError::not_found)?.clone();
    let t = now();
    let mut updated = p.clone();
    if let Some(title) = body.title {
        updated.title = title;
    }
    if let Some(text) = body.body {
        updated.body = Some(text);
    }
    if let Some(m) = body.maintainer_can_modify {
        updated.maintainer_can_modify = m;
    }
    if let Some(base) = body.base.filter(|b| *b != p.base_ref) {
        if !p.open {
            return Err(ApiError::validation(vec![ApiError::custom_error(
                "PullRequest",
                "Cannot change the base branch of a closed pull request.",
            )]));
        }
        if branch_tip(&repo, &base).is_none() {
            return Err(ApiError::validation(vec![ApiError::field_error("PullRequest", "base", "invalid")]));
        }
        updated.base_ref = base;
    }
    match body.state.as_deref() {
        None => {}
        Some("closed") if p.open => {
            updated.open = false;
            updated.closed_at = Some(t);
            updated.base_sha_closed = branch_tip(&repo, &p.base_ref).map(|id| id.to_string());
        }
        Some("open") if !p.open => {
            if p.merged_at.is_some() {
                return Err(ApiError::validation(vec![ApiError::custom_error(
                    "PullRequest",
                    "state cannot be changed. The pull request has been merged.",
                )]));
            }
            let Some(head) = branch_tip(&repo, &p.head_ref) else {
                return Err(ApiError::validation(vec![ApiError::custom_error(
                    "PullRequest",
                    &format!("state cannot be changed. The {} branch has been deleted.", p.head_ref),
                )]));
            };
            if r.pulls
                .iter()
                .any(|o| o.open && o.number != number && o.head_ref == p.head_ref && o.base_ref == updated.base_ref)
            {
                return Err(ApiError::validation(vec![ApiError::custom_error(
                    "PullRequest",
                    &format!("A pull request already exists for {}:{}.", r.owner, p.head_ref),
                )]));
            }
            updated.open = true;
            updated.closed_at = None;
            updated.base_sha_closed = None;
            updated.head_sha = head.to_string();
        }
        Some("open" | "closed") => {}
        Some(_) => return Err(ApiError::validation(vec![ApiError::field_error("PullRequest", "state", "invalid")])),
    }
    updated.updated_at = t;
    if let Some(slot) = r.pull_mut(number) {
        *slot = updated;
    }
    let r = &*r;
    Ok(Reply::ok(json::pull(req.base(), r, pull_of(r, req)?, true)))
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/merge`: 204 when merged, else 404.
pub(crate) fn merge_status(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let p = pull_of(r, req)?;
    if p.merged_at.is_some() { Ok(Reply::no_content()) } else { Err(ApiError::not_found()) }
}

fn not_mergeable() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Pull Request is not mergeable")
}

/// `PUT /repos/{owner}/{repo}/pulls/{number}/merge` `{merge_method, sha?, commit_title?, commit_message?}`:
/// a real merge commit, squash or rebase in the bare repository, then a fast-forward of the base.
pub(crate) fn merge(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        commit_title: Option<String>,
        commit_message: Option<String>,
        sha: Option<String>,
        merge_method: Option<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    refresh(r);
    let number = number_param(req, "number")?;
    let p = r.pull(number).ok_or_else(ApiError::not_found)?.clone();
    let method = body.merge_method.as_deref().unwrap_or("merge");
    if !matches!(method, "merge" | "squash" | "rebase") {
        return Err(ApiError::validation(vec![ApiError::field_error("PullRequest", "merge_method", "invalid")]));
    }
    if !p.open || p.merged_at.is_some() {
        return Err(not_mergeable());
    }
    if p.draft {
        return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Pull Request is still a draft"));
    }
    if body.sha.as_deref().is_some_and(|sha| sha != p.head_sha) {
        return Err(ApiError::new(StatusCode::CONFLICT, "Head branch was modified. Review and try the merge again."));
    }
    let repo = r.repo();
    let base = branch_tip(&repo, &p.base_ref).ok_or_else(not_mergeable)?;
    let head = git::parse_oid(&p.head_sha).ok_or_else(not_mergeable)?;
    let merger = req.ident().login();
    let merger_sig = git::signature(
        &merger,
        &format!("{}+{merger}@users.noreply.github.com", json::account_id(&merger)),
        gix::date::Time::now_utc(),
    );
    let committer = git::web_flow();
    let mut new_commits = Vec::new();
    let new_head = match method {
        "merge" => {
            let tree = git::merge_commit_trees(&repo, base, head)?.ok_or_else(not_mergeable)?;
            let title = body
                .commit_title
                .unwrap_or_else(|| format!("Merge pull request #{} from {}/{}", p.number, r.owner, p.head_ref));
            let text = body.commit_message.unwrap_or_else(|| p.title.clone());
            let message = if text.is_empty() { title } else { format!("{title}\n\n{text}") };
            let id = git::write_commit(&repo, tree, &[base, head], &merger_sig, &committer, &message)?;
            new_commits.push(id);
            id
        }
        "squash" => {
            let tree = git::merge_commit_trees(&repo, base, head)?.ok_or_else(not_mergeable)?;
            let title = body.commit_title.unwrap_or_else(|| format!("{} (#{})", p.title, p.number));
            let text = body.commit_message.unwrap_or_else(|| {
                let mut commits = git::commits_between(&repo, base, head).unwrap_or_default();
                commits.reverse();
                commits
                    .iter()
                    .filter_map(|c| git::commit_info(&repo, *c))
                    .map(|c| format!("* {}", c.message.trim_end()))
                    .collect::<Vec<_>>()
                    .join("\n\n")
            });
            let message = if text.is_empty() { title } else { format!("{title}\n\n{text}") };
            let author = git::signature(
                &p.user,
                &format!("{}+{}@users.noreply.github.com", json::account_id(&p.user), p.user),
                gix::date::Time::now_utc(),
            );
            let id = git::write_commit(&repo, tree, &[base], &author, &committer, &message)?;
            new_commits.push(id);
            id
        }
        _ => {
            // Replay the pull request's commits (first-parent chain, oldest first) onto the base.
            let merge_base = repo
                .merge_base(base, head)
                .map_err(|e| ApiError::internal(&format!("merge base: {e}")))?
                .map(|b| b.detach())
                .ok_or_else(not_mergeable)?;
            let mut chain = Vec::new();
            let mut cursor = head;
            while cursor != merge_base && !git::is_ancestor(&repo, cursor, base) {
                let info = git::commit_info(&repo, cursor).ok_or_else(not_mergeable)?;
                let parent = info.parents.first().copied().ok_or_else(not_mergeable)?;
                chain.push(info);
                cursor = parent;
            }
            let mut onto = base;
            for info in chain.into_iter().rev() {
                let parent = info.parents.first().copied().ok_or_else(not_mergeable)?;
                let tree = git::merge_trees(
                    &repo,
                    git::commit_tree(&repo, parent)?,
                    git::commit_tree(&repo, onto)?,
                    info.tree,
                )?
                .ok_or_else(not_mergeable)?;
                let author =
                    git::signature(&info.author.name, &info.author.email, gix::date::Time::new(info.author.seconds, 0));
                onto = git::write_commit(&repo, tree, &[onto], &author, &committer, &info.message)?;
                new_commits.push(onto);
            }
            onto
        }
    };
    git::set_ref(
        &repo,
        &format!("refs/heads/{}", p.base_ref),
        new_head,
        Some(PreviousValue::MustExistAndMatch(gix::refs::Target::Object(base))),
    )
    .map_err(|_| {
        ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Base branch was modified. Review and try the merge again.")
    })?;
    for c in &new_commits {
        r.verified.insert(c.to_string());
    }
    let t = now();
    r.pushed_at = t;
    if let Some(slot) = r.pull_mut(number) {
        slot.open = false;
        slot.merged_at = Some(t);
        slot.closed_at = Some(t);
        slot.updated_at = t;
        slot.merge_commit_sha = Some(new_head.to_string());
        slot.merged_by = Some(merger);
        slot.base_sha_closed = Some(base.to_string());
    }
    Ok(Reply::ok(json!({
        "sha": new_head.to_string(),
        "merged": true,
        "message": "Pull Request successfully merged",
    })))
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/commits`: oldest first.
pub(crate) fn commits(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let p = pull_of(r, req)?;
    let repo = r.repo();
    let base = p.base_sha_closed.as_deref().and_then(git::parse_oid).or_else(|| branch_tip(&repo, &p.base_ref));
    let head = git::parse_oid(&p.head_sha).ok_or_else(ApiError::not_found)?;
    let mut ids = match base {
        Some(base) => git::commits_between(&repo, base, head)?,
        None => vec![head],
    };
    ids.reverse();
    let items = ids
        .into_iter()
        .filter_map(|id| git::commit_info(&repo, id))
        .map(|c| json::repo_commit(req.base(), r, &c))
        .collect();
    Ok(page_reply(req, items))
}

#[derive(serde::Deserialize, Default)]
struct ReviewersBody {
    #[serde(default)]
    reviewers: Vec<String>,
    #[serde(default)]
    team_reviewers: Vec<String>,
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/requested_reviewers`.
pub(crate) fn get_reviewers(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let p = pull_of(r, req)?;
    Ok(Reply::ok(json!({
        "users": p.requested_reviewers.iter().map(|u| json::person(req.base(), u)).collect::<Vec<_>>(),
        "teams": p.requested_teams.iter().map(|t| json::team(req.base(), &r.owner, t)).collect::<Vec<_>>(),
    })))
}

/// `POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers` `{reviewers, team_reviewers}`: 201.
pub(crate) fn request_reviewers(shared: &Shared, req: &ApiReq) -> ApiResult {
    let body: ReviewersBody = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let number = number_param(req, "number")?;
    let p = r.pull_mut(number).ok_or_else(ApiError::not_found)?;
    if body.reviewers.iter().any(|u| u.eq_ignore_ascii_case(&p.user)) {
        return Err(ApiError::invalid("Review cannot be requested from pull request author."));
    }
    for u in body.reviewers {
        if !p.requested_reviewers.iter().any(|x| x.eq_ignore_ascii_case(&u)) {
            p.requested_reviewers.push(u);
        }
    }
    for t in body.team_reviewers {
        if !p.requested_teams.iter().any(|x| x.eq_ignore_ascii_case(&t)) {
            p.requested_teams.push(t);
        }
    }
    p.updated_at = now();
    let r = &*r;
    Ok(Reply::created(json::pull(req.base(), r, pull_of(r, req)?, false)))
}

/// `DELETE /repos/{owner}/{repo}/pulls/{number}/requested_reviewers` `{reviewers, team_reviewers}`.
pub(crate) fn remove_reviewers(shared: &Shared, req: &ApiReq) -> ApiResult {
    let body: ReviewersBody = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let number = number_param(req, "number")?;
    let p = r.pull_mut(number).ok_or_else(ApiError::not_found)?;
    p.requested_reviewers.retain(|u| !body.reviewers.iter().any(|x| x.eq_ignore_ascii_case(u)));
    p.requested_teams.retain(|t| !body.team_reviewers.iter().any(|x| x.eq_ignore_ascii_case(t)));
    p.updated_at = now();
    let r = &*r;
    Ok(Reply::ok(json::pull(req.base(), r, pull_of(r, req)?, false)))
}

/// `GET /repos/{owner}/{repo}/issues/{number}` (pull requests only: this server has no plain issues).
pub(crate) fn get_issue(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    Ok(Reply::ok(json::issue(req.base(), r, pull_of(r, req)?)))
}

/// Label names from `{labels: [..]}`, `[..]`, or `{labels: [{name}]}`.
fn label_names(req: &ApiReq) -> Result<Vec<String>, ApiError> {
    let v = req.json_value()?;
    let list = match &v {
        Value::Array(a) => a.clone(),
        Value::Object(o) => match o.get("labels") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::String(s)) => vec![json!(s)],
            _ => return Err(ApiError::invalid("Invalid request.\n\n\"labels\" wasn't supplied.")),
        },
        _ => return Err(ApiError::invalid("Invalid request.\n\n\"labels\" wasn't supplied.")),
    };
    let mut names = Vec::new();
    for item in list {
        let name = match item {
            Value::String(s) => s,
            Value::Object(o) => o.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            _ => String::new(),
        };
        if name.trim().is_empty() {
            return Err(ApiError::validation(vec![ApiError::field_error("Label", "name", "missing_field")]));
        }
        names.push(name);
    }
    Ok(names)
}

fn labels_reply(req: &ApiReq, r: &Repo, number: u64) -> Result<Vec<Value>, ApiError> {
    let p = r.pull(number).ok_or_else(ApiError::not_found)?;
    Ok(p.labels.iter().filter_map(|n| r.labels.get(&n.to_lowercase())).map(|l| json::label(req.base(), r, l)).collect())
}

/// Make sure the repository has labels `names` (created grey, as GitHub does); returns their
/// canonical names.
fn ensure_labels(r: &mut Repo, ids: &mut impl FnMut() -> u64, names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let key = n.to_lowercase();
            r.labels
                .entry(key)
                .or_insert_with(|| LabelRec {
                    id: ids(),
                    name: n.clone(),
                    color: "ededed".to_string(),
                    description: None,
                })
                .name
                .clone()
        })
        .collect()
}

/// `GET /repos/{owner}/{repo}/issues/{number}/labels`.
pub(crate) fn get_labels(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    Ok(page_reply(req, labels_reply(req, r, number_param(req, "number")?)?))
}

fn change_labels(shared: &Shared, req: &ApiReq, replace: bool) -> ApiResult {
    let names = label_names(req)?;
    let number = number_param(req, "number")?;
    let mut st = shared.lock();
    let first = st.next_id() * 1000;
    find_mut(&mut st, req)?;
    let Some(r) = st.repo_mut(req.param("owner"), req.param("repo")) else { return Err(ApiError::not_found()) };
    r.pull(number).ok_or_else(ApiError::not_found)?;
    let mut n = 0;
    let mut ids = || {
        n += 1;
        first + n
    };
    let canonical = ensure_labels(r, &mut ids, &names);
    if let Some(p) = r.pull_mut(number) {
        if replace {
            p.labels.clear();
        }
        for name in canonical {
            if !p.labels.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
                p.labels.push(name);
            }
        }
        p.updated_at = now();
    }
    Ok(Reply::ok(Value::Array(labels_reply(req, r, number)?)))
}

/// `POST /repos/{owner}/{repo}/issues/{number}/labels`: adds; returns all labels of the issue.
pub(crate) fn add_labels(shared: &Shared, req: &ApiReq) -> ApiResult {
    change_labels(shared, req, false)
}

/// `PUT /repos/{owner}/{repo}/issues/{number}/labels`: replaces.
pub(crate) fn set_labels(shared: &Shared, req: &ApiReq) -> ApiResult {
    change_labels(shared, req, true)
}

/// `DELETE /repos/{owner}/{repo}/issues/{number}/labels`: removes all; 204.
pub(crate) fn clear_labels(shared: &Shared, req: &ApiReq) -> ApiResult {
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let p = r.pull_mut(number_param(req, "number")?).ok_or_else(ApiError::not_found)?;
    p.labels.clear();
    p.updated_at = now();
    Ok(Reply::no_content())
}

/// `DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}`: 404 `Label does not exist` when
/// the issue does not have it; else the remaining labels.
pub(crate) fn remove_label(shared: &Shared, req: &ApiReq) -> ApiResult {
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let number = number_param(req, "number")?;
    let name = req.param("name").to_string();
    let p = r.pull_mut(number).ok_or_else(ApiError::not_found)?;
    let before = p.labels.len();
    p.labels.retain(|l| !l.eq_ignore_ascii_case(&name));
    if p.labels.len() == before {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "Label does not exist"));
    }
    p.updated_at = now();
    Ok(Reply::ok(Value::Array(labels_reply(req, r, number)?)))
}

/// `POST /repos/{owner}/{repo}/issues/{number}/assignees` `{assignees}`: 201 with the issue.
pub(crate) fn add_assignees(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        assignees: Vec<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let number = number_param(req, "number")?;
    let p = r.pull_mut(number).ok_or_else(ApiError::not_found)?;
    for a in body.assignees {
        if !p.assignees.iter().any(|x| x.eq_ignore_ascii_case(&a)) && p.assignees.len() < 10 {
            p.assignees.push(a);
        }
    }
    p.updated_at = now();
    let r = &*r;
    Ok(Reply::created(json::issue(req.base(), r, pull_of(r, req)?)))
}

/// `GET /repos/{owner}/{repo}/issues/{number}/comments`: oldest first.
pub(crate) fn list_comments(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let number = number_param(req, "number")?;
    pull_of(r, req)?;
    let items = r.comments.iter().filter(|c| c.issue == number).map(|c| json::comment(req.base(), r, c)).collect();
    Ok(page_reply(req, items))
}

/// `POST /repos/{owner}/{repo}/issues/{number}/comments` `{body}`: 201.
pub(crate) fn create_comment(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        body: Option<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let id = st.next_id();
    let r = find_mut(&mut st, req)?;
    let number = number_param(req, "number")?;
    pull_of(r, req)?;
    let Some(text) = body.body.filter(|b| !b.trim().is_empty()) else {
        return Err(ApiError::validation(vec![ApiError::field_error("IssueComment", "body", "missing_field")]));
    };
    let t = now();
    let c = CommentRec {
        id: 1_000_000_000 + id,
        issue: number,
        body: text,
        user: req.ident().login(),
        created_at: t,
        updated_at: t,
    };
    r.comments.push(c.clone());
    let v = json::comment(req.base(), r, &c);
    let location = v["url"].as_str().unwrap_or_default().to_string();
    Ok(Reply::created_at(v, location))
}

// ----- GraphQL -----

/// `POST /graphql` (and `/api/graphql` on GHES): `enablePullRequestAutoMerge`,
/// `disablePullRequestAutoMerge` and `viewer { login }`.
pub(crate) fn graphql(shared: &Shared, req: &ApiReq) -> ApiResult {
    if !req.ident().is_authenticated() {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "This endpoint requires you to be authenticated."));
    }
    let body = req.json_value()?;
    let Some(query) = body.get("query").and_then(Value::as_str) else {
        return Ok(Reply::ok(
            json!({ "errors": [{ "message": "A query attribute must be specified and must be a string." }] }),
        ));
    };
    let variables = body.get("variables").cloned().filter(Value::is_object).unwrap_or_else(|| json!({}));
    for (field, enable) in [("enablePullRequestAutoMerge", true), ("disablePullRequestAutoMerge", false)] {
        if let Some(args) = graphql_args(query, field) {
            let input = match graphql_input(&args, &variables) {
                Ok(input) => input,
                Err(message) => return Ok(Reply::ok(json!({ "errors": [{ "message": message }] }))),
            };
            return Ok(Reply::ok(auto_merge(shared, req, field, enable, &input)));
        }
    }
    if query.contains("viewer") {
        return Ok(Reply::ok(json!({ "data": { "viewer": { "login": req.ident().login() } } })));
    }
    Ok(Reply::ok(json!({
        "errors": [{
            "message": "This test server answers only the enablePullRequestAutoMerge and disablePullRequestAutoMerge mutations and viewer { login }.",
        }]
    })))
}

fn graphql_error(field: &str, kind: &str, message: String) -> Value {
    json!({
        "data": { field: null },
        "errors": [{ "type": kind, "path": [field], "locations": [{ "line": 2, "column": 3 }], "message": message }],
    })
}

fn auto_merge(shared: &Shared, req: &ApiReq, field: &str, enable: bool, input: &Value) -> Value {
    let Some(node) = input.get("pullRequestId").and_then(Value::as_str) else {
        return json!({ "errors": [{ "message": format!("Argument 'pullRequestId' on InputObject '{}Input' is required.", capitalize(field)) }] });
    };
    let method = input.get("mergeMethod").and_then(Value::as_str).unwrap_or("MERGE").to_uppercase();
    if !matches!(method.as_str(), "MERGE" | "SQUASH" | "REBASE") {
        return json!({ "errors": [{ "message": format!("Argument 'mergeMethod' on InputObject '{}Input' has an invalid value ({method}). Expected type 'PullRequestMergeMethod'.", capitalize(field)) }] });
    }
    let base = req.base().clone();
    let mut st = shared.lock();
    let found = st.repos.values_mut().find_map(|r| {
        let number = r.pulls.iter().find(|p| json::pull_node_id(p) == node).map(|p| p.number)?;
        Some((r, number))
    });
    let Some((r, number)) = found else {
        return graphql_error(
            field,
            "NOT_FOUND",
            format!("Could not resolve to a node with the global id of '{node}'."),
        );
    };
    if r.opts.private && !req.ident().is_authenticated() {
        return graphql_error(
            field,
            "NOT_FOUND",
            format!("Could not resolve to a node with the global id of '{node}'."),
        );
    }
    refresh(r);
    let allow = r.opts.allow_auto_merge;
    let Some(p) = r.pull_mut(number) else { return graphql_error(field, "NOT_FOUND", "gone".into()) };
    if enable {
        if !allow {
            return graphql_error(
                field,
                "UNPROCESSABLE",
                "Pull request Auto merge is not allowed for this repository".into(),
            );
        }
        if !p.open {
            return graphql_error(field, "UNPROCESSABLE", "Pull request Pull request is closed".into());
        }
        if let Some(expected) = input.get("expectedHeadOid").and_then(Value::as_str)
            && expected != p.head_sha
        {
            return graphql_error(field, "UNPROCESSABLE", "Head sha didn't match expected head sha".into());
        }
        p.auto_merge = Some(AutoMergeRec {
            enabled_by: req.ident().login(),
            method: method.to_lowercase(),
            commit_title: input.get("commitHeadline").and_then(Value::as_str).map(str::to_string),
            commit_message: input.get("commitBody").and_then(Value::as_str).map(str::to_string),
            enabled_at: now(),
        });
    } else {
        p.auto_merge = None;
    }
    p.updated_at = now();
    let p = p.clone();
    let auto = p.auto_merge.as_ref().map(|a| {
        json!({
            "enabledAt": json::ts(a.enabled_at),
            "mergeMethod": a.method.to_uppercase(),
            "commitHeadline": a.commit_title,
            "commitBody": a.commit_message,
            "enabledBy": { "login": a.enabled_by },
        })
    });
    json!({
        "data": {
            field: {
                "clientMutationId": input.get("clientMutationId").cloned().unwrap_or(Value::Null),
                "pullRequest": {
                    "id": json::pull_node_id(&p),
                    "number": p.number,
                    "title": p.title,
                    "state": if p.open { "OPEN" } else { "CLOSED" },
                    "url": format!("{}/pull/{}", base.repo_web(&r.full_name()), p.number),
                    "autoMergeRequest": auto,
                },
            }
        }
    })
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// The text between the parentheses after `field` in `query`.
fn graphql_args(query: &str, field: &str) -> Option<String> {
    let start = query.find(field)? + field.len();
    let rest = query[start..].trim_start();
    let rest = rest.strip_prefix('(')?;
    let mut depth = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(rest[..i].to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// The `input` argument (`input: $var` or an object literal), with variables substituted.
fn graphql_input(args: &str, variables: &Value) -> Result<Value, String> {
    let mut p = GqlParser { s: args.as_bytes(), i: 0, vars: variables };
    loop {
        p.skip();
        if p.i >= p.s.len() {
            return Err("Field requires the argument 'input'".to_string());
        }
        let name = p.name();
        p.skip();
        if !p.eat(b':') {
            return Err(format!("Parse error near {name}"));
        }
        let value = p.value()?;
        if name == "input" {
            return Ok(value);
        }
    }
}

struct GqlParser<'a> {
    s: &'a [u8],
    i: usize,
    vars: &'a Value,
}

impl GqlParser<'_> {
    fn skip(&mut self) {
        while self.i < self.s.len() && (self.s[self.i].is_ascii_whitespace() || self.s[self.i] == b',') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn name(&mut self) -> String {
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    fn value(&mut self) -> Result<Value, String> {
        self.skip();
        match self.s.get(self.i) {
            Some(b'$') => {
                self.i += 1;
                let name = self.name();
                Ok(self.vars.get(&name).cloned().unwrap_or(Value::Null))
            }
            Some(b'"') => {
                self.i += 1;
                let mut out = Vec::new();
                while let Some(&c) = self.s.get(self.i) {
                    self.i += 1;
                    match c {
                        b'"' => return Ok(Value::String(String::from_utf8_lossy(&out).into_owned())),
                        b'\\' => {
                            let e = self.s.get(self.i).copied().unwrap_or(b'\\');
                            self.i += 1;
                            out.push(match e {
                                b'n' => b'\n',
                                b't' => b'\t',
                                other => other,
                            });
                        }
                        other => out.push(other),
                    }
                }
                Err("Unterminated string".to_string())
            }
            Some(b'{') => {
                self.i += 1;
                let mut obj = serde_json::Map::new();
                loop {
                    self.skip();
                    if self.eat(b'}') {
                        return Ok(Value::Object(obj));
                    }
                    let key = self.name();
                    if key.is_empty() {
                        return Err("Parse error in input object".to_string());
                    }
                    self.skip();
                    if !self.eat(b':') {
                        return Err(format!("Parse error after {key}"));
                    }
                    let v = self.value()?;
                    obj.insert(key, v);
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut list = Vec::new();
                loop {
                    self.skip();
                    if self.eat(b']') {
                        return Ok(Value::Array(list));
                    }
                    list.push(self.value()?);
                }
            }
            Some(_) => {
                let word = self.name();
                if word.is_empty() {
                    let start = self.i;
                    while self.i < self.s.len()
                        && (self.s[self.i].is_ascii_digit() || b"-.eE+".contains(&self.s[self.i]))
                    {
                        self.i += 1;
                    }
                    let text = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                    return serde_json::from_str(&text).map_err(|_| "Parse error".to_string());
                }
                Ok(match word.as_str() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "null" => Value::Null,
                    w if w.chars().all(|c| c.is_ascii_digit()) => serde_json::from_str(w).unwrap_or(Value::Null),
                    _ => Value::String(word),
                })
            }
            None => Err("Unexpected end of arguments".to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_input_literal_and_variables() {
        let q = r#"mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH, commitHeadline: "a \"b\""}) { clientMutationId } }"#;
        let args = graphql_args(q, "enablePullRequestAutoMerge").expect("args");
        let input = graphql_input(&args, &json!({"id": "PR_x"})).expect("input");
        assert_eq!(input, json!({"pullRequestId": "PR_x", "mergeMethod": "SQUASH", "commitHeadline": "a \"b\""}));
        let q = "mutation($input: EnablePullRequestAutoMergeInput!) { enablePullRequestAutoMerge(input: $input) { clientMutationId } }";
        let args = graphql_args(q, "enablePullRequestAutoMerge").expect("args");
        let input = graphql_input(&args, &json!({"input": {"pullRequestId": "PR_y"}})).expect("input");
        assert_eq!(input["pullRequestId"], "PR_y");
    }
}
