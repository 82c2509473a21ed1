//! `keyway:plugin/outbound`: raw HTTP for auth hooks, under the connection's allowlist.

use super::HostView;
use crate::egress::OutboundRequest;
use crate::engine::bindings::outbound::Host;
use crate::engine::bindings::types::{HttpError, HttpRequest, HttpResponse};

impl Host for HostView<'_> {
    async fn send(&mut self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = OutboundRequest { method: req.method, url: req.url, headers: req.headers, body: req.body };
        let (result, entry) = self.env.egress.send(&self.env.allowlist, &request, &self.env.redactor).await;
        self.env.trace.push(entry);
        result.map(HttpResponse::from).map_err(HttpError::from)
    }
}
