//! GraphQL: parsing and operation selection, validation, pruning to the selection set, and the
//! mutations (`createRef`, `createCommitOnBranch`, `createPullRequest`, `updatePullRequest`,
//! `createLabel`, `revertPullRequest`), checked against the bare repository with gix and git.

mod common;

use base64::Engine;
use common::{Api, Resp, server_with_repo};
use github_test_server::{RepoOptions, TestServer, TokenKind};
use serde_json::{Value, json};

async fn gql(api: &Api, query: &str, variables: Value) -> Resp {
    let resp = api.post("/graphql", json!({ "query": query, "variables": variables })).await;
    assert_eq!(resp.status, 200, "{}", resp.text);
    resp
}

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

async fn repo_id(api: &Api) -> String {
    let r = gql(api, r#"{ repository(owner: "acme", name: "api") { id nameWithOwner } }"#, json!({})).await;
    assert_eq!(r.body["data"]["repository"]["nameWithOwner"], "acme/api", "{}", r.text);
    s(&r.body["data"]["repository"]["id"])
}

fn head_of(server: &TestServer, branch: &str) -> Option<String> {
    let repo = gix::open(server.repo_path("acme", "api")).expect("open repo");
    repo.try_find_reference(&format!("refs/heads/{branch}"))
        .expect("find ref")
        .map(|mut r| r.peel_to_id().expect("peel").to_string())
}

/// The files of a commit's tree (recursive), with contents.
fn files_of(server: &TestServer, commit: &str) -> Vec<(String, String)> {
    let repo = gix::open(server.repo_path("acme", "api")).expect("open repo");
    let id = gix::ObjectId::from_hex(commit.as_bytes()).expect("oid");
    let tree = repo.find_commit(id).expect("commit").tree().expect("tree");
    let mut out = Vec::new();
    let mut recorder = gix::traverse::tree::Recorder::default();
    tree.traverse().breadthfirst(&mut recorder).expect("traverse");
    for e in recorder.records {
        if e.mode.is_blob() {
            let data = repo.find_object(e.oid).expect("blob").data.clone();
            out.push((e.filepath.to_string(), String::from_utf8(data).expect("utf-8")));
        }
    }
    out.sort();
    out
}

const SHIP: &str = r#"
mutation Ship($repo: ID!, $head: GitObjectID!, $code: Base64String!) {
  branch: createRef(input: {repositoryId: $repo, name: "refs/heads/convoy/bump", oid: $head, clientMutationId: "r1"}) {
    clientMutationId
    ref { name prefix target { __typename oid } }
  }
  commit: createCommitOnBranch(input: {
    branch: {repositoryNameWithOwner: "acme/api", branchName: "convoy/bump"}
    expectedHeadOid: $head
    message: {headline: "Bump deps", body: "Why:\n- because"}
    fileChanges: {additions: [{path: "src/new.rs", contents: $code}], deletions: [{path: "README.md"}]}
  }) {
    commit { oid url messageHeadline }
    ref { name target { ... on Commit { oid } } }
  }
  pr: createPullRequest(input: {repositoryId: $repo, baseRefName: "main", headRefName: "convoy/bump", title: "Bump deps", body: "Body"}) {
    pullRequest { number title body state isDraft headRefName headRefOid baseRefName url }
  }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mutations_make_a_branch_a_commit_and_a_pull_request() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let repo = repo_id(&api).await;
    assert!(repo.starts_with("R_"), "{repo}");
    let main = head_of(&server, "main").expect("main");
    let vars = json!({ "repo": repo, "head": main, "code": b64(b"pub fn new() {}\n") });

    let first = gql(&api, SHIP, vars.clone()).await;
    assert!(first.body.get("errors").is_none(), "{}", first.text);
    let data = &first.body["data"];
    // Pruned to the selection set, keyed by alias.
    assert_eq!(
        data["branch"],
        json!({
            "clientMutationId": "r1",
            "ref": { "name": "convoy/bump", "prefix": "refs/heads/", "target": { "__typename": "Commit", "oid": main } },
        })
    );
    let oid = s(&data["commit"]["commit"]["oid"]);
    assert_eq!(
        data["commit"],
        json!({
            "commit": {
                "oid": oid,
                "url": format!("{}/acme/api/commit/{oid}", server.api_url()),
                "messageHeadline": "Bump deps",
            },
            "ref": { "name": "convoy/bump", "target": { "oid": oid } },
        })
    );
    assert_eq!(
        data["pr"]["pullRequest"],
        json!({
            "number": 1,
            "title": "Bump deps",
            "body": "Body",
            "state": "OPEN",
            "isDraft": false,
            "headRefName": "convoy/bump",
            "headRefOid": oid,
            "baseRefName": "main",
            "url": format!("{}/acme/api/pull/1", server.api_url()),
        })
    );

    // A real commit: parent, tree, message, author; the branch moved to it.
    assert_eq!(head_of(&server, "convoy/bump").as_deref(), Some(oid.as_str()));
    assert_eq!(head_of(&server, "main").as_deref(), Some(main.as_str()));
    let git = gix::open(server.repo_path("acme", "api")).expect("open");
    let commit = git.find_commit(gix::ObjectId::from_hex(oid.as_bytes()).expect("oid")).expect("commit");
    let parents: Vec<String> = commit.parent_ids().map(|p| p.to_string()).collect();
    assert_eq!(parents, vec![main.to_string()]);
    assert_eq!(commit.message_raw().expect("message").to_string(), "Bump deps\n\nWhy:\n- because");
    let author = commit.author().expect("author");
    assert_eq!(author.name.to_string(), "test-user");
    assert!(author.email.to_string().ends_with("+test-user@users.noreply.github.com"));
    assert_eq!(
        files_of(&server, &oid),
        [
            ("src/lib.rs".to_string(), "pub fn f() {}\n".to_string()),
            ("src/new.rs".to_string(), "pub fn new() {}\n".to_string())
        ]
    );
    assert!(!server.commit_verified("acme", "api", &oid), "a classic token's commit is not verified");
    let listed = api.get("/repos/acme/api/pulls?head=acme:convoy/bump").await;
    let listed = listed.body.as_array().expect("list").clone();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["head"]["sha"], oid.as_str());
    assert_eq!(listed[0]["user"]["login"], "test-user");

    // The same document again: each mutation fails under its own key, nothing is duplicated.
    let again = gql(&api, SHIP, vars).await;
    assert_eq!(again.body["data"], json!({ "branch": null, "commit": null, "pr": null }), "{}", again.text);
    let errors = again.body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 3, "{}", again.text);
    assert_eq!(errors[0]["path"], json!(["branch"]));
    assert_eq!(errors[0]["type"], "UNPROCESSABLE");
    assert_eq!(errors[0]["message"], "A ref named \"refs/heads/convoy/bump\" already exists in the repository.");
    assert_eq!(errors[0]["locations"], json!([{ "line": 3, "column": 3 }]));
    assert_eq!(errors[1]["path"], json!(["commit"]));
    assert_eq!(errors[1]["type"], "STALE_DATA");
    assert_eq!(
        errors[1]["message"],
        format!("Expected branch to point to \"{main}\" but it did not. Pull and try again.")
    );
    assert_eq!(errors[2]["path"], json!(["pr"]));
    assert_eq!(errors[2]["type"], "UNPROCESSABLE");
    assert_eq!(errors[2]["message"], "A pull request already exists for acme:convoy/bump.");
    assert_eq!(head_of(&server, "convoy/bump").as_deref(), Some(oid.as_str()));
    assert_eq!(server.pulls("acme", "api").len(), 1);
    let count = git.rev_walk([gix::ObjectId::from_hex(oid.as_bytes()).expect("oid")]).all().expect("walk").count();
    assert_eq!(count, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruning_aliases_fragments_and_typename() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let main = head_of(&server, "main").expect("main");
    let q = r#"
      query {
        __typename
        me: viewer { login __typename }
        r: repository(owner: "acme", name: "api") {
          full: nameWithOwner
          ...Bits
          defaultBranchRef { name target { __typename ... on Commit { oid short: abbreviatedOid } ... on Tree { oid } } }
          owner { login ... on User { name } }
        }
      }
      fragment Bits on Repository { isPrivate name @skip(if: true) url @include(if: false) }
    "#;
    let resp = gql(&api, q, json!({})).await;
    assert_eq!(
        resp.body,
        json!({
            "data": {
                "__typename": "Query",
                "me": { "login": "test-user", "__typename": "User" },
                "r": {
                    "full": "acme/api",
                    "isPrivate": false,
                    "defaultBranchRef": {
                        "name": "main",
                        "target": { "__typename": "Commit", "oid": main, "short": &main[..7] },
                    },
                    "owner": { "login": "acme" },
                },
            }
        })
    );

    // Unknown repositories are field errors; the other fields still answer.
    let q = r#"{ viewer { login } nope: repository(owner: "acme", name: "nope") { id } }"#;
    let resp = gql(&api, q, json!({})).await;
    assert_eq!(resp.body["data"], json!({ "viewer": { "login": "test-user" }, "nope": null }));
    assert_eq!(
        resp.body["errors"],
        json!([{
            "type": "NOT_FOUND",
            "path": ["nope"],
            "locations": [{ "line": 1, "column": 20 }],
            "message": "Could not resolve to a Repository with the name 'acme/nope'.",
        }])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operation_name_selects_the_operation() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let doc = r#"query Me { viewer { login } } query Repo { repository(owner: "acme", name: "api") { name } }"#;
    let send = |name: Option<&str>| {
        let body = json!({ "query": doc, "operationName": name });
        let api = &api;
        async move { api.post("/graphql", body).await }
    };
    let repo = send(Some("Repo")).await;
    assert_eq!(repo.body, json!({ "data": { "repository": { "name": "api" } } }));
    let me = send(Some("Me")).await;
    assert_eq!(me.body, json!({ "data": { "viewer": { "login": "test-user" } } }));
    let none = send(None).await;
    assert_eq!(none.status, 200);
    assert_eq!(none.body, json!({ "errors": [{ "message": "An operation name is required" }] }));
    let missing = send(Some("Nope")).await;
    assert_eq!(missing.body, json!({ "errors": [{ "message": "No operation named \"Nope\"" }] }));
    // A single operation runs without a name.
    let single = api.post("/graphql", json!({ "query": "query Only { viewer { login } }" })).await;
    assert_eq!(single.body["data"]["viewer"]["login"], "test-user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syntax_and_validation_errors_have_no_data() {
    let server = server_with_repo().await;
    let api = Api::new(&server);

    let unclosed = api.post("/graphql", json!({ "query": "{ viewer { login }" })).await;
    assert_eq!(unclosed.status, 200);
    assert!(unclosed.body.get("data").is_none(), "{}", unclosed.text);
    assert_eq!(unclosed.body["errors"][0]["message"], "Unexpected end of document");
    assert!(unclosed.body["errors"][0]["locations"][0]["line"].is_u64());

    let extra = api.post("/graphql", json!({ "query": "query { viewer { login } } }" })).await;
    assert_eq!(
        extra.body,
        json!({ "errors": [{
            "message": "Parse error on \"}\" (RCURLY) at [1, 28]",
            "locations": [{ "line": 1, "column": 28 }],
        }] })
    );

    let cases = [
        ("{ viewer { nope } }", json!({}), "Field 'nope' doesn't exist on type 'User'"),
        (
            "{ viewer }",
            json!({}),
            "Field must have selections (field 'viewer' returns User! but has no selections. Did you mean 'viewer { ... }'?)",
        ),
        (
            r#"{ repository(owner: "acme") { id } }"#,
            json!({}),
            "Field 'repository' is missing required arguments: name",
        ),
        (
            "mutation { createRef(input: {repositoryId: \"R_x\", name: \"refs/heads/x\"}) { clientMutationId } }",
            json!({}),
            "Argument 'oid' on InputObject 'CreateRefInput' is required. Expected type GitObjectID!",
        ),
        (
            "mutation { enablePullRequestAutoMerge(input: {pullRequestId: \"PR_x\", mergeMethod: FAST}) { clientMutationId } }",
            json!({}),
            "Argument 'mergeMethod' on InputObject 'EnablePullRequestAutoMergeInput' has an invalid value (FAST). Expected type 'PullRequestMergeMethod'.",
        ),
        (
            "query { repository(owner: $o, name: \"api\") { id } }",
            json!({}),
            "Variable $o is used by anonymous query but not declared",
        ),
        (
            "query Q($o: String!, $unused: Int) { repository(owner: $o, name: \"api\") { id } }",
            json!({"o": "acme"}),
            "Variable $unused is declared by Q but not used",
        ),
        (
            "query($o: String!) { repository(owner: $o, name: \"api\") { id } }",
            json!({}),
            "Variable $o of type String! was provided invalid value",
        ),
        (
            "mutation($i: CreateRefInput!) { createRef(input: $i) { clientMutationId } }",
            json!({"i": {"repositoryId": "R_x", "name": "refs/heads/x"}}),
            "Variable $i of type CreateRefInput! was provided invalid value for oid (Expected value to not be null)",
        ),
    ];
    for (query, variables, message) in cases {
        let resp = gql(&api, query, variables).await;
        assert!(resp.body.get("data").is_none(), "{query}: {}", resp.text);
        assert_eq!(resp.body["errors"][0]["message"], message, "{query}: {}", resp.text);
    }
    // Nothing ran: no branch was created by the invalid createRef.
    assert!(head_of(&server, "x").is_none());
    assert_eq!(server.requests().count("POST", "/graphql"), 2 + 9);
}

async fn commit_on(api: &Api, head: &str, changes: Value) -> Resp {
    let q = r#"mutation($input: CreateCommitOnBranchInput!) {
      createCommitOnBranch(input: $input) { commit { oid } }
    }"#;
    let input = json!({
        "branch": { "repositoryNameWithOwner": "acme/api", "branchName": "main" },
        "expectedHeadOid": head,
        "message": { "headline": "Change" },
        "fileChanges": changes,
    });
    gql(api, q, json!({ "input": input })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_commit_on_branch_rejects_bad_file_changes() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let main = head_of(&server, "main").expect("main");
    let cases = [
        (
            json!({ "deletions": [{ "path": "nope.txt" }] }),
            format!("A path was requested for deletion which does not exist as of commit oid `{main}`"),
        ),
        (
            json!({ "deletions": [{ "path": "src" }] }),
            format!("A path was requested for deletion which does not exist as of commit oid `{main}`"),
        ),
        (
            json!({ "additions": [{ "path": "a.txt", "contents": "%%%" }] }),
            "The contents of \"a.txt\" are not valid Base64.".to_string(),
        ),
        (
            json!({ "additions": [{ "path": "../a.txt", "contents": "" }] }),
            "The path \"../a.txt\" is invalid.".to_string(),
        ),
        (json!({ "additions": [{ "path": "/a.txt", "contents": "" }] }), "The path \"/a.txt\" is invalid.".to_string()),
        (
            json!({ "additions": [{ "path": "README.md", "contents": "" }], "deletions": [{ "path": "README.md" }] }),
            "The path \"README.md\" appears more than once: paths must be unique across additions and deletions."
                .to_string(),
        ),
    ];
    for (changes, message) in cases {
        let resp = commit_on(&api, &main, changes.clone()).await;
        assert_eq!(resp.body["data"]["createCommitOnBranch"], Value::Null, "{changes}: {}", resp.text);
        assert_eq!(resp.body["errors"][0]["type"], "UNPROCESSABLE", "{changes}");
        assert_eq!(resp.body["errors"][0]["message"], message.as_str(), "{changes}");
        assert_eq!(resp.body["errors"][0]["path"], json!(["createCommitOnBranch"]));
    }
    assert_eq!(head_of(&server, "main").as_deref(), Some(main.as_str()), "no failed change moved the branch");

    // Missing branches and repositories are NOT_FOUND.
    let q = r#"mutation { createCommitOnBranch(input: {branch: {repositoryNameWithOwner: "acme/api", branchName: "nope"}, expectedHeadOid: "0000000000000000000000000000000000000000", message: {headline: "x"}}) { commit { oid } } }"#;
    let resp = gql(&api, q, json!({})).await;
    assert_eq!(resp.body["errors"][0]["type"], "NOT_FOUND");
    assert_eq!(resp.body["errors"][0]["message"], "Could not resolve to a Ref with the name 'refs/heads/nope'.");

    // A deletion that exists, and a commit without changes, work; the branch can also be named by
    // its node id (from `ref { id }`).
    let resp = commit_on(&api, &main, json!({ "deletions": [{ "path": "src/lib.rs" }] })).await;
    let second = s(&resp.body["data"]["createCommitOnBranch"]["commit"]["oid"]);
    assert_eq!(files_of(&server, &second), [("README.md".to_string(), "# api\n".to_string())]);
    let q = r#"{ repository(owner: "acme", name: "api") { defaultBranchRef { id } } }"#;
    let ref_id = s(&gql(&api, q, json!({})).await.body["data"]["repository"]["defaultBranchRef"]["id"]);
    let q = r#"mutation($id: ID!, $head: GitObjectID!) { createCommitOnBranch(input: {branch: {id: $id}, expectedHeadOid: $head, message: {headline: "Empty"}}) { commit { oid messageHeadline messageBody } } }"#;
    let resp = gql(&api, q, json!({ "id": ref_id, "head": second })).await;
    let commit = &resp.body["data"]["createCommitOnBranch"]["commit"];
    assert_eq!(commit["messageHeadline"], "Empty", "{}", resp.text);
    assert_eq!(commit["messageBody"], "");
    assert_eq!(head_of(&server, "main").as_deref(), commit["oid"].as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn installation_token_commits_are_verified() {
    let server = server_with_repo().await;
    server.add_token("ghs_installation", TokenKind::Installation);
    let bot = Api::with_token(&server, "ghs_installation");
    let main = head_of(&server, "main").expect("main");
    let resp = commit_on(&bot, &main, json!({ "additions": [{ "path": "bot.txt", "contents": b64(b"bot\n") }] })).await;
    let oid = s(&resp.body["data"]["createCommitOnBranch"]["commit"]["oid"]);
    assert!(server.commit_verified("acme", "api", &oid));
    let rest = bot.get(&format!("/repos/acme/api/git/commits/{oid}")).await;
    assert_eq!(rest.body["verification"]["verified"], true);
    assert_eq!(rest.body["author"]["name"], "test-app[bot]");

    let user = Api::new(&server);
    let resp = commit_on(&user, &oid, json!({ "additions": [{ "path": "me.txt", "contents": b64(b"me\n") }] })).await;
    let mine = s(&resp.body["data"]["createCommitOnBranch"]["commit"]["oid"]);
    assert!(!server.commit_verified("acme", "api", &mine));
    assert_eq!(user.get(&format!("/repos/acme/api/git/commits/{mine}")).await.body["verification"]["verified"], false);
    let viewer = gql(&bot, "{ viewer { __typename login } }", json!({})).await;
    assert_eq!(viewer.body["data"]["viewer"], json!({ "__typename": "Bot", "login": "test-app[bot]" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_ref_and_pull_request_validate_like_rest() {
    let server = server_with_repo().await;
    server.create_repo("acme", "old", &[("a", b"a")], RepoOptions::default().archived(true));
    let api = Api::new(&server);
    let repo = repo_id(&api).await;
    let main = head_of(&server, "main").expect("main");
    let create_ref = |name: &str, oid: &str| {
        json!({ "query": "mutation($i: CreateRefInput!) { createRef(input: $i) { ref { name } } }",
                "variables": { "i": { "repositoryId": repo, "name": name, "oid": oid } } })
    };
    let short = api.post("/graphql", create_ref("feature", &main)).await;
    assert_eq!(short.body["errors"][0]["type"], "UNPROCESSABLE", "{}", short.text);
    let missing = api.post("/graphql", create_ref("refs/heads/f", &"1".repeat(40))).await;
    assert_eq!(missing.body["errors"][0]["type"], "NOT_FOUND", "{}", missing.text);
    let ok = api.post("/graphql", create_ref("refs/heads/same", &main)).await;
    assert_eq!(ok.body["data"]["createRef"]["ref"]["name"], "same", "{}", ok.text);
    let unknown = api.post("/graphql", json!({ "query": "mutation { createRef(input: {repositoryId: \"R_nope\", name: \"refs/heads/x\", oid: \"abc\"}) { clientMutationId } }" })).await;
    assert_eq!(unknown.body["errors"][0]["message"], "Could not resolve to a node with the global id of 'R_nope'.");

    let pr = |head: &str, repository: &str| {
        json!({ "query": "mutation($i: CreatePullRequestInput!) { createPullRequest(input: $i) { pullRequest { number } } }",
                "variables": { "i": { "repositoryId": repository, "baseRefName": "main", "headRefName": head, "title": "T" } } })
    };
    let empty = api.post("/graphql", pr("same", &repo)).await;
    assert_eq!(empty.body["errors"][0]["message"], "No commits between main and same", "{}", empty.text);
    let nohead = api.post("/graphql", pr("nope", &repo)).await;
    assert_eq!(nohead.body["errors"][0]["message"], "Head sha can't be blank, Head ref must be a branch");
    let old = repo_id_of(&api, "old").await;
    let archived = api.post("/graphql", pr("main", &old)).await;
    assert_eq!(archived.body["errors"][0]["message"], "Repository was archived so is read-only.");

    // GraphQL and REST share numbering.
    server.push_commit("acme", "api", "a", &[("a.txt", b"a\n")], "a");
    server.push_commit("acme", "api", "b", &[("b.txt", b"b\n")], "b");
    let rest = api.post("/repos/acme/api/pulls", json!({ "title": "A", "head": "a", "base": "main" })).await;
    assert_eq!(rest.body["number"], 1);
    let graphql = api.post("/graphql", pr("b", &repo)).await;
    assert_eq!(graphql.body["data"]["createPullRequest"]["pullRequest"]["number"], 2, "{}", graphql.text);
    assert_eq!(api.get("/repos/acme/api/pulls/2").await.body["head"]["ref"], "b");
}

async fn repo_id_of(api: &Api, name: &str) -> String {
    let q = format!(r#"{{ repository(owner: "acme", name: "{name}") {{ id }} }}"#);
    s(&gql(api, &q, json!({})).await.body["data"]["repository"]["id"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_installation_tokens_see_only_their_repositories() {
    let server = server_with_repo().await;
    server.create_repo("acme", "other", &[("a", b"a")], RepoOptions::default().private(true));
    let public = std::fs::read_to_string(common::fixture("app-public-key.pem")).expect("fixture");
    server.register_app(4242, &public, 77, "acme");
    let app = Api::with_token(&server, &common::app_jwt(4242, -60, 540));
    let minted = app.post("/app/installations/77/access_tokens", json!({ "repositories": ["other"] })).await;
    assert_eq!(minted.status, 201, "{}", minted.text);
    let scoped = Api::with_token(&server, minted.body["token"].as_str().expect("token"));
    let q = r#"{ a: repository(owner: "acme", name: "api") { name } b: repository(owner: "acme", name: "other") { name } }"#;
    let resp = gql(&scoped, q, json!({})).await;
    assert_eq!(resp.body["data"], json!({ "a": null, "b": { "name": "other" } }));
    assert_eq!(resp.body["errors"][0]["type"], "NOT_FOUND");
    assert_eq!(Api::anonymous(&server).post("/graphql", json!({ "query": "{ viewer { login } }" })).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_pull_request_sets_body_title_and_labels_by_node_id() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let repo = repo_id(&api).await;
    let main = head_of(&server, "main").expect("main");
    let shipped = gql(&api, SHIP, json!({ "repo": repo, "head": main, "code": b64(b"x\n") })).await;
    assert!(shipped.body.get("errors").is_none(), "{}", shipped.text);
    // REST creates labels that do not exist yet; GraphQL only refers to existing ones.
    let patched = api.patch("/repos/acme/api/issues/1", json!({ "labels": ["convoy", "keep"] })).await;
    assert_eq!(patched.status, 200, "{}", patched.text);

    let found = gql(
        &api,
        r#"query($name: String!) { repository(owner: "acme", name: "api") {
             a: label(name: "CONVOY") { __typename id name }
             b: label(name: $name) { id }
             missing: label(name: "nope") { id } } }"#,
        json!({ "name": "keep" }),
    )
    .await;
    assert!(found.body.get("errors").is_none(), "{}", found.text);
    let repo_data = &found.body["data"]["repository"];
    assert_eq!(repo_data["a"]["__typename"], "Label");
    assert_eq!(repo_data["a"]["name"], "convoy", "looked up case-insensitively, answered as stored");
    assert_eq!(repo_data["missing"], Value::Null);
    let convoy = s(&repo_data["a"]["id"]);
    assert!(convoy.starts_with("LA_"), "{convoy}");
    let pr_id = s(&api.get("/repos/acme/api/pulls/1").await.body["node_id"]);

    // Two updates in one document: the first applies, the second names a label the repository
    // does not have, fails under its own key and changes nothing.
    let doc = r#"mutation($a: UpdatePullRequestInput!, $b: UpdatePullRequestInput!) {
        a: updatePullRequest(input: $a) { pullRequest { number title body } }
        b: updatePullRequest(input: $b) { pullRequest { number } } }"#;
    let updated = gql(
        &api,
        doc,
        json!({
            "a": { "pullRequestId": pr_id, "title": "Bump deps (2)", "body": "Linked", "labelIds": [convoy] },
            "b": { "pullRequestId": pr_id, "body": "never", "labelIds": ["LA_unknown"] },
        }),
    )
    .await;
    assert_eq!(
        updated.body["data"]["a"]["pullRequest"],
        json!({ "number": 1, "title": "Bump deps (2)", "body": "Linked" })
    );
    assert_eq!(updated.body["data"]["b"], Value::Null);
    assert_eq!(updated.body["errors"][0]["path"], json!(["b"]), "{}", updated.text);
    assert_eq!(updated.body["errors"][0]["type"], "NOT_FOUND");
    assert_eq!(updated.body["errors"][0]["message"], "Could not resolve to a node with the global id of 'LA_unknown'.");
    let rest = api.get("/repos/acme/api/pulls/1").await.body;
    assert_eq!(rest["body"], "Linked");
    assert_eq!(rest["title"], "Bump deps (2)");
    let labels: Vec<&str> =
        rest["labels"].as_array().expect("labels").iter().filter_map(|l| l["name"].as_str()).collect();
    assert_eq!(labels, ["convoy"], "labelIds replaces the set");

    // GitHub's body limit, 65,536 characters, through REST and GraphQL alike.
    let long = "é".repeat(65_537);
    let refused = api.patch("/repos/acme/api/issues/1", json!({ "body": long })).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["message"], "body is too long (maximum is 65536 characters)");
    let fits = api.patch("/repos/acme/api/pulls/1", json!({ "body": "é".repeat(65_536) })).await;
    assert_eq!(fits.status, 200, "the limit counts characters, not bytes");
    let too_long = gql(
        &api,
        "mutation($a: UpdatePullRequestInput!) { a: updatePullRequest(input: $a) { clientMutationId } }",
        json!({ "a": { "pullRequestId": pr_id, "body": long } }),
    )
    .await;
    assert_eq!(too_long.body["errors"][0]["message"], "body is too long (maximum is 65536 characters)");

    // Closing through GraphQL closes it for REST too; user nodes are not kept here.
    let closed = gql(
        &api,
        "mutation($a: UpdatePullRequestInput!) { a: updatePullRequest(input: $a) { pullRequest { state closed } } }",
        json!({ "a": { "pullRequestId": pr_id, "state": "CLOSED" } }),
    )
    .await;
    assert_eq!(
        closed.body["data"]["a"]["pullRequest"],
        json!({ "state": "CLOSED", "closed": true }),
        "{}",
        closed.text
    );
    assert_eq!(api.get("/repos/acme/api/pulls/1").await.body["state"], "closed");
    let refused = gql(
        &api,
        "mutation($a: UpdatePullRequestInput!) { a: updatePullRequest(input: $a) { clientMutationId } }",
        json!({ "a": { "pullRequestId": pr_id, "assigneeIds": ["U_x"] } }),
    )
    .await;
    assert_eq!(refused.body["errors"][0]["type"], "UNPROCESSABLE", "{}", refused.text);

    // Labels made through GraphQL are labels for REST too; names are unique without regard to case.
    let made = gql(
        &api,
        r##"mutation($repo: ID!) {
             a: createLabel(input: {repositoryId: $repo, name: "wave-1", color: "0E8A16"}) { label { name color } }
             b: createLabel(input: {repositoryId: $repo, name: "CONVOY", color: "ededed"}) { label { id } }
             c: createLabel(input: {repositoryId: $repo, name: "x", color: "#fff"}) { label { id } } }"##,
        json!({ "repo": repo }),
    )
    .await;
    assert_eq!(made.body["data"]["a"]["label"], json!({ "name": "wave-1", "color": "0e8a16" }), "{}", made.text);
    let messages: Vec<(&str, &str)> = made.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["path"][0].as_str().unwrap_or(""), e["message"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(messages, [("b", "Name has already been taken"), ("c", "Color is invalid")]);
    let wave = api.post("/repos/acme/api/issues/1/labels", json!({ "labels": ["wave-1"] })).await;
    assert_eq!(wave.body[1]["color"], "0e8a16", "{}", wave.text);

    // A nested argument is validated like a top-level one.
    let bad = gql(&api, r#"{ repository(owner: "acme", name: "api") { label(nam: "x") { id } } }"#, json!({})).await;
    assert!(bad.body.get("data").is_none(), "{}", bad.text);
    let messages: Vec<&str> =
        bad.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["message"].as_str()).collect();
    assert_eq!(
        messages,
        ["Field 'label' doesn't accept argument 'nam'", "Field 'label' is missing required arguments: name"]
    );
}

// ----- revertPullRequest -----

const REVERT: &str = r#"mutation($input: RevertPullRequestInput!) {
  revertPullRequest(input: $input) {
    clientMutationId
    pullRequest { number state }
    revertPullRequest { number title body state isDraft headRefName headRefOid baseRefName }
  }
}"#;

/// Open a pull request from `branch` (one commit of `files` per entry, off main) and merge it
/// with `method`; its node id, and main's head before the merge.
async fn merged_pull(
    server: &TestServer,
    api: &Api,
    branch: &str,
    commits: &[&[(&str, &[u8])]],
    method: &str,
) -> (String, String) {
    for files in commits {
        server.push_commit("acme", "api", branch, files, &format!("change {branch}"));
    }
    let before = head_of(server, "main").expect("main");
    let created = api
        .post("/repos/acme/api/pulls", json!({ "title": format!("Change {branch}"), "head": branch, "base": "main" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let number = created.body["number"].as_u64().expect("number");
    let merged = api.put(&format!("/repos/acme/api/pulls/{number}/merge"), json!({ "merge_method": method })).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    (s(&created.body["node_id"]), before)
}

fn tree_of(server: &TestServer, rev: &str) -> String {
    common::git(&server.repo_path("acme", "api"), &["rev-parse", &format!("{rev}^{{tree}}")])
}

async fn revert(api: &Api, input: Value) -> Resp {
    gql(api, REVERT, json!({ "input": input })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revert_pull_request_opens_a_revert_whose_tree_is_the_pre_merge_tree() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let (pr, before) =
        merged_pull(&server, &api, "feature", &[&[("README.md", b"# API\n"), ("new.txt", b"new\n")]], "merge").await;
    let merged = head_of(&server, "main").expect("main");
    assert_ne!(tree_of(&server, &merged), tree_of(&server, &before));

    let resp = revert(&api, json!({ "pullRequestId": pr, "clientMutationId": "r1" })).await;
    assert!(resp.body.get("errors").is_none(), "{}", resp.text);
    let payload = &resp.body["data"]["revertPullRequest"];
    assert_eq!(payload["clientMutationId"], "r1");
    assert_eq!(payload["pullRequest"], json!({ "number": 1, "state": "MERGED" }), "the original");
    let new = &payload["revertPullRequest"];
    assert_eq!(new["number"], 2);
    assert_eq!(new["title"], "Revert \"Change feature\"");
    assert_eq!(new["body"], "Reverts acme/api#1");
    assert_eq!((&new["state"], &new["isDraft"]), (&json!("OPEN"), &json!(false)));
    assert_eq!((&new["headRefName"], &new["baseRefName"]), (&json!("revert-1-feature"), &json!("main")));
    let commit = s(&new["headRefOid"]);
    assert_eq!(head_of(&server, "revert-1-feature").as_deref(), Some(commit.as_str()));

    // One commit on main's head, with main's tree from before the merge.
    let bare = server.repo_path("acme", "api");
    assert_eq!(common::git(&bare, &["rev-list", "--parents", "-n", "1", &commit]), format!("{commit} {merged}"));
    assert_eq!(tree_of(&server, &commit), tree_of(&server, &before));
    assert_eq!(
        common::git(&bare, &["log", "-1", "--format=%B", &commit]),
        format!("Revert \"Change feature\"\n\nThis reverts commit {merged}.")
    );
    assert_eq!(common::git(&bare, &["log", "-1", "--format=%an|%cn", &commit]), "test-user|GitHub");
    assert!(server.commit_verified("acme", "api", &commit), "GitHub signs the commits it makes");
    let rest = api.get("/repos/acme/api/pulls/2").await.body;
    assert_eq!((&rest["head"]["ref"], &rest["head"]["sha"]), (&json!("revert-1-feature"), &json!(commit)));

    // Once made, the branch is there: a second revert is refused and makes nothing.
    let again = revert(&api, json!({ "pullRequestId": pr })).await;
    assert_eq!(again.body["data"]["revertPullRequest"], Value::Null);
    assert_eq!(again.body["errors"][0]["type"], "UNPROCESSABLE", "{}", again.text);
    assert_eq!(
        again.body["errors"][0]["message"],
        "A ref named \"refs/heads/revert-1-feature\" already exists in the repository."
    );
    assert_eq!(server.pulls("acme", "api").len(), 2);
    assert_eq!(head_of(&server, "revert-1-feature").as_deref(), Some(commit.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_keeps_later_changes_and_refuses_conflicting_ones() {
    const REFUSED: &str = "Sorry, this pull request couldn't be reverted automatically. It may have already been reverted, or the content may have changed since it was merged.";
    let server = server_with_repo().await;
    let api = Api::new(&server);
    let (one, _) = merged_pull(&server, &api, "one", &[&[("README.md", b"# API\n")]], "merge").await;
    // An unrelated change after the merge stays; the pull request's change goes.
    server.push_commit("acme", "api", "main", &[("later.txt", b"later\n")], "later");
    let resp = revert(&api, json!({ "pullRequestId": one })).await;
    assert!(resp.body.get("errors").is_none(), "{}", resp.text);
    let commit = s(&resp.body["data"]["revertPullRequest"]["revertPullRequest"]["headRefOid"]);
    let file = |path: &str, text: &str| (path.to_string(), text.to_string());
    assert_eq!(
        files_of(&server, &commit),
        [file("README.md", "# api\n"), file("later.txt", "later\n"), file("src/lib.rs", "pub fn f() {}\n")]
    );

    // Reverted already: with the revert merged and its branch gone, another revert of the same
    // pull request would change nothing, and GitHub refuses it.
    let merged = api.put("/repos/acme/api/pulls/2/merge", json!({ "merge_method": "squash" })).await;
    assert_eq!(merged.status, 200, "{}", merged.text);
    assert_eq!(api.delete("/repos/acme/api/git/refs/heads/revert-1-one").await.status, 204);
    let twice = revert(&api, json!({ "pullRequestId": one })).await;
    assert_eq!(twice.body["data"]["revertPullRequest"], Value::Null, "{}", twice.text);
    assert_eq!(twice.body["errors"][0]["message"], REFUSED);
    assert_eq!(head_of(&server, "revert-1-one"), None);

    // A later change to the lines the pull request changed: the revert does not apply, and
    // nothing is made.
    let (two, _) = merged_pull(&server, &api, "two", &[&[("src/lib.rs", b"pub fn g() {}\n")]], "merge").await;
    server.push_commit("acme", "api", "main", &[("src/lib.rs", b"pub fn h() {}\n")], "rename again");
    let main = head_of(&server, "main");
    let refused = revert(&api, json!({ "pullRequestId": two })).await;
    assert_eq!(refused.body["data"]["revertPullRequest"], Value::Null, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["type"], "UNPROCESSABLE");
    assert_eq!(refused.body["errors"][0]["path"], json!(["revertPullRequest"]));
    assert_eq!(refused.body["errors"][0]["message"], REFUSED);
    assert_eq!(head_of(&server, "revert-3-two"), None, "no branch");
    assert_eq!(server.pulls("acme", "api").len(), 3, "no pull request");
    assert_eq!(head_of(&server, "main"), main);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_merged_pull_requests_can_be_reverted() {
    let server = server_with_repo().await;
    let api = Api::new(&server);
    server.push_commit("acme", "api", "open", &[("open.txt", b"open\n")], "open");
    let open = api.post("/repos/acme/api/pulls", json!({ "title": "Open", "head": "open", "base": "main" })).await;
    let node = s(&open.body["node_id"]);
    let refused = revert(&api, json!({ "pullRequestId": node })).await;
    assert_eq!(refused.body["data"]["revertPullRequest"], Value::Null, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["type"], "UNPROCESSABLE");
    assert_eq!(refused.body["errors"][0]["message"], "Pull request must be merged to be reverted.");
    let closed = api.patch("/repos/acme/api/pulls/1", json!({ "state": "closed" })).await;
    assert_eq!(closed.body["state"], "closed", "{}", closed.text);
    let refused = revert(&api, json!({ "pullRequestId": node })).await;
    assert_eq!(refused.body["errors"][0]["message"], "Pull request must be merged to be reverted.");
    assert_eq!(head_of(&server, "revert-1-open"), None);
    assert_eq!(server.pulls("acme", "api").len(), 1);

    let unknown = revert(&api, json!({ "pullRequestId": "PR_nope" })).await;
    assert_eq!(unknown.body["errors"][0]["type"], "NOT_FOUND");
    let missing = api.post("/graphql", json!({ "query": REVERT, "variables": { "input": { "title": "x" } } })).await;
    assert!(missing.body.get("data").is_none(), "pullRequestId is required: {}", missing.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn squash_and_rebase_merges_revert_too() {
    for method in ["squash", "rebase"] {
        let server = server_with_repo().await;
        let api = Api::new(&server);
        // Two commits, so that a rebase merge puts two commits on main.
        let commits: [&[(&str, &[u8])]; 2] = [&[("README.md", b"# API\n")], &[("src/lib.rs", b"pub fn g() {}\n")]];
        let (pr, before) = merged_pull(&server, &api, "topic", &commits, method).await;
        let merged = head_of(&server, "main").expect("main");
        let bare = server.repo_path("acme", "api");
        let added = common::git(&bare, &["rev-list", "--count", &format!("{before}..{merged}")]);
        assert_eq!(added, if method == "rebase" { "2" } else { "1" });

        let resp = revert(
            &api,
            json!({ "pullRequestId": pr, "title": "Back out topic", "body": "Broke the build", "draft": true }),
        )
        .await;
        assert!(resp.body.get("errors").is_none(), "{method}: {}", resp.text);
        let new = &resp.body["data"]["revertPullRequest"]["revertPullRequest"];
        assert_eq!(
            (&new["title"], &new["body"], &new["isDraft"]),
            (&json!("Back out topic"), &json!("Broke the build"), &json!(true))
        );
        let commit = s(&new["headRefOid"]);
        assert_eq!(common::git(&bare, &["rev-list", "--parents", "-n", "1", &commit]), format!("{commit} {merged}"));
        assert_eq!(tree_of(&server, &commit), tree_of(&server, &before), "{method}: the pre-merge tree");
        assert_eq!(
            common::git(&bare, &["log", "-1", "--format=%s", &commit]),
            "Revert \"Change topic\"",
            "the commit names the original, whatever the new pull request's title"
        );
    }
}
