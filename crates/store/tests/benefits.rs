#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Scenes and benefits on both backends: the five scenes seeded once, benefits of each kind
//! with their terms checked field by field, and conditions by tier and badge.

use moralbank_store::code::benefits::NewBenefit;
use moralbank_store::{Store, StoreError};

fn benefit(partner: &str, kind: &str) -> NewBenefit {
    NewBenefit {
        scene: "reading".into(),
        partner_id: partner.into(),
        name_zh: "免押金借书".into(),
        name_en: "Deposit-free library card".into(),
        description_zh: "凭道德码办理免押金借书证".into(),
        description_en: "A library card without the deposit".into(),
        min_tier: 1,
        kind: kind.into(),
        ..NewBenefit::default()
    }
}

async fn scenes_and_benefits_follow_their_rules(store: Store) {
    assert_eq!(store.code().ensure_default_scenes().await.unwrap(), 5);
    assert_eq!(store.code().ensure_default_scenes().await.unwrap(), 0);
    assert!(matches!(
        store
            .code()
            .create_scene("reading", "道德阅", "x")
            .await
            .unwrap_err(),
        StoreError::Conflict(_)
    ));
    store
        .code()
        .create_scene("sports", "道德健", "Moral sports")
        .await
        .unwrap();
    let p = store
        .accounts()
        .create_partner("余姚市图书馆", "library")
        .await
        .unwrap();
    let open = store
        .code()
        .create_benefit(&benefit(&p.id, "eligibility"))
        .await
        .unwrap();
    assert!(open.open_to(1, &[]));
    let tickets = NewBenefit {
        scene: "tourism".into(),
        min_tier: 2,
        kind: "quota".into(),
        quota: Some(2),
        quota_period: Some("year".into()),
        ..benefit(&p.id, "quota")
    };
    let t = store.code().create_benefit(&tickets).await.unwrap();
    assert!(!t.open_to(1, &[]) && t.open_to(2, &[]));
    let vip = NewBenefit {
        badge: Some("green-card".into()),
        ..benefit(&p.id, "eligibility")
    };
    let v = store.code().create_benefit(&vip).await.unwrap();
    assert!(!v.open_to(5, &[]) && v.open_to(1, &["green-card".into()]));
    // Terms that do not fit the kind are refused, naming the field.
    let bad = NewBenefit {
        quota: Some(2),
        ..benefit(&p.id, "points")
    };
    let StoreError::Invalid(e) = store.code().create_benefit(&bad).await.unwrap_err() else {
        panic!()
    };
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["points_cost", "quota"]);
    let StoreError::Invalid(e) = store
        .code()
        .create_benefit(&NewBenefit {
            scene: "nope".into(),
            ..benefit(&p.id, "eligibility")
        })
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(e.0[0].field, "scene");
    let all = store.code().benefits().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].scene.code, "reading");
}

moralbank_store::on_both_backends!(scenes_and_benefits_follow_their_rules);
