//! Helpers shared by the integration tests: a server with a token, an HTTP client, git.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use base64::Engine;
use github_test_server::{RepoOptions, ServerConfig, TestServer, TokenKind};
use serde_json::Value;

pub const TOKEN: &str = "ghp_testtoken";

pub async fn server() -> TestServer {
    server_with(ServerConfig::default()).await
}

pub async fn server_with(config: ServerConfig) -> TestServer {
    let s = TestServer::start(config).await.expect("server starts");
    s.add_token(TOKEN, TokenKind::Classic { scopes: vec!["repo".into(), "workflow".into()] });
    s
}

/// A server with `acme/api` (README.md and src/lib.rs on main).
pub async fn server_with_repo() -> TestServer {
    let s = server().await;
    s.create_repo(
        "acme",
        "api",
        &[("README.md", b"# api\n"), ("src/lib.rs", b"pub fn f() {}\n")],
        RepoOptions::default(),
    );
    s
}

pub fn client() -> reqwest::Client {
    // Err: installed already by another test of this binary.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().user_agent("github-test-server-tests").build().expect("client")
}

pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub token: Option<String>,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    pub fn new(server: &TestServer) -> Api {
        Api { base: server.api_url(), client: client(), token: Some(TOKEN.to_string()) }
    }
    pub fn anonymous(server: &TestServer) -> Api {
        Api { base: server.api_url(), client: client(), token: None }
    }
    pub fn with_token(server: &TestServer, token: &str) -> Api {
        Api { base: server.api_url(), client: client(), token: Some(token.to_string()) }
    }
    pub fn ghes(server: &TestServer) -> Api {
        Api { base: server.ghes_api_url(), client: client(), token: Some(TOKEN.to_string()) }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Resp {
        let url = if path.starts_with("http") { path.to_string() } else { format!("{}{path}", self.base) };
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, url).header("accept", "application/vnd.github+json");
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }
    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send("PATCH", path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send("PUT", path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None, &[]).await
    }
}

/// Run git in `dir` (a bare repository) and return trimmed stdout; panics on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Sign a GitHub App JWT with the fixture key: RS256, `iss` = app id, given `iat`/`exp` offsets.
pub fn app_jwt(app_id: u64, iat_offset: i64, exp_offset: i64) -> String {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    let pem = std::fs::read_to_string(fixture("app-private-key.pem")).expect("fixture key");
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).expect("private key");
    let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims =
        b64.encode(serde_json::json!({ "iat": now + iat_offset, "exp": now + exp_offset, "iss": app_id }).to_string());
    let input = format!("{header}.{claims}");
    let signature = signer.sign(input.as_bytes());
    format!("{input}.{}", b64.encode(signature.to_bytes()))
}

pub fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

/// Parse a `Link` header into `(rel, url)` pairs in order.
pub fn links(header: &str) -> Vec<(String, String)> {
    header
        .split(", ")
        .map(|part| {
            let (url, rel) = part.split_once("; ").expect("link part");
            let url = url.trim_start_matches('<').trim_end_matches('>').to_string();
            let rel = rel.trim_start_matches("rel=\"").trim_end_matches('"').to_string();
            (rel, url)
        })
        .collect()
}
