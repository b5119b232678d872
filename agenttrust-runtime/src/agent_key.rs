//! An agent's Ed25519 key (feature `wimse`): the public half is registered
//! with the agent (`public_key`, SPKI PEM), the private half signs proofs
//! of possession and never leaves the process.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use ed25519_dalek::Signer as _;

use crate::api::wimse::Proof;
use crate::error::{AgentTrustError, Result};

/// An agent's Ed25519 signing key.
///
/// ```
/// use agenttrust_runtime::AgentKey;
/// let key = AgentKey::generate();
/// let public = key.public_key_pem().unwrap(); // register it: CreateAgentRequest { public_key, .. }
/// assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
/// let again = AgentKey::from_pkcs8_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
/// assert_eq!(again.public_key_pem().unwrap(), public);
/// assert_eq!(format!("{key:?}"), "AgentKey { public_key: <Ed25519>, .. }");
/// ```
pub struct AgentKey {
    key: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentKey { public_key: <Ed25519>, .. }")
    }
}

impl AgentKey {
    /// A new random key.
    pub fn generate() -> AgentKey {
        AgentKey {
            key: ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    /// A key from its PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    ///
    /// # Errors
    /// `CONFIG_ERROR` when the text is not an Ed25519 PKCS#8 PEM.
    pub fn from_pkcs8_pem(pem: &str) -> Result<AgentKey> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(|key| AgentKey { key })
            .map_err(|_| AgentTrustError::config("not an Ed25519 PKCS#8 PEM private key"))
    }

    /// The private key as PKCS#8 PEM, to store it (zeroed when dropped).
    ///
    /// # Errors
    /// `CONFIG_ERROR` if it cannot be encoded.
    pub fn to_pkcs8_pem(&self) -> Result<zeroize::Zeroizing<String>> {
        self.key
            .to_pkcs8_pem(Default::default())
            .map_err(|e| AgentTrustError::config(format!("cannot encode the key: {e}")))
    }

    /// The public key as SPKI PEM, for the agent's `public_key`.
    ///
    /// # Errors
    /// `CONFIG_ERROR` if it cannot be encoded.
    pub fn public_key_pem(&self) -> Result<String> {
        self.key
            .verifying_key()
            .to_public_key_pem(Default::default())
            .map_err(|e| AgentTrustError::config(format!("cannot encode the key: {e}")))
    }

    /// The proof of possession for `nonce`: a signature over
    /// `pop-v1:<nonce>:<agent_id>:<audience joined by ,>:<ts>`.
    pub fn sign_proof(&self, nonce: &str, agent_id: &str, audience: &[String], ts: u64) -> Proof {
        let message = format!("pop-v1:{nonce}:{agent_id}:{}:{ts}", audience.join(","));
        let signature = self.key.sign(message.as_bytes());
        Proof {
            nonce: nonce.to_owned(),
            ts,
            signature: URL_SAFE_NO_PAD.encode(signature.to_bytes()),
        }
    }
}
