#![allow(clippy::too_many_lines, clippy::unwrap_used)] // scenario tests tell one story each
//! Enrolment that proves who enrols, on SQLite and PostgreSQL: one-time codes whose per-phone
//! limits hold under concurrent requests, a code that proves the phone once and for its purpose,
//! an ID number enrolled twice and confirmed once (in person, by a clerk who typed what the ID
//! card says, or by a real-name service), and the migration's confirmation of earlier records.

use domain::{
    ConsentVersion, OtpCode, OtpPurpose, PersonName, Phone, ResidentId, ENROLMENT_CONSENT_VERSION,
};
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::{Actor, HouseholdChoice, NewCitizen, PhoneProof, Store, StoreError};

fn person(village_id: &str, name: &str, rid: &ResidentId, phone: &Phone) -> NewCitizen {
    NewCitizen {
        name: PersonName::parse(name).unwrap(),
        resident_id: rid.clone(),
        phone: phone.clone(),
        village_id: village_id.to_string(),
        household: HouseholdChoice::New,
        consent: ConsentVersion::parse_current(
            ENROLMENT_CONSENT_VERSION,
            ENROLMENT_CONSENT_VERSION,
        )
        .unwrap(),
    }
}

fn field_code(e: &StoreError) -> (String, &'static str) {
    match e {
        StoreError::Invalid(f) => (f.0[0].field.clone(), f.0[0].code),
        StoreError::Conflict(f) => (f.field.clone(), f.code),
        other => panic!("not a field error: {other:?}"),
    }
}

fn clerk() -> Actor {
    Actor {
        kind: "staff",
        id: domain::new_id(),
        label: "村文书 (evaluator)".into(),
    }
}

async fn concurrent_code_requests_for_one_phone_issue_one_code(store: Store) {
    let phone = Phone::parse("13912340001").unwrap();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let (store, phone) = (store.clone(), phone.clone());
            let purpose = if i % 2 == 0 {
                OtpPurpose::SignIn
            } else {
                OtpPurpose::Enrol
            };
            tokio::spawn(async move { store.accounts().issue_otp(&phone, purpose).await })
        })
        .collect();
    let (mut issued, mut limited) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => issued += 1,
            Err(StoreError::RateLimited { retry_after_s }) => {
                assert!((1..=61).contains(&retry_after_s), "{retry_after_s}");
                limited += 1;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(
        (issued, limited),
        (1, 11),
        "one code per 60 s per phone, whatever the purpose, however many ask at once"
    );
    // Another phone is not held up by this one.
    store
        .accounts()
        .issue_otp(&Phone::parse("13912340002").unwrap(), OtpPurpose::SignIn)
        .await
        .unwrap();
}

async fn a_code_proves_the_phone_once_and_only_for_its_purpose(store: Store) {
    let r = store.fixtures().seed_city(5, 3).await.unwrap();
    let (phone, rid) = demo_identity(910_001);
    let issued = store
        .accounts()
        .issue_otp(&phone, OtpPurpose::Enrol)
        .await
        .unwrap();
    // An enrolment code does not sign in.
    let e = store
        .accounts()
        .verify_otp(&phone, &issued.code, OtpPurpose::SignIn)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("code".into(), "otp_expired"));
    let proof = store
        .accounts()
        .verify_otp(&phone, &issued.code, OtpPurpose::Enrol)
        .await
        .unwrap();
    assert_eq!(proof.phone(), &phone);
    let e = store
        .accounts()
        .verify_otp(&phone, &issued.code, OtpPurpose::Enrol)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("code".into(), "otp_expired"), "single use");
    // A proof of one phone enrols nobody with another, and a sign-in proof enrols nobody.
    let (other_phone, other_rid) = demo_identity(910_002);
    let before = store.registry().count_citizens().await.unwrap();
    let e = store
        .registry()
        .enrol(
            &person(&r.first_village_id, "赵一", &other_rid, &other_phone),
            &proof,
        )
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("code".into(), "otp_expired"));
    let sign_in = PhoneProof::assumed_for_tests(&phone, OtpPurpose::SignIn);
    let e = store
        .registry()
        .enrol(&person(&r.first_village_id, "赵一", &rid, &phone), &sign_in)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("code".into(), "otp_expired"));
    assert_eq!(store.registry().count_citizens().await.unwrap(), before);
    let e = store
        .registry()
        .enrol(&person(&r.first_village_id, "赵一", &rid, &phone), &proof)
        .await
        .unwrap();
    let c = store
        .registry()
        .citizen(&e.citizen_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!c.identity.confirmed, "a new enrolment starts unconfirmed");
    assert!(
        !store
            .registry()
            .citizen_summary(&e.citizen_id)
            .await
            .unwrap()
            .unwrap()
            .identity_confirmed
    );
    // A wrong code counts an attempt and proves nothing.
    let (p3, _) = demo_identity(910_003);
    let issued = store
        .accounts()
        .issue_otp(&p3, OtpPurpose::Enrol)
        .await
        .unwrap();
    let wrong = OtpCode::parse(if issued.code.as_str() == "000000" {
        "111111"
    } else {
        "000000"
    })
    .unwrap();
    let e = store
        .accounts()
        .verify_otp(&p3, &wrong, OtpPurpose::Enrol)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("code".into(), "otp_wrong"));
}

async fn an_id_number_enrolled_twice_is_confirmed_once_in_person(store: Store) {
    let r = store.fixtures().seed_city(5, 3).await.unwrap();
    let v = &r.first_village_id;
    let (phone_a, rid) = demo_identity(920_001);
    let (phone_b, _) = demo_identity(920_002);
    // Two phones enrol the same ID number: neither is told about the other.
    let a = store
        .enrol_for_tests(&person(v, "钱二", &rid, &phone_a))
        .await
        .unwrap();
    let b = store
        .enrol_for_tests(&person(v, "钱二", &rid, &phone_b))
        .await
        .unwrap();
    assert_ne!(a.citizen_id, b.citizen_id);
    assert_eq!(
        store
            .registry()
            .same_number_records(&a.citizen_id)
            .await
            .unwrap(),
        (1, 0)
    );
    let clerk = clerk();
    let name = PersonName::parse("钱二").unwrap();
    // What the clerk types must be what the card says and the record holds.
    let e = store
        .registry()
        .confirm_identity_in_person(
            &a.citizen_id,
            &PersonName::parse("钱三").unwrap(),
            &rid,
            &clerk,
        )
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("name".into(), "identity_mismatch"));
    let (_, other_rid) = demo_identity(920_003);
    let e = store
        .registry()
        .confirm_identity_in_person(&a.citizen_id, &name, &other_rid, &clerk)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("resident_id".into(), "identity_mismatch"));
    assert!(
        !store
            .registry()
            .citizen(&a.citizen_id)
            .await
            .unwrap()
            .unwrap()
            .identity
            .confirmed
    );
    let id = store
        .registry()
        .confirm_identity_in_person(&a.citizen_id, &name, &rid, &clerk)
        .await
        .unwrap();
    assert_eq!(
        (id.confirmed, id.method.as_deref()),
        (true, Some("in_person"))
    );
    let c = store
        .registry()
        .citizen(&a.citizen_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.identity, id);
    // Who and when, in the resident's access log.
    let log = store
        .registry()
        .access_log(&a.citizen_id, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (
            log[0].action.as_str(),
            log[0].actor_label.as_str(),
            log[0].at
        ),
        (
            "identity_confirmed",
            "村文书 (evaluator)",
            id.confirmed_at.unwrap()
        )
    );
    let e = store
        .registry()
        .confirm_identity_in_person(&a.citizen_id, &name, &rid, &clerk)
        .await
        .unwrap_err();
    assert_eq!(field_code(&e), ("identity".into(), "already_confirmed"));
    // The second record can never be confirmed too, in person or by a real-name service.
    assert_eq!(
        store
            .registry()
            .same_number_records(&b.citizen_id)
            .await
            .unwrap(),
        (1, 1)
    );
    let e = store
        .registry()
        .confirm_identity_in_person(&b.citizen_id, &name, &rid, &clerk)
        .await
        .unwrap_err();
    assert_eq!(
        field_code(&e),
        ("resident_id".into(), "confirmed_elsewhere")
    );
    assert!(!store
        .registry()
        .confirm_identity_by_verifier(&b.citizen_id, "carrier")
        .await
        .unwrap());
    let c = store
        .registry()
        .citizen(&b.citizen_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!c.identity.confirmed);
    assert!(store
        .registry()
        .access_log(&b.citizen_id, None, 10)
        .await
        .unwrap()
        .is_empty());
    // A seeded resident counts as confirmed; their number enrolled by someone else stays
    // unconfirmed for good.
    let (seeded_phone, seeded_rid) = demo_identity(0);
    let seeded = store
        .registry()
        .citizen_id_by_phone(&seeded_phone)
        .await
        .unwrap()
        .unwrap();
    let s = store.registry().citizen(&seeded).await.unwrap().unwrap();
    assert_eq!(
        (s.identity.confirmed, s.identity.method.as_deref()),
        (true, Some("existing"))
    );
    let (phone_c, _) = demo_identity(920_004);
    let impostor = store
        .enrol_for_tests(&person(v, s.name.as_str(), &seeded_rid, &phone_c))
        .await
        .unwrap();
    let e = store
        .registry()
        .confirm_identity_in_person(&impostor.citizen_id, &s.name, &seeded_rid, &clerk)
        .await
        .unwrap_err();
    assert_eq!(
        field_code(&e),
        ("resident_id".into(), "confirmed_elsewhere")
    );
    // A real-name service's confirmation is recorded as its own.
    let (phone_d, rid_d) = demo_identity(920_005);
    let d = store
        .enrol_for_tests(&person(v, "孙四", &rid_d, &phone_d))
        .await
        .unwrap();
    assert!(store
        .registry()
        .confirm_identity_by_verifier(&d.citizen_id, "carrier")
        .await
        .unwrap());
    let c = store
        .registry()
        .citizen(&d.citizen_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.identity.method.as_deref(), Some("verifier"));
    let log = store
        .registry()
        .access_log(&d.citizen_id, None, 10)
        .await
        .unwrap();
    assert_eq!(
        (log[0].actor_kind.as_str(), log[0].actor_label.as_str()),
        ("system", "real-name service (carrier)")
    );
    let export = store
        .registry()
        .export_citizen(&d.citizen_id)
        .await
        .unwrap();
    assert_eq!(export["citizen"]["identity"]["method"], "verifier");
}

async fn records_enrolled_before_the_real_name_step_are_confirmed_by_the_migration(store: Store) {
    let r = store.fixtures().seed_city(5, 3).await.unwrap();
    let (phone, rid) = demo_identity(930_001);
    let e = store
        .enrol_for_tests(&person(&r.first_village_id, "周五", &rid, &phone))
        .await
        .unwrap();
    // Play a database from before migration 13: forget the confirmations, drop what 13 added,
    // and run 13 again.
    let backend = store.backend();
    let undo = match backend {
        // SQLite cannot drop a column a table CHECK names: put back the table of 0001.
        moralbank_store::Backend::Sqlite => {
            "DROP TABLE otp_phones; ALTER TABLE otp_codes DROP COLUMN purpose; \
             CREATE TABLE citizens_old (id TEXT PRIMARY KEY, village_id TEXT NOT NULL, household_id TEXT NOT NULL, \
             key_id TEXT NOT NULL, name_enc BLOB NOT NULL, name_hmac BLOB NOT NULL, name_masked TEXT NOT NULL, \
             resident_id_enc BLOB NOT NULL, resident_id_hmac BLOB NOT NULL UNIQUE, resident_id_masked TEXT NOT NULL, \
             phone_enc BLOB NOT NULL, phone_hmac BLOB NOT NULL UNIQUE, phone_masked TEXT NOT NULL, enrolled_at BIGINT NOT NULL); \
             INSERT INTO citizens_old SELECT id, village_id, household_id, key_id, name_enc, name_hmac, name_masked, \
             resident_id_enc, resident_id_hmac, resident_id_masked, phone_enc, phone_hmac, phone_masked, enrolled_at FROM citizens; \
             DROP TABLE citizens; ALTER TABLE citizens_old RENAME TO citizens; \
             CREATE INDEX citizens_village ON citizens(village_id, enrolled_at); \
             CREATE INDEX citizens_household ON citizens(household_id); CREATE INDEX citizens_name ON citizens(name_hmac); \
             CREATE INDEX citizens_masked ON citizens(id, name_masked);"
        }
        moralbank_store::Backend::Postgres => {
            "DROP TABLE otp_phones; ALTER TABLE otp_codes DROP COLUMN purpose; \
             DROP INDEX citizens_resident_id; DROP INDEX citizens_confirmed_resident_id; DROP INDEX citizens_unconfirmed; \
             ALTER TABLE citizens DROP COLUMN identity_confirmed_at, DROP COLUMN identity_confirmed_by, \
             DROP COLUMN identity_method; ALTER TABLE citizens ADD CONSTRAINT citizens_resident_id_hmac_key UNIQUE (resident_id_hmac);"
        }
    };
    // A later migration's trigger names `citizens` (the access log's withdrawal exception), and
    // SQLite rebuilds that table (here and in migration 13): out of the way meanwhile, then put
    // back as the migrations made it.
    // The statistics' triggers (migration 16) name it too.
    let statistics = [
        "stats_citizen_enrolled",
        "stats_citizen_withdrawn",
        "stats_code_scanned",
        "stats_redemption",
        "stats_green_card_issued",
        "stats_green_card_revoked",
    ];
    if store.backend() == moralbank_store::Backend::Sqlite {
        store
            .execute_raw("DROP TRIGGER access_log_no_delete")
            .await
            .unwrap();
        for t in statistics {
            store
                .execute_raw(&format!("DROP TRIGGER IF EXISTS {t}"))
                .await
                .unwrap();
        }
    }
    store.execute_raw(undo).await.unwrap();
    store.rerun_migration_for_tests(13).await.unwrap();
    if store.backend() == moralbank_store::Backend::Sqlite {
        store
            .recreate_sqlite_triggers_for_tests(&statistics)
            .await
            .unwrap();
    }
    store
        .tamper_for_tests("access_log", "SELECT 1")
        .await
        .unwrap();
    store.check_guards().await.unwrap();
    for id in [e.citizen_id.clone(), store.citizen_ids(1).await[0].clone()] {
        let c = store.registry().citizen(&id).await.unwrap().unwrap();
        assert_eq!(
            (
                c.identity.confirmed,
                c.identity.method.as_deref(),
                c.identity.confirmed_at
            ),
            (true, Some("existing"), Some(c.enrolled_at)),
            "every record from before the real-name step counts as confirmed"
        );
    }
    // And after it, a second record of the same number can be enrolled (unconfirmed).
    let (phone2, _) = demo_identity(930_002);
    let again = store
        .enrol_for_tests(&person(&r.first_village_id, "周五", &rid, &phone2))
        .await
        .unwrap();
    assert!(
        !store
            .registry()
            .citizen(&again.citizen_id)
            .await
            .unwrap()
            .unwrap()
            .identity
            .confirmed
    );
}

moralbank_store::on_both_backends!(
    concurrent_code_requests_for_one_phone_issue_one_code,
    a_code_proves_the_phone_once_and_only_for_its_purpose,
    an_id_number_enrolled_twice_is_confirmed_once_in_person,
    records_enrolled_before_the_real_name_step_are_confirmed_by_the_migration,
);
