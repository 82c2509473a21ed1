//! Plugins: the installed versions, an upload (install errors shown in words), and each
//! version's manifest: hosts, inputs, settings and actions.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::UiError;
use super::layout::{self, Notice, Section, csrf};
use super::session::{self, Console};
use crate::server::AppState;
use crate::service::ServiceError;
use crate::service::model::PluginView;

pub(crate) async fn list(State(state): State<AppState>, console: Console) -> Result<Response, UiError> {
    plugins_page(&state, &console, None, StatusCode::OK).await
}

async fn plugins_page(
    state: &AppState,
    console: &Console,
    notice: Option<Notice<'_>>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let plugins = state.service.list_plugins(console.who()).await.map_err(|e| UiError::new(console, e))?;
    let body = html! {
        h1 { "Plugins" }
        p.lead { "A plugin is a WebAssembly component that formats one app's OAuth requests its own way. The built-in "
                 code { "standard" } " plugin is the help article's flow; integrations name the plugin they use." }
        @if let Some(notice) = notice { (notice.render()) }
        div.table-wrap {
            table {
                thead { tr {
                    th scope="col" { "Plugin" } th scope="col" { "Version" } th scope="col" { "What it is for" }
                    th scope="col" { "Installed" }
                } }
                tbody {
                    @for p in &plugins {
                        tr {
                            td { a href={ "/ui/plugins/" (p.hash) } { code { (p.name) } } }
                            td { (p.version) }
                            td { (p.description) }
                            td {
                                @if p.builtin { "Built in" }
                                @else if let Some(at) = &p.installed_at { (layout::time(at)) }
                            }
                        }
                    }
                }
            }
        }
        @if console.is_admin() { (upload_form(console)) }
    };
    let mut response = layout::page(console, Section::Plugins, "Plugins", body);
    *response.status_mut() = status;
    Ok(response)
}

fn upload_form(console: &Console) -> Markup {
    html! {
        section aria-labelledby="upload-heading" {
            h2 #upload-heading { "Install a plugin" }
            form.card method="post" action="/ui/plugins" enctype="multipart/form-data" {
                (csrf(console))
                div.field {
                    label for="f-component" { "Component (.wasm)" }
                    input #f-component type="file" name="component" accept=".wasm,application/wasm" required
                        aria-describedby="f-component-help";
                    p.help #f-component-help {
                        "Build one with " code { "keyway plugin build" } " (it is in "
                        code { "target/wasm32-wasip2/release/" } "); " code { "keyway plugin check" }
                        " tries it against a provider before you install it. Installing the same name and version \
                         again with other bytes is refused: bump the version."
                    }
                }
                button type="submit" { "Install" }
            }
        }
    }
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    console: Console,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, UiError> {
    if let Some(refused) = session::origin_refusal(&console, &headers, &state) {
        return Ok(refused);
    }
    let mut token = None;
    let mut component = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let message = format!("The upload could not be read ({e}); choose the file again and retry.");
                return plugins_page(&state, &console, Some(Notice::Bad(&message)), StatusCode::BAD_REQUEST).await;
            }
        };
        match field.name() {
            Some("_csrf") => token = field.text().await.ok(),
            // Read whole before the token is judged: answering mid-upload would reset the
            // browser's connection instead of showing it the refusal. The route caps the size.
            Some("component") => match field.bytes().await {
                Ok(bytes) => component = Some(bytes),
                Err(e) => {
                    let message = format!("The component could not be read ({e}); choose the file again and retry.");
                    return plugins_page(&state, &console, Some(Notice::Bad(&message)), StatusCode::BAD_REQUEST).await;
                }
            },
            _ => {}
        }
    }
    if let Some(refused) = session::csrf_refusal(&console, token.as_deref()) {
        return Ok(refused);
    }
    let Some(bytes) = component.filter(|b| !b.is_empty()) else {
        let notice = Notice::Bad("Choose a component file (.wasm) to install.");
        return plugins_page(&state, &console, Some(notice), StatusCode::BAD_REQUEST).await;
    };
    match state.service.install_plugin(console.who(), &bytes).await {
        Ok(plugin) => Ok(Redirect::to(&format!("/ui/plugins/{}?installed=1", plugin.hash)).into_response()),
        Err(e @ (ServiceError::BadRequest(_) | ServiceError::Conflict(_) | ServiceError::Invalid(_))) => {
            let message = format!("The plugin was not installed: {e}");
            plugins_page(&state, &console, Some(Notice::Bad(&message)), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    console: Console,
    Path(hash): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, UiError> {
    let fail = |e| UiError::new(&console, e);
    let plugins = state.service.list_plugins(console.who()).await.map_err(fail)?;
    let Some(view) = plugins.into_iter().find(|p| p.hash == hash) else {
        return Err(fail(ServiceError::NotFound(format!("no installed plugin has the hash `{hash}`"))));
    };
    let spec = format!("{}@{}", view.name, view.version);
    let plugin = state.service.plugins().resolve(&spec).await.map_err(|e| fail(e.into()))?;
    let manifest = &plugin.manifest;
    let installed = query.is_some_and(|q| q.contains("installed"));
    let body = html! {
        p { a href="/ui/plugins" { "← Plugins" } }
        div.row {
            h1 { code { (manifest.name) } " " (manifest.version) }
            @if view.builtin { span.badge.good { "built in" } }
        }
        @if installed {
            (Notice::Good(&format!("Installed. New integrations can use it as `{}` (the newest version) or `{spec}`.", manifest.name)).render())
        }
        p.lead { (manifest.description) }
        (facts(&view))
        section aria-labelledby="hosts-heading" {
            h2 #hosts-heading { "Hosts it may call" }
            @if manifest.hosts.is_empty() {
                p { "Only its integration's site and OAuth URLs." }
            } @else {
                ul { @for host in &manifest.hosts { li { code { (host) } } } }
                p.help { "Besides its integration's site; " code { "{input}" } " is filled in from each connection's inputs." }
            }
        }
        section aria-labelledby="inputs-heading" {
            h2 #inputs-heading { "Connection inputs" }
            @if manifest.inputs.is_empty() { p { "None: a connection needs only the sign-in." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Label" } th scope="col" { "Required" }
                                 th scope="col" { "Pattern" } } }
                    tbody { @for i in &manifest.inputs { tr {
                        td { code { (i.name) } } td { (i.label) } td { (yes_no(i.required)) }
                        td { @if let Some(p) = &i.pattern { code { (p) } } @else { "—" } }
                    } } }
                } }
            }
        }
        section aria-labelledby="settings-heading" {
            h2 #settings-heading { "Settings" }
            @if manifest.settings.is_empty() { p { "None." } } @else {
                div.table-wrap { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "What it is" } th scope="col" { "Required" }
                                 th scope="col" { "Default" } } }
                    tbody { @for s in &manifest.settings { tr {
                        td { code { (s.name) } @if s.secret { " " span.badge.wait { "secret" } } }
                        td { (s.description) } td { (yes_no(s.required)) }
                        td { @if let Some(d) = &s.default { code { (d) } } @else { "—" } }
                    } } }
                } }
            }
        }
        section aria-labelledby="actions-heading" {
            h2 #actions-heading { "Actions" }
            @if manifest.actions.is_empty() { p { "None." } } @else {
                @for a in &manifest.actions {
                    details.card {
                        summary { code { (a.name) } " — " (a.description) }
                        h3 { "Input schema" }
                        pre { (layout::pretty(&a.input_schema)) }
                        h3 { "Output schema" }
                        pre { (layout::pretty(&a.output_schema)) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&console, Section::Plugins, &spec, body))
}

fn facts(view: &PluginView) -> Markup {
    html! {
        dl.facts.card {
            dt { "Plugin API" } dd { (view.api_version.as_deref().unwrap_or("unknown")) }
            dt { "SHA-256" } dd { code { (view.hash) } }
            dt { "Installed" } dd {
                @if view.builtin { "Built into this Keyway" }
                @else if let Some(at) = &view.installed_at { (layout::time(at)) }
            }
        }
    }
}

fn yes_no(value: bool) -> &'static str {
    if value { "Yes" } else { "No" }
}
