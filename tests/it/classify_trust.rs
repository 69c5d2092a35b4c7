//! Trust verdicts with real signatures: a key is generated here, fixtures are signed
//! with mail-auth's signer, and the classifier verifies them locally against the key
//! pinned in config — no DNS anywhere.

use std::path::Path;

use base64::Engine as _;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::DkimSigner;
use nudged::classify::{RuleSet, Trust, classify};
use nudged::config::TrustConfig;

fn fixture(path: &str) -> Vec<u8> {
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path),
    )
    .unwrap();
    // DKIM is defined on CRLF lines, as mail travels.
    String::from_utf8(raw)
        .unwrap()
        .replace('\n', "\r\n")
        .into_bytes()
}

/// A private key (PKCS#8 DER, so it can be loaded again: the signer consumes it) and
/// the DNS TXT record that publishes its public half.
struct TestKey {
    der: Vec<u8>,
    record: String,
}

fn test_key() -> TestKey {
    let der = Ed25519Key::generate_pkcs8().unwrap();
    let public = Ed25519Key::from_pkcs8_der(&der).unwrap().public_key();
    TestKey {
        record: format!(
            "v=DKIM1; k=ed25519; p={}",
            base64::engine::general_purpose::STANDARD.encode(public)
        ),
        der,
    }
}

fn sign(key: &TestKey, domain: &str, raw: &[u8]) -> Vec<u8> {
    let signature = DkimSigner::from_key(Ed25519Key::from_pkcs8_der(&key.der).unwrap())
        .domain(domain)
        .selector("s1")
        .headers(["From", "To", "Subject", "Date", "Message-ID"])
        .sign(raw)
        .unwrap();
    let mut signed = signature.to_header().into_bytes();
    signed.extend_from_slice(raw);
    signed
}

fn config(keys: &[(&str, &str)]) -> TrustConfig {
    TrustConfig {
        dkim_keys: keys
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..TrustConfig::default()
    }
}

#[test]
fn a_signature_of_the_platform_verifies_locally() {
    let key = test_key();
    let rules = RuleSet::builtin();
    let trust = config(&[("s1._domainkey.linkedin.com", &key.record)]);
    let signed = sign(
        &key,
        "linkedin.com",
        &fixture("linkedin/invitation_mbr_to_mbr.eml"),
    );
    let result = classify(&signed, &rules, &trust);
    assert_eq!(result.platform.as_deref(), Some("linkedin"));
    assert_eq!(result.trust, Trust::Verified, "{:?}", result.explanation);
}

#[test]
fn a_tampered_body_fails() {
    let key = test_key();
    let rules = RuleSet::builtin();
    let trust = config(&[("s1._domainkey.linkedin.com", &key.record)]);
    let mut signed = sign(
        &key,
        "linkedin.com",
        &fixture("linkedin/invitation_mbr_to_mbr.eml"),
    );
    let text = String::from_utf8(signed).unwrap();
    signed = text.replacen("Ann", "Eve", 3).into_bytes();
    let result = classify(&signed, &rules, &trust);
    assert_eq!(result.trust, Trust::Failed, "{:?}", result.explanation);
}

#[test]
fn a_key_for_another_domain_proves_nothing() {
    let key = test_key();
    let rules = RuleSet::builtin();
    // Validly signed, but by evil.example: not LinkedIn's signature.
    let trust = config(&[("s1._domainkey.evil.example", &key.record)]);
    let signed = sign(
        &key,
        "evil.example",
        &fixture("linkedin/invitation_mbr_to_mbr.eml"),
    );
    assert_eq!(classify(&signed, &rules, &trust).trust, Trust::Unverified);
}

#[test]
fn a_signature_whose_key_is_not_pinned_falls_back_to_authentication_results() {
    let key = test_key();
    let rules = RuleSet::builtin();
    let signed = sign(
        &key,
        "linkedin.com",
        &fixture("linkedin/invitation_mbr_to_mbr.eml"),
    );
    assert_eq!(
        classify(&signed, &rules, &TrustConfig::default()).trust,
        Trust::Unverified
    );
    let trusted_server = TrustConfig {
        authserv_ids: vec!["mx.example.com".into()],
        ..TrustConfig::default()
    };
    assert_eq!(
        classify(&signed, &rules, &trusted_server).trust,
        Trust::Verified
    );
}

#[test]
fn forged_senders_never_pass_as_the_platform() {
    let rules = RuleSet::builtin();
    let trust = TrustConfig {
        authserv_ids: vec!["mx.example.com".into()],
        ..TrustConfig::default()
    };
    for from in [
        "\"invitations@linkedin.com\" <attacker@evil.example>",
        "\"a@linkedin.com x\"@evil.example",
        "<invitations@linkedin.com.evil.example>",
        "Ann Lee <invitations@linkedln.com>",
        "Ann Lee <invitations@linkedin.com@evil.example>",
    ] {
        let raw = format!(
            "Authentication-Results: mx.example.com; dkim=pass header.d=linkedin.com\r\nFrom: {from}\r\nSubject: Sam, please add me to your LinkedIn network\r\nX-LinkedIn-Class: MBR-TO-MBR\r\nX-LinkedIn-Template: email_m2m_invite_single_01\r\n\r\nhttps://www.linkedin.com/comm/in/annlee\r\n"
        );
        let result = classify(raw.as_bytes(), &rules, &trust);
        assert!(
            result.platform.is_none() || result.trust != Trust::Verified,
            "{from}: {:?} {:?}",
            result.platform,
            result.trust
        );
        assert_ne!(result.platform.as_deref(), Some("linkedin"), "{from}");
    }
}
