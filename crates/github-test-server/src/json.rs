//! JSON renderings of GitHub's objects, with every field that clients such as octocrab require.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::git::{CommitInfo, SigInfo};
use crate::http::Base;
use crate::state::{CheckRunRec, CommentRec, InstallationRec, LabelRec, Pull, ReleaseRec, Repo, StatusRec};

/// `2011-01-26T19:01:12Z`.
pub(crate) fn ts(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.format(&f).unwrap_or_default()
}

pub(crate) fn ts_opt(t: Option<OffsetDateTime>) -> Value {
    t.map(|t| json!(ts(t))).unwrap_or(Value::Null)
}

pub(crate) fn ts_secs(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds).map(ts).unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// A stable id for an account, derived from its login (FNV-1a), so that no registry is needed.
pub(crate) fn account_id(login: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in login.to_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % 90_000_000 + 1_000_000
}

/// A global node id in GitHub's current format, e.g. `R_…` for a repository.
pub(crate) fn node_id(prefix: &str, id: u64) -> String {
    use base64::Engine;
    format!("{prefix}_{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{prefix}{id:012}")))
}

pub(crate) fn pull_node_id(p: &Pull) -> String {
    node_id("PR", p.id)
}

/// A `simple-user`: every URL field octocrab's `Author` needs.
pub(crate) fn user(base: &Base, login: &str, kind: &str) -> Value {
    let id = account_id(login);
    let api = format!("{}/users/{login}", base.api);
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(if kind == "Organization" { "O" } else { "U" }, id),
        "avatar_url": format!("{}/avatars/u/{id}?v=4", base.web),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{login}", base.web),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": kind,
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// A user by login: `Bot` for `…[bot]`, `User` otherwise.
pub(crate) fn person(base: &Base, login: &str) -> Value {
    user(base, login, if login.ends_with("[bot]") { "Bot" } else { "User" })
}

pub(crate) fn owner_kind(login: &str, config_login: &str) -> &'static str {
    if login.eq_ignore_ascii_case(config_login) { "User" } else { "Organization" }
}

/// A full `repository`.
pub(crate) fn repo(base: &Base, r: &Repo, owner_kind: &str, can_push: bool) -> Value {
    let full = r.full_name();
    let api = base.repo_api(&full);
    let web = base.repo_web(&full);
    let visibility = if r.opts.private { "private" } else { "public" };
    json!({
        "id": r.id,
        "node_id": node_id("R", r.id),
        "name": r.name,
        "full_name": full,
        "private": r.opts.private,
        "owner": user(base, &r.owner, owner_kind),
        "html_url": web,
        "description": r.opts.description,
        "fork": r.opts.fork,
        "url": api,
        "forks_url": format!("{api}/forks"),
        "keys_url": format!("{api}/keys{{/key_id}}"),
        "collaborators_url": format!("{api}/collaborators{{/collaborator}}"),
        "teams_url": format!("{api}/teams"),
        "hooks_url": format!("{api}/hooks"),
        "issue_events_url": format!("{api}/issues/events{{/number}}"),
        "events_url": format!("{api}/events"),
        "assignees_url": format!("{api}/assignees{{/user}}"),
        "branches_url": format!("{api}/branches{{/branch}}"),
        "tags_url": format!("{api}/tags"),
        "blobs_url": format!("{api}/git/blobs{{/sha}}"),
        "git_tags_url": format!("{api}/git/tags{{/sha}}"),
        "git_refs_url": format!("{api}/git/refs{{/sha}}"),
        "trees_url": format!("{api}/git/trees{{/sha}}"),
        "statuses_url": format!("{api}/statuses/{{sha}}"),
        "languages_url": format!("{api}/languages"),
        "stargazers_url": format!("{api}/stargazers"),
        "contributors_url": format!("{api}/contributors"),
        "subscribers_url": format!("{api}/subscribers"),
        "subscription_url": format!("{api}/subscription"),
        "commits_url": format!("{api}/commits{{/sha}}"),
        "git_commits_url": format!("{api}/git/commits{{/sha}}"),
        "comments_url": format!("{api}/comments{{/number}}"),
        "issue_comment_url": format!("{api}/issues/comments{{/number}}"),
        "contents_url": format!("{api}/contents/{{+path}}"),
        "compare_url": format!("{api}/compare/{{base}}...{{head}}"),
        "merges_url": format!("{api}/merges"),
        "archive_url": format!("{api}/{{archive_format}}{{/ref}}"),
        "downloads_url": format!("{api}/downloads"),
        "issues_url": format!("{api}/issues{{/number}}"),
        "pulls_url": format!("{api}/pulls{{/number}}"),
        "milestones_url": format!("{api}/milestones{{/number}}"),
        "notifications_url": format!("{api}/notifications{{?since,all,participating}}"),
        "labels_url": format!("{api}/labels{{/name}}"),
        "releases_url": format!("{api}/releases{{/id}}"),
        "deployments_url": format!("{api}/deployments"),
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
        "pushed_at": ts(r.pushed_at),
        "git_url": format!("git://{}/{full}.git", base.web.trim_start_matches("http://")),
        "ssh_url": format!("git@{}:{full}.git", base.web.trim_start_matches("http://")),
        "clone_url": format!("{}/{full}.git", base.web),
        "svn_url": web,
        "homepage": null,
        "size": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "language": null,
        "has_issues": true,
        "has_projects": true,
        "has_downloads": true,
        "has_wiki": true,
        "has_pages": false,
        "has_discussions": false,
        "forks_count": 0,
        "mirror_url": null,
        "archived": r.opts.archived,
        "disabled": false,
        "open_issues_count": r.pulls.iter().filter(|p| p.open).count(),
        "license": null,
        "allow_forking": true,
        "is_template": false,
        "web_commit_signoff_required": false,
        "topics": r.opts.topics,
        "visibility": visibility,
        "forks": 0,
        "open_issues": r.pulls.iter().filter(|p| p.open).count(),
        "watchers": 0,
        "default_branch": r.opts.default_branch,
        "allow_auto_merge": r.opts.allow_auto_merge,
        "allow_merge_commit": true,
        "allow_squash_merge": true,
        "allow_rebase_merge": true,
        "delete_branch_on_merge": false,
        "permissions": {
            "admin": can_push,
            "maintain": can_push,
            "push": can_push,
            "triage": can_push,
            "pull": true,
        },
    })
}

pub(crate) fn label(base: &Base, r: &Repo, l: &LabelRec) -> Value {
    json!({
        "id": l.id,
        "node_id": node_id("LA", l.id),
        "url": format!("{}/labels/{}", base.repo_api(&r.full_name()), form_path(&l.name)),
        "name": l.name,
        "color": l.color,
        "default": false,
        "description": l.description,
    })
}

/// Percent-encode a path segment.
pub(crate) fn form_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pull_labels(base: &Base, r: &Repo, p: &Pull) -> Vec<Value> {
    p.labels.iter().filter_map(|n| r.labels.get(&n.to_lowercase())).map(|l| label(base, r, l)).collect()
}

/// A pull request. `full` adds what only `GET /pulls/{n}` has (mergeability, counts); callers
/// refresh the record first so that the head follows its branch.
pub(crate) fn pull(base: &Base, r: &Repo, p: &Pull, full: bool) -> Value {
    let full_name = r.full_name();
    let api = base.repo_api(&full_name);
    let web = base.repo_web(&full_name);
    let url = format!("{api}/pulls/{}", p.number);
    let html = format!("{web}/pull/{}", p.number);
    let issue = format!("{api}/issues/{}", p.number);
    let repo_json = repo(base, r, "Organization", true);
    let base_sha = p
        .base_sha_closed
        .clone()
        .or_else(|| crate::git::ref_target(&r.repo(), &format!("refs/heads/{}", p.base_ref)).map(|id| id.to_string()))
        .unwrap_or_default();
    let owner = user(base, &r.owner, "Organization");
    let state = if p.open { "open" } else { "closed" };
    let mut v = json!({
        "url": url,
        "id": p.id,
        "node_id": pull_node_id(p),
        "html_url": html,
        "diff_url": format!("{html}.diff"),
        "patch_url": format!("{html}.patch"),
        "issue_url": issue,
        "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"),
        "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{issue}/comments"),
        "statuses_url": format!("{api}/statuses/{}", p.head_sha),
        "number": p.number,
        "state": state,
        "locked": false,
        "title": p.title,
        "user": person(base, &p.user),
        "body": p.body,
        "labels": pull_labels(base, r, p),
        "milestone": null,
        "active_lock_reason": null,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "closed_at": ts_opt(p.closed_at),
        "merged_at": ts_opt(p.merged_at),
        "merge_commit_sha": p.merge_commit_sha,
        "assignee": p.assignees.first().map(|a| person(base, a)),
        "assignees": p.assignees.iter().map(|a| person(base, a)).collect::<Vec<_>>(),
        "requested_reviewers": p.requested_reviewers.iter().map(|a| person(base, a)).collect::<Vec<_>>(),
        "requested_teams": p.requested_teams.iter().map(|t| team(base, &r.owner, t)).collect::<Vec<_>>(),
        "head": {
            "label": format!("{}:{}", r.owner, p.head_ref),
            "ref": p.head_ref,
            "sha": p.head_sha,
            "user": owner.clone(),
            "repo": repo_json.clone(),
        },
        "base": {
            "label": format!("{}:{}", r.owner, p.base_ref),
            "ref": p.base_ref,
            "sha": base_sha,
            "user": owner,
            "repo": repo_json,
        },
        "_links": {
            "self": { "href": url },
            "html": { "href": html },
            "issue": { "href": issue },
            "comments": { "href": format!("{issue}/comments") },
            "review_comments": { "href": format!("{url}/comments") },
            "review_comment": { "href": format!("{api}/pulls/comments{{/number}}") },
            "commits": { "href": format!("{url}/commits") },
            "statuses": { "href": format!("{api}/statuses/{}", p.head_sha) },
        },
        "author_association": "MEMBER",
        "auto_merge": p.auto_merge.as_ref().map(|a| json!({
            "enabled_by": person(base, &a.enabled_by),
            "merge_method": a.method,
            "commit_title": a.commit_title,
            "commit_message": a.commit_message,
        })),
        "draft": p.draft,
    });
    if full && let Some(obj) = v.as_object_mut() {
        let merged = p.merged_at.is_some();
        let (mergeable, mergeable_state) = if merged || !p.open {
            (Value::Null, "unknown")
        } else {
            match crate::pulls::mergeable(r, p) {
                Some(true) if p.draft => (json!(true), "draft"),
                Some(true) => (json!(true), "clean"),
                Some(false) => (json!(false), "dirty"),
                None => (Value::Null, "unknown"),
            }
        };
        let comments = r.comments.iter().filter(|c| c.issue == p.number).count();
        obj.insert("merged".into(), json!(merged));
        obj.insert("mergeable".into(), mergeable);
        obj.insert("rebaseable".into(), json!(mergeable_state == "clean" || mergeable_state == "draft"));
        obj.insert("mergeable_state".into(), json!(mergeable_state));
        obj.insert("merged_by".into(), p.merged_by.as_ref().map(|m| person(base, m)).unwrap_or(Value::Null));
        obj.insert("comments".into(), json!(comments));
        obj.insert("review_comments".into(), json!(0));
        obj.insert("maintainer_can_modify".into(), json!(p.maintainer_can_modify));
        let (commits, changed) = crate::pulls::diff_stats(r, p);
        obj.insert("commits".into(), json!(commits));
        obj.insert("additions".into(), json!(0));
        obj.insert("deletions".into(), json!(0));
        obj.insert("changed_files".into(), json!(changed));
    }
    v
}

pub(crate) fn team(base: &Base, org: &str, slug: &str) -> Value {
    let id = account_id(&format!("{org}/{slug}"));
    let url = format!("{}/orgs/{org}/teams/{slug}", base.api);
    json!({
        "id": id,
        "node_id": node_id("T", id),
        "url": url,
        "html_url": format!("{}/orgs/{org}/teams/{slug}", base.web),
        "name": slug,
        "slug": slug,
        "description": null,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": format!("{url}/members{{/member}}"),
        "repositories_url": format!("{url}/repos"),
        "parent": null,
    })
}

/// The issue view of a pull request (what the issues endpoints return).
pub(crate) fn issue(base: &Base, r: &Repo, p: &Pull) -> Value {
    let full_name = r.full_name();
    let api = base.repo_api(&full_name);
    let web = base.repo_web(&full_name);
    let url = format!("{api}/issues/{}", p.number);
    let html = format!("{web}/pull/{}", p.number);
    json!({
        "id": p.id,
        "node_id": node_id("I", p.id),
        "url": url,
        "repository_url": api,
        "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"),
        "events_url": format!("{url}/events"),
        "html_url": html,
        "number": p.number,
        "state": if p.open { "open" } else { "closed" },
        "state_reason": null,
        "title": p.title,
        "body": p.body,
        "user": person(base, &p.user),
        "labels": pull_labels(base, r, p),
        "assignee": p.assignees.first().map(|a| person(base, a)),
        "assignees": p.assignees.iter().map(|a| person(base, a)).collect::<Vec<_>>(),
        "milestone": null,
        "locked": false,
        "active_lock_reason": null,
        "comments": r.comments.iter().filter(|c| c.issue == p.number).count(),
        "pull_request": {
            "url": format!("{api}/pulls/{}", p.number),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "merged_at": ts_opt(p.merged_at),
        },
        "closed_at": ts_opt(p.closed_at),
        "closed_by": null,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
        "author_association": "MEMBER",
    })
}

pub(crate) fn comment(base: &Base, r: &Repo, c: &CommentRec) -> Value {
    let api = base.repo_api(&r.full_name());
    json!({
        "id": c.id,
        "node_id": node_id("IC", c.id),
        "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{}/pull/{}#issuecomment-{}", base.repo_web(&r.full_name()), c.issue, c.id),
        "issue_url": format!("{api}/issues/{}", c.issue),
        "body": c.body,
        "user": person(base, &c.user),
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "author_association": "MEMBER",
    })
}

pub(crate) fn status(base: &Base, r: &Repo, s: &StatusRec) -> Value {
    json!({
        "url": format!("{}/statuses/{}", base.repo_api(&r.full_name()), s.sha),
        "avatar_url": format!("{}/avatars/u/{}?v=4", base.web, account_id(&s.creator)),
        "id": s.id,
        "node_id": node_id("SC", s.id),
        "state": s.state,
        "description": s.description,
        "target_url": s.target_url,
        "context": s.context,
        "created_at": ts(s.created_at),
        "updated_at": ts(s.created_at),
        "creator": person(base, &s.creator),
    })
}

pub(crate) fn check_run(base: &Base, r: &Repo, c: &CheckRunRec) -> Value {
    let api = base.repo_api(&r.full_name());
    let url = format!("{api}/check-runs/{}", c.id);
    let mut output = c.output.clone();
    if let Some(o) = output.as_object_mut() {
        for k in ["title", "summary", "text"] {
            o.entry(k).or_insert(Value::Null);
        }
        o.insert("annotations_count".into(), json!(0));
        o.insert("annotations_url".into(), json!(format!("{url}/annotations")));
    }
    let app_id = c.app_id.unwrap_or(15368);
    json!({
        "id": c.id,
        "head_sha": c.head_sha,
        "node_id": node_id("CR", c.id),
        "external_id": c.external_id.clone().unwrap_or_default(),
        "url": url,
        "html_url": format!("{}/runs/{}", base.repo_web(&r.full_name()), c.id),
        "details_url": c.details_url,
        "status": c.status,
        "conclusion": c.conclusion,
        "started_at": ts(c.started_at),
        "completed_at": ts_opt(c.completed_at),
        "output": output,
        "name": c.name,
        "check_suite": { "id": c.id + 1_000_000 },
        "app": {
            "id": app_id,
            "slug": format!("app-{app_id}"),
            "node_id": node_id("A", app_id),
            "name": format!("app-{app_id}"),
            "owner": user(base, &r.owner, "Organization"),
        },
        "pull_requests": [],
    })
}

pub(crate) fn release(base: &Base, r: &Repo, rel: &ReleaseRec) -> Value {
    let api = base.repo_api(&r.full_name());
    let web = base.repo_web(&r.full_name());
    let url = format!("{api}/releases/{}", rel.id);
    let tag = form_path(&rel.tag_name);
    let html = if rel.draft {
        format!("{web}/releases/tag/untagged-{:x}", rel.id)
    } else {
        format!("{web}/releases/tag/{tag}")
    };
    json!({
        "url": url,
        "html_url": html,
        "assets_url": format!("{url}/assets"),
        "upload_url": format!("{}/uploads/repos/{}/releases/{}/assets{{?name,label}}", base.web, r.full_name(), rel.id),
        "tarball_url": format!("{api}/tarball/{tag}"),
        "zipball_url": format!("{api}/zipball/{tag}"),
        "id": rel.id,
        "node_id": node_id("RE", rel.id),
        "tag_name": rel.tag_name,
        "target_commitish": rel.target_commitish,
        "name": rel.name,
        "body": rel.body,
        "draft": rel.draft,
        "prerelease": rel.prerelease,
        "immutable": false,
        "created_at": ts(rel.created_at),
        "published_at": ts_opt(rel.published_at),
        "author": person(base, &rel.author),
        "assets": [],
    })
}

fn git_actor(s: &SigInfo) -> Value {
    json!({ "name": s.name, "email": s.email, "date": ts_secs(s.seconds) })
}

pub(crate) fn verification(verified: bool) -> Value {
    if verified {
        json!({
            "verified": true,
            "reason": "valid",
            "signature": "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJtZXN0LXNlcnZlcgAKCRC1aQ7uu5UhlA==\n-----END PGP SIGNATURE-----\n",
            "payload": null,
            "verified_at": ts(crate::state::now()),
        })
    } else {
        json!({ "verified": false, "reason": "unsigned", "signature": null, "payload": null, "verified_at": null })
    }
}

/// A `git-commit` (git data API).
pub(crate) fn git_commit(base: &Base, r: &Repo, c: &CommitInfo) -> Value {
    let api = base.repo_api(&r.full_name());
    let web = base.repo_web(&r.full_name());
    let sha = c.id.to_string();
    json!({
        "sha": sha,
        "node_id": node_id("C", u64::from_str_radix(&sha[..12], 16).unwrap_or(0)),
        "url": format!("{api}/git/commits/{sha}"),
        "html_url": format!("{web}/commit/{sha}"),
        "author": git_actor(&c.author),
        "committer": git_actor(&c.committer),
        "tree": { "sha": c.tree.to_string(), "url": format!("{api}/git/trees/{}", c.tree) },
        "message": c.message,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p.to_string(),
            "url": format!("{api}/git/commits/{p}"),
            "html_url": format!("{web}/commit/{p}"),
        })).collect::<Vec<_>>(),
        "verification": verification(r.verified.contains(&sha)),
    })
}

/// A `commit` (REST commits API), as `GET /repos/{o}/{r}/commits/{ref}` and branches embed it.
pub(crate) fn repo_commit(base: &Base, r: &Repo, c: &CommitInfo) -> Value {
    let api = base.repo_api(&r.full_name());
    let web = base.repo_web(&r.full_name());
    let sha = c.id.to_string();
    json!({
        "sha": sha,
        "node_id": node_id("C", u64::from_str_radix(&sha[..12], 16).unwrap_or(0)),
        "commit": {
            "author": git_actor(&c.author),
            "committer": git_actor(&c.committer),
            "message": c.message,
            "tree": { "sha": c.tree.to_string(), "url": format!("{api}/git/trees/{}", c.tree) },
            "url": format!("{api}/git/commits/{sha}"),
            "comment_count": 0,
            "verification": verification(r.verified.contains(&sha)),
        },
        "url": format!("{api}/commits/{sha}"),
        "html_url": format!("{web}/commit/{sha}"),
        "comments_url": format!("{api}/commits/{sha}/comments"),
        "author": null,
        "committer": null,
        "parents": c.parents.iter().map(|p| json!({
            "sha": p.to_string(),
            "url": format!("{api}/commits/{p}"),
            "html_url": format!("{web}/commit/{p}"),
        })).collect::<Vec<_>>(),
    })
}

/// A `git-ref`.
pub(crate) fn git_ref(base: &Base, r: &Repo, name: &str, target: &str, kind: &str) -> Value {
    let api = base.repo_api(&r.full_name());
    let short = name.trim_start_matches("refs/");
    let object_path = match kind {
        "tag" => "tags",
        "tree" => "trees",
        "blob" => "blobs",
        _ => "commits",
    };
    json!({
        "ref": name,
        "node_id": node_id("REF", account_id(&format!("{}:{name}", r.id))),
        "url": format!("{api}/git/refs/{short}"),
        "object": { "sha": target, "type": kind, "url": format!("{api}/git/{object_path}/{target}") },
    })
}

pub(crate) fn installation(base: &Base, i: &InstallationRec, config_login: &str) -> Value {
    let kind = owner_kind(&i.account, config_login);
    json!({
        "id": i.id,
        "account": user(base, &i.account, kind),
        "repository_selection": "all",
        "access_tokens_url": format!("{}/app/installations/{}/access_tokens", base.api, i.id),
        "repositories_url": format!("{}/installation/repositories", base.api),
        "html_url": format!("{}/organizations/{}/settings/installations/{}", base.web, i.account, i.id),
        "app_id": i.app_id,
        "app_slug": format!("app-{}", i.app_id),
        "target_id": account_id(&i.account),
        "target_type": kind,
        "permissions": crate::state::app_permissions(),
        "events": ["pull_request", "push", "check_run"],
        "created_at": ts(i.created_at),
        "updated_at": ts(i.created_at),
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": null,
        "suspended_at": null,
    })
}
