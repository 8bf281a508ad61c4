//! Pull requests (with real merges) and their issue side: labels, assignees, comments and
//! `PATCH /issues/{n}`. The GraphQL mutations on pull requests live in `graphql.rs` and share the
//! cores here ([`open_pull`], [`refresh`]).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use gix::ObjectId;
use gix::refs::transaction::PreviousValue;
use serde_json::{Value, json};

use crate::git;
use crate::http::{ApiError, ApiReq, ApiResult, Reply, number_param, page_reply};
use crate::json;
use crate::repos::{find, find_mut};
use crate::state::{CommentRec, LabelRec, Pull, Repo, ReviewRec, Shared, now};

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

pub(crate) fn branch_tip(repo: &gix::Repository, branch: &str) -> Option<ObjectId> {
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

/// What a new pull request is made of: the body of `POST /pulls`, or GraphQL's
/// `CreatePullRequestInput`.
pub(crate) struct NewPull {
    pub title: Option<String>,
    /// `branch` or `owner:branch`.
    pub head: Option<String>,
    pub base: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub maintainer_can_modify: Option<bool>,
}

/// GitHub's limit on issue and pull request bodies, in characters.
pub(crate) const BODY_LIMIT: usize = 65_536;

/// 422 for a body over [`BODY_LIMIT`], as GitHub words it.
pub(crate) fn check_body(resource: &str, body: Option<&str>) -> Result<(), ApiError> {
    match body {
        Some(b) if b.chars().count() > BODY_LIMIT => Err(ApiError::validation(vec![json!({
            "resource": resource,
            "code": "custom",
            "field": "body",
            "message": format!("body is too long (maximum is {BODY_LIMIT} characters)"),
        })])),
        _ => Ok(()),
    }
}

/// Open a pull request in `r` by `user` with database id `id` after GitHub's validations (422
/// `Validation Failed` bodies, as `POST /pulls` answers them), and return its number. REST and
/// GraphQL both create pull requests through here, so numbering and state stay identical.
pub(crate) fn open_pull(r: &mut Repo, id: u64, user: String, new: NewPull) -> Result<u64, ApiError> {
    refresh(r);
    let missing: Vec<Value> = [("title", &new.title), ("head", &new.head), ("base", &new.base)]
        .iter()
        .filter(|(_, v)| v.as_deref().is_none_or(str::is_empty))
        .map(|(f, _)| ApiError::field_error("PullRequest", f, "missing_field"))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(missing));
    }
    check_body("PullRequest", new.body.as_deref())?;
    let (title, head, base) =
        (new.title.unwrap_or_default(), new.head.unwrap_or_default(), new.base.unwrap_or_default());
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
        body: new.body,
        open: true,
        draft: new.draft,
        user,
        head_ref,
        head_sha: head_tip.to_string(),
        base_ref: base,
        base_sha_closed: None,
        merged_onto: None,
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
        maintainer_can_modify: new.maintainer_can_modify.unwrap_or(true),
        reviews: Vec::new(),
    });
    Ok(number)
}

/// `POST /repos/{owner}/{repo}/pulls` `{title, head, base, body, draft, maintainer_can_modify}`.
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
    let new = NewPull {
        title: body.title,
        head: body.head,
        base: body.base,
        body: body.body,
        draft: body.draft,
        maintainer_can_modify: body.maintainer_can_modify,
    };
    let number = open_pull(r, id, req.ident().login(), new)?;
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
    check_body("PullRequest", body.body.as_deref())?;
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
    if let Some(state) = body.state.as_deref() {
        change_state(r, &repo, &mut updated, state, "PullRequest")?;
    }
    updated.updated_at = t;
    if let Some(slot) = r.pull_mut(number) {
        *slot = updated;
    }
    let r = &*r;
    Ok(Reply::ok(json::pull(req.base(), r, pull_of(r, req)?, true)))
}

/// Close or reopen `updated` (a copy of a pull request of `r`, applied by the caller) as
/// `PATCH /pulls/{n}` and `PATCH /issues/{n}` do: closing records the base tip; reopening needs an
/// unmerged pull request whose head branch exists and no other open one for the same branches.
/// 422 errors name `resource`; a state it already has is no change.
pub(crate) fn change_state(
    r: &Repo,
    repo: &gix::Repository,
    updated: &mut Pull,
    state: &str,
    resource: &str,
) -> Result<(), ApiError> {
    match state {
        "closed" if updated.open => {
            updated.open = false;
            updated.closed_at = Some(now());
            updated.base_sha_closed = branch_tip(repo, &updated.base_ref).map(|id| id.to_string());
        }
        "open" if !updated.open => {
            if updated.merged_at.is_some() {
                return Err(ApiError::validation(vec![ApiError::custom_error(
                    resource,
                    "state cannot be changed. The pull request has been merged.",
                )]));
            }
            let Some(head) = branch_tip(repo, &updated.head_ref) else {
                return Err(ApiError::validation(vec![ApiError::custom_error(
                    resource,
                    &format!("state cannot be changed. The {} branch has been deleted.", updated.head_ref),
                )]));
            };
            if r.pulls.iter().any(|o| {
                o.open && o.number != updated.number && o.head_ref == updated.head_ref && o.base_ref == updated.base_ref
            }) {
                return Err(ApiError::validation(vec![ApiError::custom_error(
                    resource,
                    &format!("A pull request already exists for {}:{}.", r.owner, updated.head_ref),
                )]));
            }
            updated.open = true;
            updated.closed_at = None;
            updated.base_sha_closed = None;
            updated.head_sha = head.to_string();
        }
        "open" | "closed" => {}
        _ => return Err(ApiError::validation(vec![ApiError::field_error(resource, "state", "invalid")])),
    }
    Ok(())
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
    if let Some(refusal) = protection_refusal(r, &p) {
        return Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, &refusal));
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
        slot.merged_onto = Some(base.to_string());
    }
    Ok(Reply::ok(json!({
        "sha": new_head.to_string(),
        "merged": true,
        "message": "Pull Request successfully merged",
    })))
}

/// The commit that takes back what merged pull request `p` brought to its base, on top of the
/// base's current head `head`, as GitHub's `revertPullRequest` makes it
/// (<https://docs.github.com/en/graphql/reference/mutations#revertpullrequest>): one commit
/// (parent `head`) whose tree is the three-way merge of `head` (ours) and the base before the
/// merge (theirs, [`Pull::merged_onto`]) over the merged commit (the merge base), as `git revert`
/// computes it. The message is `Revert "<title>"` and `This reverts commit <sha>.`; the author is
/// `author`, the committer GitHub (web-flow).
///
/// `Ok(None)` when the revert does not apply cleanly (a later change to the same lines) or would
/// change nothing (it was reverted already): nothing is written then, the trial runs in memory.
pub(crate) fn revert_commit(
    repo: &gix::Repository,
    p: &Pull,
    head: ObjectId,
    author: &gix::actor::Signature,
) -> Result<Option<ObjectId>, String> {
    let merged = p.merge_commit_sha.as_deref().and_then(git::parse_oid);
    let onto = p.merged_onto.as_deref().and_then(git::parse_oid);
    let (Some(merged), Some(onto)) = (merged, onto) else {
        return Err(format!("pull request #{} has no merge to revert", p.number));
    };
    let revert_tree = |repo: &gix::Repository| -> Result<Option<ObjectId>, String> {
        let head_tree = git::commit_tree(repo, head)?;
        let tree = git::merge_trees(repo, git::commit_tree(repo, merged)?, head_tree, git::commit_tree(repo, onto)?)?;
        Ok(tree.filter(|t| *t != head_tree))
    };
    if revert_tree(&repo.clone().with_object_memory())?.is_none() {
        return Ok(None);
    }
    let Some(tree) = revert_tree(repo)? else { return Ok(None) };
    let message = format!("Revert \"{}\"\n\nThis reverts commit {merged}.", p.title);
    git::write_commit(repo, tree, &[head], author, &git::web_flow(), &message).map(Some)
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

/// `PATCH /repos/{owner}/{repo}/issues/{number}` ("Update an issue", which works on pull requests
/// too): `title`, `body`, `state` (`open`|`closed`, with the effects of `PATCH /pulls/{n}`),
/// `state_reason`, `labels` (replaces the set; unknown labels are created), `assignees` (replaces;
/// also the deprecated `assignee`), `milestone` (only `null`: this server has no milestones).
/// Everything is validated before anything changes. 200 with the issue.
pub(crate) fn update_issue(shared: &Shared, req: &ApiReq) -> ApiResult {
    let body = req.json_value()?;
    let Some(fields) = body.as_object() else {
        return Err(ApiError::invalid(&format!("Invalid request.\n\n{body} is not an object.")));
    };
    let invalid = |field: &str| ApiError::validation(vec![ApiError::field_error("Issue", field, "invalid")]);
    let title = match fields.get("title") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.trim().is_empty() => {
            return Err(ApiError::validation(vec![ApiError::field_error("Issue", "title", "missing_field")]));
        }
        Some(Value::String(t)) => Some(t.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(invalid("title")),
    };
    let text = match fields.get("body") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(b)) => Some(Some(b.clone())),
        Some(_) => return Err(invalid("body")),
    };
    check_body("Issue", text.as_ref().and_then(|t| t.as_deref()))?;
    let state = match fields.get("state") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s == "open" || s == "closed" => Some(s.clone()),
        Some(_) => return Err(invalid("state")),
    };
    match fields.get("state_reason") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if ["completed", "not_planned", "duplicate", "reopened"].contains(&s.as_str()) => {}
        Some(_) => return Err(invalid("state_reason")),
    }
    match fields.get("milestone") {
        None | Some(Value::Null) => {}
        Some(_) => return Err(invalid("milestone")),
    }
    let labels = match fields.get("labels") {
        None => None,
        Some(Value::Null) => Some(Vec::new()),
        Some(list) => Some(label_list(list)?),
    };
    let assignees = match (fields.get("assignees"), fields.get("assignee")) {
        (Some(Value::Array(list)), _) => {
            let mut names: Vec<String> = Vec::new();
            for a in list {
                let Some(a) = a.as_str().filter(|a| !a.trim().is_empty()) else { return Err(invalid("assignees")) };
                if !names.iter().any(|x| x.eq_ignore_ascii_case(a)) && names.len() < 10 {
                    names.push(a.to_string());
                }
            }
            Some(names)
        }
        (Some(Value::Null), _) => Some(Vec::new()),
        (Some(_), _) => return Err(invalid("assignees")),
        (None, Some(Value::String(a))) => Some(vec![a.clone()]),
        (None, Some(Value::Null)) => Some(Vec::new()),
        (None, Some(_)) => return Err(invalid("assignee")),
        (None, None) => None,
    };
    let number = number_param(req, "number")?;
    let mut st = shared.lock();
    let first_label_id = st.next_id() * 1000;
    let r = find_mut(&mut st, req)?;
    refresh(r);
    let repo = r.repo();
    let mut updated = r.pull(number).ok_or_else(ApiError::not_found)?.clone();
    if let Some(title) = title {
        updated.title = title;
    }
    if let Some(text) = text {
        updated.body = text;
    }
    if let Some(state) = state.as_deref() {
        change_state(r, &repo, &mut updated, state, "Issue")?;
    }
    if let Some(names) = labels {
        let mut n = 0;
        let mut ids = || {
            n += 1;
            first_label_id + n
        };
        let mut canonical: Vec<String> = Vec::new();
        for name in ensure_labels(r, &mut ids, &names) {
            if !canonical.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
                canonical.push(name);
            }
        }
        updated.labels = canonical;
    }
    if let Some(assignees) = assignees {
        updated.assignees = assignees;
    }
    updated.updated_at = now();
    if let Some(slot) = r.pull_mut(number) {
        *slot = updated;
    }
    let r = &*r;
    Ok(Reply::ok(json::issue(req.base(), r, pull_of(r, req)?)))
}

/// Label names from `{labels: [..]}`, `[..]`, or `{labels: [{name}]}`.
fn label_names(req: &ApiReq) -> Result<Vec<String>, ApiError> {
    let v = req.json_value()?;
    let list = match &v {
        Value::Array(_) => &v,
        Value::Object(o) => match o.get("labels") {
            Some(Value::String(s)) => return label_list(&json!([s])),
            Some(list @ Value::Array(_)) => list,
            _ => return Err(ApiError::invalid("Invalid request.\n\n\"labels\" wasn't supplied.")),
        },
        _ => return Err(ApiError::invalid("Invalid request.\n\n\"labels\" wasn't supplied.")),
    };
    label_list(list)
}

/// Label names from an array of names or of `{name}` objects.
fn label_list(list: &Value) -> Result<Vec<String>, ApiError> {
    let Some(items) = list.as_array() else {
        return Err(ApiError::invalid(&format!("Invalid request.\n\n{list} is not an array.")));
    };
    let mut names = Vec::new();
    for item in items {
        let name = match item {
            Value::String(s) => s.clone(),
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

// ----- reviews and branch protection -----

/// Whether the default branch's protection ([`crate::RepoOptions::required_status_checks`],
/// [`crate::RepoOptions::required_approving_review_count`]) applies to `p`: it targets the
/// default branch.
fn protected(r: &Repo, p: &Pull) -> bool {
    p.base_ref == r.opts.default_branch
}

/// The latest submitted review of each reviewer that approved or requested changes, oldest
/// first. A later `COMMENTED` review does not replace a reviewer's approval or request for
/// changes, and pending reviews are not submitted
/// (<https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/reviewing-changes-in-pull-requests/about-pull-request-reviews>).
fn latest_reviews(p: &Pull) -> Vec<&ReviewRec> {
    let mut latest: Vec<&ReviewRec> = Vec::new();
    for review in p.reviews.iter().filter(|v| v.state == "APPROVED" || v.state == "CHANGES_REQUESTED") {
        latest.retain(|l| !l.user.eq_ignore_ascii_case(&review.user));
        latest.push(review);
    }
    latest
}

/// GraphQL's `PullRequest.reviewDecision`
/// (<https://docs.github.com/en/graphql/reference/enums#pullrequestreviewdecision>): `None`
/// (`null`) when the base branch's protection requires no approving review, as GitHub answers
/// whatever reviews were given (<https://github.com/orgs/community/discussions/24375>); else
/// `CHANGES_REQUESTED` when a reviewer's latest review requests changes, `APPROVED` with enough
/// approvals, and `REVIEW_REQUIRED` until then.
pub(crate) fn review_decision(r: &Repo, p: &Pull) -> Option<&'static str> {
    let required = r.opts.required_approving_review_count;
    if required == 0 || !protected(r, p) {
        return None;
    }
    let latest = latest_reviews(p);
    let approvals = latest.iter().filter(|l| l.state == "APPROVED").count();
    Some(if latest.iter().any(|l| l.state == "CHANGES_REQUESTED") {
        "CHANGES_REQUESTED"
    } else if approvals >= required as usize {
        "APPROVED"
    } else {
        "REVIEW_REQUIRED"
    })
}

/// Why the default branch's protection refuses to merge `p`, in the words of GitHub's 405
/// answer to `PUT /pulls/{n}/merge`: `At least 1 approving review is required by reviewers with
/// write access.` (also while a reviewer requests changes, which keeps the approval from
/// counting), then, per required check in the order configured, `Required status check "ci" is
/// expected.` (not reported, or still pending) or `Required status check "ci" is failing.`
/// (<https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches>).
pub(crate) fn protection_refusal(r: &Repo, p: &Pull) -> Option<String> {
    if !protected(r, p) {
        return None;
    }
    let required = r.opts.required_approving_review_count;
    if required > 0 && review_decision(r, p) != Some("APPROVED") {
        return Some(if required == 1 {
            "At least 1 approving review is required by reviewers with write access.".to_string()
        } else {
            format!("At least {required} approving reviews are required by reviewers with write access.")
        });
    }
    let outcomes = crate::checks::outcomes(r, &p.head_sha);
    for name in &r.opts.required_status_checks {
        match outcomes.iter().find(|o| o.name == *name).map(|o| o.state) {
            Some("SUCCESS") => {}
            Some("FAILURE" | "ERROR") => return Some(format!("Required status check \"{name}\" is failing.")),
            _ => return Some(format!("Required status check \"{name}\" is expected.")),
        }
    }
    None
}

fn review_json(req: &ApiReq, r: &Repo, p: &Pull, v: &ReviewRec) -> Value {
    let full = r.full_name();
    let html = format!("{}/pull/{}#pullrequestreview-{}", req.base().repo_web(&full), p.number, v.id);
    let pull_url = format!("{}/pulls/{}", req.base().repo_api(&full), p.number);
    json!({
        "id": v.id,
        "node_id": json::node_id("PRR", v.id),
        "user": json::person(req.base(), &v.user),
        "body": v.body,
        "state": v.state,
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": if v.user.eq_ignore_ascii_case(&r.owner) { "OWNER" } else { "COLLABORATOR" },
        "_links": { "html": { "href": html }, "pull_request": { "href": pull_url } },
        "submitted_at": if v.state == "PENDING" { Value::Null } else { json!(json::ts(v.submitted_at)) },
        "commit_id": v.commit_id,
    })
}

/// `POST /repos/{owner}/{repo}/pulls/{number}/reviews` `{commit_id, body, event}`
/// (<https://docs.github.com/en/rest/pulls/reviews#create-a-review-for-a-pull-request>): `event`
/// `APPROVE`, `REQUEST_CHANGES` or `COMMENT` submits the review (states `APPROVED`,
/// `CHANGES_REQUESTED`, `COMMENTED`); without one it stays `PENDING`. `REQUEST_CHANGES` and
/// `COMMENT` need a `body`. The pull request's author cannot approve or request changes
/// (422 `Can not approve your own pull request`). 200 with the review. Inline `comments` are not
/// kept by this server.
pub(crate) fn create_review(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        commit_id: Option<String>,
        body: Option<String>,
        event: Option<String>,
    }
    let body: Body = req.json()?;
    let state = match body.event.as_deref() {
        None | Some("") => "PENDING",
        Some("APPROVE") => "APPROVED",
        Some("REQUEST_CHANGES") => "CHANGES_REQUESTED",
        Some("COMMENT") => "COMMENTED",
        Some(_) => {
            return Err(ApiError::validation(vec![ApiError::field_error("PullRequestReview", "event", "invalid")]));
        }
    };
    let text = body.body.unwrap_or_default();
    if matches!(state, "CHANGES_REQUESTED" | "COMMENTED") && text.trim().is_empty() {
        return Err(ApiError::validation(vec![ApiError::field_error("PullRequestReview", "body", "missing_field")]));
    }
    let user = req.ident().login();
    let mut st = shared.lock();
    let id = st.next_id();
    let r = find_mut(&mut st, req)?;
    refresh(r);
    let number = number_param(req, "number")?;
    let p = r.pull(number).ok_or_else(ApiError::not_found)?;
    if p.user.eq_ignore_ascii_case(&user) && matches!(state, "APPROVED" | "CHANGES_REQUESTED") {
        let what = if state == "APPROVED" { "approve" } else { "request changes on" };
        let mut err = ApiError::invalid("Unprocessable Entity");
        err.body["errors"] = json!([format!("Can not {what} your own pull request")]);
        return Err(err);
    }
    let review = ReviewRec {
        id: 4_000_000_000 + id,
        user,
        state: state.to_string(),
        body: text,
        commit_id: body.commit_id.unwrap_or_else(|| p.head_sha.clone()),
        submitted_at: now(),
    };
    let p = r.pull_mut(number).ok_or_else(ApiError::not_found)?;
    p.reviews.push(review.clone());
    if state != "PENDING" {
        p.requested_reviewers.retain(|u| !u.eq_ignore_ascii_case(&review.user));
        p.updated_at = review.submitted_at;
    }
    let r = &*r;
    Ok(Reply::ok(review_json(req, r, pull_of(r, req)?, &review)))
}

/// `GET /repos/{owner}/{repo}/pulls/{number}/reviews`: oldest first
/// (<https://docs.github.com/en/rest/pulls/reviews#list-reviews-for-a-pull-request>).
pub(crate) fn list_reviews(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let p = pull_of(r, req)?;
    let items = p.reviews.iter().map(|v| review_json(req, r, p, v)).collect();
    Ok(page_reply(req, items))
}
