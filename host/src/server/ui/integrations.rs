//! Integrations: the list, "New custom integration" with the help article's fields in its
//! order, and an integration's page (settings, actions, connections, "Add connection").

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::UiError;
use super::fields::Fields;
use super::layout::{self, Field, Kind, Notice, Section, csrf};
use super::session::{Console, Submitted};
use crate::engine::Manifest;
use crate::integration::{AuthMethod, ClientAuth};
use crate::server::AppState;
use crate::service::ServiceError;
use crate::service::model::{IntegrationInput, IntegrationView, ScopesInput};

/// Field errors of the last submit, by the API's field name.
type Errors = BTreeMap<String, String>;

pub(crate) async fn list(State(state): State<AppState>, console: Console) -> Result<Response, UiError> {
    let service = &state.service;
    let integrations = service.list_integrations(console.who()).await.map_err(|e| UiError::new(&console, e))?;
    let connections = service.list_connections(console.who()).await.map_err(|e| UiError::new(&console, e))?;
    let count = |id: &str| connections.iter().filter(|c| c.integration_id == id).count();
    let body = html! {
        div.row {
            h1 { "Integrations" }
            @if console.is_admin() {
                a.button href="/ui/integrations/new" { "New custom integration" }
            }
        }
        p.lead { "Each integration is one app registered over OAuth2, Basic or Token authentication. Open one to add \
                  connections to it." }
        @if integrations.is_empty() {
            div.empty {
                p { "No integrations yet." }
                @if console.is_admin() {
                    p { a href="/ui/integrations/new" { "Create the first one" } ": you need the app's client ID and \
                        secret, and its OAuth URLs from its developer documentation." }
                } @else {
                    p { "Ask an admin to create one." }
                }
            }
        } @else {
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Plugin" } th scope="col" { "Authorization" }
                                 th scope="col" { "Connections" } } }
                    tbody {
                        @for i in &integrations {
                            tr {
                                td { a href={ "/ui/integrations/" (i.id) } { (i.name) } }
                                td { code { (i.plugin) } }
                                td { (auth_label(i.auth_method)) }
                                td { (count(&i.id)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&console, Section::Integrations, "Integrations", body))
}

#[derive(Deserialize)]
pub(crate) struct NewQuery {
    plugin: Option<String>,
}

pub(crate) async fn new_form(
    State(state): State<AppState>,
    console: Console,
    Query(query): Query<NewQuery>,
) -> Result<Response, UiError> {
    let values = FormValues { plugin: query.plugin.unwrap_or_default(), pkce: true, ..FormValues::default() };
    form_page(&state, &console, None, &values, &Errors::new(), None, StatusCode::OK).await
}

pub(crate) async fn create(State(state): State<AppState>, form: Submitted) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let values = FormValues::from_fields(&fields);
    match state.service.create_integration(console.who(), values.input(true)).await {
        Ok(created) => Ok(Redirect::to(&format!("/ui/integrations/{}?created=1", created.id)).into_response()),
        Err(ServiceError::Invalid(e)) => {
            let errors = Errors::from([(e.field, e.message)]);
            form_page(&state, &console, None, &values, &errors, None, StatusCode::BAD_REQUEST).await
        }
        Err(e @ (ServiceError::Conflict(_) | ServiceError::BadRequest(_))) => {
            let message = e.to_string();
            form_page(&state, &console, None, &values, &Errors::new(), Some(&message), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

#[derive(Deserialize)]
pub(crate) struct ShowQuery {
    created: Option<String>,
    updated: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, UiError> {
    let notice = match (query.created, query.updated) {
        (Some(_), _) => Some(Notice::Good(
            "The integration is created. Register the redirect URI below with the app, then add a connection.",
        )),
        (_, Some(_)) => Some(Notice::Good("Saved.")),
        _ => None,
    };
    integration_page(&state, &console, &id, None, notice, StatusCode::OK).await
}

pub(crate) async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let values = FormValues::from_fields(&fields);
    match state.service.update_integration(console.who(), &id, values.input(false)).await {
        Ok(_) => Ok(Redirect::to(&format!("/ui/integrations/{id}?updated=1")).into_response()),
        Err(ServiceError::Invalid(e)) => {
            let errors = Errors::from([(e.field, e.message)]);
            let edit = Some((&values, &errors, None));
            integration_page(&state, &console, &id, edit, None, StatusCode::BAD_REQUEST).await
        }
        Err(e @ (ServiceError::Conflict(_) | ServiceError::BadRequest(_))) => {
            let message = e.to_string();
            let errors = Errors::new();
            let edit = Some((&values, &errors, Some(message.as_str())));
            integration_page(&state, &console, &id, edit, None, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    state.service.delete_integration(form.console.who(), &id).await.map_err(|e| UiError::new(&form.console, e))?;
    Ok(Redirect::to("/ui/integrations").into_response())
}

/// The integration form's values, as submitted or as stored.
#[derive(Debug, Clone, Default)]
struct FormValues {
    name: String,
    auth_method: String,
    client_id: String,
    client_secret: String,
    site: String,
    authorization_url: String,
    token_path: String,
    revoke_path: String,
    client_auth: String,
    scopes: String,
    plugin: String,
    pkce: bool,
    settings: Vec<(String, String)>,
}

impl FormValues {
    fn from_fields(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or_default().to_string();
        Self {
            name: text("name"),
            auth_method: text("auth_method"),
            client_id: text("client_id"),
            client_secret: text("client_secret"),
            site: text("site"),
            authorization_url: text("authorization_url"),
            token_path: text("token_path"),
            revoke_path: text("revoke_path"),
            client_auth: text("client_auth"),
            scopes: text("scopes"),
            plugin: text("plugin"),
            pkce: fields.checked("pkce"),
            settings: fields.prefixed("settings."),
        }
    }

    fn from_view(view: &IntegrationView) -> Self {
        let settings = match &view.settings {
            serde_json::Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            _ => Vec::new(),
        };
        Self {
            name: view.name.clone(),
            auth_method: auth_value(view.auth_method).into(),
            client_id: view.client_id.clone(),
            client_secret: String::new(),
            site: view.site.clone(),
            authorization_url: view.authorization_url.clone(),
            token_path: view.token_path.clone(),
            revoke_path: view.revoke_path.clone().unwrap_or_default(),
            client_auth: client_auth_value(view.client_auth).into(),
            scopes: view.scopes.join("\n"),
            plugin: view.plugin.clone(),
            pkce: view.pkce,
            settings,
        }
    }

    /// The API input. On an update, a blank secret keeps the stored one, and a blank
    /// revoke path is sent as blank (no revocation).
    fn input(&self, creating: bool) -> IntegrationInput {
        let given = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        let kept = |v: &str| if creating { given(v) } else { Some(v.trim().to_string()) };
        IntegrationInput {
            name: kept(&self.name),
            auth_method: match self.auth_method.as_str() {
                "basic" => Some(AuthMethod::Basic),
                "token" => Some(AuthMethod::Token),
                "oauth2" => Some(AuthMethod::Oauth2),
                _ => None,
            },
            plugin: given(&self.plugin),
            client_id: kept(&self.client_id),
            // Never trimmed: a secret may end in a space.
            client_secret: (!self.client_secret.is_empty()).then(|| self.client_secret.clone()),
            site: kept(&self.site),
            authorization_url: kept(&self.authorization_url),
            token_path: kept(&self.token_path),
            revoke_path: given(&self.revoke_path),
            client_auth: match self.client_auth.as_str() {
                "post" => Some(ClientAuth::Post),
                "basic_and_post" => Some(ClientAuth::BasicAndPost),
                "basic" => Some(ClientAuth::Basic),
                _ => None,
            },
            scopes: Some(ScopesInput::Lines(self.scopes.clone())),
            pkce: Some(self.pkce),
            settings: (!self.settings.is_empty()).then(|| {
                serde_json::Value::Object(
                    self.settings.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
                )
            }),
            ..IntegrationInput::default()
        }
    }

    fn setting(&self, name: &str) -> &str {
        self.settings.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
}

fn auth_value(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Oauth2 => "oauth2",
        AuthMethod::Basic => "basic",
        AuthMethod::Token => "token",
    }
}

fn auth_label(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Oauth2 => "OAuth2",
        AuthMethod::Basic => "Basic",
        AuthMethod::Token => "Token",
    }
}

fn client_auth_value(auth: ClientAuth) -> &'static str {
    match auth {
        ClientAuth::Basic => "basic",
        ClientAuth::Post => "post",
        ClientAuth::BasicAndPost => "basic_and_post",
    }
}

/// The plugin's manifest, when it names an installed plugin.
async fn manifest_of(state: &AppState, plugin: &str) -> Option<Manifest> {
    let spec = if plugin.is_empty() { crate::registry::PluginRegistry::default_name() } else { plugin };
    state.service.plugins().resolve(spec).await.ok().map(|p| p.manifest.clone())
}

async fn form_page(
    state: &AppState,
    console: &Console,
    existing: Option<&IntegrationView>,
    values: &FormValues,
    errors: &Errors,
    general: Option<&str>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let plugins = state.service.list_plugins(console.who()).await.map_err(|e| UiError::new(console, e))?;
    let manifest = manifest_of(state, &values.plugin).await;
    let form = integration_form(console, existing, values, errors, general, &plugins, manifest.as_ref());
    let body = html! {
        h1 { "New custom integration" }
        p.lead { "Register the app once; then people add connections to it. The fields follow the app's OAuth \
                  documentation: search the web for “" em { "your app" } " OAuth flow”." }
        (form)
    };
    let mut response = layout::page(console, Section::Integrations, "New custom integration", body);
    *response.status_mut() = status;
    Ok(response)
}

/// The form, for a new integration (`existing` is `None`) or an existing one's settings.
fn integration_form(
    console: &Console,
    existing: Option<&IntegrationView>,
    v: &FormValues,
    errors: &Errors,
    general: Option<&str>,
    plugins: &[crate::service::model::PluginView],
    manifest: Option<&Manifest>,
) -> Markup {
    let error = |name: &str| errors.get(name).map(String::as_str);
    let action = match existing {
        Some(i) => format!("/ui/integrations/{}", i.id),
        None => "/ui/integrations/new".into(),
    };
    let secret_help = match existing {
        Some(i) if i.has_client_secret => {
            "A secret is stored and never shown. Leave this blank to keep it, or \
                                           enter a new one to replace it."
        }
        _ => "Created with the client ID in the app. It is sealed at rest and never shown again.",
    };
    let plugin_names: Vec<&str> = {
        let mut names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
        names.dedup();
        names
    };
    let chosen_plugin = if v.plugin.is_empty() { crate::registry::PluginRegistry::default_name() } else { &v.plugin };
    let unplaced: Vec<(&String, &String)> = errors
        .iter()
        .filter(|(field, _)| !FORM_FIELDS.contains(&field.as_str()) && !field.starts_with("settings"))
        .collect();
    html! {
        @if let Some(general) = general {
            p.notice.bad role="alert" { (layout::sentence(general)) }
        }
        @for (field, message) in &unplaced {
            p.notice.bad role="alert" { code { (field) } ": " (message) }
        }
        @if existing.is_none() {
            form.card method="get" action="/ui/integrations/new" {
                div.field {
                    label for="pick-plugin" { "Plugin" }
                    select #pick-plugin name="plugin" aria-describedby="pick-plugin-help" {
                        @for name in &plugin_names {
                            option value=(name) selected[*name == chosen_plugin] { (name) }
                        }
                    }
                    p.help #pick-plugin-help { "The plugin formats this app's OAuth requests. The built-in "
                        code { "standard-oauth2" } " sends them exactly as the help article describes; pick another \
                        when the app formats something its own way. Its own fields appear below." }
                }
                button.secondary type="submit" { "Show this plugin's fields" }
            }
        }
        form.card method="post" action=(action) novalidate {
            (csrf(console))
            @if existing.is_none() { input type="hidden" name="plugin" value=(chosen_plugin); }
            (Field::new("name", "Name", &v.name, "How the integration appears in the list and to other users.")
                .required().render(error("name")))
            div.field.invalid[error("auth_method").is_some()] {
                label for="f-auth_method" { "Authorization method" }
                select #f-auth_method name="auth_method" aria-describedby="f-auth_method-help" {
                    @for (value, label) in [("oauth2", "OAuth2"), ("basic", "Basic"), ("token", "Token")] {
                        option value=(value) selected[v.auth_method == value || (v.auth_method.is_empty() && value == "oauth2")] { (label) }
                    }
                }
                p.help #f-auth_method-help { "OAuth2 sends people to the app's login page. Basic and Token connect \
                    with a username and password, or a token, entered per connection; they need none of the OAuth \
                    fields below." }
            }
            h2 { "Admin information" }
            p.help { "Create these in the app by registering Keyway as an OAuth app: search the web for “Create an \
                      OAuth app for " em { "your app" } "”." }
            div.grid2 {
                (Field::new("client_id", "Client ID", &v.client_id, "The app shows it after you register Keyway.")
                    .unmarked().render(error("client_id")))
                (Field::new("client_secret", "Client secret", "", secret_help).kind(Kind::Secret)
                    .unmarked().render(error("client_secret")))
            }
            h2 { "OAuth information" }
            p.help { "From the app's developer documentation. The names there may differ." }
            (Field::new("site", "Site", &v.site, "The base domain for the token and revoke paths. Enter just the URL up \
                to the .com: if the token URL is `https://yourapp.com/login/oauth/access_token`, the site is \
                `https://yourapp.com`.").kind(Kind::Url).placeholder("https://yourapp.com").unmarked().render(error("site")))
            (Field::new("authorization_url", "Authorization base URL", &v.authorization_url, "The full URL where the \
                app asks people to log in, written in its docs like `GET https://yourapp.com/login/oauth/authorize`: \
                enter `https://yourapp.com/login/oauth/authorize`.").kind(Kind::Url)
                .placeholder("https://yourapp.com/login/oauth/authorize").unmarked().render(error("authorization_url")))
            (Field::new("token_path", "Token path", &v.token_path, "Written in the docs like `POST \
                https://yourapp.com/login/oauth/access_token`. Enter the path without the domain: \
                `/login/oauth/access_token`.").placeholder("/login/oauth/access_token").unmarked().render(error("token_path")))
            (Field::new("revoke_path", "Revoke path", &v.revoke_path, "Like the token path, without the domain. \
                Keyway revokes a connection's token here when the connection is deleted.")
                .placeholder("/oauth/revoke").render(error("revoke_path")))
            fieldset.invalid[error("client_auth").is_some() || error("use_body_auth").is_some()] {
                legend { "Client authentication" }
                @for (value, label, help) in [
                    ("basic", "Header", "Client ID and secret in an Authorization: Basic header (the article's default)."),
                    ("basic_and_post", "Header and body", "Also in the form body: the article's “Use Body Authentication”."),
                    ("post", "Body only", "Only in the form body, which the article says it cannot do. Keyway can."),
                ] {
                    label {
                        input type="radio" name="client_auth" value=(value)
                            checked[v.client_auth == value || (v.client_auth.is_empty() && value == "basic")];
                        span { strong { (label) } " — " (help) }
                    }
                }
                @if let Some(e) = error("client_auth").or(error("use_body_auth")) { p.error role="alert" { (e) } }
            }
            (Field::new("scopes", "Scopes", &v.scopes, "The access Keyway asks for, one per line, as the app spells \
                them: `write:posts`, `read:topics`.").kind(Kind::Lines).render(error("scopes")))
            div.field {
                label { input type="checkbox" name="pkce" value="on" checked[v.pkce]; " Use PKCE (S256)" }
                p.help { "Proves the code exchange comes from whoever started the login. Leave it on unless the \
                          app refuses a code_challenge." }
            }
            @if let Some(manifest) = manifest {
                h2 { "Plugin: " code { (manifest.name) } " " (manifest.version) }
                @if !manifest.description.is_empty() { p.help { (manifest.description) } }
                @for setting in &manifest.settings {
                    @let name = format!("settings.{}", setting.name);
                    @let stored_secret = existing.is_some_and(|i| i.secret_settings.contains(&setting.name));
                    @let help = match (setting.secret, stored_secret) {
                        (true, true) => format!("{} A value is stored and never shown; leave blank to keep it.", setting.description),
                        (true, false) => format!("{} Sealed at rest and never shown again.", setting.description),
                        _ => setting.description.clone(),
                    };
                    @let field = Field::new(&name, &setting.name, v.setting(&setting.name), &help);
                    @let field = if setting.secret { field.kind(Kind::Secret) } else { field };
                    @let field = if setting.required && !stored_secret { field.required() } else { field };
                    (field.render(error(&name).or(errors.get("settings").map(String::as_str))))
                }
                @if !manifest.inputs.is_empty() {
                    p.help { "Each connection will ask for: "
                        @for (i, input) in manifest.inputs.iter().enumerate() {
                            @if i > 0 { ", " }
                            strong { (input.label) } " (" code { (input.name) } ")"
                        }
                        "." }
                }
            }
            button type="submit" { @if existing.is_some() { "Save changes" } @else { "Create the integration" } }
        }
    }
}

/// The fields the form shows, by the API's names: an error on any other goes at the top.
const FORM_FIELDS: &[&str] = &[
    "name",
    "auth_method",
    "client_id",
    "client_secret",
    "site",
    "authorization_url",
    "token_path",
    "revoke_path",
    "client_auth",
    "use_body_auth",
    "scopes",
];

/// An integration's page. `edit` carries a refused update's values and errors, shown in the
/// settings form instead of the stored values.
/// An integration's page with `notice` on top: what "Add connection" answers when the
/// connection could not be added.
pub(crate) async fn page_with_notice(
    state: &AppState,
    console: &Console,
    id: &str,
    notice: Notice<'_>,
) -> Result<Response, UiError> {
    integration_page(state, console, id, None, Some(notice), StatusCode::BAD_REQUEST).await
}

async fn integration_page(
    state: &AppState,
    console: &Console,
    id: &str,
    edit: Option<(&FormValues, &Errors, Option<&str>)>,
    notice: Option<Notice<'_>>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let service = &state.service;
    let fail = |e| UiError::new(console, e);
    let integration = service.get_integration(console.who(), id).await.map_err(fail)?;
    let actions = service.list_actions(console.who(), id).await.map_err(fail)?;
    let connections: Vec<_> = service
        .list_connections(console.who())
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|c| c.integration_id == integration.id)
        .collect();
    let manifest = manifest_of(state, &integration.plugin).await;
    let keys = if console.is_admin() { service.list_keys(console.who()).await.map_err(fail)? } else { Vec::new() };
    let stored = FormValues::from_view(&integration);
    let no_errors = Errors::new();
    let (values, errors, general) = edit.unwrap_or((&stored, &no_errors, None));
    let redirect_uri = service.flows().redirect_uri().to_string();
    let settings_form = if console.is_admin() {
        let plugins = service.list_plugins(console.who()).await.map_err(fail)?;
        Some(integration_form(console, Some(&integration), values, errors, general, &plugins, manifest.as_ref()))
    } else {
        None
    };
    let body = html! {
        p { a href="/ui/integrations" { "← Integrations" } }
        div.row {
            h1 { (integration.name) }
            span { (auth_label(integration.auth_method)) " · plugin " code { (integration.plugin) } }
        }
        @if let Some(notice) = notice { (notice.render()) }
        @if integration.auth_method == AuthMethod::Oauth2 {
            section.card aria-labelledby="redirect-heading" {
                h2 #redirect-heading { "The redirect URI to register at the app" }
                p.help { "Enter it in the app's OAuth settings exactly as shown, or the app refuses to send people back." }
                div.copy {
                    code #redirect-uri { (redirect_uri) }
                    button.secondary type="button" data-copy="redirect-uri" hidden { "Copy" }
                }
            }
        }
        section aria-labelledby="connections-heading" {
            h2 #connections-heading { "Connections" }
            @if connections.is_empty() {
                div.empty { p { "No connections yet. Add one below: you will be sent to the app's login page." } }
            } @else {
                div.table-wrap {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Status" } th scope="col" { "Token expires" }
                                     th scope="col" { "Last error" } } }
                        tbody {
                            @for c in &connections {
                                tr {
                                    td { a href={ "/ui/connections/" (c.id) } { (c.name) } }
                                    td { (layout::status_badge(&c.status)) }
                                    td { @if let Some(at) = &c.expires_at { (layout::time(at)) } @else { "—" } }
                                    td { @if let Some(e) = &c.last_error { (e) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
            }
            (add_connection_form(console, &integration, manifest.as_ref(), &keys))
        }
        section aria-labelledby="actions-heading" {
            h2 #actions-heading { "Actions" }
            @if actions.is_empty() {
                div.empty { p { "This integration has no custom actions. A plugin can offer them, or an admin can \
                                 define declarative ones with " code { "PUT /api/v1/integrations/{id}/actions/{name}" } "." } }
            } @else {
                @for action in &actions {
                    details.card {
                        summary { code { (action.name) } " — " (action.description) }
                        h3 { "Input schema" }
                        pre { (layout::pretty(&action.input_schema)) }
                    }
                }
            }
        }
        @if let Some(form) = settings_form {
            section aria-labelledby="settings-heading" {
                h2 #settings-heading { "Settings" }
                (form)
                @if connections.is_empty() {
                    form method="post" action={ "/ui/integrations/" (integration.id) "/delete" } {
                        (csrf(console))
                        button.danger type="submit" { "Delete this integration" }
                    }
                } @else {
                    p.help { "To delete this integration, delete its connections first." }
                }
            }
        } @else {
            section aria-labelledby="settings-heading" {
                h2 #settings-heading { "Settings" }
                dl.facts {
                    dt { "Site" } dd { (integration.site) }
                    dt { "Scopes" } dd { (integration.scopes.join(" ")) }
                }
            }
        }
    };
    let mut response = layout::page(console, Section::Integrations, &integration.name, body);
    *response.status_mut() = status;
    Ok(response)
}

fn add_connection_form(
    console: &Console,
    integration: &IntegrationView,
    manifest: Option<&Manifest>,
    keys: &[crate::service::model::KeyView],
) -> Markup {
    let inputs = manifest.map(|m| m.inputs.as_slice()).unwrap_or_default();
    html! {
        form.card method="post" action={ "/ui/integrations/" (integration.id) "/connections" } {
            (csrf(console))
            h3 { "Add a connection" }
            // Not `name`: the settings form on the same page has that field (and its id).
            (Field::new("connection_name", "Connection name", "", "How this account appears in workflows, such as “Sales team”.")
                .render(None))
            @for input in inputs {
                @let name = format!("inputs.{}", input.name);
                @let help = input.pattern.as_ref().map(|p| format!("Must match `{p}`.")).unwrap_or_default();
                @let field = Field::new(&name, &input.label, "", &help);
                (if input.required { field.required() } else { field }.render(None))
            }
            @match integration.auth_method {
                AuthMethod::Basic => {
                    (Field::new("username", "Username", "", "The account Keyway signs in as.").required().render(None))
                    (Field::new("password", "Password", "", "Sealed at rest and never shown again.")
                        .kind(Kind::Secret).required().render(None))
                }
                AuthMethod::Token => {
                    (Field::new("token", "Token", "", "Sealed at rest and never shown again.")
                        .kind(Kind::Secret).required().render(None))
                }
                AuthMethod::Oauth2 => {}
            }
            @let others: Vec<_> = keys.iter().filter(|k| k.revoked_at.is_none() && k.id != console.who().key_id).collect();
            @if !others.is_empty() {
                fieldset {
                    legend { "Permissions: other keys that may use it" }
                    @for key in others {
                        label { input type="checkbox" name="allowed_keys" value=(key.id); " " (key.name) " (" code { (key.id) } ")" }
                    }
                    p.help { "The connection belongs to your key; admins may use every connection." }
                }
            }
            button type="submit" {
                @if integration.auth_method == AuthMethod::Oauth2 { "Connect: go to the app's login page" }
                @else { "Add the connection" }
            }
        }
    }
}
