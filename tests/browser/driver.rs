//! A real browser for the console tests: Debian's chromium, headless, driven through
//! chromedriver (WebDriver) with fantoccini, wrapped in blocking calls so that tests read
//! top to bottom. axe-core is injected into pages to check accessibility.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One browser at a time: chromium is heavy for a 2-core machine, and tests that fight
/// over the CPU only get slower and flakier.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// Whether the browser tests can run here; when they cannot they are skipped, unless
/// IPLS_REQUIRE_BROWSER=1 (CI), which makes that a failure.
pub fn available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present && std::env::var("IPLS_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("IPLS_REQUIRE_BROWSER=1 but {CHROMIUM} or {CHROMEDRIVER} is missing");
    }
    if !present {
        eprintln!("chromium/chromedriver not installed; browser tests are skipped");
    }
    present
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Where screenshots go: target/screenshots/NAME.png (docs/img holds the ones the docs use).
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots")
}

/// axe-core's script, installed from npm by .ci/run (never committed).
fn axe_source() -> Option<String> {
    let path = std::env::var("IPLS_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/axe/node_modules/axe-core/axe.min.js")
        });
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) if std::env::var("IPLS_REQUIRE_BROWSER").as_deref() == Ok("1") => {
            panic!(
                "IPLS_REQUIRE_BROWSER=1 but axe-core is not at {}",
                path.display()
            )
        }
        Err(_) => {
            eprintln!(
                "axe-core not found at {}; accessibility checks skipped",
                path.display()
            );
            None
        }
    }
}

pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    base: String,
    axe: Option<String>,
    _profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// A fresh headless browser (empty profile: no cookies) pointed at `server`.
    pub fn open(server: SocketAddr) -> Self {
        let turn = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let profile = tempfile::tempdir().expect("a profile directory");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let attempt = ClientBuilder::native()
                    .capabilities(capabilities.clone())
                    .connect(&url)
                    .await;
                match attempt {
                    Ok(client) => return client,
                    Err(e) if Instant::now() > deadline => panic!("no WebDriver session: {e}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Self {
            runtime,
            client: Some(client),
            driver,
            base: format!("http://{server}"),
            axe: axe_source(),
            _profile: profile,
            _turn: turn,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("an open session")
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client()
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    pub fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.runtime
            .block_on(self.client().goto(&url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    pub fn path(&self) -> String {
        let url = self
            .runtime
            .block_on(self.client().current_url())
            .expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub fn fill(&self, css: &str, value: &str) {
        self.runtime.block_on(async {
            let field = self.find(css).await;
            field
                .clear()
                .await
                .unwrap_or_else(|e| panic!("clear {css}: {e}"));
            field
                .send_keys(value)
                .await
                .unwrap_or_else(|e| panic!("type into {css}: {e}"));
        });
    }

    pub fn select(&self, css: &str, value: &str) {
        self.runtime.block_on(async {
            let field = self.find(css).await;
            field
                .select_by_value(value)
                .await
                .unwrap_or_else(|e| panic!("select {value} in {css}: {e}"));
        });
    }

    /// Clicks; unless the target is a checkbox or a disclosure's summary (which change this
    /// page), waits until the page the click leads to has replaced this one and finished
    /// loading (a marker set on this page's window is gone).
    pub fn click(&self, css: &str) {
        let toggles = self.run(&format!(
            "const e = document.querySelector({css:?}); window.__iplsOld = true; \
             return e && (e.type === 'checkbox' || e.tagName === 'SUMMARY') ? 'checkbox' : 'other'"
        ));
        self.runtime.block_on(async {
            let target = self.find(css).await;
            target
                .click()
                .await
                .unwrap_or_else(|e| panic!("click {css}: {e}"));
        });
        if toggles != "checkbox" {
            self.wait_for_new_page(css);
        }
    }

    fn wait_for_new_page(&self, after: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let state = self.runtime.block_on(self.client().execute(
                "return window.__iplsOld === true ? 'old' : document.readyState",
                vec![],
            ));
            // An error means the old page's context is gone mid-navigation: ask again.
            if let Ok(Value::String(state)) = state {
                if state == "complete" {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("clicking {after} led to no new page");
    }

    pub fn text(&self, css: &str) -> String {
        self.runtime.block_on(async {
            let found = self.find(css).await;
            found
                .text()
                .await
                .unwrap_or_else(|e| panic!("text of {css}: {e}"))
        })
    }

    /// The texts of every element matching `css`.
    pub fn texts(&self, css: &str) -> Vec<String> {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            for found in self
                .client()
                .find_all(Locator::Css(css))
                .await
                .expect("find all")
            {
                out.push(found.text().await.expect("text"));
            }
            out
        })
    }

    pub fn count(&self, css: &str) -> usize {
        self.runtime
            .block_on(self.client().find_all(Locator::Css(css)))
            .map(|v| v.len())
            .unwrap_or(0)
    }

    /// The page's visible text.
    pub fn body_text(&self) -> String {
        self.text("body")
    }

    /// Runs a script in the page and returns its result as a string ("" for null).
    pub fn run(&self, script: &str) -> String {
        let value = self
            .runtime
            .block_on(self.client().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("script failed: {e}"));
        match value {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// `name=value` of the browser's cookie `name`, for a plain HTTP request made with the
    /// user's session (a page's own fetch() is refused by the console's CSP).
    pub fn cookie(&self, name: &str) -> String {
        let cookie = self
            .runtime
            .block_on(self.client().get_named_cookie(name))
            .unwrap_or_else(|e| panic!("cookie {name}: {e}"));
        format!("{}={}", cookie.name(), cookie.value())
    }

    /// Saves a PNG of the viewport as target/screenshots/NAME.png.
    pub fn screenshot(&self, name: &str) {
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .expect("screenshot");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Saves NAME.png at the desktop size and NAME-phone.png at a phone's width (390 px),
    /// the whole page tall, then goes back to the desktop size.
    pub fn screenshots(&self, name: &str) {
        self.screenshot(name);
        self.runtime
            .block_on(self.client().set_window_size(390, 844))
            .expect("phone width");
        self.screenshot(&format!("{name}-phone"));
        self.runtime
            .block_on(self.client().set_window_size(1280, 900))
            .expect("desktop size");
    }

    /// At a phone's 390 px: how wide the page is and how wide the viewport, in CSS pixels
    /// (a page wider than its viewport scrolls sideways).
    pub fn widths_at_phone_size(&self) -> (i64, i64) {
        self.runtime
            .block_on(self.client().set_window_size(390, 844))
            .expect("phone width");
        let measured = self.run(
            "return document.documentElement.scrollWidth + ' ' + document.documentElement.clientWidth",
        );
        self.runtime
            .block_on(self.client().set_window_size(1280, 900))
            .expect("desktop size");
        let mut numbers = measured
            .split(' ')
            .map(|n| n.parse::<i64>().expect("a width"));
        (
            numbers.next().expect("page"),
            numbers.next().expect("viewport"),
        )
    }

    /// Runs axe-core on the current page; panics listing every serious or critical
    /// violation (WCAG 2 A and AA rules).
    pub fn assert_accessible(&self, page: &str) {
        let Some(axe) = &self.axe else { return };
        self.run(&format!("{axe}\n;return null;"));
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
              .then(r => done(r.violations
                  .filter(v => v.impact === 'serious' || v.impact === 'critical')
                  .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' (' + v.nodes.length + ' nodes, e.g. ' + v.nodes[0].html + ')')),
                    e => done(['axe failed: ' + e]));";
        let found = self
            .runtime
            .block_on(self.client().execute_async(script, vec![]))
            .expect("run axe");
        let violations: Vec<String> = serde_json::from_value(found).unwrap_or_default();
        assert!(
            violations.is_empty(),
            "accessibility of {page}: {violations:#?}"
        );
    }

    /// Logs in through the login form and waits for the landing page.
    pub fn log_in(&self, email: &str, password: &str) {
        self.goto("/console/login");
        self.fill("#email", email);
        self.fill("#password", password);
        self.click("form.login button[type=submit]");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
