//! `convoy auth status`: what the credentials are, what GitHub says they may do, the rate limit
//! left, and whether that suffices for the command about to run. Never the token itself.

use http::Method;
use serde::Serialize;

use super::GithubForge;
use super::api::{ApiError, Repeat};
use super::auth::TokenKind;
use crate::forge::RepoId;

/// The commands whose needs `auth status --for` can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Validate,
    Fetch,
    Plan,
    Apply,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuthReport {
    pub api_url: String,
    pub kind: TokenKind,
    /// `GITHUB_TOKEN`, `GH_TOKEN`, `GitHub App 123`: where the credential came from.
    pub source: String,
    pub login: Option<String>,
    /// Classic tokens: the OAuth scopes GitHub reports.
    pub scopes: Option<Vec<String>>,
    /// GitHub App installation tokens: the permissions granted.
    pub permissions: Option<serde_json::Value>,
    /// When the token expires, as GitHub reports it (fine-grained and App tokens).
    pub expires_at: Option<String>,
    pub rate_limit: Option<RateLimit>,
    pub purpose: Purpose,
    pub sufficient: Option<bool>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    pub reset: u64,
}

/// Inspect the forge's credentials for `purpose` over the `selected` repositories;
/// `touches_workflows` says whether the campaign writes under `.github/workflows/` (which needs
/// the `workflow` scope or the `workflows` permission).
pub async fn inspect(
    forge: &GithubForge,
    purpose: Purpose,
    selected: &[RepoId],
    touches_workflows: bool,
) -> Result<AuthReport, ApiError> {
    let api = forge.api();
    let token = forge.token_source();
    // Mint (GitHub Apps) before asking anything, so permissions and expiry are known.
    token.bearer(api).await?;
    let mut report = AuthReport {
        api_url: format!("{}{}", api.endpoints().origin, api.endpoints().rest_prefix),
        kind: token.kind(),
        source: token.origin(),
        login: None,
        scopes: None,
        permissions: token.permissions(),
        expires_at: token.expires_at().and_then(|t| {
            time::OffsetDateTime::from_unix_timestamp(t as i64)
                .ok()?
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
        rate_limit: None,
        purpose,
        sufficient: None,
        reasons: Vec::new(),
    };
    let rate = api.rest(Method::GET, "/rate_limit", "/rate_limit", None, Repeat::Safe).await?;
    if rate.status.is_success() {
        let v: serde_json::Value = rate.json()?;
        let core = &v["resources"]["core"];
        if let (Some(limit), Some(remaining), Some(reset)) =
            (core["limit"].as_u64(), core["remaining"].as_u64(), core["reset"].as_u64())
        {
            report.rate_limit = Some(RateLimit { limit, remaining, reset });
        }
    }
    if !matches!(report.kind, TokenKind::Installation | TokenKind::Anonymous) {
        let user = api.rest(Method::GET, "/user", "/user", None, Repeat::Safe).await?;
        if user.status.is_success() {
            report.login = user.json::<serde_json::Value>()?["login"].as_str().map(str::to_string);
            report.scopes = user
                .header("x-oauth-scopes")
                .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect());
            if let Some(exp) = user.header("github-authentication-token-expiration") {
                report.expires_at = Some(exp.to_string());
            }
        }
    }
    judge(&mut report, forge, selected, touches_workflows).await;
    Ok(report)
}

async fn judge(report: &mut AuthReport, forge: &GithubForge, selected: &[RepoId], touches_workflows: bool) {
    use crate::forge::Forge;
    let mut ok = true;
    if let Some(rate) = &report.rate_limit
        && rate.remaining < (selected.len() as u64) * 3
    {
        report.reasons.push(format!(
            "only {} API requests remain until the reset; a run over {} repositories may wait for it",
            rate.remaining,
            selected.len()
        ));
    }
    if report.kind == TokenKind::Anonymous {
        report.reasons.push("no credentials: set GITHUB_TOKEN or GH_TOKEN, or configure a GitHub App".into());
        report.sufficient = Some(report.purpose != Purpose::Apply);
        return;
    }
    if report.purpose != Purpose::Apply {
        report.reasons.push("reading repositories needs only read access, which the listing just used".into());
        report.sufficient = Some(true);
        return;
    }
    match (&report.scopes, &report.permissions) {
        (Some(scopes), _) => {
            let has = |s: &str| scopes.iter().any(|x| x == s);
            if !has("repo") && !has("public_repo") {
                ok = false;
                report
                    .reasons
                    .push("the token lacks the `repo` scope needed to push branches and open pull requests".into());
            }
            if touches_workflows && !has("workflow") {
                ok = false;
                report.reasons.push("the campaign changes .github/workflows/, which needs the `workflow` scope".into());
            }
        }
        (None, Some(perms)) => {
            for (perm, needed) in [("contents", true), ("pull_requests", true), ("workflows", touches_workflows)] {
                if needed && perms[perm].as_str() != Some("write") {
                    ok = false;
                    report.reasons.push(format!("the GitHub App installation lacks `{perm}: write`"));
                }
            }
        }
        (None, None) => report
            .reasons
            .push("GitHub does not reveal this token's permissions; judged by push access per repository".into()),
    }
    match forge.missing_write_access(selected).await {
        Ok(denied) if denied.is_empty() => {
            report.reasons.push(format!("push access on all {} selected repositories", selected.len()));
        }
        Ok(denied) => {
            ok = false;
            let names: Vec<String> = denied.iter().map(RepoId::full_name).collect();
            report.reasons.push(format!(
                "no push access to {} of the selected repositories: {}",
                denied.len(),
                names.join(", ")
            ));
        }
        Err(e) => report.reasons.push(format!("could not check push access: {e}")),
    }
    report.sufficient = Some(ok);
}
