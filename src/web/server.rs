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

use super::feed;
use super::feed_cache::FeedCache;
use super::listen::{ServeLimits, serve_with_limits};
pub use super::state::WebState;
use super::{actions, links, pages};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Db;

/// Serve the feed and action links on `listener` until `shutdown` completes, then
/// finish the requests in flight and return. Needs a `[web]` section in `config`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Db,
    config: Arc<Config>,
    clock: Clock,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let Some(web) = &config.web else {
        anyhow::bail!("the web server needs a [web] section in the config");
    };
    let limits = ServeLimits::from_config(web);
    let key = links::load_key(&store)
        .await
        .context("cannot read the link-signing key")?;
    let key = links::LiveKey::new(store.path(), key);
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
    let served = serve_with_limits(listener, router(state), limits, shutdown)
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

/// Start the server as a task on the caller's runtime (the daemon's), reading through
/// `store`'s read pool and acting through its writer, until `shutdown` is cancelled.
/// The listener is bound here, so a taken port is an error at start, not a log line
/// later. Call it from inside the runtime.
pub fn spawn_background(
    config: &Arc<Config>,
    store: Db,
    clock: Clock,
    shutdown: tokio_util::sync::CancellationToken,
) -> Result<tokio::task::JoinHandle<()>> {
    let Some(web) = &config.web else {
        anyhow::bail!("the web server needs a [web] section in the config");
    };
    let listener = std::net::TcpListener::bind(&web.listen)
        .with_context(|| format!("web: cannot listen on {}", web.listen))?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)
        .context("web: cannot use the listening socket")?;
    let config = Arc::clone(config);
    Ok(tokio::spawn(async move {
        let served = serve(listener, store, config, clock, async move {
            shutdown.cancelled().await
        })
        .await;
        if let Err(err) = served {
            tracing::error!("web: the server stopped: {err:#}");
        }
    }))
}
