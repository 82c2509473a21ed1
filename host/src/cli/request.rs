//! `keyway request <connection> <METHOD> <PATH>`: one Web API call through a connection. The
//! server attaches the token, refreshes it when needed and enforces the allowlist.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::{ApiClient, ClientArgs, Kind};
use crate::service::model::ConnectionView;

/// `keyway request <connection> <METHOD> <PATH> [--query k=v]... [--header k:v]... [--data …]`
#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// The server and key.
    #[command(flatten)]
    pub client: ClientArgs,
    /// The connection's id or unique name.
    pub connection: String,
    /// The HTTP method: GET, POST, PUT, PATCH, DELETE, ...
    pub method: String,
    /// Path relative to the connection's API base (e.g. `/user`), or an absolute URL the
    /// connection may reach.
    pub path: String,
    /// A query parameter. Repeatable.
    #[arg(long = "query", short = 'q', value_name = "KEY=VALUE", value_parser = super::parse_key_value)]
    pub query: Vec<(String, String)>,
    /// A request header (`Authorization` is dropped: the server attaches the token). Repeatable.
    #[arg(long = "header", short = 'H', value_name = "NAME:VALUE", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// The body: sent as JSON when it parses as JSON, otherwise as text. `@file` reads a file,
    /// `@-` standard input.
    #[arg(long, short = 'd', value_name = "BODY")]
    pub data: Option<String>,
    /// Print the upstream's response headers too.
    #[arg(long, short = 'i')]
    pub include: bool,
    /// Exit non-zero when the upstream answers 4xx or 5xx.
    #[arg(long)]
    pub fail: bool,
}

/// Parses `Name: value` (split at the first `:`, the value trimmed).
pub fn parse_header(text: &str) -> Result<(String, String), String> {
    let invalid = || format!("`{text}` is not NAME:VALUE; write e.g. `Accept: application/json`");
    let (name, value) = text.split_once(':').ok_or_else(invalid)?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        return Err(invalid());
    }
    Ok((name.to_string(), value.trim().to_string()))
}

/// The body sent upstream: JSON when `data` parses as JSON, otherwise the text itself.
pub fn body_value(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_string()))
}

fn unique_map<'a>(pairs: &'a [(String, String)], what: &str) -> anyhow::Result<BTreeMap<&'a str, &'a str>> {
    let mut map = BTreeMap::new();
    for (key, value) in pairs {
        if map.insert(key.as_str(), value.as_str()).is_some() {
            anyhow::bail!("{what} `{key}` is given twice; keep one, or write the repeats in PATH");
        }
    }
    Ok(map)
}

/// The body of `POST /api/v1/connections/{id}/request`: `{method, path, query?, headers?, body?}`.
pub fn request_body(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    data: Option<&str>,
) -> anyhow::Result<Value> {
    let method = method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        anyhow::bail!("`{method}` is not an HTTP method; write e.g. GET or POST");
    }
    let mut body = json!({ "method": method, "path": path });
    if !query.is_empty() {
        body["query"] = json!(unique_map(query, "--query")?);
    }
    if !headers.is_empty() {
        // Header names are case-insensitive: `Accept` and `accept` are the same header.
        let lowered: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
        unique_map(&lowered, "--header")?;
        body["headers"] = json!(headers.iter().cloned().collect::<BTreeMap<_, _>>());
    }
    if let Some(data) = data {
        body["body"] = body_value(data);
    }
    Ok(body)
}

fn read_data(data: &str) -> anyhow::Result<String> {
    match data.strip_prefix('@') {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("cannot read the body from standard input")?;
            Ok(text)
        }
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read the body from {path}")),
        None => Ok(data.to_string()),
    }
}

/// The upstream's answer, wrapped by the server.
#[derive(Deserialize, Debug)]
pub struct UpstreamResponse {
    /// The upstream's HTTP status.
    pub status: u16,
    /// Its headers, names lowercase: an object, or a list of `[name, value]` pairs.
    #[serde(default)]
    pub headers: Value,
    /// JSON when the upstream answered JSON, otherwise text.
    #[serde(default)]
    pub body: Value,
}

/// Writes the status line, the headers when asked, and the body (JSON pretty-printed, text
/// as is).
pub fn print_response(response: &UpstreamResponse, include_headers: bool, out: &mut impl Write) -> anyhow::Result<()> {
    writeln!(out, "HTTP {}", response.status)?;
    if include_headers {
        let mut header_line = |name: &str, value: &Value| match value {
            Value::String(v) => writeln!(out, "{name}: {v}"),
            Value::Array(values) => values.iter().try_for_each(|v| match v {
                Value::String(v) => writeln!(out, "{name}: {v}"),
                other => writeln!(out, "{name}: {other}"),
            }),
            other => writeln!(out, "{name}: {other}"),
        };
        match &response.headers {
            Value::Object(headers) => {
                for (name, value) in headers {
                    header_line(name, value)?;
                }
            }
            Value::Array(pairs) => {
                for pair in pairs {
                    if let [Value::String(name), value] = pair.as_array().map(Vec::as_slice).unwrap_or_default() {
                        header_line(name, value)?;
                    }
                }
            }
            _ => {}
        }
    }
    match &response.body {
        Value::Null => {}
        Value::String(text) => {
            writeln!(out)?;
            writeln!(out, "{}", text.trim_end_matches('\n'))?;
        }
        json => {
            writeln!(out)?;
            writeln!(out, "{}", serde_json::to_string_pretty(json)?)?;
        }
    }
    Ok(())
}

/// Runs `keyway request`.
pub async fn run(args: RequestArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let data = args.data.as_deref().map(read_data).transpose()?;
    let body = request_body(&args.method, &args.path, &args.query, &args.headers, data.as_deref())?;
    let client = ApiClient::new(&args.client)?;
    let id = client.resolve_id::<ConnectionView>(Kind::Connection, &args.connection).await?;
    let response: UpstreamResponse = client.post(&["connections", &id, "request"], &body).await?;
    print_response(&response, args.include, out)?;
    if args.fail && response.status >= 400 {
        anyhow::bail!("the upstream answered HTTP {}", response.status);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_body_carries_method_path_query_headers_and_json() {
        let body = request_body(
            "post",
            "/repos/acme/app/issues",
            &pairs(&[("per_page", "10")]),
            &pairs(&[("Accept", "application/vnd.github+json")]),
            Some(r#"{"title": "Bug"}"#),
        )
        .unwrap();
        assert_eq!(
            body,
            json!({
                "method": "POST",
                "path": "/repos/acme/app/issues",
                "query": {"per_page": "10"},
                "headers": {"Accept": "application/vnd.github+json"},
                "body": {"title": "Bug"},
            })
        );
        let body = request_body("GET", "/user", &[], &[], None).unwrap();
        assert_eq!(body, json!({"method": "GET", "path": "/user"}));
    }

    #[test]
    fn data_that_is_not_json_is_sent_as_text() {
        assert_eq!(body_value("hello world"), json!("hello world"));
        assert_eq!(body_value("{not json"), json!("{not json"));
        assert_eq!(body_value("42"), json!(42));
        assert_eq!(body_value("\"quoted\""), json!("quoted"));
    }

    #[test]
    fn repeats_and_bad_methods_are_refused() {
        let error = request_body("GET", "/x", &pairs(&[("a", "1"), ("a", "2")]), &[], None).unwrap_err();
        assert_eq!(error.to_string(), "--query `a` is given twice; keep one, or write the repeats in PATH");
        let error = request_body("GET", "/x", &[], &pairs(&[("Accept", "a"), ("accept", "b")]), None).unwrap_err();
        assert!(error.to_string().starts_with("--header `accept` is given twice"));
        assert!(request_body("GET /x", "/x", &[], &[], None).is_err());
    }

    #[test]
    fn headers_split_at_the_first_colon() {
        assert_eq!(parse_header("Accept: application/json"), Ok(("Accept".into(), "application/json".into())));
        assert_eq!(parse_header("X-Time:12:30"), Ok(("X-Time".into(), "12:30".into())));
        assert!(parse_header("Accept application/json").is_err());
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header(": x").is_err());
    }

    #[test]
    fn responses_print_status_headers_and_pretty_json() {
        let response = UpstreamResponse {
            status: 200,
            headers: json!({"content-type": "application/json", "set-cookie": ["a=1", "b=2"]}),
            body: json!({"login": "octocat"}),
        };
        let mut out = Vec::new();
        print_response(&response, true, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP 200\ncontent-type: application/json\nset-cookie: a=1\nset-cookie: b=2\n\n{\n  \"login\": \"octocat\"\n}\n"
        );
        let response = UpstreamResponse { status: 404, headers: json!([["x-a", "1"]]), body: json!("Not Found\n") };
        let mut out = Vec::new();
        print_response(&response, false, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "HTTP 404\n\nNot Found\n");
    }
}
