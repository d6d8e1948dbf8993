//! Mutual TLS, certificate pinning and joining a host.

use std::time::Duration;

use lxd::{Client, Error, Identity};
use mosaic_testkit::env;

#[tokio::test]
async fn the_pinned_fingerprint_connects_and_matches_what_the_server_reports() {
    for host in &env().hosts {
        let server = host.client().server().await.expect("GET /1.0");
        assert!(server.is_trusted(), "host {} should trust the test certificate", host.label);
        assert_eq!(server.environment.certificate_fingerprint, host.fingerprint.to_hex());
        assert!(server.environment.server_version.starts_with('5'), "{}", server.environment.server_version);
        assert!(!server.environment.server_clustered);
    }
}

#[tokio::test]
async fn a_wrong_fingerprint_fails_the_handshake_with_a_clear_error() {
    let [a, b] = &env().hosts;
    // Pin B's fingerprint but dial A.
    let client = Client::https(&a.url, b.fingerprint, Some(&env().identity)).unwrap();
    match client.server().await {
        Err(Error::FingerprintMismatch { expected, actual }) => {
            assert_eq!(expected, b.fingerprint);
            assert_eq!(actual, a.fingerprint);
        }
        other => panic!("expected a fingerprint mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn fetch_fingerprint_reads_the_servers_certificate_for_confirmation() {
    for host in &env().hosts {
        let seen = lxd::tls::fetch_fingerprint(&host.url, Duration::from_secs(5)).await.unwrap();
        assert_eq!(seen, host.fingerprint);
    }
}

#[tokio::test]
async fn an_untrusted_client_gets_lxds_403_as_a_typed_error() {
    let (stranger, _key) = Identity::generate("mosaic-test-stranger").unwrap();
    let client = env().hosts[0].client_as(&stranger);
    let server = client.server().await.expect("GET /1.0 is public");
    assert!(!server.is_trusted());
    let err = client.instances(None).await.unwrap_err();
    assert!(err.is_forbidden(), "expected 403, got {err:?}");
}

#[tokio::test]
async fn joining_with_a_trust_token_makes_the_client_trusted() {
    let host = &env().hosts[0];
    let (newcomer, _key) = Identity::generate("mosaic-test-token").unwrap();
    let token = host.admin().create_certificate_token("mosaic-test-token").await.unwrap();
    assert_eq!(token.token.fingerprint, host.fingerprint.to_hex());

    let client = host.client_as(&newcomer);
    client.join(&token.encoded).await.expect("join with token");
    let trusted = client.server().await.unwrap().is_trusted();
    host.admin().delete_certificate(&newcomer.fingerprint()).await.unwrap();
    assert!(trusted);
}

#[tokio::test]
async fn a_token_from_another_server_is_never_sent() {
    let [a, b] = &env().hosts;
    let (newcomer, _key) = Identity::generate("mosaic-test-wrong-token").unwrap();
    let token_for_b = b.admin().create_certificate_token("mosaic-test-wrong-token").await.unwrap();
    let err = a.client_as(&newcomer).join(&token_for_b.encoded).await.unwrap_err();
    assert!(matches!(err, Error::TokenFingerprintMismatch { .. }), "{err:?}");
    assert!(!a.client_as(&newcomer).server().await.unwrap().is_trusted());
}

#[tokio::test]
async fn joining_with_the_trust_password_works_and_a_wrong_one_is_refused() {
    let host = &env().hosts[1];
    let (newcomer, _key) = Identity::generate("mosaic-test-password").unwrap();
    let client = host.client_as(&newcomer);

    let err = client.join("not-the-password").await.unwrap_err();
    assert!(err.is_forbidden(), "expected 403 for a wrong password, got {err:?}");
    assert!(!client.server().await.unwrap().is_trusted());

    client.join(&env().trust_password).await.expect("join with password");
    let trusted = client.server().await.unwrap().is_trusted();
    // Joining again is not an error.
    let again = client.join(&env().trust_password).await;
    host.admin().delete_certificate(&newcomer.fingerprint()).await.unwrap();
    assert!(trusted);
    again.expect("joining twice succeeds");
}

#[tokio::test]
async fn the_unix_socket_is_fully_trusted() {
    let server = env().hosts[0].admin().server().await.unwrap();
    assert!(server.is_trusted());
    assert_eq!(server.environment.certificate_fingerprint, env().hosts[0].fingerprint.to_hex());
}
