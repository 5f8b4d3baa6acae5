//! The browser tests' kit, shared by `browser.rs` and `browser_experience.rs`: Chromium under
//! ChromeDriver (skipped outside CI when not installed), a phone-sized or desktop window,
//! screenshots under `target/screenshots/`, the app served on a loopback port in demo mode, and
//! the few steps every scenario takes (fill, click, wait for a path, sign in).
#![allow(dead_code)]

use crate::common::{self, World};
use fantoccini::{Client, ClientBuilder, Locator};
use moralbank_web::{app, AppState, WebConfig};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub struct Driver {
    child: Child,
    port: u16,
    /// Browser profiles and other files of this run.
    pub profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Start chromedriver, or `None` (skip) when the browser is not installed outside CI.
pub fn start_driver() -> Option<Driver> {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!("skipping browser test: chromium/chromedriver not installed");
        return None;
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Some(Driver {
        child,
        port,
        profile: tempfile::tempdir().expect("profile dir"),
    })
}

/// A phone-sized window for residents, a desktop one for the staff console.
pub async fn browser(driver: &Driver, name: &str, size: (u32, u32)) -> Client {
    browser_with(driver, name, size, &[]).await
}

/// [`browser`] with more command-line switches for Chromium (a fake camera).
pub async fn browser_with(
    driver: &Driver,
    name: &str,
    size: (u32, u32),
    extra: &[String],
) -> Client {
    let profile = driver.profile.path().join(name);
    let caps = serde_json::json!({
        "browserName": "chrome",
        // The console, read by `assert_no_csp_violation`.
        "goog:loggingPrefs": { "browser": "ALL" },
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", format!("--window-size={},{}", size.0, size.1),
                     format!("--user-data-dir={}", profile.display())]
        }
    });
    let mut caps = caps;
    if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
        args.extend(extra.iter().map(|a| serde_json::json!(a)));
    }
    let caps = caps.as_object().cloned().expect("object");
    // chromedriver needs a moment to listen: retry the connection, bounded, instead of sleeping.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("chromedriver did not accept a session: {e}"),
        }
    }
}

/// ChromeDriver's "get log" command: the browser console's messages since the last read.
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (
            axum::http::Method::POST,
            Some(r#"{"type": "browser"}"#.into()),
        )
    }
}

/// The Content-Security-Policy violations the browser reported since the last read.
pub async fn csp_violations(c: &Client) -> Vec<String> {
    let log = c
        .issue_cmd(ConsoleLog)
        .await
        .expect("the browser's console");
    log.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .filter(|m| m.contains("Content Security Policy"))
        .map(str::to_string)
        .collect()
}

/// Every page this browser opened ran under the app's Content-Security-Policy without one
/// refusal: no inline script, style or handler was blocked.
pub async fn assert_no_csp_violation(c: &Client) {
    let seen = csp_violations(c).await;
    assert!(seen.is_empty(), "CSP violations: {seen:#?}");
}

pub async fn shot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

pub async fn click(c: &Client, css: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    // As a person would: scrolled to the middle of the screen first, clear of the resident
    // app's tab bar fixed at the bottom (the driver would scroll it just into view, under it).
    c.execute(
        "arguments[0].scrollIntoView({block: 'center'})",
        vec![serde_json::to_value(&e).expect("element")],
    )
    .await
    .expect("scroll");
    e.click().await.expect("click");
}

/// The text of the first match, polling (bounded) while a form submission navigates.
pub async fn text(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.ok(),
            Err(_) => None,
        };
        match found {
            Some(t) => return t,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            None => panic!(
                "{css} never appeared on {:?}",
                c.current_url().await.map(|u| u.to_string())
            ),
        }
    }
}

/// Wait until the browser is on `path`.
pub async fn on_path(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while c
        .current_url()
        .await
        .map(|u| u.path().to_string())
        .ok()
        .as_deref()
        != Some(path)
    {
        assert!(Instant::now() < deadline, "never reached {path}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Serve the world's router (demo mode: codes on the page) on a loopback port.
pub async fn serve(w: &World) -> String {
    serve_state(demo_state(w).with_clock(w.clock.clone())).await
}

/// The world's store and ledger in demo mode (sign-in codes shown on the page).
pub fn demo_state(w: &World) -> AppState {
    let config = WebConfig {
        demo_mode: true,
        cookie_secure: false,
        ..WebConfig::default()
    };
    let evidence = std::env::temp_dir().join(format!("mb-evidence-{}", domain::new_id()));
    AppState::new(
        w.store.clone(),
        config,
        Arc::new(moralbank_web::DevSender),
        w.ledger.clone(),
    )
    .with_evidence_dir(evidence)
}

pub async fn serve_state(state: AppState) -> String {
    let router = app(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    base
}

/// Sign a resident in with the code demo mode shows on the page.
pub async fn resident_signs_in(c: &Client, base: &str, phone: &str) {
    c.goto(&format!("{base}/login")).await.expect("open login");
    fill(c, "#phone", phone).await;
    click(c, "main form button[type=submit]").await;
    let code = text(c, "#demo-code strong").await;
    fill(c, "#code", &code).await;
    click(c, "main form button[type=submit]").await;
    on_path(c, "/me").await;
}

pub async fn staff_signs_in(c: &Client, base: &str, username: &str) {
    c.goto(&format!("{base}/staff/login"))
        .await
        .expect("open staff login");
    fill(c, "#username", username).await;
    fill(c, "#password", common::PASSWORD).await;
    click(c, "main form button[type=submit]").await;
    on_path(c, "/console").await;
}

/// Click a form's submit button and wait until the browser has loaded the answer (a page that
/// redirects back to the same path would otherwise look loaded at once).
pub async fn submit_and_wait(c: &Client, css: &str) {
    c.execute("window.__mbBefore = true", vec![]).await.unwrap();
    click(c, css).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let still = c
            .execute(
                "return window.__mbBefore === true && document.readyState === 'complete'",
                vec![],
            )
            .await
            .unwrap_or(serde_json::json!(true));
        if still == serde_json::json!(false) {
            let ready = c
                .execute("return document.readyState", vec![])
                .await
                .unwrap_or_default();
            if ready == serde_json::json!("complete") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the form's answer never loaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poll a script until it returns true (bounded).
pub async fn until(c: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = c.execute(script, vec![]).await.unwrap_or_default();
        if v == serde_json::json!(true) {
            return;
        }
        if Instant::now() >= deadline {
            let page = c
                .execute("return document.body.innerText", vec![])
                .await
                .unwrap_or_default();
            panic!(
                "{what}: never true on {:?}\n{page}",
                c.current_url().await.map(|u| u.to_string())
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// axe-core's browser build, installed by `.ci/run` under `target/axe` (npm package axe-core);
/// `None` outside CI when it is not installed.
pub fn axe_source() -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/axe/node_modules/axe-core/axe.min.js");
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(_) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but {} is missing (.ci/run installs it)",
                path.display()
            );
            eprintln!("skipping the accessibility check: axe-core is not installed");
            None
        }
    }
}

/// The serious and critical violations axe-core finds on the open page, one line each.
pub async fn axe_violations(c: &Client, axe: &str) -> Vec<String> {
    c.execute(axe, vec![]).await.expect("axe-core loads");
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}
