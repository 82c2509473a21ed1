//! `keyway:plugin/api`: the app's API with credentials attached by the host.
//!
//! Only actions get an API session; an auth hook that calls this is refused, because auth
//! hooks have the raw `outbound` import and no connection credentials to attach yet. A
//! limit the session enforces (its call cap, its deadline) stops the guest: it cannot catch
//! the breach and carry on.

use super::HostView;
use crate::engine::bindings::api::{ApiRequest, Host};
use crate::engine::bindings::types::{HttpError, HttpResponse};

impl Host for HostView<'_> {
    async fn call(&mut self, req: ApiRequest) -> wasmtime::Result<Result<HttpResponse, HttpError>> {
        let Some(api) = self.env.api.clone() else {
            return Ok(Err(HttpError::Denied(format!(
                "`{} {}`: the api import is available to actions only; auth hooks use `outbound`",
                req.method, req.path
            ))));
        };
        let answer = api.call(req).await;
        self.meter.resumed_from_host = true;
        Ok(answer?)
    }
}
