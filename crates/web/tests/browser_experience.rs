#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The pages as people use them (issue 14), in headless Chromium on a phone-sized window (the
//! resident, an evaluator) and a desk (the admin): nothing typed is lost (a refused photo, an
//! ended session), errors are brought into view, the code page says when it has stopped, and
//! every page type passes axe-core's accessibility rules with no serious or critical
//! violation. Screenshots under `target/screenshots/`.

mod browser_kit;
mod common;

use browser_kit::*;
use common::World;
use fantoccini::{Client, Locator};
use std::time::{Duration, Instant};

const PHONE: (u32, u32) = (390, 844);
const DESK: (u32, u32) = (1280, 900);

/// The value of a form field.
async fn value(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Run a script in the page and return its result.
async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

/// A tiny valid PNG, as a phone's camera would give a photo (one pixel).
fn png_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("photo.png");
    let file = std::fs::File::create(&path).unwrap();
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), 1, 1);
    enc.set_color(png::ColorType::Rgb);
    enc.write_header()
        .unwrap()
        .write_image_data(&[200, 30, 30])
        .unwrap();
    path
}

/// The session cookie the browser holds, and the store ending that session (as an expiry or a
/// sign-out elsewhere would).
async fn end_session(c: &Client, w: &World) {
    let token = c
        .get_named_cookie("mb_session")
        .await
        .expect("a session cookie")
        .value()
        .to_string();
    w.store.accounts().delete_session(&token).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_on_a_phone_loses_nothing_they_typed() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    let state = demo_state(&w)
        .with_clock(w.clock.clone())
        .with_codes(common::test_issuer());
    let base = serve_state(state).await;
    let phone = browser(&driver, "phone", PHONE).await;
    resident_signs_in(&phone, &base, &w.citizen_phone).await;
    shot(&phone, "x01-home").await;
    assert!(text(&phone, "#show-code").await.contains("出示道德码"));

    // 1. A file that is not a photo: refused in the browser before any upload, with the reason
    //    next to the field, and nothing typed is lost.
    phone.goto(&format!("{base}/deeds/new")).await.unwrap();
    let today = js(&phone, "return document.getElementById('deed_date').max").await;
    let today = today.as_str().unwrap().to_string();
    phone
        .find(Locator::Css("#standard option[value='neighbourly-help']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    js(
        &phone,
        &format!("document.getElementById('deed_date').value = '{today}'"),
    )
    .await;
    fill(&phone, "#place", "东门菜场").await;
    fill(&phone, "#description", "帮独居老人买菜送到家").await;
    let note = driver.profile.path().join("note.txt");
    std::fs::write(&note, "not a photo").unwrap();
    phone
        .find(Locator::Css("#evidence"))
        .await
        .unwrap()
        .send_keys(&note.display().to_string())
        .await
        .unwrap();
    assert!(text(&phone, "#evidence-check").await.contains("note.txt"));
    submit_and_wait_or_stay(&phone, "main form button[type=submit]").await;
    assert_eq!(phone.current_url().await.unwrap().path(), "/deeds/new");
    assert_eq!(value(&phone, "#place").await, "东门菜场");
    assert_eq!(value(&phone, "#description").await, "帮独居老人买菜送到家");
    shot(&phone, "x02-photo-refused-in-browser").await;

    // 2. A photo instead: sent with its progress, the deed's page shows its steps.
    js(&phone, "document.getElementById('evidence').value = ''").await;
    let photo = png_file(driver.profile.path());
    phone
        .find(Locator::Css("#evidence"))
        .await
        .unwrap()
        .send_keys(&photo.display().to_string())
        .await
        .unwrap();
    click(&phone, "main form button[type=submit]").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while !phone
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/deeds/0")
    {
        assert!(
            Instant::now() < deadline,
            "the report never reached its page"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(text(&phone, "ol.steps").await.contains("评议"));
    assert!(text(&phone, "#deed-description").await.contains("买菜"));
    shot(&phone, "x03-deed-steps").await;

    // 3. Withdrawing without ticking the box, at the bottom of a long page: the error summary
    //    is focused and in view.
    phone.goto(&format!("{base}/me/settings")).await.unwrap();
    submit_and_wait(&phone, "#withdraw").await;
    assert_eq!(
        js(&phone, "return document.activeElement.id").await,
        "error-summary"
    );
    let top = js(
        &phone,
        "return document.getElementById('error-summary').getBoundingClientRect().top",
    )
    .await;
    assert!(
        (-2.0..800.0).contains(&top.as_f64().unwrap()),
        "in view: {top}"
    );
    assert!(text(&phone, "#error-summary")
        .await
        .contains("请勾选确认框"));
    shot(&phone, "x04-withdraw-unticked").await;

    // 4. The session ends while the resident types: the sign-in page says so, and after
    //    signing in (here: a new session for the same resident, as the sign-in page would give)
    //    the form comes back with what they typed.
    phone.goto(&format!("{base}/deeds/new")).await.unwrap();
    fill(&phone, "#place", "西门公园").await;
    fill(&phone, "#description", "捡到钱包交还失主").await;
    end_session(&phone, &w).await;
    click(&phone, "main form button[type=submit]").await;
    on_path(&phone, "/login").await;
    assert!(text(&phone, "#session-expired")
        .await
        .contains("登录已过期"));
    let url = phone.current_url().await.unwrap();
    assert!(
        url.query()
            .unwrap_or_default()
            .contains("next=%2Fdeeds%2Fnew"),
        "{url}"
    );
    shot(&phone, "x05-session-expired").await;
    let (fresh, _) = w
        .store
        .accounts()
        .create_session(
            moralbank_store::SubjectKind::Citizen,
            &w.citizen.id,
            3_600_000,
        )
        .await
        .unwrap();
    phone.delete_cookie("mb_session").await.unwrap();
    js(
        &phone,
        &format!("document.cookie = 'mb_session={fresh}; path=/'"),
    )
    .await;
    phone
        .goto(&format!("{base}/deeds/new?resume=1"))
        .await
        .unwrap();
    assert_eq!(value(&phone, "#place").await, "西门公园");
    assert_eq!(value(&phone, "#description").await, "捡到钱包交还失主");
    assert!(text(&phone, "#restored-note").await.contains("已恢复"));
    shot(&phone, "x06-form-restored").await;

    // 5. The code page: when the session ends, the code is shown as stopped, with the way back.
    phone.goto(&format!("{base}/me/code")).await.unwrap();
    assert!(text(&phone, "#refresh-note").await.contains("自动更新"));
    shot(&phone, "x07-code").await;
    end_session(&phone, &w).await;
    js(
        &phone,
        "document.dispatchEvent(new Event('visibilitychange'))",
    )
    .await;
    let stopped = text(&phone, "#code-stopped:not([hidden])").await;
    assert!(stopped.contains("登录已过期"), "{stopped}");
    assert!(
        js(
            &phone,
            "return document.getElementById('refresh-note').hidden"
        )
        .await
            == serde_json::json!(true)
    );
    shot(&phone, "x08-code-stopped").await;
    assert_no_csp_violation(&phone).await;
    phone.close().await.unwrap();
}

/// Click a submit button and wait a moment for a navigation that should not happen (the
/// browser refused the form itself).
async fn submit_and_wait_or_stay(c: &Client, css: &str) {
    click(c, css).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_each_role_what_waits_and_the_queue_reads_on_a_phone() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    // A deed waits in the first village, whose committee (one member) cannot decide.
    w.store
        .evaluation()
        .report_deed(
            &moralbank_store::evaluation::NewDeed {
                citizen_id: w.citizen.id.clone(),
                reporter: moralbank_store::evaluation::Reporter::Citizen(w.citizen.id.clone()),
                standard_code: "neighbourly-help".into(),
                deed_date: moralbank_store::day_of(moralbank_store::now_ms()),
                place: "东门菜场".into(),
                description: "帮独居老人买菜送到家".into(),
                evidence: vec![],
                points: None,
            },
            &moralbank_store::evaluation::Rules::default(),
            moralbank_store::now_ms(),
        )
        .await
        .unwrap();
    let base = serve(&w).await;
    let evaluator = browser(&driver, "evaluator", PHONE).await;
    staff_signs_in(&evaluator, &base, "evaluator").await;
    assert!(text(&evaluator, "#task-queue").await.contains('1'));
    assert!(text(&evaluator, "#quorum-warning")
        .await
        .contains("法定票数"));
    shot(&evaluator, "x10-console-evaluator-phone").await;
    click(&evaluator, "#task-queue").await;
    on_path(&evaluator, "/console/queue").await;
    assert!(text(&evaluator, "#queue").await.contains("邻里互助"));
    shot(&evaluator, "x11-queue-phone").await;
    let admin = browser(&driver, "admin", DESK).await;
    staff_signs_in(&admin, &base, "admin").await;
    assert!(text(&admin, "#quorum-warnings").await.contains("1 件等待"));
    shot(&admin, "x12-console-admin").await;
    assert_no_csp_violation(&evaluator).await;
    assert_no_csp_violation(&admin).await;
    evaluator.close().await.unwrap();
    admin.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_type_passes_axe_core_with_no_serious_violation() {
    let Some(axe) = axe_source() else { return };
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    let state = demo_state(&w)
        .with_clock(w.clock.clone())
        .with_codes(common::test_issuer());
    let base = serve_state(state).await;
    let mut found: Vec<String> = Vec::new();
    let mut check = async |c: &Client, path: &str| {
        c.goto(&format!("{base}{path}")).await.unwrap();
        for v in axe_violations(c, &axe).await {
            found.push(format!("{path}: {v}"));
        }
    };
    let anonymous = browser(&driver, "anonymous", PHONE).await;
    for path in [
        "/",
        "/login",
        "/enrol",
        "/staff/login",
        "/log",
        "/open-data",
        "/standards",
        "/benefits",
        "/credit/tables",
        "/no/such/page",
    ] {
        check(&anonymous, path).await;
    }
    let phone = browser(&driver, "resident", PHONE).await;
    resident_signs_in(&phone, &base, &w.citizen_phone).await;
    for path in [
        "/me",
        "/me/code",
        "/me/code/card",
        "/me/deeds",
        "/deeds/new",
        "/me/inbox",
        "/me/entries",
        "/me/settings",
        "/me/access",
        "/me/export/view",
        "/me/credit",
    ] {
        check(&phone, path).await;
    }
    let desk = browser(&driver, "admin", DESK).await;
    staff_signs_in(&desk, &base, "admin").await;
    for path in [
        "/console",
        "/console/citizens",
        "/console/regions",
        "/console/staff",
        "/console/partners",
        "/console/ledger",
        "/console/standards",
        "/console/green-cards",
        "/console/imports",
        "/console/statistics",
        "/console/inbox",
        "/console/benefits",
        "/console/credit/tables",
        "/console/credit/figures",
    ] {
        check(&desk, path).await;
    }
    let evaluator = browser(&driver, "evaluator", PHONE).await;
    staff_signs_in(&evaluator, &base, "evaluator").await;
    check(&evaluator, "/console/queue").await;
    check(&evaluator, &format!("/board/{}", w.city.first_village_id)).await;
    let scanner = browser(&driver, "scanner", DESK).await;
    staff_signs_in(&scanner, &base, "partner-operator").await;
    check(&scanner, "/scan").await;
    assert!(
        found.is_empty(),
        "serious or critical accessibility violations:\n{}",
        found.join("\n")
    );
    for c in [anonymous, phone, desk, evaluator, scanner] {
        c.close().await.unwrap();
    }
}
