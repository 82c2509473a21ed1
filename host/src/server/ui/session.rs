//! Signing in and out, the signed-in user as an extractor, and forms checked against CSRF.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::fields::Fields;
use super::layout;
use crate::keys::ApiKey;
use crate::server::AppState;
use crate::service::console::ConsoleSession;

/// The session cookie's name. Distinct from any provider's, which may share the host.
pub const SESSION_COOKIE: &str = "keyway_session";

/// The signed-in user. A request without a live session is sent to the sign-in page.
#[derive(Clone)]
pub(crate) struct Console {
    /// Who, with their role and CSRF token.
    pub session: ConsoleSession,
    /// The cookie's id, to sign out.
    id: String,
}

impl Console {
    /// The caller, for service calls.
    pub fn who(&self) -> &crate::keys::Principal {
        &self.session.principal
    }

    /// Whether the signed-in key is an admin's.
    pub fn is_admin(&self) -> bool {
        self.session.principal.is_admin()
    }
}

/// The session id in the request's cookie, if any.
pub(crate) fn cookie_session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie_session_id(&parts.headers) else {
            return Err(Redirect::to("/ui/sign-in").into_response());
        };
        match state.service.console_session(&id).await {
            Ok(session) => Ok(Console { session, id }),
            Err(crate::service::ServiceError::Unauthenticated(why)) => Err(sign_in_response(
                StatusCode::UNAUTHORIZED,
                Some(&why),
                // A dead cookie is cleared, so the next visit starts clean.
                Some(clear_cookie(state)),
            )),
            Err(e) => Err(super::UiError { console: None, error: e }.into_response()),
        }
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Console {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        Ok(<Console as FromRequestParts<AppState>>::from_request_parts(parts, state).await.ok())
    }
}

/// A submitted form with its signed-in user, refused unless it carries the session's CSRF
/// token and, when the browser says where it came from, comes from this origin.
pub(crate) struct Submitted {
    pub console: Console,
    pub fields: Fields,
}

impl FromRequest<AppState> for Submitted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let console = <Console as FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        check_origin(&parts.headers, state).map_err(|e| forbidden(&console, e))?;
        let req = Request::from_parts(parts, body);
        let fields = Fields::from_request(req, state).await?;
        if let Some(refused) = csrf_refusal(&console, fields.get("_csrf")) {
            return Err(refused);
        }
        Ok(Submitted { console, fields })
    }
}

/// The page refusing a form whose `_csrf` field is not the session's token; `None` when it is.
pub(crate) fn csrf_refusal(console: &Console, token: Option<&str>) -> Option<Response> {
    if token.is_some_and(|token| constant_time_eq(token, &console.session.csrf)) {
        return None;
    }
    Some(forbidden(
        console,
        "This form is missing its security token, or it came from an old page. Go back, reload the page and submit \
         it again.",
    ))
}

/// The origin check of [`Submitted`], for forms it cannot read (file uploads): the page
/// refusing a cross-site form, or `None`.
pub(crate) fn origin_refusal(console: &Console, headers: &HeaderMap, state: &AppState) -> Option<Response> {
    check_origin(headers, state).err().map(|e| forbidden(console, e))
}

fn forbidden(console: &Console, message: &str) -> Response {
    layout::error_page(Some(console), StatusCode::FORBIDDEN, "Form refused", message)
}

/// Refuses a request whose `Origin` is another site's. Browsers send it on every POST; a
/// request without one (curl) is judged by its CSRF token alone.
fn check_origin(headers: &HeaderMap, state: &AppState) -> Result<(), &'static str> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let public = url::Url::parse(state.service.flows().redirect_uri()).ok().map(|u| u.origin().ascii_serialization());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let same = public.as_deref() == Some(origin)
        || host.is_some_and(|h| origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(h));
    if same { Ok(()) } else { Err("This form was sent from another site, so it was refused.") }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether cookies must be `Secure`: when the public URL is https.
fn secure(state: &AppState) -> bool {
    state.service.flows().redirect_uri().starts_with("https://")
}

fn session_cookie(state: &AppState, id: &str) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    let max_age = state.service.console_session_ttl().as_secs();
    HeaderValue::from_str(&format!("{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"))
        .expect("a session id is a cookie-safe token")
}

fn clear_cookie(state: &AppState) -> HeaderValue {
    let secure = if secure(state) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .expect("a static cookie")
}

fn sign_in_response(status: StatusCode, error: Option<&str>, cookie: Option<HeaderValue>) -> Response {
    let body = html! {
        section.narrow {
            h1 { "Sign in to Keyway" }
            p.lead { "Use an API key. Admin keys manage integrations, plugins and keys; member keys see the \
                      connections they may use." }
            form method="post" action="/ui/sign-in" {
                div.field.invalid[error.is_some()] {
                    label for="key" { "API key" }
                    input #key type="password" name="key" autocomplete="current-password" required
                        aria-describedby="key-help" aria-invalid=[error.map(|_| "true")];
                    @if let Some(error) = error {
                        p.error #key-error role="alert" { (error) }
                    }
                    p.help #key-help {
                        "The key starts with " code { "kw_" } ". " code { "keyway serve" } " prints the first admin \
                         key when it creates a database; an admin makes more under Keys. The console keeps only a \
                         session id in a cookie, never the key."
                    }
                }
                button type="submit" { "Sign in" }
            }
        }
    };
    let mut response = layout::bare_page(status, "Sign in", body);
    if let Some(cookie) = cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

pub(crate) async fn sign_in_page(console: Option<Console>) -> Response {
    if console.is_some() {
        return Redirect::to("/ui/integrations").into_response();
    }
    sign_in_response(StatusCode::OK, None, None)
}

pub(crate) async fn sign_in(State(state): State<AppState>, headers: HeaderMap, fields: Fields) -> Response {
    // No session yet, so no CSRF token: a cross-site sign-in (into the attacker's account) is
    // refused by its origin instead.
    if let Err(why) = check_origin(&headers, &state) {
        return sign_in_response(StatusCode::FORBIDDEN, Some(why), None);
    }
    let key = fields.get("key").map(str::trim).unwrap_or_default();
    if key.is_empty() {
        return sign_in_response(StatusCode::BAD_REQUEST, Some("Enter an API key."), None);
    }
    match state.service.console_sign_in(&ApiKey::new(key)).await {
        Ok((id, _)) => {
            let mut response = Redirect::to("/ui/integrations").into_response();
            response.headers_mut().append(header::SET_COOKIE, session_cookie(&state, &id));
            response
        }
        Err(crate::service::ServiceError::Unauthenticated(why)) => {
            sign_in_response(StatusCode::UNAUTHORIZED, Some(&capitalized(&why)), None)
        }
        Err(e) => super::UiError { console: None, error: e }.into_response(),
    }
}

pub(crate) async fn sign_out(State(state): State<AppState>, form: Submitted) -> Response {
    if let Err(e) = state.service.console_sign_out(&form.console.id).await {
        return super::UiError::new(&form.console, e).into_response();
    }
    let mut response = Redirect::to("/ui/sign-in").into_response();
    response.headers_mut().append(header::SET_COOKIE, clear_cookie(&state));
    response
}

/// A service message as a sentence on a page.
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
