#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Green cards on both backends: issued with a number, a badge while active, revoked once with
//! a reason, counted as the reports count them.

use moralbank_store::{Store, StoreError};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_795_147_200_000;

async fn cards_are_issued_numbered_badged_revoked_once_and_counted(store: Store) {
    store.fixtures().seed_city(5, 3).await.unwrap();
    let ids = store.citizen_ids(2).await;
    let a = store
        .code()
        .issue_green_card(
            &ids[0],
            "brave-deed",
            "跳入姚江救起落水儿童",
            T0 + 365 * DAY,
            "staff:admin",
            T0,
        )
        .await
        .unwrap();
    assert_eq!(a.card_no, "GC2026-000001");
    let b = store
        .code()
        .issue_green_card(
            &ids[1],
            "moral-model",
            "二十年照顾孤寡老人",
            T0 + 10 * DAY,
            "staff:admin",
            T0,
        )
        .await
        .unwrap();
    assert_eq!(b.card_no, "GC2026-000002");
    assert_eq!(
        store.code().badges(&ids[0], T0 + DAY).await.unwrap(),
        ["green-card"]
    );
    assert!(
        store
            .code()
            .badges(&ids[1], T0 + 11 * DAY)
            .await
            .unwrap()
            .is_empty(),
        "expired"
    );
    let StoreError::Invalid(e) = store
        .code()
        .issue_green_card(&ids[0], "hero", " ", T0 - 1, "staff:admin", T0)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["honour", "citation", "valid_until"]);
    let r = store
        .code()
        .revoke_green_card(&a.id, "荣誉被撤销", "staff:admin", T0 + DAY)
        .await
        .unwrap();
    assert!(!r.is_active(T0 + DAY) && r.revoke_reason.as_deref() == Some("荣誉被撤销"));
    assert!(matches!(
        store
            .code()
            .revoke_green_card(&a.id, "again", "staff:admin", T0 + DAY)
            .await
            .unwrap_err(),
        StoreError::Conflict(_)
    ));
    assert!(store
        .code()
        .badges(&ids[0], T0 + 2 * DAY)
        .await
        .unwrap()
        .is_empty());
    let s = store.code().green_card_stats(T0 + 2 * DAY).await.unwrap();
    assert_eq!((s.issued, s.active, s.revoked), (2, 1, 1));
    assert_eq!(store.code().green_cards(10).await.unwrap().len(), 2);
}

moralbank_store::on_both_backends!(cards_are_issued_numbered_badged_revoked_once_and_counted);
