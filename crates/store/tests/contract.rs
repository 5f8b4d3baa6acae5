#![allow(
    clippy::too_many_lines, // scenario tests tell one story each
    clippy::unwrap_used,
    clippy::cloned_ref_to_slice_refs,
    clippy::bool_assert_comparison
)]
//! The storage contract: every behaviour here runs on SQLite and on PostgreSQL.

use domain::{
    ConsentVersion, OtpCode, OtpPurpose, Password, PersonName, Phone, Role, Username,
    ENROLMENT_CONSENT_VERSION,
};
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::{
    Actor, CitizenQuery, HouseholdChoice, NewCitizen, NewRegion, NewStaff, Scope, Store,
    StoreError, SubjectKind,
};

async fn small_city(store: &Store) -> moralbank_store::fixtures::city::SeedReport {
    store.fixtures().seed_city(30, 7).await.expect("seed")
}

/// A resident not in the seeded range, identified by `n`.
fn newcomer(village_id: &str, n: u64, household: HouseholdChoice) -> NewCitizen {
    let (phone, rid) = demo_identity(900_000 + n);
    NewCitizen {
        name: PersonName::parse("张三明").expect("name"),
        resident_id: rid,
        phone,
        village_id: village_id.to_string(),
        household,
        consent: ConsentVersion::parse_current(
            ENROLMENT_CONSENT_VERSION,
            ENROLMENT_CONSENT_VERSION,
        )
        .expect("consent"),
    }
}

async fn migrations_are_idempotent_and_current(store: Store) {
    assert!(store.migrations_current().await.expect("version"));
    let published = store
        .registry()
        .consent_published_at("enrolment", ENROLMENT_CONSENT_VERSION)
        .await
        .expect("read");
    assert!(
        published.is_some(),
        "migrating records the consent text in force"
    );
    assert_eq!(store.migrate().await.expect("second run"), 0);
    assert_eq!(
        store
            .registry()
            .consent_published_at("enrolment", ENROLMENT_CONSENT_VERSION)
            .await
            .expect("read"),
        published,
        "and keeps its first date"
    );
    assert_eq!(
        store.schema_version().await.expect("v"),
        moralbank_store::MIGRATIONS_LATEST
    );
}

async fn seeded_city_has_the_shape_of_yuyao(store: Store) {
    let r = small_city(&store).await;
    assert_eq!(
        store.registry().region_counts().await.expect("counts"),
        (21, 305)
    );
    assert_eq!(
        store.registry().count_citizens().await.expect("count").0,
        30
    );
    assert_eq!(
        store
            .registry()
            .region_children(&r.city_id)
            .await
            .expect("towns")
            .len(),
        21
    );
    // Seeded residents decrypt to exactly what was generated.
    let (phone, rid) = demo_identity(0);
    let id = store
        .registry()
        .citizen_id_by_phone(&phone)
        .await
        .expect("lookup")
        .expect("citizen 0");
    let c = store
        .registry()
        .citizen(&id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(c.resident_id, rid);
    assert_eq!(c.village_id, r.first_village_id);
    assert!(
        matches!(
            store.fixtures().seed_city(1, 1).await,
            Err(StoreError::Config(_))
        ),
        "seeding twice is refused"
    );
}

async fn enrolment_is_stored_encrypted_and_read_back_whole(store: Store) {
    let r = small_city(&store).await;
    let new = newcomer(&r.first_village_id, 1, HouseholdChoice::New);
    let e = store.enrol_for_tests(&new).await.expect("enrol");
    let c = store
        .registry()
        .citizen(&e.citizen_id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (c.name.as_str(), &c.phone, &c.resident_id, c.is_head),
        ("张三明", &new.phone, &new.resident_id, true)
    );
    let s = store
        .registry()
        .citizen_summary(&e.citizen_id)
        .await
        .expect("summary")
        .expect("exists");
    assert_eq!(s.name_masked, "张*明");
    assert_eq!(s.phone_masked, new.phone.masked());
    let consents = store
        .registry()
        .consents(&e.citizen_id)
        .await
        .expect("consents");
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].version, ENROLMENT_CONSENT_VERSION);
}

async fn a_phone_enrols_once_and_a_second_try_changes_nothing(store: Store) {
    let r = small_city(&store).await;
    store
        .enrol_for_tests(&newcomer(&r.first_village_id, 1, HouseholdChoice::New))
        .await
        .expect("first");
    let before = store.registry().count_citizens().await.expect("count");
    let again = store
        .enrol_for_tests(&newcomer(&r.first_village_id, 1, HouseholdChoice::New))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::Conflict(f) if f.field == "phone" && f.code == "phone_in_use"),
        "{again:?}"
    );
    let mut other = newcomer(&r.first_village_id, 2, HouseholdChoice::New);
    other.phone = newcomer(&r.first_village_id, 1, HouseholdChoice::New).phone;
    let same_phone = store.enrol_for_tests(&other).await.unwrap_err();
    assert!(
        matches!(&same_phone, StoreError::Conflict(f) if f.field == "phone"),
        "{same_phone:?}"
    );
    assert_eq!(
        store.registry().count_citizens().await.expect("count"),
        before
    );
}

async fn unknown_village_is_refused(store: Store) {
    let r = small_city(&store).await;
    let before = store.registry().count_citizens().await.expect("count");
    for village in [domain::new_id(), r.first_town_id.clone()] {
        let e = store
            .enrol_for_tests(&newcomer(&village, 1, HouseholdChoice::New))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(f) if f.0[0].code == "unknown_village"),
            "{e:?}"
        );
    }
    assert_eq!(
        store.registry().count_citizens().await.expect("count"),
        before
    );
}

async fn joining_a_household_needs_the_heads_invite_once(store: Store) {
    let r = small_city(&store).await;
    let head = store
        .enrol_for_tests(&newcomer(&r.first_village_id, 1, HouseholdChoice::New))
        .await
        .expect("head");
    let before = store.registry().count_citizens().await.expect("count");
    for (code, expected) in [
        ("", "household_confirmation_missing"),
        ("NOTACODE12", "household_invite_unknown"),
    ] {
        let e = store
            .enrol_for_tests(&newcomer(
                &r.first_village_id,
                2,
                HouseholdChoice::Join {
                    invite_code: code.into(),
                },
            ))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Invalid(f) if f.0[0].code == expected),
            "{e:?}"
        );
    }
    assert_eq!(
        store.registry().count_citizens().await.expect("count"),
        before
    );
    let code = store
        .registry()
        .create_household_invite(&head.citizen_id)
        .await
        .expect("invite");
    let member = store
        .enrol_for_tests(&newcomer(
            &r.first_village_id,
            2,
            HouseholdChoice::Join {
                invite_code: code.to_lowercase(),
            },
        ))
        .await
        .expect("join");
    assert_eq!(member.household_id, head.household_id);
    let members = store
        .registry()
        .household_members(&head.household_id)
        .await
        .expect("members");
    assert_eq!(
        members.iter().map(|m| m.is_head).collect::<Vec<_>>(),
        [true, false]
    );
    let again = store
        .enrol_for_tests(&newcomer(
            &r.first_village_id,
            3,
            HouseholdChoice::Join { invite_code: code },
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::Invalid(f) if f.0[0].code == "household_invite_expired"),
        "{again:?}"
    );
    let not_head = store
        .registry()
        .create_household_invite(&member.citizen_id)
        .await
        .unwrap_err();
    assert!(matches!(not_head, StoreError::Invalid(_)));
}

async fn search_finds_by_keyed_hash_only_inside_the_scope(store: Store) {
    let r = small_city(&store).await;
    let new = newcomer(&r.first_village_id, 1, HouseholdChoice::New);
    let e = store.enrol_for_tests(&new).await.expect("enrol");
    let by = |q: CitizenQuery, scope: Scope| {
        let store = store.clone();
        async move {
            store
                .registry()
                .search_citizens(&q, &scope, 10)
                .await
                .expect("search")
                .into_iter()
                .map(|s| s.id)
                .collect::<Vec<_>>()
        }
    };
    let q_id = CitizenQuery {
        resident_id: Some(new.resident_id.clone()),
        ..Default::default()
    };
    assert_eq!(by(q_id.clone(), Scope::City).await, [e.citizen_id.clone()]);
    assert_eq!(
        by(
            CitizenQuery {
                phone: Some(new.phone.clone()),
                ..Default::default()
            },
            Scope::City
        )
        .await,
        [e.citizen_id.clone()]
    );
    assert!(by(
        CitizenQuery {
            name: Some(new.name.clone()),
            ..Default::default()
        },
        Scope::City
    )
    .await
    .contains(&e.citizen_id));
    assert_eq!(
        by(q_id.clone(), Scope::Village(r.first_village_id.clone())).await,
        [e.citizen_id.clone()]
    );
    assert_eq!(
        by(q_id.clone(), Scope::Town(r.first_town_id.clone())).await,
        [e.citizen_id.clone()]
    );
    let other_town = store
        .registry()
        .region_children(&r.city_id)
        .await
        .expect("towns")[5]
        .id
        .clone();
    assert!(by(q_id, Scope::Town(other_town.clone())).await.is_empty());
    assert!(!store
        .registry()
        .citizen_in_scope(&e.citizen_id, &Scope::Town(other_town))
        .await
        .expect("scope"));
    assert!(store
        .registry()
        .citizen_in_scope(&e.citizen_id, &Scope::Town(r.first_town_id))
        .await
        .expect("scope"));
}

async fn access_log_and_export_show_who_read_what(store: Store) {
    let r = small_city(&store).await;
    let e = store
        .enrol_for_tests(&newcomer(&r.first_village_id, 1, HouseholdChoice::New))
        .await
        .expect("enrol");
    let actor = Actor {
        kind: "staff",
        id: domain::new_id(),
        label: "管理员 (admin)".into(),
    };
    store
        .registry()
        .record_access(&[&e.citizen_id], &actor, "search")
        .await
        .expect("log");
    store
        .registry()
        .record_access(&[&e.citizen_id], &actor, "view")
        .await
        .expect("log");
    let log = store
        .registry()
        .access_log(&e.citizen_id, None, 10)
        .await
        .expect("read");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].actor_label, "管理员 (admin)");
    let export = store
        .registry()
        .export_citizen(&e.citizen_id)
        .await
        .expect("export");
    assert_eq!(export["citizen"]["name"], "张三明");
    assert_eq!(export["access_log"].as_array().map(Vec::len), Some(2));
    assert_eq!(export["consents"][0]["purpose"], "enrolment");
}

async fn access_log_pages_never_skip_entries_made_in_the_same_millisecond(store: Store) {
    let r = small_city(&store).await;
    let e = store
        .enrol_for_tests(&newcomer(&r.first_village_id, 1, HouseholdChoice::New))
        .await
        .expect("enrol");
    let actor = Actor {
        kind: "staff",
        id: domain::new_id(),
        label: "x".into(),
    };
    // One call stamps all five entries with the same time.
    let same = [e.citizen_id.as_str(); 5];
    store
        .registry()
        .record_access(&same, &actor, "search")
        .await
        .expect("log");
    let mut seen = Vec::new();
    loop {
        let after = seen
            .last()
            .map(|x: &moralbank_store::AccessEntry| (x.at, x.id.as_str()));
        let page = store
            .registry()
            .access_log(&e.citizen_id, after, 2)
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        seen.extend(page);
    }
    let mut ids: Vec<&str> = seen.iter().map(|x| x.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((seen.len(), ids.len()), (5, 5));
    let export = store
        .registry()
        .export_citizen(&e.citizen_id)
        .await
        .expect("export");
    assert_eq!(export["access_log"].as_array().map(Vec::len), Some(5));
}

async fn withdrawal_deletes_personal_data_and_hands_over_the_household(store: Store) {
    let r = small_city(&store).await;
    let head_new = newcomer(&r.first_village_id, 1, HouseholdChoice::New);
    let head = store.enrol_for_tests(&head_new).await.expect("head");
    let code = store
        .registry()
        .create_household_invite(&head.citizen_id)
        .await
        .expect("invite");
    let member = store
        .enrol_for_tests(&newcomer(
            &r.first_village_id,
            2,
            HouseholdChoice::Join { invite_code: code },
        ))
        .await
        .expect("member");
    let (token, _) = store
        .accounts()
        .create_session(SubjectKind::Citizen, &head.citizen_id, 60_000)
        .await
        .expect("session");
    store
        .registry()
        .withdraw(&head.citizen_id)
        .await
        .expect("withdraw");
    assert!(store
        .registry()
        .citizen(&head.citizen_id)
        .await
        .expect("read")
        .is_none());
    assert!(store
        .registry()
        .consents(&head.citizen_id)
        .await
        .expect("consents")
        .is_empty());
    assert!(store
        .accounts()
        .session(&token)
        .await
        .expect("session")
        .is_none());
    assert!(store
        .registry()
        .citizen_id_by_phone(&head_new.phone)
        .await
        .expect("lookup")
        .is_none());
    assert!(
        store
            .registry()
            .citizen(&member.citizen_id)
            .await
            .expect("read")
            .expect("member stays")
            .is_head
    );
    assert!(matches!(
        store.registry().withdraw(&head.citizen_id).await,
        Err(StoreError::NotFound { .. })
    ));
    // The same person may enrol again later.
    store.enrol_for_tests(&head_new).await.expect("re-enrol");
}

async fn one_time_codes_are_single_use_limited_and_expire_on_misuse(store: Store) {
    let phone = Phone::parse("13912345678").expect("phone");
    let issued = store
        .accounts()
        .issue_otp(&phone, OtpPurpose::SignIn)
        .await
        .expect("issue");
    assert!(
        matches!(
            store.accounts().issue_otp(&phone, OtpPurpose::SignIn).await,
            Err(StoreError::RateLimited { .. })
        ),
        "resend gap"
    );
    let wrong = OtpCode::parse(if issued.code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    })
    .expect("code");
    let e = store
        .accounts()
        .verify_otp(&phone, &wrong, OtpPurpose::SignIn)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].code == "otp_wrong"),
        "{e:?}"
    );
    store
        .accounts()
        .verify_otp(&phone, &issued.code, OtpPurpose::SignIn)
        .await
        .expect("right code");
    let e = store
        .accounts()
        .verify_otp(&phone, &issued.code, OtpPurpose::SignIn)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].code == "otp_expired"),
        "single use: {e:?}"
    );

    let other = Phone::parse("13912345679").expect("phone");
    let issued = store
        .accounts()
        .issue_otp(&other, OtpPurpose::SignIn)
        .await
        .expect("issue");
    let wrong = OtpCode::parse(if issued.code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    })
    .expect("code");
    for _ in 0..5 {
        assert!(store
            .accounts()
            .verify_otp(&other, &wrong, OtpPurpose::SignIn)
            .await
            .is_err());
    }
    let e = store
        .accounts()
        .verify_otp(&other, &issued.code, OtpPurpose::SignIn)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].code == "otp_attempts"),
        "locked after 5 misses: {e:?}"
    );
}

async fn expired_sessions_are_purged_and_live_ones_kept(store: Store) {
    let (live, _) = store
        .accounts()
        .create_session(SubjectKind::Citizen, "c1", 60_000)
        .await
        .expect("session");
    let (dead, _) = store
        .accounts()
        .create_session(SubjectKind::Citizen, "c2", -1)
        .await
        .expect("session");
    assert!(
        store
            .accounts()
            .session(&dead)
            .await
            .expect("read")
            .is_none(),
        "an expired session never authenticates"
    );
    assert_eq!(store.accounts().purge_expired().await.expect("purge"), 1);
    assert!(store
        .accounts()
        .session(&live)
        .await
        .expect("read")
        .is_some());
    assert_eq!(store.accounts().purge_expired().await.expect("purge"), 0);
}

async fn staff_accounts_follow_role_scope_rules_and_log_in_with_argon2(store: Store) {
    let r = small_city(&store).await;
    let new = |username: &str, role: Role, region: Option<&str>, partner: Option<&str>| NewStaff {
        username: Username::parse(username).expect("username"),
        display_name: "测试".into(),
        password: Password::parse("a long password").expect("password"),
        role,
        region_id: region.map(String::from),
        partner_id: partner.map(String::from),
    };
    let e = store
        .accounts()
        .create_staff(&new("eva", Role::Evaluator, Some(&r.first_town_id), None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].code == "staff_region_level"),
        "{e:?}"
    );
    let e = store
        .accounts()
        .create_staff(&new("oper", Role::PartnerOperator, None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].field == "partner_id"),
        "{e:?}"
    );
    let s = store
        .accounts()
        .create_staff(&new(
            "eva",
            Role::Evaluator,
            Some(&r.first_village_id),
            None,
        ))
        .await
        .expect("evaluator");
    let e = store
        .accounts()
        .create_staff(&new("eva", Role::Admin, None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(f) if f.field == "username"),
        "{e:?}"
    );
    assert_eq!(
        store
            .accounts()
            .staff_login("EVA", "a long password")
            .await
            .expect("login")
            .map(|s| s.id),
        Some(s.id.clone())
    );
    assert!(store
        .accounts()
        .staff_login("eva", "a long passworD")
        .await
        .expect("login")
        .is_none());
    assert!(store
        .accounts()
        .staff_login("nobody", "a long password")
        .await
        .expect("login")
        .is_none());
    store
        .accounts()
        .set_staff_password(
            &Username::parse("eva").expect("u"),
            &Password::parse("another long one").expect("p"),
        )
        .await
        .expect("reset");
    assert!(store
        .accounts()
        .staff_login("eva", "another long one")
        .await
        .expect("login")
        .is_some());
}

async fn api_keys_are_shown_once_stored_hashed_and_revocable(store: Store) {
    let p = store
        .accounts()
        .create_partner("余姚市图书馆", "library")
        .await
        .expect("partner");
    assert!(matches!(
        store
            .accounts()
            .create_partner("余姚市图书馆", "library")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.accounts().create_partner("x", "casino").await,
        Err(StoreError::Invalid(_))
    ));
    let e = store
        .accounts()
        .create_api_key(&p.id, &["citizens:delete".into()], "x")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].code == "scope_unknown"),
        "{e:?}"
    );
    let (key, secret) = store
        .accounts()
        .create_api_key(&p.id, &["regions:read".into()], "front desk")
        .await
        .expect("key");
    let who = store
        .accounts()
        .authenticate_api_key(&secret)
        .await
        .expect("auth")
        .expect("valid");
    assert_eq!(
        (who.partner.id.as_str(), who.scopes.as_slice()),
        (p.id.as_str(), ["regions:read".to_string()].as_slice())
    );
    let mut tampered = secret.clone();
    tampered.pop();
    tampered.push('z');
    assert!(store
        .accounts()
        .authenticate_api_key(&tampered)
        .await
        .expect("auth")
        .is_none());
    assert!(store
        .accounts()
        .authenticate_api_key("garbage")
        .await
        .expect("auth")
        .is_none());
    store
        .accounts()
        .revoke_api_key(&p.id, &key.id)
        .await
        .expect("revoke");
    assert!(store
        .accounts()
        .authenticate_api_key(&secret)
        .await
        .expect("auth")
        .is_none());
    assert_eq!(
        store.accounts().list_api_keys(&p.id).await.expect("list")[0]
            .revoked_at
            .is_some(),
        true
    );
}

async fn regions_follow_the_tree_rules(store: Store) {
    let r = small_city(&store).await;
    let e = store
        .registry()
        .create_region(&NewRegion {
            parent_id: Some(r.first_village_id.clone()),
            code: "1".into(),
            name_zh: "x".into(),
            name_en: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Invalid(f) if f.0[0].code == "region_parent_village"),
        "{e:?}"
    );
    let e = store
        .registry()
        .create_region(&NewRegion {
            parent_id: Some(r.first_town_id.clone()),
            code: "330281001001".into(),
            name_zh: "重复".into(),
            name_en: "Dup".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Conflict(f) if f.field == "code"),
        "{e:?}"
    );
    let v = store
        .registry()
        .create_region(&NewRegion {
            parent_id: Some(r.first_town_id.clone()),
            code: "330281001099".into(),
            name_zh: "新村".into(),
            name_en: "New Village".into(),
        })
        .await
        .expect("village");
    assert_eq!(v.level, domain::RegionLevel::Village);
}

async fn concurrent_enrolments_of_one_person_admit_exactly_one(store: Store) {
    let r = small_city(&store).await;
    let before = store.registry().count_citizens().await.expect("count").0;
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, v) = (store.clone(), r.first_village_id.clone());
            tokio::spawn(async move {
                store
                    .enrol_for_tests(&newcomer(&v, 42, HouseholdChoice::New))
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(
        store.registry().count_citizens().await.expect("count").0,
        before + 1
    );
}

moralbank_store::on_both_backends!(
    migrations_are_idempotent_and_current,
    seeded_city_has_the_shape_of_yuyao,
    enrolment_is_stored_encrypted_and_read_back_whole,
    a_phone_enrols_once_and_a_second_try_changes_nothing,
    unknown_village_is_refused,
    joining_a_household_needs_the_heads_invite_once,
    search_finds_by_keyed_hash_only_inside_the_scope,
    access_log_and_export_show_who_read_what,
    access_log_pages_never_skip_entries_made_in_the_same_millisecond,
    withdrawal_deletes_personal_data_and_hands_over_the_household,
    one_time_codes_are_single_use_limited_and_expire_on_misuse,
    expired_sessions_are_purged_and_live_ones_kept,
    staff_accounts_follow_role_scope_rules_and_log_in_with_argon2,
    api_keys_are_shown_once_stored_hashed_and_revocable,
    regions_follow_the_tree_rules,
    concurrent_enrolments_of_one_person_admit_exactly_one,
);
