//! Connection-level limits and the accept loop that enforces them.
//!
//! `axum::serve` has no timeouts and no connection cap, so a handful of slow clients could hold
//! every file descriptor. This loop drives hyper's HTTP/1 connections itself:
//!
//! * **header timeout** (hyper's timer): the request head must be complete within it, counted from
//!   the connection's start or the end of the previous response; otherwise the connection is
//!   closed without an answer (slowloris).
//! * **idle timeout**: a connection with no request in progress on which nothing was read or
//!   written for this long is closed (idle keep-alive, or a client that connects and says nothing).
//! * **body timeout**: reading a request body may take this long ([`BodyTimeout`], read by
//!   `extract.rs`); after it the answer is `408 REQUEST_TIMEOUT`.
//! * **request timeout**: the whole request, handler included ([`RequestTimeLimit`], applied by
//!   a layer in `routes.rs` inside the trace span, so the answer is logged with its request id);
//!   after it `408 REQUEST_TIMEOUT`.
//! * **connection caps**: at most `max_connections` at once (by default derived from the
//!   process's file-descriptor limit, keeping a reserve for Redis, WeChat and the log), and at most
//!   `max_connections_per_ip` from one client address. A connection over a cap is answered with a
//!   canned `503 TOO_MANY_CONNECTIONS` (best effort, without reading the request) and closed at
//!   once, so the listen backlog keeps draining and other clients get in.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// Default for [`Limits::header_timeout`].
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`Limits::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`Limits::request_timeout`]: above code2Session's own 10 s timeout, so a slow
/// WeChat is reported as `WECHAT_UNAVAILABLE` rather than as a timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`Limits::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`Limits::max_connections_per_ip`].
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 64;
/// Largest request head hyper buffers (request line and headers); beyond it, 431.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// File descriptors kept out of the default connection cap: the listener, the runtime, the log,
/// Redis connections, code2Session connections and rejected connections being closed.
const FD_RESERVE: u64 = 96;
/// The default connection cap never goes above this, however high the descriptor limit.
const MAX_DEFAULT_CONNECTIONS: u64 = 4096;
/// How long shutdown waits for open connections beyond the request timeout.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The connection limits. [`Limits::default`] gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time allowed for a complete request head.
    pub header_timeout: Duration,
    /// Time allowed for reading a request body.
    pub body_timeout: Duration,
    /// Time allowed for a whole request, from its head to the answer.
    pub request_timeout: Duration,
    /// A connection with nothing in flight and no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Cap on open connections; `None` derives it from the file-descriptor limit.
    pub max_connections: Option<usize>,
    /// Cap on open connections from one client address; 0 turns it off (behind a proxy every
    /// connection comes from the proxy).
    pub max_connections_per_ip: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: None,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
        }
    }
}

impl Limits {
    /// The connection cap in force: the configured one, or the descriptor limit minus a reserve
    /// (between 16 and 4096).
    pub fn connection_cap(&self) -> usize {
        self.max_connections.unwrap_or_else(|| {
            let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
            let cap = soft
                .saturating_sub(FD_RESERVE)
                .clamp(16, MAX_DEFAULT_CONNECTIONS);
            usize::try_from(cap).unwrap_or(1024)
        })
    }
}

/// The peer address of the connection a request came on, put in every request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// How long the request body may take to arrive, put in every request's extensions; the body
/// extractors in `extract.rs` honour it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTimeout(pub Duration);

/// How long the whole request may take, put in every request's extensions; a layer in
/// `routes.rs` enforces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTimeLimit(pub Duration);

/// Serves `app` on `listener` with `limits` until `shutdown` completes, then lets open
/// connections finish their requests (for at most the request timeout).
pub async fn serve_with_limits(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let cap = limits.connection_cap();
    let slots = Arc::new(Semaphore::new(cap));
    let per_ip = Arc::new(PerIp::default());
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEADER_BYTES.max(8192));
    tracing::info!(
        max_connections = cap,
        max_connections_per_ip = limits.max_connections_per_ip,
        header_timeout_ms = millis(limits.header_timeout),
        idle_timeout_ms = millis(limits.idle_timeout),
        body_timeout_ms = millis(limits.body_timeout),
        request_timeout_ms = millis(limits.request_timeout),
        "connection limits"
    );

    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors (EMFILE) or a connection reset before accept: wait a
                    // little instead of spinning, as axum::serve does, and go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // IPv4 clients of a dual-stack listener arrive as ::ffff:a.b.c.d; count them as IPv4.
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let Some(slot) = admit(&slots, &per_ip, &limits, peer.ip()) else {
            reject(&stream);
            continue;
        };
        // Small JSON answers: send them now rather than waiting for Nagle.
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            inner: stream,
            activity: Arc::clone(&activity),
        });
        let service = request_service(app.clone(), peer, &limits, Arc::clone(&activity));
        let connection = graceful.watch(builder.serve_connection(io, service));
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        // Header timeouts, resets and parse errors: the client's doing.
                        tracing::debug!(%error, "connection ended with an error");
                    }
                }
                () = idle(&activity, idle_timeout) => {
                    tracing::debug!("closing an idle connection");
                }
            }
            drop(slot);
        });
    }

    drop(listener);
    let deadline = limits.request_timeout + SHUTDOWN_GRACE;
    if tokio::time::timeout(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at shutdown were dropped");
    }
    Ok(())
}

/// The per-connection service: tags each request with the client address and its time limits,
/// and counts it as in flight while it runs.
fn request_service(
    app: Router,
    peer: SocketAddr,
    limits: &Limits,
    activity: Arc<Activity>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = axum::response::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<axum::response::Response, Infallible>> + Send,
> + Clone {
    let body_timeout = limits.body_timeout;
    let request_timeout = limits.request_timeout;
    hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ClientAddr(peer));
        request.extensions_mut().insert(BodyTimeout(body_timeout));
        request
            .extensions_mut()
            .insert(RequestTimeLimit(request_timeout));
        let app = app.clone();
        let activity = Arc::clone(&activity);
        async move {
            let _in_flight = InFlight::begin(&activity);
            app.oneshot(request.map(Body::new)).await
        }
    })
}

/// Takes a slot under both caps, or `None` if either is full.
fn admit(slots: &Arc<Semaphore>, per_ip: &Arc<PerIp>, limits: &Limits, ip: IpAddr) -> Option<Slot> {
    let permit = Arc::clone(slots).try_acquire_owned().ok();
    let Some(permit) = permit else {
        tracing::warn!(client = %ip, "connection refused: server at its connection cap");
        return None;
    };
    if limits.max_connections_per_ip > 0 && !per_ip.take(ip, limits.max_connections_per_ip) {
        tracing::warn!(client = %ip, "connection refused: client at its connection cap");
        return None;
    }
    Some(Slot {
        _permit: permit,
        per_ip: (limits.max_connections_per_ip > 0).then(|| (Arc::clone(per_ip), ip)),
    })
}

/// Answers a refused connection without reading from it: one non-blocking write of a canned
/// 503, then the socket is dropped. A client that already sent its request may see a reset
/// instead of the answer.
fn reject(stream: &TcpStream) {
    let _ = stream.try_write(too_many_connections().as_bytes());
}

/// The canned answer to a connection over a cap, in the documented error shape.
fn too_many_connections() -> String {
    let body = r#"{"error":{"code":"TOO_MANY_CONNECTIONS","message":"too many open connections, retry shortly"}}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         cache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Open connections per client address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

impl PerIp {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Every update is a single arithmetic step, so a poisoned map is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more connection from `ip` unless it already has `cap`.
    fn take(&self, ip: IpAddr, cap: usize) -> bool {
        let mut map = self.lock();
        let count = map.entry(ip).or_insert(0);
        // `cap` is at least 1 here, so a refused address always has an entry to keep.
        if *count >= cap {
            return false;
        }
        *count += 1;
        true
    }

    fn give_back(&self, ip: IpAddr) {
        let mut map = self.lock();
        if let Some(count) = map.get_mut(&ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&ip);
            }
        }
    }
}

/// One admitted connection's place under the caps, released when the connection ends.
struct Slot {
    _permit: OwnedSemaphorePermit,
    per_ip: Option<(Arc<PerIp>, IpAddr)>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some((per_ip, ip)) = &self.per_ip {
            per_ip.give_back(*ip);
        }
    }
}

/// What the idle timer looks at: when bytes last moved, and how many requests are in progress.
struct Activity {
    started: Instant,
    /// Milliseconds from `started` to the last read or write that moved bytes.
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_io_ms
            .store(millis(self.started.elapsed()), Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// Marks one request in progress for as long as it lives.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        // The answer is about to be written; the idle clock starts from here.
        self.0.touch();
    }
}

/// Resolves once the connection has had no request in progress and no traffic for `timeout`.
async fn idle(activity: &Activity, timeout: Duration) {
    loop {
        let quiet = activity.quiet_for();
        if activity.in_flight.load(Ordering::Relaxed) == 0 && quiet >= timeout {
            return;
        }
        let wait = timeout.saturating_sub(quiet).max(Duration::from_millis(20));
        tokio::time::sleep(wait).await;
    }
}

/// The TCP stream with every read and write that moves bytes recorded in [`Activity`].
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        result
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Whole milliseconds, saturating, for log fields and the activity clock.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_ip_counts_and_releases() {
        let table = PerIp::default();
        let ip: IpAddr = [127, 0, 0, 2].into();
        assert!(table.take(ip, 2) && table.take(ip, 2));
        assert!(!table.take(ip, 2));
        table.give_back(ip);
        assert!(table.take(ip, 2));
        table.give_back(ip);
        table.give_back(ip);
        assert!(table.lock().is_empty());
    }

    #[test]
    fn default_cap_stays_below_the_descriptor_limit() {
        let cap = Limits::default().connection_cap() as u64;
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap();
        assert!((16..=MAX_DEFAULT_CONNECTIONS).contains(&cap));
        assert!(cap <= soft.saturating_sub(FD_RESERVE).max(16));
    }

    #[test]
    fn the_canned_refusal_is_the_documented_json() {
        let text = too_many_connections();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(value["error"]["code"], "TOO_MANY_CONNECTIONS");
    }
}
