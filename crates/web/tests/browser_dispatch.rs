#![allow(clippy::unwrap_used, clippy::too_many_lines)] // one story, told in order
//! Volunteer dispatch in headless Chromium, the whole loop with three people: a volunteer on
//! a phone joins; a resident on a phone asks for help (a mistake first, what was typed kept);
//! the alliance's organiser at a desk accepts it, sees the matcher's proposal with why, and
//! sends the offer; the volunteer accepts, checks in and out with the rotating site code the
//! organiser shows; the resident confirms with one tap and rates; the volunteer sees the hours.
//! Screens under `target/screenshots/dispatch-*.png`.

mod browser_kit;
mod common;

use browser_kit::*;
use common::World;
use moralbank_web::clock::Clock;

const PHONE: (u32, u32) = (390, 844);
const DESK: (u32, u32) = (1280, 900);
const HOUR: i64 = 3_600_000;

/// The site code the organiser's screen shows, as a camera would read it.
async fn site_code(c: &fantoccini::Client) -> String {
    let v = c
        .execute(
            "return document.querySelector('#site-qr').dataset.code",
            vec![],
        )
        .await
        .unwrap();
    v.as_str().unwrap().to_string()
}

async fn axe_into(
    c: &fantoccini::Client,
    axe: &Option<String>,
    page: &str,
    found: &mut Vec<String>,
) {
    if let Some(axe) = axe {
        for v in axe_violations(c, axe).await {
            found.push(format!("{page}: {v}"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_asks_the_alliance_dispatches_the_volunteer_serves_and_the_hours_count() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    let state = demo_state(&w)
        .with_clock(w.clock.clone())
        .with_codes(common::test_issuer());
    let base = serve_state(state).await;
    let axe = axe_source();
    let mut found = Vec::new();

    // The volunteer joins on their phone: the consent spelled out before the box.
    let (_, _) = w.villager(41).await;
    let (vphone, _) = moralbank_store::fixtures::city::demo_identity(700_000 + 41);
    let v = browser(&driver, "dispatch-volunteer", PHONE).await;
    resident_signs_in(&v, &base, vphone.as_str()).await;
    click(&v, "#volunteer-link").await;
    on_path(&v, "/volunteer").await;
    click(
        &v,
        &format!("input[name=alliances][value='{}']", w.alliance_id),
    )
    .await;
    click(&v, "input[name=skills][value=elderly-care]").await;
    // Weekday mornings and afternoons too (the weekend is ticked already).
    for d in 0..5 {
        for p in ["morning", "afternoon"] {
            click(&v, &format!("input[name=avail][value='{d}:{p}']")).await;
        }
    }
    shot(&v, "dispatch-01-join-phone").await;
    // Sent without the consent ticked: refused at the box, every choice kept.
    submit_and_wait(&v, "#join").await;
    assert!(text(&v, "#consent-error").await.contains("请勾选同意"));
    let kept = v
        .execute(
            "return document.querySelectorAll('input[name=avail]:checked').length",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, serde_json::json!(14));
    click(&v, "#consent").await;
    submit_and_wait(&v, "#join").await;
    until(
        &v,
        "return !!document.querySelector('#record')",
        "the volunteer's record",
    )
    .await;
    axe_into(&v, &axe, "volunteer page", &mut found).await;

    // The resident asks for help: a date in the past first.
    let r = browser(&driver, "dispatch-resident", PHONE).await;
    resident_signs_in(&r, &base, &w.citizen_phone).await;
    click(&r, "#help-link").await;
    on_path(&r, "/help").await;
    fill(&r, "#title", "陪同老人去医院复查").await;
    fill(&r, "#place", "谢家塘村12号").await;
    let tomorrow = domain::time::day_of(w.clock.now_ms() + 24 * HOUR);
    let set = |css: &'static str, value: String| {
        let r = r.clone();
        async move {
            r.execute(
                &format!("document.querySelector('{css}').value = arguments[0]"),
                vec![serde_json::json!(value)],
            )
            .await
            .unwrap();
        }
    };
    set("#date", "2020-01-01".into()).await;
    set("#starts_at", "09:00".into()).await;
    set("#ends_at", "11:00".into()).await;
    click(&r, "#skills input[value=elderly-care]").await;
    submit_and_wait(&r, "#ask-send").await;
    assert!(text(&r, "#starts_at-error").await.contains("开始时间已过"));
    let title = r
        .execute("return document.querySelector('#title').value", vec![])
        .await
        .unwrap();
    assert_eq!(title, serde_json::json!("陪同老人去医院复查"));
    shot(&r, "dispatch-02-ask-error-phone").await;
    set("#date", tomorrow.clone()).await;
    submit_and_wait(&r, "#ask-send").await;
    until(
        &r,
        "return !!document.querySelector('li.request[data-status=requested]')",
        "the request",
    )
    .await;
    shot(&r, "dispatch-03-asked-phone").await;
    axe_into(&r, &axe, "help page", &mut found).await;

    // The organiser at a desk: accept, propose, see why, send.
    let o = browser(&driver, "dispatch-organiser", DESK).await;
    staff_signs_in(&o, &base, "alliance-clerk").await;
    click(&o, "#dispatch-console").await;
    on_path(&o, "/console/dispatch").await;
    shot(&o, "dispatch-04-console-desk").await;
    submit_and_wait(&o, "button[id^=accept-]").await;
    until(
        &o,
        "return !!document.querySelector('#propose')",
        "the request to dispatch",
    )
    .await;
    submit_and_wait(&o, "#propose").await;
    on_path(&o, "/console/dispatch/propose").await;
    let why = text(&o, ".place ul.why").await;
    assert!(why.contains("同村") || why.contains("同一镇"), "{why}");
    shot(&o, "dispatch-05-proposal-desk").await;
    axe_into(&o, &axe, "proposal", &mut found).await;
    submit_and_wait(&o, "#send-offers").await;
    on_path(&o, "/console/dispatch").await;

    // The volunteer accepts on their phone.
    v.goto(&format!("{base}/volunteer")).await.unwrap();
    until(
        &v,
        "return !!document.querySelector('button[id^=accept-]')",
        "the offer",
    )
    .await;
    shot(&v, "dispatch-06-offer-phone").await;
    submit_and_wait(&v, "button[id^=accept-]").await;
    until(
        &v,
        "return !!document.querySelector('li.offer[data-status=accepted]')",
        "the place",
    )
    .await;

    // At the start the organiser shows the site code; the volunteer scans it.
    let task = w
        .store
        .dispatch()
        .alliance_tasks(&w.alliance_id, &[], 5)
        .await
        .unwrap()[0]
        .clone();
    let shift = w.store.dispatch().shifts(&task.id).await.unwrap()[0].clone();
    w.clock.set(shift.starts_at - 5 * 60_000);
    o.goto(&format!("{base}/console/dispatch/tasks/{}", task.id))
        .await
        .unwrap();
    click(&o, &format!("#site-{}", shift.id)).await;
    on_path(&o, &format!("/console/dispatch/site/{}", shift.id)).await;
    shot(&o, "dispatch-07-site-code-desk").await;
    let code = site_code(&o).await;
    assert!(code.starts_with("MBS1:"));
    v.goto(&format!("{base}/volunteer")).await.unwrap();
    fill(&v, "#code", &code).await;
    submit_and_wait(&v, "#scan-send").await;
    until(
        &v,
        "return location.search.includes('checked-in')",
        "checked in",
    )
    .await;
    // The same code once more: refused, in Chinese.
    fill(&v, "#code", &code).await;
    submit_and_wait(&v, "#scan-send").await;
    assert!(text(&v, "#step-error").await.contains("已用过"));
    shot(&v, "dispatch-08-code-used-phone").await;
    // Two hours later a fresh code checks out.
    w.clock.set(shift.ends_at + 60_000);
    o.refresh().await.unwrap();
    let code = site_code(&o).await;
    v.goto(&format!("{base}/volunteer")).await.unwrap();
    fill(&v, "#code", &code).await;
    submit_and_wait(&v, "#scan-send").await;
    until(
        &v,
        "return location.search.includes('checked-out')",
        "checked out",
    )
    .await;

    // The resident confirms with one tap and rates.
    r.goto(&format!("{base}/help")).await.unwrap();
    submit_and_wait(&r, &format!("#confirm-{}", task.id)).await;
    until(
        &r,
        &format!("return !!document.querySelector('#rate-{}')", task.id),
        "the rating form",
    )
    .await;
    fill(&r, &format!("#comment-{}", task.id), "志愿者很耐心").await;
    submit_and_wait(&r, &format!("#rate-{}", task.id)).await;
    let mine = text(&r, &format!("#task-{}", task.id)).await;
    assert!(
        mine.contains("志愿者很耐心") && mine.contains("2 小时"),
        "{mine}"
    );
    shot(&r, "dispatch-09-rated-phone").await;

    // The volunteer sees the hours and the points on their way; the organiser's task page.
    v.goto(&format!("{base}/volunteer")).await.unwrap();
    assert_eq!(text(&v, "#record-hours").await, "2");
    shot(&v, "dispatch-10-record-phone").await;
    axe_into(&v, &axe, "volunteer record", &mut found).await;
    o.goto(&format!("{base}/console/dispatch/tasks/{}", task.id))
        .await
        .unwrap();
    shot(&o, "dispatch-11-task-desk").await;
    axe_into(&o, &axe, "task page", &mut found).await;
    for c in [&v, &r, &o] {
        assert_no_csp_violation(c).await;
    }
    assert!(
        found.is_empty(),
        "serious or critical accessibility violations:\n{}",
        found.join("\n")
    );
    for c in [v, r, o] {
        c.close().await.unwrap();
    }
}
