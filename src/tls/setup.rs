//! The server's TLS configuration, built once at start from the command line: the user's
//! certificate chain and key (PEM), or a self-signed certificate made on the spot. And
//! an outbound connection's ([`client_config`]): the same protocol versions, cipher
//! suites and ALPN, trusting the roots it is given.
//!
//! Every failure is a one-line message naming the option and the file, for the command
//! line to print before exiting with code 2.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// The names a self-signed certificate is made for: what a client on this machine dials.
pub(crate) const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The application protocols advertised with ALPN (RFC 7301): HTTP/1.1, over which the
/// RFC 6455 upgrade happens, and HTTP/2 (RFC 9113 §3.2), over which RFC 8441's extended
/// CONNECT does. Nothing is advertised that is not served.
pub(crate) const ALPN_HTTP_1_1: &[u8] = b"http/1.1";
/// HTTP/2's ALPN name (RFC 9113 §3.2).
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// What the command line asked for.
#[derive(Debug, Default, Clone)]
pub struct TlsOptions {
    /// PEM file with the certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// PEM file with the private key of the leaf certificate.
    pub key: Option<PathBuf>,
    /// Make a certificate for `SELF_SIGNED_NAMES` at start.
    pub self_signed: bool,
    /// Where to write the self-signed certificate (PEM) for clients to trust.
    pub write_cert: Option<PathBuf>,
    /// Refuse cleartext connections.
    pub only: bool,
    /// Offer HTTP/2 by ALPN.
    pub http2: bool,
}

/// A ready TLS configuration.
#[derive(Debug, Clone)]
pub struct TlsSetup {
    /// What every TLS connection is built from.
    pub config: Arc<ServerConfig>,
    /// Cleartext connections are refused (HTTP 400 naming `wss://`).
    pub only: bool,
    /// SHA-256 of the leaf certificate (DER), as colon-separated hex: what a user
    /// compares with the fingerprint their client shows.
    pub fingerprint: String,
    /// The certificate was made at start (and is trusted by nobody unless written out).
    pub self_signed: bool,
}

impl TlsOptions {
    /// Builds the configuration, `None` when no TLS was asked for.
    pub fn build(&self) -> Result<Option<TlsSetup>, String> {
        let (chain, key, self_signed) = match (&self.cert, &self.key, self.self_signed) {
            (None, None, false) => {
                if self.only {
                    return Err(
                        "--tls-only needs a certificate: --tls-cert/--tls-key or --tls-self-signed"
                            .into(),
                    );
                }
                return Ok(None);
            }
            (Some(cert), Some(key), false) => (read_chain(cert)?, read_key(key)?, false),
            (None, None, true) => {
                let (chain, key) = self_signed(self.write_cert.as_deref())?;
                (chain, key, true)
            }
            (Some(_), None, false) => {
                return Err(
                    "--tls-cert needs --tls-key FILE too: the private key of that \
                            certificate chain"
                        .into(),
                );
            }
            (None, Some(_), false) => {
                return Err(
                    "--tls-key needs --tls-cert FILE too: the certificate chain of that key".into(),
                );
            }
            (_, _, true) => {
                return Err("--tls-self-signed and --tls-cert/--tls-key exclude each other".into());
            }
        };
        let fingerprint = fingerprint(&chain[0]);
        let config =
            server_config(chain, key, self.http2).map_err(|e| match (&self.cert, &self.key) {
                (Some(cert), Some(key)) => format!(
                    "--tls-key {}: cannot be used with --tls-cert {}: {e}",
                    key.display(),
                    cert.display()
                ),
                _ => format!("the self-signed certificate cannot be used: {e}"),
            })?;
        Ok(Some(TlsSetup {
            config: Arc::new(config),
            only: self.only,
            fingerprint,
            self_signed,
        }))
    }
}

/// TLS 1.3 and 1.2 with aws-lc-rs' cipher suites and key exchanges, the chain and key
/// (checked to match), and ALPN `h2` (when `http2`) and `http/1.1`.
pub(super) fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    http2: bool,
) -> Result<ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // RFC 9113 §3.2: "h2" by ALPN, preferred: the client's first choice among ours.
    config.alpn_protocols = if http2 {
        vec![ALPN_H2.to_vec(), ALPN_HTTP_1_1.to_vec()]
    } else {
        vec![ALPN_HTTP_1_1.to_vec()]
    };
    Ok(config)
}

/// An outbound client's configuration: what [`server_config`] speaks (TLS 1.3 and 1.2,
/// aws-lc-rs), verifying the server's certificate against `roots` only, and offering
/// ALPN `http/1.1` alone, since the RFC 6455 upgrade is an HTTP/1.1 request (RFC 9113
/// §3.2 would have the server choose `h2` if it were offered).
pub fn client_config(
    roots: impl IntoIterator<Item = CertificateDer<'static>>,
) -> Result<ClientConfig, rustls::Error> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root)?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(config)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path, "--tls-cert")?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--tls-cert {}: not a PEM file: {e}", path.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate in it (expected PEM blocks \"BEGIN CERTIFICATE\")",
            path.display()
        ));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = read(path, "--tls-key")?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        pem::Error::NoItemsFound => format!(
            "--tls-key {}: no private key in it (expected a PEM block \"BEGIN PRIVATE KEY\", \
             \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\")",
            path.display()
        ),
        e => format!("--tls-key {}: not a PEM file: {e}", path.display()),
    })
}

fn read(path: &Path, option: &str) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{option} {}: cannot read it: {e}", path.display()))
}

/// A fresh key pair and a certificate for [`SELF_SIGNED_NAMES`], written out (PEM) to
/// `write_to` when asked.
fn self_signed(
    write_to: Option<&Path>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    if let Some(path) = write_to {
        fs::write(path, made.cert.pem())
            .map_err(|e| format!("--tls-write-cert {}: cannot write it: {e}", path.display()))?;
    }
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok((vec![made.cert.der().clone()], key.into()))
}

/// SHA-256 of `cert` as `AB:CD:…`, the form browsers and `openssl x509 -fingerprint
/// -sha256` show.
pub(crate) fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.as_ref());
    let mut hex = String::with_capacity(95);
    for (i, byte) in digest.as_ref().iter().enumerate() {
        if i > 0 {
            hex.push(':');
        }
        let _ = write!(hex, "{byte:02X}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsecho-tls-setup-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        dir.join(name)
    }

    #[test]
    fn a_self_signed_certificate_is_written_and_fingerprinted() {
        let path = temp("self.pem");
        let options = TlsOptions {
            self_signed: true,
            write_cert: Some(path.clone()),
            ..TlsOptions::default()
        };
        let setup = options.build().expect("builds").expect("configured");
        assert!(setup.self_signed);
        assert_eq!(setup.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let written = CertificateDer::from_pem_file(&path).expect("PEM certificate written");
        assert_eq!(setup.fingerprint, fingerprint(&written));
        assert_eq!(setup.fingerprint.len(), 32 * 3 - 1);
    }

    #[test]
    fn files_are_named_in_every_error() {
        let missing = temp("missing.pem");
        let options = TlsOptions {
            cert: Some(missing.clone()),
            key: Some(missing.clone()),
            ..TlsOptions::default()
        };
        let err = options.build().expect_err("missing file");
        assert!(
            err.starts_with("--tls-cert ") && err.contains("missing.pem"),
            "{err}"
        );

        let garbage = temp("garbage.pem");
        fs::write(&garbage, "not a certificate\n").expect("write");
        let options = TlsOptions {
            cert: Some(garbage.clone()),
            key: Some(garbage.clone()),
            ..TlsOptions::default()
        };
        let err = options.build().expect_err("no certificate");
        assert!(
            err.contains("garbage.pem") && err.contains("no certificate"),
            "{err}"
        );
    }

    #[test]
    fn a_key_that_does_not_match_the_certificate_is_refused() {
        let one = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (cert, key) = (temp("one.pem"), temp("other.key"));
        fs::write(&cert, one.cert.pem()).unwrap();
        fs::write(&key, other.signing_key.serialize_pem()).unwrap();
        let options = TlsOptions {
            cert: Some(cert),
            key: Some(key),
            ..TlsOptions::default()
        };
        let err = options.build().expect_err("mismatch");
        assert!(
            err.starts_with("--tls-key ") && err.contains("other.key"),
            "{err}"
        );
    }

    #[test]
    fn tls_only_without_a_certificate_is_refused() {
        let options = TlsOptions {
            only: true,
            ..TlsOptions::default()
        };
        assert!(options.build().is_err());
        assert!(TlsOptions::default().build().expect("no TLS").is_none());
    }
}
