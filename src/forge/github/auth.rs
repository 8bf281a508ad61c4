//! Credentials for the GitHub forge, in the order convoy looks for them:
//!
//! 1. `GITHUB_TOKEN`, then `GH_TOKEN`: a classic or fine-grained personal access token, or an
//!    installation token minted elsewhere (e.g. `actions/create-github-app-token`).
//! 2. A GitHub App: `app_id` and a private key (`private_key_path` under `[org.forge]`, or the
//!    PEM text in `CONVOY_GITHUB_APP_PRIVATE_KEY`). convoy signs a short JWT, finds the
//!    installation on the org, and mints an installation token scoped to the repositories of the
//!    run, refreshing it five minutes before it expires. Commits made with it show as verified.
//!
//! Tokens live in `SecretString`s: their `Debug` is redacted, and convoy never formats one into
//! a message, a log line, JSON output, or a URL written to disk.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::api::{Api, ApiError};

/// What kind of credential a run uses (reported by `convoy auth status`, never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `ghp_…`
    Classic,
    /// `github_pat_…`
    FineGrained,
    /// `ghs_…`: minted for a GitHub App installation.
    Installation,
    /// `gho_…`/`ghu_…`: OAuth or GitHub App user tokens.
    OAuth,
    /// A token of no known shape (GHES, test servers).
    Unknown,
    /// No credentials at all.
    Anonymous,
}

impl TokenKind {
    pub fn of(token: &str) -> Self {
        if token.starts_with("ghp_") {
            TokenKind::Classic
        } else if token.starts_with("github_pat_") {
            TokenKind::FineGrained
        } else if token.starts_with("ghs_") {
            TokenKind::Installation
        } else if token.starts_with("gho_") || token.starts_with("ghu_") {
            TokenKind::OAuth
        } else {
            TokenKind::Unknown
        }
    }
}

#[async_trait]
pub trait TokenSource: Send + Sync {
    /// The bearer for the next API request, minted or refreshed as needed.
    async fn bearer(&self, api: &Api) -> Result<Option<SecretString>, ApiError>;
    /// The token as last minted, for git over HTTPS (valid for the next minutes at least: call
    /// `bearer` first to refresh).
    fn current(&self) -> Option<SecretString>;
    fn kind(&self) -> TokenKind;
    /// Where the credential came from (`GITHUB_TOKEN`, `GitHub App 123`), never its value.
    fn origin(&self) -> String;
    /// Narrow future tokens to these repository names (GitHub Apps; others ignore it).
    fn scope_to(&self, _repos: Vec<String>) {}
    /// What GitHub granted (GitHub App installation tokens), when known.
    fn permissions(&self) -> Option<serde_json::Value> {
        None
    }
    /// Expiry as a Unix time, when known.
    fn expires_at(&self) -> Option<u64> {
        None
    }
}

/// A token from the environment.
pub struct StaticToken {
    token: Option<SecretString>,
    origin: String,
    /// No token: warned once, at the first request (an `--offline` run sends none, so it is
    /// not told about credentials it does not need).
    anonymous_warning: std::sync::Once,
}

impl StaticToken {
    pub fn new(token: Option<SecretString>, origin: impl Into<String>) -> Self {
        StaticToken { token, origin: origin.into(), anonymous_warning: std::sync::Once::new() }
    }

    /// `GITHUB_TOKEN`, else `GH_TOKEN`, else none.
    pub fn from_env() -> Option<Self> {
        for name in [crate::env_vars::GITHUB_TOKEN, crate::env_vars::GH_TOKEN] {
            if let Ok(value) = std::env::var(name)
                && !value.trim().is_empty()
            {
                return Some(StaticToken::new(Some(SecretString::from(value.trim().to_string())), name));
            }
        }
        None
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn bearer(&self, _api: &Api) -> Result<Option<SecretString>, ApiError> {
        if self.token.is_none() {
            self.anonymous_warning.call_once(|| {
                tracing::warn!("no GITHUB_TOKEN, GH_TOKEN or GitHub App configured: requests are anonymous");
            });
        }
        Ok(self.token.clone())
    }
    fn current(&self) -> Option<SecretString> {
        self.token.clone()
    }
    fn kind(&self) -> TokenKind {
        self.token.as_ref().map_or(TokenKind::Anonymous, |t| TokenKind::of(t.expose_secret()))
    }
    fn origin(&self) -> String {
        self.origin.clone()
    }
}

/// A GitHub App installation.
pub struct AppToken {
    app_id: u64,
    key: jsonwebtoken::EncodingKey,
    owner: String,
    installation_id: Mutex<Option<u64>>,
    /// Repository names the token is scoped to (set once selection is known; empty = all).
    scope: Mutex<Vec<String>>,
    minted: Mutex<Option<Minted>>,
    /// Refresh this long before expiry.
    margin: Duration,
}

#[derive(Clone)]
struct Minted {
    token: SecretString,
    expires_at: u64,
    permissions: serde_json::Value,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: String,
    #[serde(default)]
    permissions: serde_json::Value,
}

#[derive(Serialize)]
struct Claims {
    iat: u64,
    exp: u64,
    iss: String,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl AppToken {
    pub fn new(app_id: u64, private_key_pem: &[u8], owner: &str, installation_id: Option<u64>) -> Result<Self, String> {
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem)
            .map_err(|e| format!("the GitHub App private key is not an RSA PEM key: {e}"))?;
        Ok(AppToken {
            app_id,
            key,
            owner: owner.to_string(),
            installation_id: Mutex::new(installation_id),
            scope: Mutex::new(Vec::new()),
            minted: Mutex::new(None),
            margin: Duration::from_secs(300),
        })
    }

    /// Refresh tokens this long before they expire (default five minutes).
    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    fn jwt(&self) -> Result<String, ApiError> {
        // Backdated a minute against clock drift; GitHub refuses an `exp` over 10 minutes out.
        let claims = Claims { iat: now().saturating_sub(60), exp: now() + 540, iss: self.app_id.to_string() };
        jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256), &claims, &self.key)
            .map_err(|e| ApiError::Auth(format!("cannot sign the GitHub App JWT: {e}")))
    }

    async fn installation(&self, api: &Api, jwt: &str) -> Result<u64, ApiError> {
        if let Some(id) = self.installation_id.lock().ok().and_then(|i| *i) {
            return Ok(id);
        }
        let mut last = None;
        for (route, path) in [
            ("/orgs/{org}/installation", format!("/orgs/{}/installation", self.owner)),
            ("/users/{user}/installation", format!("/users/{}/installation", self.owner)),
        ] {
            let resp = api.rest_with_bearer(Method::GET, route, &path, None, jwt).await?;
            if resp.status.is_success() {
                let v: serde_json::Value = resp.json()?;
                let id = v["id"].as_u64().ok_or_else(|| ApiError::Auth(format!("{route} answered without an id")))?;
                if let Ok(mut i) = self.installation_id.lock() {
                    *i = Some(id);
                }
                return Ok(id);
            }
            last = Some(resp.status);
        }
        Err(ApiError::Auth(format!(
            "GitHub App {} is not installed on `{}` (HTTP {})\n  help: install the app on the organisation, or set installation_id under [org.forge]",
            self.app_id,
            self.owner,
            last.map_or("?".into(), |s| s.as_u16().to_string())
        )))
    }

    async fn mint(&self, api: &Api) -> Result<Minted, ApiError> {
        let jwt = self.jwt()?;
        let id = self.installation(api, &jwt).await?;
        let scope = self.scope.lock().map(|s| s.clone()).unwrap_or_default();
        let body = if scope.is_empty() { serde_json::json!({}) } else { serde_json::json!({ "repositories": scope }) };
        let route = "/app/installations/{installation_id}/access_tokens";
        let resp = api
            .rest_with_bearer(Method::POST, route, &format!("/app/installations/{id}/access_tokens"), Some(&body), &jwt)
            .await?;
        if !resp.status.is_success() {
            return Err(ApiError::Auth(format!(
                "minting an installation token for GitHub App {} failed: HTTP {}",
                self.app_id,
                resp.status.as_u16()
            )));
        }
        let t: AccessToken = resp.json()?;
        let expires_at = time::OffsetDateTime::parse(&t.expires_at, &time::format_description::well_known::Rfc3339)
            .map(|d| d.unix_timestamp().max(0) as u64)
            .unwrap_or(now() + 3600);
        Ok(Minted { token: SecretString::from(t.token), expires_at, permissions: t.permissions })
    }
}

#[async_trait]
impl TokenSource for AppToken {
    async fn bearer(&self, api: &Api) -> Result<Option<SecretString>, ApiError> {
        let fresh =
            self.minted.lock().ok().and_then(|m| m.clone()).filter(|m| m.expires_at > now() + self.margin.as_secs());
        if let Some(m) = fresh {
            return Ok(Some(m.token));
        }
        let minted = self.mint(api).await?;
        let token = minted.token.clone();
        if let Ok(mut m) = self.minted.lock() {
            *m = Some(minted);
        }
        Ok(Some(token))
    }
    fn current(&self) -> Option<SecretString> {
        self.minted.lock().ok()?.as_ref().map(|m| m.token.clone())
    }
    fn kind(&self) -> TokenKind {
        TokenKind::Installation
    }
    fn origin(&self) -> String {
        format!("GitHub App {}", self.app_id)
    }
    /// Scope future tokens to these repository names (GitHub allows up to 500 per token; more
    /// means an unscoped token).
    fn scope_to(&self, repos: Vec<String>) {
        let repos = if repos.len() <= 500 { repos } else { Vec::new() };
        let changed =
            self.scope.lock().map(|mut s| std::mem::replace(&mut *s, repos.clone()) != repos).unwrap_or(false);
        if changed && let Ok(mut m) = self.minted.lock() {
            *m = None;
        }
    }
    fn permissions(&self) -> Option<serde_json::Value> {
        self.minted.lock().ok()?.as_ref().map(|m| m.permissions.clone())
    }
    fn expires_at(&self) -> Option<u64> {
        self.minted.lock().ok()?.as_ref().map(|m| m.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kinds_by_prefix() {
        assert_eq!(TokenKind::of("ghp_abc"), TokenKind::Classic);
        assert_eq!(TokenKind::of("github_pat_11AB"), TokenKind::FineGrained);
        assert_eq!(TokenKind::of("ghs_x"), TokenKind::Installation);
        assert_eq!(TokenKind::of("gho_x"), TokenKind::OAuth);
        assert_eq!(TokenKind::of("test-token"), TokenKind::Unknown);
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let t = StaticToken::new(Some(SecretString::from("ghp_supersecret".to_string())), "GITHUB_TOKEN");
        let shown = format!("{:?}", t.token);
        assert!(!shown.contains("supersecret"), "{shown}");
    }
}
