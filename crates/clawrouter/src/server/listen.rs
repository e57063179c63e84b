//! Binding the loopback listener, with the port fallback users expect: the
//! configured port, else the next free one, else any free one — and the
//! port actually bound is what everything reports.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tokio::net::{TcpListener, TcpSocket};

/// How many ports after the configured one are tried before any free port.
const FALLBACK_SPAN: u16 = 20;

/// Connections the kernel completes and holds until the proxy accepts them.
/// A burst (many clients starting at once, or a flood) waits here while the
/// proxy is busy. `TcpListener::bind`'s 128 was too few: past it the kernel
/// drops handshakes, or completes them with SYN cookies and then loses them
/// while their clients believe they are connected and wait for an answer
/// that never comes. Linux caps it at `net.core.somaxconn` (4096 by default).
const BACKLOG: u32 = 1024;

/// Binds 127.0.0.1 only (never a wildcard address: the proxy spends money).
/// Call it within a tokio runtime, which the listener registers with.
pub fn bind_loopback(port: u16) -> io::Result<TcpListener> {
    if port == 0 {
        return listen_on(0);
    }
    for candidate in port..=port.saturating_add(FALLBACK_SPAN) {
        match listen_on(candidate) {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    listen_on(0)
}

/// A listener on 127.0.0.1:`port` with [`BACKLOG`], otherwise set up as
/// `TcpListener::bind` does.
fn listen_on(port: u16) -> io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // As `bind` does on unix, so a restarted proxy gets its port back while
    // the last one's connections are in TIME_WAIT. (On Windows the option
    // would let another program take a port in use.)
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into())?;
    socket.listen(BACKLOG)
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
        let first = bind_loopback(0).unwrap();
        let taken = first.local_addr().unwrap().port();
        let second = bind_loopback(taken).unwrap();
        let got = loopback_addr(&second).unwrap();
        assert_ne!(got.port(), taken);
        assert!(got.ip().is_loopback());
    }

    #[tokio::test]
    async fn a_burst_of_connections_waits_to_be_accepted() {
        let listener = bind_loopback(0).unwrap();
        let addr = listener.local_addr().unwrap();
        // Twice the old backlog, and none accepted yet. A handshake the
        // kernel drops is retried after a second; it must not come to that
        // (the rest of the second is slack for a busy machine).
        let connects = (0..256).map(|_| {
            tokio::time::timeout(
                std::time::Duration::from_millis(900),
                tokio::net::TcpStream::connect(addr),
            )
        });
        let connected: Vec<_> = futures_util::future::join_all(connects)
            .await
            .into_iter()
            .filter_map(|c| c.ok()?.ok())
            .collect();
        assert_eq!(connected.len(), 256);
        // Each one is there to be accepted.
        for _ in 0..256 {
            listener.accept().await.unwrap();
        }
    }
}
