//! `keyway plugin check`: the conformance kit from the command line, against the built-in mock provider or, with
//! `--integration`, against the author's own provider, real or emulated (`keyway mock-provider`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::{ServeArgs, Settings};
use crate::conformance::{self, Browser, CheckOptions, OwnProvider, Prompt};
use crate::egress::EgressConfig;
use crate::engine::{Limits, PluginEngine};
use crate::flows::ApiCall;

/// Where the check listens for the callback unless the file or `--redirect-uri` says otherwise: `keyway serve`'s
/// default redirect URI, which an app registered for a local Keyway already accepts.
pub const DEFAULT_REDIRECT_URI: &str = conformance::REDIRECT_URI;

/// `keyway plugin check …`
#[derive(clap::Args, Debug)]
#[command(after_help = "\
With --integration, the flow runs against the provider the file describes (the TOML `keyway integration create \
--file` takes, plus optional [inputs] and [check] tables): the check prints the authorize URL, listens on the \
redirect URI (loopback only) and waits for your browser's callback. `--browser auto` plays the browser instead, \
for an emulated provider that approves at once, such as `keyway mock-provider`.")]
pub struct CheckArgs {
    /// The `.wasm` component.
    pub file: PathBuf,
    /// The app the built-in mock provider plays: standard, notion, github, slack, tiktok, instagram, zendesk,
    /// quirks, entra, atlassian, xero, shopify or tiktok-shop.
    #[arg(long, default_value = "standard", value_parser = super::parse_provider, conflicts_with = "integration")]
    pub provider: keyway_mock_provider::App,
    /// A connection input the plugin declares, `NAME=VALUE` (repeatable); beats the file's `[inputs]`.
    #[arg(long = "input", value_parser = crate::cli::parse_key_value)]
    pub inputs: Vec<(String, String)>,
    /// A plugin setting, `NAME=JSON` (repeatable), e.g. `--setting 'notion_version="2025-09-03"'`; beats the
    /// file's `[settings]`.
    #[arg(long = "setting", value_parser = super::parse_setting)]
    pub settings: Vec<(String, serde_json::Value)>,
    /// Run against your own provider, described by this integration file, instead of the built-in mock.
    #[arg(long, value_name = "FILE")]
    pub integration: Option<PathBuf>,
    /// The redirect URI registered with the app, where the check listens for the callback; loopback only
    /// [default: the file's `[check] redirect_uri`, else http://127.0.0.1:8400/oauth].
    #[arg(long, value_name = "URL", requires = "integration")]
    pub redirect_uri: Option<String>,
    /// How long to wait for the browser's callback, e.g. `10m`.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration, requires = "integration")]
    pub wait: Duration,
    /// Who follows the authorize URL: `wait` for your browser, or `auto`, where the check fetches it with
    /// redirects off and follows the provider's redirect to the callback itself. `auto` is for emulated
    /// providers that approve at once (`keyway mock-provider`); a real one shows a login page.
    #[arg(long, value_enum, default_value = "wait", requires = "integration")]
    pub browser: BrowserArg,
    /// One Web API call to make with the new tokens, `METHOD PATH` relative to the plugin's API base, e.g.
    /// `--api-call 'GET /api/me'` [default: the file's `[check] api_call`; none: the step is skipped].
    #[arg(long, value_name = "METHOD PATH", value_parser = parse_api_call, requires = "integration")]
    pub api_call: Option<ApiCall>,
    /// After the report, print every request and answer exactly as sent, headers included, secrets masked.
    #[arg(long)]
    pub show_headers: bool,
    /// Let the check reach this address or range although it is loopback or private, and over plain http:
    /// `--allow-network 127.0.0.1` for a provider on this machine. Repeatable.
    #[arg(long = "allow-network", value_name = "CIDR", requires = "integration")]
    pub allowed_networks: Vec<String>,
    /// Pin a host name to an address before DNS, `HOST=IP`: `--resolve '*.zendesk.test=127.0.0.1'`. Repeatable.
    #[arg(long = "resolve", value_name = "HOST=IP", requires = "integration")]
    pub resolve: Vec<String>,
    /// A host the plugin may call over plain http; `*.example.test` allowed. Repeatable.
    #[arg(long = "insecure-http-host", value_name = "HOST", requires = "integration")]
    pub insecure_http_hosts: Vec<String>,
}

/// `--browser`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserArg {
    /// Print the authorize URL and wait for your browser's callback.
    Wait,
    /// Follow the authorize URL and the provider's redirect without a browser (emulated providers only).
    Auto,
}

/// Parses `--api-call`: `METHOD PATH`, the path with an optional query.
pub fn parse_api_call(text: &str) -> Result<ApiCall, String> {
    let fix = format!("`{text}` is not `METHOD PATH`; write e.g. `GET /api/me` (the path relative to the API base)");
    let (method, target) = text.trim().split_once(char::is_whitespace).ok_or_else(|| fix.clone())?;
    let target = target.trim();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) || target.is_empty() {
        return Err(fix);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    Ok(ApiCall { method: method.to_ascii_uppercase(), path: path.into(), query, ..ApiCall::default() })
}

/// `--api-call`'s text for `call`: what `keyway mock-provider` writes into the file's `[check]` table.
pub fn api_call_text(call: &ApiCall) -> String {
    let mut text = format!("{} {}", call.method, call.path);
    if !call.query.is_empty() {
        text.push('?');
        text.push_str(&url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&call.query).finish());
    }
    text
}

/// The outbound rules for the author's provider: the production policy, opened only as the flags say. The same
/// parser as `keyway serve`'s flags of these names.
fn egress(args: &CheckArgs) -> anyhow::Result<EgressConfig> {
    let serve = ServeArgs {
        allowed_networks: args.allowed_networks.clone(),
        resolve: args.resolve.clone(),
        insecure_http_hosts: args.insecure_http_hosts.clone(),
        ..ServeArgs::default()
    };
    Ok(Settings::load(&serve)?.egress)
}

/// The author's provider, from `--integration` and the flags around it.
fn own_provider(args: &CheckArgs, file: &std::path::Path) -> anyhow::Result<OwnProvider> {
    let contents = crate::cli::integration::read_contents(file)?;
    let api_call = match (&args.api_call, &contents.check.api_call) {
        (Some(call), _) => Some(call.clone()),
        (None, Some(text)) => {
            Some(parse_api_call(text).map_err(|e| anyhow::anyhow!("{}: `[check] api_call`: {e}", file.display()))?)
        }
        (None, None) => None,
    };
    let redirect_uri =
        args.redirect_uri.clone().or(contents.check.redirect_uri).unwrap_or_else(|| DEFAULT_REDIRECT_URI.to_string());
    let browser = match args.browser {
        BrowserArg::Auto => Browser::Auto,
        BrowserArg::Wait => Browser::Wait {
            timeout: args.wait,
            // On stderr, so that it shows while the report is redirected to a file.
            prompt: Prompt(Arc::new(|text: &str| {
                let mut err = std::io::stderr().lock();
                let _ = writeln!(err, "\n{text}\n");
                let _ = err.flush();
            })),
        },
    };
    Ok(OwnProvider {
        integration: contents.integration,
        pkce_given: contents.pkce_given,
        inputs: contents.inputs,
        egress: egress(args).context("the outbound flags (--allow-network, --resolve, --insecure-http-host)")?,
        redirect_uri,
        api_call,
        browser,
    })
}

/// Runs `keyway plugin check`.
pub async fn run(args: CheckArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let bytes = super::read_component(&args.file)?;
    let own = match &args.integration {
        Some(file) => Some(own_provider(&args, file)?),
        None => None,
    };
    match (&own, &args.integration) {
        (Some(own), Some(file)) => writeln!(
            out,
            "keyway plugin check {}: the plugin API, then a whole connection against `{}` at {}, as {} describes it\n",
            args.file.display(),
            own.integration.name,
            own.integration.site,
            file.display()
        )?,
        _ => writeln!(
            out,
            "keyway plugin check {}: the plugin API, then a whole connection against the {} mock provider\n",
            args.file.display(),
            conformance::mode_name(args.provider)
        )?,
    }
    out.flush()?;
    let options =
        CheckOptions { app: args.provider, inputs: args.inputs, settings: args.settings.into_iter().collect(), own };
    let engine = Arc::new(PluginEngine::new(Limits::default())?);
    let report = conformance::check(engine, &bytes, &options).await;
    writeln!(out, "{report}")?;
    if args.show_headers {
        writeln!(
            out,
            "\nevery request and answer, in order, as sent (secrets masked; the HTTP client adds `Host`, \
             `Content-Length` and, unless the plugin set one, `User-Agent: keyway/{}`):\n\n{}",
            env!("CARGO_PKG_VERSION"),
            report.wire_log()
        )?;
    }
    if let Some(failed) = report.failure() {
        bail!("the `{}` step failed: {}", failed.kind, failed.summary);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_call_is_a_method_and_a_path_with_its_query() {
        let call = parse_api_call("get /api/v2/users/me.json?fields=id,name&x=1").unwrap();
        assert_eq!((call.method.as_str(), call.path.as_str()), ("GET", "/api/v2/users/me.json"));
        assert_eq!(call.query, [("fields".to_string(), "id,name".to_string()), ("x".to_string(), "1".to_string())]);
        assert_eq!(api_call_text(&call), "GET /api/v2/users/me.json?fields=id%2Cname&x=1");
        assert_eq!(parse_api_call(&api_call_text(&call)).unwrap().query, call.query);
        for bad in ["/api/me", "GET", "G3T /x", ""] {
            assert!(parse_api_call(bad).unwrap_err().contains("e.g. `GET /api/me`"), "{bad}");
        }
    }
}
