//! `moralbank bench pages --url http://127.0.0.1:8080`: the weight and the time to first render
//! of each page type, in headless Chromium on a throttled mobile profile, against a running demo
//! city (issue 14: under 100 KB and under 1 s for the resident's pages), as one JSON line.
//!
//! Chromium (Debian's `chromium` and `chromium-driver`) is driven over WebDriver. The window is
//! a phone's (390 × 844); the network is throttled like Lighthouse's mobile profile (150 ms
//! round trip, 1.6 Mbit/s down, 750 kbit/s up) and the processor slowed four times (DevTools'
//! `Emulation.setCPUThrottlingRate`). Each page is loaded `--runs` times with the browser's
//! cache cleared first (a first visit, the worst case); for each load the page's own
//! performance entries give the bytes of its HTML, style sheets, scripts and images (decoded,
//! as the browser used them, and as sent), and the first contentful paint. The baseline,
//! measured the same way in the same run, is `/healthz` (a few bytes of text: one round trip
//! and the browser's own floor). The resident signs in as the demo prints (`13900000000`, the
//! code shown on the page in demo mode), so the server must be the demo.

use crate::bench::http::{loadavg, round1};
use crate::error::{CliError, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The demo's printed resident.
const DEMO_PHONE: &str = "13900000000";

pub struct PagesOptions {
    pub url: String,
    pub runs: u32,
}

/// The page types measured: (name, path, needs the resident signed in).
const PAGES: &[(&str, &str, bool)] = &[
    ("front page", "/", false),
    ("sign-in", "/login", false),
    ("enrolment", "/enrol", false),
    ("resident home", "/me", true),
    ("moral code", "/me/code", true),
    ("report a deed", "/deeds/new", true),
    ("my deeds", "/me/deeds", true),
    ("points entries", "/me/entries", true),
    ("inbox", "/me/inbox", true),
    ("settings", "/me/settings", true),
    ("benefit catalogue", "/benefits", false),
    ("public log", "/log", false),
    ("open data", "/open-data", false),
];

/// What the page itself reports after loading: bytes by kind and the first contentful paint.
const MEASURE: &str = "
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const kind = (r) => r.initiatorType === 'link' || r.name.endsWith('.css') ? 'css'
  : r.initiatorType === 'script' || r.name.endsWith('.js') ? 'js'
  : r.initiatorType === 'img' || r.name.endsWith('.svg') || r.name.endsWith('.png') ? 'img' : 'other';
const out = { html: nav.decodedBodySize, sent: nav.transferSize, css: 0, js: 0, img: 0, other: 0, requests: 1 + res.length };
for (const r of res) { out[kind(r)] += r.decodedBodySize; out.sent += r.transferSize; }
const fcp = performance.getEntriesByType('paint').find(p => p.name === 'first-contentful-paint');
out.fcp = fcp ? fcp.startTime : null;
out.load = nav.loadEventEnd;
return out;";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn pages(o: PagesOptions) -> Result<()> {
    if o.runs == 0 {
        return Err(CliError::Usage("--runs must be positive".into()));
    }
    for tool in [CHROMIUM, CHROMEDRIVER] {
        if !std::path::Path::new(tool).exists() {
            return Err(CliError::Usage(format!(
                "bench pages drives {tool}: install Debian's chromium and chromium-driver"
            )));
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(CliError::io("finding a free port"))?;
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(CliError::io("starting chromedriver"))?,
    );
    let profile = tempfile::tempdir().map_err(CliError::io("a browser profile"))?;
    let c = connect(port, profile.path()).await?;
    let result = run(&c, &o).await;
    let _ = c.close().await;
    println!("{}", result?);
    Ok(())
}

async fn connect(port: u16, profile: &std::path::Path) -> Result<Client> {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", format!("--user-data-dir={}", profile.display())],
            "mobileEmulation": { "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 3.0, "touch": true, "mobile": true } }
        }
    });
    let caps = caps.as_object().cloned().unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return Ok(c),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(CliError::Usage(format!("chromedriver: {e}"))),
        }
    }
}

fn web(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("the browser: {e}"))
}

/// A DevTools command through ChromeDriver.
#[derive(Debug)]
struct Cdp(Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.0.to_string()))
    }
}

async fn cdp(c: &Client, cmd: &str, params: Value) -> Result<()> {
    c.issue_cmd(Cdp(json!({ "cmd": cmd, "params": params })))
        .await
        .map_err(web)?;
    Ok(())
}

/// Lighthouse's mobile profile: a slow 4G network and a processor four times slower.
async fn throttle(c: &Client) -> Result<()> {
    cdp(c, "Network.enable", json!({})).await?;
    cdp(
        c,
        "Network.emulateNetworkConditions",
        json!({ "offline": false, "latency": 150, "downloadThroughput": 1_600_000 / 8, "uploadThroughput": 750_000 / 8 }),
    )
    .await?;
    cdp(c, "Emulation.setCPUThrottlingRate", json!({ "rate": 4 })).await
}

/// Sign the demo's resident in, as they would (the code is on the page in demo mode).
async fn sign_in(c: &Client, base: &str) -> Result<()> {
    c.goto(&format!("{base}/login")).await.map_err(web)?;
    c.find(Locator::Css("#phone"))
        .await
        .map_err(web)?
        .send_keys(DEMO_PHONE)
        .await
        .map_err(web)?;
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .map_err(web)?
        .click()
        .await
        .map_err(web)?;
    let code = match c
        .wait()
        .for_element(Locator::Css("#demo-code strong"))
        .await
    {
        Ok(e) => e.text().await.map_err(web)?,
        Err(_) => {
            return Err(CliError::Usage(format!(
                "no sign-in code on {base}/login: run this against `moralbank demo` (and wait a \
                 minute between runs: codes are sent once a minute)"
            )))
        }
    };
    c.find(Locator::Css("#code"))
        .await
        .map_err(web)?
        .send_keys(code.trim())
        .await
        .map_err(web)?;
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .map_err(web)?
        .click()
        .await
        .map_err(web)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.current_url().await.map_err(web)?.path() != "/me" {
        if Instant::now() > deadline {
            return Err(CliError::Usage("signing in did not reach /me".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Load `path` `runs` times from a cleared cache; the median of each figure.
async fn measure(c: &Client, base: &str, path: &str, runs: u32) -> Result<Value> {
    let mut samples: Vec<Value> = Vec::new();
    for _ in 0..runs {
        cdp(c, "Network.clearBrowserCache", json!({})).await?;
        c.goto(&format!("{base}{path}")).await.map_err(web)?;
        // A page that sent the browser elsewhere (a sign-in page) is not the page measured.
        let at = c.current_url().await.map_err(web)?;
        if at.path() != path.split('?').next().unwrap_or(path) {
            return Err(CliError::Usage(format!(
                "{path} answered with {at}: not measured"
            )));
        }
        // The paint entry is recorded just after the first frame: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = c.execute(MEASURE, vec![]).await.map_err(web)?;
            if m["fcp"].is_number() && m["load"].as_f64().unwrap_or(0.0) > 0.0 {
                samples.push(m);
                break;
            }
            if Instant::now() > deadline {
                return Err(CliError::Usage(format!("{path} never painted within 30 s")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let median = |key: &str| -> f64 {
        let mut v: Vec<f64> = samples.iter().filter_map(|s| s[key].as_f64()).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let html = median("html");
    let css = median("css");
    let js = median("js");
    Ok(json!({
        "path": path,
        "html_css_js_kb": round1((html + css + js) / 1024.0),
        "html_kb": round1(html / 1024.0), "css_kb": round1(css / 1024.0), "js_kb": round1(js / 1024.0),
        "img_kb": round1(median("img") / 1024.0),
        "sent_kb": round1(median("sent") / 1024.0),
        "requests": median("requests"),
        "first_render_ms": round1(median("fcp")),
        "load_ms": round1(median("load")),
    }))
}

async fn run(c: &Client, o: &PagesOptions) -> Result<Value> {
    let base = o.url.trim_end_matches('/').to_string();
    let load_before = loadavg();
    throttle(c).await?;
    let baseline = measure(c, &base, "/healthz", o.runs).await?;
    let mut pages = Vec::new();
    // The public pages as a visitor sees them, then the resident's signed in.
    let order = PAGES
        .iter()
        .filter(|p| !p.2)
        .chain(PAGES.iter().filter(|p| p.2));
    let mut signed_in = false;
    for (name, path, resident) in order {
        if *resident && !signed_in {
            sign_in(c, &base).await?;
            signed_in = true;
        }
        let mut m = measure(c, &base, path, o.runs).await?;
        let ratio = m["first_render_ms"].as_f64().unwrap_or(f64::NAN)
            / baseline["first_render_ms"].as_f64().unwrap_or(f64::NAN);
        m["page"] = json!(name);
        m["first_render_vs_baseline"] = json!(round1(ratio));
        pages.push(m);
    }
    let resident: Vec<&Value> = pages
        .iter()
        .filter(|m| {
            PAGES
                .iter()
                .any(|(_, path, resident)| *resident && m["path"] == *path)
        })
        .collect();
    let max = |key: &str| {
        resident
            .iter()
            .filter_map(|m| m[key].as_f64())
            .fold(0.0, f64::max)
    };
    Ok(json!({
        "bench": "pages",
        "url": base,
        "profile": { "viewport": "390x844@3", "latency_ms": 150, "down_kbit_s": 1600, "up_kbit_s": 750, "cpu_slowdown": 4, "cache": "cleared before each load" },
        "runs_per_page": o.runs,
        "baseline": baseline,
        "pages": pages,
        "resident_pages_max": { "html_css_js_kb": max("html_css_js_kb"), "first_render_ms": max("first_render_ms") },
        "goal": { "html_css_js_kb": 100, "first_render_ms": 1000 },
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
    }))
}
