#![allow(clippy::unwrap_used, clippy::too_many_lines)] // one story, told in order
//! Moral credit loans in headless Chromium: a resident on a phone consents to the bank and takes
//! the report (its printable page, its file); the bank's clerk at a desk verifies the presented
//! text offline, records an approval with its reasons; the resident sees the decision. Screens
//! under `target/screenshots/credit-*.png`.

mod browser_kit;
mod common;

use browser_kit::*;
use common::World;

const PHONE: (u32, u32) = (390, 844);
const DESK: (u32, u32) = (1280, 900);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_consents_the_bank_verifies_offline_and_decides_and_the_resident_sees_it() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    // A household of one adult, so that the consent is in force once asked.
    let (resident_id, _) = w.villager(31).await;
    let (phone, _) = moralbank_store::fixtures::city::demo_identity(700_000 + 31);
    let state = demo_state(&w)
        .with_clock(w.clock.clone())
        .with_credit(w.state.credit.clone().unwrap());
    let base = serve_state(state).await;

    let r = browser(&driver, "credit-resident", PHONE).await;
    resident_signs_in(&r, &base, phone.as_str()).await;
    click(&r, "#credit-link").await;
    on_path(&r, "/me/credit").await;
    shot(&r, "credit-01-page-phone").await;
    // Sent without the box: the error is at the box, what was chosen is kept.
    r.execute("document.querySelector('#expiry_days').value = ''", vec![])
        .await
        .unwrap();
    fill(&r, "#expiry_days", "14").await;
    submit_and_wait(&r, "#request button[type=submit]").await;
    assert!(text(&r, "#confirm-error").await.contains("请勾选同意"));
    assert_eq!(
        r.execute(
            "return document.querySelector('#expiry_days').value",
            vec![]
        )
        .await
        .unwrap(),
        serde_json::json!("14")
    );
    click(&r, "#confirm").await;
    submit_and_wait(&r, "#request button[type=submit]").await;
    until(
        &r,
        "return !!document.querySelector('li.consent[data-status=authorised]')",
        "the consent is in force",
    )
    .await;
    shot(&r, "credit-02-consented-phone").await;
    click(&r, "a[id^=report-page-]").await;
    until(
        &r,
        "return !!document.querySelector('#report-qr svg')",
        "the printable report",
    )
    .await;
    shot(&r, "credit-03-report-phone").await;
    let axe = axe_source();
    let mut found = Vec::new();
    if let Some(axe) = &axe {
        for v in axe_violations(&r, axe).await {
            found.push(format!("report page: {v}"));
        }
    }
    // The file, as the resident's phone downloads it.
    let file = r
        .execute(
            "const a = document.querySelector('#download'); return fetch(a.href).then(x => x.text())",
            vec![],
        )
        .await
        .unwrap();
    let file = file.as_str().unwrap().trim().to_string();
    assert!(file.starts_with("MBCR1:"));

    // The bank's clerk at a desk: the console link, the presented text, verified.
    let b = browser(&driver, "credit-bank", DESK).await;
    b.goto(&format!("{base}/staff/login")).await.unwrap();
    fill(&b, "#username", "bank-clerk").await;
    fill(&b, "#password", common::PASSWORD).await;
    click(&b, "main form button[type=submit]").await;
    on_path(&b, "/console").await;
    click(&b, "#credit-console").await;
    on_path(&b, "/console/credit").await;
    // A forged text first: refused at the field, what was pasted kept.
    // The last character changed (to one it is not: a fresh key's report ends in 'A' one time
    // in 64, and "forging" it into itself would be no forgery).
    let other = if file.ends_with('A') { 'B' } else { 'A' };
    let forged = format!("{}{other}", &file[..file.len() - 1]);
    fill(&b, "#text", &forged).await;
    submit_and_wait(&b, "#verify button[type=submit]").await;
    assert!(text(&b, "#report-error").await.contains("报告"));
    shot(&b, "credit-04-forged-desk").await;
    b.execute("document.querySelector('#text').value = ''", vec![])
        .await
        .unwrap();
    fill(&b, "#text", &file).await;
    submit_and_wait(&b, "#verify button[type=submit]").await;
    assert!(text(&b, "#verified").await.contains("签名有效"));
    shot(&b, "credit-05-verified-desk").await;
    if let Some(axe) = &axe {
        for v in axe_violations(&b, axe).await {
            found.push(format!("verified report: {v}"));
        }
    }
    // An approval sent without a reason: refused at the reasons, the figures kept.
    click(&b, "input[name=outcome][value=approved]").await;
    fill(&b, "#amount_yuan", "120000").await;
    fill(&b, "#rate_pct", "3.92").await;
    fill(&b, "#term_months", "36").await;
    fill(&b, "#loan_ref", "YYNSH-2026-00901").await;
    submit_and_wait(&b, "#decide button[type=submit]").await;
    assert!(
        text(&b, "#reasons-error").await.contains("理由")
            || !text(&b, "#reasons-error").await.is_empty()
    );
    assert_eq!(
        b.execute(
            "return document.querySelector('#amount_yuan').value",
            vec![]
        )
        .await
        .unwrap(),
        serde_json::json!("120000")
    );
    click(&b, "input[name=reasons][value=good_moral_credit]").await;
    fill(&b, "#reasons_text", "家庭道德积分良好，经营稳定").await;
    submit_and_wait(&b, "#decide button[type=submit]").await;
    on_path(&b, "/console/credit").await;
    assert!(text(&b, "#reads").await.contains("YYNSH-2026-00901"));
    shot(&b, "credit-06-decided-desk").await;
    if let Some(axe) = &axe {
        for v in axe_violations(&b, axe).await {
            found.push(format!("bank console: {v}"));
        }
    }

    // The resident sees the decision, its terms and its reasons, and that the bank read it.
    r.goto(&format!("{base}/me/credit")).await.unwrap();
    until(
        &r,
        "return !!document.querySelector('li.decision[data-outcome=approved]')",
        "the decision",
    )
    .await;
    let decisions = text(&r, "#decisions").await;
    assert!(
        decisions.contains("120,000") && decisions.contains("家庭道德积分良好"),
        "{decisions}"
    );
    assert!(!r
        .find_all(fantoccini::Locator::Css("li.consent[data-status=used]"))
        .await
        .unwrap()
        .is_empty());
    shot(&r, "credit-07-decision-phone").await;
    if let Some(axe) = &axe {
        for v in axe_violations(&r, axe).await {
            found.push(format!("household page with a decision: {v}"));
        }
    }
    assert!(
        found.is_empty(),
        "serious or critical accessibility violations:\n{}",
        found.join("\n")
    );
    // Every read is in the resident's access log, named by the bank.
    let log = w
        .store
        .registry()
        .access_log(&resident_id, None, 50)
        .await
        .unwrap();
    assert!(log
        .iter()
        .any(|a| a.action == "credit_report_read" && a.actor_label.contains("余姚农村商业银行")));
    assert_no_csp_violation(&r).await;
    assert_no_csp_violation(&b).await;
    r.close().await.unwrap();
    b.close().await.unwrap();
}
