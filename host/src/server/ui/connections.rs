//! Connections: the list, adding one (then on to the app's login page), and a connection's
//! page: its facts, reconnect / refresh / delete, "Try a request", "Run an action", the last
//! failed exchange as the provider saw it, and recent activity.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::UiError;
use super::fields::Fields;
use super::layout::{self, Field, Kind, Notice, Section, csrf};
use super::session::{Console, Submitted};
use crate::integration::AuthMethod;
use crate::server::AppState;
use crate::server::error::status_for;
use crate::service::ServiceError;
use crate::service::console::FailedExchangeView;
use crate::service::model::{
    ActionOutcome, ActionView, BasicCredentials, ConnectionInput, ConnectionView, CredentialsInput, EventBody,
    TokenCredentials, WebRequest, WebResponse,
};

/// How many events the activity timeline shows.
const ACTIVITY_LIMIT: u32 = 20;

pub(crate) async fn list(State(state): State<AppState>, console: Console) -> Result<Response, UiError> {
    let fail = |e| UiError::new(&console, e);
    let connections = state.service.list_connections(console.who()).await.map_err(fail)?;
    let integrations = state.service.list_integrations(console.who()).await.map_err(fail)?;
    let integration_name =
        |id: &str| integrations.iter().find(|i| i.id == id).map_or_else(|| id.to_string(), |i| i.name.clone());
    let body = html! {
        h1 { "Connections" }
        p.lead { "The accounts people have connected, that workflows use through the API. "
                 @if !console.is_admin() { "You see the ones your key may use." } }
        @if connections.is_empty() {
            div.empty {
                p { "No connections yet." }
                p { "Open an " a href="/ui/integrations" { "integration" } " and add one: you sign in at the app, and \
                     come back here." }
            }
        } @else {
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Integration" } th scope="col" { "Status" }
                        th scope="col" { "Token expires" } th scope="col" { "Last error" }
                    } }
                    tbody {
                        @for c in &connections {
                            tr {
                                td { a href={ "/ui/connections/" (c.id) } { (c.name) } }
                                td { a href={ "/ui/integrations/" (c.integration_id) } { (integration_name(&c.integration_id)) } }
                                td { (layout::status_badge(&c.status)) }
                                td { @if let Some(at) = &c.expires_at { (layout::time(at)) } @else { "—" } }
                                td { (c.last_error.as_deref().unwrap_or("—")) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&console, Section::Connections, "Connections", body))
}

/// "Add connection" on an integration's page: creates it, then sends the browser to the app's
/// login page (oauth2) or to the new connection (basic, token).
pub(crate) async fn create(
    State(state): State<AppState>,
    Path(integration_id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let integration =
        state.service.get_integration(console.who(), &integration_id).await.map_err(|e| UiError::new(&console, e))?;
    let credentials = match integration.auth_method {
        AuthMethod::Basic => Some(CredentialsInput::Basic(BasicCredentials {
            username: fields.text("username").unwrap_or_default(),
            password: fields.get("password").unwrap_or_default().to_string(),
        })),
        AuthMethod::Token => Some(CredentialsInput::Token(TokenCredentials {
            token: fields.get("token").unwrap_or_default().trim().to_string(),
        })),
        AuthMethod::Oauth2 => None,
    };
    let input = ConnectionInput {
        name: fields.text("connection_name"),
        inputs: Some(fields.prefixed("inputs.").into_iter().collect()),
        credentials,
        allowed_keys: Some(fields.all("allowed_keys")),
    };
    match state.service.create_connection(console.who(), &integration_id, input).await {
        Ok(created) => Ok(match created.authorize_url {
            Some(url) => Redirect::to(&url).into_response(),
            None => Redirect::to(&format!("/ui/connections/{}?connected=1", created.id)).into_response(),
        }),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::BadRequest(_) | ServiceError::Conflict(_))) => {
            let message = format!("The connection was not added: {e}");
            super::integrations::page_with_notice(&state, &console, &integration_id, Notice::Bad(&message)).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

#[derive(Deserialize)]
pub(crate) struct ShowQuery {
    connected: Option<String>,
    failed: Option<String>,
    refreshed: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, UiError> {
    let notice = if query.connected.is_some() {
        Some(Notice::Good("The connection is active. Workflows can use it now."))
    } else if query.refreshed.is_some() {
        Some(Notice::Good("Refreshed: the app issued a new access token."))
    } else {
        None
    };
    let extra = Extra { notice, came_back_failed: query.failed.is_some(), ..Extra::default() };
    connection_page(&state, &console, &id, extra).await
}

pub(crate) async fn refresh(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let console = form.console;
    match state.service.refresh(console.who(), &id).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/connections/{id}?refreshed=1")).into_response()),
        Err(e) if shown_on_page(&e) => {
            failed_page(&state, &console, &id, &format!("The refresh failed: {e}"), &e).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

pub(crate) async fn reconnect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let console = form.console;
    match state.service.reconnect(console.who(), &id).await {
        Ok(created) => match created.authorize_url {
            Some(url) => Ok(Redirect::to(&url).into_response()),
            None => Ok(Redirect::to(&format!("/ui/connections/{id}")).into_response()),
        },
        Err(e) if shown_on_page(&e) => {
            failed_page(&state, &console, &id, &format!("Reconnecting failed: {e}"), &e).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let force = fields.checked("force");
    match state.service.delete_connection(console.who(), &id, force).await {
        Ok(()) => Ok(Redirect::to("/ui/connections").into_response()),
        Err(e) if shown_on_page(&e) => {
            let message = format!(
                "The connection was not deleted: {e}. Tick “Delete even if the app cannot revoke it” to delete it anyway."
            );
            failed_page(&state, &console, &id, &message, &e).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

/// "Try a request": the Web API request endpoint, from a form.
pub(crate) async fn try_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let tried = TriedRequest {
        method: fields.text("method").unwrap_or_else(|| "GET".into()),
        path: fields.text("path").unwrap_or_else(|| "/".into()),
        body: fields.get("body").unwrap_or_default().to_string(),
        outcome: Err(String::new()),
    };
    let body = match tried.body.trim() {
        "" => None,
        // JSON when it reads as JSON (sent as JSON), otherwise the text as it is.
        text => Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(tried.body.clone()))),
    };
    let request =
        WebRequest { method: tried.method.clone(), path: tried.path.clone(), query: None, headers: None, body };
    let (outcome, status) = match state.service.web_request(console.who(), &id, request).await {
        Ok(response) => (Ok(response), StatusCode::OK),
        Err(e) if shown_on_page(&e) => (Err(e.to_string()), status_for(&e)),
        Err(e) => return Err(UiError::new(&console, e)),
    };
    let extra = Extra { request: Some(TriedRequest { outcome, ..tried }), status, ..Extra::default() };
    connection_page(&state, &console, &id, extra).await
}

/// "Run an action": the form's fields become the action's input, by its input schema.
pub(crate) async fn run_action(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let actions = {
        let connection =
            state.service.get_connection(console.who(), &id).await.map_err(|e| UiError::new(&console, e))?;
        state
            .service
            .list_actions(console.who(), &connection.integration_id)
            .await
            .map_err(|e| UiError::new(&console, e))?
    };
    let Some(action) = actions.iter().find(|a| a.name == name) else {
        return Err(UiError::new(&console, ServiceError::NotFound(format!("this integration has no action `{name}`"))));
    };
    let mut ran = RanAction { name: name.clone(), fields: fields.clone(), errors: BTreeMap::new(), outcome: None };
    let mut status = StatusCode::OK;
    match action_input(&action.input_schema, &fields) {
        Ok(input) => match state.service.run_action(console.who(), &id, &name, input).await {
            Ok(outcome) => ran.outcome = Some(Ok(outcome)),
            Err(e) if shown_on_page(&e) => {
                status = status_for(&e);
                ran.outcome = Some(Err(e.to_string()));
            }
            Err(e) => return Err(UiError::new(&console, e)),
        },
        Err(errors) => {
            status = StatusCode::BAD_REQUEST;
            ran.errors = errors;
        }
    }
    connection_page(&state, &console, &id, Extra { action: Some(ran), status, ..Extra::default() }).await
}

/// Errors that belong on the connection's page beside what caused them, rather than on an
/// error page of their own: the input's, the app's, and a busy connection's.
fn shown_on_page(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Invalid(_)
            | ServiceError::BadRequest(_)
            | ServiceError::Conflict(_)
            | ServiceError::Upstream(_)
            | ServiceError::Busy { .. }
    )
}

/// The connection's page again, with `message` about what `error` refused on top.
async fn failed_page(
    state: &AppState,
    console: &Console,
    id: &str,
    message: &str,
    error: &ServiceError,
) -> Result<Response, UiError> {
    let extra = Extra { notice: Some(Notice::Bad(message)), status: status_for(error), ..Extra::default() };
    connection_page(state, console, id, extra).await
}

/// What a connection's page shows beyond the connection itself: a notice, and the result of
/// the form just submitted.
struct Extra<'a> {
    notice: Option<Notice<'a>>,
    /// Back from the app's login page, and the exchange failed.
    came_back_failed: bool,
    request: Option<TriedRequest>,
    action: Option<RanAction>,
    status: StatusCode,
}

impl Default for Extra<'_> {
    fn default() -> Self {
        Self { notice: None, came_back_failed: false, request: None, action: None, status: StatusCode::OK }
    }
}

struct TriedRequest {
    method: String,
    path: String,
    body: String,
    outcome: Result<WebResponse, String>,
}

struct RanAction {
    name: String,
    fields: Fields,
    errors: BTreeMap<String, String>,
    outcome: Option<Result<ActionOutcome, String>>,
}

async fn connection_page(state: &AppState, console: &Console, id: &str, extra: Extra<'_>) -> Result<Response, UiError> {
    let service = &state.service;
    let fail = |e| UiError::new(console, e);
    let connection = service.get_connection(console.who(), id).await.map_err(fail)?;
    let integration = service.get_integration(console.who(), &connection.integration_id).await.map_err(fail)?;
    let actions = service.list_actions(console.who(), &integration.id).await.map_err(fail)?;
    let failed = service.last_failed_exchange(console.who(), id).await.map_err(fail)?;
    let activity = service.connection_activity(console.who(), id, ACTIVITY_LIMIT).await.map_err(fail)?;
    let oauth2 = integration.auth_method == AuthMethod::Oauth2;
    let usable = connection.status == "active";

    let body = html! {
        p { a href="/ui/connections" { "← Connections" } }
        div.row {
            h1 { (connection.name) }
            span { (layout::status_badge(&connection.status)) " · " a href={ "/ui/integrations/" (integration.id) } { (integration.name) } }
        }
        @if let Some(notice) = extra.notice { (notice.render()) }
        @if extra.came_back_failed {
            (Notice::Bad(&format!(
                "The connection could not be completed: {}",
                connection.last_error.as_deref().unwrap_or("the app's answer was refused")
            )).render())
        }
        @if connection.status == "pending" && !extra.came_back_failed {
            (Notice::Info("This connection is waiting for someone to sign in at the app. Reconnect to start again.").render())
        }
        (facts(&connection))
        (manage(console, &connection, oauth2))
        @if let Some(failed) = &failed { (failed_exchange(failed)) }
        (try_request_form(console, &connection, usable, extra.request.as_ref()))
        (actions_section(console, &connection, &actions, usable, extra.action.as_ref()))
        (activity_section(&activity))
    };
    let mut response = layout::page(console, Section::Connections, &connection.name, body);
    *response.status_mut() = extra.status;
    Ok(response)
}

fn facts(c: &ConnectionView) -> Markup {
    let time_or = |at: &Option<String>, none: &'static str| {
        html! {
            @if let Some(at) = at { (layout::time(at)) } @else { (none) }
        }
    };
    html! {
        section.card aria-labelledby="facts-heading" {
            h2 #facts-heading { "Details" }
            dl.facts {
                dt { "Status" } dd { (layout::status_badge(&c.status)) }
                dt { "Access token expires" } dd { (time_or(&c.expires_at, "No expiry given by the app")) }
                dt { "Refresh token expires" } dd { (time_or(&c.refresh_expires_at, "No expiry given by the app")) }
                @if let Some(next) = &c.next_retry_at {
                    dt { "Next refresh retry" } dd { (layout::time(next)) }
                }
                dt { "Scopes" } dd {
                    @match &c.scopes {
                        Some(scopes) if !scopes.is_empty() => { @for s in scopes { code { (s) } " " } }
                        _ => { "The app did not say" }
                    }
                }
                @for (name, value) in &c.inputs { dt { "Input " code { (name) } } dd { (value) } }
                @for (name, value) in &c.metadata { dt { "Metadata " code { (name) } } dd { (value) } }
                dt { "Last error" } dd { (c.last_error.as_deref().unwrap_or("None")) }
                dt { "Owner key" } dd { code { (c.owner_key_id) } }
                dt { "Also usable by" } dd {
                    @if c.allowed_keys.is_empty() { "Only its owner (and admins)" }
                    @else { @for k in &c.allowed_keys { code { (k) } " " } }
                }
                dt { "Id" } dd { code { (c.id) } }
                dt { "Created" } dd { (layout::time(&c.created_at)) }
                dt { "Updated" } dd { (layout::time(&c.updated_at)) }
            }
        }
    }
}

fn manage(console: &Console, c: &ConnectionView, oauth2: bool) -> Markup {
    let action = |verb: &str| format!("/ui/connections/{}/{verb}", c.id);
    html! {
        section aria-labelledby="manage-heading" {
            h2 #manage-heading { "Manage" }
            div.actions {
                @if oauth2 {
                    form method="post" action=(action("reconnect")) {
                        (csrf(console))
                        button type="submit" { "Reconnect" }
                    }
                    // Only an active connection has tokens worth refreshing; the others reconnect.
                    @if c.status == "active" {
                        form method="post" action=(action("refresh")) {
                            (csrf(console))
                            button.secondary type="submit" { "Refresh now" }
                        }
                    }
                }
            }
            form.card method="post" action=(action("delete")) {
                (csrf(console))
                p.help { "Deleting revokes the connection's tokens at the app first, when the app supports it." }
                label { input type="checkbox" name="force"; " Delete even if the app cannot revoke it" }
                p { button.danger type="submit" { "Delete this connection" } }
            }
        }
    }
}

fn failed_exchange(failed: &FailedExchangeView) -> Markup {
    let what = if failed.kind == "refresh" { "refresh" } else { "code exchange" };
    let hint = crate::server::callback::hint_for(&failed.message).map(str::to_string).or_else(|| failed.hint.clone());
    html! {
        section.card.failed aria-labelledby="failed-heading" {
            h2 #failed-heading { "The last failed " (what) }
            p { (layout::time(&failed.at)) }
            p.notice.bad { (layout::sentence(&failed.message)) }
            @if let Some(hint) = hint {
                p { strong { "What to check: " } (layout::sentence(&hint)) }
            }
            @if failed.entries.is_empty() {
                p.help { "No request reached the app." }
            } @else {
                p.help { "What the app received and what it answered, with secrets masked (the same view as "
                         code { "keyway plugin check" } "):" }
                @for entry in &failed.entries {
                    pre.wire { (entry.wire().to_string()) }
                }
            }
        }
    }
}

fn try_request_form(console: &Console, c: &ConnectionView, usable: bool, tried: Option<&TriedRequest>) -> Markup {
    const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let method = tried.map_or("GET", |t| t.method.as_str());
    let path = tried.map_or("/", |t| t.path.as_str());
    let body = tried.map_or("", |t| t.body.as_str());
    html! {
        section aria-labelledby="request-heading" {
            h2 #request-heading { "Try a request" }
            @if !usable {
                p.help { "Requests need an active connection." }
            } @else {
                form.card #request method="post" action={ "/ui/connections/" (c.id) "/request" } {
                    (csrf(console))
                    div.grid2 {
                        div.field {
                            label for="f-method" { "Method" }
                            select #f-method name="method" {
                                @for m in METHODS { option value=(m) selected[m.eq_ignore_ascii_case(method)] { (m) } }
                            }
                        }
                        (Field::new("path", "Path", path, "Relative to the app's API base, such as `/me`. Keyway adds the \
                                     credentials.").required().render(None))
                    }
                    (Field::new("body", "Body", body, "JSON is sent as JSON; anything else as text. Leave it empty for \
                                 none.").kind(Kind::Lines).render(None))
                    button type="submit" { "Send" }
                }
                @if let Some(tried) = tried {
                    div.card #request-result aria-live="polite" {
                        h3 { "Response" }
                        @match &tried.outcome {
                            Ok(response) => {
                                p { "Status " strong.status { (response.status) } }
                                details {
                                    summary { "Headers (" (response.headers.len()) ")" }
                                    dl.facts { @for (k, v) in &response.headers { dt { code { (k) } } dd { (v) } } }
                                }
                                pre { (body_text(&response.body)) }
                            }
                            Err(message) => { (Notice::Bad(message).render()) }
                        }
                    }
                }
            }
        }
    }
}

fn body_text(body: &Value) -> String {
    match body {
        Value::String(text) => text.clone(),
        other => layout::pretty(other),
    }
}

fn actions_section(
    console: &Console,
    c: &ConnectionView,
    actions: &[ActionView],
    usable: bool,
    ran: Option<&RanAction>,
) -> Markup {
    html! {
        section aria-labelledby="run-heading" {
            h2 #run-heading { "Run an action" }
            @if actions.is_empty() {
                div.empty { p { "This integration has no custom actions." } }
            } @else if !usable {
                p.help { "Actions need an active connection." }
            } @else {
                @for action in actions {
                    @let this = ran.filter(|r| r.name == action.name);
                    (action_form(console, c, action, this))
                }
            }
        }
    }
}

fn action_form(console: &Console, c: &ConnectionView, action: &ActionView, ran: Option<&RanAction>) -> Markup {
    let no_errors = BTreeMap::new();
    let errors = ran.map_or(&no_errors, |r| &r.errors);
    let value = |name: &str| ran.and_then(|r| r.fields.get(name)).unwrap_or_default().to_string();
    let anchor = format!("action-{}", action.name);
    html! {
        form.card id=(anchor) method="post" action={ "/ui/connections/" (c.id) "/actions/" (action.name) "#" (anchor) } {
            (csrf(console))
            h3 { code { (action.name) } }
            @if !action.description.is_empty() { p.help { (action.description) } }
            @match schema_fields(&action.input_schema) {
                Some(inputs) => {
                    @if inputs.is_empty() { p.help { "It takes no input." } }
                    @for input in &inputs {
                        @let name = format!("input.{}", input.name);
                        @let current = value(&name);
                        @if input.kind == InputKind::Boolean {
                            div.field {
                                label { input type="checkbox" name=(name) checked[!current.is_empty()]; " " (input.name) }
                                @if let Some(d) = &input.description { p.help { (d) } }
                            }
                        } @else {
                            @let field = Field::new(&name, &input.name, &current, input.description.as_deref().unwrap_or(""))
                                .kind(if matches!(input.kind, InputKind::Integer | InputKind::Number) { Kind::Number } else { Kind::Text });
                            (if input.required { field.required() } else { field }.render(errors.get(&name).map(String::as_str)))
                        }
                    }
                }
                None => {
                    @let current = ran.map_or_else(|| "{}".to_string(), |_| value("input"));
                    (Field::new("input", "Input (JSON)", &current, "An object matching the schema below.")
                        .kind(Kind::Lines).required().render(errors.get("input").map(String::as_str)))
                }
            }
            details {
                summary { "Input schema" }
                pre { (layout::pretty(&action.input_schema)) }
            }
            p { button type="submit" { "Run " (action.name) } }
            @if let Some(outcome) = ran.and_then(|r| r.outcome.as_ref()) {
                div.result aria-live="polite" {
                    @match outcome {
                        Ok(outcome) => {
                            h4 { "Output" }
                            pre.output { (layout::pretty(&outcome.output)) }
                            h4 { "Calls" }
                            div.table-wrap {
                                table {
                                    thead { tr { th scope="col" { "Method" } th scope="col" { "Path" } th scope="col" { "Status" }
                                                 th scope="col" { "Time" } th scope="col" { "Note" } } }
                                    tbody {
                                        @for call in &outcome.calls {
                                            tr {
                                                td { (call.method) } td { code { (call.path) } }
                                                td { @if let Some(s) = call.status { (s) } @else { "—" } }
                                                td { (call.duration_ms) " ms" } td { (call.note.as_deref().unwrap_or("")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        Err(message) => { (Notice::Bad(message).render()) }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputKind {
    String,
    Integer,
    Number,
    Boolean,
}

struct SchemaInput {
    name: String,
    kind: InputKind,
    required: bool,
    description: Option<String>,
}

/// The fields a form can offer for `schema`: an object whose properties are all strings,
/// numbers or booleans. `None` when it is anything else, which is entered as JSON.
fn schema_fields(schema: &Value) -> Option<Vec<SchemaInput>> {
    let object = schema.as_object()?;
    if object.get("type").and_then(Value::as_str).is_some_and(|t| t != "object") {
        return None;
    }
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = object.get("properties") else {
        // `{}` or `{"type":"object"}` with no properties: any object, so JSON.
        return if object.get("additionalProperties") == Some(&Value::Bool(false)) { Some(Vec::new()) } else { None };
    };
    properties
        .as_object()?
        .iter()
        .map(|(name, property)| {
            let kind = match property.get("type").and_then(Value::as_str)? {
                "string" => InputKind::String,
                "integer" => InputKind::Integer,
                "number" => InputKind::Number,
                "boolean" => InputKind::Boolean,
                _ => return None,
            };
            Some(SchemaInput {
                name: name.clone(),
                kind,
                required: required.contains(&name.as_str()),
                description: property.get("description").and_then(Value::as_str).map(str::to_string),
            })
        })
        .collect()
}

/// The action's input from the form, typed by `schema`; field errors by field name otherwise.
fn action_input(schema: &Value, fields: &Fields) -> Result<Value, BTreeMap<String, String>> {
    let mut errors = BTreeMap::new();
    let Some(inputs) = schema_fields(schema) else {
        let text = fields.get("input").unwrap_or_default().trim();
        return match serde_json::from_str::<Value>(if text.is_empty() { "{}" } else { text }) {
            Ok(value) => Ok(value),
            Err(e) => {
                errors.insert("input".into(), format!("this is not JSON ({e}); write an object such as {{\"id\": 1}}"));
                Err(errors)
            }
        };
    };
    let mut input = serde_json::Map::new();
    for field in inputs {
        let name = format!("input.{}", field.name);
        let text = fields.get(&name).map(str::trim).unwrap_or_default();
        let value = match field.kind {
            InputKind::Boolean => Some(Value::Bool(fields.checked(&name))),
            _ if text.is_empty() => {
                if field.required {
                    errors.insert(name, format!("enter the action's `{}`", field.name));
                }
                None
            }
            InputKind::String => Some(Value::String(text.to_string())),
            InputKind::Integer => match text.parse::<i64>() {
                Ok(n) => Some(n.into()),
                Err(_) => {
                    errors.insert(name, format!("`{}` must be a whole number, such as 42", field.name));
                    None
                }
            },
            InputKind::Number => match text.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) => Some(Value::Number(n)),
                None => {
                    errors.insert(name, format!("`{}` must be a number, such as 4.2", field.name));
                    None
                }
            },
        };
        if let Some(value) = value {
            input.insert(field.name, value);
        }
    }
    if errors.is_empty() { Ok(Value::Object(input)) } else { Err(errors) }
}

fn activity_section(events: &[EventBody]) -> Markup {
    html! {
        section aria-labelledby="activity-heading" {
            h2 #activity-heading { "Recent activity" }
            @if events.is_empty() {
                div.empty { p { "Nothing yet: connecting, refreshes, errors and state changes appear here." } }
            } @else {
                ol.timeline {
                    @for event in events {
                        @let tone = match event.event_type.as_str() {
                            "connection.active" | "connection.refreshed" => "good",
                            "connection.failed" | "connection.needs_reauth" => "bad",
                            _ => "",
                        };
                        li class=(tone) {
                            (layout::time(&event.at))
                            strong { (activity_label(&event.event_type)) }
                            @if let Some(error) = &event.last_error { " — " (layout::sentence(error)) }
                        }
                    }
                }
            }
        }
    }
}

fn activity_label(event_type: &str) -> &str {
    match event_type {
        "connection.active" => "Connected",
        "connection.refreshed" => "Active again after an error",
        "connection.needs_reauth" => "Needs someone to sign in again",
        "connection.failed" => "Failed",
        "connection.deleted" => "Deleted",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_flat_schema_becomes_typed_input() {
        let schema = json!({"type": "object", "required": ["q"], "properties": {
            "q": {"type": "string"}, "limit": {"type": "integer"}, "exact": {"type": "boolean"}}});
        let input = action_input(&schema, &fields(&[("input.q", " rust "), ("input.limit", "5")])).unwrap();
        assert_eq!(input, json!({"q": "rust", "limit": 5, "exact": false}));
        let errors = action_input(&schema, &fields(&[("input.limit", "five")])).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors["input.limit"].contains("whole number"), "{errors:?}");
        assert!(errors["input.q"].contains("`q`"), "{errors:?}");
    }

    #[test]
    fn a_nested_schema_is_entered_as_json() {
        let schema = json!({"type": "object", "properties": {"items": {"type": "array"}}});
        assert!(schema_fields(&schema).is_none());
        assert_eq!(action_input(&schema, &fields(&[("input", r#"{"items": [1]}"#)])).unwrap(), json!({"items": [1]}));
        let errors = action_input(&schema, &fields(&[("input", "{nope")])).unwrap_err();
        assert!(errors["input"].contains("not JSON"), "{errors:?}");
    }
}
