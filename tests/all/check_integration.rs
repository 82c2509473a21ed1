//! The author's loop with real processes: `keyway mock-provider --mode NAME` plays an app on loopback and writes
//! its integration file, and `keyway plugin check --integration` runs a real component from `plugins/` through a
//! whole connection against it, the browser played by `--browser auto` or, as a person's would, by following
//! the authorize URL the check prints.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use keyway_mock_provider::MockConfig;
use keyway_tests::components::{
    ATLASSIAN, ENTRA, GITHUB, INSTAGRAM, NOTION, SHOPIFY, STANDARD_OAUTH2, TIKTOK_SHOP, XERO, ZENDESK,
};
use tempfile::TempDir;

use crate::api::{assert_no_secrets, free_port, keyway_binary};

/// A `keyway mock-provider` process, killed when dropped, and the directory holding what it wrote.
struct MockProcess {
    child: Child,
    dir: TempDir,
    /// The integration file it wrote.
    file: PathBuf,
    /// What it printed.
    stdout: String,
}

impl MockProcess {
    fn start(mode: &str) -> MockProcess {
        Self::start_with(mode, &[])
    }

    fn start_with(mode: &str, flags: &[&str]) -> MockProcess {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{mode}.toml"));
        let log = dir.path().join("mock.out");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(keyway_binary())
            .args(["mock-provider", "--mode", mode, "--write-integration"])
            .arg(&file)
            .args(flags)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("keyway mock-provider starts");
        let mut mock = MockProcess { child, dir, file, stdout: String::new() };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !mock.stdout.contains("until Ctrl-C") {
            if let Ok(Some(status)) = mock.child.try_wait() {
                panic!("keyway mock-provider exited ({status}):\n{}", mock.stdout);
            }
            assert!(Instant::now() < deadline, "keyway mock-provider did not start:\n{}", mock.stdout);
            std::thread::sleep(Duration::from_millis(20));
            mock.stdout = std::fs::read_to_string(&log).unwrap_or_default();
        }
        mock
    }

    /// `component` written next to the integration file, for the check to read.
    fn component(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The flags that let the check reach the mock on loopback (the production policy refuses it), and a redirect
/// URI of the test's own so that checks running at once do not fight over port 8400.
fn loopback_flags(extra: &[&str]) -> Vec<String> {
    let mut flags = vec!["--redirect-uri".to_string(), format!("http://127.0.0.1:{}/oauth", free_port())];
    for network in keyway_tests::allow_network_args(&[keyway_tests::MOCK_IP]) {
        flags.extend(["--allow-network".to_string(), network]);
    }
    flags.extend(extra.iter().map(|s| s.to_string()));
    flags
}

fn check(component: &Path, file: &Path, flags: &[String]) -> Output {
    Command::new(keyway_binary())
        .args(["plugin", "check"])
        .arg(component)
        .arg("--integration")
        .arg(file)
        .args(flags)
        .stdin(Stdio::null())
        .output()
        .expect("keyway plugin check runs")
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The mock's client secret in every spelling it travels in, and the prefixes of its codes and tokens.
fn mock_secrets() -> Vec<String> {
    use base64::Engine as _;
    let config = MockConfig::default();
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        encode(&config.client_id),
        encode(&config.client_secret)
    ));
    let mut secrets = vec![config.client_secret.clone(), encode(&config.client_secret), basic];
    secrets.extend(["mock-at-", "mock-rt-", "mock-code-"].map(String::from));
    secrets
}

/// The check passed, every step passed or was skipped, and nothing secret was printed.
#[track_caller]
fn assert_passes(output: &Output) -> String {
    let (stdout, stderr) = text(output);
    assert!(output.status.success(), "the check failed ({}):\n{stdout}\n{stderr}", output.status);
    let steps: Vec<&str> = stdout.lines().filter(|l| l.starts_with(['✓', '✗', '-'])).collect();
    assert_eq!(steps.len(), 13, "{stdout}");
    assert!(steps.iter().all(|l| !l.starts_with('✗')), "{stdout}");
    assert_no_secrets([("stdout", stdout.as_str()), ("stderr", stderr.as_str())], &mock_secrets());
    stdout
}

#[track_caller]
fn line<'a>(stdout: &'a str, starts: &str) -> &'a str {
    stdout.lines().find(|l| l.starts_with(starts)).unwrap_or_else(|| panic!("no `{starts}` line:\n{stdout}"))
}

#[test]
fn the_standard_plugin_passes_every_step_against_the_standard_mock_process() {
    let mock = MockProcess::start("standard");
    assert!(mock.stdout.contains("keyway plugin check PLUGIN.wasm --integration"), "{}", mock.stdout);
    let file = std::fs::read_to_string(&mock.file).unwrap();
    assert!(file.contains("plugin = \"standard-oauth2\"") && file.contains("api_call = \"GET /api/me\""), "{file}");
    assert!(mock.stdout.contains(&file), "the file written is the file printed:\n{}", mock.stdout);

    let output =
        check(&mock.component("standard", STANDARD_OAUTH2), &mock.file, &loopback_flags(&["--browser", "auto"]));
    let stdout = assert_passes(&output);
    for step in ["provider", "browser", "code exchange", "API call", "refresh", "revoke"] {
        assert!(line(&stdout, &format!("✓ {step}")).len() > step.len(), "{stdout}");
    }
    assert!(line(&stdout, "✓ provider").contains("the integration `standard-mock`"), "{stdout}");
    assert!(line(&stdout, "✓ revoke").contains("accepted the revoke request (200)"), "{stdout}");
    assert!(stdout.contains("conformance: 13 steps passed, 0 skipped, against `standard-mock` at http://127.0.0.1:"));
}

#[test]
fn notion_passes_against_the_notion_mock_process() {
    let mock = MockProcess::start("notion");
    let output = check(&mock.component("notion", NOTION), &mock.file, &loopback_flags(&["--browser", "auto"]));
    let stdout = assert_passes(&output);
    assert!(stdout.contains("Content-Type: application/json"), "Notion's JSON token request:\n{stdout}");
    assert!(stdout.contains("metadata workspace_id = "), "{stdout}");
    assert!(line(&stdout, "✓ API call").contains("the app answered 200"), "{stdout}");
}

#[test]
fn zendesk_passes_against_the_zendesk_mock_process_with_the_files_subdomain() {
    let mock = MockProcess::start("zendesk");
    let file = std::fs::read_to_string(&mock.file).unwrap();
    assert!(file.contains("[inputs]\nsubdomain = \"acme\""), "{file}");
    // The account hosts are pinned to the mock, as its printed command says.
    assert!(mock.stdout.contains("--resolve '*.zendesk.test=127.0.0.1'"), "{}", mock.stdout);
    let flags = loopback_flags(&[
        "--browser",
        "auto",
        "--resolve",
        "*.zendesk.test=127.0.0.1",
        "--insecure-http-host",
        "*.zendesk.test",
    ]);
    let output = check(&mock.component("zendesk", ZENDESK), &mock.file, &flags);
    let stdout = assert_passes(&output);
    assert!(stdout.contains("connection inputs subdomain=acme"), "{stdout}");
    assert!(stdout.contains("POST http://acme.zendesk.test:"), "the token request went to the account:\n{stdout}");
    assert!(line(&stdout, "✓ revoke").contains("(204)"), "{stdout}");

    // Without the input the plugin requires, the provider step says where to add it.
    let without = std::fs::read_to_string(&mock.file).unwrap().replace("subdomain = \"acme\"", "");
    let bare = mock.dir.path().join("bare.toml");
    std::fs::write(&bare, without).unwrap();
    let output = check(&mock.component("zendesk", ZENDESK), &bare, &flags);
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(line(&stdout, "✗ provider").contains("`subdomain`"), "{stdout}");
    assert!(stdout.contains("hint: add it to the integration file's `[inputs]` table"), "{stdout}");
    assert!(stderr.contains("the `provider` step failed"), "{stderr}");
}

/// Issue 10's five apps, each against its own mode, as an author would run them from the mock's printed command.
#[test]
fn each_new_app_plugin_passes_against_its_mock_process() {
    let apps: [(&str, &[u8], &[&str]); 5] = [
        ("entra", ENTRA, &[]),
        ("atlassian", ATLASSIAN, &[]),
        ("xero", XERO, &[]),
        ("shopify", SHOPIFY, &["--resolve", "*.myshopify.test=127.0.0.1", "--insecure-http-host", "*.myshopify.test"]),
        ("tiktok-shop", TIKTOK_SHOP, &[]),
    ];
    for (mode, component, egress) in apps {
        // TikTok Shop sends the browser to the redirect URL registered with the app, so the mock is told the
        // check's, and the file it writes names it.
        let redirect = format!("http://127.0.0.1:{}/oauth", free_port());
        let mock = MockProcess::start_with(mode, &["--redirect-uri", &redirect]);
        let file = std::fs::read_to_string(&mock.file).unwrap();
        assert!(file.contains(&format!("redirect_uri = \"{redirect}\"")), "{mode}: {file}");
        for pair in egress.chunks(2) {
            let printed = format!("{} '{}'", pair[0], pair[1]);
            assert!(mock.stdout.contains(&printed), "{mode}: the mock prints `{printed}`:\n{}", mock.stdout);
        }
        let mut extra = vec!["--browser", "auto"];
        extra.extend_from_slice(egress);
        let mut flags = loopback_flags(&extra);
        flags.drain(..2); // the file's redirect URI, not a fresh one
        let output = check(&mock.component(mode, component), &mock.file, &flags);
        let stdout = assert_passes(&output);
        assert!(line(&stdout, "✓ code exchange").len() > 16, "{mode}:\n{stdout}");
        assert!(line(&stdout, "✓ API call").contains("the app answered 2"), "{mode}:\n{stdout}");
    }
}

#[test]
fn what_the_app_lacks_is_skipped_with_the_reason() {
    // A GitHub OAuth app issues no refresh token and has no revoke path (the plugin revokes through the API).
    let mock = MockProcess::start("github");
    let output = check(&mock.component("github", GITHUB), &mock.file, &loopback_flags(&["--browser", "auto"]));
    let stdout = assert_passes(&output);
    let refresh = line(&stdout, "- refresh");
    assert!(refresh.contains("issued no refresh token, and the plugin has no other way to refresh"), "{stdout}");
    assert!(line(&stdout, "✓ revoke").contains("accepted the revoke request"), "{stdout}");

    // Instagram refreshes with the access token itself: asked anyway, it does.
    let mock = MockProcess::start("instagram");
    let output = check(&mock.component("instagram", INSTAGRAM), &mock.file, &loopback_flags(&["--browser", "auto"]));
    let stdout = assert_passes(&output);
    assert!(line(&stdout, "✓ token response").contains("no refresh token"), "{stdout}");
    assert!(line(&stdout, "✓ refresh").contains("a new access token"), "{stdout}");
    let revoke = line(&stdout, "- revoke");
    assert!(revoke.contains("no revoke request") && revoke.contains("revoke_path = "), "{stdout}");

    // Without an API call, that step is skipped and says how to name one.
    let without = std::fs::read_to_string(&mock.file).unwrap();
    let without: String = without.lines().filter(|l| !l.starts_with("api_call")).collect::<Vec<_>>().join("\n");
    let bare = mock.dir.path().join("no-call.toml");
    std::fs::write(&bare, without).unwrap();
    let output = check(&mock.component("instagram", INSTAGRAM), &bare, &loopback_flags(&["--browser", "auto"]));
    let stdout = assert_passes(&output);
    assert!(line(&stdout, "- API call").contains("--api-call 'GET /me'"), "{stdout}");
}

#[test]
fn a_wrong_integration_fails_at_the_step_that_shows_it_and_says_how_to_fix_it() {
    let mock = MockProcess::start("standard");
    let component = mock.component("standard", STANDARD_OAUTH2);
    let original = std::fs::read_to_string(&mock.file).unwrap();

    // The mock wants Basic client authentication; the file says `post`.
    let wrong_auth = mock.dir.path().join("wrong-auth.toml");
    std::fs::write(&wrong_auth, original.replace("client_auth = \"basic\"", "client_auth = \"post\"")).unwrap();
    let output = check(&component, &wrong_auth, &loopback_flags(&["--browser", "auto"]));
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}");
    let failed = line(&stdout, "✗ code exchange");
    assert!(failed.contains("the provider answered `invalid_request`"), "{stdout}");
    assert!(failed.contains("`client_secret` must not be in the body"), "the provider's words are shown:\n{stdout}");
    assert!(stdout.contains("client_secret=[redacted]") && stdout.contains("-> 400"), "what was sent:\n{stdout}");
    assert!(stdout.contains("hint: compare the request above") && stdout.contains("(the integration uses Post)"));
    assert!(line(&stdout, "- token response").contains("not run"), "{stdout}");
    assert!(stderr.contains("error: the `code exchange` step failed"), "{stderr}");
    assert_no_secrets([("stdout", stdout.as_str()), ("stderr", stderr.as_str())], &mock_secrets());

    // A field the integration needs is missing: the provider step names it, with an example.
    let no_path = mock.dir.path().join("no-path.toml");
    let text_without: String = original.lines().filter(|l| !l.starts_with("token_path")).collect::<Vec<_>>().join("\n");
    std::fs::write(&no_path, text_without).unwrap();
    let output = check(&component, &no_path, &loopback_flags(&["--browser", "auto"]));
    let (stdout, _) = text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(line(&stdout, "✗ provider").contains("token_path"), "{stdout}");
    assert!(
        stdout.contains(
            r#"hint: fix `token_path` in the integration file, e.g. `token_path = "/login/oauth/access_token"`"#
        ),
        "{stdout}"
    );

    // A file that is not an integration file is refused before anything runs, naming the field.
    let typo = mock.dir.path().join("typo.toml");
    std::fs::write(&typo, original.replace("token_path", "token_url")).unwrap();
    let output = check(&component, &typo, &loopback_flags(&[]));
    let (_, stderr) = text(&output);
    assert!(!output.status.success());
    assert!(stderr.contains("is not a valid integration file") && stderr.contains("unknown field `token_url`"));
}

#[test]
fn show_headers_prints_every_request_and_answer_with_headers_and_no_secret() {
    let mock = MockProcess::start("standard");
    let component = mock.component("standard", STANDARD_OAUTH2);
    let output = check(&component, &mock.file, &loopback_flags(&["--browser", "auto", "--show-headers"]));
    let stdout = assert_passes(&output);
    let wire = stdout.split("every request and answer, in order, as sent").nth(1).unwrap_or_else(|| panic!("{stdout}"));
    for expected in [
        "[1] browser\n> GET http://127.0.0.1:",
        "< 302 (",
        "< location: http://127.0.0.1:",
        "/oauth?code=[redacted]&state=[redacted]",
        "] code exchange\n> POST http://127.0.0.1:",
        "> Authorization: Basic [redacted]",
        "> Content-Type: application/x-www-form-urlencoded",
        "< content-type: application/json",
        "] API call\n> GET http://127.0.0.1:",
        "> Authorization: Bearer [redacted]",
        "] refresh\n",
        "] revoke\n",
    ] {
        assert!(wire.contains(expected), "no `{expected}` in the wire log:\n{wire}");
    }
    // Without the flag, the report alone.
    let output = check(&component, &mock.file, &loopback_flags(&["--browser", "auto"]));
    assert!(!assert_passes(&output).contains("every request and answer"));
}

/// The default browser is the author's: the check prints the authorize URL and waits on the redirect URI. Here a
/// client that follows redirects, as a browser does, plays the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_the_check_waits_for_a_browser_at_the_redirect_uri() {
    let mock = MockProcess::start("standard");
    let component = mock.component("standard", STANDARD_OAUTH2);
    let mut child = Command::new(keyway_binary())
        .args(["plugin", "check"])
        .arg(&component)
        .arg("--integration")
        .arg(&mock.file)
        .args(loopback_flags(&["--wait", "60s"]))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keyway plugin check starts");
    // The prompt is on stderr, so it shows while stdout goes to a file.
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut seen = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.trim().strip_prefix("http://").filter(|_| line.contains("/oauth/authorize?")) {
                let _ = url_tx.send(format!("http://{url}"));
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let authorize_url = url_rx.recv_timeout(Duration::from_secs(60)).expect("the check prints the authorize URL");
    let browser = reqwest::Client::new();
    let page = browser.get(&authorize_url).send().await.expect("the browser follows the redirects");
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Callback received"), "{page}");

    let output = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    let prompt = reader.join().unwrap();
    assert!(prompt.contains("open this URL in your browser") && prompt.contains("waiting up to 1m"), "{prompt}");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}\n{prompt}");
    assert!(line(&stdout, "✓ browser").contains("redirected back with code, state"), "{stdout}");
    assert!(stdout.contains("browser yours: the check waits up to 1m"), "{stdout}");
    assert!(stdout.contains("conformance: 13 steps passed"), "{stdout}");
}
