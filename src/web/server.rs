//! The HTTP server: routes, shared state, the headers every answer carries, and
//! [`serve`], the one entry point (tests bind 127.0.0.1:0 and pass their own shutdown).

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;

use super::feed::{self, FeedCache};
use super::{actions, links, pages};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::SharedStore;

/// What every handler shares.
#[derive(Clone)]
pub struct WebState {
    pub store: SharedStore,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// The link-signing key, read once at start.
    pub key: Arc<Vec<u8>>,
    pub feed: FeedCache,
}

/// Serve the feed and action links on `listener` until `shutdown` completes, then
/// finish the requests in flight and return. Needs a `[web]` section in `config`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: SharedStore,
    config: Arc<Config>,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    if config.web.is_none() {
        anyhow::bail!("the web server needs a [web] section in the config");
    }
    let key = store
        .run(links::signing_key)
        .await
        .context("cannot read the link-signing key")?;
    let (feed, refresher) = FeedCache::start(store.clone(), config.clone(), clock)
        .await
        .context("cannot render the calendar feed")?;
    let state = WebState {
        store,
        config,
        clock,
        key: Arc::new(key),
        feed,
    };
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "web: serving the calendar feed and action links");
    }
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the web server failed");
    refresher.abort();
    served
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/feed/{file}", get(feed::events))
        .route("/feed/{token}/todo.ics", get(feed::todos))
        .route(
            "/a/{action}/{task}/{expires}/{signature}",
            get(actions::confirm).post(actions::act),
        )
        .route(
            "/p/{page}/{value}/{expires}/{signature}",
            get(actions::page_view).post(actions::page_act),
        )
        .fallback(|| async { feed::not_found() })
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Headers for every answer: the feed URL and action links are secrets, so no Referer
/// may carry them elsewhere; pages may not be framed, sniffed or indexed.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        pages::CONTENT_SECURITY_POLICY.clone(),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

/// Start the server on its own thread, runtime and database connection, serving until
/// `shutdown` is cancelled. Its own thread because the mail loops run on a small
/// single-threaded runtime and a calendar client polling every few minutes must not
/// wait behind a backfill's transaction (WAL lets the feed read meanwhile). The
/// listener is bound here, so a taken port is an error at start, not a log line later.
pub fn spawn_background(
    config: &Config,
    clock: Clock,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<std::thread::JoinHandle<()>> {
    let Some(web) = &config.web else {
        anyhow::bail!("the web server needs a [web] section in the config");
    };
    let listener = std::net::TcpListener::bind(&web.listen)
        .with_context(|| format!("web: cannot listen on {}", web.listen))?;
    listener.set_nonblocking(true)?;
    let store = SharedStore::new(crate::store::Store::open(&config.store_path())?);
    let config = Arc::new(config.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("web: cannot start the async runtime")?;
    let thread = std::thread::Builder::new()
        .name("nudged-web".into())
        .spawn(move || {
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                serve(listener, store, config, clock, async move {
                    shutdown.cancelled().await
                })
                .await
            });
            if let Err(err) = served {
                tracing::error!("web: the server stopped: {err:#}");
            }
        })
        .context("web: cannot start the server thread")?;
    Ok(thread)
}
