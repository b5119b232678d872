//! WIMSE workload identity (PROTOCOL.md §2.1, §17): single-use challenges,
//! workload tokens the gateway signs, optionally bound to the agent's key by
//! a proof of possession, and their verification.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePublicKey as _, EncodePrivateKey as _};
use ed25519_dalek::Verifier as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Digest as _;

use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{optional, required, Body};
use crate::store::{after, new_id, rfc3339, Challenge, Data};

/// The trust domain of every workload this gateway names.
pub(crate) const TRUST_DOMAIN: &str = "ati";
/// How long a challenge nonce may be used.
const CHALLENGE_TTL: Duration = Duration::from_secs(60);
/// How far a proof's `ts` may be from the gateway's clock.
const PROOF_SKEW_SECS: u64 = 300;
/// A token's lifetime when the request gives none, and the longest.
const DEFAULT_TTL_SECS: u64 = 3600;
const MAX_TTL_SECS: u64 = 86_400;

/// The gateway's signing key for workload tokens. Made at start and kept in
/// memory only: tokens issued before a restart no longer verify.
pub(crate) struct TokenKeys {
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
}

impl TokenKeys {
    pub(crate) fn generate() -> Result<TokenKeys, String> {
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng);
        let private = key
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode the token signing key: {e}"))?;
        Ok(TokenKeys {
            encoding: jsonwebtoken::EncodingKey::from_ed_der(private.as_bytes()),
            // jsonwebtoken (ring) verifies EdDSA with the raw 32-byte key.
            decoding: jsonwebtoken::DecodingKey::from_ed_der(key.verifying_key().as_bytes()),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    agent_id: String,
    trust_domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    aud: Vec<String>,
    iat: u64,
    exp: u64,
    jti: String,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<String>,
    /// The key the token is bound to (RFC 7800), after a proof of possession.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cnf: Option<Value>,
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn workload_id(agent_id: &str) -> String {
    format!("spiffe://{TRUST_DOMAIN}/{agent_id}")
}

/// `POST /api/v1/agents/{agent_id}/challenge`: a nonce the agent signs, usable once.
pub(crate) async fn challenge(
    State(state): State<AppState>,
    Path(agent_id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut data = state.store.lock();
    data.active_agent(&agent_id)?;
    let now = SystemTime::now();
    data.challenges.retain(|_, c| c.expires > now);
    let nonce = new_id("nonce");
    let expires = after(now, CHALLENGE_TTL);
    data.challenges
        .insert(nonce.clone(), Challenge { agent_id, expires });
    Ok(Json(
        json!({"nonce": nonce, "expires_at": rfc3339(expires)}),
    ))
}

#[derive(Deserialize)]
pub(crate) struct Proof {
    nonce: String,
    ts: u64,
    signature: String,
}

#[derive(Deserialize)]
pub(crate) struct Issue {
    agent_id: String,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
    #[serde(default)]
    audience: Option<Vec<String>>,
    #[serde(default)]
    proof: Option<Proof>,
}

/// The JWK thumbprint (RFC 7638) of an Ed25519 public key.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// Checks a proof of possession; the `cnf` claim it earns. Nothing changes
/// here: the caller consumes the nonce once the whole request succeeded.
fn check_proof(
    data: &Data,
    agent: &crate::store::Agent,
    audience: &[String],
    proof: &Proof,
    now: SystemTime,
) -> ApiResult<Value> {
    let refused = |why: &str| ApiError::unauthorized(format!("proof of possession refused: {why}"));
    let live = data
        .challenges
        .get(&proof.nonce)
        .is_some_and(|c| c.agent_id == agent.id && c.expires > now);
    if !live {
        return Err(refused("unknown, used, expired or another agent's nonce"));
    }
    if unix(now).abs_diff(proof.ts) > PROOF_SKEW_SECS {
        return Err(refused(
            "`ts` is more than 5 minutes from the gateway's clock",
        ));
    }
    let pem = agent
        .public_key
        .as_deref()
        .ok_or_else(|| refused("the agent registered no public key"))?;
    let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
        .map_err(|_| refused("the agent's public key is not an Ed25519 SPKI PEM"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(proof.signature.trim_end_matches('='))
        .ok()
        .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
        .ok_or_else(|| refused("`signature` is not a base64url Ed25519 signature"))?;
    let message = format!(
        "pop-v1:{}:{}:{}:{}",
        proof.nonce,
        agent.id,
        audience.join(","),
        proof.ts
    );
    key.verify(message.as_bytes(), &signature)
        .map_err(|_| refused("the signature does not verify with the agent's key"))?;
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    Ok(json!({ "jkt": thumbprint(&x) }))
}

/// `POST /api/v1/wimse/token`.
pub(crate) async fn issue(
    State(state): State<AppState>,
    Body(req): Body<Issue>,
) -> ApiResult<Json<Value>> {
    let agent_id = required("agent_id", &req.agent_id)?;
    let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECS);
    if ttl == 0 || ttl > MAX_TTL_SECS {
        return Err(ApiError::bad_request(format!(
            "`ttl_seconds` must be between 1 and {MAX_TTL_SECS}"
        )));
    }
    let audience = req.audience.clone().unwrap_or_default();
    let now = SystemTime::now();
    let mut data = state.store.lock();
    let agent = data.active_agent(agent_id)?.clone();
    let cnf = match &req.proof {
        Some(proof) => Some(check_proof(&data, &agent, &audience, proof, now)?),
        None if state.policy.wimse_proof_required => {
            return Err(ApiError::unauthorized(
                "this gateway's policy requires a proof of possession (`proof`)",
            ))
        }
        None => None,
    };
    let expires = after(now, Duration::from_secs(ttl));
    let claims = Claims {
        iss: "agenttrust-gateway".to_owned(),
        sub: workload_id(agent_id),
        agent_id: agent_id.to_owned(),
        trust_domain: TRUST_DOMAIN.to_owned(),
        aud: audience,
        iat: unix(now),
        exp: unix(expires),
        jti: new_id("wit"),
        capabilities: agent.capabilities.clone(),
        service_name: optional(req.service_name.as_deref()).map(str::to_owned),
        environment: optional(req.environment.as_deref()).map(str::to_owned),
        cnf,
    };
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &state.token_keys.encoding,
    )
    .map_err(|e| ApiError::bad_request(format!("cannot sign the token: {e}")))?;
    if let Some(proof) = &req.proof {
        // Single use: spent by the request it succeeded in.
        data.challenges.remove(&proof.nonce);
    }
    Ok(Json(json!({
        "token": token,
        "workload_id": claims.sub,
        "trust_domain": TRUST_DOMAIN,
        "expires_at": rfc3339(expires),
    })))
}

#[derive(Deserialize)]
pub(crate) struct Verify {
    token: String,
    #[serde(default)]
    trust_domain_filter: Option<String>,
}

/// `POST /api/v1/wimse/verify`: 200 with `valid: false` and a reason for a
/// token that does not verify, as introspection does.
pub(crate) async fn verify(
    State(state): State<AppState>,
    Body(req): Body<Verify>,
) -> ApiResult<Json<Value>> {
    let token = required("token", &req.token)?;
    let invalid =
        |reason: String| Json(json!({"valid": false, "capabilities": [], "reason": reason}));
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims =
        match jsonwebtoken::decode::<Claims>(token, &state.token_keys.decoding, &validation) {
            Ok(data) => data.claims,
            Err(e) => return Ok(invalid(format!("token does not verify: {e}"))),
        };
    if claims.trust_domain != TRUST_DOMAIN {
        return Ok(invalid(format!(
            "trust domain `{}` is not this gateway's",
            claims.trust_domain
        )));
    }
    if let Some(filter) = optional(req.trust_domain_filter.as_deref()) {
        if filter != claims.trust_domain {
            return Ok(invalid(format!(
                "trust domain `{}` does not match the filter `{filter}`",
                claims.trust_domain
            )));
        }
    }
    let data = state.store.lock();
    match data.agents.get(&claims.agent_id) {
        Some(agent) if agent.is_active() => {}
        Some(agent) => return Ok(invalid(format!("agent `{}` is {}", agent.id, agent.status))),
        None => {
            return Ok(invalid(format!(
                "agent `{}` does not exist",
                claims.agent_id
            )))
        }
    }
    Ok(Json(json!({
        "valid": true,
        "agent_id": claims.agent_id,
        "workload_id": claims.sub,
        "trust_domain": claims.trust_domain,
        "capabilities": claims.capabilities,
        "expires_at": rfc3339(UNIX_EPOCH + Duration::from_secs(claims.exp)),
        "bound": claims.cnf.is_some(),
    })))
}
