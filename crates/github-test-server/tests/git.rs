//! Git data, pull requests and merges, statuses, check runs, releases, and smart-HTTP clones:
//! every write is checked against the bare repository with the git CLI.

mod common;

use common::{Api, TOKEN, git, server_with_repo};
use github_test_server::RepoOptions;
use serde_json::{Value, json};

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_tree_commit_ref_lands_a_real_commit() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let dir = server.repo_path("acme", "api");
    let main = api.get("/repos/acme/api/git/ref/heads/main").await;
    assert_eq!(main.status, 200);
    assert_eq!(main.body["ref"], "refs/heads/main");
    assert_eq!(main.body["object"]["type"], "commit");
    let head = s(&main.body["object"]["sha"]);
    assert_eq!(head, git(&dir, &["rev-parse", "refs/heads/main"]));

    let blob = api.post("/repos/acme/api/git/blobs", json!({"content": "aGVsbG8K", "encoding": "base64"})).await;
    assert_eq!(blob.status, 201);
    let blob_sha = s(&blob.body["sha"]);
    assert_eq!(git(&dir, &["cat-file", "-p", &blob_sha]), "hello");
    let got = api.get(&format!("/repos/acme/api/git/blobs/{blob_sha}")).await;
    assert_eq!(got.body["content"], "aGVsbG8K\n");
    assert_eq!(got.body["size"], 6);

    let base_tree = s(&api.get(&format!("/repos/acme/api/git/commits/{head}")).await.body["tree"]["sha"]);
    let tree = api
        .post(
            "/repos/acme/api/git/trees",
            json!({"base_tree": base_tree, "tree": [
                {"path": "docs/hello.txt", "mode": "100644", "type": "blob", "sha": blob_sha},
                {"path": "run.sh", "mode": "100755", "type": "blob", "content": "#!/bin/sh\n"},
            ]}),
        )
        .await;
    assert_eq!(tree.status, 201, "{}", tree.text);
    let tree_sha = s(&tree.body["sha"]);
    let paths: Vec<String> = tree.body["tree"].as_array().expect("entries").iter().map(|e| s(&e["path"])).collect();
    assert_eq!(paths, ["README.md", "docs", "run.sh", "src"]);
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", &tree_sha]),
        "README.md\ndocs/hello.txt\nrun.sh\nsrc/lib.rs"
    );
    assert!(git(&dir, &["ls-tree", &tree_sha, "run.sh"]).starts_with("100755 blob"));
    let recursive = api.get(&format!("/repos/acme/api/git/trees/{tree_sha}?recursive=1")).await;
    let paths: Vec<String> =
        recursive.body["tree"].as_array().expect("entries").iter().map(|e| s(&e["path"])).collect();
    assert_eq!(paths, ["README.md", "docs", "docs/hello.txt", "run.sh", "src", "src/lib.rs"]);

    let commit = api
        .post(
            "/repos/acme/api/git/commits",
            json!({"message": "Add docs\n\nBody.", "tree": tree_sha, "parents": [head],
                   "author": {"name": "Ann", "email": "ann@example.com", "date": "2024-05-01T12:00:00Z"}}),
        )
        .await;
    assert_eq!(commit.status, 201);
    let sha = s(&commit.body["sha"]);
    assert_eq!(commit.body["tree"]["sha"], tree_sha.as_str());
    assert_eq!(commit.body["parents"][0]["sha"], head.as_str());
    assert_eq!(commit.body["verification"]["verified"], false);
    assert_eq!(commit.body["author"]["date"], "2024-05-01T12:00:00Z");
    let raw = git(&dir, &["cat-file", "-p", &sha]);
    assert!(raw.contains(&format!("tree {tree_sha}")) && raw.contains(&format!("parent {head}")), "{raw}");
    assert!(raw.contains("author Ann <ann@example.com> 1714564800 +0000"), "{raw}");
    assert!(raw.ends_with("Add docs\n\nBody."), "{raw}");

    let created = api.post("/repos/acme/api/git/refs", json!({"ref": "refs/heads/docs", "sha": sha})).await;
    assert_eq!(created.status, 201);
    assert_eq!(
        git(&dir, &["log", "--format=%H %s", "refs/heads/docs"]).lines().next(),
        Some(format!("{sha} Add docs").as_str())
    );
    assert_eq!(git(&dir, &["show", "docs:docs/hello.txt"]), "hello");

    // Reference errors.
    let dup = api.post("/repos/acme/api/git/refs", json!({"ref": "refs/heads/docs", "sha": sha})).await;
    assert_eq!((dup.status, s(&dup.body["message"])), (422, "Reference already exists".to_string()));
    let not_ff = api.patch("/repos/acme/api/git/refs/heads/docs", json!({"sha": head})).await;
    assert_eq!((not_ff.status, s(&not_ff.body["message"])), (422, "Update is not a fast forward".to_string()));
    let forced = api.patch("/repos/acme/api/git/refs/heads/docs", json!({"sha": head, "force": true})).await;
    assert_eq!(forced.status, 200);
    assert_eq!(git(&dir, &["rev-parse", "refs/heads/docs"]), head);
    let ff = api.patch("/repos/acme/api/git/refs/heads/docs", json!({"sha": sha})).await;
    assert_eq!(ff.status, 200);
    let matching = api.get("/repos/acme/api/git/matching-refs/heads/do").await;
    assert_eq!(matching.body.as_array().expect("array").len(), 1);
    assert_eq!(api.delete("/repos/acme/api/git/refs/heads/docs").await.status, 204);
    assert!(git(&dir, &["for-each-ref", "refs/heads/docs"]).is_empty());
    let gone = api.delete("/repos/acme/api/git/refs/heads/docs").await;
    assert_eq!((gone.status, s(&gone.body["message"])), (422, "Reference does not exist".to_string()));
    assert_eq!(api.get("/repos/acme/api/git/ref/heads/docs").await.status, 404);
    let missing_obj = api.post("/repos/acme/api/git/refs", json!({"ref": "refs/heads/x", "sha": "1".repeat(40)})).await;
    assert_eq!(missing_obj.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tree_entry_with_null_sha_deletes_the_path() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let dir = server.repo_path("acme", "api");
    let head = git(&dir, &["rev-parse", "main"]);
    let base_tree = git(&dir, &["rev-parse", "main^{tree}"]);
    let tree = api
        .post(
            "/repos/acme/api/git/trees",
            json!({"base_tree": base_tree, "tree": [{"path": "src/lib.rs", "mode": "100644", "type": "blob", "sha": null}]}),
        )
        .await;
    assert_eq!(tree.status, 201, "{}", tree.text);
    let tree_sha = s(&tree.body["sha"]);
    assert_eq!(git(&dir, &["ls-tree", "-r", "--name-only", &tree_sha]), "README.md");

    let missing = api
        .post(
            "/repos/acme/api/git/trees",
            json!({"base_tree": base_tree, "tree": [{"path": "nope.txt", "mode": "100644", "type": "blob", "sha": null}]}),
        )
        .await;
    assert_eq!(missing.status, 422);
    let neither = api
        .post(
            "/repos/acme/api/git/trees",
            json!({"base_tree": base_tree, "tree": [{"path": "x", "mode": "100644", "type": "blob"}]}),
        )
        .await;
    assert_eq!(neither.status, 422);
    assert!(s(&neither.body["message"]).starts_with("Must supply either tree.sha or tree.content"));

    // Without base_tree the tree holds only the given entries.
    let only = api
        .post(
            "/repos/acme/api/git/trees",
            json!({"tree": [{"path": "only.txt", "mode": "100644", "type": "blob", "content": "x"}]}),
        )
        .await;
    assert_eq!(git(&dir, &["ls-tree", "-r", "--name-only", &s(&only.body["sha"])]), "only.txt");
    let _ = head;
}

async fn open_pr(api: &Api, head: &str, title: &str) -> Value {
    let pr =
        api.post("/repos/acme/api/pulls", json!({"title": title, "head": head, "base": "main", "body": "Body"})).await;
    assert_eq!(pr.status, 201, "{}", pr.text);
    pr.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_duplicates_and_head_tracking() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let first = server.push_commit("acme", "api", "feature", &[("f.txt", b"1\n")], "first");
    let pr = open_pr(&api, "acme:feature", "Feature").await;
    assert_eq!(pr["number"], 1);
    assert_eq!(pr["state"], "open");
    assert_eq!(pr["head"]["ref"], "feature");
    assert_eq!(pr["head"]["sha"], first.as_str());
    assert_eq!(pr["head"]["repo"]["full_name"], "acme/api");
    assert_eq!(pr["base"]["ref"], "main");
    assert_eq!(pr["merged"], false);
    assert_eq!(pr["draft"], false);
    assert!(pr["node_id"].as_str().expect("node id").starts_with("PR_"));
    assert_eq!(pr["html_url"], format!("{}/acme/api/pull/1", server.api_url()));

    let dup = api.post("/repos/acme/api/pulls", json!({"title": "Again", "head": "feature", "base": "main"})).await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.body["message"], "Validation Failed");
    assert_eq!(dup.body["errors"][0]["message"], "A pull request already exists for acme:feature.");

    git(&server.repo_path("acme", "api"), &["update-ref", "refs/heads/same", "refs/heads/main"]);
    let empty = api.post("/repos/acme/api/pulls", json!({"title": "Empty", "head": "same", "base": "main"})).await;
    assert_eq!(empty.status, 422);
    assert_eq!(empty.body["errors"][0]["message"], "No commits between main and same");
    let nohead = api.post("/repos/acme/api/pulls", json!({"title": "X", "head": "nope", "base": "main"})).await;
    assert_eq!(nohead.body["errors"][0]["field"], "head");

    // The head follows pushes; lists filter by head and state.
    let second = server.push_commit("acme", "api", "feature", &[("f.txt", b"2\n")], "second");
    assert_eq!(api.get("/repos/acme/api/pulls/1").await.body["head"]["sha"], second.as_str());
    assert_eq!(api.get("/repos/acme/api/pulls?head=acme:feature").await.body.as_array().expect("list").len(), 1);
    assert_eq!(api.get("/repos/acme/api/pulls?head=acme:other").await.body.as_array().expect("list").len(), 0);
    assert_eq!(api.get("/repos/acme/api/pulls/1/commits").await.body.as_array().expect("list").len(), 2);

    // Edit, close, reopen.
    let edited = api.patch("/repos/acme/api/pulls/1", json!({"title": "Renamed", "body": "New"})).await;
    assert_eq!((s(&edited.body["title"]), s(&edited.body["body"])), ("Renamed".to_string(), "New".to_string()));
    let closed = api.patch("/repos/acme/api/pulls/1", json!({"state": "closed"})).await;
    assert_eq!(closed.body["state"], "closed");
    assert_eq!(api.get("/repos/acme/api/pulls").await.body.as_array().expect("list").len(), 0);
    assert_eq!(api.get("/repos/acme/api/pulls?state=closed").await.body.as_array().expect("list").len(), 1);
    assert_eq!(api.patch("/repos/acme/api/pulls/1", json!({"state": "open"})).await.body["state"], "open");

    // Reviewers, labels, assignees, comments.
    let reviewed = api
        .post("/repos/acme/api/pulls/1/requested_reviewers", json!({"reviewers": ["octo"], "team_reviewers": ["core"]}))
        .await;
    assert_eq!(reviewed.status, 201);
    assert_eq!(reviewed.body["requested_reviewers"][0]["login"], "octo");
    assert_eq!(reviewed.body["requested_teams"][0]["slug"], "core");
    let self_review =
        api.post("/repos/acme/api/pulls/1/requested_reviewers", json!({"reviewers": ["test-user"]})).await;
    assert_eq!(self_review.status, 422);
    let labels = api.post("/repos/acme/api/issues/1/labels", json!({"labels": ["deps", "bot"]})).await;
    assert_eq!(labels.status, 200);
    assert_eq!(labels.body.as_array().expect("labels").len(), 2);
    let replaced = api.put("/repos/acme/api/issues/1/labels", json!({"labels": ["convoy"]})).await;
    assert_eq!(replaced.body[0]["name"], "convoy");
    assert_eq!(api.get("/repos/acme/api/issues/1/labels").await.body.as_array().expect("labels").len(), 1);
    assert_eq!(api.delete("/repos/acme/api/issues/1/labels/nope").await.status, 404);
    let assigned = api.post("/repos/acme/api/issues/1/assignees", json!({"assignees": ["ann"]})).await;
    assert_eq!(assigned.status, 201);
    assert_eq!(assigned.body["assignees"][0]["login"], "ann");
    let comment = api.post("/repos/acme/api/issues/1/comments", json!({"body": "hello"})).await;
    assert_eq!(comment.status, 201);
    assert_eq!(server.issue_comments("acme", "api", 1)[0]["body"], "hello");
    let state = &server.pulls("acme", "api")[0];
    assert_eq!(state["labels"][0]["name"], "convoy");
    assert_eq!(state["assignees"][0]["login"], "ann");
    assert_eq!(state["comments"], 1);

    // Deleting the head branch closes the pull request, as on GitHub.
    assert_eq!(api.delete("/repos/acme/api/git/refs/heads/feature").await.status, 204);
    assert_eq!(api.get("/repos/acme/api/pulls/1").await.body["state"], "closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_methods_make_real_history() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let dir = server.repo_path("acme", "api");

    server.push_commit("acme", "api", "m", &[("m.txt", b"m\n")], "m change");
    server.push_commit("acme", "api", "sq", &[("s1.txt", b"1\n")], "squash one");
    server.push_commit("acme", "api", "sq", &[("s2.txt", b"2\n")], "squash two");
    server.push_commit("acme", "api", "rb", &[("r1.txt", b"1\n")], "rebase one");
    let rb_head = server.push_commit("acme", "api", "rb", &[("r2.txt", b"2\n")], "rebase two");
    for (branch, title) in [("m", "Merge me"), ("sq", "Squash me"), ("rb", "Rebase me")] {
        open_pr(&api, branch, title).await;
    }
    assert_eq!(api.get("/repos/acme/api/pulls/1").await.body["mergeable"], true);

    let stale = api.put("/repos/acme/api/pulls/1/merge", json!({"sha": "0".repeat(40)})).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["message"], "Head branch was modified. Review and try the merge again.");

    let before = git(&dir, &["rev-parse", "main"]);
    let merged = api.put("/repos/acme/api/pulls/1/merge", json!({"merge_method": "merge"})).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(merged.body["merged"], true);
    assert_eq!(merged.body["message"], "Pull Request successfully merged");
    let merge_sha = s(&merged.body["sha"]);
    assert_eq!(git(&dir, &["rev-parse", "main"]), merge_sha);
    let parents = git(&dir, &["log", "-1", "--format=%P", "main"]);
    assert_eq!(parents.split(' ').count(), 2);
    assert!(parents.starts_with(&before));
    assert_eq!(git(&dir, &["log", "-1", "--format=%s", "main"]), "Merge pull request #1 from acme/m");
    let pr = api.get("/repos/acme/api/pulls/1").await.body;
    assert_eq!((pr["merged"].clone(), pr["state"].clone()), (json!(true), json!("closed")));
    assert_eq!(pr["merge_commit_sha"], merge_sha.as_str());
    assert!(pr["merged_at"].is_string());
    assert_eq!(api.get("/repos/acme/api/pulls/1/merge").await.status, 204);
    assert_eq!(api.put("/repos/acme/api/pulls/1/merge", json!({})).await.status, 405);
    let verified = api.get(&format!("/repos/acme/api/git/commits/{merge_sha}")).await;
    assert_eq!(verified.body["verification"]["verified"], true);

    let squashed =
        api.put("/repos/acme/api/pulls/2/merge", json!({"merge_method": "squash", "commit_title": "Squashed!"})).await;
    assert_eq!(squashed.status, 200, "{}", squashed.text);
    assert_eq!(git(&dir, &["log", "-1", "--format=%P", "main"]), merge_sha);
    assert_eq!(git(&dir, &["log", "-1", "--format=%s", "main"]), "Squashed!");
    assert!(git(&dir, &["log", "-1", "--format=%b", "main"]).contains("* squash one"));
    assert_eq!(git(&dir, &["show", "main:s2.txt"]), "2");

    let rebased = api.put("/repos/acme/api/pulls/3/merge", json!({"merge_method": "rebase"})).await;
    assert_eq!(rebased.status, 200, "{}", rebased.text);
    let subjects = git(&dir, &["log", "-3", "--format=%s", "main"]);
    assert_eq!(subjects, "rebase two\nrebase one\nSquashed!");
    assert_ne!(git(&dir, &["rev-parse", "main"]), rb_head, "rebased commits are new commits");
    assert_eq!(git(&dir, &["log", "-1", "--format=%P", "main"]).split(' ').count(), 1);
    assert_eq!(git(&dir, &["log", "-1", "--format=%an|%cn", "main"]), "Test Developer|GitHub");
    assert_eq!(
        git(&dir, &["ls-tree", "-r", "--name-only", "main"]),
        "README.md\nm.txt\nr1.txt\nr2.txt\ns1.txt\ns2.txt\nsrc/lib.rs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_conflicts_are_405() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    server.push_commit("acme", "api", "a", &[("README.md", b"# from a\n")], "a");
    server.push_commit("acme", "api", "b", &[("README.md", b"# from b\n")], "b");
    open_pr(&api, "a", "A").await;
    open_pr(&api, "b", "B").await;
    assert_eq!(api.put("/repos/acme/api/pulls/1/merge", json!({"merge_method": "squash"})).await.status, 200);
    let pr = api.get("/repos/acme/api/pulls/2").await.body;
    assert_eq!(pr["mergeable"], false);
    assert_eq!(pr["mergeable_state"], "dirty");
    let before = git(&server.repo_path("acme", "api"), &["rev-parse", "main"]);
    let conflict = api.put("/repos/acme/api/pulls/2/merge", json!({"merge_method": "merge"})).await;
    assert_eq!(conflict.status, 405);
    assert_eq!(conflict.body["message"], "Pull Request is not mergeable");
    assert_eq!(api.put("/repos/acme/api/pulls/2/merge", json!({"merge_method": "rebase"})).await.status, 405);
    assert_eq!(git(&server.repo_path("acme", "api"), &["rev-parse", "main"]), before);
    assert_eq!(api.get("/repos/acme/api/pulls/2").await.body["state"], "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_and_check_runs() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let head = git(&server.repo_path("acme", "api"), &["rev-parse", "main"]);
    let none = api.get("/repos/acme/api/commits/main/status").await;
    assert_eq!((none.body["state"].clone(), none.body["total_count"].clone()), (json!("pending"), json!(0)));

    let path = format!("/repos/acme/api/statuses/{head}");
    assert_eq!(api.post(&path, json!({"state": "pending", "context": "ci/build"})).await.status, 201);
    assert_eq!(
        api.post(&path, json!({"state": "success", "context": "ci/lint", "description": "ok"})).await.status,
        201
    );
    let combined = api.get("/repos/acme/api/commits/main/status").await;
    assert_eq!(combined.body["state"], "pending");
    assert_eq!(combined.body["sha"], head.as_str());
    api.post(&path, json!({"state": "success", "context": "ci/build"})).await;
    let combined = api.get(&format!("/repos/acme/api/commits/{head}/status")).await;
    assert_eq!(combined.body["state"], "success");
    assert_eq!(combined.body["total_count"], 2);
    let contexts: Vec<String> =
        combined.body["statuses"].as_array().expect("statuses").iter().map(|x| s(&x["context"])).collect();
    assert_eq!(contexts, ["ci/build", "ci/lint"]);
    api.post(&path, json!({"state": "error", "context": "ci/lint"})).await;
    assert_eq!(api.get("/repos/acme/api/commits/heads/main/status").await.body["state"], "failure");
    let bad = api.post(&path, json!({"state": "great", "context": "x"})).await;
    assert_eq!((bad.status, s(&bad.body["message"])), (422, "Validation Failed".to_string()));
    assert_eq!(
        api.post(&format!("/repos/acme/api/statuses/{}", "1".repeat(40)), json!({"state": "success"})).await.status,
        422
    );

    let run = api
        .post("/repos/acme/api/check-runs", json!({"name": "build", "head_sha": head, "status": "in_progress"}))
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    assert_eq!(run.body["status"], "in_progress");
    let id = run.body["id"].as_u64().expect("id");
    let done = api.patch(&format!("/repos/acme/api/check-runs/{id}"), json!({"conclusion": "success"})).await;
    assert_eq!((done.body["status"].clone(), done.body["conclusion"].clone()), (json!("completed"), json!("success")));
    api.post("/repos/acme/api/check-runs", json!({"name": "test", "head_sha": head, "conclusion": "failure"})).await;
    let runs = api.get("/repos/acme/api/commits/main/check-runs").await;
    assert_eq!(runs.body["total_count"], 2);
    let named = api.get(&format!("/repos/acme/api/commits/{head}/check-runs?check_name=test")).await;
    assert_eq!(named.body["check_runs"][0]["conclusion"], "failure");
    let incomplete =
        api.post("/repos/acme/api/check-runs", json!({"name": "x", "head_sha": head, "status": "completed"})).await;
    assert_eq!(incomplete.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn releases_create_tags_and_refuse_duplicates() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let dir = server.repo_path("acme", "api");
    let rel = api.post("/repos/acme/api/releases", json!({"tag_name": "v1.0.0", "name": "One", "body": "notes"})).await;
    assert_eq!(rel.status, 201, "{}", rel.text);
    assert_eq!(rel.body["tag_name"], "v1.0.0");
    assert_eq!(rel.body["target_commitish"], "main");
    assert_eq!(rel.body["draft"], false);
    assert_eq!(git(&dir, &["rev-parse", "refs/tags/v1.0.0"]), git(&dir, &["rev-parse", "main"]));

    let dup = api.post("/repos/acme/api/releases", json!({"tag_name": "v1.0.0"})).await;
    assert_eq!(dup.status, 422);
    assert_eq!(dup.body["errors"], json!([{"resource": "Release", "field": "tag_name", "code": "already_exists"}]));

    let draft = api.post("/repos/acme/api/releases", json!({"tag_name": "v2.0.0", "draft": true})).await;
    assert_eq!(draft.status, 201);
    assert!(git(&dir, &["for-each-ref", "refs/tags/v2.0.0"]).is_empty(), "drafts get their tag when published");
    assert_eq!(api.get("/repos/acme/api/releases/tags/v2.0.0").await.status, 404);
    let id = draft.body["id"].as_u64().expect("id");
    let published = api.patch(&format!("/repos/acme/api/releases/{id}"), json!({"draft": false})).await;
    assert_eq!(published.status, 200);
    assert!(published.body["published_at"].is_string());
    assert!(!git(&dir, &["for-each-ref", "refs/tags/v2.0.0"]).is_empty());

    assert_eq!(api.get("/repos/acme/api/releases/tags/v1.0.0").await.body["name"], "One");
    let list = api.get("/repos/acme/api/releases").await;
    let tags: Vec<String> = list.body.as_array().expect("releases").iter().map(|r| s(&r["tag_name"])).collect();
    assert_eq!(tags, ["v2.0.0", "v1.0.0"]);
    assert_eq!(api.get("/repos/acme/api/releases/latest").await.body["tag_name"], "v2.0.0");
    let tag_list = api.get("/repos/acme/api/tags").await;
    assert_eq!(tag_list.body[0]["name"], "v2.0.0");
    assert_eq!(api.delete(&format!("/repos/acme/api/releases/{id}")).await.status, 204);
    assert_eq!(api.get(&format!("/repos/acme/api/releases/{id}")).await.status, 404);
    let branch = api.get("/repos/acme/api/branches/main").await;
    assert_eq!(branch.body["name"], "main");
    assert_eq!(branch.body["commit"]["sha"], git(&dir, &["rev-parse", "main"]).as_str());
    assert_eq!(api.get("/repos/acme/api/branches/nope").await.body["message"], "Branch not found");
}

async fn git_clone(url: &str, dest: &std::path::Path) -> std::process::Output {
    tokio::process::Command::new("git")
        .args(["clone", "--quiet", url])
        .arg(dest)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .await
        .expect("git clone runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_clone_over_smart_http() {
    let server = server_with_repo().await;
    server.create_repo(
        "acme",
        "secret",
        &[("key.txt", b"secret\n")],
        RepoOptions::default().private(true).default_branch("trunk"),
    );
    let tmp = tempfile::tempdir().expect("tmp");

    let public = tmp.path().join("public");
    let out = git_clone(&server.git_url("acme", "api"), &public).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(public.join("README.md")).expect("file"), "# api\n");
    assert_eq!(
        git(&public.join(".git"), &["rev-parse", "HEAD"]),
        git(&server.repo_path("acme", "api"), &["rev-parse", "main"])
    );

    let denied = git_clone(&server.git_url("acme", "secret"), &tmp.path().join("denied")).await;
    assert!(!denied.status.success());

    let url = server.git_url("acme", "secret").replace("http://", &format!("http://x-access-token:{TOKEN}@"));
    let private = tmp.path().join("private");
    let out = git_clone(&url, &private).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(private.join("key.txt")).expect("file"), "secret\n");
    assert_eq!(git(&private.join(".git"), &["rev-parse", "--abbrev-ref", "HEAD"]), "trunk");

    let wrong = server.git_url("acme", "secret").replace("http://", "http://x-access-token:wrong@");
    assert!(!git_clone(&wrong, &tmp.path().join("wrong")).await.status.success());

    let log = server.requests();
    assert!(log.count("GET", "/{owner}/{repo}.git/info/refs") >= 3);
    assert!(log.count("POST", "/{owner}/{repo}.git/git-upload-pack") >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_repositories_and_concurrent_writers() {
    let server = server_with_repo().await;
    assert_eq!(server.create_repo("acme", "empty", &[], RepoOptions::default()), "");
    let api = Api::new(&server);
    assert_eq!(api.get("/repos/acme/empty").await.status, 200);
    let empty = api.get("/repos/acme/empty/git/ref/heads/main").await;
    assert_eq!((empty.status, s(&empty.body["message"])), (409, "Git Repository is empty.".to_string()));
    assert_eq!(api.post("/repos/acme/empty/git/blobs", json!({"content": "x"})).await.status, 409);
    let first = server.push_commit("acme", "empty", "main", &[("a.txt", b"a\n")], "first");
    assert_eq!(api.get("/repos/acme/empty/git/ref/heads/main").await.body["object"]["sha"], first.as_str());

    // Many clients at once: every pull request gets its own number, every read succeeds.
    for i in 0..10 {
        server.push_commit("acme", "api", &format!("b{i}"), &[(&format!("f{i}.txt"), b"x\n")], "change");
    }
    let mut tasks = Vec::new();
    for i in 0..10 {
        let api = Api::new(&server);
        tasks.push(tokio::spawn(async move {
            api.post(
                "/repos/acme/api/pulls",
                json!({"title": format!("PR {i}"), "head": format!("b{i}"), "base": "main"}),
            )
            .await
            .body["number"]
                .as_u64()
        }));
    }
    for _ in 0..30 {
        let api = Api::new(&server);
        tasks.push(tokio::spawn(async move { api.get("/repos/acme/api").await.body["id"].as_u64().map(|_| 0) }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let n = t.await.expect("task").expect("every request succeeded");
        if n > 0 {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=10).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_issue_edits_labels_body_and_state_of_a_pull_request() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    server.push_commit("acme", "api", "feature", &[("f.txt", b"1\n")], "first");
    open_pr(&api, "feature", "Feature").await;
    assert_eq!(api.post("/repos/acme/api/issues/1/labels", json!({"labels": ["old", "keep"]})).await.status, 200);

    // Labels are replaced (strings or {name}; unknown ones are created) together with the body.
    let edited = api
        .patch(
            "/repos/acme/api/issues/1",
            json!({"body": "New body", "labels": ["keep", {"name": "fresh"}], "assignees": ["ann"], "milestone": null}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["number"], 1);
    assert_eq!(edited.body["body"], "New body");
    assert_eq!(edited.body["title"], "Feature");
    let names: Vec<String> = edited.body["labels"].as_array().expect("labels").iter().map(|l| s(&l["name"])).collect();
    assert_eq!(names, ["keep", "fresh"]);
    assert_eq!(edited.body["assignees"][0]["login"], "ann");
    assert_eq!(edited.body["pull_request"]["url"], format!("{}/repos/acme/api/pulls/1", server.api_url()));
    assert_eq!(edited.body, api.get("/repos/acme/api/issues/1").await.body);
    let pr = api.get("/repos/acme/api/pulls/1").await.body;
    assert_eq!(pr["body"], "New body");
    assert_eq!(pr["labels"].as_array().expect("labels").len(), 2);

    // Invalid values are 422 with GitHub's body, and change nothing.
    for body in [json!({"state": "merged", "body": "x"}), json!({"state_reason": "because"}), json!({"milestone": 3})] {
        let bad = api.patch("/repos/acme/api/issues/1", body.clone()).await;
        assert_eq!(bad.status, 422, "{body}");
        assert_eq!(bad.body["message"], "Validation Failed");
        assert_eq!(bad.body["errors"][0]["resource"], "Issue");
        assert_eq!(bad.body["errors"][0]["code"], "invalid");
        assert_eq!(bad.body["documentation_url"], "https://docs.github.com/rest/issues/issues#update-an-issue");
    }
    let bad = api.patch("/repos/acme/api/issues/1", json!({"state": "merged"})).await;
    assert_eq!(bad.body["errors"][0]["field"], "state");
    assert_eq!(api.get("/repos/acme/api/pulls/1").await.body["body"], "New body");

    // Closing through the issue closes the pull request; reopening follows the pull request rules.
    let closed = api.patch("/repos/acme/api/issues/1", json!({"state": "closed", "state_reason": "completed"})).await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    assert_eq!(closed.body["state"], "closed");
    assert!(closed.body["closed_at"].is_string());
    let pr = api.get("/repos/acme/api/pulls/1").await.body;
    assert_eq!(pr["state"], "closed");
    assert_eq!(pr["merged"], false);
    assert_eq!(api.get("/repos/acme/api/pulls").await.body.as_array().expect("list").len(), 0);
    open_pr(&api, "feature", "Again").await;
    let reopen = api.patch("/repos/acme/api/issues/1", json!({"state": "open"})).await;
    assert_eq!(reopen.status, 422);
    assert_eq!(reopen.body["errors"][0]["message"], "A pull request already exists for acme:feature.");
    assert_eq!(api.patch("/repos/acme/api/issues/2", json!({"state": "closed"})).await.status, 200);
    let reopened = api.patch("/repos/acme/api/issues/1", json!({"state": "open", "title": "Back"})).await;
    assert_eq!((reopened.status, s(&reopened.body["state"])), (200, "open".to_string()));
    assert_eq!(api.get("/repos/acme/api/pulls/1").await.body["title"], "Back");
    assert_eq!(api.patch("/repos/acme/api/issues/9", json!({"title": "x"})).await.status, 404);
    assert_eq!(
        common::Api::anonymous(&server).patch("/repos/acme/api/issues/1", json!({"title": "x"})).await.status,
        401
    );
}
