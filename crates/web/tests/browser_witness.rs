#![allow(clippy::unwrap_used, clippy::too_many_lines)]
//! The witnessed log in headless Chromium: a resident checks an entry on their phone and the
//! page names the institutions that cosigned it; an entry newer than the witnessed checkpoint
//! is refused, saying which witnesses are still missing; anyone's /log page shows who cosigned
//! the latest witnessed checkpoint and when.

mod browser_kit;
mod common;

use browser_kit::*;
use common::World;
use moralbank_ledger::witness::{generate_witness_key, WitnessKey};
use moralbank_store::testing::test_award;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_sees_who_cosigned_their_entry_and_the_log_page_shows_the_witnesses() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    let keys: Vec<(WitnessKey, String)> = ["bank", "hospital", "library"]
        .iter()
        .map(|n| {
            let (s, v) = generate_witness_key(&format!("witness.{n}.yuyao.example")).unwrap();
            (WitnessKey::from_private(&s).unwrap(), v)
        })
        .collect();
    let labels = ["余姚农村商业银行", "余姚市人民医院", "余姚市图书馆"];
    let state = demo_state(&w)
        .with_clock(w.clock.clone())
        .with_witnesses(
            keys.iter()
                .zip(labels)
                .map(|((_, v), l)| (v.clone(), l.to_string()))
                .collect(),
            2,
        )
        .unwrap();
    let base = serve_state(state).await;

    for i in 0..4 {
        w.ledger
            .sequencer
            .append_unruled(format!("b/{i}"), test_award(&w.citizen.id, 10))
            .await
            .unwrap();
    }
    let cp = w.store.ledger().latest_checkpoint().await.unwrap().unwrap();
    let body = &cp.note[..=cp.note.find("\n\n").unwrap()];
    for (i, name) in [
        (0, "witness.bank.yuyao.example"),
        (2, "witness.library.yuyao.example"),
    ] {
        let line = keys[i].0.cosign(body.as_bytes(), 1_780_000_000 + i as u64);
        w.store
            .ledger()
            .add_cosignature(cp.size, name, &line, moralbank_store::now_ms())
            .await
            .unwrap();
    }
    w.ledger
        .sequencer
        .append_unruled("b/late".into(), test_award(&w.citizen.id, 10))
        .await
        .unwrap();
    let (witnessed, late) = (cp.size - 1, cp.size);

    let resident = browser(&driver, "resident", (420, 1000)).await;
    resident_signs_in(&resident, &base, &w.citizen_phone).await;
    resident.goto(&format!("{base}/me/entries")).await.unwrap();
    click(&resident, &format!("#verify-{witnessed}")).await;
    let verdict = text(&resident, &format!("#verified-{witnessed}[data-state]")).await;
    assert!(
        verdict.contains("验证通过")
            && verdict.contains("余姚农村商业银行")
            && verdict.contains("余姚市图书馆"),
        "{verdict}"
    );
    assert!(
        !verdict.contains("余姚市人民医院"),
        "the hospital did not cosign: {verdict}"
    );
    shot(&resident, "witness-01-entry-cosigned").await;
    click(&resident, &format!("#verify-{late}")).await;
    let verdict = text(&resident, &format!("#verified-{late}[data-state]")).await;
    assert!(
        verdict.contains("验证未通过")
            && verdict.contains("尚缺")
            && verdict.contains("余姚市人民医院"),
        "{verdict}"
    );
    shot(&resident, "witness-02-entry-not-yet-witnessed").await;
    assert_no_csp_violation(&resident).await;

    let clerk = browser(&driver, "log", (1280, 1100)).await;
    clerk.goto(&format!("{base}/log#witnesses")).await.unwrap();
    let table = text(&clerk, "#witness-table").await;
    assert!(
        table.contains("余姚农村商业银行") && table.contains("余姚市图书馆"),
        "{table}"
    );
    assert!(table.contains("未联署"), "{table}");
    assert!(text(&clerk, "#witnessed-summary")
        .await
        .contains(&cp.size.to_string()));
    shot(&clerk, "witness-03-log-page").await;
}
