//! Ingest API over real HTTP: the bad-input matrix (4xx with a JSON message, nothing queued)
//! and the happy path (200 + messageId after the commit, body stored as sent).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use sesload_local::http::{AppState, router};
use sesload_local::{Db, Metrics, Queue, QueueSettings};

const KEY: &str = "test-key-0123456789";

struct Server {
    addr: std::net::SocketAddr,
    queue: Queue,
}

async fn start() -> Server {
    let dir = std::env::temp_dir().join(format!(
        "sesload-ingest-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let db = Db::open(dir.join("sesload.db")).unwrap();
    let queue = Queue::new(db, QueueSettings::default());
    let state = AppState::new(
        queue.clone(),
        KEY.into(),
        Arc::new(Metrics::default()),
        serde_json::json!({}),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router(Arc::new(state)))
            .await
            .unwrap();
    });
    Server { addr, queue }
}

/// One request on a fresh HTTP/1.1 connection (hyper), headers exactly as given: the test
/// controls content-type, content-length and the key. Returns status, the response headers as
/// lower-case `name: value` lines, and the JSON body (Null when not JSON).
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, serde_json::Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "x");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .expect("answered within 10 s")
        .unwrap();
    let status = resp.status().as_u16();
    let head: String = resp
        .headers()
        .iter()
        .map(|(k, v)| format!("{}: {}\r\n", k, v.to_str().unwrap_or("")).to_ascii_lowercase())
        .collect();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, head, json)
}

fn valid() -> serde_json::Value {
    serde_json::json!({
        "from": "sender@example.com",
        "to": "success@simulator.amazonses.com",
        "template_name": "SimpleEmail",
        "user_id": 42,
        "config_set": "load-test-config",
        "tags": [{"Name": "campaign", "Value": "ingest-test"}],
        "unique_code": "ingest-1"
    })
}

async fn queued(q: &Queue) -> i64 {
    q.db()
        .read(|c| {
            c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
                .map_err(sesload_local::DbError::sql("count"))
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_matrix_gets_4xx_with_message_and_nothing_is_queued() {
    let srv = start().await;
    let json_ct = ("content-type", "application/json");
    let key = ("x-api-key", KEY);
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = valid();
        f(&mut v);
        v.to_string().into_bytes()
    };
    let huge = {
        let mut v = valid();
        v["unique_code"] = serde_json::Value::String("x".repeat(300 * 1024));
        v.to_string().into_bytes()
    };
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Vec<(&'a str, &'a str)>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed json",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            b"{\"from\": ".to_vec(),
            400,
            "malformed JSON",
        ),
        (
            "not an object",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            b"[1,2]".to_vec(),
            400,
            "Invalid request body",
        ),
        (
            "missing field",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            with(&|v| {
                v.as_object_mut().unwrap().remove("to");
            }),
            400,
            "\"to\"",
        ),
        (
            "wrong type",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            with(&|v| {
                v["user_id"] = serde_json::json!(1.5);
            }),
            400,
            "user_id",
        ),
        (
            "wrong type tags",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            with(&|v| {
                v["tags"] = serde_json::json!("campaign");
            }),
            400,
            "tags",
        ),
        (
            "bad email",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            with(&|v| {
                v["from"] = serde_json::json!("nobody");
            }),
            400,
            "from",
        ),
        (
            "unknown field",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            with(&|v| {
                v["bcc"] = serde_json::json!("x@y.z");
            }),
            400,
            "bcc",
        ),
        (
            "empty body",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            vec![],
            400,
            "malformed JSON",
        ),
        (
            "huge body",
            "POST",
            "/send_messages/events",
            vec![key, json_ct],
            huge,
            413,
            "exceeds the limit",
        ),
        (
            "wrong content type",
            "POST",
            "/send_messages/events",
            vec![key, ("content-type", "text/plain")],
            valid().to_string().into_bytes(),
            415,
            "content-type",
        ),
        (
            "no content type",
            "POST",
            "/send_messages/events",
            vec![key],
            valid().to_string().into_bytes(),
            415,
            "content-type",
        ),
        (
            "missing key",
            "POST",
            "/send_messages/events",
            vec![json_ct],
            valid().to_string().into_bytes(),
            403,
            "x-api-key",
        ),
        (
            "wrong key",
            "POST",
            "/send_messages/events",
            vec![("x-api-key", "test-key-012345678X"), json_ct],
            valid().to_string().into_bytes(),
            403,
            "x-api-key",
        ),
        (
            "key in wrong header",
            "POST",
            "/send_messages/events",
            vec![("authorization", KEY), json_ct],
            valid().to_string().into_bytes(),
            403,
            "x-api-key",
        ),
        (
            "prefix of key",
            "POST",
            "/send_messages/events",
            vec![("x-api-key", "test-key"), json_ct],
            valid().to_string().into_bytes(),
            403,
            "x-api-key",
        ),
        (
            "unknown path",
            "POST",
            "/send_messages/nope",
            vec![key, json_ct],
            valid().to_string().into_bytes(),
            404,
            "/send_messages/nope",
        ),
        (
            "wrong method",
            "GET",
            "/send_messages/events",
            vec![key],
            vec![],
            405,
            "GET",
        ),
        (
            "wrong method put",
            "PUT",
            "/send_messages/events",
            vec![key, json_ct],
            valid().to_string().into_bytes(),
            405,
            "PUT",
        ),
        (
            "wrong method on health",
            "DELETE",
            "/healthz",
            vec![],
            vec![],
            405,
            "DELETE",
        ),
    ];
    for (name, method, path, headers, body, status, needle) in cases {
        let (got, head, json) = request(srv.addr, method, path, &headers, &body).await;
        assert_eq!(got, status, "{name}: {json}");
        assert!(
            head.contains("content-type: application/json"),
            "{name}: {head}"
        );
        let msg = json["message"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no message in {json}"));
        assert!(
            msg.contains(needle),
            "{name}: {msg:?} should mention {needle:?}"
        );
        println!("{name}: {got} {msg}");
    }
    assert_eq!(
        queued(&srv.queue).await,
        0,
        "nothing may be queued by bad input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_request_is_queued_and_answered_with_message_id() {
    let srv = start().await;
    let body = valid().to_string();
    let (status, _, json) = request(
        srv.addr,
        "POST",
        "/send_messages/events",
        &[
            ("x-api-key", KEY),
            ("content-type", "application/json; charset=utf-8"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    let id = json["messageId"].as_str().unwrap().to_string();
    let r = srv.queue.receive(10, None).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].message_id, id);
    assert_eq!(r[0].body, body);
    assert_eq!(r[0].campaign, "ingest-test");
    // string user_id also valid (the seed sends strings)
    let mut v = valid();
    v["user_id"] = serde_json::json!("42");
    v["unique_code"] = serde_json::json!("ingest-2");
    let (status, _, _) = request(
        srv.addr,
        "POST",
        "/send_messages/events",
        &[("x-api-key", KEY), ("content-type", "application/json")],
        v.to_string().as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_health_stats_metrics_dashboard_are_served() {
    let srv = start().await;
    let (s, _, j) = request(srv.addr, "GET", "/openapi.json", &[], b"").await;
    assert_eq!(s, 200);
    assert!(j["paths"]["/send_messages/events"]["post"].is_object());
    let (s, _, j) = request(srv.addr, "GET", "/healthz", &[], b"").await;
    assert_eq!((s, j["status"].as_str()), (200, Some("ok")));
    let (s, _, j) = request(srv.addr, "GET", "/_local/stats?campaign=x", &[], b"").await;
    assert_eq!(s, 200);
    assert_eq!(j["queue"]["visible"], 0);
    assert_eq!(j["campaign"]["accepted"], 0);
    let (s, head, _) = request(srv.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(s, 200);
    assert!(head.contains("text/plain"));
    let (s, head, _) = request(srv.addr, "GET", "/dashboard", &[], b"").await;
    assert_eq!(s, 200);
    assert!(head.contains("text/html"));
}

/// The OpenAPI request schema must say what the JSON Schema file says.
#[test]
fn openapi_schema_matches_json_schema_file() {
    let api: serde_json::Value = serde_json::from_str(sesload_local::http::OPENAPI).unwrap();
    let schema: serde_json::Value =
        serde_json::from_str(sesload_local::http::SEND_REQUEST_SCHEMA).unwrap();
    let o = &api["components"]["schemas"]["SendRequest"];
    assert_eq!(o["required"], schema["required"]);
    assert_eq!(o["additionalProperties"], schema["additionalProperties"]);
    for (name, prop) in schema["properties"].as_object().unwrap() {
        let op = &o["properties"][name];
        assert!(op.is_object(), "OpenAPI lacks property {name}");
        for k in ["pattern", "maxLength", "minLength", "maxItems"] {
            if name != "user_id" {
                assert_eq!(op.get(k), prop.get(k), "{name}.{k}");
            }
        }
    }
}
