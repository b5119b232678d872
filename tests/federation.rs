//! Federation end to end: an identity provider made in the test (RSA and
//! P-256 keys, ID tokens signed with them) registered on the local gateway
//! with its JWKS inline or in a file; our client verifies, introspects,
//! revokes and opens federated sessions.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use agenttrust_gateway::Policy;
use agenttrust_runtime::api::agents::CreateAgentRequest;
use agenttrust_runtime::api::federation::{IssueFederationTokenRequest, RegisterProviderRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A signing key and its public JWK.
struct Key {
    encoding: EncodingKey,
    alg: Algorithm,
    jwk: Value,
}

fn rsa_key(kid: &str) -> Key {
    use rsa::pkcs1::EncodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let der = key.to_pkcs1_der().unwrap();
    Key {
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        alg: Algorithm::RS256,
        jwk: json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be())}),
    }
}

fn ec_key(kid: &str) -> Key {
    use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let point = pair.public_key().as_ref(); // 0x04 || x || y
    Key {
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        alg: Algorithm::ES256,
        jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An ID token signed with `key`, with `claims` over sensible defaults.
fn id_token(key: &Key, issuer: &str, agent: &str, claims: Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = key.jwk["kid"].as_str().map(str::to_owned);
    let mut body = json!({"iss": issuer, "aud": "agenttrust", "sub": agent,
        "iat": now(), "nbf": now() - 5, "exp": now() + 600});
    for (k, v) in claims.as_object().unwrap() {
        body[k] = v.clone();
    }
    jsonwebtoken::encode(&header, &body, &key.encoding).unwrap()
}

#[tokio::test]
async fn id_tokens_are_validated_and_open_federated_sessions() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let federation = client.federation();
    let (rsa, ec, stranger) = (rsa_key("rsa-1"), ec_key("ec-1"), ec_key("ec-1"));
    let agent = client
        .agents()
        .create(&CreateAgentRequest::new("partner-bot"))
        .await
        .unwrap()
        .id;

    // One provider with its JWKS inline, one from a file.
    let inline = federation
        .register_provider(
            &RegisterProviderRequest::new("https://idp.example", "Example IdP")
                .trust_level("high")
                .jwks(json!({"keys": [rsa.jwk.clone()]})),
        )
        .await
        .unwrap();
    assert_eq!(
        (inline.trust_level.as_deref(), inline.jwks_uri.as_deref()),
        (Some("high"), Some("inline"))
    );
    let jwks_file = tempfile::Builder::new()
        .prefix("agenttrust-jwks-")
        .suffix(".json")
        .tempfile()
        .unwrap();
    let path = jwks_file.path();
    std::fs::write(path, json!({"keys": [ec.jwk.clone()]}).to_string()).unwrap();
    let filed = federation
        .register_provider(
            &RegisterProviderRequest::new("https://partner.example", "Partner")
                .trust_level("low")
                .jwks_path(path.to_str().unwrap()),
        )
        .await
        .unwrap();
    assert!(filed.jwks_uri.unwrap().starts_with("file://"));
    assert_eq!(federation.list_providers().await.unwrap().len(), 2);

    // RS256 and ES256 tokens verify; the session carries provider, issuer and trust.
    let rs_token = id_token(&rsa, "https://idp.example", &agent, json!({}));
    let verified = federation.verify_token(&rs_token, None).await.unwrap();
    assert!(verified.valid, "{verified:?}");
    assert_eq!(
        (verified.agent_id.as_deref(), verified.issuer.as_deref()),
        (Some(agent.as_str()), Some("https://idp.example"))
    );
    let session = federation.init_session(&rs_token, None).await.unwrap();
    assert_eq!(session.source.as_deref(), Some("federation"));
    assert_eq!(
        (
            session.provider_id.as_deref(),
            session.trust_level.as_deref()
        ),
        (Some(inline.id.as_str()), Some("high"))
    );
    let es_token = id_token(&ec, "https://partner.example", &agent, json!({}));
    assert!(
        federation
            .introspect_token(&es_token, Some("https://partner.example"))
            .await
            .unwrap()
            .valid
    );
    let low = federation.init_session(&es_token, None).await.unwrap();
    assert_eq!(
        (low.mode.as_deref(), low.trust_level.as_deref()),
        (Some("supervised"), Some("low"))
    );

    // Every way a token can be wrong.
    let cases = [
        ("another key, same kid", id_token(&stranger, "https://partner.example", &agent, json!({}))),
        ("wrong issuer", id_token(&rsa, "https://evil.example", &agent, json!({}))),
        ("issuer of the other provider's key", id_token(&rsa, "https://partner.example", &agent, json!({}))),
        ("wrong audience", id_token(&rsa, "https://idp.example", &agent, json!({"aud": "someone-else"}))),
        ("expired", id_token(&rsa, "https://idp.example", &agent, json!({"exp": now() - 10}))),
        ("not yet valid", id_token(&rsa, "https://idp.example", &agent, json!({"nbf": now() + 600}))),
        ("HMAC", jsonwebtoken::encode(&Header::new(Algorithm::HS256), &json!({"iss": "https://idp.example", "aud": "agenttrust", "sub": agent, "exp": now() + 60}), &EncodingKey::from_secret(b"guess")).unwrap()),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (why, token) in &cases {
        let verdict = federation.verify_token(token, None).await.unwrap();
        assert!(
            !verdict.valid && verdict.error.is_some(),
            "{why}: {verdict:?}"
        );
        assert_eq!(
            federation
                .init_session(token, None)
                .await
                .unwrap_err()
                .code(),
            "AUTH_FAILED",
            "{why}"
        );
    }
    // A token for an agent this gateway does not know opens no session.
    let unknown = id_token(&rsa, "https://idp.example", "ag_elsewhere", json!({}));
    assert!(federation.verify_token(&unknown, None).await.unwrap().valid);
    assert_eq!(
        federation
            .init_session(&unknown, None)
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );

    // Revoked: at once, for verify and for sessions.
    federation.revoke_token(&rs_token).await.unwrap();
    assert!(
        !federation
            .verify_token(&rs_token, None)
            .await
            .unwrap()
            .valid
    );
    assert_eq!(
        federation
            .init_session(&rs_token, None)
            .await
            .unwrap_err()
            .code(),
        "AUTH_FAILED"
    );
    // A deleted provider's tokens no longer verify.
    federation.delete_provider(&filed.id).await.unwrap();
    assert!(
        !federation
            .verify_token(&es_token, None)
            .await
            .unwrap()
            .valid
    );
}

#[tokio::test]
async fn opaque_federation_tokens_and_refused_registrations() {
    let world = common::World::new(Policy::default(), &[]).await;
    let client = &world.client;
    let federation = client.federation();
    let issued = federation
        .issue_token(&IssueFederationTokenRequest::new(&world.agent_id))
        .await
        .unwrap();
    assert!(
        !format!("{issued:?}").contains(&issued.token),
        "redacted in Debug"
    );
    let verified = federation.verify_token(&issued.token, None).await.unwrap();
    assert_eq!(
        (verified.valid, verified.agent_id.as_deref()),
        (true, Some(world.agent_id.as_str()))
    );
    let session = federation.init_session(&issued.token, None).await.unwrap();
    assert_eq!(session.agent_id, world.agent_id);
    federation.revoke_token(&issued.token).await.unwrap();
    assert!(
        !federation
            .introspect_token(&issued.token, None)
            .await
            .unwrap()
            .valid
    );
    assert_eq!(
        federation
            .revoke_token("fed_nope")
            .await
            .unwrap_err()
            .code(),
        "NOT_FOUND"
    );

    let key = ec_key("k");
    let before = world.gateway.dump();
    for request in [
        RegisterProviderRequest::new("https://idp.example", "no keys"),
        RegisterProviderRequest::new("https://idp.example", "bad keys")
            .jwks(json!({"keys": [{"kty": "RSA", "n": "x"}]})),
        RegisterProviderRequest::new("https://idp.example", "empty").jwks(json!({"keys": []})),
        RegisterProviderRequest::new("https://idp.example", "missing file")
            .jwks_path("/nonexistent/jwks.json"),
        RegisterProviderRequest::new("https://idp.example", "trust")
            .trust_level("absolute")
            .jwks(json!({"keys": [key.jwk]})),
    ] {
        assert_eq!(
            federation
                .register_provider(&request)
                .await
                .unwrap_err()
                .code(),
            "VALIDATION_ERROR",
            "{request:?}"
        );
    }
    assert_eq!(world.gateway.dump()["providers"], before["providers"]);
    let ok = RegisterProviderRequest::new("https://idp.example", "IdP")
        .jwks(json!({"keys": [ec_key("k2").jwk]}));
    federation.register_provider(&ok).await.unwrap();
    assert_eq!(
        federation.register_provider(&ok).await.unwrap_err().code(),
        "CONFLICT"
    );
}
