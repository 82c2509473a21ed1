//! `keyway:plugin/outbound`: raw HTTP for auth hooks, under the connection's allowlist and
//! a cap on requests per hook.

use super::HostView;
use crate::egress::OutboundRequest;
use crate::engine::LimitBreach;
use crate::engine::bindings::outbound::Host;
use crate::engine::bindings::types::{HttpError, HttpRequest, HttpResponse};

impl Host for HostView<'_> {
    async fn send(&mut self, req: HttpRequest) -> wasmtime::Result<Result<HttpResponse, HttpError>> {
        // Refused requests count too: each one still costs the host a trace entry and a check.
        if self.meter.outbound_calls >= self.meter.max_outbound_calls {
            return Err(LimitBreach(format!(
                "the hook reached its cap of {} outbound requests (setting `limits.hook_max_calls`)",
                self.meter.max_outbound_calls
            ))
            .into());
        }
        self.meter.outbound_calls += 1;
        let request = OutboundRequest { method: req.method, url: req.url, headers: req.headers, body: req.body };
        let result = self.env.egress.send(&self.env.allowlist, &request, &self.env.redactor, &self.env.recorder).await;
        self.meter.resumed_from_host = true;
        Ok(result.map(HttpResponse::from).map_err(HttpError::from))
    }
}
