//! HTTP transport: axum on a tokio listener. One fallback handler reads the body (bounded),
//! calls [`SimState::dispatch`], sleeps the reply's latency with `tokio::time::sleep` (never
//! blocking other requests) and writes the reply with SES's headers — or, for a
//! drop-after-accept fault, cuts the connection instead (see `conn.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering as AO;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{Reply, RequestMeta, SimState, SimStats};
use crate::conn::{Conn, CuttableListener};
use crate::events::{Lake, LakeMsg};
use crate::{SimConfig, SimError};

/// A running simulator. See the crate docs.
pub struct SimHandle {
    addr: SocketAddr,
    state: Arc<SimState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts the simulator on `listener` and returns at once. The server runs on the current
/// tokio runtime; the lake writer on its own thread.
pub async fn start(
    config: SimConfig,
    listener: tokio::net::TcpListener,
) -> Result<SimHandle, SimError> {
    config.validate()?;
    let addr = listener.local_addr()?;
    let lake = Lake::spawn(config.events.clone())?;
    let state = Arc::new(SimState::new(config, lake)?);
    let app = Router::new().fallback(handle).with_state(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            CuttableListener(listener),
            app.into_make_service_with_connect_info::<Conn>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await
    });
    tracing::info!(%addr, "SES simulator listening");
    Ok(SimHandle {
        addr,
        state,
        stop: Some(tx),
        task: Some(task),
    })
}

impl SimHandle {
    /// The bound address (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: the SDK endpoint URL (`AWS_ENDPOINT_URL_SES`).
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of the counters (same as `GET /_sim/stats`).
    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    /// The accepted messages, newest last (same as `GET /_sim/messages`).
    pub fn messages(&self, limit: usize) -> Vec<crate::SentMessage> {
        self.state.messages(limit)
    }

    /// Clears messages, counters and quota windows (same as `POST /_sim/reset`).
    pub fn reset(&self) {
        self.state.reset()
    }

    /// Writes every event record that is due (with `all`, also those scheduled in the future)
    /// and rolls every open lake file, so readers see them. Returns when done.
    pub async fn flush_events(&self, all: bool) {
        flush(&self.state, all).await
    }

    /// Stops accepting connections, waits up to 5 s for in-flight requests, then writes every
    /// pending event and closes the lake.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let mut result = Ok(());
        if let Some(task) = self.task.take() {
            match tokio::time::timeout(Duration::from_secs(5), task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => result = Err(SimError::Io(e)),
                Ok(Err(e)) => result = Err(SimError::Server(e.to_string())),
                Err(_) => {
                    tracing::warn!("in-flight requests did not finish within 5 s; stopping anyway")
                }
            }
        }
        flush(&self.state, true).await;
        result
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
        let _ = self.state.lake.tx.send(LakeMsg::Flush {
            all: true,
            ack: oneshot::channel().0,
        });
    }
}

async fn flush(state: &SimState, all: bool) {
    let (ack, done) = oneshot::channel();
    if state.lake.tx.send(LakeMsg::Flush { all, ack }).is_ok() {
        let _ = done.await;
    }
}

struct InFlight<'a>(&'a SimState);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.counters.in_flight.fetch_sub(1, AO::Relaxed);
    }
}

async fn handle(
    State(state): State<Arc<SimState>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    req: Request,
) -> Response {
    state.counters.in_flight.fetch_add(1, AO::Relaxed);
    let _guard = InFlight(&state);
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    if parts.method == Method::POST && path == "/_sim/flush" {
        flush(&state, query.split('&').any(|kv| kv == "all=true")).await;
        return write(Reply::error(200, "", "").with_body("{}"));
    }
    let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => {
            let too_big = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            let msg = if too_big {
                format!(
                    "The request body exceeds the limit of {} bytes.",
                    state.config.max_body_bytes
                )
            } else {
                format!("Could not read the request body: {e}")
            };
            return write(Reply::error(400, "BadRequestException", msg));
        }
    };
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let meta = RequestMeta {
        method: parts.method.as_str(),
        path: &path,
        query: &query,
        authorization,
        peer: conn.peer.ip(),
    };
    let reply = state.dispatch(&meta, &bytes);
    // Only the reply lives across the latency sleep: with thousands of calls in flight, the
    // request's headers and body would otherwise be held for the whole simulated latency.
    drop((parts, bytes, path, query));
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.drop_connection {
        // The send was accepted and recorded; the client gets no answer.
        conn.cut();
    }
    write(reply)
}

impl Reply {
    fn with_body(mut self, body: &str) -> Self {
        self.error_type = None;
        self.body = body.to_owned();
        self
    }
}

fn write(reply: Reply) -> Response {
    let mut res = Response::new(Body::from(reply.body));
    *res.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        h.insert("x-amzn-requestid", v);
    }
    if let Some(code) = reply.error_type.filter(|c| !c.is_empty()) {
        h.insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    res
}
