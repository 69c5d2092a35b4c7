//! Accepting and serving HTTP connections from anyone who can reach the port, without
//! letting them starve the daemon: a deadline on reading a request head, an idle
//! deadline on every connection, caps on head and body size, on open connections (at
//! most half the file-descriptor limit, so mail always has descriptors) and per client.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Result;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::WebConfig;

/// The largest request head (request line and headers). hyper answers a longer one with
/// 431 and closes; no request this server understands needs a tenth of it.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The largest request body (the action buttons send none).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Descriptors kept back from the web side's half for the listener and the odd log file.
const RESERVED_DESCRIPTORS: u64 = 8;
/// How long requests in flight may take to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection may cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeLimits {
    /// From the moment the server waits for a request (a new connection, or the next
    /// request on a kept-alive one) until its whole head has arrived.
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way this long is closed; it is also
    /// the deadline for one request's body and answer.
    pub idle_timeout: Duration,
    /// Open connections at most (already capped by [`descriptor_budget`]).
    pub max_connections: usize,
    /// Open connections from one client address at most.
    pub max_connections_per_client: usize,
}

impl ServeLimits {
    /// The limits `[web]` asks for, with the connection cap fitted to this process's
    /// file-descriptor limit.
    pub fn from_config(web: &WebConfig) -> Self {
        Self {
            header_timeout: to_std(web.header_timeout),
            idle_timeout: to_std(web.idle_timeout),
            max_connections: web.max_connections.min(descriptor_budget()).max(1),
            max_connections_per_client: web.max_connections_per_client.max(1),
        }
    }
}

fn to_std(duration: crate::config::duration::HumanDuration) -> Duration {
    duration.to_chrono().to_std().unwrap_or(Duration::ZERO)
}

/// How many connections the web side may hold: half the soft `RLIMIT_NOFILE`, less a
/// few for the listener, so the mail side always has the other half.
pub fn descriptor_budget() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is handed, which lives on this stack.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let soft = if got == 0 { limit.rlim_cur } else { 1024 };
    usize::try_from((soft / 2).saturating_sub(RESERVED_DESCRIPTORS))
        .unwrap_or(usize::MAX)
        .max(1)
}

/// Serve `router` on `listener` within `limits` until `shutdown` completes, then let
/// requests in flight finish (for at most ten seconds) and return.
pub async fn serve_with_limits(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let stop = CancellationToken::new();
    let stopper = stop.clone();
    let mut shutdown = std::pin::pin!(async move {
        shutdown.await;
        stopper.cancel();
    });
    let request_deadline = limits.idle_timeout;
    let router = router
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(move |request, next| {
            bounded_request(request, next, request_deadline)
        }));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = ClientCounts::default();
    let mut connections = JoinSet::new();
    tracing::debug!(?limits, "web: connection limits");
    loop {
        // Wait for a free slot before accepting: a connection over the cap stays in the
        // kernel's backlog and costs this process no descriptor.
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit?,
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of descriptors (or a connection reset before accept): back off a
                // moment instead of spinning; the mail side's descriptors come first.
                tracing::debug!("web: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(client) = clients.enter(peer.ip(), limits.max_connections_per_client) else {
            tracing::debug!(client = %peer.ip(), "web: too many connections from one client");
            drop(stream);
            continue;
        };
        let (router, stop, limits) = (router.clone(), stop.clone(), limits.clone());
        connections.spawn(async move {
            serve_connection(stream, router, &limits, stop).await;
            drop((client, permit));
        });
    }
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::debug!(
            left = connections.len(),
            "web: closing connections still open after shutdown"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// One connection, HTTP/1.1 with keep-alive, until the client closes it, a deadline
/// passes or shutdown asks it to finish its request and close.
async fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: &ServeLimits,
    stop: CancellationToken,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true)
        .serve_connection(io, TowerToHyperService::new(router));
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    loop {
        let deadline = activity.last() + limits.idle_timeout;
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(err) = served {
                    tracing::debug!("web: connection ended: {err}");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                if activity.last() + limits.idle_timeout <= Instant::now() {
                    tracing::debug!("web: closing an idle connection");
                    return;
                }
            }
            () = stop.cancelled(), if !stopping => {
                connection.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// A request's body and its answer within `deadline`, and no body over the cap.
async fn bounded_request(request: Request, next: Next, deadline: Duration) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n").into_response();
    }
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "request took too long\n").into_response(),
    }
}

/// When a byte last moved on a connection, in milliseconds since it was accepted.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(elapsed, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A socket that notes every read or write that moved bytes.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Open connections per client address.
#[derive(Clone, Default)]
struct ClientCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One counted connection; leaving gives its place back.
struct ClientSlot {
    counts: ClientCounts,
    address: IpAddr,
}

impl ClientCounts {
    fn enter(&self, address: IpAddr, cap: usize) -> Option<ClientSlot> {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let open = counts.entry(address).or_default();
        if *open >= cap {
            return None;
        }
        *open += 1;
        Some(ClientSlot {
            counts: self.clone(),
            address,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self
            .counts
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(open) = counts.get_mut(&self.address) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_cap_and_its_places_back() {
        let counts = ClientCounts::default();
        let one: IpAddr = "127.0.0.1".parse().unwrap();
        let two: IpAddr = "127.0.0.2".parse().unwrap();
        let first = counts.enter(one, 2).unwrap();
        let second = counts.enter(one, 2).unwrap();
        assert!(counts.enter(one, 2).is_none());
        assert!(counts.enter(two, 2).is_some());
        drop(first);
        assert!(counts.enter(one, 2).is_some());
        drop(second);
        assert!(counts.0.lock().unwrap().is_empty());
    }

    #[test]
    fn the_web_side_takes_at_most_half_the_descriptors() {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in descriptor_budget.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        let budget = descriptor_budget() as u64;
        assert!(budget >= 1);
        assert!(
            budget <= limit.rlim_cur / 2,
            "{budget} of {}",
            limit.rlim_cur
        );
    }
}
