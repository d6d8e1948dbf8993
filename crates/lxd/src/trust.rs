//! Trust: joining a server with a trust password or token, and adding certificates as an admin.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;

/// A trust token as `lxc config trust add` prints it: base64 of this JSON.
///
/// It names the server it was made on by certificate fingerprint, which lets a client refuse to
/// hand the token's secret to any other server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustToken {
    /// The name the certificate will be trusted under.
    pub client_name: String,
    /// Fingerprint of the server that issued the token.
    pub fingerprint: String,
    /// Addresses the server listens on.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// The one-time secret.
    pub secret: String,
    /// When the token stops working, if it expires (newer LXD only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl TrustToken {
    /// Decodes a token; `None` if `text` is not a token (it may be a trust password).
    pub fn decode(text: &str) -> Option<Self> {
        let text = text.trim();
        let bytes = STANDARD.decode(text).or_else(|_| STANDARD_NO_PAD.decode(text)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Encodes the token the way LXD does.
    pub fn encode(&self) -> String {
        // Serialising a struct of strings cannot fail.
        STANDARD.encode(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// A token created on a server for a new client to join with.
#[derive(Debug, Clone)]
pub struct CertificateToken {
    /// The decoded token.
    pub token: TrustToken,
    /// The text to hand to the client.
    pub encoded: String,
}

#[derive(Deserialize)]
struct TokenOperationMetadata {
    #[serde(default)]
    secret: String,
    #[serde(default)]
    fingerprint: String,
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    request: TokenRequest,
}

#[derive(Deserialize, Default)]
struct TokenRequest {
    #[serde(default)]
    name: String,
}

impl Client {
    /// Adds our client certificate to the server's trust store, proving we may with a trust token
    /// or the server's trust password (`POST /1.0/certificates`).
    ///
    /// A token is checked first: if it was issued by a server whose fingerprint differs from the
    /// one we pinned, its secret is not sent. LXD 5.0 takes tokens in the `password` field. Being
    /// trusted already counts as success (checked first: LXD 5.0 answers a second join with a 400,
    /// and a one-time token should not be spent for nothing).
    pub async fn join(&self, password_or_token: &str) -> Result<()> {
        if password_or_token.is_empty() {
            return Err(Error::invalid("trust secret", "it is empty"));
        }
        if let Some(token) = TrustToken::decode(password_or_token) {
            let server = self
                .pinned_fingerprint()
                .ok_or_else(|| Error::invalid("trust token", "joining needs an HTTPS client"))?;
            let in_token: Fingerprint = token.fingerprint.parse()?;
            if in_token != server {
                return Err(Error::TokenFingerprintMismatch { token: in_token, server });
            }
        }
        if self.server().await?.is_trusted() {
            return Ok(());
        }
        let body = json!({ "type": "client", "password": password_or_token });
        match self.sync(Method::POST, "/1.0/certificates", Some(&body)).await {
            Ok(_) => Ok(()),
            Err(Error::Api { status: 409, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Trusts a client certificate (DER bytes) under `name`. Needs a trusted client.
    pub async fn add_certificate(&self, name: &str, certificate_der: &[u8]) -> Result<()> {
        let body = json!({
            "type": "client",
            "name": name,
            "certificate": STANDARD.encode(certificate_der),
        });
        self.sync(Method::POST, "/1.0/certificates", Some(&body)).await.map(drop)
    }

    /// Removes a certificate from the trust store.
    pub async fn delete_certificate(&self, fingerprint: &Fingerprint) -> Result<()> {
        self.sync::<()>(Method::DELETE, &format!("/1.0/certificates/{fingerprint}"), None).await.map(drop)
    }

    /// Issues a one-time trust token for a client to be named `name` (as `lxc config trust add
    /// --name` does). Needs a trusted client.
    pub async fn create_certificate_token(&self, name: &str) -> Result<CertificateToken> {
        let body = json!({ "type": "client", "name": name, "token": true });
        let op = self.operation(Method::POST, "/1.0/certificates", Some(&body)).await?;
        let meta: TokenOperationMetadata =
            serde_json::from_value(op.metadata.metadata.clone().unwrap_or_default())
                .map_err(|e| Error::Protocol(format!("token operation: {e}")))?;
        if meta.secret.is_empty() {
            return Err(Error::Protocol("the token operation carries no secret".into()));
        }
        let token = TrustToken {
            client_name: if meta.request.name.is_empty() { name.to_owned() } else { meta.request.name },
            fingerprint: meta.fingerprint,
            addresses: meta.addresses,
            secret: meta.secret,
            expires_at: None,
        };
        let encoded = token.encode();
        Ok(CertificateToken { token, encoded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips() {
        let token = TrustToken {
            client_name: "mosaic".into(),
            fingerprint: "ab".repeat(32),
            addresses: vec!["127.0.0.1:8443".into()],
            secret: "s3cret".into(),
            expires_at: None,
        };
        assert_eq!(TrustToken::decode(&token.encode()), Some(token));
    }

    #[test]
    fn a_password_is_not_a_token() {
        assert_eq!(TrustToken::decode("mosaic-test-trust"), None);
        assert_eq!(TrustToken::decode(&STANDARD.encode("just text")), None);
    }
}
