//! The console's page shell and its form pieces: one layout, one way to draw a field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::session::Console;

/// The console's sections, for the navigation's current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Integrations,
    Connections,
    Plugins,
    Keys,
}

/// A page in the console's layout, with its navigation, for a signed-in user.
pub(crate) fn page(console: &Console, section: Section, title: &str, body: Markup) -> Response {
    respond(StatusCode::OK, shell(Some(console), Some(section), title, body))
}

/// A page with no navigation: the sign-in page.
pub(crate) fn bare_page(status: StatusCode, title: &str, body: Markup) -> Response {
    respond(status, shell(None, None, title, body))
}

/// A page that says what went wrong, in words, and where to go next.
pub(crate) fn error_page(console: Option<&Console>, status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        section.narrow {
            h1 { (title) }
            p.notice.bad role="alert" { (sentence(message)) }
            p { a href="/ui/integrations" { "Back to the integrations" } }
        }
    };
    respond(status, shell(console, None, title, body))
}

fn shell(console: Option<&Console>, section: Option<Section>, title: &str, body: Markup) -> Markup {
    let link = |target: Section, href: &str, text: &str| {
        html! {
            li { a href=(href) aria-current=[(section == Some(target)).then_some("page")] { (text) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Keyway" }
                link rel="stylesheet" href="/ui/assets/style.css";
                script src="/ui/assets/console.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/ui/integrations" { "Keyway" }
                    @if let Some(console) = console {
                        nav aria-label="Main" {
                            ul {
                                (link(Section::Integrations, "/ui/integrations", "Integrations"))
                                (link(Section::Connections, "/ui/connections", "Connections"))
                                (link(Section::Plugins, "/ui/plugins", "Plugins"))
                                @if console.is_admin() {
                                    (link(Section::Keys, "/ui/keys", "Keys"))
                                }
                            }
                        }
                        form.who method="post" action="/ui/sign-out" {
                            (csrf(console))
                            span { "Signed in as " strong { (console.session.key_name) } " (" (role(console)) ")" }
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main { (body) }
                footer {
                    p { "Keyway · the REST API is described at " a href="/api/v1/openapi.json" { "/api/v1/openapi.json" } }
                }
            }
        }
    }
}

fn role(console: &Console) -> &'static str {
    if console.is_admin() { "admin" } else { "member" }
}

/// Sends a page with the headers every console page carries: no caching (pages show
/// account data), no framing, and scripts and styles from this origin only.
fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, Html(markup.into_string())).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    // No `form-action`: "Add connection" posts here and is redirected on to the app's login page,
    // which Chromium would count against it.
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; base-uri 'none'; \
             frame-ancestors 'none'",
        ),
    );
    response
}

/// The hidden CSRF field every form that changes something carries.
pub(crate) fn csrf(console: &Console) -> Markup {
    html! { input type="hidden" name="_csrf" value=(console.session.csrf); }
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Url,
    /// Never echoed back: the value attribute stays empty.
    Secret,
    Lines,
    Number,
}

/// One labelled field: its input, its help text, and its error when the last submit had one.
pub(crate) struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub help: &'a str,
    pub kind: Kind,
    pub required: bool,
    /// Optional, but not marked so: needed for one authorization method and not another.
    pub unmarked: bool,
    pub placeholder: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str, value: &'a str, help: &'a str) -> Self {
        Self { name, label, value, help, kind: Kind::Text, required: false, unmarked: false, placeholder: None }
    }

    pub fn unmarked(mut self) -> Self {
        self.unmarked = true;
        self
    }

    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub fn placeholder(mut self, text: &'a str) -> Self {
        self.placeholder = Some(text);
        self
    }

    /// The field, with `error` beside it.
    pub fn render(&self, error: Option<&str>) -> Markup {
        let id = format!("f-{}", self.name.replace(['.', ' '], "-"));
        let help_id = format!("{id}-help");
        let error_id = format!("{id}-error");
        let described = if error.is_some() { format!("{error_id} {help_id}") } else { help_id.clone() };
        html! {
            div.field.invalid[error.is_some()] {
                label for=(id) {
                    (self.label)
                    @if !self.required && !self.unmarked { span.optional { " (optional)" } }
                }
                @match self.kind {
                    Kind::Lines => {
                        textarea id=(id) name=(self.name) rows="4" required[self.required]
                            aria-describedby=(described) aria-invalid=[error.map(|_| "true")]
                            placeholder=[self.placeholder] { (self.value) }
                    }
                    _ => {
                        input id=(id) name=(self.name) value=(if self.kind == Kind::Secret { "" } else { self.value })
                            type=(match self.kind { Kind::Url => "url", Kind::Secret => "password", Kind::Number => "number", _ => "text" })
                            autocomplete=[(self.kind == Kind::Secret).then_some("new-password")]
                            required[self.required] placeholder=[self.placeholder]
                            aria-describedby=(described) aria-invalid=[error.map(|_| "true")];
                    }
                }
                @if let Some(error) = error {
                    p.error id=(error_id) role="alert" { (sentence(error)) }
                }
                @if !self.help.is_empty() {
                    p.help id=(help_id) { (PreEscaped(inline_code(self.help))) }
                }
            }
        }
    }
}

/// A service message as a sentence on a page: capitalized, `backticks` shown as code.
pub(crate) fn sentence(text: &str) -> PreEscaped<String> {
    PreEscaped(inline_code(&super::session::capitalized(text)))
}

/// Help text with `backticks` shown as code; the text itself is escaped first.
fn inline_code(text: &str) -> String {
    let escaped = html! { (text) }.into_string();
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            out.push_str("<code>");
            out.push_str(part);
            out.push_str("</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A message at the top of a page or a form.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Notice<'a> {
    /// Something worked.
    Good(&'a str),
    /// Something failed: said with `role="alert"`, so screen readers announce it.
    Bad(&'a str),
    /// Worth knowing.
    Info(&'a str),
}

impl Notice<'_> {
    pub fn render(self) -> Markup {
        match self {
            Notice::Good(text) => html! { p.notice.good role="status" { (sentence(text)) } },
            Notice::Bad(text) => html! { p.notice.bad role="alert" { (sentence(text)) } },
            Notice::Info(text) => html! { p.notice.info { (sentence(text)) } },
        }
    }
}

/// A status as a coloured label: `active`, `failed`, `needs_reauth`, `pending`.
pub(crate) fn status_badge(status: &str) -> Markup {
    let tone = match status {
        "active" => "good",
        "failed" | "needs_reauth" => "bad",
        _ => "wait",
    };
    html! { span class={ "badge " (tone) } { (status.replace('_', " ")) } }
}

/// A time as the API gives it (RFC 3339), in a `<time>` element.
pub(crate) fn time(rfc3339: &str) -> Markup {
    html! { time datetime=(rfc3339) { (rfc3339.replace('T', " ").trim_end_matches('Z')) " UTC" } }
}

/// Pretty JSON for a `<pre>`.
pub(crate) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
