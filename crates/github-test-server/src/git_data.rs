//! The git data API: references, blobs, trees and commits, written to the bare repositories.

use axum::http::StatusCode;
use base64::Engine;
use gix::ObjectId;
use gix::objs::tree::EntryKind;
use gix::refs::transaction::PreviousValue;
use serde_json::{Value, json};

use crate::git;
use crate::http::{ApiError, ApiReq, ApiResult, Reply};
use crate::json;
use crate::repos::{find, find_mut};
use crate::state::{Identity, Repo, Shared};

fn ref_json(req: &ApiReq, r: &Repo, repo: &gix::Repository, name: &str, target: ObjectId) -> Value {
    let kind = git::kind_of(repo, target).map(git::kind_name).unwrap_or("commit");
    json::git_ref(req.base(), r, name, &target.to_string(), kind)
}

/// `GET /repos/{owner}/{repo}/git/ref/{ref}`: exactly one reference, e.g. `heads/main`.
pub(crate) fn get_ref(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let name = format!("refs/{}", req.param("ref").trim_start_matches("refs/"));
    let target = git::ref_target(&repo, &name).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(ref_json(req, r, &repo, &name, target)))
}

/// `GET /repos/{owner}/{repo}/git/matching-refs/{ref}`: references whose name starts with `ref`.
pub(crate) fn matching_refs(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let prefix = format!("refs/{}", req.param("ref").trim_start_matches("refs/"));
    let items: Vec<Value> = git::list_refs(&repo, &prefix)?
        .into_iter()
        .map(|(name, target)| ref_json(req, r, &repo, &name, target))
        .collect();
    Ok(crate::http::page_reply(req, items))
}

/// `GET /repos/{owner}/{repo}/git/refs`: every reference.
pub(crate) fn list_refs(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let items: Vec<Value> = git::list_refs(&repo, "refs/")?
        .into_iter()
        .map(|(name, target)| ref_json(req, r, &repo, &name, target))
        .collect();
    Ok(crate::http::page_reply(req, items))
}

/// `GET /repos/{owner}/{repo}/git/refs/{ref}` (legacy): the reference when it exists exactly,
/// else the array of references it prefixes, else 404.
pub(crate) fn get_refs_prefix(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let name = format!("refs/{}", req.param("ref").trim_start_matches("refs/"));
    if let Some(target) = git::ref_target(&repo, &name) {
        return Ok(Reply::ok(ref_json(req, r, &repo, &name, target)));
    }
    let items: Vec<Value> = git::list_refs(&repo, &format!("{name}/"))?
        .into_iter()
        .map(|(name, target)| ref_json(req, r, &repo, &name, target))
        .collect();
    if items.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Reply::ok(Value::Array(items)))
}

/// A name `POST /git/refs` (and GraphQL `createRef`) accepts: fully qualified, at least two
/// slashes (`refs/heads/x`), and valid for git.
pub(crate) fn valid_ref_name(name: &str) -> bool {
    name.starts_with("refs/")
        && name.matches('/').count() >= 2
        && gix::refs::FullName::try_from(name).is_ok()
        && !name.ends_with('/')
        && !name.ends_with(".lock")
}

/// `POST /repos/{owner}/{repo}/git/refs` `{ref, sha}`.
pub(crate) fn create_ref(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "ref")]
        name: Option<String>,
        sha: Option<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    let (Some(name), Some(sha)) = (body.name, body.sha) else {
        return Err(ApiError::invalid("Invalid request.\n\n\"ref\", \"sha\" weren't supplied."));
    };
    if !valid_ref_name(&name) {
        return Err(ApiError::invalid(&format!("{name} is not a valid ref name.")));
    }
    let id = git::parse_oid(&sha)
        .filter(|id| git::kind_of(&repo, *id).is_some())
        .ok_or_else(|| ApiError::invalid("Object does not exist"))?;
    if git::ref_target(&repo, &name).is_some() {
        return Err(ApiError::invalid("Reference already exists"));
    }
    git::set_ref(&repo, &name, id, Some(PreviousValue::MustNotExist))
        .map_err(|_| ApiError::invalid("Reference already exists"))?;
    r.pushed_at = crate::state::now();
    let v = ref_json(req, r, &repo, &name, id);
    let location = v["url"].as_str().unwrap_or_default().to_string();
    Ok(Reply::created_at(v, location))
}

/// `PATCH /repos/{owner}/{repo}/git/refs/{ref}` `{sha, force}`.
pub(crate) fn update_ref(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        sha: Option<String>,
        #[serde(default)]
        force: bool,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    let name = format!("refs/{}", req.param("ref").trim_start_matches("refs/"));
    let Some(sha) = body.sha else {
        return Err(ApiError::invalid("Invalid request.\n\n\"sha\" wasn't supplied."));
    };
    let current = git::ref_target(&repo, &name).ok_or_else(|| ApiError::invalid("Reference does not exist"))?;
    let id = git::parse_oid(&sha)
        .filter(|id| git::kind_of(&repo, *id).is_some())
        .ok_or_else(|| ApiError::invalid("Object does not exist"))?;
    if !body.force && current != id {
        let both_commits = git::kind_of(&repo, current) == Some(gix::object::Kind::Commit)
            && git::kind_of(&repo, id) == Some(gix::object::Kind::Commit);
        if !both_commits || !git::is_ancestor(&repo, current, id) {
            return Err(ApiError::invalid("Update is not a fast forward"));
        }
    }
    git::set_ref(&repo, &name, id, Some(PreviousValue::MustExistAndMatch(gix::refs::Target::Object(current))))
        .map_err(|_| ApiError::invalid("Reference cannot be updated"))?;
    r.pushed_at = crate::state::now();
    Ok(Reply::ok(ref_json(req, r, &repo, &name, id)))
}

/// `DELETE /repos/{owner}/{repo}/git/refs/{ref}`: 204; 422 when the reference does not exist.
pub(crate) fn delete_ref(shared: &Shared, req: &ApiReq) -> ApiResult {
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    let name = format!("refs/{}", req.param("ref").trim_start_matches("refs/"));
    if !git::delete_ref(&repo, &name)? {
        return Err(ApiError::invalid("Reference does not exist"));
    }
    // GitHub closes open pull requests whose head branch is deleted.
    crate::pulls::refresh(r);
    Ok(Reply::no_content())
}

/// GitHub answers 409 `Git Repository is empty.` for git data (reads and writes) of a repository
/// without commits.
pub(crate) fn require_not_empty(repo: &gix::Repository) -> Result<(), ApiError> {
    match git::list_refs(repo, "refs/") {
        Ok(refs) if refs.is_empty() => Err(ApiError::new(StatusCode::CONFLICT, "Git Repository is empty.")),
        _ => Ok(()),
    }
}

/// `POST /repos/{owner}/{repo}/git/blobs` `{content, encoding}`: 201 `{sha, url}`.
pub(crate) fn create_blob(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        content: Option<String>,
        encoding: Option<String>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let Some(content) = body.content else {
        return Err(ApiError::invalid("Invalid request.\n\n\"content\" wasn't supplied."));
    };
    let bytes = match body.encoding.as_deref().unwrap_or("utf-8") {
        "utf-8" | "utf8" => content.into_bytes(),
        "base64" => {
            let cleaned: String = content.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(cleaned)
                .map_err(|_| ApiError::invalid("Invalid request.\n\nContent is not valid Base64."))?
        }
        other => {
            return Err(ApiError::invalid(&format!(
                "Invalid request.\n\nencoding {other} is not a valid encoding (utf-8 or base64)."
            )));
        }
    };
    let id = repo.write_blob(&bytes).map_err(|e| ApiError::internal(&format!("writing blob: {e}")))?.detach();
    let url = format!("{}/git/blobs/{id}", req.base().repo_api(&r.full_name()));
    Ok(Reply::created_at(json!({ "sha": id.to_string(), "url": url }), url))
}

/// `GET /repos/{owner}/{repo}/git/blobs/{sha}`: base64 content, wrapped at 60 columns as GitHub does.
pub(crate) fn get_blob(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let id = git::parse_oid(req.param("sha")).ok_or_else(ApiError::not_found)?;
    let obj = repo.try_find_object(id).ok().flatten().ok_or_else(ApiError::not_found)?;
    if obj.kind != gix::object::Kind::Blob {
        return Err(ApiError::invalid(&format!("{id} is not a blob")));
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&obj.data);
    let mut wrapped = String::with_capacity(encoded.len() + encoded.len() / 60 + 1);
    for chunk in encoded.as_bytes().chunks(60) {
        wrapped.push_str(&String::from_utf8_lossy(chunk));
        wrapped.push('\n');
    }
    Ok(Reply::ok(json!({
        "sha": id.to_string(),
        "node_id": format!("B_{}", &id.to_string()[..16]),
        "size": obj.data.len(),
        "url": format!("{}/git/blobs/{id}", req.base().repo_api(&r.full_name())),
        "content": wrapped,
        "encoding": "base64",
    })))
}

fn tree_json(
    req: &ApiReq,
    r: &Repo,
    repo: &gix::Repository,
    tree: ObjectId,
    recursive: bool,
) -> Result<Value, ApiError> {
    let api = req.base().repo_api(&r.full_name());
    let entries = git::tree_entries(repo, tree, recursive)?;
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut v = json!({
                "path": e.path,
                "mode": git::mode_str(e.kind),
                "type": git::type_str(e.kind),
                "sha": e.id.to_string(),
            });
            match e.kind {
                EntryKind::Tree => v["url"] = json!(format!("{api}/git/trees/{}", e.id)),
                EntryKind::Commit => {}
                _ => {
                    v["size"] = json!(git::object_size(repo, e.id).unwrap_or(0));
                    v["url"] = json!(format!("{api}/git/blobs/{}", e.id));
                }
            }
            v
        })
        .collect();
    Ok(json!({
        "sha": tree.to_string(),
        "url": format!("{api}/git/trees/{tree}"),
        "tree": items,
        "truncated": false,
    }))
}

fn entry_kind(mode: &str, kind: &str) -> Option<EntryKind> {
    match (mode, kind) {
        ("100644", "blob") => Some(EntryKind::Blob),
        ("100755", "blob") => Some(EntryKind::BlobExecutable),
        ("120000", "blob") => Some(EntryKind::Link),
        ("040000" | "40000", "tree") => Some(EntryKind::Tree),
        ("160000", "commit") => Some(EntryKind::Commit),
        _ => None,
    }
}

/// A path a tree entry may have: relative, `/`-separated, without empty, `.` or `..` components.
pub(crate) fn valid_tree_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.ends_with('/')
        && !path.split('/').any(|c| c == ".." || c == "." || c.is_empty())
}

/// `POST /repos/{owner}/{repo}/git/trees` `{base_tree?, tree: [{path, mode, type, sha|content}]}`.
/// `sha: null` deletes the path (422 when it does not exist); without `base_tree` the tree holds
/// only the given entries.
pub(crate) fn create_tree(shared: &Shared, req: &ApiReq) -> ApiResult {
    let body = req.json_value()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let Some(entries) = body.get("tree").and_then(Value::as_array) else {
        return Err(ApiError::invalid("Invalid request.\n\n\"tree\" wasn't supplied."));
    };
    let base = match body.get("base_tree").and_then(Value::as_str) {
        Some(sha) => {
            let id = git::parse_oid(sha)
                .and_then(|id| match git::kind_of(&repo, id) {
                    Some(gix::object::Kind::Tree) => Some(id),
                    Some(gix::object::Kind::Commit) => git::commit_tree(&repo, id).ok(),
                    _ => None,
                })
                .ok_or_else(|| ApiError::invalid(&format!("base_tree {sha} is not a valid tree oid")))?;
            Some(id)
        }
        None => None,
    };
    let base_id = base.unwrap_or_else(|| ObjectId::empty_tree(repo.object_hash()));
    let mut editor = repo.edit_tree(base_id).map_err(|e| ApiError::internal(&format!("tree editor: {e}")))?;
    for entry in entries {
        let path = entry.get("path").and_then(Value::as_str).unwrap_or_default();
        let mode = entry.get("mode").and_then(Value::as_str).unwrap_or("100644");
        let kind_name = entry.get("type").and_then(Value::as_str).unwrap_or("blob");
        if !valid_tree_path(path) {
            return Err(ApiError::invalid(&format!("tree.path {path:?} is invalid")));
        }
        let kind = entry_kind(mode, kind_name).ok_or_else(|| {
            ApiError::invalid(&format!("Invalid tree info: mode {mode} does not go with type {kind_name} for {path}"))
        })?;
        let sha = entry.get("sha");
        let content = entry.get("content").and_then(Value::as_str);
        match (sha, content) {
            (Some(Value::String(_)), Some(_)) | (None, None) => {
                return Err(ApiError::invalid(
                    "Must supply either tree.sha or tree.content. Request will be rejected if both are present.",
                ));
            }
            (Some(Value::Null), None) => {
                let exists = base.is_some_and(|b| path_exists(&repo, b, path));
                if !exists {
                    return Err(ApiError::invalid(&format!(
                        "tree.path {path} does not exist in base_tree, so it cannot be deleted"
                    )));
                }
                editor.remove(path).map_err(|e| ApiError::internal(&format!("removing {path}: {e}")))?;
            }
            (Some(Value::String(sha)), None) => {
                let expected = match kind {
                    EntryKind::Tree => Some(gix::object::Kind::Tree),
                    EntryKind::Commit => None,
                    _ => Some(gix::object::Kind::Blob),
                };
                let id = git::parse_oid(sha)
                    .filter(|id| expected.is_none() || git::kind_of(&repo, *id) == expected)
                    .ok_or_else(|| ApiError::invalid(&format!("tree.sha {sha} is not a valid {kind_name}")))?;
                editor.upsert(path, kind, id).map_err(|e| ApiError::internal(&format!("adding {path}: {e}")))?;
            }
            (None | Some(Value::Null), Some(text)) => {
                if kind == EntryKind::Tree || kind == EntryKind::Commit {
                    return Err(ApiError::invalid(&format!("tree.content can only be used for blobs ({path})")));
                }
                let blob = repo.write_blob(text.as_bytes()).map_err(|e| ApiError::internal(&e.to_string()))?.detach();
                editor.upsert(path, kind, blob).map_err(|e| ApiError::internal(&format!("adding {path}: {e}")))?;
            }
            _ => return Err(ApiError::invalid(&format!("Invalid tree info for {path}"))),
        }
    }
    let id = editor.write().map_err(|e| ApiError::internal(&format!("writing tree: {e}")))?.detach();
    let v = tree_json(req, r, &repo, id, false)?;
    let location = v["url"].as_str().unwrap_or_default().to_string();
    Ok(Reply::created_at(v, location))
}

pub(crate) fn path_exists(repo: &gix::Repository, tree: ObjectId, path: &str) -> bool {
    let Ok(t) = repo.find_tree(tree) else { return false };
    matches!(t.lookup_entry_by_path(path), Ok(Some(_)))
}

/// `GET /repos/{owner}/{repo}/git/trees/{sha}` (`?recursive=1` lists subtrees too). A commit or
/// branch name is accepted for the tree, as on GitHub.
pub(crate) fn get_tree(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let spec = req.param("sha");
    let tree = git::parse_oid(spec)
        .and_then(|id| match git::kind_of(&repo, id) {
            Some(gix::object::Kind::Tree) => Some(id),
            Some(gix::object::Kind::Commit) => git::commit_tree(&repo, id).ok(),
            _ => None,
        })
        .or_else(|| git::resolve_commitish(&repo, spec).and_then(|c| git::commit_tree(&repo, c).ok()))
        .ok_or_else(ApiError::not_found)?;
    let recursive = req.query("recursive").is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    Ok(Reply::ok(tree_json(req, r, &repo, tree, recursive)?))
}

#[derive(serde::Deserialize)]
struct Actor {
    name: Option<String>,
    email: Option<String>,
    date: Option<String>,
}

fn actor_signature(actor: Option<&Actor>, fallback: &gix::actor::Signature) -> Result<gix::actor::Signature, ApiError> {
    let Some(a) = actor else { return Ok(fallback.clone()) };
    let time = match &a.date {
        Some(date) => {
            let t = time::OffsetDateTime::parse(date, &time::format_description::well_known::Iso8601::DEFAULT)
                .map_err(|_| ApiError::invalid(&format!("Invalid request.\n\n{date} is not a valid date-time.")))?;
            gix::date::Time::new(t.unix_timestamp(), t.offset().whole_seconds())
        }
        None => fallback.time,
    };
    let name = a.name.clone().ok_or_else(|| ApiError::invalid("Invalid request.\n\n\"name\" wasn't supplied."))?;
    let email = a.email.clone().ok_or_else(|| ApiError::invalid("Invalid request.\n\n\"email\" wasn't supplied."))?;
    Ok(git::signature(&name, &email, time))
}

/// Who a commit made through the API is by when the request names nobody: the authenticated user
/// (or the app's bot).
pub(crate) fn default_signature(ident: &Identity) -> gix::actor::Signature {
    let login = ident.login();
    let email = format!("{}+{login}@users.noreply.github.com", json::account_id(&login));
    git::signature(&login, &email, gix::date::Time::now_utc())
}

/// `POST /repos/{owner}/{repo}/git/commits` `{message, tree, parents, author?, committer?}`.
/// Commits made with an installation token are reported as verified, as GitHub signs them.
pub(crate) fn create_commit(shared: &Shared, req: &ApiReq) -> ApiResult {
    #[derive(serde::Deserialize)]
    struct Body {
        message: Option<String>,
        tree: Option<String>,
        #[serde(default)]
        parents: Vec<String>,
        author: Option<Actor>,
        committer: Option<Actor>,
    }
    let body: Body = req.json()?;
    let mut st = shared.lock();
    let r = find_mut(&mut st, req)?;
    let repo = r.repo();
    require_not_empty(&repo)?;
    let Some(message) = body.message else {
        return Err(ApiError::validation(vec![
            json!({"value": null, "resource": "Commit", "field": "message", "code": "missing"}),
        ]));
    };
    let Some(tree_sha) = body.tree else {
        return Err(ApiError::validation(vec![
            json!({"value": null, "resource": "Commit", "field": "tree", "code": "missing"}),
        ]));
    };
    let tree = git::parse_oid(&tree_sha)
        .filter(|id| git::kind_of(&repo, *id) == Some(gix::object::Kind::Tree))
        .ok_or_else(|| ApiError::invalid("Tree SHA does not exist"))?;
    let mut parents = Vec::new();
    for p in &body.parents {
        let id = git::parse_oid(p)
            .filter(|id| git::kind_of(&repo, *id) == Some(gix::object::Kind::Commit))
            .ok_or_else(|| ApiError::invalid("Parent SHA does not exist or is not a commit object"))?;
        parents.push(id);
    }
    let fallback = default_signature(req.ident());
    let author = actor_signature(body.author.as_ref(), &fallback)?;
    let committer = match body.committer.as_ref() {
        Some(c) => actor_signature(Some(c), &fallback)?,
        None => author.clone(),
    };
    let id = git::write_commit(&repo, tree, &parents, &author, &committer, &message)?;
    if matches!(req.ident(), Identity::Installation { .. }) {
        r.verified.insert(id.to_string());
    }
    let info = git::commit_info(&repo, id).ok_or_else(|| ApiError::internal("reading the new commit"))?;
    let v = json::git_commit(req.base(), r, &info);
    let location = v["url"].as_str().unwrap_or_default().to_string();
    Ok(Reply::created_at(v, location))
}

/// `GET /repos/{owner}/{repo}/git/commits/{sha}`.
pub(crate) fn get_commit(shared: &Shared, req: &ApiReq) -> ApiResult {
    let st = shared.lock();
    let r = find(&st, req)?;
    let repo = r.repo();
    let id = git::parse_oid(req.param("sha"))
        .filter(|id| git::kind_of(&repo, *id) == Some(gix::object::Kind::Commit))
        .ok_or_else(ApiError::not_found)?;
    let info = git::commit_info(&repo, id).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(json::git_commit(req.base(), r, &info)))
}
