//! Binding the loopback listener, with the port fallback users expect: the
//! configured port, else the next free one, else any free one — and the
//! port actually bound is what everything reports.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;

/// How many ports after the configured one are tried before any free port.
const FALLBACK_SPAN: u16 = 20;

/// Binds 127.0.0.1 only (never a wildcard address: the proxy spends money).
pub async fn bind_loopback(port: u16) -> io::Result<TcpListener> {
    if port == 0 {
        return TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await;
    }
    for candidate in port..=port.saturating_add(FALLBACK_SPAN) {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, candidate)).await {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (the default soft limit
/// of 1024 is a few hundred clients), once per process, and returns the soft
/// limit now in force. The `rlimit` crate makes the `setrlimit` call: this
/// workspace has no unsafe code of its own.
pub fn raise_descriptor_limit() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open file limit; assuming 1024");
            1024
        }
    })
}

/// The address the listener is on, which must be loopback.
pub fn loopback_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
    let addr = listener.local_addr()?;
    if addr.ip().is_loopback() {
        Ok(addr)
    } else {
        Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            format!("refusing to serve on non-loopback address {addr}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn taken_port_falls_back_to_the_next_free_one() {
        let first = bind_loopback(0).await.unwrap();
        let taken = first.local_addr().unwrap().port();
        let second = bind_loopback(taken).await.unwrap();
        let got = loopback_addr(&second).unwrap();
        assert_ne!(got.port(), taken);
        assert!(got.ip().is_loopback());
    }
}
