//! The API session an action's `api.call` import goes through.
//!
//! One per invocation. It sends each call with the connection's current credentials (the
//! action never sees them), refreshes once and retries after a 401, retries 429 and 5xx
//! within [`ActionLimits`], enforces the call cap and the deadline, and keeps a summary of
//! every request for the caller. A breached cap or deadline is a [`LimitBreach`]: it stops the
//! action's code, which cannot catch it.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::Service;
use super::refresh::Need;
use crate::actions::{ActionLimits, CallSummary, is_retryable, retry_delay, summary_path};
use crate::connection::ConnectionState;
use crate::engine::bindings::api::ApiRequest;
use crate::engine::bindings::types::{HttpError, HttpResponse};
use crate::engine::{ApiSession, LimitBreach};
use crate::flows::{ApiCall, ApiTarget};
use crate::integration::IntegrationConfig;
use crate::trace::{Recorder, Redactor};

/// One invocation's view of a connection's API.
pub(super) struct ActionSession {
    service: Arc<Service>,
    connection_id: String,
    integration: IntegrationConfig,
    target: ApiTarget,
    limits: ActionLimits,
    deadline: Instant,
    state: tokio::sync::Mutex<ConnectionState>,
    log: Mutex<SessionLog>,
    /// Every secret of the run: the client secret, and the credentials before and after any
    /// refresh.
    secrets: Mutex<Redactor>,
}

#[derive(Default)]
struct SessionLog {
    calls: Vec<CallSummary>,
}

impl ActionSession {
    pub(super) fn new(
        service: Arc<Service>,
        connection_id: String,
        integration: IntegrationConfig,
        target: ApiTarget,
        state: ConnectionState,
        limits: ActionLimits,
    ) -> Self {
        let deadline = Instant::now() + limits.deadline;
        let secrets = target.redactor_for(&integration, &state);
        Self {
            service,
            connection_id,
            integration,
            target,
            limits,
            deadline,
            state: tokio::sync::Mutex::new(state),
            log: Mutex::new(SessionLog::default()),
            secrets: Mutex::new(secrets),
        }
    }

    /// The requests sent so far.
    pub(super) fn calls(&self) -> Vec<CallSummary> {
        self.lock().calls.clone()
    }

    /// Every secret the run has used, to scrub from what the action is given and returns.
    pub(super) fn redactor(&self) -> Redactor {
        self.secrets.lock().expect("session secrets").clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionLog> {
        self.log.lock().expect("session log")
    }

    /// Takes one call off the budget, or says which limit is spent.
    fn admit(&self) -> Result<(), LimitBreach> {
        let log = self.lock();
        let refusal = if log.calls.len() >= self.limits.max_calls as usize {
            format!(
                "the action reached its cap of {} API calls per run (setting `action_max_calls`)",
                self.limits.max_calls
            )
        } else if Instant::now() >= self.deadline {
            format!("the action reached its {:?} deadline (setting `action_deadline`)", self.limits.deadline)
        } else {
            return Ok(());
        };
        Err(LimitBreach(refusal))
    }

    fn record(&self, call: CallSummary) {
        let elapsed = std::time::Duration::from_millis(call.duration_ms);
        crate::metrics::action_api_call(&self.integration.name, call.status, elapsed);
        self.lock().calls.push(call);
    }

    async fn send(&self, req: ApiRequest) -> Result<Result<HttpResponse, HttpError>, LimitBreach> {
        let call = ApiCall {
            method: req.method.to_ascii_uppercase(),
            path: req.path,
            query: req.query,
            headers: req.headers,
            body: req.body,
        };
        let path = summary_path(&call.path);
        let mut refreshed = false;
        let mut attempt = 0u32;
        loop {
            self.admit()?;
            attempt += 1;
            let state = self.state.lock().await.clone();
            let started = Instant::now();
            let remaining = self.deadline.saturating_duration_since(started);
            // Actions report their calls in their result; they keep no trace.
            let off = Recorder::off();
            // Every secret of the run so far, the current credentials' among them.
            let secrets = self.redactor();
            let sent =
                self.service.flows.send_api(&self.target, &self.integration, &state, call.clone(), &secrets, &off);
            let summary = |status: Option<u16>, note: Option<String>| CallSummary {
                method: call.method.clone(),
                path: path.clone(),
                status,
                duration_ms: started.elapsed().as_millis() as u64,
                note,
            };
            let response = match tokio::time::timeout(remaining, sent).await {
                Err(_) => {
                    let message = format!(
                        "the action reached its {:?} deadline (setting `action_deadline`) waiting for {} {path}",
                        self.limits.deadline, call.method
                    );
                    self.record(summary(None, Some("deadline reached".into())));
                    return Err(LimitBreach(message));
                }
                Ok(Err(e)) => {
                    let error: HttpError = match e {
                        crate::flows::FlowError::Egress(e) => e.into(),
                        other => HttpError::Transport(other.to_string()),
                    };
                    self.record(summary(None, Some(http_error_text(&error))));
                    return Ok(Err(error));
                }
                Ok(Ok(response)) => response,
            };

            let seen = state.credentials.tokens().map(|t| t.access_token.secret().to_string());
            if response.status == 401
                && !refreshed
                && let Some(seen) = seen
            {
                self.record(summary(Some(401), Some("refreshing the token and retrying".into())));
                refreshed = true;
                let fresh = match self.service.refresh_connection(&self.connection_id, Need::Rejected(seen)).await {
                    Ok(record) => self.service.connection_state(&record),
                    Err(e) => Err(e),
                };
                match fresh {
                    Ok(fresh) => {
                        let fresh_secrets = self.target.redactor_for(&self.integration, &fresh);
                        self.secrets.lock().expect("session secrets").absorb(&fresh_secrets);
                        *self.state.lock().await = fresh;
                        continue;
                    }
                    Err(e) => {
                        return Ok(Err(HttpError::Transport(format!(
                            "the API refused the token (401) and refreshing it failed: {e}"
                        ))));
                    }
                }
            }

            if is_retryable(&call.method, response.status) && attempt < self.limits.max_attempts {
                let wait = retry_delay(response.retry_after(), attempt);
                let fits = Instant::now() + wait < self.deadline;
                if wait <= self.limits.max_retry_wait && fits {
                    self.record(summary(
                        Some(response.status),
                        Some(format!("retrying in {:.1} s", wait.as_secs_f64())),
                    ));
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            self.record(summary(Some(response.status), None));
            return Ok(Ok(response.scrubbed(&secrets).into()));
        }
    }
}

impl ApiSession for ActionSession {
    fn call(
        &self,
        req: ApiRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Result<HttpResponse, HttpError>, LimitBreach>> + Send + '_>> {
        Box::pin(self.send(req))
    }
}

fn http_error_text(e: &HttpError) -> String {
    match e {
        HttpError::Denied(m) => format!("refused: {m}"),
        HttpError::Timeout => "timed out".into(),
        HttpError::TooLarge(m) | HttpError::Transport(m) => m.clone(),
    }
}
