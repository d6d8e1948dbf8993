//! TLS for LXD: the client identity, and the server certificate pinned by fingerprint.
//!
//! LXD servers use self-signed certificates, so web PKI cannot vouch for them. Like `lxc remote
//! add`, Mosaic shows the operator the server's fingerprint once ([`fetch_fingerprint`]), the
//! operator confirms it, and from then on every handshake must present exactly that certificate
//! ([`PinnedServerCert`]). There is deliberately no "accept any certificate" mode.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use url::Url;

use crate::error::{Error, Result};
use crate::fingerprint::Fingerprint;
use crate::identity::Identity;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for one pinned LXD host, presenting `identity` if given.
pub(crate) fn client_config(
    pinned: Fingerprint,
    identity: Option<&Identity>,
) -> Result<rustls::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid("TLS configuration", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServerCert { pinned, provider }));
    match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain(), id.key())
            .map_err(|e| Error::invalid("client certificate", e.to_string())),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// Accepts exactly one server certificate, identified by its SHA-256 fingerprint.
///
/// Handshake signatures are still verified against that certificate's key, so a peer that merely
/// replays the certificate without holding its key fails the handshake.
#[derive(Debug)]
pub struct PinnedServerCert {
    pinned: Fingerprint,
    provider: Arc<CryptoProvider>,
}

/// The error a [`PinnedServerCert`] fails the handshake with, recovered by [`mismatch_in`].
#[derive(Debug, thiserror::Error)]
#[error("server certificate fingerprint {actual} is not the pinned {expected}")]
struct Mismatch {
    expected: Fingerprint,
    actual: Fingerprint,
}

impl ServerCertVerifier for PinnedServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual = Fingerprint::of_der(end_entity);
        if actual == self.pinned {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Mismatch {
                expected: self.pinned,
                actual,
            })))))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// Finds a fingerprint mismatch anywhere in an error's cause chain.
///
/// reqwest wraps hyper's error, which wraps an `io::Error`, which wraps the rustls error. Note that
/// `io::Error::source` skips the error it wraps, so `get_ref` is consulted at each `io::Error`.
pub(crate) fn mismatch_in(err: &(dyn std::error::Error + 'static)) -> Option<(Fingerprint, Fingerprint)> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = mismatch_here(e) {
            return Some(found);
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
            && let Some(found) = mismatch_in(inner)
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn mismatch_here(e: &(dyn std::error::Error + 'static)) -> Option<(Fingerprint, Fingerprint)> {
    if let Some(m) = e.downcast_ref::<Mismatch>() {
        return Some((m.expected, m.actual));
    }
    match e.downcast_ref::<rustls::Error>() {
        Some(rustls::Error::InvalidCertificate(CertificateError::Other(other))) => {
            other.0.downcast_ref::<Mismatch>().map(|m| (m.expected, m.actual))
        }
        _ => None,
    }
}

/// Reads the fingerprint of the certificate an LXD server presents, for an operator to confirm.
///
/// Only the TLS handshake is started: the certificate is captured by the verifier, which then
/// aborts the handshake, so no request is ever sent over an unverified connection.
pub async fn fetch_fingerprint(url: &Url, timeout: Duration) -> Result<Fingerprint> {
    let host = url.host_str().ok_or_else(|| Error::invalid("LXD URL", "it has no host"))?;
    let port = url.port_or_known_default().unwrap_or(8443);
    let server_name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| Error::invalid("LXD URL", e.to_string()))?;

    let seen = Arc::new(Mutex::new(None));
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::invalid("TLS configuration", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Capture { seen: seen.clone() }))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let attempt = async {
        let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
        // The handshake is expected to fail: Capture refuses every certificate after noting it.
        let _ = connector.connect(server_name, tcp).await;
        Ok::<_, std::io::Error>(())
    };
    let unreachable =
        |reason: String| Error::Protocol(format!("cannot read the certificate of {url}: {reason}"));
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| unreachable(format!("no TLS handshake within {} s", timeout.as_secs())))?
        .map_err(|e| unreachable(e.to_string()))?;
    let fingerprint = seen.lock().map_err(|_| unreachable("internal lock poisoned".into()))?.take();
    fingerprint.ok_or_else(|| unreachable("the server presented no certificate".into()))
}

/// A verifier that records the server's certificate and then refuses it.
#[derive(Debug)]
struct Capture {
    seen: Arc<Mutex<Option<Fingerprint>>>,
}

impl ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(Fingerprint::of_der(end_entity));
        }
        Err(rustls::Error::General("certificate captured for confirmation; not trusted yet".into()))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("not trusted".into()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("not trusted".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider().signature_verification_algorithms.supported_schemes()
    }
}
