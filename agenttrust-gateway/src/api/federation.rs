//! Federation (PROTOCOL.md §12): external OIDC providers registered with
//! their JWKS (inline, or read from a local file: the gateway makes no
//! outside calls), their ID tokens validated as JWTs (signature, issuer,
//! audience, expiry, not-before), opaque federation tokens, and federated
//! sessions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest as _;

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{
    after, new_id, new_session, rfc3339, Data, FederationToken, Provider, Session, ORG_ID,
};

/// The issuer of the gateway's own opaque federation tokens.
const OWN_ISSUER: &str = "agenttrust-gateway";
const TRUST_LEVELS: [&str; 3] = ["low", "standard", "high"];
/// The signature algorithms accepted from providers (never `none` or HMAC).
const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];
const DEFAULT_TTL_SECS: u64 = 3600;
const MAX_TTL_SECS: u64 = 86_400;

#[derive(Deserialize)]
pub(crate) struct Register {
    issuer: String,
    name: String,
    #[serde(default)]
    trust_level: Option<String>,
    /// The `aud` the provider's tokens carry for this gateway (default
    /// `agenttrust`).
    #[serde(default)]
    audience: Option<String>,
    /// The provider's JWKS, inline.
    #[serde(default)]
    jwks: Option<Value>,
    /// Or a local file holding it.
    #[serde(default)]
    jwks_path: Option<String>,
}

/// A provider as answers show it.
fn shown(p: &Provider) -> Value {
    json!(p)
}

pub(crate) async fn register(
    State(state): State<AppState>,
    Body(req): Body<Register>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let issuer = required("issuer", &req.issuer)?;
    let name = required("name", &req.name)?;
    let trust_level = optional(req.trust_level.as_deref()).unwrap_or("standard");
    if !TRUST_LEVELS.contains(&trust_level) {
        return Err(ApiError::bad_request(format!(
            "`trust_level` must be low, standard or high, not `{trust_level}`"
        )));
    }
    let (jwks, jwks_uri) = match (req.jwks, optional(req.jwks_path.as_deref())) {
        (Some(jwks), None) => (jwks, "inline".to_owned()),
        (None, Some(path)) => {
            // Only whether it parses is told back, never the file's content.
            let text = std::fs::read_to_string(path).map_err(|e| {
                ApiError::bad_request(format!("cannot read `jwks_path`: {}", e.kind()))
            })?;
            let jwks = serde_json::from_str(&text)
                .map_err(|_| ApiError::bad_request("`jwks_path` does not hold JSON"))?;
            (jwks, format!("file://{path}"))
        }
        _ => {
            return Err(ApiError::bad_request(
                "give the provider's keys as `jwks` (inline) or `jwks_path` (a local file), one of them",
            ))
        }
    };
    let set: JwkSet = serde_json::from_value(jwks.clone())
        .map_err(|e| ApiError::bad_request(format!("not a JWKS: {e}")))?;
    if set.keys.is_empty() || set.keys.iter().any(|k| DecodingKey::from_jwk(k).is_err()) {
        return Err(ApiError::bad_request(
            "the JWKS must hold at least one key, each an RSA, EC or OKP public key",
        ));
    }
    let mut data = state.store.lock();
    if data.providers.values().any(|p| p.issuer == issuer) {
        return Err(ApiError::conflict(format!(
            "a provider for issuer `{issuer}` is already registered"
        )));
    }
    let now = rfc3339(SystemTime::now());
    let provider = Provider {
        id: new_id("idp"),
        org_id: ORG_ID.to_owned(),
        issuer: issuer.to_owned(),
        name: name.to_owned(),
        jwks_uri,
        jwks,
        audience: optional(req.audience.as_deref())
            .unwrap_or("agenttrust")
            .to_owned(),
        trust_level: trust_level.to_owned(),
        status: "active".to_owned(),
        created_at: now.clone(),
        updated_at: now,
    };
    let answer = shown(&provider);
    data.providers.insert(provider.id.clone(), provider);
    Ok((StatusCode::CREATED, Json(json!({ "provider": answer }))))
}

pub(crate) async fn list(State(state): State<AppState>) -> Json<Value> {
    let data = state.store.lock();
    let mut providers: Vec<&Provider> = data.providers.values().collect();
    providers.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    let providers: Vec<Value> = providers.into_iter().map(shown).collect();
    Json(json!({ "providers": providers }))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut data = state.store.lock();
    data.providers
        .remove(&id)
        .ok_or_else(|| ApiError::not_found("federation provider", &id))?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub(crate) struct Issue {
    agent_id: String,
    #[serde(default)]
    audience: Option<Vec<String>>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    ttl: Option<u64>,
}

/// `POST /api/v1/federation/tokens/issue`: an opaque federation token.
pub(crate) async fn issue(
    State(state): State<AppState>,
    Body(req): Body<Issue>,
) -> ApiResult<Json<Value>> {
    let agent_id = required("agent_id", &req.agent_id)?;
    let ttl = req.ttl.unwrap_or(DEFAULT_TTL_SECS);
    if ttl == 0 || ttl > MAX_TTL_SECS {
        return Err(ApiError::bad_request(format!(
            "`ttl` must be between 1 and {MAX_TTL_SECS}"
        )));
    }
    let mut data = state.store.lock();
    data.active_agent(agent_id)?;
    let expires = after(SystemTime::now(), Duration::from_secs(ttl));
    let token = new_id("fed");
    data.federation_tokens.insert(
        token.clone(),
        FederationToken {
            agent_id: agent_id.to_owned(),
            audience: req.audience.unwrap_or_default(),
            scopes: req.scopes.unwrap_or_default(),
            expires_at: rfc3339(expires),
            revoked: false,
            expires,
        },
    );
    Ok(Json(json!({
        "token": token, "id_token": token, "expires_in": ttl, "expires_at": rfc3339(expires),
    })))
}

/// What a token proved.
struct Verified {
    agent_id: String,
    issuer: String,
    provider: Option<(String, String)>,
    expires_at: String,
    /// The key it is revoked under.
    revocation_key: String,
}

fn hash(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Verifies an opaque federation token or a provider's ID token.
fn verify_token(data: &Data, token: &str, issuer_hint: Option<&str>) -> Result<Verified, String> {
    let now = SystemTime::now();
    if let Some(record) = data.federation_tokens.get(token) {
        if record.revoked {
            return Err("token revoked".into());
        }
        if now >= record.expires {
            return Err(format!("token expired at {}", record.expires_at));
        }
        return Ok(Verified {
            agent_id: record.agent_id.clone(),
            issuer: OWN_ISSUER.to_owned(),
            provider: None,
            expires_at: record.expires_at.clone(),
            revocation_key: token.to_owned(),
        });
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| "not a federation token or a JWT".to_owned())?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(format!("algorithm {:?} is not accepted", header.alg));
    }
    let candidates: Vec<&Provider> = data
        .providers
        .values()
        .filter(|p| p.status == "active")
        .filter(|p| issuer_hint.is_none_or(|hint| p.issuer == hint))
        .collect();
    if candidates.is_empty() {
        return Err("no registered provider for this token".into());
    }
    let mut last = "no key of a registered provider verifies it".to_owned();
    for provider in candidates {
        let Ok(set) = serde_json::from_value::<JwkSet>(provider.jwks.clone()) else {
            continue;
        };
        let keys = set
            .keys
            .iter()
            .filter(|k| header.kid.is_none() || k.common.key_id == header.kid);
        for jwk in keys {
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let mut validation = Validation::new(header.alg);
            validation.set_issuer(&[&provider.issuer]);
            validation.set_audience(&[&provider.audience]);
            validation.validate_nbf = true;
            validation.leeway = 0;
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            match jsonwebtoken::decode::<Value>(token, &key, &validation) {
                Ok(decoded) => {
                    let claims = decoded.claims;
                    let agent_id = claims["agent_id"]
                        .as_str()
                        .or_else(|| claims["sub"].as_str())
                        .unwrap_or_default()
                        .to_owned();
                    let exp = claims["exp"].as_u64().unwrap_or(0);
                    let revocation_key = hash(token);
                    if data.revoked_id_tokens.contains_key(&revocation_key) {
                        return Err("token revoked".into());
                    }
                    return Ok(Verified {
                        agent_id,
                        issuer: provider.issuer.clone(),
                        provider: Some((provider.id.clone(), provider.trust_level.clone())),
                        expires_at: rfc3339(UNIX_EPOCH + Duration::from_secs(exp)),
                        revocation_key,
                    });
                }
                Err(e) => last = format!("token does not verify: {e}"),
            }
        }
    }
    Err(last)
}

#[derive(Deserialize)]
pub(crate) struct TokenBody {
    token: String,
    #[serde(default)]
    issuer_hint: Option<String>,
}

/// `verify` and `introspect`: 200 with `valid`/`active` false and an
/// `error` for a token that does not verify.
pub(crate) async fn verify(
    State(state): State<AppState>,
    Body(req): Body<TokenBody>,
) -> ApiResult<Json<Value>> {
    let token = required("token", &req.token)?;
    let data = state.store.lock();
    Ok(Json(
        match verify_token(&data, token, optional(req.issuer_hint.as_deref())) {
            Ok(v) => json!({
                "valid": true, "active": true, "agent_id": v.agent_id, "issuer": v.issuer,
                "provider_id": v.provider.as_ref().map(|p| &p.0),
                "trust_level": v.provider.as_ref().map(|p| &p.1),
                "expires_at": v.expires_at,
            }),
            Err(error) => json!({"valid": false, "active": false, "error": error}),
        },
    ))
}

/// `POST /api/v1/federation/tokens/revoke`: a token that verifies is
/// revoked (an ID token by its hash); anything else is 404.
pub(crate) async fn revoke(
    State(state): State<AppState>,
    Body(req): Body<TokenBody>,
) -> ApiResult<StatusCode> {
    let token = required("token", &req.token)?;
    let mut data = state.store.lock();
    let verified = verify_token(&data, token, optional(req.issuer_hint.as_deref()))
        .map_err(|_| ApiError::not_found("active federation token", "…"))?;
    match data.federation_tokens.get_mut(&verified.revocation_key) {
        Some(record) => record.revoked = true,
        None => {
            data.revoked_id_tokens
                .insert(verified.revocation_key, rfc3339(SystemTime::now()));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/federation/sessions/init`: a session for the token's
/// agent, which must be registered here and active, carrying the
/// provider, issuer and trust level; a `low` trust level makes it
/// supervised.
pub(crate) async fn init_session(
    State(state): State<AppState>,
    Body(req): Body<TokenBody>,
) -> ApiResult<Json<Session>> {
    let token = required("token", &req.token)?;
    let mut data = state.store.lock();
    let verified = verify_token(&data, token, optional(req.issuer_hint.as_deref()))
        .map_err(|why| ApiError::unauthorized(format!("cannot open a federated session: {why}")))?;
    data.active_agent(&verified.agent_id)?;
    let trust = verified
        .provider
        .as_ref()
        .map_or("standard", |p| p.1.as_str())
        .to_owned();
    let mode = if trust == "low" {
        "supervised"
    } else {
        state.policy.session_mode.as_str()
    };
    let mut session = new_session(
        new_id("sess"),
        &verified.agent_id,
        "federation",
        None,
        mode,
        Vec::new(),
    );
    session.provider_id = verified.provider.map(|p| p.0);
    session.issuer = Some(verified.issuer);
    session.trust_level = Some(trust);
    data.sessions
        .insert(session.session_id.clone(), session.clone());
    Ok(Json(session))
}
