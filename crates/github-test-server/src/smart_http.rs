//! Smart-HTTP clones and fetches through `git http-backend` (CGI). Private repositories need HTTP
//! Basic credentials whose password (or user name) is a valid token, as on GitHub.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use tokio::io::AsyncWriteExt;

use crate::server::record_plain;
use crate::state::Shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    InfoRefs,
    UploadPack,
    ReceivePack,
}

#[derive(Debug, Clone)]
pub(crate) struct Target {
    owner: String,
    repo: String,
    service: Service,
}

/// `/{owner}/{repo}[.git]/info/refs`, `/{owner}/{repo}[.git]/git-upload-pack` or `.../git-receive-pack`.
pub(crate) fn parse_path(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (owner, repo, service) = match segments.as_slice() {
        [owner, repo, "info", "refs"] => (*owner, *repo, Service::InfoRefs),
        [owner, repo, "git-upload-pack"] => (*owner, *repo, Service::UploadPack),
        [owner, repo, "git-receive-pack"] => (*owner, *repo, Service::ReceivePack),
        _ => return None,
    };
    if owner.is_empty() || repo.is_empty() || owner == "api" || owner == "repos" {
        return None;
    }
    Some(Target { owner: owner.to_string(), repo: repo.trim_end_matches(".git").to_string(), service })
}

fn text(status: StatusCode, message: &str) -> Response {
    let mut resp = Response::new(Body::from(format!("{message}\n")));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

fn unauthorized() -> Response {
    let mut resp = text(
        StatusCode::UNAUTHORIZED,
        "Invalid username or token. Password authentication is not supported for Git operations.",
    );
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"GitHub\""));
    resp
}

/// `Some(valid)` when the request carries credentials, `None` when it carries none.
fn credentials_valid(shared: &Shared, req: &Request) -> Option<bool> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim().to_string();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value.as_str(), ""));
    let candidates: Vec<String> = match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            let (user, pass) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
            vec![pass.to_string(), user.to_string()]
        }
        "bearer" | "token" => vec![rest.trim().to_string()],
        _ => Vec::new(),
    };
    let st = shared.lock();
    let now = time::OffsetDateTime::now_utc();
    Some(
        candidates
            .iter()
            .filter(|c| !c.is_empty())
            .any(|c| st.tokens.get(c).is_some_and(|t| t.expires_at.is_none_or(|e| e > now))),
    )
}

pub(crate) async fn handle(shared: Arc<Shared>, target: Target, req: Request) -> Response {
    let arrived = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = match target.service {
        Service::InfoRefs => "/{owner}/{repo}.git/info/refs",
        Service::UploadPack => "/{owner}/{repo}.git/git-upload-pack",
        Service::ReceivePack => "/{owner}/{repo}.git/git-receive-pack",
    };
    let resp = serve(&shared, &target, req).await;
    record_plain(&shared, arrived, &method, route, &path, resp.status().as_u16());
    resp
}

async fn serve(shared: &Shared, target: &Target, req: Request) -> Response {
    let creds = credentials_valid(shared, &req);
    let found = {
        let st = shared.lock();
        st.repo(&target.owner, &target.repo).map(|r| (r.owner.clone(), r.name.clone(), r.opts.private))
    };
    if creds == Some(false) {
        return unauthorized();
    }
    let Some((owner, name, private)) = found else {
        // Anonymous callers cannot tell a missing repository from a private one.
        return if creds.is_none() { unauthorized() } else { text(StatusCode::NOT_FOUND, "Repository not found.") };
    };
    if private && creds.is_none() {
        return unauthorized();
    }
    let query = req.uri().query().unwrap_or("").to_string();
    if target.service == Service::ReceivePack || query.contains("service=git-receive-pack") {
        return text(StatusCode::FORBIDDEN, "Pushing through smart HTTP is not supported by this test server.");
    }
    let path_info = match target.service {
        Service::InfoRefs => format!("/{owner}/{name}.git/info/refs"),
        _ => format!("/{owner}/{name}.git/git-upload-pack"),
    };
    let headers = req.headers().clone();
    let header_str = |name: HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let content_type = header_str(header::CONTENT_TYPE);
    let content_encoding = header_str(header::CONTENT_ENCODING);
    let git_protocol = header_str(HeaderName::from_static("git-protocol"));
    let method = req.method().clone();
    let body = match axum::body::to_bytes(req.into_body(), 1 << 30).await {
        Ok(b) => b,
        Err(_) => return text(StatusCode::BAD_REQUEST, "could not read the request body"),
    };

    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_COUNT", "3")
        .env("GIT_CONFIG_KEY_0", "uploadpack.allowFilter")
        .env("GIT_CONFIG_VALUE_0", "true")
        .env("GIT_CONFIG_KEY_1", "uploadpack.allowAnySHA1InWant")
        .env("GIT_CONFIG_VALUE_1", "true")
        .env("GIT_CONFIG_KEY_2", "safe.directory")
        .env("GIT_CONFIG_VALUE_2", "*")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", &path_info)
        .env("QUERY_STRING", &query)
        .env("REQUEST_METHOD", method.as_str())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(ct) = &content_type {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(enc) = &content_encoding {
        cmd.env("HTTP_CONTENT_ENCODING", enc);
    }
    if let Some(proto) = &git_protocol {
        cmd.env("HTTP_GIT_PROTOCOL", proto).env("GIT_PROTOCOL", proto);
    }
    if creds == Some(true) {
        cmd.env("REMOTE_USER", "x-access-token");
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("git http-backend: {e}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&body).await;
            let _ = stdin.shutdown().await;
        });
    }
    let output = match child.wait_with_output().await {
        Ok(o) => o,
        Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("git http-backend: {e}")),
    };
    cgi_response(&output.stdout).unwrap_or_else(|| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        text(StatusCode::BAD_GATEWAY, &format!("git http-backend failed: {}", stderr.trim()))
    })
}

/// Turn CGI output (headers, a blank line, the body) into a response.
fn cgi_response(out: &[u8]) -> Option<Response> {
    let (head_end, body_start) = find_header_end(out)?;
    let head = std::str::from_utf8(&out[..head_end]).ok()?;
    let mut resp = Response::new(Body::from(out[body_start..].to_vec()));
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next()?.parse::<u16>().ok()?;
            *resp.status_mut() = StatusCode::from_u16(code).ok()?;
            continue;
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value)) {
            resp.headers_mut().append(n, v);
        }
    }
    Some(resp)
}

fn find_header_end(out: &[u8]) -> Option<(usize, usize)> {
    let crlf = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = out.windows(2).position(|w| w == b"\n\n").map(|i| (i, i + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let t = parse_path("/acme/api.git/info/refs").expect("info/refs");
        assert_eq!((t.owner.as_str(), t.repo.as_str(), t.service), ("acme", "api", Service::InfoRefs));
        let t = parse_path("/acme/api/git-upload-pack").expect("upload-pack");
        assert_eq!((t.repo.as_str(), t.service), ("api", Service::UploadPack));
        assert!(parse_path("/repos/acme/api").is_none());
        assert!(parse_path("/api/v3/repos").is_none());
    }

    #[test]
    fn cgi_headers_and_status() {
        let resp = cgi_response(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope").expect("parsed");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/plain");
        let resp = cgi_response(b"Content-Type: application/x-git-upload-pack-advertisement\n\n001e").expect("parsed");
        assert_eq!(resp.status(), StatusCode::OK);
    }
}
