//! The one trust store for every TLS client nudged opens — IMAP, SMTP and the OAuth
//! token endpoint: the system's CA certificates, plus the `ca_file` a source or `[smtp]`
//! names. Certificate checks are never switched off.
//!
//! Why the system store and not compiled-in webpki roots: nudged runs for years between
//! upgrades, and the system store is what the distribution keeps current (a distrusted
//! CA is removed by an ordinary security update of `ca-certificates`, without a new
//! nudged); a company CA added with `update-ca-certificates` then works for all three.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{Context, bail};
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::ring};

/// The system's CA certificates, read once per process (a few hundred small files or one
/// bundle; reading them per connection would be waste, and they change only on upgrade).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for err in &found.errors {
            tracing::debug!(error = %err, "a system CA certificate could not be read");
        }
        // A malformed system certificate is skipped here, as every TLS library does, so
        // that it cannot break a client that is handed the list (lettre refuses it whole).
        let mut probe = RootCertStore::empty();
        found
            .certs
            .into_iter()
            .filter(|cert| probe.add(cert.clone()).is_ok())
            .collect()
    })
}

/// Every trust anchor: the system's, then those in `ca_file`.
pub fn trust_anchors(ca_file: Option<&Path>) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let mut anchors = system_roots().to_vec();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .with_context(|| format!("cannot read ca_file {}", path.display()))?;
        let before = anchors.len();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            anchors.push(cert.with_context(|| format!("bad PEM in ca_file {}", path.display()))?);
        }
        if anchors.len() == before {
            bail!(
                "ca_file {} holds no certificate; it must be PEM (-----BEGIN CERTIFICATE-----)",
                path.display()
            );
        }
    }
    if anchors.is_empty() {
        bail!(
            "no trusted CA certificates: the system store is empty; install the ca-certificates package or set ca_file"
        );
    }
    Ok(anchors)
}

/// A rustls client configuration (ring, TLS 1.2 and 1.3) trusting [`trust_anchors`].
pub fn client_config(ca_file: Option<&Path>) -> anyhow::Result<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in trust_anchors(ca_file)? {
        // System certificates were checked on loading: a failure here is the user's file.
        roots.add(cert).with_context(|| {
            let path = ca_file.map(|p| p.display().to_string()).unwrap_or_default();
            format!("unusable certificate in ca_file {path}")
        })?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .context("TLS setup")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = trust_anchors(Some(&path)).unwrap_err().to_string();
        assert!(err.contains("holds no certificate"), "{err}");
        assert!(err.contains("ca.pem"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
