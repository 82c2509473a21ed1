//! Web API requests through a connection: the caller's request, the connection's credentials,
//! a refresh ahead of expiry and once after a 401.

use std::collections::BTreeMap;

use super::super::context::Freshness;
use super::super::model::{WebRequest, WebResponse};
use super::super::refresh::Need;
use super::super::{Service, ServiceError};
use crate::flows::{ApiCall, FlowError};
use crate::integration::FieldError;
use crate::keys::Principal;
use crate::trace::Recorder;

impl Service {
    /// A Web API request through the connection. Refreshes ahead of expiry, and once after a
    /// 401.
    pub async fn web_request(&self, who: &Principal, id: &str, req: WebRequest) -> Result<WebResponse, ServiceError> {
        // Checked first: a malformed request should not cost a refresh.
        let call = api_call(req)?;
        let mut ctx = self.open_connection(who, id, Freshness::Callable).await?;
        // Kept only where a 401 can be retried after a refresh: a token or Basic connection
        // sends its one request as is.
        let retry = ctx.state.credentials.tokens().map(|_| call.clone());
        let mut response =
            self.flows.api_request(&ctx.plugin, &ctx.integration, &ctx.state, call, &Recorder::off()).await;
        if let (Ok(r), Some(tokens), Some(call)) = (&response, ctx.state.credentials.tokens(), retry)
            && r.status == 401
        {
            let seen = tokens.access_token.secret().to_string();
            // Boxed, as in `open_connection`: the rare refresh keeps the common future small.
            Box::pin(self.refresh_ctx(&mut ctx, Need::Rejected(seen))).await?;
            response = self.flows.api_request(&ctx.plugin, &ctx.integration, &ctx.state, call, &Recorder::off()).await;
        }
        let (integration, state) = (&ctx.integration, &ctx.state);
        let mut response = response.map_err(|e| match e {
            // The integration or its plugin is set up wrong: not the app's failure.
            FlowError::Config(m) => ServiceError::BadRequest(self.scrub(integration, state, &m)),
            other => ServiceError::Upstream(self.scrub(integration, state, &other.to_string())),
        })?;
        let is_json = response.header("content-type").is_some_and(|c| c.contains("json"));
        let headers: BTreeMap<String, String> = std::mem::take(&mut response.headers).into_iter().collect();
        let body = if is_json {
            serde_json::from_slice(&response.body)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&response.body).into_owned()))
        } else {
            serde_json::Value::String(String::from_utf8_lossy(&response.body).into_owned())
        };
        Ok(WebResponse { status: response.status, headers, body })
    }
}

fn api_call(req: WebRequest) -> Result<ApiCall, ServiceError> {
    let method = req.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(
            FieldError::new("method", format!("`{}` is not an HTTP method; use GET, POST, ...", req.method)).into()
        );
    }
    let mut headers: Vec<(String, String)> = req.headers.unwrap_or_default().into_iter().collect();
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let body = match req.body {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(text)) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
            }
            Some(text.into_bytes())
        }
        Some(json) => {
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(serde_json::to_vec(&json).map_err(|e| ServiceError::BadRequest(e.to_string()))?)
        }
    };
    Ok(ApiCall { method, path: req.path, query: req.query.unwrap_or_default().into_iter().collect(), headers, body })
}
