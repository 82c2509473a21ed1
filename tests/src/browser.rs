//! A headless Chromium for tests, driven over WebDriver (chromedriver) with `fantoccini`: each
//! [`Browser`] has its own chromedriver, on a free loopback port, and its own fresh profile, so
//! browsers share no cookies and tests may run in parallel.
//!
//! When chromedriver or Chromium is missing, [`Browser::start`] panics under `CI=true` (a test that
//! needs a missing service fails in CI) and otherwise prints why the tests are skipped, and returns
//! `None`, as [`crate::postgres::test_database`] does.
//!
//! Every method panics, saying what it was doing and on which page, when the browser cannot do what
//! it is asked: these are test steps, and a failed step is a failed test.
//!
//! ```no_run
//! # async fn example() {
//! let Some(browser) = keyway_tests::browser::Browser::start().await else { return };
//! browser.goto("http://127.0.0.1:8400/console").await;
//! browser.fill("input[name=login]", "admin").await;
//! browser.submit_form("button[type=submit]").await;
//! assert!(browser.text("h1").await.contains("Connections"));
//! browser.close().await;
//! # }
//! ```

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::service::{self, Supervised};

/// Where Debian's `chromium` package puts the browser (a wrapper script that chromedriver runs).
const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver, when it is not on PATH.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long chromedriver may take to answer `/status` after it starts.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a page may take to load, a script to run, or a submitted form to be replaced by the
/// next page. Generous for a loaded 2-core machine, short enough that a hung page fails the test
/// instead of hanging it.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium with its own chromedriver and a fresh profile. Dropping it kills both (and
/// every process Chromium started) and deletes the profile; [`Browser::close`] ends the session
/// first. If the test process itself is killed, the processes still die (see `Supervised`), but the
/// profile (a few MB) stays behind in the temporary directory as `keyway-chromium-*`.
pub struct Browser {
    client: Client,
    /// chromedriver's stdout and stderr (the last 16 KiB each), for error messages.
    driver_output: [Arc<Mutex<Vec<u8>>>; 2],
    // Fields drop in order: the processes are killed before their profile is deleted.
    _driver: Supervised,
    profile: tempfile::TempDir,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("profile", &self.profile.path()).finish_non_exhaustive()
    }
}

impl Browser {
    /// Starts chromedriver and, through it, a headless Chromium with a 1280×900 window; `None`
    /// (after saying why on stderr) when either is not installed, outside CI.
    ///
    /// # Panics
    ///
    /// With `CI=true` when either is not installed; and whenever they are installed but do not start
    /// (the message has chromedriver's output), since that is not a missing service but a failure to
    /// report.
    pub async fn start() -> Option<Browser> {
        let chromium = Path::new(CHROMIUM);
        let driver = match find_chromedriver() {
            Some(driver) if chromium.is_file() => driver,
            found => {
                let why = if found.is_none() {
                    format!("chromedriver is neither on PATH nor at {CHROMEDRIVER}")
                } else {
                    format!("{CHROMIUM} is missing")
                };
                static SAID: OnceLock<()> = OnceLock::new();
                service::skip(
                    "browser",
                    &why,
                    "Install Debian's chromium and chromium-driver (scripts/setup.sh's ensure_chromium)",
                    &SAID,
                );
                return None;
            }
        };

        let profile = tempfile::Builder::new()
            .prefix("keyway-chromium-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a Chromium profile directory: {e}"));
        let (process, port, driver_output) = start_driver(&driver).await;

        let mut args = vec![
            // The "new" headless mode is the real browser without a window (the old one was a
            // separate implementation that renders differently).
            "--headless=new".to_string(),
            // Tests often run as root (in containers), where Chromium's sandbox cannot start.
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            // Containers' /dev/shm is often too small for Chromium, which then crashes tabs.
            "--disable-dev-shm-usage".into(),
            // No traffic but the test's own: no update checks, sync, field trials or QUIC probes.
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--window-size=1280,900".into(),
        ];
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
            // Milliseconds; WebDriver's defaults (300 s page loads) would hang a failing test.
            "timeouts": {
                "pageLoad": PAGE_TIMEOUT.as_millis() as u64,
                "script": PAGE_TIMEOUT.as_millis() as u64,
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!("an object literal") };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "chromedriver ({}) could not start {CHROMIUM}: {e}; chromedriver's output:\n{}",
                    driver.display(),
                    output_text(&driver_output)
                )
            });
        Some(Browser { client, driver_output, _driver: process, profile })
    }

    /// The fantoccini client, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and waits for it to finish loading.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            self.fail(&format!("cannot load {url}"), e).await;
        }
    }

    /// The URL of the page shown now.
    pub async fn current_url(&self) -> String {
        match self.client.current_url().await {
            Ok(url) => url.into(),
            Err(e) => panic!("cannot read the browser's current URL: {e}; chromedriver's output:\n{}", self.output()),
        }
    }

    /// Clears the field `css` selects and types `value` into it.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.find(css).await;
        if let Err(e) = field.clear().await {
            self.fail(&format!("cannot clear `{css}`"), e).await;
        }
        if let Err(e) = field.send_keys(value).await {
            self.fail(&format!("cannot type into `{css}`"), e).await;
        }
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) {
        if let Err(e) = self.find(css).await.click().await {
            self.fail(&format!("cannot click `{css}`"), e).await;
        }
    }

    /// Clicks the (submit) button `css` selects and waits until the page it leads to has loaded.
    /// "Leads to" is a new document, whatever its URL: a form that posts back to its own URL, or
    /// redirects there, still counts.
    pub async fn submit_form(&self, css: &str) {
        // A new document has a new `window`, without this mark.
        const MARK: &str = "window.__keywayBeforeSubmit = true";
        const LOADED: &str = "return window.__keywayBeforeSubmit === undefined && document.readyState === 'complete'";
        let button = self.find(css).await;
        self.execute(MARK).await;
        if let Err(e) = button.click().await {
            self.fail(&format!("cannot click `{css}`"), e).await;
        }
        let deadline = Instant::now() + PAGE_TIMEOUT;
        loop {
            // Errors are expected while the old document goes away ("no such execution context").
            if let Ok(serde_json::Value::Bool(true)) = self.client.execute(LOADED, Vec::new()).await {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(
                    &format!("clicking `{css}` did not load a new page within {PAGE_TIMEOUT:?}"),
                    "still on the old page",
                )
                .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The rendered text of the element `css` selects (what a user sees, whitespace collapsed).
    pub async fn text(&self, css: &str) -> String {
        match self.find(css).await.text().await {
            Ok(text) => text,
            Err(e) => self.fail(&format!("cannot read the text of `{css}`"), e).await,
        }
    }

    /// The current page's HTML, as the browser has it now (scripts' changes included).
    pub async fn source(&self) -> String {
        match self.client.source().await {
            Ok(html) => html,
            Err(e) => self.fail("cannot read the page source", e).await,
        }
    }

    /// Whether the page has an element `css` selects, now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(found) => !found.is_empty(),
            Err(e) => self.fail(&format!("cannot look for `{css}`"), e).await,
        }
    }

    /// Waits up to `timeout` for the page to have an element `css` selects (one a script adds, say).
    pub async fn wait_for(&self, css: &str, timeout: Duration) {
        let waited = self.client.wait().at_most(timeout).every(Duration::from_millis(50));
        if let Err(e) = waited.for_element(Locator::Css(css)).await {
            self.fail(&format!("no `{css}` appeared within {timeout:?}"), e).await;
        }
    }

    /// Chooses the option with `value` in the `<select>` that `css` selects.
    pub async fn select(&self, css: &str, value: &str) {
        if let Err(e) = self.find(css).await.select_by_value(value).await {
            self.fail(&format!("cannot choose {value:?} in `{css}`"), e).await;
        }
    }

    /// Checks (or unchecks) the checkbox `css` selects, by clicking it if it is not as asked.
    pub async fn set_checked(&self, css: &str, checked: bool) {
        let checkbox = self.find(css).await;
        match checkbox.is_selected().await {
            Ok(now) if now == checked => {}
            Ok(_) => {
                if let Err(e) = checkbox.click().await {
                    self.fail(&format!("cannot click `{css}`"), e).await;
                }
            }
            Err(e) => self.fail(&format!("cannot tell whether `{css}` is checked"), e).await,
        }
    }

    /// Resizes the window, e.g. to a phone's width to test a narrow layout.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        if let Err(e) = self.client.set_window_size(width, height).await {
            self.fail(&format!("cannot resize the window to {width}×{height}"), e).await;
        }
    }

    /// Saves a PNG of the window to `<target dir>/ui-screenshots/NAME.png` (the workspace's target
    /// directory, or `CARGO_TARGET_DIR`), for a person to look at; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => self.fail(&format!("cannot take screenshot {name:?}"), e).await,
        };
        let dir = target_dir().join("ui-screenshots");
        let path = dir.join(format!("{name}.png"));
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, png)) {
            panic!("cannot write screenshot {}: {e}", path.display());
        }
        path
    }

    /// Runs `js` as the body of a function in the page and returns what it returns (`return …;`).
    pub async fn execute(&self, js: &str) -> serde_json::Value {
        match self.client.execute(js, Vec::new()).await {
            Ok(value) => value,
            Err(e) => self.fail(&format!("script failed: {js}"), e).await,
        }
    }

    /// Ends the WebDriver session (Chromium quits), then stops chromedriver and deletes the profile.
    pub async fn close(self) {
        let Browser { client, driver_output, .. } = self;
        if let Err(e) = client.close().await {
            panic!("cannot end the browser session: {e}; chromedriver's output:\n{}", output_text(&driver_output));
        }
    }

    /// The one element `css` selects, or a panic that says which page lacks it.
    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => self.fail(&format!("cannot find `{css}`"), e).await,
        }
    }

    /// Panics with `what`, the error, and where the browser is.
    async fn fail(&self, what: &str, error: impl std::fmt::Display) -> ! {
        let url = match self.client.current_url().await {
            Ok(url) => url.to_string(),
            Err(e) => format!("unknown ({e})"),
        };
        panic!("browser: {what}: {error}\n  on page: {url}")
    }

    fn output(&self) -> String {
        output_text(&self.driver_output)
    }
}

/// chromedriver on PATH, else where Debian puts it.
fn find_chromedriver() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join("chromedriver")).find(|p| p.is_file()));
    on_path.or_else(|| Some(PathBuf::from(CHROMEDRIVER)).filter(|p| p.is_file()))
}

/// Starts chromedriver on a free loopback port and waits until it answers; returns it, the port,
/// and its stdout and stderr tails.
async fn start_driver(driver: &Path) -> (Supervised, u16, [Arc<Mutex<Vec<u8>>>; 2]) {
    let http = crate::http::client();
    let mut last_output = String::new();
    // The free port can be taken between our probe and chromedriver's bind: try a few.
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
            .port();
        let args = [OsString::from(format!("--port={port}"))];
        let (process, stdout, stderr) = Supervised::spawn(driver.as_os_str(), args, &[], &std::env::temp_dir())
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let output = [service::collect_tail(stdout, 16 << 10), service::collect_tail(stderr, 16 << 10)];
        let status = format!("http://127.0.0.1:{port}/status");
        let deadline = Instant::now() + DRIVER_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(response) = http.get(&status).send().await
                && let Ok(body) = response.bytes().await
                && let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body)
                && body["value"]["ready"] == true
            {
                return (process, port, output);
            }
            // chromedriver exits at once when its port is taken: then try another.
            last_output = output_text(&output);
            if last_output.contains("Address already in use") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("{} did not answer on 127.0.0.1 within {DRIVER_TIMEOUT:?}; its output:\n{last_output}", driver.display())
}

/// Both tails, as text.
fn output_text(output: &[Arc<Mutex<Vec<u8>>>; 2]) -> String {
    output.iter().map(|tail| service::tail_text(tail)).filter(|text| !text.is_empty()).collect::<Vec<_>>().join("\n")
}

/// `CARGO_TARGET_DIR` or the workspace's `target`. Cargo reads a relative `CARGO_TARGET_DIR` from
/// where it runs, which a test (run in `tests/`) cannot know: take the workspace root, where
/// `scripts/test.sh` runs it.
fn target_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace");
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace.join(dir),
        _ => workspace.join("target"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::response::Html;
    use axum::routing::get;
    use axum::{Form, Router};

    use super::*;

    /// A form that posts back to its own URL, so that `submit_form` must notice a new document
    /// rather than a new URL; the answer adds an element from a script, later, for `wait_for`.
    const FORM: &str = r#"<!doctype html><title>form</title>
        <form method="post">
          <input name="name" value="to be replaced">
          <select name="colour"><option value="red">Red</option><option value="green">Green</option></select>
          <input type="checkbox" name="agree" value="yes">
          <button type="submit">Send</button>
        </form>"#;

    async fn answer(Form(fields): Form<HashMap<String, String>>) -> Html<String> {
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let field = |name: &str| escape(fields.get(name).map_or("(none)", String::as_str));
        Html(format!(
            r#"<!doctype html><title>answer</title>
            <p id="name">{}</p><p id="colour">{}</p><p id="agree">{}</p>
            <script>setTimeout(() => document.body.insertAdjacentHTML("beforeend", "<p id=late>late</p>"), 200)</script>"#,
            field("name"),
            field("colour"),
            field("agree"),
        ))
    }

    /// Serves `FORM` on a free loopback port; returns its URL.
    async fn serve_form() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/form", listener.local_addr().expect("local address"));
        let app = Router::new().route("/form", get(|| async { Html(FORM) }).post(answer));
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn fills_in_and_submits_a_form() {
        let Some(browser) = Browser::start().await else { return };
        let url = serve_form().await;
        browser.goto(&url).await;
        assert_eq!(browser.execute("return document.title").await, "form");
        assert!(browser.exists("select[name=colour]").await);
        assert!(!browser.exists("#name").await);

        browser.fill("input[name=name]", "Ada & <Lovelace>").await;
        browser.select("select[name=colour]", "green").await;
        browser.set_checked("input[name=agree]", true).await;
        browser.set_checked("input[name=agree]", true).await; // already checked: stays so
        browser.submit_form("button[type=submit]").await;

        assert_eq!(browser.current_url().await, url, "the form posts to its own URL");
        assert_eq!(browser.text("#name").await, "Ada & <Lovelace>");
        assert_eq!(browser.text("#colour").await, "green");
        assert_eq!(browser.text("#agree").await, "yes");
        assert!(browser.source().await.contains("Ada &amp; &lt;Lovelace&gt;"));
        browser.wait_for("#late", Duration::from_secs(10)).await;

        browser.set_window_size(480, 800).await;
        let width = browser.execute("return window.innerWidth").await;
        assert!(width.as_u64().is_some_and(|w| w <= 480), "innerWidth {width} after resizing to 480");
        let png = std::fs::read(browser.screenshot("browser-self-test").await).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is a PNG");
        browser.close().await;
    }

    /// The live processes whose command line mentions `needle` (a zombie's is empty).
    fn processes_mentioning(needle: &str) -> Vec<String> {
        let entries = std::fs::read_dir("/proc").expect("/proc");
        entries
            .flatten()
            .filter(|entry| entry.file_name().to_str().is_some_and(|name| name.bytes().all(|b| b.is_ascii_digit())))
            .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
            .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
            .filter(|cmdline| cmdline.contains(needle))
            .collect()
    }

    #[tokio::test]
    async fn dropping_it_ends_chromium_and_deletes_the_profile() {
        let Some(browser) = Browser::start().await else { return };
        let profile = browser.profile.path().to_path_buf();
        let needle = profile.to_str().expect("a UTF-8 temp dir").to_string();
        assert!(!processes_mentioning(&needle).is_empty(), "Chromium runs with the profile {needle}");
        drop(browser);
        // SIGKILL is delivered at once, but a process takes a moment to go.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !processes_mentioning(&needle).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(processes_mentioning(&needle), Vec::<String>::new(), "processes outlived the Browser");
        assert!(!profile.exists(), "the profile {} outlived the Browser", profile.display());
    }
}
