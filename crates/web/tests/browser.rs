#![allow(clippy::unwrap_used)]
//! End to end in headless Chromium (Debian's chromium + chromium-driver): a resident enrols,
//! signs in with the one-time code, sees their home page and empty access log; an admin signs in
//! and finds that resident; the resident's access log then shows the admin. Screenshots are
//! kept under `target/screenshots/` as CI artifacts.

mod common;

use common::World;
use fantoccini::{Client, ClientBuilder, Locator};
use moralbank_web::{app, AppState, WebConfig};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Start chromedriver, or `None` (skip) when the browser is not installed outside CI.
fn start_driver() -> Option<Driver> {
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
        _profile: tempfile::tempdir().expect("profile dir"),
    })
}

/// A phone-sized window for residents, a desktop one for the staff console.
async fn browser(driver: &Driver, name: &str, size: (u32, u32)) -> Client {
    let profile = driver._profile.path().join(name);
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync", format!("--window-size={},{}", size.0, size.1),
                     format!("--user-data-dir={}", profile.display())]
        }
    });
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

async fn shot(c: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
}

async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .expect("click");
}

/// The text of the first match, polling (bounded) while a form submission navigates.
async fn text(c: &Client, css: &str) -> String {
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
async fn on_path(c: &Client, path: &str) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_enrols_and_signs_in_then_sees_the_admins_search_in_their_access_log() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    let config = WebConfig {
        demo_mode: true,
        cookie_secure: false,
        ..WebConfig::default()
    };
    let router = app(AppState::new(
        w.store.clone(),
        config,
        Arc::new(moralbank_web::DevSender),
        w.ledger.clone(),
    ));
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

    let (phone, rid) = common::fresh_identity(77);
    let resident = browser(&driver, "resident", (420, 1000)).await;
    resident
        .goto(&format!("{base}/enrol"))
        .await
        .expect("open enrol");
    shot(&resident, "01-enrol-form").await;
    fill(&resident, "#name", "王晓明").await;
    fill(&resident, "#resident_id", &rid).await;
    fill(&resident, "#phone", &phone).await;
    click(
        &resident,
        &format!("#village_id option[value='{}']", w.city.first_village_id),
    )
    .await;
    click(&resident, "#consent_version").await;
    click(&resident, "main form button[type=submit]").await;
    assert!(text(&resident, ".success h1").await.contains("登记成功"));
    shot(&resident, "02-enrolled").await;

    resident
        .goto(&format!("{base}/login"))
        .await
        .expect("open login");
    fill(&resident, "#phone", &phone).await;
    click(&resident, "main form button[type=submit]").await;
    let code = text(&resident, "#demo-code strong").await;
    assert_eq!(code.len(), 6, "demo mode shows the code: {code}");
    fill(&resident, "#code", &code).await;
    shot(&resident, "03-login-code").await;
    click(&resident, "main form button[type=submit]").await;
    on_path(&resident, "/me").await;
    assert_eq!(text(&resident, "#my-name").await, "王晓明");
    assert!(
        !text(&resident, "#access-log-empty").await.is_empty(),
        "nobody has read the data yet"
    );
    shot(&resident, "04-home").await;

    let admin = browser(&driver, "admin", (1280, 900)).await;
    admin
        .goto(&format!("{base}/staff/login"))
        .await
        .expect("open staff login");
    fill(&admin, "#username", "admin").await;
    fill(&admin, "#password", common::PASSWORD).await;
    click(&admin, "main form button[type=submit]").await;
    on_path(&admin, "/console").await;
    admin
        .goto(&format!("{base}/console/citizens"))
        .await
        .expect("open search");
    fill(&admin, "#resident_id", &rid).await;
    click(&admin, "main form button[type=submit]").await;
    let row = text(&admin, "#results tbody tr").await;
    assert!(row.contains("王*明"), "{row}");
    assert!(!row.contains(&rid), "the ID number is shown masked");
    shot(&admin, "05-admin-search").await;
    click(&admin, "#results tbody a").await;
    assert_eq!(
        text(&admin, "#citizen-name").await,
        "王晓明",
        "the admin sees the full name"
    );

    resident.refresh().await.expect("reload");
    on_path(&resident, "/me").await;
    let log = text(&resident, "#access-log").await;
    assert!(log.contains("admin 测试 (admin)"), "{log}");
    assert!(log.contains("检索") && log.contains("查看详情"), "{log}");
    resident
        .execute(
            "document.getElementById('access-log').scrollIntoView()",
            vec![],
        )
        .await
        .expect("scroll");
    shot(&resident, "06-access-log").await;

    resident
        .goto(&format!("{base}/lang/en?back=/me"))
        .await
        .expect("switch");
    on_path(&resident, "/me").await;
    assert!(text(&resident, "h1").await.contains("My Moral Bank"));
    shot(&resident, "07-home-en").await;

    resident.close().await.expect("close");
    admin.close().await.expect("close");
}
