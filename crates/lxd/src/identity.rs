//! The client certificate Mosaic presents to LXD.

use std::fmt;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;

/// A client certificate and its private key.
///
/// LXD authenticates API clients by their TLS client certificate: once a certificate is in the
/// server's trust store, every connection presenting it is trusted.
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_pem: String,
}

impl Identity {
    /// Loads an identity from PEM text: a certificate (chain) and a PKCS#8, PKCS#1 or SEC1 key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let chain = rustls_pemfile::certs(&mut cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::invalid("client certificate", e.to_string()))?;
        if chain.is_empty() {
            return Err(Error::invalid("client certificate", "no CERTIFICATE block in the PEM text"));
        }
        let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())
            .map_err(|e| Error::invalid("client key", e.to_string()))?
            .ok_or_else(|| Error::invalid("client key", "no PRIVATE KEY block in the PEM text"))?;
        Ok(Identity { chain, key, cert_pem: cert_pem.to_owned() })
    }

    /// Generates a fresh self-signed client certificate (ECDSA P-256), as `lxc` does on first use.
    ///
    /// Returns the identity together with its key as PEM, for the caller to store.
    pub fn generate(common_name: &str) -> Result<(Self, String)> {
        let key = rcgen::KeyPair::generate().map_err(|e| Error::invalid("client key", e.to_string()))?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| Error::invalid("client certificate", e.to_string()))?;
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2120, 1, 1);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert =
            params.self_signed(&key).map_err(|e| Error::invalid("client certificate", e.to_string()))?;
        let key_pem = key.serialize_pem();
        let identity = Identity::from_pem(&cert.pem(), &key_pem)?;
        Ok((identity, key_pem))
    }

    /// The leaf certificate as PEM, e.g. to store next to the key or show an operator.
    pub fn certificate_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The leaf certificate's DER bytes, the form `POST /1.0/certificates` wants (base64 of DER).
    pub fn certificate_der(&self) -> &[u8] {
        // `from_pem` refuses an empty chain, so the leaf always exists.
        self.chain.first().map(|c| c.as_ref()).unwrap_or_default()
    }

    /// The fingerprint LXD will list this certificate under.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(self.certificate_der())
    }

    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.clone()
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity { chain: self.chain.clone(), key: self.key.clone_key(), cert_pem: self.cert_pem.clone() }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Identity").field("fingerprint", &self.fingerprint()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_round_trips_through_pem() {
        let (id, key_pem) = Identity::generate("mosaic-test").unwrap();
        let again = Identity::from_pem(id.certificate_pem(), &key_pem).unwrap();
        assert_eq!(id.fingerprint(), again.fingerprint());
    }

    #[test]
    fn garbage_pem_is_a_clear_error() {
        let err = Identity::from_pem("not a cert", "not a key").unwrap_err();
        assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");
    }
}
