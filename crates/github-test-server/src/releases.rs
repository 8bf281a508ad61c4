//! Releases (and the tags they create).

use gix::refs::transaction::PreviousValue;

use crate::git;
use crate::http::{ApiError, ApiReq, ApiResult, Reply, page_reply};
use crate::json;
use crate::repos::{find, find_mut};
use crate::state::{ReleaseRec, Repo, Shared, now};

fn visible(req: &ApiReq, rel: &ReleaseRec) -> bool {
    // Drafts are only visible to users with push access, i.e. authenticated callers here.
    !rel.draft || req.ident().is_authenticated()
}

/// Create `refs/tags/{tag}` at `target` unless the tag exists; 422 when the target is not a commit.
fn ensure_tag(r: &Repo, tag: &str, target: &str) -> Result<(), ApiError> {
    let repo = r.repo();
    let name = format!("refs/tags/{tag}");
    if git::ref_target(&repo, &name).is_some() {
        return Ok(());
    }
    let commit = git::resolve_commitish(&repo, target)
        .ok_or_else(|| ApiError::validation(vec![ApiError::field_error("Release", "target_commitish", "invalid")]))?;
    git::set_ref(&repo, &name, commit, Some(PreviousValue::MustNotExist))?;
    Ok(())
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty() && gix::refs::FullName::try_from(format!("refs/tags/{tag}")).is_ok()
}

/// `POST /repos/{owner}/{repo}/releases` `{tag_name, target_commitish, name, body, draft, prerelease}`:
/// creates the tag when it is missing (not for drafts, which get their tag when published).
pub(crate) fn create(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        tag_name: Option<String>,
        target_commitish: Option<String>,
        name: Option<String>,
        body: Option<String>,
        #[serde(default)]
        draft: bool,
        #[serde(default)]
        prerelease: bool,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let id = st.next_id();
    let r = find_mut(&mut st, req)?;
    let Some(tag) = body.tag_name.filter(|t| !t.is_empty()) else {
        return Err(ApiError::validation(vec![ApiError::field_error("Release", "tag_name", "missing_field")]));
    };
    if !valid_tag(&tag) {
        return Err(ApiError::validation(vec![ApiError::field_error("Release", "tag_name", "invalid")]));
    }
    if r.releases.iter().any(|rel| rel.tag_name == tag) {
        return Err(ApiError::validation(vec![ApiError::field_error("Release", "tag_name", "already_exists")]));
    }
    let target = body.target_commitish.filter(|t| !t.is_empty()).unwrap_or_else(|| r.opts.default_branch.clone());
    if !body.draft {
        ensure_tag(r, &tag, &target)?;
    } else if git::resolve_commitish(&r.repo(), &target).is_none() {
        return Err(ApiError::validation(vec![ApiError::field_error("Release", "target_commitish", "invalid")]));
    }
    let t = now();
    let rec = ReleaseRec {
        id: 4_000_000_000 + id,
        tag_name: tag,
        target_commitish: target,
        name: body.name,
        body: body.body,
        draft: body.draft,
        prerelease: body.prerelease,
        author: req.ident().login(),
        created_at: t,
        published_at: if body.draft { None } else { Some(t) },
    };
    r.releases.push(rec.clone());
    let v = json::release(req.base(), r, &rec);
    Ok(Reply::created_at(v.clone(), v["url"].as_str().unwrap_or_default().to_string()))
}

/// `GET /repos/{owner}/{repo}/releases`: newest first.
pub(crate) fn list(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let items =
        r.releases.iter().rev().filter(|rel| visible(req, rel)).map(|rel| json::release(req.base(), r, rel)).collect();
    Ok(page_reply(req, items))
}

/// `GET /repos/{owner}/{repo}/releases/latest`: the newest published, non-prerelease release.
pub(crate) fn latest(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let rel = r
        .releases
        .iter()
        .filter(|rel| !rel.draft && !rel.prerelease)
        .max_by_key(|rel| (rel.published_at, rel.id))
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(json::release(req.base(), r, rel)))
}

/// `GET /repos/{owner}/{repo}/releases/tags/{tag}` (published releases only).
pub(crate) fn by_tag(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let tag = req.param("tag");
    let rel = r.releases.iter().find(|rel| rel.tag_name == tag && !rel.draft).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(json::release(req.base(), r, rel)))
}

fn release_id(req: &ApiReq) -> Result<u64, ApiError> {
    req.param("id").parse().map_err(|_| ApiError::not_found())
}

/// `GET /repos/{owner}/{repo}/releases/{id}`.
pub(crate) fn get(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let id = release_id(req)?;
    let rel = r.releases.iter().find(|rel| rel.id == id && visible(req, rel)).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(json::release(req.base(), r, rel)))
}

/// `PATCH /repos/{owner}/{repo}/releases/{id}`: publishing a draft creates its tag.
pub(crate) fn update(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        tag_name: Option<String>,
        target_commitish: Option<String>,
        name: Option<String>,
        body: Option<String>,
        draft: Option<bool>,
        prerelease: Option<bool>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let id = release_id(req)?;
    let i = r.releases.iter().position(|rel| rel.id == id).ok_or_else(ApiError::not_found)?;
    let mut rel = r.releases[i].clone();
    if let Some(tag) = body.tag_name.filter(|t| *t != rel.tag_name) {
        if !valid_tag(&tag) {
            return Err(ApiError::validation(vec![ApiError::field_error("Release", "tag_name", "invalid")]));
        }
        if r.releases.iter().any(|o| o.id != id && o.tag_name == tag) {
            return Err(ApiError::validation(vec![ApiError::field_error("Release", "tag_name", "already_exists")]));
        }
        rel.tag_name = tag;
    }
    if let Some(t) = body.target_commitish {
        rel.target_commitish = t;
    }
    if let Some(n) = body.name {
        rel.name = Some(n);
    }
    if let Some(b) = body.body {
        rel.body = Some(b);
    }
    if let Some(p) = body.prerelease {
        rel.prerelease = p;
    }
    if let Some(d) = body.draft {
        rel.draft = d;
    }
    if !rel.draft {
        ensure_tag(r, &rel.tag_name, &rel.target_commitish)?;
        if rel.published_at.is_none() {
            rel.published_at = Some(now());
        }
    }
    r.releases[i] = rel.clone();
    Ok(Reply::ok(json::release(req.base(), r, &rel)))
}

/// `DELETE /repos/{owner}/{repo}/releases/{id}`: 204; the tag stays.
pub(crate) fn delete(shared: &Shared, req: &ApiReq) -> ApiResult {
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let id = release_id(req)?;
    let before = r.releases.len();
    r.releases.retain(|rel| rel.id != id);
    if r.releases.len() == before {
        return Err(ApiError::not_found());
    }
    Ok(Reply::no_content())
}
