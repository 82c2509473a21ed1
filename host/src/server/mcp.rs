//! `/mcp`: a connection's custom actions as Model Context Protocol tools, over MCP's
//! Streamable HTTP transport (the official `rmcp` SDK).
//!
//! Every MCP request carries an API key, as the REST API does, and names one connection: in
//! the path (`/mcp/connections/{id}`) or in the `Keyway-Connection` header (`/mcp`). The key
//! may use exactly the connections the REST API lets it use; [`authenticate`] checks both
//! before rmcp sees the request, so a refused caller gets the REST API's 401 or 404.
//!
//! The server is stateless (no `Mcp-Session-Id`): any replica answers any request, with
//! nothing to share between them. Tool calls go through the same service calls as
//! `POST /connections/{id}/actions/{name}` and `POST /connections/{id}/request`, so the
//! schemas, caps, deadline, retries and scrubbing are the REST API's, and a failure is a tool
//! error carrying the REST API's `{error: {code, message, field?}}`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::Caller;
use crate::keys::Principal;
use crate::service::model::{ActionView, WebRequest};
use crate::service::{Service, ServiceError};

/// The header that names the connection on `/mcp`.
pub const CONNECTION_HEADER: &str = "keyway-connection";

/// The generic tool that sends one Web API request through the connection. Action names are
/// lowercase letters, digits and dashes, so no action can take this name.
pub const WEB_REQUEST_TOOL: &str = "web_request";

/// The key wrapping an action's input when its schema does not describe an object (MCP
/// requires an object schema for tool arguments).
const WRAPPED_INPUT: &str = "input";

/// Who calls and through which connection; [`authenticate`] puts it in the request's
/// extensions, where rmcp hands it on to the tool handlers.
#[derive(Debug, Clone)]
struct McpCaller {
    who: Principal,
    connection_id: String,
    /// The connection's integration, as [`authenticate`] found it.
    integration_id: String,
}

/// The `/mcp` routes. rmcp refuses a `Host` it was not told of (its guard against DNS
/// rebinding): the public URL's host is allowed, besides the loopback names.
pub fn routes(state: AppState) -> Router<AppState> {
    let service = state.service.clone();
    let public_host = url::Url::parse(service.flows().redirect_uri())
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string()));
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(public_host);
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_allowed_hosts(hosts);
    let mcp = StreamableHttpService::new(
        move || Ok(Tools { service: service.clone() }),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", mcp.clone())
        .route_service("/mcp/connections/{id}", mcp)
        .route_layer(axum::middleware::from_fn_with_state(state, authenticate))
}

/// Checks the API key and the connection before any MCP message is read.
async fn authenticate(
    State(state): State<AppState>,
    Caller(who): Caller,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let from_path = request.uri().path().strip_prefix("/mcp/connections/").map(str::to_string);
    let from_header = request.headers().get(CONNECTION_HEADER).and_then(|v| v.to_str().ok()).map(str::trim);
    let connection_id = match (from_path, from_header) {
        (Some(path), Some(header)) if path != header => {
            return Err(ServiceError::BadRequest(format!(
                "the path names connection `{path}` but `Keyway-Connection` says `{header}`; name it once"
            ))
            .into());
        }
        (Some(path), _) => path,
        (None, Some(header)) if !header.is_empty() => header.to_string(),
        (None, _) => {
            return Err(ServiceError::BadRequest(
                "name the connection whose actions to serve: use `/mcp/connections/{id}`, or send `Keyway-Connection: <id>` to `/mcp`"
                    .into(),
            )
            .into());
        }
    };
    // The REST API's rule: a 404 for a connection the key may not use, as for one that does
    // not exist.
    let connection = state.service.get_connection(&who, &connection_id).await?;
    request.extensions_mut().insert(McpCaller { who, connection_id, integration_id: connection.integration_id });
    Ok(next.run(request).await)
}

/// The MCP server for one request: the tools of the caller's connection.
#[derive(Clone)]
struct Tools {
    service: Arc<Service>,
}

/// A tool, and what calling it runs.
struct ConnectionTool {
    tool: Tool,
    runs: Runs,
}

enum Runs {
    /// The Web API request endpoint.
    WebRequest,
    /// The action of the tool's name; `wrapped` when its input sits under `input`.
    Action { wrapped: bool },
}

impl Tools {
    /// The connection's tools: its actions, then the Web API request unless the integration
    /// switched it off.
    async fn tools(&self, caller: &McpCaller) -> Result<Vec<ConnectionTool>, ServiceError> {
        let integration = self.service.get_integration(&caller.who, &caller.integration_id).await?;
        let mut tools: Vec<ConnectionTool> =
            self.service.list_actions(&caller.who, &caller.integration_id).await?.iter().map(action_tool).collect();
        if integration.mcp_web_request {
            tools.push(ConnectionTool { tool: web_request_tool(&integration.name), runs: Runs::WebRequest });
        }
        Ok(tools)
    }

    async fn call(&self, caller: &McpCaller, request: CallToolRequestParams) -> Result<CallToolResult, McpError> {
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let tools = self.tools(caller).await.map_err(internal)?;
        let Some(found) = tools.iter().find(|t| t.tool.name == request.name) else {
            let names: Vec<&str> = tools.iter().map(|t| t.tool.name.as_ref()).collect();
            return Err(McpError::invalid_params(
                format!("no tool `{}` on this connection; its tools are: {}", request.name, names.join(", ")),
                None,
            ));
        };
        let wrapped = match found.runs {
            Runs::Action { wrapped } => wrapped,
            Runs::WebRequest => {
                let web: WebRequest = match serde_json::from_value(arguments) {
                    Ok(web) => web,
                    Err(e) => {
                        let error = ServiceError::BadRequest(format!("the arguments are not a Web API request: {e}"));
                        return Ok(tool_error(error));
                    }
                };
                return Ok(match self.service.web_request(&caller.who, &caller.connection_id, web).await {
                    Ok(response) => CallToolResult::structured(json!(response)),
                    Err(e) => tool_error(e),
                });
            }
        };
        let input = if wrapped { arguments.get(WRAPPED_INPUT).cloned().unwrap_or(Value::Null) } else { arguments };
        let name = &found.tool.name;
        Ok(match self.service.run_action(&caller.who, &caller.connection_id, name, input).await {
            Ok(outcome) => CallToolResult::structured(json!(outcome)),
            Err(e) => tool_error(e),
        })
    }
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("keyway", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Each tool is a custom action of this connection's app, or `web_request`, one request to its API. \
                 Keyway attaches the connection's credentials; never send any.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = caller_of(&context)?;
        let tools = self.tools(&caller).await.map_err(internal)?;
        Ok(ListToolsResult::with_all_items(tools.into_iter().map(|t| t.tool).collect()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = caller_of(&context)?;
        Ok(self.call(&caller, request).await?.into())
    }
}

/// The caller [`authenticate`] stored, from the HTTP request rmcp passes on.
fn caller_of(context: &RequestContext<RoleServer>) -> Result<McpCaller, McpError> {
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<McpCaller>())
        .cloned()
        .ok_or_else(|| McpError::internal_error("the MCP request reached its handler unauthenticated", None))
}

/// A failure listing the tools: the REST API's message, as a JSON-RPC error.
fn internal(error: ServiceError) -> McpError {
    let detail = ApiError(error).detail();
    McpError::internal_error(detail.message.clone(), Some(json!({ "error": detail })))
}

/// A failed call, as the model sees it: the REST API's error body, and its message as text.
fn tool_error(error: ServiceError) -> CallToolResult {
    let api = ApiError(error);
    if api.status_code().is_server_error() {
        tracing::warn!(status = api.status_code().as_u16(), "MCP tool call failed: {}", api.0);
    }
    CallToolResult::structured_error(json!({ "error": api.detail() }))
}

/// An action as a tool: its name, description and input schema as given; a schema that is
/// not an object's is wrapped in one, under `input`.
fn action_tool(action: &ActionView) -> ConnectionTool {
    let describes_object = action.input_schema.get("type").and_then(Value::as_str) == Some("object");
    let input_schema = if describes_object {
        action.input_schema.clone()
    } else {
        json!({
            "type": "object",
            "properties": { WRAPPED_INPUT: action.input_schema },
            "required": [WRAPPED_INPUT],
            "additionalProperties": false,
        })
    };
    let tool = Tool::new(action.name.clone(), action.description.clone(), object(input_schema));
    let mut output = json!({
        "type": "object",
        "properties": {
            "calls": {"type": "array", "description": "Each API request the run sent: method, path, status, duration."},
        },
        "required": ["output", "calls"],
    });
    output["properties"]["output"] = action.output_schema.clone().unwrap_or(json!({}));
    ConnectionTool {
        tool: tool.with_raw_output_schema(Arc::new(object(output))),
        runs: Runs::Action { wrapped: !describes_object },
    }
}

/// The generic Web API request, with the REST endpoint's body as its input.
fn web_request_tool(integration: &str) -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "method": {"type": "string", "pattern": r"^\s*[A-Za-z]+\s*$", "description": "GET, POST, ..."},
            "path": {
                "type": "string",
                "description": "Relative to the app's API base, starting with `/`, or an absolute URL on a host the integration allows."
            },
            "query": {"type": "object", "additionalProperties": {"type": "string"}},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "`Authorization` is dropped: Keyway attaches the connection's credentials."
            },
            "body": {"description": "Any JSON, sent as JSON; a string is sent as text."},
        },
        "required": ["method", "path"],
        "additionalProperties": false,
    });
    Tool::new(
        WEB_REQUEST_TOOL,
        format!(
            "Sends one request to the {integration} API through this connection and returns its status, headers and body."
        ),
        object(schema),
    )
}

fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}
