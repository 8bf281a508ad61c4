//! GitHub Apps: RS256 JWT verification, installations and installation access tokens.

use base64::Engine;
use rsa::RsaPublicKey;
use rsa::signature::Verifier;
use serde_json::{Value, json};

use crate::http::{ApiError, ApiReq, ApiResult, Reply, page_reply};
use crate::json;
use crate::state::{Identity, InstallationRec, Shared, Token, app_permissions, bot_login, now};

/// Parse an RSA public key from PEM: SPKI (`PUBLIC KEY`) or PKCS#1 (`RSA PUBLIC KEY`). A private
/// key (PKCS#1 or PKCS#8) is accepted too, so that tests can register the PEM the client signs with.
pub(crate) fn parse_public_key(pem: &str) -> Result<RsaPublicKey, String> {
    use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
    use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
    let pem = pem.trim();
    if let Ok(k) = RsaPublicKey::from_public_key_pem(pem) {
        return Ok(k);
    }
    if let Ok(k) = RsaPublicKey::from_pkcs1_pem(pem) {
        return Ok(k);
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
        return Ok(k.to_public_key());
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        return Ok(k.to_public_key());
    }
    Err("not an RSA key in PEM (PUBLIC KEY, RSA PUBLIC KEY, PRIVATE KEY or RSA PRIVATE KEY)".to_string())
}

pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

const UNDECODABLE: &str = "A JSON web token could not be decoded";
const BAD_EXP: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const BAD_IAT: &str =
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
const FAR_EXP: &str = "'Expiration time' claim ('exp') is too far in the future";

/// Verify a GitHub App JWT: RS256 over `header.payload` with the registered key of app `iss`,
/// `iat` not in the future (60 s of clock drift allowed), `exp` in the future and at most ten
/// minutes away. Returns the app id, or the message GitHub answers with (401).
pub(crate) fn verify_jwt(shared: &Shared, token: &str) -> Result<u64, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(UNDECODABLE.into());
    };
    let decode = |part: &str| -> Result<Value, String> {
        let bytes = b64.decode(part.trim_end_matches('=')).map_err(|_| UNDECODABLE.to_string())?;
        serde_json::from_slice(&bytes).map_err(|_| UNDECODABLE.to_string())
    };
    let header = decode(h)?;
    let claims = decode(p)?;
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(UNDECODABLE.into());
    }
    let app_id = match claims.get("iss") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| "'Issuer' claim ('iss') must be an Integer".to_string())?;
    let key = {
        let st = shared.lock();
        st.apps.get(&app_id).map(|a| a.key.clone()).ok_or_else(|| "Integration not found".to_string())?
    };
    let signature = b64.decode(s.trim_end_matches('=')).map_err(|_| UNDECODABLE.to_string())?;
    let signature = rsa::pkcs1v15::Signature::try_from(signature.as_slice()).map_err(|_| UNDECODABLE.to_string())?;
    let verifier = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(key);
    verifier.verify(format!("{h}.{p}").as_bytes(), &signature).map_err(|_| UNDECODABLE.to_string())?;
    let now = now().unix_timestamp();
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| BAD_EXP.to_string())?;
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or_else(|| BAD_IAT.to_string())?;
    if iat > now + 60 {
        return Err(BAD_IAT.into());
    }
    if exp <= now {
        return Err(BAD_EXP.into());
    }
    if exp > now + 600 + 60 || exp - iat > 600 + 60 {
        return Err(FAR_EXP.into());
    }
    Ok(app_id)
}

fn app_of(req: &ApiReq) -> Result<u64, ApiError> {
    match req.ident() {
        Identity::App { app_id } => Ok(*app_id),
        _ => Err(ApiError::new(axum::http::StatusCode::UNAUTHORIZED, UNDECODABLE)),
    }
}

/// `GET /app`.
pub(crate) fn get_app(shared: &Shared, req: &ApiReq) -> ApiResult {
    let app_id = app_of(req)?;
    let st = shared.lock();
    let app = st.apps.get(&app_id).ok_or_else(ApiError::not_found)?;
    let owner = st
        .installations
        .values()
        .find(|i| i.app_id == app_id)
        .map(|i| i.account.clone())
        .unwrap_or_else(|| "test-owner".to_string());
    let slug = format!("app-{app_id}");
    let base = req.base();
    Ok(Reply::ok(json!({
        "id": app_id,
        "slug": slug,
        "client_id": format!("Iv1.{app_id:016x}"),
        "node_id": format!("A_{app_id}"),
        "owner": json::user(base, &owner, json::owner_kind(&owner, &shared.config.login)),
        "name": slug,
        "description": "",
        "external_url": format!("{}/apps/{slug}", base.web),
        "html_url": format!("{}/apps/{slug}", base.web),
        "created_at": json::ts(app.created_at),
        "updated_at": json::ts(app.created_at),
        "permissions": app_permissions(),
        "events": ["pull_request", "push", "check_run"],
        "installations_count": st.installations.values().filter(|i| i.app_id == app_id).count(),
    })))
}

fn installation_json(shared: &Shared, req: &ApiReq, i: &InstallationRec) -> Value {
    json::installation(req.base(), i, &shared.config.login)
}

/// `GET /app/installations`.
pub(crate) fn installations(shared: &Shared, req: &ApiReq) -> ApiResult {
    let app_id = app_of(req)?;
    let st = shared.lock();
    let items =
        st.installations.values().filter(|i| i.app_id == app_id).map(|i| installation_json(shared, req, i)).collect();
    Ok(page_reply(req, items))
}

/// `GET /app/installations/{installation_id}`.
pub(crate) fn get_installation(shared: &Shared, req: &ApiReq) -> ApiResult {
    let app_id = app_of(req)?;
    let id: u64 = req.param("installation_id").parse().map_err(|_| ApiError::not_found())?;
    let st = shared.lock();
    let i = st.installations.get(&id).filter(|i| i.app_id == app_id).ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(installation_json(shared, req, i)))
}

fn installation_for_account(shared: &Shared, req: &ApiReq, account: &str) -> ApiResult {
    let app_id = app_of(req)?;
    let st = shared.lock();
    let i = st
        .installations
        .values()
        .find(|i| i.app_id == app_id && i.account.eq_ignore_ascii_case(account))
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(installation_json(shared, req, i)))
}

/// `GET /orgs/{org}/installation`.
pub(crate) fn org_installation(shared: &Shared, req: &ApiReq) -> ApiResult {
    installation_for_account(shared, req, req.param("org"))
}

/// `GET /users/{user}/installation`.
pub(crate) fn user_installation(shared: &Shared, req: &ApiReq) -> ApiResult {
    installation_for_account(shared, req, req.param("user"))
}

/// `GET /repos/{owner}/{repo}/installation`.
pub(crate) fn repo_installation(shared: &Shared, req: &ApiReq) -> ApiResult {
    let exists = shared.lock().repo(req.param("owner"), req.param("repo")).is_some();
    if !exists {
        return Err(ApiError::not_found());
    }
    installation_for_account(shared, req, req.param("owner"))
}

/// A fresh `ghs_…` token: 36 base62 characters from a hash of a counter and the clock.
fn mint_token(seed: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let mut state = seed ^ (nanos as u64) ^ 0x6773_5f74_6f6b_656e;
    let mut out = String::from("ghs_");
    for _ in 0..36 {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push(ALPHABET[(z % ALPHABET.len() as u64) as usize] as char);
    }
    out
}

/// `POST /app/installations/{installation_id}/access_tokens` `{repositories?, permissions?}`: 201
/// `{token, expires_at, permissions, repository_selection}`.
pub(crate) fn create_token(shared: &Shared, req: &ApiReq) -> ApiResult {
    let app_id = app_of(req)?;
    let id: u64 = req.param("installation_id").parse().map_err(|_| ApiError::not_found())?;
    let body = req.json_value()?;
    let mut st = shared.lock();
    let inst = st.installations.get(&id).filter(|i| i.app_id == app_id).cloned().ok_or_else(ApiError::not_found)?;
    let seed = st.next_id();
    let token = mint_token(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ id);
    let expires_at = time::OffsetDateTime::now_utc() + shared.config.installation_token_ttl;
    st.tokens.insert(
        token.clone(),
        Token {
            kind: crate::TokenKind::Installation,
            login: bot_login(Some(app_id)),
            expires_at: Some(expires_at),
            installation: Some((app_id, id)),
            repositories: match body.get("repositories") {
                Some(Value::Array(names)) => {
                    Some(names.iter().filter_map(Value::as_str).map(str::to_lowercase).collect())
                }
                _ => None,
            },
        },
    );
    let permissions = match body.get("permissions") {
        Some(Value::Object(requested)) if !requested.is_empty() => Value::Object(requested.clone()),
        _ => app_permissions(),
    };
    let mut v = json!({
        "token": token,
        "expires_at": json::ts(expires_at),
        "permissions": permissions,
        "repository_selection": "all",
    });
    if let Some(Value::Array(names)) = body.get("repositories") {
        let base = req.base();
        let mut repos = Vec::new();
        for name in names.iter().filter_map(Value::as_str) {
            let r = st.repo(&inst.account, name).ok_or_else(|| {
                ApiError::invalid(&format!("There is at least one repository that does not exist or is not accessible to the parent installation: {name}"))
            })?;
            repos.push(json::repo(base, r, json::owner_kind(&r.owner, &shared.config.login), true));
        }
        v["repository_selection"] = json!("selected");
        v["repositories"] = Value::Array(repos);
    }
    Ok(Reply::created(v))
}
