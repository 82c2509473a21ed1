//! The egress rules as a member meets them through `/request`: the header caps answer 4xx
//! and the server keeps serving, framing and hop-by-hop headers never reach the app, and a
//! `Host` header cannot pick another virtual host. The header rules are not storage rules,
//! so these run on SQLite only.

use serde_json::{Map, Value, json};

use super::{Api, Backend};

async fn connected() -> (Api, String) {
    let api = Api::start(Backend::Sqlite).await.expect("SQLite is always available");
    let integration = api.integration(json!({})).await;
    let id = api.connect(&api.admin_key, &integration).await;
    (api, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_with_40000_headers_is_refused_and_the_server_keeps_serving() {
    let (api, id) = connected().await;
    let headers: Map<String, Value> = (0..40_000).map(|i| (format!("x-h-{i}"), json!("v"))).collect();
    let reply = api.web(&api.admin_key, &id, json!({"method": "GET", "path": "/api/flood", "headers": headers})).await;
    let (code, field, message) = reply.error(400);
    assert_eq!((code.as_str(), field.as_deref()), ("invalid_field", Some("headers")));
    assert_eq!(message, "the request has 40000 headers; at most 100 may be sent");
    // Header bytes are capped too, whatever the count.
    let big = json!({"x-big": "b".repeat(40 << 10)});
    let reply = api.web(&api.admin_key, &id, json!({"method": "GET", "path": "/api/flood", "headers": big})).await;
    let (_, _, message) = reply.error(400);
    assert!(message.contains("at most 32768 bytes"), "{message}");
    assert!(api.mock.requests_to("/api/flood").is_empty(), "nothing was sent");

    // The server is still there.
    api.me(&id).await;
    assert_eq!(api.mock.requests_to("/api/me").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn framing_and_hop_by_hop_headers_from_a_caller_are_not_forwarded() {
    let (api, id) = connected().await;
    let headers = json!({
        "Transfer-Encoding": "chunked",
        "Content-Length": "999",
        "Connection": "X-Hop",
        "X-Hop": "1",
        "Keep-Alive": "timeout=5",
        "Proxy-Connection": "keep-alive",
        "TE": "trailers",
        "Trailer": "X-Checksum",
        "Upgrade": "h2c",
        "Proxy-Authorization": "Basic cHJveHk6cHc=",
        "X-Trace": "t1",
    });
    let body = json!({"method": "POST", "path": "/api/notes", "headers": headers, "body": "hello"});
    let answer = api.web(&api.admin_key, &id, body).await.expect(200);
    assert_eq!(answer["status"], 200, "{answer}");
    let sent = api.mock.requests_to("/api/notes");
    assert_eq!(sent.len(), 1);
    let names: Vec<&str> = sent[0].headers.iter().map(|(n, _)| n.as_str()).collect();
    for dropped in [
        "transfer-encoding",
        "x-hop",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
    ] {
        assert!(!names.contains(&dropped), "`{dropped}` reached the app: {:?}", sent[0].headers);
    }
    assert_eq!(sent[0].header("content-length"), Some("5"), "the client frames the body it sends");
    assert_eq!(sent[0].body_text(), "hello");
    assert_eq!(sent[0].header("x-trace"), Some("t1"), "other headers pass through");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_header_or_an_invalid_header_from_a_caller_is_a_400_and_nothing_is_sent() {
    let (api, id) = connected().await;
    for (headers, expect) in [
        (json!({"Host": "metadata.internal"}), "`Host` comes from the connection's API base"),
        (json!({"host": api.mock.local_addr().to_string()}), "`Host` comes from the connection's API base"),
        (json!({"bad name": "v"}), "`bad name` is not a valid header name"),
        (json!({"X-Split": "a\r\nX-Injected: 1"}), "has control characters"),
    ] {
        let body = json!({"method": "GET", "path": "/api/hosted", "headers": headers});
        let reply = api.web(&api.admin_key, &id, body).await;
        let (code, field, message) = reply.error(400);
        assert_eq!((code.as_str(), field.as_deref()), ("invalid_field", Some("headers")), "{message}");
        assert!(message.contains(expect), "{headers}: {message}");
    }
    assert!(api.mock.requests_to("/api/hosted").is_empty(), "nothing was sent");
}
