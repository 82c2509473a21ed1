//! `/mcp`: a connection's actions as MCP tools, driven by rmcp's own client over the
//! Streamable HTTP transport, against `keyway serve` on both backends.

use keyway::actions::ActionLimits;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

use crate::actions::{connected, run, save};
use crate::api::{Api, Backend, Client, Options, Process, ProcessConfig, assert_no_secrets, both_backends, secrets};
use keyway_mock_provider::{MockConfig, MockProvider};

both_backends!(
    an_mcp_client_lists_and_calls_a_connections_actions_on_keyway_serve,
    a_key_reaches_over_mcp_only_the_connections_the_rest_api_lets_it_use,
    a_limit_or_upstream_failure_is_a_tool_error_with_the_rest_apis_message,
    an_admin_can_switch_off_the_web_request_tool,
);

/// An MCP client session as `key`, on `url` (`…/mcp/connections/{id}`, or `…/mcp`).
pub async fn mcp_client(
    url: &str,
    key: &str,
    headers: &[(&'static str, &str)],
) -> Result<RunningService<RoleClient, ClientConfig>, String> {
    let custom = headers
        .iter()
        .map(|(name, value)| (HeaderName::from_static(name), HeaderValue::from_str(value).expect("a header value")))
        .collect();
    let config = StreamableHttpClientTransportConfig::with_uri(url.to_string()).auth_header(key).custom_headers(custom);
    let transport = StreamableHttpClientTransport::from_config(config);
    let info = ClientConfig::new(ClientCapabilities::default(), Implementation::new("keyway-tests", "0"));
    info.serve(transport).await.map_err(|e| format!("{e:?}"))
}

/// `tools/call` with `arguments`.
pub async fn call(client: &RunningService<RoleClient, ClientConfig>, name: &str, arguments: Value) -> CallToolResult {
    let arguments = arguments.as_object().cloned().expect("arguments are an object");
    let params = CallToolRequestParams::new(name.to_string()).with_arguments(arguments);
    client.call_tool(params).await.unwrap_or_else(|e| panic!("tools/call {name}: {e:?}"))
}

fn tool<'a>(tools: &'a [Tool], name: &str) -> &'a Tool {
    tools.iter().find(|t| t.name == name).unwrap_or_else(|| {
        panic!("no tool `{name}` in {:?}", tools.iter().map(|t| t.name.to_string()).collect::<Vec<_>>())
    })
}

/// A declarative action reading one echo path, with an object input schema.
fn echo_action() -> Value {
    json!({
        "name": "echo-item",
        "description": "Reads one item by id",
        "input_schema": {
            "type": "object",
            "properties": {"id": {"type": "string", "minLength": 1}},
            "required": ["id"],
            "additionalProperties": false
        },
        "steps": [{"name": "read", "method": "GET", "path": "/api/items/{{ input.id }}"}],
        "output": {"path": "{{ steps.read.body.path }}"}
    })
}

/// An action whose input is a bare string: MCP wraps it under `input`.
fn string_action() -> Value {
    json!({
        "name": "echo-word",
        "description": "Reads the path named by a word",
        "input_schema": {"type": "string", "pattern": "^[a-z]+$"},
        "steps": [{"name": "read", "method": "GET", "path": "/api/words/{{ input }}"}],
        "output": {"path": "{{ steps.read.body.path }}"}
    })
}

async fn an_mcp_client_lists_and_calls_a_connections_actions_on_keyway_serve(backend: Backend) {
    let Some(db) = backend.database().await else { return };
    let mock = MockProvider::start(MockConfig::default()).await.expect("mock provider");
    let config = ProcessConfig::for_database(&db, backend);
    let process = Process::start(&config, db.dir.path().join("keyway.log")).await;
    let client = Client::new(&process.url, &config.admin_key);
    let integration =
        client.create_integration(&mock, json!({"name": "acme"})).await["id"].as_str().unwrap().to_string();
    let connection = client.connect(&config.admin_key, &integration).await;
    for action in [echo_action(), string_action()] {
        client
            .admin(Method::POST, &format!("/api/v1/integrations/{integration}/actions"), Some(action))
            .await
            .expect(201);
    }

    let mcp = mcp_client(&format!("{}/mcp/connections/{connection}", process.url), &config.admin_key, &[])
        .await
        .expect("the MCP client initializes");
    let server = mcp.peer_info().expect("the server's initialize answer");
    assert_eq!(server.server_info.as_ref().map(|i| i.name.as_str()), Some("keyway"), "{server:?}");
    assert!(server.capabilities.tools.is_some(), "{server:?}");
    let tools = mcp.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["echo-item", "echo-word", "web_request"], "declarative actions, then the Web API request");
    let item = tool(&tools, "echo-item");
    assert_eq!(item.description.as_deref(), Some("Reads one item by id"));
    assert_eq!(Value::Object((*item.input_schema).clone()), echo_action()["input_schema"], "the schema as defined");
    let word = tool(&tools, "echo-word");
    assert_eq!(
        Value::Object((*word.input_schema).clone()),
        json!({
            "type": "object",
            "properties": {"input": {"type": "string", "pattern": "^[a-z]+$"}},
            "required": ["input"],
            "additionalProperties": false,
        }),
        "a schema that is not an object's is wrapped in one"
    );

    let result = call(&mcp, "echo-item", json!({"id": "42"})).await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let outcome = result.structured_content.clone().expect("structured content");
    assert_eq!(outcome["output"], json!({"path": "/api/items/42"}), "{outcome}");
    assert_eq!(outcome["calls"][0]["status"], 200, "the calls go in the result: {outcome}");
    let rest = client
        .admin(
            Method::POST,
            &format!("/api/v1/connections/{connection}/actions/echo-item"),
            Some(json!({"input": {"id": "42"}})),
        )
        .await
        .expect(200);
    assert_eq!(rest["output"], outcome["output"], "the same run as the REST API's");

    let wrapped = call(&mcp, "echo-word", json!({"input": "hello"})).await;
    assert_eq!(wrapped.structured_content.expect("output")["output"], json!({"path": "/api/words/hello"}));

    let web = call(&mcp, "web_request", json!({"method": "GET", "path": "/api/me"})).await;
    let answer = web.structured_content.clone().expect("structured content");
    assert_eq!(answer["status"], 200, "{answer}");
    let sent = mock.requests_to("/api/me").pop().expect("the request reached the app");
    assert!(
        sent.header("authorization").is_some_and(|a| a.starts_with("Bearer mock-at-")),
        "Keyway attached the token"
    );

    // The input schema holds: a breaking input is a tool error naming the field, as over REST.
    let refused = call(&mcp, "echo-item", json!({"id": ""})).await;
    assert_eq!(refused.is_error, Some(true), "{refused:?}");
    let error = &refused.structured_content.as_ref().expect("the REST API's error body")["error"];
    let over_rest = client
        .admin(
            Method::POST,
            &format!("/api/v1/connections/{connection}/actions/echo-item"),
            Some(json!({"input": {"id": ""}})),
        )
        .await;
    assert_eq!(over_rest.status, 400);
    assert_eq!(error, &over_rest.json()["error"], "the REST API's error, field and message");
    assert_eq!(error["field"], "input/id", "{error}");

    let unknown = mcp
        .call_tool(CallToolRequestParams::new("no-such-action"))
        .await
        .expect_err("an unknown tool is a protocol error");
    assert!(format!("{unknown:?}").contains("echo-item, echo-word, web_request"), "it names the tools: {unknown:?}");

    let messages = [format!("{tools:?}"), format!("{result:?}"), format!("{web:?}"), format!("{refused:?}")];
    let leaks = secrets(&mock, &[&config.admin_key]);
    assert_no_secrets(messages.iter().map(|m| ("an MCP message", m.as_str())), &leaks);
    mcp.cancel().await.expect("the client closes");
}

async fn a_key_reaches_over_mcp_only_the_connections_the_rest_api_lets_it_use(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let integration = api.integration(json!({})).await;
    save(&api, &integration, echo_action()).await.expect(201);
    let (_, alice) = api.member_key("alice").await;
    let (_, bob) = api.member_key("bob").await;
    let alices = api.connect(&alice, &integration).await;
    let bobs = api.connect(&bob, &integration).await;

    let url = |id: &str| format!("{}/mcp/connections/{id}", api.base);
    let own = mcp_client(&url(&alices), &alice, &[]).await.expect("alice reaches her connection");
    assert_eq!(call(&own, "echo-item", json!({"id": "1"})).await.is_error, Some(false));
    let by_header = mcp_client(&format!("{}/mcp", api.base), &alice, &[("keyway-connection", &alices)])
        .await
        .expect("the header names the connection as well as the path");
    assert_eq!(by_header.list_all_tools().await.expect("tools/list").len(), 2);

    for (how, attempt) in [
        ("by path", mcp_client(&url(&bobs), &alice, &[]).await),
        ("by header", mcp_client(&format!("{}/mcp", api.base), &alice, &[("keyway-connection", &bobs)]).await),
    ] {
        let error = attempt.err().unwrap_or_else(|| panic!("alice reached bob's connection {how}"));
        assert!(error.contains("404"), "refused {how} as the REST API refuses it: {error}");
    }
    assert!(mcp_client(&url(&alices), "kw_not-a-key", &[]).await.is_err(), "an unknown key is refused");

    // The raw transport: 401 without a key, 404 for bob's connection, 400 naming the fix when
    // no connection is named, and no session id (any replica answers any request).
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
    });
    let post = |url: String, key: Option<String>| {
        let body = initialize.clone();
        async move {
            let mut request = reqwest::Client::new()
                .post(url)
                .header("accept", "application/json, text/event-stream")
                .header("content-type", "application/json")
                .body(body.to_string());
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            request.send().await.expect("the server answers")
        }
    };
    let anonymous = post(url(&alices), None).await;
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(post(url(&bobs), Some(alice.clone())).await.status(), 404);
    let unnamed = post(format!("{}/mcp", api.base), Some(alice.clone())).await;
    assert_eq!(unnamed.status(), 400);
    let text = unnamed.text().await.unwrap();
    assert!(text.contains("/mcp/connections/{id}") && text.contains("Keyway-Connection"), "{text}");
    let initialized = post(url(&alices), Some(alice.clone())).await;
    assert_eq!(initialized.status(), 200);
    assert!(initialized.headers().get("mcp-session-id").is_none(), "stateless: no session to pin to a replica");
    // The README's curl: a lone `tools/list`, no session and no initialize before it.
    let listed = reqwest::Client::new()
        .post(url(&alices))
        .bearer_auth(&alice)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .header("mcp-protocol-version", "2025-06-18")
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string())
        .send()
        .await
        .expect("the server answers");
    assert_eq!(listed.status(), 200);
    let listed: Value = serde_json::from_str(&listed.text().await.unwrap()).expect("a JSON answer");
    let names: Vec<&str> =
        listed["result"]["tools"].as_array().expect("tools").iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo-item", "web_request"], "{listed}");
}

async fn a_limit_or_upstream_failure_is_a_tool_error_with_the_rest_apis_message(backend: Backend) {
    let actions = ActionLimits { max_calls: 2, ..ActionLimits::default() };
    let Some(api) = Api::with(backend, Options { actions, ..Options::default() }).await else { return };
    let (integration, connection) = connected(&api).await;
    let three = json!({
        "name": "three-reads",
        "steps": [
            {"name": "a", "method": "GET", "path": "/api/a"},
            {"name": "b", "method": "GET", "path": "/api/b"},
            {"name": "c", "method": "GET", "path": "/api/c"}
        ]
    });
    let post =
        json!({"name": "post-it", "steps": [{"name": "send", "method": "POST", "path": "/api/thing", "body": {}}]});
    save(&api, &integration, three).await.expect(201);
    save(&api, &integration, post).await.expect(201);
    let mcp = mcp_client(&format!("{}/mcp/connections/{connection}", api.base), &api.admin_key, &[])
        .await
        .expect("the MCP client initializes");
    let leaks = secrets(&api.mock, &[&api.admin_key]);

    // The call cap (422 over REST), then a POST the app answered 503, which is not retried (502).
    for (name, status) in [("three-reads", 422), ("post-it", 502)] {
        if name == "post-it" {
            api.mock.fail_next_api_requests(503, Some("0"), 1);
        }
        let (code, _, message) = run(&api, &connection, name, json!({})).await.error(status);
        if name == "post-it" {
            api.mock.fail_next_api_requests(503, Some("0"), 1);
        }
        let result = call(&mcp, name, json!({})).await;
        assert_eq!(result.is_error, Some(true), "{name}: {result:?}");
        let error = &result.structured_content.as_ref().expect("the REST API's error body")["error"];
        assert_eq!(error["code"], code.as_str(), "{name}");
        assert_eq!(error["message"], message.as_str(), "{name}: the REST API's message");
        assert_no_secrets([("a tool error", format!("{result:?}").as_str())], &leaks);
    }
    // The host kept serving: the next call goes through.
    let web = call(&mcp, "web_request", json!({"method": "GET", "path": "/api/me"})).await;
    assert_eq!(web.structured_content.expect("an answer")["status"], 200);
}

async fn an_admin_can_switch_off_the_web_request_tool(backend: Backend) {
    let Some(api) = Api::start(backend).await else { return };
    let (integration, connection) = connected(&api).await;
    let url = format!("{}/mcp/connections/{connection}", api.base);
    let names = |tools: Vec<Tool>| tools.into_iter().map(|t| t.name.to_string()).collect::<Vec<_>>();

    let before = mcp_client(&url, &api.admin_key, &[]).await.expect("initialize");
    assert_eq!(names(before.list_all_tools().await.unwrap()), ["web_request"]);
    let view = api
        .admin(Method::PATCH, &format!("/api/v1/integrations/{integration}"), Some(json!({"mcp_web_request": false})))
        .await
        .expect(200);
    assert_eq!(view["mcp_web_request"], false, "{view}");

    let after = mcp_client(&url, &api.admin_key, &[]).await.expect("initialize");
    assert!(names(after.list_all_tools().await.unwrap()).is_empty(), "only the actions are left, and it has none");
    let refused = after
        .call_tool(
            CallToolRequestParams::new("web_request")
                .with_arguments(json!({"method": "GET", "path": "/api/me"}).as_object().cloned().unwrap()),
        )
        .await
        .expect_err("the switched-off tool cannot be called");
    assert!(format!("{refused:?}").contains("no tool `web_request`"), "{refused:?}");
    assert!(api.mock.requests_to("/api/me").is_empty(), "nothing was sent");
}
