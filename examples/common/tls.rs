//! TLS for the std examples: `wss://` (RFC 6455 §4.1 "secure" connections, §10.6), with rustls
//! on its `ring` provider, as `embedded-io` (blocking) and `embedded-io-async` (tokio) streams.
//!
//! The state machine never sees TLS: it reads and writes plaintext through one of
//!
//! | type | for | wrap it in |
//! | --- | --- | --- |
//! | [`Stream`] | blocking: plain TCP or either side of TLS over it | `embedded_io_adapters::std::FromStd` |
//! | [`AsyncStream`] | tokio: the same over `tokio-rustls` | `embedded_io_adapters::tokio_1::FromTokio` |
//!
//! Both keep the plain case, so one example serves `ws://` and `wss://` with one type. Their
//! half-close ([`HalfCloseTls`], [`AsyncHalfCloseTls`], [`Stream::shutdown`]) sends the TLS
//! `close_notify` before shutting the TCP write side, so the peer sees a clean end of stream.
//!
//! Every failure is a `String` that says what failed (unknown CA, name mismatch, not TLS, the
//! peer closed during the handshake); nothing here panics. Handshakes are bounded by the TCP
//! stream's own read and write timeouts (blocking) or by the caller's `timeout` (async):
//! set them before calling.
//!
//! [`test_pki`] writes a throwaway CA and a server certificate for `localhost` and
//! `127.0.0.1`: for the tests and the interop script, never for the examples themselves.
#![allow(dead_code)] // Each example uses part of it.

use std::borrow::BorrowMut;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use embedded_io_adapters::std::FromStd;
use embedded_io_adapters::tokio_1::FromTokio;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConnection, RootCertStore, ServerConnection, StreamOwned};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

pub use rustls::{ClientConfig, ServerConfig};

/// The crypto provider of every config made here: `ring`, named explicitly, so that no
/// process-wide default has to be installed (and none can be ambiguous).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config from a PEM certificate chain (leaf first) and a PEM private key (PKCS#8,
/// PKCS#1 or SEC1).
pub fn server_config(cert_pem: &Path, key_pem: &Path) -> Result<Arc<ServerConfig>, String> {
    let chain = read_certs(cert_pem)?;
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .map_err(|e| format!("no private key in {}: {e}", key_pem.display()))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            let (cert, key) = (cert_pem.display(), key_pem.display());
            format!("{cert} and {key} do not make a server identity: {e}")
        })?;
    Ok(Arc::new(config))
}

/// A client config that trusts the CA certificates in `ca_pem`, or the system's root store
/// when `None`.
pub fn client_config(ca_pem: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(path) => {
            for cert in read_certs(path)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("bad CA certificate in {}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // The system store holds certificates webpki cannot use: skip those.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                let why = match found.errors.first() {
                    Some(e) => format!(": {e}"),
                    None => String::new(),
                };
                return Err(format!(
                    "no system root certificates{why}; pass --ca CA.pem"
                ));
            }
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file; none is an error.
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM in {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", path.display()));
    }
    Ok(certs)
}

/// The TLS name of a URL host: a DNS name, or an IP literal (checked against the
/// certificate's IP SANs), with an IPv6 literal's brackets removed.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_owned())
        .map_err(|_| format!("not a valid TLS server name: {host}"))
}

/// What a failed TLS handshake or TLS read says, for a person.
pub fn describe(e: &io::Error) -> String {
    if let Some(tls) = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return describe_tls(tls);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "the peer closed the connection during the TLS handshake (not a TLS peer?)".to_owned()
        }
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            "timed out in the TLS handshake".to_owned()
        }
        _ => e.to_string(),
    }
}

fn describe_tls(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as Alert, CertificateError as Cert, Error as E};
    match e {
        E::InvalidCertificate(Cert::UnknownIssuer) => {
            "certificate not trusted: unknown CA (its issuer is not among the trusted roots)"
                .to_owned()
        }
        E::InvalidCertificate(Cert::BadSignature) => {
            "certificate not trusted: its signature does not verify with the trusted CA of \
             that name (unknown CA: another CA of the same name?)"
                .to_owned()
        }
        E::InvalidCertificate(Cert::NotValidForName | Cert::NotValidForNameContext { .. }) => {
            format!("certificate name mismatch: {e}")
        }
        E::InvalidCertificate(_) => format!("bad certificate: {e}"),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            format!("not TLS: the peer does not speak TLS ({e})")
        }
        E::AlertReceived(Alert::UnknownCA) => {
            "the peer refused our certificate: unknown CA (TLS alert UnknownCA)".to_owned()
        }
        E::AlertReceived(alert @ (Alert::BadCertificate | Alert::CertificateUnknown)) => {
            format!(
                "the peer refused our certificate: a name mismatch or a CA it does not trust \
                 (TLS alert {alert:?})"
            )
        }
        E::AlertReceived(alert) => format!("the peer ended the TLS session: TLS alert {alert:?}"),
        _ => format!("TLS: {e}"),
    }
}

/// A blocking TCP stream, plain or with TLS over it: [`std::io::Read`] and [`Write`] of
/// plaintext, for `FromStd`. The TLS variants are boxed: rustls' state is large.
///
/// With TLS, a read returns 0 only after the peer's `close_notify`; a TCP end without it is
/// an `UnexpectedEof` error (a truncated stream is not a clean end).
pub enum Stream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`, the server side.
    Server(Box<StreamOwned<ServerConnection, TcpStream>>),
    /// `wss://`, the client side.
    Client(Box<StreamOwned<ClientConnection, TcpStream>>),
}

/// Runs the server side of a TLS handshake on `tcp` (bounded by its timeouts; set them
/// first). A peer that is not TLS, or refuses our certificate, is an error saying so.
pub fn accept_tls(mut tcp: TcpStream, config: &Arc<ServerConfig>) -> Result<Stream, String> {
    let mut conn = ServerConnection::new(Arc::clone(config)).map_err(|e| describe_tls(&e))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| describe(&e))?;
    }
    Ok(Stream::Server(Box::new(StreamOwned::new(conn, tcp))))
}

/// Runs the client side of a TLS handshake on `tcp` with `host` (a DNS name or an IP
/// literal, as in the URL) as the name the server's certificate must be valid for. Bounded by
/// `tcp`'s timeouts; set them first.
pub fn connect_tls(
    mut tcp: TcpStream,
    host: &str,
    config: &Arc<ClientConfig>,
) -> Result<Stream, String> {
    let name = server_name(host)?;
    let mut conn = ClientConnection::new(Arc::clone(config), name).map_err(|e| describe_tls(&e))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| describe(&e))?;
    }
    Ok(Stream::Client(Box::new(StreamOwned::new(conn, tcp))))
}

impl Stream {
    /// The TCP stream under it.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Server(tls) => tls.get_ref(),
            Self::Client(tls) => tls.get_ref(),
        }
    }

    /// Whether TLS runs over the TCP stream.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }

    /// [`TcpStream::set_read_timeout`].
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_read_timeout(timeout)
    }

    /// [`TcpStream::set_write_timeout`].
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp().set_write_timeout(timeout)
    }

    /// [`TcpStream::shutdown`], with TLS first sending its `close_notify` (and what is still
    /// queued) when the write side is shut.
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            let notified = match self {
                Self::Plain(_) => Ok(()),
                Self::Server(tls) => {
                    tls.conn.send_close_notify();
                    tls.flush()
                }
                Self::Client(tls) => {
                    tls.conn.send_close_notify();
                    tls.flush()
                }
            };
            // The TCP half-close goes out even when the alert could not.
            let shut = self.tcp().shutdown(how);
            return notified.and(shut);
        }
        self.tcp().shutdown(how)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.read(buf),
            Self::Server(tls) => tls.read(buf),
            Self::Client(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(tcp) => tcp.write(buf),
            Self::Server(tls) => tls.write(buf),
            Self::Client(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(tcp) => tcp.flush(),
            Self::Server(tls) => tls.flush(),
            Self::Client(tls) => tls.flush(),
        }
    }
}

/// The blocking adapter's half-close for a [`Stream`], however it is held (`FromStd<Stream>`,
/// `FromStd<&mut Stream>`): `close_notify`, then TCP `shutdown(Write)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HalfCloseTls;

impl<S: BorrowMut<Stream>> wsmachine::io::blocking::HalfClose<FromStd<S>> for HalfCloseTls {
    fn half_close(&mut self, stream: &mut FromStd<S>) {
        let _ = stream.inner_mut().borrow_mut().shutdown(Shutdown::Write);
    }
}

/// A tokio TCP stream, plain or with TLS over it: `AsyncRead` and `AsyncWrite` of plaintext,
/// for `FromTokio`. Its `shutdown` sends TLS' `close_notify`, then shuts the TCP write side.
pub enum AsyncStream {
    /// `ws://`.
    Plain(tokio::net::TcpStream),
    /// `wss://`, the server side.
    Server(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
    /// `wss://`, the client side.
    Client(Box<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>),
}

/// [`accept_tls`] on tokio. Not bounded: wrap it in a `tokio::time::timeout`.
pub async fn accept_tls_async(
    tcp: tokio::net::TcpStream,
    config: &Arc<ServerConfig>,
) -> Result<AsyncStream, String> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(config));
    match acceptor.accept(tcp).await {
        Ok(tls) => Ok(AsyncStream::Server(Box::new(tls))),
        Err(e) => Err(describe(&e)),
    }
}

/// [`connect_tls`] on tokio. Not bounded: wrap it in a `tokio::time::timeout`.
pub async fn connect_tls_async(
    tcp: tokio::net::TcpStream,
    host: &str,
    config: &Arc<ClientConfig>,
) -> Result<AsyncStream, String> {
    let name = server_name(host)?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(config));
    match connector.connect(name, tcp).await {
        Ok(tls) => Ok(AsyncStream::Client(Box::new(tls))),
        Err(e) => Err(describe(&e)),
    }
}

impl AsyncStream {
    /// The TCP stream under it.
    pub fn tcp(&self) -> &tokio::net::TcpStream {
        match self {
            Self::Plain(tcp) => tcp,
            Self::Server(tls) => tls.get_ref().0,
            Self::Client(tls) => tls.get_ref().0,
        }
    }

    /// Whether TLS runs over the TCP stream.
    pub fn is_tls(&self) -> bool {
        !matches!(self, Self::Plain(_))
    }
}

impl AsyncRead for AsyncStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Self::Server(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
            Self::Client(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for AsyncStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Self::Server(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
            Self::Client(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Self::Server(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
            Self::Client(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    /// tokio-rustls sends `close_notify`, flushes, then shuts the TCP write side.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Self::Server(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
            Self::Client(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The async adapter's half-close for an [`AsyncStream`] in `FromTokio`, however it is held
/// (`FromTokio<AsyncStream>`, `&mut FromTokio<AsyncStream>`): `close_notify`, then TCP
/// `shutdown(Write)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AsyncHalfCloseTls;

impl<S: BorrowMut<FromTokio<AsyncStream>>> wsmachine::io::asynch::HalfClose<S>
    for AsyncHalfCloseTls
{
    async fn half_close(&mut self, stream: &mut S) {
        let _ = stream.borrow_mut().inner_mut().shutdown().await;
    }
}

/// Takes `--tls-cert CERT --tls-key KEY` out of `args` (the rest stay in order) and loads
/// them: `None` when neither is given (plain `ws://`), an error when only one is, or when
/// they do not load.
pub fn server_flags(args: &mut Vec<String>) -> Result<Option<Arc<ServerConfig>>, String> {
    let cert = take_flag(args, "--tls-cert")?;
    let key = take_flag(args, "--tls-key")?;
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => server_config(Path::new(&cert), Path::new(&key)).map(Some),
        _ => Err("--tls-cert and --tls-key go together".to_owned()),
    }
}

/// Takes `--ca CA` out of `args` (the rest stay in order): the CA file a `wss://` client
/// trusts instead of the system's roots.
pub fn client_flags(args: &mut Vec<String>) -> Result<Option<PathBuf>, String> {
    Ok(take_flag(args, "--ca")?.map(PathBuf::from))
}

/// Removes `flag VALUE` (or `flag=VALUE`) from `args`, returning the value.
fn take_flag(args: &mut Vec<String>, flag: &str) -> Result<Option<String>, String> {
    let prefix = format!("{flag}=");
    let Some(i) = args
        .iter()
        .position(|a| a == flag || a.starts_with(&prefix))
    else {
        return Ok(None);
    };
    let arg = args.remove(i);
    if let Some(value) = arg.strip_prefix(&prefix) {
        return Ok(Some(value.to_owned()));
    }
    if i < args.len() {
        return Ok(Some(args.remove(i)));
    }
    Err(format!("{flag} needs a value"))
}

/// For a `wss://` URL, the same URL as `ws://` with its port made explicit (443 when it
/// had none) and `true`; any other URL as it is and `false`. So a `ws://` parser takes both.
pub fn split_wss(url: &str) -> (String, bool) {
    let Some(rest) = url.strip_prefix("wss://") else {
        return (url.to_owned(), false);
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(end);
    let has_port = matches!(authority.rsplit_once(':'), Some((_, port)) if !port.contains(']'));
    let port = if has_port { "" } else { ":443" };
    (format!("ws://{authority}{port}{target}"), true)
}

/// The files [`test_pki`] writes.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The throwaway CA's certificate: what a client trusts.
    pub ca: PathBuf,
    /// The server certificate, for `localhost` and `127.0.0.1`, signed by the CA.
    pub cert: PathBuf,
    /// The server certificate's private key (PKCS#8).
    pub key: PathBuf,
}

/// Generates a throwaway CA and a server certificate for `localhost` and `127.0.0.1` signed
/// by it, and writes `ca.pem`, `cert.pem` and `key.pem` into `dir` (created if need be).
/// For tests and the interop script only: the keys are fresh each call and never kept.
pub fn test_pki(dir: &Path) -> Result<TestPki, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let err = |e: rcgen::Error| format!("test PKI: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // A name of its own: two throwaway CAs are two issuers, not one with a bad signature.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("wsmachine test CA {:x}-{nanos:x}", std::process::id());
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let localhost = "localhost".to_owned().try_into().map_err(err)?;
    leaf.subject_alt_names = vec![
        SanType::DnsName(localhost),
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    ];
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // OpenSSL's strict verification (Python's default since 3.13) wants the AKI.
    leaf.use_authority_key_identifier_extension = true;
    let cert = leaf.signed_by(&key, &issuer).map_err(err)?;

    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let pki = TestPki {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let files = [
        (&pki.ca, ca_cert.pem()),
        (&pki.cert, cert.pem()),
        (&pki.key, key.serialize_pem()),
    ];
    for (path, pem) in files {
        std::fs::write(path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(pki)
}
