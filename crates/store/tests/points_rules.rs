#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Points only by the rules (issue 13), on SQLite and on PostgreSQL: nothing outside the store
//! appends an award or a redemption (the one public append takes only reversals), the retired
//! partner scope `ledger:post` is gone from every key, and a partner's deed records its access
//! to the resident in the deed's own transaction.

use domain::IdempotencyKey;
use moralbank_store::evaluation::{NewDeed, Reporter, Rules};
use moralbank_store::ledger::NewEntry;
use moralbank_store::{now_ms, Store, StoreError};

fn code_of(e: &StoreError) -> (&str, &str) {
    match e {
        StoreError::Invalid(f) => (f.0[0].field.as_str(), f.0[0].code),
        other => panic!("not a field error: {other:?}"),
    }
}

async fn only_reversals_are_appended_from_outside(store: Store) {
    store.fixtures().seed_city(3, 7).await.unwrap();
    let c = store.citizen_ids(1).await.remove(0);
    let (seq, _) = moralbank_store::testing::start_sequencer(&store).await;
    let award = NewEntry::award(
        &c,
        1_000,
        "issuance:330281",
        "standard:brave-deed@1",
        "见义勇为",
        "",
        vec!["partner:x".into()],
    );
    let spend = NewEntry::redemption(
        &c,
        5,
        "benefits:330281",
        "benefit:bus",
        "公交乘车券",
        "",
        vec!["partner:x".into()],
    );
    for (k, e) in [("a", award), ("r", spend)] {
        let err = seq.append_reversal(k.into(), e).await.unwrap_err();
        assert_eq!(code_of(&err), ("kind", "not_a_reversal"));
    }
    assert_eq!(store.ledger().log_head().await.unwrap().size, 0);
}

async fn the_retired_posting_scope_is_taken_off_every_key(store: Store) {
    let p = store
        .accounts()
        .create_partner("余姚市图书馆", "library")
        .await
        .unwrap();
    let err = store
        .accounts()
        .create_api_key(&p.id, &["ledger:post".into()], "old")
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), ("scopes", "scope_unknown"));
    // Keys made before the migration: one that could also read, one that could only post.
    let (mixed, _) = store
        .accounts()
        .create_api_key(
            &p.id,
            &["regions:read".into(), "partner:read".into()],
            "mixed",
        )
        .await
        .unwrap();
    let (only, _) = store
        .accounts()
        .create_api_key(&p.id, &["regions:read".into()], "only")
        .await
        .unwrap();
    store
        .execute_for_tests(&format!(
            "UPDATE api_keys SET scopes = 'regions:read ledger:post partner:read' WHERE id = '{}'; \
             UPDATE api_keys SET scopes = 'ledger:post' WHERE id = '{}'",
            mixed.id, only.id
        ))
        .await
        .unwrap();
    store.rerun_migration_for_tests(12).await.unwrap();
    let keys = store.accounts().list_api_keys(&p.id).await.unwrap();
    let of = |id: &str| keys.iter().find(|k| k.id == id).unwrap();
    assert_eq!(of(&mixed.id).scopes, ["regions:read", "partner:read"]);
    assert_eq!(of(&mixed.id).revoked_at, None);
    assert!(of(&only.id).scopes.is_empty());
    assert!(
        of(&only.id).revoked_at.is_some(),
        "a key with no scope left is revoked"
    );
}

async fn a_partner_deed_and_its_access_row_commit_together(store: Store) {
    store.fixtures().seed_city(3, 7).await.unwrap();
    store
        .evaluation()
        .ensure_default_standards("staff:test")
        .await
        .unwrap();
    let c = store.citizen_ids(1).await.remove(0);
    let p = store
        .accounts()
        .create_partner("余姚市人民医院", "hospital")
        .await
        .unwrap();
    store
        .evaluation()
        .trust_partners("blood-donation", std::slice::from_ref(&p.id), "staff:test")
        .await
        .unwrap();
    let now = now_ms();
    let deed = |key: &str, description: &str| NewDeed {
        citizen_id: c.clone(),
        reporter: Reporter::Partner {
            partner_id: p.id.clone(),
            key: IdempotencyKey::parse(key).unwrap(),
        },
        standard_code: "blood-donation".into(),
        deed_date: moralbank_store::day_of(now),
        place: "血站".into(),
        description: description.into(),
        evidence: vec![],
        points: None,
    };
    let rules = Rules::default();
    let d = store
        .evaluation()
        .report_deed(&deed("b-1", "无偿献血 300 毫升"), &rules, now)
        .await
        .unwrap();
    // A retry and a refused submission (the cap: 60 a year, 20 each) write no access row.
    store
        .evaluation()
        .report_deed(&deed("b-1", "无偿献血 300 毫升"), &rules, now)
        .await
        .unwrap();
    for k in ["b-2", "b-3"] {
        store
            .evaluation()
            .report_deed(&deed(k, "无偿献血"), &rules, now)
            .await
            .unwrap();
    }
    let err = store
        .evaluation()
        .report_deed(&deed("b-4", "无偿献血"), &rules, now)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(_) | StoreError::Conflict(_)),
        "{err:?}"
    );
    let log = store.registry().access_log(&c, None, 50).await.unwrap();
    let rows: Vec<_> = log
        .iter()
        .filter(|e| e.action == "deed_submitted")
        .collect();
    assert_eq!(rows.len(), 3, "{log:?}");
    assert!(rows
        .iter()
        .all(|e| e.actor_kind == "partner" && e.actor_label == "余姚市人民医院"));
    assert_eq!(d.source, "partner");
}

moralbank_store::on_both_backends!(
    only_reversals_are_appended_from_outside,
    the_retired_posting_scope_is_taken_off_every_key,
    a_partner_deed_and_its_access_row_commit_together,
);
