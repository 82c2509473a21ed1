//! The redirect URI of a check against the author's own provider: a one-shot listener on loopback that takes
//! the browser's callback, real or played, and hands its query to the kit.
//!
//! Loopback only: the check runs on the author's machine, and the page it serves is for the author's browser.
//! Nothing here completes a flow; the kit does, with what arrived.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tokio::sync::{mpsc, oneshot};
use url::Url;

/// Why the listener could not start: what failed, and how to fix it.
#[derive(Debug)]
pub(crate) struct ListenError {
    pub error: String,
    pub hint: String,
}

/// A listener on the redirect URI's address, until dropped.
pub(crate) struct CallbackListener {
    received: tokio::sync::Mutex<mpsc::Receiver<Query>>,
    stop: Option<oneshot::Sender<()>>,
}

/// A callback's query parameters, in order.
type Query = Vec<(String, String)>;

/// What the handler needs: the path to answer on and where to send a callback's query (taken by the first).
#[derive(Clone)]
struct Inbox {
    path: Arc<str>,
    sender: Arc<Mutex<Option<mpsc::Sender<Query>>>>,
}

impl CallbackListener {
    /// Listens on `redirect_uri`'s host and port: an `http` URL on `127.0.0.1`, `[::1]` or `localhost`.
    pub(crate) async fn bind(redirect_uri: &str) -> Result<Self, ListenError> {
        let addr = loopback_addr(redirect_uri)?;
        let path = Url::parse(redirect_uri).map(|u| u.path().to_string()).unwrap_or_else(|_| "/".into());
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| ListenError {
            error: format!("cannot listen on {addr} for the redirect URI {redirect_uri}: {e}"),
            hint: format!(
                "stop what listens there (a `keyway serve` on the default port?), or pass another loopback \
                 redirect URI, e.g. `--redirect-uri http://127.0.0.1:{}/oauth`, and register it with the app",
                addr.port().wrapping_add(1).max(1024)
            ),
        })?;
        let (sender, received) = mpsc::channel(1);
        let inbox = Inbox { path: path.into(), sender: Arc::new(Mutex::new(Some(sender))) };
        let app = Router::new().fallback(receive).with_state(inbox);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serving.await {
                tracing::warn!("the check's callback listener stopped: {e}");
            }
        });
        Ok(Self { received: tokio::sync::Mutex::new(received), stop: Some(stop) })
    }

    /// The query of the first callback, or `None` when none came within `timeout`.
    pub(crate) async fn wait(&self, timeout: Duration) -> Option<Query> {
        let mut received = self.received.lock().await;
        tokio::time::timeout(timeout, received.recv()).await.ok().flatten()
    }
}

impl Drop for CallbackListener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The address to bind for `redirect_uri`, or why it cannot be one.
fn loopback_addr(redirect_uri: &str) -> Result<SocketAddr, ListenError> {
    let example = "e.g. `--redirect-uri http://127.0.0.1:8400/oauth`";
    let refuse = |why: String| ListenError {
        error: why,
        hint: format!(
            "the check listens for the callback on this machine: use an http loopback URI, {example}, and register \
             it with the app"
        ),
    };
    let url = Url::parse(redirect_uri).map_err(|e| refuse(format!("the redirect URI `{redirect_uri}`: {e}")))?;
    if url.scheme() != "http" {
        return Err(refuse(format!("the redirect URI `{redirect_uri}` is not http")));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain("localhost")) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => return Err(refuse(format!("the redirect URI `{redirect_uri}` is not on loopback"))),
    };
    if !ip.is_loopback() {
        return Err(refuse(format!("the redirect URI `{redirect_uri}` is not on loopback")));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    Ok(SocketAddr::new(ip, port))
}

/// Takes the first request on the redirect URI's path; anything else is told where the callback goes.
async fn receive(State(inbox): State<Inbox>, OriginalUri(uri): OriginalUri) -> Response {
    if uri.path() != &*inbox.path {
        let text = format!("keyway plugin check waits for the OAuth callback on {}, not here", inbox.path);
        return (StatusCode::NOT_FOUND, text).into_response();
    }
    let query: Query = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let sender = inbox.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
    let Some(sender) = sender else {
        return (StatusCode::CONFLICT, "keyway plugin check already has its callback").into_response();
    };
    let _ = sender.send(query).await;
    let page = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Keyway plugin check</title>\
                </head><body><h1>Callback received</h1><p>Back to the terminal: <code>keyway plugin check</code> \
                goes on with the code exchange there. You can close this window.</p></body></html>";
    let mut response = (StatusCode::OK, Html(page)).into_response();
    // The URL carried a code and state.
    response.headers_mut().insert("referrer-policy", header::HeaderValue::from_static("no-referrer"));
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_loopback_redirect_uris_are_listened_on() {
        assert_eq!(loopback_addr("http://127.0.0.1:8400/oauth").unwrap(), "127.0.0.1:8400".parse().unwrap());
        assert_eq!(loopback_addr("http://localhost:9000/cb").unwrap(), "127.0.0.1:9000".parse().unwrap());
        assert_eq!(loopback_addr("http://[::1]:9000/cb").unwrap(), "[::1]:9000".parse().unwrap());
        for refused in
            ["https://127.0.0.1:8400/oauth", "http://keyway.example.com/oauth", "http://10.0.0.1/oauth", "nope"]
        {
            let error = loopback_addr(refused).unwrap_err();
            assert!(error.hint.contains("--redirect-uri http://127.0.0.1:8400/oauth"), "{refused}: {error:?}");
        }
    }
}
