//! Repositories, pagination, errors, ETags, rate limits, tokens, GitHub Apps and faults.

mod common;

use std::time::{Duration, Instant};

use common::{Api, TOKEN, app_jwt, links, server, server_with, server_with_repo};
use github_test_server::{FaultFilter, RepoOptions, ServerConfig, TokenKind};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_repos_paginate_with_github_link_headers() {
    let s = server().await;
    for i in 1..=7 {
        s.create_repo("acme", &format!("svc-{i}"), &[("a", b"a")], RepoOptions::default().topics(&["rust"]));
    }
    s.create_repo("acme", "secret", &[("a", b"a")], RepoOptions::default().private(true));
    let api = Api::new(&s);

    let first = api.get("/orgs/acme/repos?per_page=3").await;
    assert_eq!(first.status, 200);
    let names: Vec<&str> =
        first.body.as_array().expect("array").iter().map(|r| r["name"].as_str().expect("name")).collect();
    // Newest first (sort=created, direction=desc by default, as on GitHub).
    assert_eq!(names, ["secret", "svc-7", "svc-6"]);
    let link = links(first.header("link").expect("link header"));
    let host = s.api_url();
    assert_eq!(
        link,
        [
            ("next".to_string(), format!("{host}/orgs/acme/repos?per_page=3&page=2")),
            ("last".to_string(), format!("{host}/orgs/acme/repos?per_page=3&page=3")),
        ]
    );

    let middle = api.get(&link[0].1).await;
    let rels: Vec<String> = links(middle.header("link").expect("link")).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, ["prev", "next", "last", "first"]);

    let last = api.get("/orgs/acme/repos?per_page=3&page=3").await;
    assert_eq!(last.body.as_array().expect("array").len(), 2);
    let rels: Vec<String> = links(last.header("link").expect("link")).into_iter().map(|(r, _)| r).collect();
    assert_eq!(rels, ["prev", "first"]);

    // Everything on one page: no Link header.
    let all = api.get("/orgs/acme/repos?per_page=100").await;
    assert_eq!(all.body.as_array().expect("array").len(), 8);
    assert!(all.header("link").is_none());

    // type filters and repo object shape.
    let private = api.get("/orgs/acme/repos?type=private").await;
    let repo = &private.body[0];
    assert_eq!(repo["full_name"], "acme/secret");
    assert_eq!(repo["private"], true);
    assert_eq!(repo["visibility"], "private");
    assert_eq!(repo["owner"]["login"], "acme");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["clone_url"], s.git_url("acme", "secret"));
    let svc = api.get("/repos/acme/svc-1").await;
    assert_eq!(svc.body["topics"], json!(["rust"]));
    assert_eq!(svc.body["archived"], false);
    assert_eq!(svc.body["fork"], false);
    assert_eq!(svc.body["html_url"], format!("{host}/acme/svc-1"));

    // Anonymous callers do not see private repositories; /users/ sorts by full_name.
    let anon = Api::anonymous(&s).get("/users/acme/repos?per_page=100").await;
    let names: Vec<&str> =
        anon.body.as_array().expect("array").iter().map(|r| r["name"].as_str().expect("name")).collect();
    assert_eq!(names, ["svc-1", "svc-2", "svc-3", "svc-4", "svc-5", "svc-6", "svc-7"]);
    assert_eq!(Api::anonymous(&s).get("/repos/acme/secret").await.status, 404);

    // GHES layout: links stay under /api/v3.
    let ghes = Api::ghes(&s).get("/orgs/acme/repos?per_page=5").await;
    assert_eq!(ghes.status, 200);
    let next = &links(ghes.header("link").expect("link"))[0].1;
    assert_eq!(next, &format!("{host}/api/v3/orgs/acme/repos?per_page=5&page=2"));
    assert_eq!(api.get("/orgs/nobody/repos").await.status, 404);
    assert_eq!(api.get("/repos/acme/svc-1/topics").await.body, json!({"names": ["rust"]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_github_bodies() {
    let s = server_with_repo().await;
    let api = Api::new(&s);

    let missing = api.get("/repos/acme/nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["message"], "Not Found");
    assert_eq!(missing.body["documentation_url"], "https://docs.github.com/rest/repos/repos#get-a-repository");
    assert_eq!(missing.body["status"], "404");

    let unrouted = api.get("/no/such/route/at/all").await;
    assert_eq!(unrouted.status, 404);
    assert_eq!(unrouted.body["message"], "Not Found");

    let bad = Api::with_token(&s, "ghp_unknown").get("/repos/acme/api").await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.body["message"], "Bad credentials");
    assert!(bad.body["documentation_url"].is_string());

    let anon_write = Api::anonymous(&s).post("/repos/acme/api/git/blobs", json!({"content": "x"})).await;
    assert_eq!(anon_write.status, 401);
    assert_eq!(anon_write.body["message"], "Requires authentication");

    let invalid = api.post("/repos/acme/api/pulls", json!({"head": "main", "base": "main"})).await;
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.body["message"], "Validation Failed");
    assert_eq!(invalid.body["errors"], json!([{"resource": "PullRequest", "field": "title", "code": "missing_field"}]));
    assert_eq!(invalid.body["documentation_url"], "https://docs.github.com/rest/pulls/pulls#create-a-pull-request");

    let resp = api
        .client
        .post(format!("{}/repos/acme/api/git/blobs", s.api_url()))
        .header("authorization", format!("token {TOKEN}"))
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 400);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["message"], "Problems parsing JSON");

    // Unsupported methods on known routes are 404 too, as on GitHub.
    assert_eq!(api.send("DELETE", "/repos/acme/api", None, &[]).await.status, 404);

    // Archived repositories are read-only.
    s.create_repo("acme", "old", &[("a", b"a")], RepoOptions::default().archived(true));
    let archived = api.post("/repos/acme/old/git/blobs", json!({"content": "x"})).await;
    assert_eq!(archived.status, 403);
    assert_eq!(archived.body["message"], "Repository was archived so is read-only.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etag_304_is_not_counted() {
    let s = server_with_repo().await;
    let api = Api::new(&s);
    let first = api.get("/repos/acme/api").await;
    let etag = first.header("etag").expect("etag").to_string();
    assert!(etag.starts_with("W/\""), "weak etag: {etag}");
    let remaining: u32 = first.header("x-ratelimit-remaining").expect("remaining").parse().expect("number");

    let cached = api.send("GET", "/repos/acme/api", None, &[("if-none-match", &etag)]).await;
    assert_eq!(cached.status, 304);
    assert!(cached.text.is_empty());
    assert_eq!(cached.header("etag"), Some(etag.as_str()));
    assert_eq!(cached.header("x-ratelimit-remaining"), Some(remaining.to_string().as_str()));

    // A changed resource gets a new ETag and a full answer.
    api.put("/repos/acme/api/topics", json!({"names": ["changed"]})).await;
    let changed = api.send("GET", "/repos/acme/api", None, &[("if-none-match", &etag)]).await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
    assert_eq!(changed.header("x-ratelimit-remaining"), Some((remaining - 2).to_string().as_str()));

    let log = s.requests();
    assert_eq!(log.not_modified, 1);
    assert_eq!(log.count("GET", "/repos/{owner}/{repo}"), 3);
    assert_eq!(log.count("PUT", "/repos/{owner}/{repo}/topics"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_exhaustion_and_reset() {
    let s = server_with_repo().await;
    let api = Api::new(&s);
    s.set_rate_limit(10, 2, Duration::from_secs(2));

    let a = api.get("/repos/acme/api").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("x-ratelimit-limit"), Some("10"));
    assert_eq!(a.header("x-ratelimit-remaining"), Some("1"));
    assert_eq!(a.header("x-ratelimit-used"), Some("9"));
    assert_eq!(a.header("x-ratelimit-resource"), Some("core"));
    assert!(a.header("x-github-request-id").is_some());
    let reset: u64 = a.header("x-ratelimit-reset").expect("reset").parse().expect("epoch");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(reset >= now && reset <= now + 3, "reset {reset} vs now {now}");

    assert_eq!(api.get("/repos/acme/api").await.header("x-ratelimit-remaining"), Some("0"));
    let limited = api.get("/repos/acme/api").await;
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert!(limited.body["message"].as_str().expect("message").starts_with("API rate limit exceeded for"));

    // /rate_limit answers and does not count.
    let rl = api.get("/rate_limit").await;
    assert_eq!(rl.status, 200);
    assert_eq!(rl.body["resources"]["core"]["remaining"], 0);
    assert_eq!(rl.body["rate"]["limit"], 10);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = api.get("/repos/acme/api").await;
    assert_eq!(after.status, 200);
    assert_eq!(after.header("x-ratelimit-remaining"), Some("9"));

    s.faults().exhaust_primary(Duration::from_secs(60));
    let exhausted = api.get("/repos/acme/api").await;
    assert_eq!(exhausted.status, 403);
    assert_eq!(exhausted.header("x-ratelimit-remaining"), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_kinds_report_their_headers() {
    let s = server().await;
    let classic = Api::new(&s).get("/user").await;
    assert_eq!(classic.status, 200);
    assert_eq!(classic.body["login"], "test-user");
    assert_eq!(classic.header("x-oauth-scopes"), Some("repo, workflow"));

    let expiry = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    s.add_token("github_pat_fine", TokenKind::FineGrained { expires_at: Some(expiry) });
    let fine = Api::with_token(&s, "github_pat_fine").get("/user").await;
    assert_eq!(fine.status, 200);
    assert!(fine.header("x-oauth-scopes").is_none());
    let header = fine.header("github-authentication-token-expiration").expect("expiration header");
    assert!(header.ends_with(" UTC") && header.len() == "2027-10-12 09:00:00 UTC".len(), "{header}");

    s.add_token(
        "github_pat_old",
        TokenKind::FineGrained { expires_at: Some(time::OffsetDateTime::now_utc() - time::Duration::hours(1)) },
    );
    assert_eq!(Api::with_token(&s, "github_pat_old").get("/user").await.status, 401);

    s.add_token("ghs_manual", TokenKind::Installation);
    let inst = Api::with_token(&s, "ghs_manual").get("/user").await;
    assert_eq!(inst.status, 403);
    assert_eq!(inst.body["message"], "Resource not accessible by integration");

    assert_eq!(Api::anonymous(&s).get("/user").await.status, 401);
    let scheme = Api::new(&s)
        .client
        .get(format!("{}/user", s.api_url()))
        .header("authorization", format!("token {TOKEN}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(scheme.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_jwt_mints_installation_tokens_that_sign_commits() {
    let s = server_with_with_short_ttl().await;
    let public = std::fs::read_to_string(common::fixture("app-public-key.pem")).expect("fixture");
    s.register_app(4242, &public, 77, "acme");
    s.create_repo("acme", "api", &[("README.md", b"hi\n")], RepoOptions::default());

    let jwt = app_jwt(4242, -60, 540);
    let app = Api::with_token(&s, &jwt);
    let installs = app.get("/app/installations").await;
    assert_eq!(installs.status, 200, "{}", installs.text);
    assert_eq!(installs.body[0]["id"], 77);
    assert_eq!(installs.body[0]["account"]["login"], "acme");
    assert_eq!(app.get("/orgs/acme/installation").await.body["id"], 77);
    assert_eq!(app.get("/repos/acme/api/installation").await.body["id"], 77);
    assert_eq!(app.get("/orgs/other/installation").await.status, 404);
    assert_eq!(app.get("/app").await.body["id"], 4242);

    let minted = app.post("/app/installations/77/access_tokens", json!({})).await;
    assert_eq!(minted.status, 201, "{}", minted.text);
    let token = minted.body["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("ghs_"));
    assert_eq!(minted.body["repository_selection"], "all");
    assert!(minted.body["expires_at"].as_str().expect("expires_at").ends_with('Z'));
    assert_eq!(minted.body["permissions"]["contents"], "write");

    // The installation token writes a commit that GitHub reports as verified.
    let inst = Api::with_token(&s, &token);
    let head =
        inst.get("/repos/acme/api/git/ref/heads/main").await.body["object"]["sha"].as_str().expect("sha").to_string();
    let tree = inst.get(&format!("/repos/acme/api/git/commits/{head}")).await.body["tree"]["sha"]
        .as_str()
        .expect("tree")
        .to_string();
    let commit =
        inst.post("/repos/acme/api/git/commits", json!({"message": "bot", "tree": tree, "parents": [head]})).await;
    assert_eq!(commit.status, 201);
    assert_eq!(commit.body["verification"]["verified"], true);
    assert_eq!(commit.body["verification"]["reason"], "valid");
    assert_eq!(commit.body["author"]["name"], "app-4242[bot]");
    let pat = Api::new(&s)
        .post("/repos/acme/api/git/commits", json!({"message": "me", "tree": tree, "parents": [head]}))
        .await;
    assert_eq!(pat.body["verification"]["verified"], false);

    // JWT rules: only app routes, RS256 signature, exp at most ten minutes ahead.
    assert_eq!(app.get("/repos/acme/api").await.status, 403);
    assert_eq!(Api::new(&s).get("/app/installations").await.status, 401);
    let far = Api::with_token(&s, &app_jwt(4242, 0, 3600)).get("/app/installations").await;
    assert_eq!(far.status, 401);
    assert_eq!(far.body["message"], "'Expiration time' claim ('exp') is too far in the future");
    assert_eq!(Api::with_token(&s, &app_jwt(4242, -700, -60)).get("/app").await.status, 401);
    assert_eq!(Api::with_token(&s, &app_jwt(999, -60, 500)).get("/app").await.status, 401);
    let mut tampered = jwt.clone();
    tampered.pop();
    tampered.push(if jwt.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        Api::with_token(&s, &tampered).get("/app").await.body["message"],
        "A JSON web token could not be decoded"
    );

    // Installation tokens expire (1 s here) and are then refused.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = inst.get("/repos/acme/api").await;
    assert_eq!(expired.status, 401);
    assert_eq!(expired.body["message"], "Bad credentials");
}

async fn server_with_with_short_ttl() -> github_test_server::TestServer {
    server_with(ServerConfig { installation_token_ttl: Duration::from_secs(1), ..ServerConfig::default() }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_then_502_leaves_the_write_applied() {
    let s = server_with_repo().await;
    s.push_commit("acme", "api", "feature", &[("f.txt", b"f\n")], "feature");
    let api = Api::new(&s);
    s.faults().apply_then_502_next(1, FaultFilter::route("POST", "/repos/{owner}/{repo}/pulls"));
    let created = api.post("/repos/acme/api/pulls", json!({"title": "T", "head": "feature", "base": "main"})).await;
    assert_eq!(created.status, 502);
    let listed = api.get("/repos/acme/api/pulls?head=acme:feature").await;
    assert_eq!(listed.body.as_array().expect("array").len(), 1);
    assert_eq!(s.pulls("acme", "api").len(), 1);
    // A retry now meets GitHub's duplicate error, as a real client would.
    let retry = api.post("/repos/acme/api/pulls", json!({"title": "T", "head": "feature", "base": "main"})).await;
    assert_eq!(retry.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secondary_limit_and_server_errors() {
    let s = server_with_repo().await;
    let api = Api::new(&s);
    s.faults().secondary_limit_next(1, 7);
    let limited = api.get("/repos/acme/api").await;
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header("retry-after"), Some("7"));
    assert!(limited.body["message"].as_str().expect("message").starts_with("You have exceeded a secondary rate limit"));
    assert_ne!(limited.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(api.get("/repos/acme/api").await.status, 200);

    s.faults().fail_next_for(2, 503, FaultFilter::method("GET"));
    assert_eq!(api.post("/repos/acme/api/git/blobs", json!({"content": "x"})).await.status, 201);
    assert_eq!(api.get("/repos/acme/api").await.status, 503);
    assert_eq!(api.get("/repos/acme/api").await.status, 503);
    assert_eq!(api.get("/repos/acme/api").await.status, 200);

    s.faults().drop_connection_next(1);
    let dropped = api.client.get(format!("{}/repos/acme/api", s.api_url())).send().await;
    assert!(dropped.is_err(), "the connection is closed without an answer");
    assert_eq!(api.get("/repos/acme/api").await.status, 200);
    assert!(s.requests().entries.iter().any(|e| e.status == 0));

    s.faults().latency(Duration::from_millis(150));
    let started = Instant::now();
    api.get("/repos/acme/api").await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    s.faults().latency(Duration::ZERO);

    s.faults().seed(7);
    s.faults().fail_rate(1.0);
    let status = api.get("/repos/acme/api").await.status;
    assert!([500, 502, 503].contains(&status), "{status}");
    s.faults().clear();
    assert_eq!(api.get("/repos/acme/api").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_log_counts_routes_and_timestamps_writes() {
    let s = server_with_repo().await;
    let api = Api::new(&s);
    let ghes = Api::ghes(&s);
    api.get("/repos/acme/api").await;
    ghes.get("/repos/acme/api").await;
    for i in 0..3 {
        api.post("/repos/acme/api/git/blobs", json!({"content": format!("{i}")})).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    api.get("/repos/acme/api/commits/main/status").await;
    let log = s.requests();
    assert_eq!(log.total, 6);
    assert_eq!(log.count("GET", "/repos/{owner}/{repo}"), 2);
    assert_eq!(log.count("POST", "/repos/{owner}/{repo}/git/blobs"), 3);
    assert_eq!(log.count("GET", "/repos/{owner}/{repo}/commits/{ref}/status"), 1);
    let writes = log.writes();
    assert_eq!(writes.len(), 3);
    assert!(writes[1].at.duration_since(writes[0].at) >= Duration::from_millis(20));
    assert_eq!(log.entries[1].path, "/api/v3/repos/acme/api");
    s.clear_requests();
    assert_eq!(s.requests().total, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghes_layout_and_graphql_endpoints() {
    let s = server_with_repo().await;
    s.push_commit("acme", "api", "feature", &[("f.txt", b"f\n")], "feature");
    let api = Api::new(&s);
    let ghes = Api::ghes(&s);
    let repo = ghes.get("/repos/acme/api").await;
    assert_eq!(repo.status, 200);
    assert_eq!(repo.body["url"], format!("{}/repos/acme/api", s.ghes_api_url()));

    let pr = api.post("/repos/acme/api/pulls", json!({"title": "T", "head": "feature", "base": "main"})).await;
    let node = pr.body["node_id"].as_str().expect("node_id").to_string();
    let query = json!({
        "query": "mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH}) { pullRequest { autoMergeRequest { mergeMethod } } } }",
        "variables": { "id": node },
    });
    let host = s.api_url();
    assert_eq!(ghes.post(&format!("{host}/api/v3/graphql"), query.clone()).await.status, 404);
    let on_ghes = ghes.post(&format!("{host}/api/graphql"), query.clone()).await;
    assert_eq!(on_ghes.status, 200);
    assert_eq!(
        on_ghes.body["data"]["enablePullRequestAutoMerge"]["pullRequest"]["autoMergeRequest"]["mergeMethod"],
        "SQUASH"
    );
    let dotcom = api.post("/graphql", query).await;
    assert_eq!(dotcom.status, 200);
    let got = api.get("/repos/acme/api/pulls/1").await;
    assert_eq!(got.body["auto_merge"]["merge_method"], "squash");
    assert_eq!(got.body["auto_merge"]["enabled_by"]["login"], "test-user");

    let unknown = api.post("/graphql", json!({"query": "mutation { enablePullRequestAutoMerge(input: {pullRequestId: \"PR_nope\"}) { clientMutationId } }"})).await;
    assert_eq!(unknown.body["errors"][0]["type"], "NOT_FOUND");
    assert_eq!(Api::anonymous(&s).post("/graphql", json!({"query": "{ viewer { login } }"})).await.status, 401);
    let disable = api
        .post("/graphql", json!({"query": format!("mutation {{ disablePullRequestAutoMerge(input: {{pullRequestId: \"{node}\"}}) {{ clientMutationId }} }}")}))
        .await;
    assert_eq!(disable.status, 200);
    assert!(api.get("/repos/acme/api/pulls/1").await.body["auto_merge"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_workflow_runs_are_listed_and_filtered() {
    let s = server_with_repo().await;
    s.seed_workflow_runs(
        "acme",
        "api",
        vec![
            json!({"id": 3, "head_branch": "main", "status": "completed", "conclusion": "failure", "run_started_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:07:00Z"}),
            json!({"id": 2, "head_branch": "feature", "status": "in_progress", "conclusion": null}),
            json!({"id": 1, "head_branch": "main"}),
        ],
    );
    let api = Api::new(&s);
    let all = api.get("/repos/acme/api/actions/runs").await;
    assert_eq!(all.body["total_count"], 3);
    assert_eq!(all.body["workflow_runs"][0]["id"], 3);
    assert_eq!(all.body["workflow_runs"][0]["updated_at"], "2026-01-01T10:07:00Z");
    assert!(all.body["workflow_runs"][2]["html_url"].is_string());
    let main = api.get("/repos/acme/api/actions/runs?branch=main&status=failure").await;
    assert_eq!(main.body["total_count"], 1);
    let paged = api.get("/repos/acme/api/actions/runs?per_page=2").await;
    assert_eq!(paged.body["workflow_runs"].as_array().expect("runs").len(), 2);
    assert!(paged.header("link").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_of_one_workflow_by_file_name_or_id() {
    let s = server().await;
    s.create_repo(
        "acme",
        "ops",
        &[(".github/workflows/status.yml", b"on: workflow_dispatch\n"), (".github/workflows/idle.yml", b"on: push\n")],
        RepoOptions::default(),
    );
    s.seed_workflow_runs(
        "acme",
        "ops",
        vec![
            json!({"id": 4, "path": ".github/workflows/status.yml", "workflow_id": 11, "event": "schedule", "run_started_at": "2026-01-01T10:00:00Z", "updated_at": "2026-01-01T10:03:00Z"}),
            json!({"id": 3, "path": ".github/workflows/status.yml", "workflow_id": 11, "status": "in_progress", "conclusion": null}),
            json!({"id": 2, "path": ".github/workflows/ci.yml", "workflow_id": 12}),
            json!({"id": 1, "path": ".github/workflows/status.yml", "workflow_id": 11, "event": "schedule"}),
        ],
    );
    let api = Api::new(&s);
    let by_file = api.get("/repos/acme/ops/actions/workflows/status.yml/runs").await;
    assert_eq!(by_file.status, 200, "{}", by_file.text);
    assert_eq!(by_file.body["total_count"], 3);
    let ids: Vec<u64> =
        by_file.body["workflow_runs"].as_array().expect("runs").iter().map(|r| r["id"].as_u64().expect("id")).collect();
    assert_eq!(ids, [4, 3, 1]);
    let completed = api.get("/repos/acme/ops/actions/workflows/status.yml/runs?status=completed&per_page=1").await;
    assert_eq!(completed.body["total_count"], 2);
    assert_eq!(completed.body["workflow_runs"][0]["updated_at"], "2026-01-01T10:03:00Z");
    assert!(completed.header("link").is_some(), "one page of two");
    let by_id = api.get("/repos/acme/ops/actions/workflows/12/runs").await;
    assert_eq!(by_id.body["workflow_runs"][0]["id"], 2);
    // A workflow file without runs has none; an unknown workflow is a 404, as on GitHub.
    let idle = api.get("/repos/acme/ops/actions/workflows/idle.yml/runs").await;
    assert_eq!((idle.status, idle.body["total_count"].as_u64()), (200, Some(0)));
    assert_eq!(api.get("/repos/acme/ops/actions/workflows/nope.yml/runs").await.status, 404);
    assert_eq!(api.get("/repos/acme/ops/actions/workflows/99/runs").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_branch_is_changed_by_updating_the_repository() {
    let s = server_with_repo().await;
    let api = Api::new(&s);
    let missing = api.patch("/repos/acme/api", json!({"default_branch": "trunk"})).await;
    assert_eq!(missing.status, 422, "{:?}", missing.body);
    assert_eq!(missing.body["errors"][0]["field"], "default_branch");
    s.push_commit("acme", "api", "trunk", &[("T", b"t")], "trunk");
    let ok = api.patch("/repos/acme/api", json!({"default_branch": "trunk"})).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(ok.body["default_branch"], "trunk");
    assert_eq!(api.get("/repos/acme/api").await.body["default_branch"], "trunk");
    // Clones follow: HEAD of the bare repository names the new default branch.
    let head = std::fs::read_to_string(s.repo_path("acme", "api").join("HEAD")).expect("HEAD");
    assert_eq!(head.trim(), "ref: refs/heads/trunk");
}
