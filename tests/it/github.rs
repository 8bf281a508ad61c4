//! The GitHub forge end to end: the real binary (octocrab inside) against the GitHub-compatible
//! test server, which keeps its repositories as real bare git repos served over smart HTTP.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::cargo_bin;
use github_test_server::{FaultFilter, RepoOptions, ServerConfig, TestServer, TokenKind};

use crate::support::{Output, row};

const TOKEN: &str = "ghp_convoyTESTtoken0123456789abcdefXYZ";

struct Gh {
    server: TestServer,
    dir: tempfile::TempDir,
}

async fn org(repos: usize) -> Gh {
    let server = TestServer::start(ServerConfig { require_auth: true, ..Default::default() }).await.unwrap();
    server.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into(), "workflow".into()] });
    for i in 0..repos {
        let name = format!("svc-{i:02}");
        let files: Vec<(&str, &[u8])> =
            vec![("README.md", b"# service\n"), ("Cargo.toml", b"[package]\nname = \"svc\"\n")];
        server.create_repo("acme", &name, &files, RepoOptions::default().private(true));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("templates")).unwrap();
    std::fs::write(dir.path().join("templates/ci.yml.j2"), "name: ci\non: push\n# {{ repo.full_name }}\n").unwrap();
    Gh { server, dir }
}

impl Gh {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn manifest(&self, api_url: &str, forge_extra: &str, campaign_extra: &str) {
        let text = format!(
            "[org]\nname = \"acme\"\njobs = 8\ncache_dir = \"cache\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"{api_url}\"\nwrites_per_minute = 60000\nwrites_per_hour = 1000000\n{forge_extra}\n\n[[repo]]\nname = \"acme/*\"\n\n[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n[campaign]\nbranch = \"convoy/ci\"\nlabels = [\"convoy\"]\n{campaign_extra}\n"
        );
        std::fs::write(self.path().join("org.toml"), text).unwrap();
    }

    /// Run the binary off the runtime's threads (the server runs on them).
    async fn convoy(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(cargo_bin("convoy"));
        cmd.arg("-m").arg(self.path().join("org.toml")).args(args).current_dir(self.path());
        for var in ["GITHUB_TOKEN", "GH_TOKEN", "CONVOY_GITHUB_APP_PRIVATE_KEY", "CONVOY_LOG", "CONVOY_MANIFEST"] {
            cmd.env_remove(var);
        }
        cmd.env("NO_COLOR", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let root = self.path().display().to_string();
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap();
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).replace(&root, "[ORG]"),
            stderr: String::from_utf8_lossy(&out.stderr).replace(&root, "[ORG]"),
        }
    }

    fn open_prs(&self, repo: &str) -> usize {
        self.server.pulls("acme", repo).iter().filter(|p| p["state"] == "open").count()
    }
}

fn with_token() -> [(&'static str, &'static str); 1] {
    [("GITHUB_TOKEN", TOKEN)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_repos_one_pr_each_and_a_noop_rerun_opens_nothing() {
    let gh = org(50).await;
    gh.manifest(&gh.server.api_url(), "", "");
    gh.server.clear_requests();
    let first = gh.convoy(&["apply", "-q", "--json"], &with_token()).await;
    assert_eq!(first.code, 0, "{first:?}");
    // Content-creating requests: one GraphQL document per new PR (branch, commit, PR), then the
    // campaign's `convoy` label made in 3 documents of 20 `createLabel`s and the sibling lists
    // and labels set in 3 documents of 20 `updatePullRequest`s; no REST update per PR.
    let log = gh.server.requests();
    let api_writes = log.writes().into_iter().filter(|w| !w.route.contains(".git/")).count();
    assert_eq!(api_writes, 50 + 3 + 3, "{:?}", log.counts);
    assert_eq!(log.count("PATCH", "/repos/{owner}/{repo}/issues/{number}"), 0, "{:?}", log.counts);
    let v: serde_json::Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(v["summary"]["opened"], 50, "{first:?}");
    assert!(v["api"]["requests"].as_u64().unwrap() > 0);
    for i in 0..50 {
        assert_eq!(gh.open_prs(&format!("svc-{i:02}")), 1);
    }
    let pr = &gh.server.pulls("acme", "svc-07")[0];
    assert!(pr["body"].as_str().unwrap().contains("- acme/svc-07#1 (this pull request)"), "{pr}");
    assert_eq!(pr["labels"][0]["name"], "convoy");

    gh.server.clear_requests();
    let again = gh.convoy(&["apply", "-q", "--json"], &with_token()).await;
    assert_eq!(again.code, 0, "{again:?}");
    let v: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(v["summary"]["unchanged"], 50, "{again:?}");
    let log = gh.server.requests();
    let api_writes = log.writes().into_iter().filter(|w| !w.route.contains(".git/")).count();
    assert_eq!(api_writes, 0, "a no-op re-run writes nothing: {:?}", log.counts);
    // Per repository: the PR lookup and the head commit; the listing is one page.
    let api_calls = log.entries.iter().filter(|e| !e.route.contains(".git/")).count();
    assert!(api_calls <= 2 * 50 + 2, "{api_calls} API requests for 50 repos: {:?}", log.counts);
    for i in 0..50 {
        assert_eq!(gh.open_prs(&format!("svc-{i:02}")), 1, "still exactly one PR");
    }
    // The first re-run asked new questions (the PR list changed, the head commit is new); from
    // the next one on, the ETags saved by the last run answer them with free 304s.
    gh.server.clear_requests();
    let third = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(third.code, 0, "{third:?}");
    let log = gh.server.requests();
    let api_calls = log.entries.iter().filter(|e| !e.route.contains(".git/")).count();
    assert!(api_calls <= 2 * 50 + 2, "{api_calls}: {:?}", log.counts);
    assert!(log.not_modified >= 100, "ETags serve the steady-state re-run: {} of {api_calls}", log.not_modified);
    assert!(third.stderr.contains("(101 answered 304 from cache)"), "{third:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn faults_do_not_lose_or_duplicate_anything() {
    let gh = org(20).await;
    gh.manifest(&gh.server.api_url(), "", "");
    let faults = gh.server.faults();
    faults.seed(7);
    faults.fail_rate(0.05);
    faults.secondary_limit_next(3, 1);
    // The classic: the PR is created (here with its branch and commit, in one GraphQL document),
    // and the answer is a 502.
    faults.apply_then_502_next(2, FaultFilter::route("POST", "/graphql"));
    // (A lost answer to the batched second-pass update: `batched_updates_survive_a_lost_answer...`.)
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    faults.clear();
    // Everything converges, if need be on a second run.
    let out = if out.code == 0 { out } else { gh.convoy(&["apply", "-q"], &with_token()).await };
    assert_eq!(out.code, 0, "{out:?}");
    for i in 0..20 {
        let repo = format!("svc-{i:02}");
        assert_eq!(gh.server.pulls("acme", &repo).len(), 1, "{repo}: exactly one PR ever: {out:?}");
    }
    let log = gh.server.requests();
    assert!(log.count("POST", "/graphql") + log.count("POST", "/repos/{owner}/{repo}/pulls") >= 20, "{:?}", log.counts);
    for i in 0..20 {
        let pr = &gh.server.pulls("acme", &format!("svc-{i:02}"))[0];
        assert_eq!(pr["labels"][0]["name"], "convoy", "labels set despite the faults: {pr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batched_updates_survive_a_lost_answer_and_can_be_turned_off() {
    let gh = org(6).await;
    gh.manifest(&gh.server.api_url(), "", "");
    let first = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(first.code, 0, "{first:?}");
    // A new title for every PR: pass 2's only write is one document of six updates, applied by
    // the server and answered 502. Every field is an absolute value: it is sent again.
    gh.manifest(&gh.server.api_url(), "", "title = \"CI, take two\"");
    gh.server.clear_requests();
    gh.server.faults().apply_then_502_next(1, FaultFilter::route("POST", "/graphql"));
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    for i in 0..6 {
        let prs = gh.server.pulls("acme", &format!("svc-{i:02}"));
        assert_eq!(prs.len(), 1);
        assert_eq!(prs[0]["title"], "CI, take two");
        assert_eq!(prs[0]["labels"][0]["name"], "convoy", "labels kept: {}", prs[0]);
    }
    let log = gh.server.requests();
    assert_eq!(log.count("POST", "/graphql"), 2, "the document and its repeat: {:?}", log.counts);

    // `graphql_batch = 1`: one REST update per PR, as before batching.
    gh.manifest(&gh.server.api_url(), "graphql_batch = 1", "title = \"CI, take three\"");
    gh.server.clear_requests();
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let log = gh.server.requests();
    assert_eq!(log.count("POST", "/graphql"), 0, "{:?}", log.counts);
    assert_eq!(log.count("PATCH", "/repos/{owner}/{repo}/pulls/{number}"), 6, "{:?}", log.counts);
    assert_eq!(gh.server.pulls("acme", "svc-03")[0]["title"], "CI, take three");

    // Out of range is a manifest error with its line.
    gh.manifest(&gh.server.api_url(), "graphql_batch = 0", "");
    let bad = gh.convoy(&["validate"], &[]).await;
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("`graphql_batch` must be between 1 and 100"), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ghes_base_url_and_graphql_path() {
    let gh = org(2).await;
    gh.manifest(&gh.server.ghes_api_url(), "", "auto_merge = \"squash\"");
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(row(&out.stdout, "acme/svc-00").starts_with("acme/svc-00 opened PR #1"), "{out:?}");
    // Auto-merge went through GraphQL at GHES's /api/graphql (the server answers 404 under /api/v3).
    let pr = &gh.server.pulls("acme", "svc-00")[0];
    assert_eq!(pr["auto_merge"]["merge_method"], "squash", "{pr}");
    let graphql: usize = gh
        .server
        .requests()
        .counts
        .iter()
        .filter(|((m, r), _)| m == "POST" && r.contains("graphql"))
        .map(|(_, n)| n)
        .sum();
    // Per repository: branch + commit + PR in one document, then auto-merge; then for both, the
    // label lookup (a query), the label made, and the sibling lists and labels set.
    assert_eq!(graphql, 2 * 2 + 3, "{:?}", gh.server.requests().counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn github_app_installation_tokens_make_verified_commits() {
    let gh = org(3).await;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/github-test-server/tests/fixtures");
    let public = std::fs::read_to_string(fixtures.join("app-public-key.pem")).unwrap();
    gh.server.register_app(4242, &public, 99, "acme");
    std::fs::copy(fixtures.join("app-private-key.pem"), gh.path().join("app.pem")).unwrap();
    gh.manifest(&gh.server.api_url(), "app_id = 4242\nprivate_key_path = \"app.pem\"", "");
    let status = gh.convoy(&["auth", "status"], &[]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert!(status.stdout.contains("credentials: GitHub App 4242 (installation)"), "{status:?}");
    assert!(status.stdout.contains("for `apply`: sufficient"), "{status:?}");

    let out = gh.convoy(&["apply", "-q"], &[]).await;
    assert_eq!(out.code, 0, "{out:?}");
    let pr = &gh.server.pulls("acme", "svc-01")[0];
    let head = pr["head"]["sha"].as_str().unwrap();
    assert!(gh.server.commit_verified("acme", "svc-01", head), "commits made by the App are verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_is_never_printed_or_stored() {
    let gh = org(2).await;
    gh.manifest(&gh.server.api_url(), "", "");
    let mut outputs = Vec::new();
    for args in [&["apply", "-q"][..], &["--json", "plan"], &["auth", "status"], &["--json", "auth", "status"]] {
        outputs.push(gh.convoy(args, &[("GITHUB_TOKEN", TOKEN), ("CONVOY_LOG", "trace")]).await);
    }
    gh.server.faults().fail_next(3, 500);
    outputs.push(gh.convoy(&["apply"], &[("GITHUB_TOKEN", TOKEN), ("CONVOY_LOG", "debug")]).await);
    // A wrong token: errors must not echo it either.
    outputs.push(gh.convoy(&["plan"], &[("GITHUB_TOKEN", "ghp_WRONGwrongWRONG")]).await);
    for out in &outputs {
        assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN), "token leaked: {out:?}");
        assert!(!out.stderr.contains("ghp_WRONGwrongWRONG"), "token leaked: {out:?}");
    }
    let bad = outputs.last().unwrap();
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(bad.stderr.contains("401 Bad credentials"), "{bad:?}");
    // Nothing on disk holds it: not the clone cache's git config, not the ETag cache.
    for entry in walk(&gh.path().join("cache")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN), "token stored in {}", entry.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_are_paced_one_at_a_time() {
    let gh = org(4).await;
    gh.manifest(&gh.server.api_url(), "", "");
    let text = std::fs::read_to_string(gh.path().join("org.toml"))
        .unwrap()
        .replace("writes_per_minute = 60000", "writes_per_minute = 600");
    std::fs::write(gh.path().join("org.toml"), text).unwrap();
    gh.server.faults().latency(Duration::from_millis(20));
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let log = gh.server.requests();
    // API writes only: smart-HTTP git traffic (upload-pack POSTs) is not content creation.
    let writes: Vec<_> = log.writes().into_iter().filter(|w| !w.route.contains(".git/")).collect();
    // Per repository one GraphQL document (branch, commit, PR); then one document making the
    // label in all four, and one setting their sibling lists and labels. (The label lookup in
    // between is a query: a read, not paced.)
    assert_eq!(writes.len(), 4 + 2, "{:?}", log.counts);
    // 600 per minute = one write per 100 ms, paced where convoy sends them. The server logs
    // arrivals, and each arrival lags its send by a delay that varies with the machine's load,
    // so one gap may look shorter than 100 ms by the difference of two delays. Over the whole
    // run those differences cancel out (the sum telescopes to the last delay minus the first),
    // so the span is held to the full pace and each single gap only to half of it.
    let pace = Duration::from_millis(100);
    for pair in writes.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= pace / 2, "writes {gap:?} apart: {} then {}", pair[0].route, pair[1].route);
    }
    let span = writes[writes.len() - 1].at.duration_since(writes[0].at);
    let paced = pace * (writes.len() as u32 - 1);
    assert!(span + Duration::from_millis(30) >= paced, "{} writes in {span:?}, paced would be {paced:?}", writes.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_low_rate_limit_is_waited_out_and_an_exhausted_one_fails_clearly() {
    let gh = org(3).await;
    gh.manifest(&gh.server.api_url(), "", "");
    gh.server.set_rate_limit(5000, 25, Duration::from_secs(2));
    let out = gh.convoy(&["apply", "-q", "--json"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["api"]["waited_ms"].as_u64().unwrap() >= 1000, "{}", v["api"]);

    let gh = org(1).await;
    gh.manifest(&gh.server.api_url(), "rate_limit_wait = 1", "");
    gh.server.faults().exhaust_primary(Duration::from_secs(3600));
    let out = gh.convoy(&["plan", "-q"], &with_token()).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("rate limit is exhausted"), "{out:?}");
    assert!(out.stderr.contains("raise rate_limit_wait"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_only_credentials_are_refused_before_anything_is_written() {
    let gh = org(2).await;
    gh.server.add_token("ghp_readonly", TokenKind::Classic { scopes: vec!["read:org".into()] });
    gh.manifest(&gh.server.api_url(), "", "");
    let status = gh.convoy(&["auth", "status", "--for", "apply"], &[("GITHUB_TOKEN", "ghp_readonly")]).await;
    assert_eq!(status.code, 1, "{status:?}");
    assert!(status.stdout.contains("lacks the `repo` scope"), "{status:?}");
    let ok_for_plan = gh.convoy(&["auth", "status", "--for", "plan"], &[("GITHUB_TOKEN", "ghp_readonly")]).await;
    assert_eq!(ok_for_plan.code, 0, "{ok_for_plan:?}");
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_are_serial_by_default_and_concurrent_only_when_allowed() {
    for (concurrency, serial) in [(None, true), (Some(4), false)] {
        let gh = org(4).await;
        let extra = concurrency.map(|n| format!("write_concurrency = {n}")).unwrap_or_default();
        gh.manifest(&gh.server.api_url(), &extra, "");
        gh.server.faults().latency(Duration::from_millis(100));
        let out = gh.convoy(&["apply", "-q", "--jobs", "4"], &with_token()).await;
        assert_eq!(out.code, 0, "{out:?}");
        let log = gh.server.requests();
        let writes: Vec<_> = log.writes().into_iter().filter(|w| !w.route.contains(".git/")).map(|w| w.at).collect();
        // A write is logged when it arrives; with 100 ms of latency, a serial client cannot start
        // the next one sooner than that.
        let overlapping = writes.windows(2).filter(|w| w[1].duration_since(w[0]) < Duration::from_millis(60)).count();
        if serial {
            assert_eq!(overlapping, 0, "default: one write at a time");
        } else {
            assert!(overlapping > 0, "write_concurrency = 4 lets writes overlap");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_applies_at_once_converge_on_one_pr_each() {
    let gh = org(6).await;
    gh.manifest(&gh.server.api_url(), "", "");
    for round in 0..2 {
        let env = with_token();
        let (a, b) = tokio::join!(gh.convoy(&["apply", "-q"], &env), gh.convoy(&["apply", "-q"], &env));
        assert_eq!(a.code, 0, "round {round}: {a:?}");
        assert_eq!(b.code, 0, "round {round}: {b:?}");
        for i in 0..6 {
            assert_eq!(gh.open_prs(&format!("svc-{i:02}")), 1, "round {round}: svc-{i:02}");
        }
        // Next round races on a new base.
        for i in 0..6 {
            gh.server.push_commit("acme", &format!("svc-{i:02}"), "main", &[("README.md", b"moved\n")], "move");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_default_branch_retargets_the_pr_and_main_is_never_written() {
    let gh = org(2).await;
    gh.manifest(&gh.server.api_url(), "", "");
    assert_eq!(gh.convoy(&["apply", "-q"], &with_token()).await.code, 0);
    let trunk = gh.server.push_commit("acme", "svc-00", "trunk", &[("TRUNK", b"only on trunk\n")], "trunk only");
    gh.server.set_default_branch("acme", "svc-00", "trunk");
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(row(&out.stdout, "acme/svc-00").starts_with("acme/svc-00 pushed new commit to PR #1"), "{out:?}");
    assert!(out.stdout.contains("note acme/svc-00: retargeted PR #1 from `main` to `trunk`"), "{out:?}");
    let pr = &gh.server.pulls("acme", "svc-00")[0];
    assert_eq!(pr["base"]["ref"], "trunk", "{pr}");
    let bare = gh.server.repo_path("acme", "svc-00");
    let parent = crate::support::git(&bare, &["rev-parse", "convoy/ci^"]);
    assert_eq!(parent.trim(), trunk);
    let again = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert!(row(&again.stdout, "acme/svc-00").starts_with("acme/svc-00 PR #1 up to date"), "{again:?}");

    // A manifest that names the default branch as the campaign branch never moves it.
    let main = crate::support::git(&gh.server.repo_path("acme", "svc-01"), &["rev-parse", "main"]);
    std::fs::write(
        gh.path().join("org.toml"),
        std::fs::read_to_string(gh.path().join("org.toml")).unwrap().replace("convoy/ci", "main"),
    )
    .unwrap();
    for _ in 0..2 {
        let out = gh.convoy(&["apply", "-q"], &with_token()).await;
        assert_ne!(out.code, 0, "{out:?}");
        assert_eq!(crate::support::git(&gh.server.repo_path("acme", "svc-01"), &["rev-parse", "main"]), main);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pr_closed_by_a_person_is_left_closed_unless_reopen_closed() {
    use convoy::forge::Forge as _;
    let gh = org(1).await;
    gh.manifest(&gh.server.api_url(), "", "");
    assert_eq!(gh.convoy(&["apply", "-q"], &with_token()).await.code, 0);
    // A person closes the PR in the UI (the same REST call; no marker in the body).
    let token = std::sync::Arc::new(convoy::forge::github::auth::StaticToken::new(Some(TOKEN.to_string().into()), "t"));
    let api = convoy::forge::github::api::Api::new(
        convoy::forge::github::api::Endpoints::from_api_url(&gh.server.api_url()).unwrap(),
        convoy::forge::github::api::Limits::default(),
        token.clone(),
        None,
    )
    .unwrap();
    let forge = convoy::forge::github::GithubForge::new(api, token);
    let repo = convoy::forge::RepoId::new("acme", "svc-00");
    let close = convoy::forge::PullRequestUpdate { state: Some(convoy::forge::PrState::Closed), ..Default::default() };
    forge.update_pull_request(&repo, 1, &close).await.unwrap();
    for _ in 0..2 {
        let out = gh.convoy(&["apply", "-q"], &with_token()).await;
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            row(&out.stdout, "acme/svc-00").starts_with("acme/svc-00 PR #1 closed by a person; left closed"),
            "{out:?}"
        );
        assert_eq!(gh.open_prs("svc-00"), 0);
        assert_eq!(gh.server.pulls("acme", "svc-00").len(), 1, "no new PR");
    }
    gh.manifest(&gh.server.api_url(), "", "reopen_closed = true");
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(gh.open_prs("svc-00"), 1, "{out:?}");
    assert_eq!(gh.server.pulls("acme", "svc-00").len(), 1, "the same PR, reopened: {out:?}");
}

/// `createCommitOnBranch` takes paths and contents, no modes, and GitHub documents none for its
/// additions: a write that replaces a `100755` file (here `mode = "100644"` on an executable
/// script) goes through the git data API, whose tree entries carry the mode; a plain write still
/// takes the one-document GraphQL path.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mode_change_on_a_new_pr_is_committed_with_its_mode() {
    let gh = org(2).await;
    let bare = gh.server.repo_path("acme", "svc-00");
    // Make `tool.sh` executable on svc-00's main with plumbing (the server has no mode option).
    let git = |args: &[&str]| crate::support::git(&bare, args);
    let blob = {
        let tmp = gh.path().join("tool.sh");
        std::fs::write(&tmp, "echo tool\n").unwrap();
        git(&["hash-object", "-w", tmp.to_str().unwrap()]).trim().to_string()
    };
    let mut listing = git(&["ls-tree", "main"]);
    listing.push_str(&format!("100755 blob {blob}\ttool.sh\n"));
    let tree = {
        let mut child = std::process::Command::new("git")
            .args(["mktree"])
            .current_dir(&bare)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(listing.as_bytes()).unwrap();
        String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
    };
    let head = git(&["rev-parse", "main"]).trim().to_string();
    let commit = git(&["commit-tree", &tree, "-p", &head, "-m", "add tool"]).trim().to_string();
    git(&["update-ref", "refs/heads/main", &commit]);

    std::fs::create_dir_all(gh.path().join("files")).unwrap();
    std::fs::write(gh.path().join("files/tool.sh"), "echo tool\n").unwrap();
    let text = format!(
        "[org]\nname = \"acme\"\njobs = 2\ncache_dir = \"cache\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"{}\"\nwrites_per_minute = 60000\nwrites_per_hour = 1000000\n\n[[repo]]\nname = \"acme/*\"\n\n[[file]]\nsource = \"tool.sh\"\ndest = \"tool.sh\"\nmode = \"100644\"\n\n[campaign]\nbranch = \"convoy/ci\"\n",
        gh.server.api_url()
    );
    std::fs::write(gh.path().join("org.toml"), text).unwrap();
    let plan = gh.convoy(&["plan", "-q"], &with_token()).await;
    assert!(plan.stdout.contains("old mode 100755\nnew mode 100644\n"), "{plan:?}");
    gh.server.clear_requests();
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    for repo in ["svc-00", "svc-01"] {
        let tree = crate::support::git(&gh.server.repo_path("acme", repo), &["ls-tree", "convoy/ci", "tool.sh"]);
        assert!(tree.starts_with("100644 blob"), "{repo}: {tree}");
    }
    let log = gh.server.requests();
    let trees: Vec<&str> = log
        .entries
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/git/trees"))
        .map(|e| e.path.as_str())
        .collect();
    assert_eq!(trees, vec!["/repos/acme/svc-00/git/trees"], "only the mode change takes the git data API");
    assert_eq!(log.count("POST", "/repos/{owner}/{repo}/git/commits"), 1, "{:?}", log.counts);
}

/// `status`, `forge set-status`, `merge` and `close` through the real client against the test
/// server: the same commands and words as on the local forge.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn status_merge_and_close_on_github() {
    let gh = org(3).await;
    gh.manifest(&gh.server.api_url(), "", "merge_method = \"squash\"");
    assert_eq!(gh.convoy(&["apply", "-q"], &with_token()).await.code, 0);
    let set = |repo: &'static str, state: &'static str| {
        let gh = &gh;
        async move {
            let out = gh.convoy(&["forge", "set-status", "-q", "--repo", repo, "--state", state], &with_token()).await;
            assert_eq!(out.code, 0, "{out:?}");
        }
    };
    set("svc-00", "success").await;
    set("svc-01", "failure").await;
    let status = gh.convoy(&["status"], &with_token()).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert!(row(&status.stdout, "acme/svc-00").starts_with("acme/svc-00 #1 open success"), "{status:?}");
    assert!(row(&status.stdout, "acme/svc-01").starts_with("acme/svc-01 #1 open failure"), "{status:?}");
    assert!(row(&status.stdout, "acme/svc-02").starts_with("acme/svc-02 #1 open none"), "{status:?}");

    let merge = gh.convoy(&["merge"], &with_token()).await;
    assert_eq!(merge.code, 0, "{merge:?}");
    assert!(row(&merge.stdout, "acme/svc-00").starts_with("acme/svc-00 merged PR #1"), "{merge:?}");
    assert_eq!(row(&merge.stdout, "acme/svc-01"), "acme/svc-01 PR #1 not merged: checks failed");
    let pulls = gh.server.pulls("acme", "svc-00");
    assert_eq!(pulls[0]["merged"], true, "{pulls:?}");
    let main = crate::support::git(&gh.server.repo_path("acme", "svc-00"), &["show", "main:.github/workflows/ci.yml"]);
    assert!(main.contains("# acme/svc-00"), "{main}");

    let close = gh.convoy(&["close", "--repo", "svc-01", "--delete-branch"], &with_token()).await;
    assert_eq!(close.code, 0, "{close:?}");
    assert_eq!(row(&close.stdout, "acme/svc-01"), "acme/svc-01 closed PR #1; branch deleted");
    let status = gh.convoy(&["status", "--json"], &with_token()).await;
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(doc["summary"]["merged"], 1, "{doc}");
    assert_eq!(doc["summary"]["closed_by_convoy"], 1, "{doc}");
    assert_eq!(doc["summary"]["open"], 1, "{doc}");
}

/// A two-wave rollout through the real client against the test server: the pilot is applied, its
/// gate holds until its PR is merged (checks set green, `merge --wave pilot`), then the rest is
/// applied and its `opened` gate passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rollout_advances_wave_by_wave_on_github() {
    let gh = org(3).await;
    gh.manifest(
        &gh.server.api_url(),
        "",
        "merge_method = \"squash\"\n\n[[wave]]\nname = \"pilot\"\nrepos = [\"svc-00\"]\n\n[[wave]]\nname = \"rest\"\nrest = true\nrequire = \"opened\"\n",
    );
    let env = [("GITHUB_TOKEN", TOKEN), ("CONVOY_NOW", "2026-11-29T10:00:00Z")];
    let out = gh.convoy(&["rollout", "advance", "-q"], &env).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((gh.open_prs("svc-00"), gh.open_prs("svc-01"), gh.open_prs("svc-02")), (1, 0, 0), "{out:?}");

    let out = gh.convoy(&["rollout", "advance", "-q"], &env).await;
    assert!(out.stdout.contains("waiting: wave `pilot` waits: acme/svc-00: PR #1 is not merged"), "{out:?}");
    assert_eq!(gh.open_prs("svc-01"), 0);

    let set = gh.convoy(&["forge", "set-status", "-q", "--repo", "svc-00", "--state", "success"], &env).await;
    assert_eq!(set.code, 0, "{set:?}");
    let merge = gh.convoy(&["merge", "-q", "--wave", "pilot"], &env).await;
    assert!(row(&merge.stdout, "acme/svc-00").starts_with("acme/svc-00 merged PR #1"), "{merge:?}");

    let out = gh.convoy(&["rollout", "advance", "-q"], &env).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((gh.open_prs("svc-01"), gh.open_prs("svc-02")), (1, 1), "{out:?}");
    let status = gh.convoy(&["rollout", "status"], &env).await;
    assert!(row(&status.stdout, "pilot").starts_with("pilot passed 1/1 0 1 0"), "{status:?}");
    assert!(row(&status.stdout, "rest").starts_with("rest passed 2/2 2 0 0"), "{status:?}");
    assert!(status.stdout.contains("done: every wave is applied and its gate passed"), "{status:?}");
}

/// Three waves on the test server: the pilot passes, the second wave crosses its failure ratio
/// and halts with `on_halt = "rollback"`: its open PRs are closed and the pilot's merged PR is
/// reverted by a real revert PR (GitHub's `revertPullRequest`) whose tree is the pre-merge
/// tree; the third wave never starts; `convoy rollback` again changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_wave_halts_and_rolls_back_on_github() {
    let gh = org(5).await;
    gh.manifest(
        &gh.server.api_url(),
        "",
        "merge_method = \"squash\"\n\n[[wave]]\nname = \"pilot\"\nrepos = [\"svc-00\"]\n\n\
         [[wave]]\nname = \"early\"\nrepos = [\"svc-01\", \"svc-02\"]\nrequire = \"checks-green\"\nmax_failure_ratio = 0.4\non_halt = \"rollback\"\n\n\
         [[wave]]\nname = \"rest\"\nrest = true\n",
    );
    let env = [("GITHUB_TOKEN", TOKEN), ("CONVOY_NOW", "2026-11-29T10:00:00Z")];
    assert_eq!(gh.convoy(&["rollout", "advance", "-q"], &env).await.code, 0);
    gh.convoy(&["forge", "set-status", "-q", "--repo", "svc-00", "--state", "success"], &env).await;
    let merge = gh.convoy(&["merge", "-q", "--wave", "pilot"], &env).await;
    assert!(row(&merge.stdout, "acme/svc-00").starts_with("acme/svc-00 merged PR #1"), "{merge:?}");
    let out = gh.convoy(&["rollout", "advance", "-q"], &env).await;
    assert_eq!((gh.open_prs("svc-01"), gh.open_prs("svc-02"), gh.open_prs("svc-03")), (1, 1, 0), "{out:?}");

    gh.convoy(&["forge", "set-status", "-q", "--repo", "svc-01", "--state", "success"], &env).await;
    gh.convoy(&["forge", "set-status", "-q", "--repo", "svc-02", "--state", "failure"], &env).await;
    let out = gh.convoy(&["rollout", "advance", "-q"], &env).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("halted at wave `early`: 1 of 2 pull requests of wave `early` failed"), "{out:?}");
    assert!(out.stdout.contains("acme/svc-00 merged PR #1 reverted by PR #2"), "{out:?}");
    assert_eq!((gh.open_prs("svc-01"), gh.open_prs("svc-02")), (0, 0), "{out:?}");
    let pulls = gh.server.pulls("acme", "svc-00");
    let revert = pulls.iter().find(|p| p["number"] == 2).expect("a revert PR");
    assert_eq!(revert["head"]["ref"], "revert-1-convoy/ci");
    assert_eq!(revert["state"], "open");
    assert!(revert["labels"].as_array().unwrap().iter().any(|l| l["name"] == "revert"), "{revert}");
    // The revert commit: one parent (main's head), the tree main had before the squash merge.
    let git_dir = gh.server.repo_path("acme", "svc-00");
    let git = |args: &[&str]| crate::support::git(&git_dir, args).trim().to_string();
    assert_eq!(git(&["rev-parse", "revert-1-convoy/ci^"]), git(&["rev-parse", "main"]));
    assert_eq!(git(&["rev-parse", "revert-1-convoy/ci^{tree}"]), git(&["rev-parse", "main^^{tree}"]));

    // Halted: nothing more is applied; a second rollback changes nothing.
    let out = gh.convoy(&["rollout", "advance", "-q"], &env).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(gh.open_prs("svc-03"), 0);
    let again = gh.convoy(&["rollback", "-q"], &env).await;
    assert!(again.stdout.contains("acme/svc-00 merged PR #1 is reverted already by PR #2 (open)"), "{again:?}");
    assert_eq!(gh.server.pulls("acme", "svc-00").len(), 2, "no second revert");
}

/// `[state]` on GitHub: the journal and claim are commits on the control repository's state
/// branch, made with `createCommitOnBranch` and `expectedHeadOid` (compare-and-swap), and the
/// journal verifies from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_campaign_state_lives_on_a_state_branch_on_github() {
    let gh = org(2).await;
    gh.server.create_repo("acme", "control", &[("README.md", b"control\n")], RepoOptions::default().private(true));
    gh.manifest(
        &gh.server.api_url(),
        "",
        "\n[[repo]]\nname = \"acme/control\"\nexclude = true\n\n[state]\nrepo = \"acme/control\"\n",
    );
    let out = gh.convoy(&["apply", "-q"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!((gh.open_prs("svc-00"), gh.open_prs("svc-01"), gh.open_prs("control")), (1, 1, 0), "{out:?}");
    assert!(!gh.path().join(".convoy/campaigns").exists(), "nothing beside the manifest");
    let git_dir = gh.server.repo_path("acme", "control");
    let journal = crate::support::git(&git_dir, &["show", "convoy-state:campaigns/convoy~ci/journal.jsonl"]);
    assert!(journal.contains("\"pr_open\""), "{journal}");
    let log = crate::support::git(&git_dir, &["log", "--format=%s", "convoy-state"]);
    assert!(log.contains("convoy claim: convoy/ci released"), "{log}");
    let verify = gh.convoy(&["journal", "verify"], &with_token()).await;
    assert_eq!(verify.code, 0, "{verify:?}");
    assert!(verify.stdout.contains("acme/control@convoy-state"), "{verify:?}");
}

/// `release run` on the test server: three repositories, three waves in dependency order, each
/// bump a pull request merged when green, tags made with `POST git/refs`, releases with `POST
/// releases`; a finished release is not resumed; `release rollback` reverts the merged bump
/// pull requests with `revertPullRequest` and deletes the tags and releases.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_wave_release_through_pull_requests_on_github() {
    let gh = org(0).await;
    let crates: [(&str, &str); 3] = [
        ("base", "[package]\nname = \"base\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
        (
            "mid",
            "[package]\nname = \"mid\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[dependencies]\nbase = \"1.0\"\n",
        ),
        (
            "top",
            "[package]\nname = \"top\"\nversion = \"0.4.2\"\nedition = \"2021\"\n\n[dependencies]\nmid = \"=1.0.0\"\n",
        ),
    ];
    for (name, manifest) in crates {
        gh.server.create_repo(
            "acme",
            name,
            &[("Cargo.toml", manifest.as_bytes()), ("src/lib.rs", b"\n")],
            RepoOptions::default().private(true),
        );
        let git_dir = gh.server.repo_path("acme", name);
        crate::support::git(
            &git_dir,
            &["tag", &format!("{name}-v{}", if name == "top" { "0.4.2" } else { "1.0.0" }), "main"],
        );
    }
    gh.server.push_commit("acme", "base", "main", &[("src/lib.rs", b"pub fn two() {}\n")], "feat!: two");
    gh.server.push_commit("acme", "top", "main", &[("src/lib.rs", b"pub fn top() {}\n")], "fix: top");
    gh.manifest(&gh.server.api_url(), "", "\n[release]\nmode = \"pull-request\"\n");
    let out = gh.convoy(&["release", "run", "--json"], &with_token()).await;
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["command"], "release run");
    assert_eq!(v["summary"]["finished"], 1);
    let mid = v["results"].as_array().unwrap().iter().find(|p| p["package"] == "mid").unwrap();
    assert_eq!(mid["tag"], "mid-v1.0.1");
    let tags = |repo: &str| crate::support::git(&gh.server.repo_path("acme", repo), &["tag", "--list"]);
    for (repo, tag) in [("base", "base-v2.0.0"), ("mid", "mid-v1.0.1"), ("top", "top-v0.4.3")] {
        let pulls = gh.server.pulls("acme", repo);
        assert_eq!(pulls.len(), 1, "{repo}");
        assert_eq!(pulls[0]["merged"], true, "{repo}: {}", pulls[0]);
        let releases = gh.server.releases("acme", repo);
        assert_eq!(releases.len(), 1, "{repo}");
        assert_eq!(releases[0]["tag_name"], tag);
        assert!(tags(repo).contains(tag), "{repo}");
        // The tag is on the merge commit of the bump pull request.
        let git_dir = gh.server.repo_path("acme", repo);
        let sha = crate::support::git(&git_dir, &["rev-parse", &format!("{tag}^{{commit}}")]);
        assert_eq!(Some(sha.trim()), pulls[0]["merge_commit_sha"].as_str(), "{repo}");
    }
    let top = crate::support::git(&gh.server.repo_path("acme", "top"), &["show", "main:Cargo.toml"]);
    assert!(top.contains("version = \"0.4.3\"") && top.contains("mid = \"=1.0.1\""), "{top}");

    let again = gh.convoy(&["release", "run", "--resume"], &with_token()).await;
    assert_eq!(again.code, 2, "a finished release is not resumed: {again:?}");
    let back = gh.convoy(&["release", "rollback"], &with_token()).await;
    assert_eq!(back.code, 0, "{back:?}");
    for (repo, old) in [("base", "base-v1.0.0"), ("mid", "mid-v1.0.0"), ("top", "top-v0.4.2")] {
        assert_eq!(tags(repo).trim(), old, "{repo}: the new tag is deleted");
        assert!(gh.server.releases("acme", repo).is_empty(), "{repo}");
        let pulls = gh.server.pulls("acme", repo);
        assert_eq!(pulls.len(), 2, "{repo}: the revert pull request");
        assert!(pulls[1]["head"]["ref"].as_str().unwrap().starts_with("revert-1-"), "{repo}");
    }
}

/// The `workflow` publish gate on the test server: each wave waits until a completed run of
/// `publish.yml` on the tag's commit is listed (GitHub's workflow runs, `head_sha`); a run on
/// another commit does not count, and a failed run fails the gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_workflow_gate_waits_for_the_publish_run_on_the_tag_on_github() {
    let gh = org(0).await;
    for (name, manifest) in [
        ("base", "[package]\nname = \"base\"\nversion = \"1.0.0\"\nedition = \"2021\"\n"),
        (
            "mid",
            "[package]\nname = \"mid\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nbase = \"=1.0.0\"\n",
        ),
    ] {
        gh.server.create_repo(
            "acme",
            name,
            &[("Cargo.toml", manifest.as_bytes())],
            RepoOptions::default().private(true),
        );
        let tag = if name == "base" { "base-v1.0.0" } else { "mid-v0.1.0" };
        crate::support::git(&gh.server.repo_path("acme", name), &["tag", tag, "main"]);
    }
    gh.server.push_commit("acme", "base", "main", &[("src/lib.rs", b"pub fn fixed() {}\n")], "fix: base");
    gh.manifest(
        &gh.server.api_url(),
        "",
        "\n[release]\nmode = \"commit\"\n\n[release.gate]\nkind = \"workflow\"\nworkflow = \"publish.yml\"\ninterval = \"1s\"\ntimeout = \"60s\"\n",
    );
    // A run of publish.yml on main's current commit (the last release's, not the new tag's)
    // must not open the gate.
    let old = crate::support::git(&gh.server.repo_path("acme", "base"), &["rev-parse", "main"]);
    let run = |sha: &str, conclusion: &str| serde_json::json!({"path": ".github/workflows/publish.yml", "head_sha": sha, "conclusion": conclusion, "status": "completed"});
    gh.server.seed_workflow_runs("acme", "base", vec![run(old.trim(), "success")]);
    // The "CI": when a tag appears, a publish run on its commit completes (mid's fails).
    let publisher = async {
        let mut done = Vec::new();
        for _ in 0..600 {
            for (repo, tag, conclusion) in [("base", "base-v1.0.1", "success"), ("mid", "mid-v0.1.1", "failure")] {
                if done.contains(&repo) {
                    continue;
                }
                let dir = gh.server.repo_path("acme", repo);
                let out = std::process::Command::new("git")
                    .args(["rev-parse", "--verify", "-q", &format!("refs/tags/{tag}^{{commit}}")])
                    .current_dir(&dir)
                    .output()
                    .unwrap();
                if out.status.success() {
                    let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
                    gh.server.seed_workflow_runs("acme", repo, vec![run(&sha, conclusion), run(old.trim(), "success")]);
                    done.push(repo);
                }
            }
            if done.len() == 2 {
                return done;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        done
    };
    let env = with_token();
    let (out, seeded) = tokio::join!(gh.convoy(&["release", "run"], &env), publisher);
    assert_eq!(seeded, ["base", "mid"], "{out:?}");
    assert_eq!(out.code, 1, "mid's publish run failed: {out:?}");
    assert!(out.stderr.contains("base 1.0.1 passed: publish.yml succeeded on"), "{out:?}");
    assert!(
        out.stderr.contains("error: mid: acme/mid: the gate of mid 0.1.1: publish.yml concluded failure on mid-v0.1.1"),
        "{out:?}"
    );
}

/// `--offline` on GitHub sends no request at all: the org's listing is the copy the last
/// online run saved beside the clone cache. Without a copy, the command says how to make one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_commands_read_the_saved_listing_and_send_no_request() {
    let gh = org(3).await;
    gh.manifest(&gh.server.api_url(), "", "");
    let env = with_token();

    let before = gh.convoy(&["plan", "--offline"], &env).await;
    assert_eq!(before.code, 1, "{before:?}");
    assert!(before.stderr.contains("--offline: no saved listing of `acme`'s repositories"), "{before:?}");
    assert!(before.stderr.contains("help: run `convoy fetch`"), "{before:?}");
    // Without a copy, validate --offline checks what needs no forge and says what it left out.
    let alone = gh.convoy(&["validate", "--offline"], &env).await;
    assert_eq!(alone.code, 0, "{alone:?}");
    assert!(alone.stdout.contains("is valid on its own: 1 template, 0 files"), "{alone:?}");
    assert!(alone.stdout.contains("note: not checked offline: selectors"), "{alone:?}");
    assert_eq!(gh.server.requests().total, 0, "nothing was sent");

    let fetched = gh.convoy(&["fetch", "-q"], &env).await;
    assert_eq!(fetched.code, 0, "{fetched:?}");
    let saved = std::fs::read_to_string(gh.path().join("cache/.listing.json")).unwrap();
    assert!(saved.contains("\"owner\":\"acme\"") && saved.contains("svc-02"), "{saved}");
    assert!(!saved.contains(TOKEN), "the listing holds no credentials");

    gh.server.clear_requests();
    for args in [
        &["plan", "--offline"][..],
        &["validate", "--offline"],
        &["audit", "--offline"],
        &["deps", "skew", "--offline"],
        &["deps", "actions", "--offline"],
        &["grep", "--offline", "service"],
        &["release", "graph", "--offline"],
    ] {
        // No token either: an offline run needs none.
        let out = gh.convoy(args, &[]).await;
        assert!(out.code == 0 || (args[0] == "audit" && out.code == 1), "{args:?}: {out:?}");
        assert!(!out.stderr.contains("error:") && !out.stderr.contains("anonymous"), "{args:?}: {out:?}");
    }
    let plan = gh.convoy(&["plan", "--offline"], &[]).await;
    assert!(plan.stdout.contains("3 repositories: 3 changed"), "{plan:?}");
    assert_eq!(gh.server.requests().total, 0, "offline runs sent requests: {:?}", gh.server.requests().counts);

    // A copy from another GitHub (here: another api_url) is not used.
    gh.manifest("https://ghe.example.com/api/v3", "", "");
    let other = gh.convoy(&["plan", "--offline"], &[]).await;
    assert_eq!(other.code, 1, "{other:?}");
    assert!(other.stderr.contains("not `acme` on github https://ghe.example.com/api/v3"), "{other:?}");
}

/// `auth status` without any credentials says so at once, with what to set, and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auth_status_without_credentials_says_what_to_set() {
    let gh = org(1).await;
    gh.manifest(&gh.server.api_url(), "", "");
    let out = gh.convoy(&["auth", "status"], &[]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("error: no credentials for GitHub: GITHUB_TOKEN and GH_TOKEN are unset"), "{out:?}");
    assert!(out.stderr.contains("help: export GITHUB_TOKEN="), "{out:?}");
    assert_eq!(gh.server.requests().total, 0);
}

/// Without credentials GitHub lists only public repositories: a rule naming a private one is
/// told why it matches nothing, that listing is not saved for `--offline`, and a command that
/// would write stops before its first write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_credentials_private_repositories_are_explained_and_writes_refused() {
    let server = TestServer::start(ServerConfig::default()).await.unwrap();
    server.create_repo("acme", "sandbox", &[("README.md", b"# s\n" as &[u8])], RepoOptions::default().private(true));
    server.create_repo("acme", "site", &[("README.md", b"# s\n" as &[u8])], RepoOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let gh = Gh { server, dir };
    std::fs::create_dir_all(gh.path().join("templates")).unwrap();
    std::fs::write(gh.path().join("templates/ci.yml.j2"), "name: ci\non: push\n").unwrap();
    let manifest = |repo: &str| {
        let text = format!(
            "[org]\nname = \"acme\"\ncache_dir = \"cache\"\n\n[org.forge]\nkind = \"github\"\napi_url = \"{}\"\n\n[[repo]]\nname = \"{repo}\"\n\n[[template]]\nsource = \"ci.yml.j2\"\ndest = \".github/workflows/ci.yml\"\n\n[campaign]\nbranch = \"convoy/ci\"\n",
            gh.server.api_url()
        );
        std::fs::write(gh.path().join("org.toml"), text).unwrap();
    };
    manifest("acme/sandbox");
    let out = gh.convoy(&["validate"], &[]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("[[repo]] name `acme/sandbox` matches none of the 1 repository"), "{out:?}");
    assert!(out.stderr.contains("help: the org was listed without credentials"), "{out:?}");
    assert!(!gh.path().join("cache/.listing.json").exists(), "an anonymous listing is not kept");

    manifest("acme/site");
    let apply = gh.convoy(&["apply"], &[]).await;
    assert_eq!(apply.code, 1, "{apply:?}");
    assert!(apply.stderr.contains("error: no credentials for GitHub"), "{apply:?}");
    assert!(gh.server.requests().writes().is_empty(), "nothing was written");
    assert!(gh.server.pulls("acme", "site").is_empty());
}
