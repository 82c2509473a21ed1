//! API keys (admins only): the list, a new key (shown once), and revoking one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::UiError;
use super::layout::{self, Field, Notice, Section, csrf};
use super::session::{Console, Submitted};
use crate::keys::Role;
use crate::server::AppState;
use crate::service::ServiceError;
use crate::service::model::{KeyCreated, KeyInput};

pub(crate) async fn list(State(state): State<AppState>, console: Console) -> Result<Response, UiError> {
    keys_page(&state, &console, None, None, StatusCode::OK).await
}

async fn keys_page(
    state: &AppState,
    console: &Console,
    created: Option<&KeyCreated>,
    notice: Option<Notice<'_>>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let keys = state.service.list_keys(console.who()).await.map_err(|e| UiError::new(console, e))?;
    let body = html! {
        h1 { "API keys" }
        p.lead { "Workflows and people sign in with a key. Admin keys manage everything; member keys use the \
                  connections they create or are allowed to use." }
        @if let Some(notice) = notice { (notice.render()) }
        @if let Some(created) = created {
            section.card aria-labelledby="new-key-heading" {
                h2 #new-key-heading { "The new key “" (created.name) "”" }
                (Notice::Good("Copy it now: Keyway keeps only its hash and will not show it again.").render())
                div.copy {
                    code #new-key { (created.key) }
                    button.secondary type="button" data-copy="new-key" hidden { "Copy" }
                }
            }
        }
        div.table-wrap {
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Id" }
                    th scope="col" { "Created" } th scope="col" { "Status" }
                } }
                tbody {
                    @for key in &keys {
                        tr {
                            td { (key.name) @if key.id == console.who().key_id { " (you)" } }
                            td { (key.role.as_str()) }
                            td { code { (key.id) } }
                            td { (layout::time(&key.created_at)) }
                            td {
                                @if let Some(at) = &key.revoked_at { "Revoked " (layout::time(at)) } @else {
                                    form method="post" action={ "/ui/keys/" (key.id) "/revoke" } {
                                        (csrf(console))
                                        button.danger type="submit" aria-label={ "Revoke " (key.name) } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="create-heading" {
            h2 #create-heading { "Create a key" }
            form.card method="post" action="/ui/keys" {
                (csrf(console))
                (Field::new("name", "Name", "", "Who or what will use it, such as “billing workflow”.").render(None))
                fieldset {
                    legend { "Role" }
                    label { input type="radio" name="role" value="member" checked; " Member: uses its own connections and those it is allowed" }
                    label { input type="radio" name="role" value="admin"; " Admin: manages integrations, plugins and keys" }
                }
                button type="submit" { "Create the key" }
            }
        }
    };
    let mut response = layout::page(console, Section::Keys, "API keys", body);
    *response.status_mut() = status;
    Ok(response)
}

pub(crate) async fn create(State(state): State<AppState>, form: Submitted) -> Result<Response, UiError> {
    let Submitted { console, fields } = form;
    let role = match fields.get("role") {
        Some("admin") => Role::Admin,
        Some("member") | None => Role::Member,
        Some(other) => {
            let message = format!("There is no role `{other}`: choose member or admin.");
            return keys_page(&state, &console, None, Some(Notice::Bad(&message)), StatusCode::BAD_REQUEST).await;
        }
    };
    match state.service.create_key(console.who(), KeyInput { role, name: fields.text("name") }).await {
        // The key is on this response's page only; it is never stored or shown again.
        Ok(created) => keys_page(&state, &console, Some(&created), None, StatusCode::CREATED).await,
        Err(e) => Err(UiError::new(&console, e)),
    }
}

pub(crate) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: Submitted,
) -> Result<Response, UiError> {
    let console = form.console;
    match state.service.revoke_key(console.who(), &id).await {
        // Revoking one's own key ends this session too: the sign-in page follows.
        Ok(()) => Ok(Redirect::to("/ui/keys").into_response()),
        Err(e @ ServiceError::Conflict(_)) => {
            let message = e.to_string();
            keys_page(&state, &console, None, Some(Notice::Bad(&message)), StatusCode::CONFLICT).await
        }
        Err(e) => Err(UiError::new(&console, e)),
    }
}
