//! The plugin author's commands: the conformance kit behind `keyway plugin check`, as a library (each app's
//! plugin passes against its own mode; a mismatch fails at the step that explains it), and the real `keyway`
//! binary from `plugin new` through `cargo test`, `plugin build` and `plugin check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use keyway::conformance::{self, CheckOptions, Report, Status, StepKind};
use keyway_mock_provider::{App, MockConfig};
use keyway_tests::components::{
    ATLASSIAN, ENTRA, GITHUB, INSTAGRAM, NOTION, QUIRKS, SHOPIFY, SLACK, STANDARD_OAUTH2, TIKTOK, TIKTOK_SHOP, XERO,
    ZENDESK,
};

use crate::api::keyway_binary;

async fn check(component: &[u8], app: App) -> Report {
    conformance::check(crate::engine().await, component, &CheckOptions { app, ..CheckOptions::default() }).await
}

/// The report's text must hold none of the mock provider's secrets, in any spelling they travel in.
#[track_caller]
fn assert_no_secrets(report: &Report) {
    let printed = report.to_string();
    let secret = MockConfig::default().client_secret;
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    for leak in [secret.as_str(), encoded.as_str(), "mock-at-", "mock-rt-", "mock-code-"] {
        assert!(!printed.contains(leak), "`{leak}` leaked into the report:\n{printed}");
    }
}

#[track_caller]
fn assert_passes(report: &Report) {
    assert!(report.passed(), "the kit failed:\n{report}");
    for step in &report.steps {
        assert!(
            matches!(step.status, Status::Passed | Status::Skipped(_)),
            "`{}` is {:?}:\n{report}",
            step.kind,
            step.status
        );
    }
    assert_no_secrets(report);
}

#[track_caller]
fn step(report: &Report, kind: StepKind) -> &keyway::conformance::Step {
    report.step(kind).unwrap_or_else(|| panic!("no `{kind}` step:\n{report}"))
}

/// The detail lines of a step, as one text.
fn detail(report: &Report, kind: StepKind) -> String {
    step(report, kind).detail.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_component_passes_every_step_against_the_standard_provider() {
    let report = check(STANDARD_OAUTH2, App::Standard).await;
    assert_passes(&report);
    assert_eq!(report.plugin.as_deref(), Some("standard-oauth2 0.1.0"));
    // Every step ran: the standard provider issues refresh tokens and has a revoke endpoint.
    for kind in StepKind::ALL {
        assert_eq!(step(&report, kind).status, Status::Passed, "{kind}:\n{report}");
    }
    assert!(step(&report, StepKind::ApiVersion).summary.contains("keyway:plugin@0.1.0"), "{report}");
    let authorize = detail(&report, StepKind::AuthorizeUrl);
    assert!(authorize.contains("response_type=code") && authorize.contains("state=[redacted]"), "{report}");
    // The code exchange as sent: Basic client authentication masked, the form's fields, the answer's status.
    let exchange = detail(&report, StepKind::CodeExchange);
    assert!(exchange.starts_with("POST http://127.0.0.1:"), "{report}");
    assert!(exchange.contains("Authorization: Basic [redacted]"), "{report}");
    assert!(exchange.contains("grant_type=authorization_code") && exchange.contains("code=[redacted]"), "{report}");
    assert!(exchange.contains("-> 200"), "{report}");
    let tokens = detail(&report, StepKind::TokenResponse);
    assert!(tokens.contains("expires: in 3") && tokens.contains("refresh token: issued"), "{report}");
    let api = detail(&report, StepKind::ApiCall);
    assert!(api.contains("header `Authorization: Bearer {access_token}`"), "{report}");
    assert!(api.contains("Authorization: Bearer [redacted]") && api.contains("-> 200"), "{report}");
    assert!(detail(&report, StepKind::Refresh).contains("grant_type=refresh_token"), "{report}");
    assert!(step(&report, StepKind::Revoke).summary.contains("revoked the refresh token"), "{report}");
    let printed = report.to_string();
    assert!(printed.contains("✓ code exchange") && printed.contains("13 steps passed, 0 skipped"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notion_passes_against_notion_with_its_json_exchange_and_workspace() {
    let report = check(NOTION, App::Notion).await;
    assert_passes(&report);
    let exchange = detail(&report, StepKind::CodeExchange);
    assert!(exchange.contains("Content-Type: application/json"), "{report}");
    assert!(exchange.contains(r#""grant_type":"authorization_code""#), "{report}");
    assert!(detail(&report, StepKind::TokenResponse).contains("metadata workspace_id = "), "{report}");
    assert!(detail(&report, StepKind::ApiCall).contains("Notion-Version: 2022-06-28"), "{report}");
    assert_eq!(step(&report, StepKind::Revoke).status, Status::Passed, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_passes_against_github_and_skips_the_refresh_an_oauth_app_lacks() {
    let report = check(GITHUB, App::Github).await;
    assert_passes(&report);
    let refresh = step(&report, StepKind::Refresh);
    assert!(
        matches!(&refresh.status, Status::Skipped(why) if why.contains("no refresh token")),
        "{:?}:\n{report}",
        refresh.status
    );
    assert!(detail(&report, StepKind::TokenResponse).contains("expires: never"), "{report}");
    // GitHub revokes through its REST API, not a revoke path.
    assert!(detail(&report, StepKind::Revoke).contains("DELETE http://127.0.0.1:"), "{report}");
    assert_eq!(step(&report, StepKind::Revoke).status, Status::Passed, "{report}");
    assert!(report.to_string().contains("- refresh"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_app_plugin_passes_against_its_own_mode() {
    for (component, app) in [
        (SLACK, App::Slack),
        (TIKTOK, App::Tiktok),
        (INSTAGRAM, App::Instagram),
        (ZENDESK, App::Zendesk),
        (QUIRKS, App::Quirks),
        (ENTRA, App::Entra),
        (ATLASSIAN, App::Atlassian),
        (XERO, App::Xero),
        (SHOPIFY, App::Shopify),
        (TIKTOK_SHOP, App::TiktokShop),
    ] {
        let report = check(component, app).await;
        assert_passes(&report);
        assert_eq!(step(&report, StepKind::ApiCall).status, Status::Passed, "{app:?}:\n{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_against_the_wrong_provider_fails_at_the_step_the_provider_refused() {
    let report = check(NOTION, App::Standard).await;
    assert!(!report.passed(), "{report}");
    let failed = report.failure().expect("a failed step");
    assert_eq!(failed.kind, StepKind::CodeExchange, "{report}");
    let error = failed.error.as_deref().unwrap_or_default();
    assert!(error.contains("invalid_request"), "{report}");
    assert!(error.contains("Content-Type `application/json` is not accepted"), "{report}");
    assert!(failed.hint.as_deref().is_some_and(|h| h.contains("token endpoint")), "{report}");
    // What was sent is shown: the JSON body the standard provider refused, and its 400.
    assert!(failed.detail.join("\n").contains("Content-Type: application/json"), "{report}");
    assert!(failed.detail.join("\n").contains("-> 400"), "{report}");
    // The steps before passed; the flow stopped there.
    for kind in [StepKind::Manifest, StepKind::AuthorizeUrl, StepKind::Browser, StepKind::ParseCallback] {
        assert_eq!(step(&report, kind).status, Status::Passed, "{kind}:\n{report}");
    }
    for kind in [StepKind::TokenResponse, StepKind::ApiCall, StepKind::Refresh, StepKind::Revoke] {
        assert_eq!(step(&report, kind).status, Status::NotRun, "{kind}:\n{report}");
    }
    assert_no_secrets(&report);
    let printed = report.to_string();
    assert!(printed.contains("✗ code exchange") && printed.contains("failed at `code exchange`"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_plugin_with_a_missing_or_invalid_input_fails_before_the_flow_and_says_which_flag() {
    // The standard mode supplies no `subdomain`, which the Zendesk plugin requires.
    let report = check(ZENDESK, App::Standard).await;
    let failed = report.failure().expect("a failed step");
    assert_eq!(failed.kind, StepKind::Provider, "{report}");
    assert!(failed.error.as_deref().unwrap_or_default().contains("`subdomain`"), "{report}");
    assert!(failed.error.as_deref().unwrap_or_default().contains("is required"), "{report}");
    assert_eq!(step(&report, StepKind::AuthorizeUrl).status, Status::NotRun, "{report}");

    let options = CheckOptions {
        app: App::Zendesk,
        inputs: vec![("subdomain".into(), "Not A Subdomain".into())],
        ..CheckOptions::default()
    };
    let report = conformance::check(crate::engine().await, ZENDESK, &options).await;
    let failed = report.failure().expect("a failed step");
    assert_eq!(failed.kind, StepKind::Provider, "{report}");
    assert!(failed.error.as_deref().unwrap_or_default().contains("must match"), "{report}");
    assert_eq!(failed.hint.as_deref(), Some("pass the connection input as `--input subdomain=<value>`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_the_host_refuses_fail_at_the_check_they_break() {
    let garbage = check(b"this is not wasm", App::Standard).await;
    let failed = garbage.failure().expect("a failed step");
    assert_eq!(failed.kind, StepKind::Component, "{garbage}");
    assert!(failed.summary.contains("not WebAssembly"), "{garbage}");
    assert!(garbage.steps[1..].iter().all(|s| s.status == Status::NotRun), "{garbage}");

    let other_version = crate::with_api_version(STANDARD_OAUTH2, "9.9.9");
    let report = check(&other_version, App::Standard).await;
    assert_eq!(report.failure().map(|s| s.kind), Some(StepKind::ApiVersion), "{report}");
    assert!(report.failure().unwrap().summary.contains("keyway:plugin@9.9.9"), "{report}");

    let report = check(keyway_tests::components::GUEST_WRONG_WORLD, App::Standard).await;
    assert_eq!(step(&report, StepKind::Component).status, Status::Passed, "{report}");
    let failed = report.failure().expect("a failed step");
    assert_eq!(failed.kind, StepKind::ApiVersion, "{report}");
    assert!(failed.summary.contains("it exports [run]"), "{report}");
    assert!(failed.hint.as_deref().is_some_and(|h| h.contains("keyway_sdk::export!")), "{report}");
}

// ---- The real binary ----

/// The workspace root: `tests/`'s parent.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// `keyway` with `args`, or `cargo` in a scaffold, with the outer build's flags removed (as `host/build/guests.rs`
/// does) and a persistent target directory, so reruns reuse what is compiled.
fn command(program: &Path, target_dir: &Path) -> Command {
    let mut command = Command::new(program);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_LLVM_COV",
    ] {
        command.env_remove(var);
    }
    command.env("CARGO_TARGET_DIR", target_dir).stdin(Stdio::null());
    command
}

/// Where the guests are built: the scaffold's `plugin build` reuses their compiled dependencies.
fn guest_target_dir() -> PathBuf {
    std::env::var_os("KEYWAY_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/wasm-guests"))
}

fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| "cargo".into())
}

fn keyway(args: &[&str]) -> Output {
    command(&keyway_binary(), &guest_target_dir()).args(args).output().expect("keyway runs")
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[track_caller]
fn assert_success(what: &str, output: &Output) -> String {
    let (stdout, stderr) = text(output);
    assert!(output.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", output.status);
    stdout
}

#[test]
fn a_new_plugin_tests_builds_and_passes_the_conformance_kit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    let dir_arg = dir.to_str().unwrap();
    let mut timings: Vec<(&str, Duration)> = Vec::new();

    let started = Instant::now();
    let created = assert_success("keyway plugin new", &keyway(&["plugin", "new", "acme", "--dir", dir_arg]));
    timings.push(("plugin new", started.elapsed()));
    assert!(created.contains("created plugin `acme`") && created.contains("keyway plugin build"), "{created}");
    for file in ["Cargo.toml", "src/lib.rs", "README.md", ".gitignore"] {
        assert!(dir.join(file).is_file(), "{file} is missing:\n{created}");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let sdk = workspace().join("sdk").canonicalize().unwrap();
    assert!(manifest.contains(&format!("keyway-sdk = {{ path = \"{}\" }}", sdk.display())), "{manifest}");
    assert!(manifest.contains("\n[workspace]\n") && manifest.contains(r#"crate-type = ["cdylib", "rlib"]"#));

    // The crate's own tests, natively, in a target directory of their own that survives the run.
    let started = Instant::now();
    let tested = command(&cargo(), &workspace().join("target/scaffold-test"))
        .args(["test", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .output()
        .expect("cargo runs");
    timings.push(("cargo test", started.elapsed()));
    let (stdout, _) = text(&tested);
    assert_success("cargo test in the scaffold", &tested);
    assert!(stdout.contains("test result: ok. 2 passed"), "{stdout}");

    let started = Instant::now();
    let built = assert_success("keyway plugin build", &keyway(&["plugin", "build", dir_arg]));
    timings.push(("plugin build", started.elapsed()));
    let wasm = guest_target_dir().join("wasm32-wasip2/release/acme.wasm");
    assert!(built.contains(&format!("built {}", wasm.display())), "{built}");
    assert!(built.contains("acme 0.1.0 (plugin API 0.1.0): acme: a Keyway plugin"), "{built}");
    assert!(built.contains(&format!("next: keyway plugin check {}", wasm.display())), "{built}");

    let started = Instant::now();
    let checked = assert_success("keyway plugin check", &keyway(&["plugin", "check", wasm.to_str().unwrap()]));
    timings.push(("plugin check", started.elapsed()));
    for line in ["✓ component", "✓ API version", "✓ manifest", "✓ code exchange", "✓ API call", "✓ revoke"]
    {
        assert!(checked.lines().any(|l| l.starts_with(line)), "no `{line}` line:\n{checked}");
    }
    assert!(!checked.contains('✗'), "{checked}");
    assert!(checked.contains("acme 0.1.0: acme: a Keyway plugin"), "{checked}");

    // Not asserted (tests assert no wall-clock times); printed for whoever wonders where the time goes.
    eprintln!("scaffold timings: {timings:?}");
}

#[test]
fn plugin_new_refuses_a_bad_name_and_an_existing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["Acme", "my_app", "2fa", "x-", "fn"] {
        let dir = tmp.path().join("bad");
        let output = keyway(&["plugin", "new", bad, "--dir", dir.to_str().unwrap()]);
        let (_, stderr) = text(&output);
        assert!(!output.status.success(), "`{bad}` was accepted");
        assert!(stderr.contains(bad) && stderr.contains("e.g."), "`{bad}`: {stderr}");
        assert!(!dir.exists(), "a refused name must write nothing");
    }

    let existing = tmp.path().join("taken");
    std::fs::create_dir(&existing).unwrap();
    std::fs::write(existing.join("notes.txt"), "mine").unwrap();
    let output = keyway(&["plugin", "new", "taken", "--dir", existing.to_str().unwrap()]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("already exists and is not empty"), "{stderr}");
    assert_eq!(std::fs::read_dir(&existing).unwrap().count(), 1, "nothing may be written into it");

    let output = keyway(&[
        "plugin",
        "new",
        "acme",
        "--dir",
        tmp.path().join("elsewhere").to_str().unwrap(),
        "--sdk",
        tmp.path().join("no-sdk-here").to_str().unwrap(),
    ]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("the keyway SDK is not at") && stderr.contains("pass --sdk"), "{stderr}");
}

#[test]
fn plugin_check_and_build_refuse_what_is_not_a_plugin() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage.wasm");
    std::fs::write(&garbage, b"definitely not a component").unwrap();
    let output = keyway(&["plugin", "check", garbage.to_str().unwrap()]);
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("✗ component")), "{stdout}");
    assert!(stdout.contains("hint: build the plugin crate with `keyway plugin build`"), "{stdout}");
    assert!(stderr.contains("the `component` step failed"), "{stderr}");

    let output = keyway(&["plugin", "build", tmp.path().to_str().unwrap()]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("has no Cargo.toml") && stderr.contains("keyway plugin new"), "{stderr}");

    let output = keyway(&["plugin", "check", garbage.to_str().unwrap(), "--setting", "version=not json"]);
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("is not JSON"), "{stderr}");
}

#[test]
fn a_closed_stdout_ends_a_command_quietly_with_the_sigpipe_status() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("acme");
    // `keyway plugin new acme | head -0`, deterministically: the reading end is closed before the first write.
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = command(&keyway_binary(), &guest_target_dir())
        .args(["plugin", "new", "acme", "--dir", dir.to_str().unwrap()])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("keyway runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "status {}; stderr:\n{stderr}", output.status);
    assert!(stderr.is_empty(), "a reader that went away is not an error to report:\n{stderr}");
    // The work was done before the first line was printed.
    assert!(dir.join("src/lib.rs").is_file());
}
