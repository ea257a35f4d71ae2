//! What the TLS targets share: the server's self-signed setup and a client that trusts
//! it.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use wsecho::TlsOptions;
use wsecho::fuzzing::tls::TlsSetup;

/// A self-signed server setup (`--tls-self-signed`), and a client configuration that
/// trusts its certificate and offers `alpn`.
pub fn self_signed(alpn: &[&[u8]]) -> (TlsSetup, ClientConfig) {
    let path = std::env::temp_dir().join(format!(
        "wsecho-fuzz-cert-{}-{:?}.pem",
        std::process::id(),
        std::thread::current().id()
    ));
    let setup = TlsOptions {
        self_signed: true,
        write_cert: Some(path.clone()),
        ..TlsOptions::default()
    }
    .build()
    .expect("self-signed setup")
    .expect("TLS configured");
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&path).expect("written certificate"))
        .expect("trusted");
    let _ = std::fs::remove_file(&path);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (setup, client)
}
