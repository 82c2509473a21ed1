//! The bodies of Keyway's fuzz targets, one `pub fn` per target taking the raw input.
//!
//! The `fuzz_targets/*.rs` binaries hand libFuzzer's input to these functions, and
//! `tests/replay.rs` runs every committed file of `corpus/<target>/` through the same function,
//! so a reproducer, once committed, is an ordinary test. Each function panics only when an
//! invariant of the code under test breaks; refusing the input is never a failure.
//!
//! The inputs are text formats a person can write (an HTTP response, a query string, a form), so
//! the seeds read like what the code meets in production.

use keyway_declarative::{Definition, StepResponse};
use keyway_policy::integration::{IntegrationForm, check_path, scopes_from_lines, validate_form};
use keyway_sdk::{
    AuthError, AuthMethod, ClientAuth, CodeGrant, Grant, HookContext, HttpResponse, Integration, form, standard,
};
use serde_json::{Value, json};
use url::Url;

/// A target's body: it panics when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target, by name (as in `corpus/<name>/`), for the replay test.
pub const TARGETS: &[(&str, Target)] = &[
    ("token_response", token_response),
    ("callback", callback),
    ("declarative_template", declarative_template),
    ("integration", integration),
    ("allowlist", allowlist),
];

/// The context the standard hooks are called with: a GitHub-like integration.
fn context() -> HookContext {
    HookContext {
        integration: Integration {
            auth_method: AuthMethod::Oauth2,
            client_id: "client-1".into(),
            client_secret: "secret-1".into(),
            site: "https://app.test".into(),
            authorization_url: "https://app.test/login/oauth/authorize".into(),
            token_path: "/login/oauth/access_token".into(),
            revoke_path: Some("/oauth/revoke".into()),
            scopes: vec!["read:user".into()],
            client_auth: ClientAuth::Basic,
            pkce: true,
            settings: "{}".into(),
        },
        inputs: Vec::new(),
        metadata: Vec::new(),
    }
}

/// Splits `data` at the first `separator`.
fn split_once<'a>(data: &'a [u8], separator: &[u8]) -> (&'a [u8], Option<&'a [u8]>) {
    match data.windows(separator.len()).position(|window| window == separator) {
        Some(at) => (&data[..at], Some(&data[at + separator.len()..])),
        None => (data, None),
    }
}

/// Reads an HTTP response written as text: a status line (`200`, or `HTTP/1.1 400 Bad
/// Request`), header lines `name: value`, a blank line, then the body as raw bytes. Anything
/// unreadable in the head becomes status 200 or is skipped, so every input is some response.
fn http_response(data: &[u8]) -> HttpResponse {
    let (head, body) = split_once(data, b"\n\n");
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|line| line.split_whitespace().find_map(|word| word.parse::<u16>().ok())).unwrap_or(200);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    HttpResponse { status, headers, body: body.unwrap_or_default().to_vec() }
}

/// `token_response`: the standard component's reading of the token endpoint's answer
/// ([`standard::parse_token_response`]), on an HTTP response written as text (see
/// [`http_response`]): JSON and form bodies, `expires_in` as a number or string, error bodies.
///
/// Invariants: no panic; a success came from a 2xx response and has a non-empty access token
/// and no empty scope; the body snippet error messages quote is at most about 200 characters.
pub fn token_response(data: &[u8]) {
    let response = http_response(data);
    let ctx = context();
    let grant = Grant::AuthorizationCode(CodeGrant {
        code: "the-code".into(),
        redirect_uri: "https://keyway.test/oauth".into(),
        code_verifier: Some("verifier".into()),
    });
    match standard::parse_token_response(&ctx, &grant, &response) {
        Ok(set) => {
            assert!(!set.access_token.is_empty(), "a success without an access token");
            assert!(response.is_success(), "HTTP {} was read as a success", response.status);
            if let Some(scopes) = &set.scopes {
                assert!(scopes.iter().all(|s| !s.is_empty()), "an empty scope in {scopes:?}");
            }
        }
        Err(err) => assert!(!err.to_string().is_empty(), "{err:?} says nothing"),
    }
    // Error messages quote this snippet of the body, never the whole of a large one.
    let snippet = standard::body_snippet(&response);
    assert!(snippet.chars().count() <= 201, "a snippet of {} characters", snippet.chars().count());
}

/// `callback`: the standard component's reading of the callback query
/// ([`standard::parse_callback`], [`standard::parse_callback_with`]) from a raw query string,
/// and the SDK's query-editing helpers on the same query.
///
/// Invariants: no panic; an `error` parameter always wins and is reported as the provider's
/// error; otherwise the first `code` is the result; a query without either is an error that
/// says so; removing a parameter leaves none of that name.
pub fn callback(data: &[u8]) {
    let query = form::parse(data);
    let ctx = context();
    let result = standard::parse_callback(&ctx, &query);
    let first = |name: &str| query.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    match (first("error"), first("code"), &result) {
        (Some(code), _, Err(AuthError::Provider(error))) => assert_eq!(error.code, code),
        (Some(_), _, other) => panic!("a callback with `error` was read as {other:?}"),
        (None, Some(code), Ok(callback)) => assert_eq!(callback.code, code),
        (None, None, Err(AuthError::InvalidResponse(message))) => assert!(message.contains("`code`"), "{message}"),
        (None, _, other) => panic!("query {query:?} was read as {other:?}"),
    }
    // An app that names the code differently: the first parameter's name, whatever it is.
    if let Some((name, value)) = query.first()
        && name != "error"
        && first("error").is_none()
    {
        let callback = standard::parse_callback_with(&query, name).expect("the parameter is there");
        assert_eq!(&callback.code, value);
    }

    let Ok(text) = std::str::from_utf8(data) else { return };
    let url = format!("https://keyway.test/oauth?{text}");
    let appended = keyway_sdk::url::append_query(&url, &[("state", "s t")]);
    assert!(keyway_sdk::url::query_pairs(&appended).contains(&("state".to_string(), "s t".to_string())));
    if let Some((name, _)) = keyway_sdk::url::query_pairs(&url).first() {
        let removed = keyway_sdk::url::remove_query_param(&url, name);
        let left = keyway_sdk::url::query_pairs(&removed);
        assert!(left.iter().all(|(n, _)| n != name), "`{name}` is still in {removed}");
        let replaced = keyway_sdk::url::replace_query_param(&url, name, "v");
        let values: Vec<_> = keyway_sdk::url::query_pairs(&replaced).into_iter().filter(|(n, _)| n == name).collect();
        assert_eq!(values, [(name.clone(), "v".to_string())], "replacing `{name}` in {url}");
    }
}

/// `declarative_template`: a declarative action's definition parsed and validated
/// ([`Definition::parse`]), then run ([`keyway_declarative::run`]) with templates rendered
/// against an input and canned step responses.
///
/// The input is parts separated by lines of `---`: the definition JSON, the action's input JSON
/// (`{}` when missing or not JSON), then one HTTP response per step written as for
/// `token_response` (a step past the last one gets a transport error).
///
/// Invariants: no panic (errors are values, and their messages render); an accepted definition
/// validates again and survives a JSON round trip; every request sent has an absolute or
/// `/`-relative path and, with a body, a JSON one.
pub fn declarative_template(data: &[u8]) {
    let mut parts = Vec::new();
    let mut rest = Some(data);
    while let Some(part) = rest {
        let (head, tail) = split_once(part, b"\n---\n");
        parts.push(head);
        rest = tail;
    }
    let Ok(source) = std::str::from_utf8(parts[0]) else { return };
    let definition = match Definition::parse(source) {
        Ok(definition) => definition,
        Err(err) => {
            assert!(!err.to_string().is_empty());
            let _ = err.field();
            return;
        }
    };
    definition.validate().expect("a parsed definition validates again");
    let json = serde_json::to_string(&definition).expect("a definition serializes");
    let again = Definition::parse(&json).unwrap_or_else(|e| panic!("{json} no longer parses: {e}"));
    assert_eq!(again, definition, "a JSON round trip changed the definition");

    let input: Value = parts.get(1).and_then(|part| serde_json::from_slice(part).ok()).unwrap_or_else(|| json!({}));
    let mut responses = parts.iter().skip(2).map(|part| http_response(part));
    let result = keyway_declarative::run(&definition, &input, |request| {
        let lower = request.path.to_ascii_lowercase();
        assert!(
            request.path.starts_with('/') || lower.starts_with("https://") || lower.starts_with("http://"),
            "step `{}` was sent to {:?}",
            request.step,
            request.path
        );
        if let Some(body) = &request.body {
            serde_json::from_slice::<Value>(body).expect("a step's body is JSON");
        }
        let response = responses.next().ok_or_else(|| "no response left".to_string())?;
        Ok(StepResponse { status: response.status, headers: response.headers, body: response.body })
    });
    if let Err(err) = result {
        assert!(!err.to_string().is_empty());
        let _ = err.concerns_input();
    }
}

/// `integration`: the integration form's validation ([`validate_form`], which the host's
/// `IntegrationConfig::validate` runs), on a form-encoded submission: `name`, `auth_method`,
/// `client_id`, `client_secret`, `site`, `authorization_url`, `token_path`, `revoke_path`,
/// `scopes` (one per line), `issuer` and `settings` (JSON). Missing fields take working values,
/// so mutations of one field are judged alone.
///
/// Invariants: no panic; when the form is accepted, the site is an http(s) URL with a host and
/// nothing else (no path, query, fragment, credentials or control characters), the
/// authorization URL has no control characters, and the token and revoke paths start
/// with `/`, have no scheme or host, and, joined to the site the way the SDK or `Url::join`
/// does it, still point at the site's host.
pub fn integration(data: &[u8]) {
    let pairs = form::parse(data);
    let field = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let scopes = field("scopes").map(scopes_from_lines).unwrap_or_default();
    let settings_is_object =
        field("settings").is_none_or(|s| serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_object()));
    let form = IntegrationForm {
        name: field("name").unwrap_or("yourapp"),
        oauth2: field("auth_method").is_none_or(|m| m == "oauth2"),
        client_id: field("client_id").unwrap_or("client-1"),
        client_secret: field("client_secret").or(Some("secret-1")),
        site: field("site").unwrap_or("https://yourapp.com"),
        authorization_url: field("authorization_url").unwrap_or("https://yourapp.com/login/oauth/authorize"),
        token_path: field("token_path").unwrap_or("/login/oauth/access_token"),
        revoke_path: field("revoke_path"),
        scopes: &scopes,
        issuer: field("issuer"),
        settings_is_object,
    };
    let valid = match validate_form(&form) {
        Ok(valid) => valid,
        Err(err) => {
            assert!(!err.field.is_empty() && !err.message.is_empty(), "{err:?}");
            return;
        }
    };
    assert!(valid.scopes.iter().all(|s| !s.is_empty() && s.trim() == s), "{:?}", valid.scopes);
    let site = Url::parse(&valid.site).unwrap_or_else(|e| panic!("accepted site {:?}: {e}", valid.site));
    assert!(matches!(site.scheme(), "http" | "https"), "accepted site {:?}", valid.site);
    assert!(site.host_str().is_some_and(|h| !h.is_empty()), "accepted site {:?} has no host", valid.site);
    assert_eq!(site.path(), "/", "accepted site {:?} has a path", valid.site);
    assert_eq!(site.query(), None, "accepted site {:?} has a query", valid.site);
    assert_eq!(site.fragment(), None, "accepted site {:?} has a fragment", valid.site);
    assert!(site.username().is_empty() && site.password().is_none(), "accepted site {:?} has credentials", valid.site);
    // The parser drops some control characters, so an accepted URL with one is not what was checked.
    assert!(!valid.site.contains(char::is_control), "accepted site {:?}", valid.site);
    if form.oauth2 {
        assert!(!form.authorization_url.contains(char::is_control), "accepted {:?}", form.authorization_url);
    }
    if !form.oauth2 {
        return;
    }
    for path in std::iter::once(&valid.token_path).chain(&valid.revoke_path) {
        assert!(path.starts_with('/'), "accepted path {path:?}");
        assert!(Url::parse(path).is_err() && !path.contains("://"), "accepted path {path:?} has a scheme");
        for joined in [Url::parse(&keyway_sdk::url::join(&valid.site, path)), site.join(path)] {
            let joined = joined.unwrap_or_else(|e| panic!("{} + {path:?}: {e}", valid.site));
            assert_eq!(
                (joined.host(), joined.port_or_known_default()),
                (site.host(), site.port_or_known_default()),
                "{} + accepted path {path:?} is {joined}",
                valid.site
            );
        }
        // Validation is idempotent: an accepted path is accepted again as it is.
        assert_eq!(check_path("token_path", path, &valid.site, "/x").as_ref(), Ok(path));
    }
}

/// The allowlist and the URL matcher, fed URL-confusion inputs. Lines: the first holds the
/// allowed URLs (space-separated, as the integration's URLs and a manifest's `hosts` would be);
/// the last is a connection input; every line between is a URL a plugin asks to call.
///
/// Invariants:
/// - host normalisation is idempotent, and a URL is judged the same after a round trip
///   through its own serialisation;
/// - a URL passes exactly when its scheme, port and normalised host match an entry, so no
///   userinfo, backslash, percent-encoding or trailing-dot spelling reaches another host;
/// - a connection input fills a host template only as one label: the filled URL's host is the
///   template's with the input in place, and the same goes for a path segment.
pub fn allowlist(data: &[u8]) {
    use keyway_policy::template::{Value, fill_url};
    use keyway_policy::{Allowlist, HostName, HostPattern};

    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let Some((first, rest)) = lines.split_first() else { return };
    let (input, candidates) = rest.split_last().map_or(("", rest), |(last, middle)| (*last, middle));

    let mut list = Allowlist::default();
    let mut entries = Vec::new();
    for allowed in first.split_whitespace() {
        if list.allow(allowed).is_ok() {
            let url = Url::parse(allowed).expect("an allowed URL parses");
            let pattern = HostPattern::of_url(&url).expect("an allowed URL has a host pattern");
            entries.push((url.scheme().to_string(), pattern, url.port_or_known_default()));
        }
    }
    for candidate in candidates {
        if let Ok(host) = HostName::parse(candidate) {
            assert_eq!(HostName::parse(host.as_str()).as_ref(), Ok(&host), "normalising `{candidate}` twice");
        }
        let Ok(url) = Url::parse(candidate) else { continue };
        let passed = list.check(&url).is_ok();
        let expected = HostName::of_url(&url).is_ok_and(|host| {
            entries.iter().any(|(scheme, pattern, port)| {
                scheme == url.scheme() && *port == url.port_or_known_default() && pattern.matches(&host)
            })
        });
        assert_eq!(passed, expected, "`{candidate}` (host {:?})", url.host_str());
        if let Ok(again) = Url::parse(url.as_str()) {
            assert_eq!(list.check(&again).is_ok(), passed, "`{candidate}` judged differently once re-serialised");
        }
    }

    let filled = fill_url("https://{sub}.example.com/{seg}/x", |name| match name {
        "sub" | "seg" => Some(Value::Input(input)),
        _ => None,
    });
    if let Ok(filled) = filled {
        let url = Url::parse(&filled).expect("a filled template parses");
        assert_eq!(url.host_str(), Some(format!("{input}.example.com").to_ascii_lowercase().as_str()), "{input:?}");
        assert_eq!(url.path_segments().map(|s| s.count()), Some(2), "`{input}` split the path");
        assert!(!input.contains(['.', '/', ':', '@', '#', '?', '%', '\\']), "`{input}` was accepted as a label");
    }
}
