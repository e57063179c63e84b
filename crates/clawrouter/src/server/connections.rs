//! Connections, before and around requests: how many may be open (in total
//! and per peer address), and when one is closed because its client is not
//! doing its part. Anything on the machine can open sockets to the proxy, so
//! no connection may hold a file descriptor, a task or memory for long
//! without sending requests or reading answers:
//!
//! - Nothing in flight (no request being handled, no answer being sent):
//!   closed after `first_request_timeout` on a new connection (silence, one
//!   byte, half a request head, a bare HTTP/2 preface — hyper-util's version
//!   sniffing and the HTTP/2 handshake have no timeout of their own), and
//!   after `idle_timeout` between requests.
//! - An answer the client does not take (a zero HTTP/2 flow-control window, a
//!   full TCP receive buffer): closed once a ready part has waited
//!   `send_timeout`. Waiting for Bedrock is not the client's fault and does
//!   not count.
//! - At the connection cap, a new connection is closed at once: the open ones
//!   keep their descriptors, and the cap stays under `RLIMIT_NOFILE` so the
//!   ledger and the upstream connections always find one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

/// Descriptors kept free for the ledger's files, logs, the runtime and the
/// listener; upstream connections get a share of the rest.
pub const RESERVED_DESCRIPTORS: u64 = 64;

/// When connections are closed and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_total: usize,
    pub max_per_peer: usize,
    /// A new connection must have a complete request head in by then.
    pub first_request_timeout: Duration,
    /// Keep-alive: a connection with nothing in flight is closed after this.
    pub idle_timeout: Duration,
    /// Longest a ready part of an answer may wait for the client to take it.
    pub send_timeout: Duration,
}

impl ConnectionLimits {
    /// `configured` lowered so that connections can never take the
    /// descriptors the rest of the process needs (`nofile` is the soft
    /// `RLIMIT_NOFILE`; `upstream` the requests that may be in flight, each
    /// with its own upstream connection).
    pub fn within_descriptors(mut self, nofile: u64, upstream: usize) -> Self {
        // What is left after the fixed reserve is shared with upstream connections.
        let shared = nofile.saturating_sub(RESERVED_DESCRIPTORS);
        let upstream = (upstream as u64).min(shared / 2);
        let room = usize::try_from(shared - upstream).unwrap_or(usize::MAX);
        // A process with almost no descriptors still serves a few clients.
        let cap = room.max(8);
        if cap < self.max_total {
            tracing::warn!(
                nofile,
                connections = cap,
                "few file descriptors; client connections capped lower"
            );
            self.max_total = cap;
        }
        self.max_per_peer = self.max_per_peer.min(self.max_total);
        self
    }

    /// How often a connection's watchdog looks at it.
    pub fn tick(&self) -> Duration {
        let shortest = self
            .first_request_timeout
            .min(self.idle_timeout)
            .min(self.send_timeout);
        (shortest / 4).clamp(Duration::from_millis(20), Duration::from_secs(1))
    }
}

/// Counts open connections per peer address and in total.
#[derive(Debug)]
pub struct Gate {
    limits: ConnectionLimits,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// An admitted connection's place under the caps, given back on drop.
pub struct Admitted {
    gate: Arc<Gate>,
    peer: IpAddr,
}

impl Gate {
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            open: Mutex::new(Open::default()),
        })
    }

    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    /// A place for a connection from `peer`, or `None` at either cap.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Admitted> {
        let mut open = self.lock();
        let from_peer = open.per_peer.get(&peer).copied().unwrap_or(0);
        if open.total >= self.limits.max_total || from_peer >= self.limits.max_per_peer {
            return None;
        }
        open.total += 1;
        open.per_peer.insert(peer, from_peer + 1);
        Some(Admitted {
            gate: self.clone(),
            peer,
        })
    }

    /// Client connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // Every update is a pair of counter changes; a poisoned lock still holds valid counts.
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.gate.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.per_peer.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.per_peer.remove(&self.peer);
            }
        }
    }
}

/// What one connection is doing, as its watchdog sees it.
pub struct Activity {
    epoch: Instant,
    state: Mutex<ActivityState>,
}

struct ActivityState {
    /// Requests being handled plus answers being sent.
    in_flight: usize,
    /// When `in_flight` last fell to zero (or the connection opened).
    idle_since: Instant,
    served_any: bool,
    /// One clock per answer being sent: ms since `epoch` (plus one) when a
    /// ready part began waiting for the client; 0 while it is not.
    answers: Vec<Weak<AtomicU64>>,
}

/// What the watchdog should do with a connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// Nothing in flight for too long: close it politely.
    Idle,
    /// The client has not taken an answer for too long: drop it.
    NotReading,
}

impl Activity {
    pub fn new() -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            epoch: now,
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: now,
                served_any: false,
                answers: Vec::new(),
            }),
        })
    }

    /// Marks a request as in flight until the returned guard is dropped
    /// (carried by its answer's body until that is sent or abandoned).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        let mut state = self.lock();
        state.in_flight += 1;
        state.served_any = true;
        InFlight {
            activity: self.clone(),
        }
    }

    /// `body` with its sending watched: a part the client does not take in
    /// time gets the connection closed.
    pub fn watch(self: &Arc<Self>, body: Body, in_flight: InFlight) -> Body {
        let clock = Arc::new(AtomicU64::new(self.now_mark()));
        self.lock().answers.push(Arc::downgrade(&clock));
        Body::new(Watched {
            body,
            clock,
            epoch: self.epoch,
            _in_flight: in_flight,
        })
    }

    pub fn verdict(&self, limits: &ConnectionLimits, now: Instant) -> Verdict {
        let mut state = self.lock();
        state.answers.retain(|a| a.strong_count() > 0);
        let now_ms = millis_since(self.epoch, now);
        let send_ms = u64::try_from(limits.send_timeout.as_millis()).unwrap_or(u64::MAX);
        let stuck = state.answers.iter().filter_map(Weak::upgrade).any(|clock| {
            let mark = clock.load(Ordering::Relaxed);
            mark != 0 && now_ms.saturating_sub(mark - 1) >= send_ms
        });
        if stuck {
            return Verdict::NotReading;
        }
        let allowed = if state.served_any {
            limits.idle_timeout
        } else {
            limits.first_request_timeout
        };
        if state.in_flight == 0 && now.duration_since(state.idle_since) >= allowed {
            Verdict::Idle
        } else {
            Verdict::Keep
        }
    }

    fn now_mark(&self) -> u64 {
        millis_since(self.epoch, Instant::now()).saturating_add(1)
    }

    fn lock(&self) -> MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn millis_since(epoch: Instant, now: Instant) -> u64 {
    u64::try_from(now.duration_since(epoch).as_millis()).unwrap_or(u64::MAX)
}

/// One request in flight on a connection.
pub struct InFlight {
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.activity.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
        }
    }
}

/// An answer's body whose clock runs while a part it produced (or its
/// head) waits for hyper to ask for more, which hyper does only once the
/// client has taken what was sent.
struct Watched {
    body: Body,
    clock: Arc<AtomicU64>,
    epoch: Instant,
    _in_flight: InFlight,
}

impl HttpBody for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.clock.store(0, Ordering::Relaxed);
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            let mark = millis_since(self.epoch, Instant::now()).saturating_add(1);
            self.clock.store(mark, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_total: 3,
            max_per_peer: 2,
            first_request_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn caps_count_per_peer_and_in_total_and_give_back_on_drop() {
        let gate = Gate::new(limits());
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = gate.admit(a).unwrap();
        let _second = gate.admit(a).unwrap();
        assert!(gate.admit(a).is_none(), "per-peer cap");
        let _third = gate.admit(b).unwrap();
        assert!(gate.admit(b).is_none(), "total cap");
        drop(first);
        let _fourth = gate.admit(b).unwrap();
        assert_eq!(gate.open(), 3);
    }

    #[test]
    fn the_cap_leaves_descriptors_for_the_rest_of_the_process() {
        let capped = limits().within_descriptors(1024, 256);
        assert_eq!(capped.max_total, 3, "already low enough");
        let wide = ConnectionLimits {
            max_total: 4096,
            max_per_peer: 4096,
            ..limits()
        };
        let capped = wide.within_descriptors(1024, 256);
        assert_eq!(capped.max_total, 1024 - 64 - 256);
        assert_eq!(capped.max_per_peer, capped.max_total);
        assert_eq!(wide.within_descriptors(256, 256).max_total, 96);
        assert_eq!(wide.within_descriptors(40, 256).max_total, 8);
    }

    #[test]
    fn silence_is_judged_by_the_first_request_timeout_then_the_idle_timeout() {
        let l = limits();
        let activity = Activity::new();
        let start = Instant::now();
        assert_eq!(activity.verdict(&l, start), Verdict::Keep);
        assert_eq!(
            activity.verdict(&l, start + Duration::from_millis(1100)),
            Verdict::Idle
        );
        let request = activity.begin();
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(activity.verdict(&l, later), Verdict::Keep, "in flight");
        drop(request);
        let now = Instant::now();
        assert_eq!(
            activity.verdict(&l, now + Duration::from_secs(2)),
            Verdict::Keep
        );
        assert_eq!(
            activity.verdict(&l, now + Duration::from_secs(6)),
            Verdict::Idle
        );
    }

    #[test]
    fn an_answer_nobody_reads_is_caught_and_a_pending_one_is_not() {
        let l = limits();
        let activity = Activity::new();
        let unread = activity.watch(Body::from("401"), activity.begin());
        let now = Instant::now();
        assert_eq!(activity.verdict(&l, now), Verdict::Keep);
        assert_eq!(
            activity.verdict(&l, now + Duration::from_millis(2100)),
            Verdict::NotReading
        );
        drop(unread);
        // Waiting on our side (the body is pending) is not the client's fault.
        let (_tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stream = tokio_stream_body(rx);
        let mut waiting = activity.watch(stream, activity.begin());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(Pin::new(&mut waiting).poll_frame(&mut cx).is_pending());
        assert_eq!(
            activity.verdict(&l, Instant::now() + Duration::from_secs(30)),
            Verdict::Keep
        );
    }

    fn tokio_stream_body(
        mut rx: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> Body {
        Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }
}
