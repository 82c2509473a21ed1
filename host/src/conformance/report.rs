//! What a conformance run found, step by step: plain data that tests assert on and the CLI prints.

use std::fmt;

use crate::trace::{Redactor, TraceEntry};

/// The steps of a run, in the order they happen. A run stops at the first failed step; the steps after it
/// are reported as [`Status::NotRun`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// The file is a WebAssembly component that compiles.
    Component,
    /// Its `keyway:plugin` export names carry an API version this host supports.
    ApiVersion,
    /// It exports the `integration` world's interfaces and imports nothing the host lacks.
    Exports,
    /// Its manifest reads and validates.
    Manifest,
    /// The mock provider starts (or the author's integration file is read) and the integration, the connection's
    /// inputs and, for the author's provider, the redirect URI's listener are set up.
    Provider,
    /// The plugin's authorize URL.
    AuthorizeUrl,
    /// The simulated browser follows the authorize URL and the provider redirects back.
    Browser,
    /// The plugin reads the provider's redirect.
    ParseCallback,
    /// The plugin's token request for the code, as sent, and the provider's answer.
    CodeExchange,
    /// The plugin reads the token response.
    TokenResponse,
    /// One Web API call with the credentials the plugin's `api-auth` places.
    ApiCall,
    /// A refresh (RFC 6749 §6).
    Refresh,
    /// A revocation (RFC 7009).
    Revoke,
}

impl StepKind {
    /// Every step, in run order.
    pub const ALL: [StepKind; 13] = [
        StepKind::Component,
        StepKind::ApiVersion,
        StepKind::Exports,
        StepKind::Manifest,
        StepKind::Provider,
        StepKind::AuthorizeUrl,
        StepKind::Browser,
        StepKind::ParseCallback,
        StepKind::CodeExchange,
        StepKind::TokenResponse,
        StepKind::ApiCall,
        StepKind::Refresh,
        StepKind::Revoke,
    ];

    /// The step's name as printed.
    pub fn title(self) -> &'static str {
        match self {
            StepKind::Component => "component",
            StepKind::ApiVersion => "API version",
            StepKind::Exports => "exports",
            StepKind::Manifest => "manifest",
            StepKind::Provider => "provider",
            StepKind::AuthorizeUrl => "authorize URL",
            StepKind::Browser => "browser",
            StepKind::ParseCallback => "parse callback",
            StepKind::CodeExchange => "code exchange",
            StepKind::TokenResponse => "token response",
            StepKind::ApiCall => "API call",
            StepKind::Refresh => "refresh",
            StepKind::Revoke => "revoke",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// It did what a conforming plugin does.
    Passed,
    /// It did not; the step's `error` says what failed.
    Failed,
    /// It does not apply to this plugin and provider; the reason says why.
    Skipped(String),
    /// An earlier step failed, so this one was not attempted.
    NotRun,
}

impl Status {
    /// `✓`, `✗`, or `-` for a step skipped or not run.
    pub fn symbol(&self) -> &'static str {
        match self {
            Status::Passed => "✓",
            Status::Failed => "✗",
            Status::Skipped(_) | Status::NotRun => "-",
        }
    }
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Which step.
    pub kind: StepKind,
    /// How it ended.
    pub status: Status,
    /// One line on the outcome: what was found, or what failed.
    pub summary: String,
    /// What was sent and received, secrets masked, one line each.
    pub detail: Vec<String>,
    /// On failure: what failed, as precisely as the host knows it.
    pub error: Option<String>,
    /// On failure: where to look in the plugin.
    pub hint: Option<String>,
}

impl Step {
    /// A passed step.
    pub(crate) fn passed(kind: StepKind, summary: impl Into<String>, detail: Vec<String>) -> Self {
        Step { kind, status: Status::Passed, summary: summary.into(), detail, error: None, hint: None }
    }

    /// A failed step: `error` is what failed, `hint` where to look.
    pub(crate) fn failed(
        kind: StepKind,
        detail: Vec<String>,
        error: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        let error = error.into();
        Step {
            kind,
            status: Status::Failed,
            summary: first_line(&error),
            detail,
            error: Some(error),
            hint: Some(hint.into()),
        }
    }

    /// A skipped step, and why.
    pub(crate) fn skipped(kind: StepKind, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Step {
            kind,
            status: Status::Skipped(reason.clone()),
            summary: reason,
            detail: Vec::new(),
            error: None,
            hint: None,
        }
    }

    fn not_run(kind: StepKind) -> Self {
        Step {
            kind,
            status: Status::NotRun,
            summary: "not run: an earlier step failed".into(),
            detail: Vec::new(),
            error: None,
            hint: None,
        }
    }

    fn scrub(&mut self, redactor: &Redactor) {
        self.summary = redactor.scrub(&self.summary);
        for line in &mut self.detail {
            *line = redactor.scrub(line);
        }
        for text in [&mut self.error, &mut self.hint].into_iter().flatten() {
            *text = redactor.scrub(text);
        }
        if let Status::Skipped(reason) = &mut self.status {
            *reason = redactor.scrub(reason);
        }
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// A whole run: which component, against which provider, and every step in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `name version` from the manifest, once it was read.
    pub plugin: Option<String>,
    /// What the flow ran against: `the standard mock`, or the author's integration.
    pub provider: String,
    /// Every step of [`StepKind::ALL`], in order.
    pub steps: Vec<Step>,
    /// Every request of the run and its answer, in the order they were sent, masked: `--show-headers`.
    pub wire: Vec<WireEntry>,
}

/// One request of a run, and the step that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEntry {
    /// The step.
    pub step: StepKind,
    /// The request and its answer, headers included.
    pub entry: TraceEntry,
}

impl Report {
    pub(crate) fn new(provider: &str) -> Self {
        Report { plugin: None, provider: provider.to_string(), steps: Vec::new(), wire: Vec::new() }
    }

    /// Keeps what `step` sent, for the wire log.
    pub(crate) fn record(&mut self, step: StepKind, entries: impl IntoIterator<Item = TraceEntry>) {
        self.wire.extend(entries.into_iter().map(|entry| WireEntry { step, entry }));
    }

    /// Every request and answer of the run, headers included, `curl -v` style, masked as the report is.
    pub fn wire_log(&self) -> String {
        let mut text = String::new();
        for (i, WireEntry { step, entry }) in self.wire.iter().enumerate() {
            text.push_str(&format!("[{}] {step}\n{}\n", i + 1, entry.wire()));
        }
        if self.wire.is_empty() {
            text.push_str("(nothing was sent)\n");
        }
        text
    }

    pub(crate) fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Adds every step not reached as not run, and masks every secret `redactor` knows in every line.
    pub(crate) fn finish(mut self, redactor: &Redactor) -> Self {
        for kind in StepKind::ALL {
            if self.step(kind).is_none() {
                self.steps.push(Step::not_run(kind));
            }
        }
        self.steps.sort_by_key(|s| StepKind::ALL.iter().position(|k| *k == s.kind));
        for step in &mut self.steps {
            step.scrub(redactor);
        }
        for WireEntry { entry, .. } in &mut self.wire {
            entry.scrub(redactor);
        }
        self
    }

    /// The outcome of `kind`.
    pub fn step(&self, kind: StepKind) -> Option<&Step> {
        self.steps.iter().find(|s| s.kind == kind)
    }

    /// The step that failed, if one did.
    pub fn failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.status == Status::Failed)
    }

    /// Whether no step failed.
    pub fn passed(&self) -> bool {
        self.failure().is_none()
    }
}

impl fmt::Display for Report {
    /// Each step as `✓ name  summary`, with what was sent indented below it, then a closing line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = StepKind::ALL.iter().map(|k| k.title().len()).max().unwrap_or(0);
        for step in &self.steps {
            writeln!(f, "{} {:<width$}  {}", step.status.symbol(), step.kind.title(), step.summary)?;
            for line in &step.detail {
                writeln!(f, "    {line}")?;
            }
            if let Some(error) = &step.error {
                // The summary already shows the first line; show the rest only when there is more.
                if error.lines().count() > 1 || step.detail.is_empty() {
                    for line in error.lines() {
                        writeln!(f, "    error: {line}")?;
                    }
                }
            }
            if let Some(hint) = &step.hint {
                writeln!(f, "    hint: {hint}")?;
            }
        }
        let passed = self.steps.iter().filter(|s| s.status == Status::Passed).count();
        let skipped = self.steps.iter().filter(|s| matches!(s.status, Status::Skipped(_))).count();
        match self.failure() {
            None => {
                write!(f, "\nconformance: {passed} steps passed, {skipped} skipped, against {}", self.provider)
            }
            Some(step) => write!(
                f,
                "\nconformance: failed at `{}` ({passed} steps passed before it), against {}",
                step.kind, self.provider
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_leaves_later_steps_not_run_and_secrets_masked() {
        let mut report = Report::new("the standard mock");
        report.push(Step::passed(StepKind::Component, "a component", vec![]));
        report.push(Step::failed(
            StepKind::ApiVersion,
            vec!["sent s3cret-value".into()],
            "built against @9.9.9",
            "rebuild",
        ));
        let mut redactor = Redactor::default();
        redactor.add("s3cret-value");
        let report = report.finish(&redactor);
        assert_eq!(report.steps.len(), StepKind::ALL.len());
        assert_eq!(report.failure().map(|s| s.kind), Some(StepKind::ApiVersion));
        assert_eq!(report.step(StepKind::Revoke).map(|s| &s.status), Some(&Status::NotRun));
        let printed = report.to_string();
        assert!(!printed.contains("s3cret-value"), "{printed}");
        assert!(printed.contains("✗ API version"), "{printed}");
        assert!(printed.contains("- revoke"), "{printed}");
        assert!(printed.contains("failed at `API version`"), "{printed}");
    }
}
