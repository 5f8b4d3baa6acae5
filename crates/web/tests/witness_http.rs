#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]
//! The witnessed log over HTTP, on SQLite and on PostgreSQL: the trust policy served as
//! configured, the witnessed checkpoint absent until the quorum has cosigned and then verifiable
//! under the policy, the /log page naming who cosigned and when, and receipts carrying the
//! cosigned checkpoint (or, for an entry newer than it, refused under the policy naming the
//! missing witnesses).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::World;
use moralbank_ledger::witness::{generate_witness_key, WitnessKey};
use moralbank_ledger::{verify_receipt_with_policy, Policy, Receipt, ReceiptError, WitnessedError};
use moralbank_store::testing::test_award;

async fn get(w: &World, path: &str) -> (StatusCode, String) {
    let (s, _, body) = w
        .send(Request::builder().uri(path).body(Body::empty()).unwrap())
        .await;
    (s, body)
}

fn body_of(note: &str) -> &str {
    &note[..=note.find("\n\n").unwrap()]
}

async fn a_witnessed_log_serves_its_policy_its_cosigned_checkpoint_and_cosigned_receipts(
    mut w: World,
) {
    let keys: Vec<(WitnessKey, String)> = ["bank", "hospital", "library"]
        .iter()
        .map(|n| {
            let (s, v) = generate_witness_key(&format!("witness.{n}.yuyao.example")).unwrap();
            (WitnessKey::from_private(&s).unwrap(), v)
        })
        .collect();
    let labels = ["余姚农村商业银行", "余姚市人民医院", "余姚市图书馆"];
    w.state = w
        .state
        .clone()
        .with_witnesses(
            keys.iter()
                .zip(labels)
                .map(|((_, v), l)| (v.clone(), l.to_string()))
                .collect(),
            2,
        )
        .unwrap();
    w.app = moralbank_web::app(w.state.clone());

    let (s, text) = get(&w, "/log/policy").await;
    assert_eq!(s, StatusCode::OK);
    let policy = Policy::parse(&text).unwrap();
    assert_eq!(
        (
            policy.log_vkey.as_str(),
            policy.witnesses.len(),
            policy.quorum
        ),
        (w.vkey.as_str(), 3, 2)
    );
    assert_eq!(
        get(&w, "/log/witnessed-checkpoint").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, page) = get(&w, "/log").await;
    assert!(
        page.contains("id=\"witness-table\"") && page.contains("余姚市人民医院"),
        "{page}"
    );

    let citizen = w.citizen.id.clone();
    for i in 0..5 {
        w.ledger
            .sequencer
            .append_unruled(format!("w/{i}"), test_award(&citizen, 10))
            .await
            .unwrap();
    }
    let cp = w.store.ledger().latest_checkpoint().await.unwrap().unwrap();
    // One cosignature is not a quorum of 2.
    let line = keys[0]
        .0
        .cosign(body_of(&cp.note).as_bytes(), 1_780_000_000);
    w.store
        .ledger()
        .add_cosignature(
            cp.size,
            "witness.bank.yuyao.example",
            &line,
            1_780_000_000_000,
        )
        .await
        .unwrap();
    assert_eq!(
        get(&w, "/log/witnessed-checkpoint").await.0,
        StatusCode::NOT_FOUND
    );
    let line = keys[2]
        .0
        .cosign(body_of(&cp.note).as_bytes(), 1_780_000_001);
    w.store
        .ledger()
        .add_cosignature(
            cp.size,
            "witness.library.yuyao.example",
            &line,
            1_780_000_001_000,
        )
        .await
        .unwrap();
    let (s, witnessed) = get(&w, "/log/witnessed-checkpoint").await;
    assert_eq!(s, StatusCode::OK);
    let v = policy.require_quorum(&witnessed).unwrap();
    assert_eq!(
        (v.size, v.missing.clone()),
        (cp.size, vec!["witness.hospital.yuyao.example".to_string()])
    );

    let (_, page) = get(&w, "/log").await;
    assert!(
        page.contains("id=\"witnessed-summary\"")
            && page.contains(&format!(": {}</strong>", cp.size)),
        "{page}"
    );
    assert!(
        page.contains("未联署"),
        "the hospital did not cosign: {page}"
    );

    // A receipt of an entry inside the witnessed checkpoint carries the cosignatures.
    let (s, _, json) = w
        .page(
            "GET",
            &format!("/me/entries/{}/receipt", cp.size - 1),
            Some(&w.citizen),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{json}");
    let receipt: Receipt = serde_json::from_str(&json).unwrap();
    let (vr, wd) = verify_receipt_with_policy(&receipt, &policy).unwrap();
    assert_eq!((vr.size, wd.cosigners.len()), (cp.size, 2));
    // A newer entry: the receipt's checkpoint is not witnessed yet, and says who is missing.
    w.ledger
        .sequencer
        .append_unruled("w/new".into(), test_award(&citizen, 10))
        .await
        .unwrap();
    let (_, _, json) = w
        .page(
            "GET",
            &format!("/me/entries/{}/receipt", cp.size),
            Some(&w.citizen),
            &[],
        )
        .await;
    let receipt: Receipt = serde_json::from_str(&json).unwrap();
    match verify_receipt_with_policy(&receipt, &policy) {
        Err(ReceiptError::Witnesses(WitnessedError::Quorum {
            have: 0,
            need: 2,
            missing,
        })) => assert_eq!(missing.len(), 3),
        other => panic!("not yet witnessed: {other:?}"),
    }
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(a_witnessed_log_serves_its_policy_its_cosigned_checkpoint_and_cosigned_receipts);
