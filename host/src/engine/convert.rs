//! Conversions between the host's own types and the generated WIT types.

use crate::egress::{EgressError, OutboundRequest, OutboundResponse};
use crate::engine::bindings::types::{HttpError, HttpRequest, HttpResponse};

impl From<OutboundResponse> for HttpResponse {
    fn from(r: OutboundResponse) -> Self {
        Self { status: r.status, headers: r.headers, body: r.body }
    }
}

impl From<HttpResponse> for OutboundResponse {
    fn from(r: HttpResponse) -> Self {
        Self { status: r.status, headers: r.headers, body: r.body }
    }
}

impl From<HttpRequest> for OutboundRequest {
    fn from(r: HttpRequest) -> Self {
        Self { method: r.method, url: r.url, headers: r.headers, body: r.body }
    }
}

impl From<EgressError> for HttpError {
    fn from(e: EgressError) -> Self {
        match e {
            EgressError::Denied(m) => HttpError::Denied(m),
            EgressError::Timeout(_) => HttpError::Timeout,
            EgressError::TooLarge(m) => HttpError::TooLarge(m),
            EgressError::Transport(m) => HttpError::Transport(m),
        }
    }
}
