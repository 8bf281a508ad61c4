//! What `convoy status` reads and `convoy merge` meets: GraphQL's `Repository.pullRequests`
//! connection with `mergeable`, `reviewDecision`, `mergedAt`/`closedAt`, `mergeCommit`, `labels`
//! and the head commit's `statusCheckRollup`; REST reviews; and branch protection on merge.

mod common;

use common::{Api, Resp, server_with_repo};
use github_test_server::{RepoOptions, TestServer};
use serde_json::{Value, json};

const REVIEWER: &str = "ghp_reviewerTOKEN";

async fn gql(api: &Api, query: &str, variables: Value) -> Resp {
    let resp = api.post("/graphql", json!({ "query": query, "variables": variables })).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp
}

/// A pull request from a new branch `branch` of `repo` that writes `file`.
async fn open_pr(api: &Api, server: &TestServer, repo: &str, branch: &str, file: &str, text: &str) -> u64 {
    server.push_commit("acme", repo, branch, &[(file, text.as_bytes())], &format!("change {file}"));
    let resp =
        api.post(&format!("/repos/acme/{repo}/pulls"), json!({"title": branch, "head": branch, "base": "main"})).await;
    assert_eq!(resp.status, 201, "{}", resp.text);
    resp.body["number"].as_u64().expect("number")
}

const STATUS: &str = r#"query($name: String!, $branch: String) {
  repository(owner: "acme", name: $name) {
    pullRequests(headRefName: $branch, first: 10, orderBy: {field: CREATED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes {
        number state mergeable reviewDecision createdAt mergedAt closedAt headRefOid
        mergeCommit { oid }
        labels(first: 20) { nodes { name } }
        commits(last: 1) { totalCount nodes { commit { oid statusCheckRollup { state } } } }
      }
    }
  }
}"#;

async fn status(api: &Api, repo: &str, branch: &str) -> Value {
    let r = gql(api, STATUS, json!({"name": repo, "branch": branch})).await;
    assert!(r.body.get("errors").is_none(), "{}", r.text);
    r.body["data"]["repository"]["pullRequests"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_requests_connection_filters_orders_and_pages() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    for (branch, file) in [("a", "a.txt"), ("b", "b.txt"), ("c", "c.txt")] {
        open_pr(&api, &server, "api", branch, file, "x\n").await;
    }
    let q = r#"query($after: String) { repository(owner: "acme", name: "api") {
        all: pullRequests(first: 2, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { number } }
        newest: pullRequests(last: 1) { nodes { number headRefName } edges { cursor node { number } } }
        b: pullRequests(headRefName: "b", states: [OPEN], first: 5) { totalCount nodes { number } }
        none: pullRequests(states: [MERGED], first: 5) { totalCount nodes { number } }
        desc: pullRequests(first: 3, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { number } }
    } }"#;
    let r = gql(&api, q, json!({})).await;
    let repo = &r.body["data"]["repository"];
    assert_eq!(repo["all"]["totalCount"], 3, "{}", r.text);
    assert_eq!(repo["all"]["nodes"], json!([{"number": 1}, {"number": 2}]));
    assert_eq!(repo["all"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(repo["newest"]["nodes"], json!([{"number": 3, "headRefName": "c"}]));
    assert_eq!(repo["b"], json!({"totalCount": 1, "nodes": [{"number": 2}]}));
    assert_eq!(repo["none"], json!({"totalCount": 0, "nodes": []}));
    assert_eq!(repo["desc"]["nodes"], json!([{"number": 3}, {"number": 2}, {"number": 1}]));
    let after = repo["all"]["pageInfo"]["endCursor"].clone();
    let r = gql(&api, q, json!({"after": after})).await;
    let page = &r.body["data"]["repository"]["all"];
    assert_eq!(page["nodes"], json!([{"number": 3}]), "{}", r.text);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_need_bounded_pages_and_documents_stay_under_the_node_limit() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let r = gql(&api, r#"{ repository(owner: "acme", name: "api") { pullRequests { totalCount } } }"#, json!({})).await;
    assert!(r.body.get("data").is_none(), "{}", r.text);
    assert_eq!(r.body["errors"][0]["type"], "MISSING_PAGINATION_BOUNDARIES");
    assert_eq!(
        r.body["errors"][0]["message"],
        "You must provide a `first` or `last` value to properly paginate the `pullRequests` connection."
    );
    let r = gql(
        &api,
        r#"{ repository(owner: "acme", name: "api") { pullRequests(first: 101) { totalCount } } }"#,
        json!({}),
    )
    .await;
    assert_eq!(
        r.body["errors"][0]["message"],
        "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 records."
    );
    // 100 × 100 pull requests × 100 labels = 1,000,000 nodes.
    let fields: Vec<String> = (0..100)
        .map(|i| format!(r#"r{i}: repository(owner: "acme", name: "api") {{ pullRequests(first: 100) {{ nodes {{ labels(first: 100) {{ nodes {{ name }} }} }} }} }}"#))
        .collect();
    let r = gql(&api, &format!("{{ {} }}", fields.join(" ")), json!({})).await;
    assert_eq!(r.body["errors"][0]["type"], "MAX_NODE_LIMIT_EXCEEDED", "{}", r.text);
    assert!(r.body.get("data").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_mergeability_checks_merges_and_closes() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let one = open_pr(&api, &server, "api", "one", "README.md", "# one\n").await;
    let two = open_pr(&api, &server, "api", "two", "README.md", "# two\n").await;
    let pr = &status(&api, "api", "one").await["nodes"][0];
    assert_eq!(
        (pr["number"].as_u64(), &pr["state"], &pr["mergeable"]),
        (Some(one), &json!("OPEN"), &json!("MERGEABLE"))
    );
    assert_eq!(pr["reviewDecision"], Value::Null, "no review is required");
    assert_eq!(pr["commits"]["totalCount"], 1);
    assert_eq!(pr["commits"]["nodes"][0]["commit"]["oid"], pr["headRefOid"]);
    assert_eq!(pr["commits"]["nodes"][0]["commit"]["statusCheckRollup"], Value::Null, "no checks yet");
    let head = pr["headRefOid"].as_str().unwrap().to_string();
    let rollup = |v: &Value| v["nodes"][0]["commits"]["nodes"][0]["commit"]["statusCheckRollup"]["state"].clone();
    let set = |state: &'static str, context: &'static str| {
        let (api, head) = (&api, head.clone());
        async move {
            let r = api
                .post(&format!("/repos/acme/api/statuses/{head}"), json!({"state": state, "context": context}))
                .await;
            assert_eq!(r.status, 201, "{}", r.text);
        }
    };
    set("pending", "ci").await;
    assert_eq!(rollup(&status(&api, "api", "one").await), "PENDING");
    set("success", "ci").await;
    assert_eq!(rollup(&status(&api, "api", "one").await), "SUCCESS");
    let run = api
        .post(
            "/repos/acme/api/check-runs",
            json!({"name": "lint", "head_sha": head, "status": "completed", "conclusion": "failure"}),
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    assert_eq!(rollup(&status(&api, "api", "one").await), "FAILURE");
    set("error", "deploy").await;
    assert_eq!(rollup(&status(&api, "api", "one").await), "ERROR");

    let merged = api.put(&format!("/repos/acme/api/pulls/{one}/merge"), json!({"merge_method": "squash"})).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    let pr = &status(&api, "api", "one").await["nodes"][0];
    assert_eq!(pr["state"], "MERGED");
    assert_eq!(pr["mergeCommit"]["oid"], merged.body["sha"]);
    assert!(pr["mergedAt"].as_str().is_some_and(|t| t.ends_with('Z')), "{pr}");
    assert_eq!(pr["closedAt"], pr["mergedAt"]);
    // `two` changed the same line: it conflicts with main now.
    let conflicting = &status(&api, "api", "two").await["nodes"][0];
    assert_eq!((conflicting["number"].as_u64(), &conflicting["mergeable"]), (Some(two), &json!("CONFLICTING")));
    let refused = api.put(&format!("/repos/acme/api/pulls/{two}/merge"), json!({})).await;
    assert_eq!((refused.status, &refused.body["message"]), (405, &json!("Pull Request is not mergeable")));

    let three = open_pr(&api, &server, "api", "three", "three.txt", "3\n").await;
    let labels =
        api.post(&format!("/repos/acme/api/issues/{three}/labels"), json!({"labels": ["convoy", "deps"]})).await;
    assert_eq!(labels.status, 200, "{}", labels.text);
    let closed = api.patch(&format!("/repos/acme/api/pulls/{three}"), json!({"state": "closed"})).await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    let pr = &status(&api, "api", "three").await["nodes"][0];
    assert_eq!((&pr["state"], &pr["mergedAt"], &pr["mergeCommit"]), (&json!("CLOSED"), &Value::Null, &Value::Null));
    assert!(pr["closedAt"].is_string(), "{pr}");
    assert_eq!(pr["mergeable"], "UNKNOWN", "closed pull requests are not tested");
    assert_eq!(pr["labels"]["nodes"], json!([{"name": "convoy"}, {"name": "deps"}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviews_set_the_review_decision_and_protection_guards_the_merge() {
    let server = server_with_repo().await;
    server.add_user_token(REVIEWER, "reviewer");
    let opts = RepoOptions::default().require_approving_reviews(1).require_status_checks(&["ci"]);
    server.create_repo("acme", "prot", &[("README.md", b"# prot\n")], opts);
    let api = Api::new(&server);
    let reviewer = Api::with_token(&server, REVIEWER);
    let n = open_pr(&api, &server, "prot", "topic", "new.txt", "new\n").await;
    let decision = |v: Value| v["nodes"][0]["reviewDecision"].clone();
    assert_eq!(decision(status(&api, "prot", "topic").await), "REVIEW_REQUIRED");
    let merge = |api: &Api| {
        let path = format!("/repos/acme/prot/pulls/{n}/merge");
        let api = Api::with_token(&server, api.token.as_deref().unwrap());
        async move { api.put(&path, json!({})).await }
    };
    let r = merge(&api).await;
    assert_eq!(
        (r.status, &r.body["message"]),
        (405, &json!("At least 1 approving review is required by reviewers with write access."))
    );

    let own = api.post(&format!("/repos/acme/prot/pulls/{n}/reviews"), json!({"event": "APPROVE"})).await;
    assert_eq!((own.status, &own.body["errors"][0]), (422, &json!("Can not approve your own pull request")));
    let no_body =
        reviewer.post(&format!("/repos/acme/prot/pulls/{n}/reviews"), json!({"event": "REQUEST_CHANGES"})).await;
    assert_eq!(no_body.status, 422, "{}", no_body.text);
    let changes = reviewer
        .post(&format!("/repos/acme/prot/pulls/{n}/reviews"), json!({"event": "REQUEST_CHANGES", "body": "not yet"}))
        .await;
    assert_eq!((changes.status, &changes.body["state"]), (200, &json!("CHANGES_REQUESTED")), "{}", changes.text);
    assert_eq!(decision(status(&api, "prot", "topic").await), "CHANGES_REQUESTED");
    let approve = reviewer.post(&format!("/repos/acme/prot/pulls/{n}/reviews"), json!({"event": "APPROVE"})).await;
    assert_eq!((approve.status, &approve.body["user"]["login"]), (200, &json!("reviewer")), "{}", approve.text);
    let comment =
        reviewer.post(&format!("/repos/acme/prot/pulls/{n}/reviews"), json!({"event": "COMMENT", "body": "nit"})).await;
    assert_eq!(comment.body["state"], "COMMENTED");
    assert_eq!(decision(status(&api, "prot", "topic").await), "APPROVED", "a comment keeps the approval");
    let listed = api.get(&format!("/repos/acme/prot/pulls/{n}/reviews")).await;
    let states: Vec<&Value> = listed.body.as_array().unwrap().iter().map(|v| &v["state"]).collect();
    assert_eq!(states, [&json!("CHANGES_REQUESTED"), &json!("APPROVED"), &json!("COMMENTED")]);

    let r = merge(&api).await;
    assert_eq!((r.status, &r.body["message"]), (405, &json!("Required status check \"ci\" is expected.")));
    let head = status(&api, "prot", "topic").await["nodes"][0]["headRefOid"].as_str().unwrap().to_string();
    api.post(&format!("/repos/acme/prot/statuses/{head}"), json!({"state": "success", "context": "lint"})).await;
    let rollup = status(&api, "prot", "topic").await["nodes"][0]["commits"]["nodes"][0]["commit"]["statusCheckRollup"]
        ["state"]
        .clone();
    assert_eq!(rollup, "EXPECTED", "the required check has not reported");
    api.post(&format!("/repos/acme/prot/statuses/{head}"), json!({"state": "failure", "context": "ci"})).await;
    let r = merge(&api).await;
    assert_eq!((r.status, &r.body["message"]), (405, &json!("Required status check \"ci\" is failing.")));
    api.post(&format!("/repos/acme/prot/statuses/{head}"), json!({"state": "success", "context": "ci"})).await;
    let stale = api.put(&format!("/repos/acme/prot/pulls/{n}/merge"), json!({"sha": "0".repeat(40)})).await;
    assert_eq!(
        (stale.status, &stale.body["message"]),
        (409, &json!("Head branch was modified. Review and try the merge again."))
    );
    let r = merge(&api).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Without protection the decision stays null whatever the reviews.
    let m = open_pr(&api, &server, "api", "free", "free.txt", "x\n").await;
    reviewer.post(&format!("/repos/acme/api/pulls/{m}/reviews"), json!({"event": "APPROVE"})).await;
    assert_eq!(decision(status(&api, "api", "free").await), Value::Null);
}
