#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Moral credit loans on both backends: a household's consent (every adult authorises, any can
//! revoke, it expires), the report issued under it and read once by its bank, each refusal of
//! the consent matrix with its own reason, decisions that are idempotent, the monthly loan book
//! through the city-data imports (all or nothing) and the figures.

use domain::credit::{Decision, DecisionInput, LineTable, Terms};
use domain::{ConsentVersion, PersonName, Phone, ResidentId, ENROLMENT_CONSENT_VERSION};
use moralbank_code::{IssuerKey, KeySet};
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
use moralbank_store::credit::reports::ReportSigner;
use moralbank_store::evaluation::Rules;
use moralbank_store::{Actor, HouseholdChoice, NewCitizen, Store, StoreError};
use std::sync::atomic::AtomicUsize;

const DAY: i64 = 86_400_000;
/// 2026-12-06 12:00 China time.
const T0: i64 = 1_796_529_600_000;
const TERMS: Terms = Terms {
    expiry_days: 7,
    lookback_months: 36,
};

fn rid(birth: &str, seq: u32) -> ResidentId {
    let first17 = format!("330281{birth}{seq:03}");
    let check = ResidentId::check_char(&first17).unwrap();
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

fn person(
    village: &str,
    name: &str,
    birth: &str,
    n: u32,
    household: HouseholdChoice,
) -> NewCitizen {
    NewCitizen {
        name: PersonName::parse(name).unwrap(),
        resident_id: rid(birth, n),
        phone: Phone::parse(&format!("1381234{n:04}")).unwrap(),
        village_id: village.to_string(),
        household,
        consent: ConsentVersion::parse_current(
            ENROLMENT_CONSENT_VERSION,
            ENROLMENT_CONSENT_VERSION,
        )
        .unwrap(),
    }
}

/// A household of two adults and a child: (head, spouse, child) ids.
async fn family(store: &Store, village: &str, n: u32) -> (String, String, String) {
    let head = store
        .enrol_confirmed_for_tests(&person(
            village,
            "张建国",
            "19800312",
            n,
            HouseholdChoice::New,
        ))
        .await;
    let mut ids = vec![head.citizen_id.clone()];
    for (name, birth, k) in [("李秀英", "19820705", n + 1), ("张小明", "20150101", n + 2)] {
        let code = store
            .registry()
            .create_household_invite(&head.citizen_id)
            .await
            .unwrap();
        let m = store
            .enrol_confirmed_for_tests(&person(
                village,
                name,
                birth,
                k,
                HouseholdChoice::Join { invite_code: code },
            ))
            .await;
        ids.push(m.citizen_id);
    }
    (ids[0].clone(), ids[1].clone(), ids[2].clone())
}

async fn single(store: &Store, village: &str, n: u32) -> String {
    store
        .enrol_confirmed_for_tests(&person(
            village,
            "王芳",
            "19700101",
            n,
            HouseholdChoice::New,
        ))
        .await
        .citizen_id
}

fn bank_actor(id: &str) -> Actor {
    Actor {
        kind: "partner",
        id: id.to_string(),
        label: "余姚农村商业银行（信贷员）".into(),
    }
}

fn code_of(e: &StoreError) -> &'static str {
    match e {
        StoreError::Invalid(f) => f.0[0].code,
        StoreError::Conflict(f) => f.code,
        StoreError::NotFound { .. } => "not_found",
        other => panic!("not a refusal: {other:?}"),
    }
}

struct World {
    village: String,
    bank: String,
    other_bank: String,
    key: IssuerKey,
}

impl World {
    fn signer(&self) -> ReportSigner<'_> {
        ReportSigner {
            key: &self.key,
            issuer: "yuyao",
            thresholds: &domain::tier::DEFAULT_THRESHOLDS,
            writer: None,
        }
    }

    fn keys(&self) -> KeySet {
        KeySet::new(vec![self.key.public()]).unwrap()
    }
}

async fn world(store: &Store) -> World {
    let r = store.fixtures().seed_city(3, 7).await.unwrap();
    let bank = store
        .accounts()
        .create_partner("余姚农村商业银行", "bank")
        .await
        .unwrap()
        .id;
    let other_bank = store
        .accounts()
        .create_partner("宁波银行", "bank")
        .await
        .unwrap()
        .id;
    World {
        village: r.first_village_id,
        bank,
        other_bank,
        key: IssuerKey::from_seed(&[5; 32]),
    }
}

fn approval(reference: &str) -> Decision {
    Decision::parse(&DecisionInput {
        outcome: "approved".into(),
        amount_yuan: "200000".into(),
        rate_pct: "3.92".into(),
        term_months: "36".into(),
        loan_ref: reference.into(),
        reasons: vec!["good_moral_credit".into()],
        reasons_text: String::new(),
    })
    .unwrap()
}

async fn every_adult_consents_and_the_bank_reads_the_report_once(store: Store) {
    let w = world(&store).await;
    let (head, spouse, child) = family(&store, &w.village, 100).await;
    let credit = store.credit();
    let table = LineTable::parse(
        "4.35",
        &[
            "30000".into(),
            "50000".into(),
            "100000".into(),
            "200000".into(),
            "300000".into(),
        ],
        &[
            "0".into(),
            "5".into(),
            "10".into(),
            "20".into(),
            "30".into(),
        ],
    )
    .unwrap();
    assert_eq!(
        credit
            .publish_table(&w.bank, &table, "staff:admin", T0)
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        credit
            .publish_table(&w.bank, &table, "staff:admin", T0)
            .await
            .unwrap()
            .version,
        2
    );
    assert_eq!(
        code_of(
            &credit
                .publish_table(&head, &table, "staff:admin", T0)
                .await
                .unwrap_err()
        ),
        "unknown_bank"
    );

    // A child cannot ask; an adult asks and so authorises; the consent waits for the spouse.
    assert_eq!(
        code_of(
            &credit
                .request_consent(&child, &w.bank, TERMS, T0)
                .await
                .unwrap_err()
        ),
        "not_adult"
    );
    assert_eq!(
        code_of(
            &credit
                .request_consent(&head, &head, TERMS, T0)
                .await
                .unwrap_err()
        ),
        "unknown_bank"
    );
    let c = credit
        .request_consent(&head, &w.bank, TERMS, T0)
        .await
        .unwrap();
    assert_eq!(
        (c.status.as_str(), c.adults, c.authorised_by.len()),
        ("requested", 2, 1)
    );
    assert_eq!(c.expires_at, T0 + 7 * DAY);
    // Asking again while it is open gives the same consent.
    assert_eq!(
        credit
            .request_consent(&head, &w.bank, TERMS, T0 + 1)
            .await
            .unwrap()
            .id,
        c.id
    );
    let e = credit
        .household_report(&head, &c.id, &w.signer(), T0 + 2)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "consent_not_authorised");
    assert_eq!(
        code_of(
            &credit
                .authorise_consent(&child, &c.id, T0 + 3)
                .await
                .unwrap_err()
        ),
        "not_adult"
    );
    let c = credit
        .authorise_consent(&spouse, &c.id, T0 + 4)
        .await
        .unwrap();
    assert_eq!(c.status.as_str(), "authorised");
    assert_eq!(
        credit
            .authorise_consent(&spouse, &c.id, T0 + 5)
            .await
            .unwrap()
            .authorised_by
            .len(),
        2
    );

    // Another household sees nothing of it.
    let stranger = single(&store, &w.village, 200).await;
    assert_eq!(
        code_of(
            &credit
                .consent_for_citizen(&stranger, &c.id, T0)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    assert_eq!(
        code_of(
            &credit
                .revoke_consent(&stranger, &c.id, T0)
                .await
                .unwrap_err()
        ),
        "not_found"
    );

    // The report: issued once, the same on the next download, signed, for this bank only.
    let r = credit
        .household_report(&head, &c.id, &w.signer(), T0 + 10)
        .await
        .unwrap();
    assert_eq!(
        credit
            .household_report(&spouse, &c.id, &w.signer(), T0 + 20)
            .await
            .unwrap(),
        r
    );
    let report =
        moralbank_code::verify_report(&r.body, &w.keys(), Some(&w.bank), (T0 + 30) / 1000, 30)
            .unwrap();
    assert_eq!(report.consent_id, c.id);
    assert_eq!(report.line.unwrap().table_version, 2);
    assert_eq!((report.tier, report.lookback_months), (1, 36));
    assert!(report.tier_rules.starts_with("household-per-capita/v1"));
    let decoded = serde_json::to_string(&report).unwrap();
    for secret in [
        "张建国",
        "李秀英",
        "19800312",
        "13812340100",
        &head,
        &c.household_id,
    ] {
        assert!(
            !decoded.contains(secret) && !r.body.contains(secret),
            "the report discloses {secret}"
        );
    }
    assert!(moralbank_code::verify_report(
        &r.body,
        &w.keys(),
        Some(&w.other_bank),
        (T0 + 30) / 1000,
        30
    )
    .is_err());

    // Another bank has no consent; this bank reads once (used), the household is told.
    let other = bank_actor(&w.other_bank);
    assert_eq!(
        code_of(
            &credit
                .bank_read_presented(&other, &r.id, &c.id, T0 + 40)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&other, &c.id, &w.signer(), T0 + 40)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    let bank = bank_actor(&w.bank);
    credit
        .bank_read_presented(&bank, &r.id, &c.id, T0 + 50)
        .await
        .unwrap();
    assert_eq!(
        credit
            .consent_for_citizen(&head, &c.id, T0 + 60)
            .await
            .unwrap()
            .status
            .as_str(),
        "used"
    );
    // The bank may read again the report it holds; a pull under a used consent is refused.
    credit
        .bank_read_presented(&bank, &r.id, &c.id, T0 + 70)
        .await
        .unwrap();
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&bank, &c.id, &w.signer(), T0 + 80)
                .await
                .unwrap_err()
        ),
        "consent_used"
    );
    assert_eq!(
        code_of(
            &credit
                .revoke_consent(&spouse, &c.id, T0 + 90)
                .await
                .unwrap_err()
        ),
        "consent_used"
    );
    for member in [&head, &spouse, &child] {
        let log = store.registry().access_log(member, None, 50).await.unwrap();
        let reads = log
            .iter()
            .filter(|a| a.action == "credit_report_read" && a.actor_kind == "partner")
            .count();
        assert_eq!(reads, 2, "each read is in every member's access log");
        let inbox = store
            .evaluation()
            .inbox("citizen", member, 50)
            .await
            .unwrap();
        assert!(inbox.iter().any(|n| n.kind == "credit_report_read"));
    }

    // Decisions: only on a read report, idempotent, a different one is a conflict.
    let (d, created) = credit
        .record_decision(
            &bank,
            "staff:clerk",
            &r.id,
            &approval("YY-2026-0001"),
            T0 + DAY,
        )
        .await
        .unwrap();
    assert!(created && d.outcome == "approved" && d.amount_yuan == Some(200_000));
    let (again, created) = credit
        .record_decision(
            &bank,
            "staff:clerk",
            &r.id,
            &approval("YY-2026-0001"),
            T0 + DAY + 1,
        )
        .await
        .unwrap();
    assert!(!created && again == d);
    assert_eq!(
        code_of(
            &credit
                .record_decision(
                    &bank,
                    "staff:clerk",
                    &r.id,
                    &approval("YY-2026-0002"),
                    T0 + DAY
                )
                .await
                .unwrap_err()
        ),
        "decision_recorded"
    );
    assert_eq!(
        code_of(
            &credit
                .record_decision(&other, "staff:clerk", &r.id, &approval("X-1"), T0 + DAY)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    assert_eq!(
        credit.household_decisions(&c.household_id).await.unwrap(),
        vec![d]
    );
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_decisions")
            .await
            .unwrap(),
        1
    );
}

async fn a_revoked_expired_or_misused_consent_is_refused_with_its_reason(store: Store) {
    let w = world(&store).await;
    let credit = store.credit();
    let bank = bank_actor(&w.bank);
    let alone = single(&store, &w.village, 300).await;
    // One adult: authorised at once; revoked before the bank reads: no report, no read.
    let c = credit
        .request_consent(&alone, &w.bank, TERMS, T0)
        .await
        .unwrap();
    assert_eq!(c.status.as_str(), "authorised");
    let revoked = credit.revoke_consent(&alone, &c.id, T0 + 1).await.unwrap();
    assert_eq!(revoked.status.as_str(), "revoked");
    assert_eq!(
        credit
            .revoke_consent(&alone, &c.id, T0 + 2)
            .await
            .unwrap()
            .status
            .as_str(),
        "revoked"
    );
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&bank, &c.id, &w.signer(), T0 + 3)
                .await
                .unwrap_err()
        ),
        "consent_revoked"
    );
    assert_eq!(
        code_of(
            &credit
                .household_report(&alone, &c.id, &w.signer(), T0 + 3)
                .await
                .unwrap_err()
        ),
        "consent_revoked"
    );
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_reports")
            .await
            .unwrap(),
        0
    );

    // Issued, then revoked: the bank's read of the report it was shown is refused.
    let c = credit
        .request_consent(&alone, &w.bank, TERMS, T0 + 10)
        .await
        .unwrap();
    let r = credit
        .household_report(&alone, &c.id, &w.signer(), T0 + 11)
        .await
        .unwrap();
    credit.revoke_consent(&alone, &c.id, T0 + 12).await.unwrap();
    assert_eq!(
        code_of(
            &credit
                .bank_read_presented(&bank, &r.id, &c.id, T0 + 13)
                .await
                .unwrap_err()
        ),
        "consent_revoked"
    );
    let log = store.registry().access_log(&alone, None, 50).await.unwrap();
    assert!(
        !log.iter().any(|a| a.action == "credit_report_read"),
        "nothing was read"
    );
    assert!(log.iter().any(|a| a.action == "credit_consent_revoked"));

    // Expired: refused at once by the clock, and the sweep records it with its receipt.
    let short = Terms {
        expiry_days: 1,
        lookback_months: 12,
    };
    let c = credit
        .request_consent(&alone, &w.bank, short, T0 + 20)
        .await
        .unwrap();
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&bank, &c.id, &w.signer(), T0 + 20 + 2 * DAY)
                .await
                .unwrap_err()
        ),
        "consent_expired"
    );
    assert_eq!(credit.expire_consents(T0 + 2 * DAY).await.unwrap(), 1);
    assert_eq!(credit.expire_consents(T0 + 2 * DAY).await.unwrap(), 0);
    let stored = store
        .rows_for_tests(&format!(
            "SELECT status FROM credit_consents WHERE id = '{}'",
            c.id
        ))
        .await
        .unwrap();
    assert_eq!(stored[0][0], "expired");
    let inbox = store
        .evaluation()
        .inbox("citizen", &alone, 50)
        .await
        .unwrap();
    assert!(inbox.iter().any(|n| n.kind == "credit_consent_expired"));

    // Not yet authorised, and a purpose that is not a loan application.
    let (head, _spouse, _) = family(&store, &w.village, 400).await;
    let c = credit
        .request_consent(&head, &w.bank, TERMS, T0 + 30)
        .await
        .unwrap();
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&bank, &c.id, &w.signer(), T0 + 31)
                .await
                .unwrap_err()
        ),
        "consent_not_authorised"
    );
    let c2 = credit
        .request_consent(&head, &w.other_bank, TERMS, T0 + 32)
        .await
        .unwrap();
    store.execute_raw(&format!("UPDATE credit_consents SET purpose = 'marketing', status = 'authorised' WHERE id = '{}'", c2.id)).await.unwrap();
    let other = bank_actor(&w.other_bank);
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&other, &c2.id, &w.signer(), T0 + 33)
                .await
                .unwrap_err()
        ),
        "consent_purpose_mismatch"
    );
    // Unknown consent: not found, the same answer as another bank's.
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&bank, &domain::new_id(), &w.signer(), T0)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&bank, &c2.id, &w.signer(), T0)
                .await
                .unwrap_err()
        ),
        "not_found"
    );

    // A pull under a live consent issues the report and uses the consent at once.
    let c3 = credit
        .request_consent(&alone, &w.other_bank, TERMS, T0 + 40)
        .await
        .unwrap();
    let pulled = credit
        .bank_pull(&other, &c3.id, &w.signer(), T0 + 41)
        .await
        .unwrap();
    assert_eq!(pulled.bank_id, w.other_bank);
    assert_eq!(
        credit
            .consent_for_citizen(&alone, &c3.id, T0 + 42)
            .await
            .unwrap()
            .status
            .as_str(),
        "used"
    );
    assert_eq!(
        code_of(
            &credit
                .bank_pull(&other, &c3.id, &w.signer(), T0 + 43)
                .await
                .unwrap_err()
        ),
        "consent_used"
    );
    // A decision on a report the bank never read is refused.
    let c4 = credit
        .request_consent(&alone, &w.bank, TERMS, T0 + 50)
        .await
        .unwrap();
    let unread = credit
        .household_report(&alone, &c4.id, &w.signer(), T0 + 51)
        .await
        .unwrap();
    assert_eq!(
        code_of(
            &credit
                .record_decision(&bank, "staff:clerk", &unread.id, &approval("Y-9"), T0 + 52)
                .await
                .unwrap_err()
        ),
        "report_not_read"
    );
}

async fn only_the_adults_named_when_asked_authorise_and_a_withdrawal_revokes(store: Store) {
    let w = world(&store).await;
    let (head, spouse, _child) = family(&store, &w.village, 950).await;
    let c = store
        .credit()
        .request_consent(&head, &w.bank, TERMS, T0)
        .await
        .unwrap();
    // Someone who joins the household after the consent was asked for is not one of its adults.
    let code = store
        .registry()
        .create_household_invite(&head)
        .await
        .unwrap();
    let joiner = store
        .enrol_confirmed_for_tests(&person(
            &w.village,
            "赵磊",
            "19900202",
            960,
            HouseholdChoice::Join { invite_code: code },
        ))
        .await
        .citizen_id;
    let e = store
        .credit()
        .authorise_consent(&joiner, &c.id, T0 + 1)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "not_adult");
    // The spouse asking too is the spouse's authorisation of the open consent.
    let again = store
        .credit()
        .request_consent(&spouse, &w.bank, TERMS, T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        (again.id.as_str(), again.status.as_str()),
        (c.id.as_str(), "authorised")
    );
    // Every member was told of each authorisation.
    let log = store.registry().access_log(&head, None, 50).await.unwrap();
    assert!(log
        .iter()
        .any(|a| a.action == "credit_consent_member_authorised"));
    // A member withdraws: the household's open consents are revoked, those who stay told.
    store.registry().withdraw(&joiner).await.unwrap();
    let after = store
        .credit()
        .consent_for_citizen(&head, &c.id, T0 + 3)
        .await
        .unwrap();
    assert_eq!(after.status.as_str(), "revoked");
    let inbox = store
        .evaluation()
        .inbox("citizen", &spouse, 50)
        .await
        .unwrap();
    assert!(inbox.iter().any(|n| n.kind == "credit_consent_revoked"));
    // A household's last member withdraws: its credit records go with it.
    let alone = single(&store, &w.village, 970).await;
    let c = store
        .credit()
        .request_consent(&alone, &w.bank, TERMS, T0)
        .await
        .unwrap();
    store
        .credit()
        .household_report(&alone, &c.id, &w.signer(), T0 + 1)
        .await
        .unwrap();
    store.registry().withdraw(&alone).await.unwrap();
    for sql in [
        format!("SELECT COUNT(*) FROM credit_consents WHERE id = '{}'", c.id),
        format!(
            "SELECT COUNT(*) FROM credit_reports WHERE consent_id = '{}'",
            c.id
        ),
        format!(
            "SELECT COUNT(*) FROM credit_authorisations WHERE consent_id = '{}'",
            c.id
        ),
    ] {
        assert_eq!(store.count_for_tests(&sql).await.unwrap(), 0, "{sql}");
    }
}

async fn concurrent_requests_authorisations_and_decisions_hold(store: Store) {
    let w = world(&store).await;
    let (head, spouse, _) = family(&store, &w.village, 500).await;
    // Two adults ask at the same moment: one consent.
    let tasks: Vec<_> = [head.clone(), spouse.clone()]
        .into_iter()
        .map(|who| {
            let (store, bank) = (store.clone(), w.bank.clone());
            tokio::spawn(
                async move { store.credit().request_consent(&who, &bank, TERMS, T0).await },
            )
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    assert_eq!(ids[0], ids[1]);
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_consents")
            .await
            .unwrap(),
        1
    );
    // Both authorise at once (the asker is already counted): authorised, once.
    let tasks: Vec<_> = [head.clone(), spouse.clone(), spouse.clone()]
        .into_iter()
        .map(|who| {
            let (store, id) = (store.clone(), ids[0].clone());
            tokio::spawn(async move { store.credit().authorise_consent(&who, &id, T0 + 1).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let c = store
        .credit()
        .consent_for_citizen(&head, &ids[0], T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        (c.status.as_str(), c.authorised_by.len()),
        ("authorised", 2)
    );
    let r = store
        .credit()
        .household_report(&head, &c.id, &w.signer(), T0 + 3)
        .await
        .unwrap();
    store
        .credit()
        .bank_read_presented(&bank_actor(&w.bank), &r.id, &c.id, T0 + 4)
        .await
        .unwrap();
    // The same decision sent four times at once: one decision, every answer the same.
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, bank, id) = (store.clone(), w.bank.clone(), r.id.clone());
            tokio::spawn(async move {
                store
                    .credit()
                    .record_decision(
                        &bank_actor(&bank),
                        "staff:clerk",
                        &id,
                        &approval("YY-C-1"),
                        T0 + 5,
                    )
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut answers = Vec::new();
    for t in tasks {
        let (d, new) = t.await.unwrap().unwrap();
        created += usize::from(new);
        answers.push(d.id);
    }
    assert_eq!(created, 1);
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_decisions")
            .await
            .unwrap(),
        1
    );
}

async fn the_writer_keeps_reports_in_batches_once_each(store: Store) {
    let w = world(&store).await;
    let writer = moralbank_store::credit::writer::ReportWriter::start(store.clone());
    let mut asks = Vec::new();
    for n in 0..12 {
        let who = single(&store, &w.village, 800 + n).await;
        let c = store
            .credit()
            .request_consent(&who, &w.bank, TERMS, T0)
            .await
            .unwrap();
        asks.push((who, c.id));
    }
    // Every household at once, and the first one three more times at the same moment.
    let mut all = asks.clone();
    all.extend(std::iter::repeat_n(asks[0].clone(), 3));
    let tasks: Vec<_> = all
        .into_iter()
        .map(|(who, consent)| {
            let (store, writer) = (store.clone(), writer.clone());
            tokio::spawn(async move {
                let key = IssuerKey::from_seed(&[5; 32]);
                let signer = ReportSigner {
                    key: &key,
                    issuer: "yuyao",
                    thresholds: &domain::tier::DEFAULT_THRESHOLDS,
                    writer: Some(&writer),
                };
                store
                    .credit()
                    .household_report(&who, &consent, &signer, T0 + 10)
                    .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap().unwrap().id);
    }
    assert!(
        ids[12..].iter().all(|id| *id == ids[0]),
        "one report per consent, the same to every request"
    );
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_reports")
            .await
            .unwrap(),
        12
    );
    assert_eq!(
        store
            .count_for_tests(
                "SELECT COUNT(*) FROM access_log WHERE action = 'credit_report_issued'"
            )
            .await
            .unwrap(),
        12,
        "one receipt per report"
    );
    // A consent revoked before its report is kept: refused, nothing kept.
    let who = single(&store, &w.village, 900).await;
    let c = store
        .credit()
        .request_consent(&who, &w.bank, TERMS, T0)
        .await
        .unwrap();
    store
        .credit()
        .revoke_consent(&who, &c.id, T0 + 1)
        .await
        .unwrap();
    let signer = ReportSigner {
        key: &w.key,
        issuer: "yuyao",
        thresholds: &domain::tier::DEFAULT_THRESHOLDS,
        writer: Some(&writer),
    };
    let e = store
        .credit()
        .household_report(&who, &c.id, &signer, T0 + 2)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "consent_revoked");
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_reports")
            .await
            .unwrap(),
        12
    );
}

async fn import(store: &Store, owner: &str, csv: &str) -> moralbank_store::citydata::Import {
    store
        .citydata()
        .import_file(
            &Upload {
                schema: &domain::citydata::kinds::BANK_LOANS,
                owner: ImportOwner::Partner(owner.to_string()),
                by: owner.to_string(),
                file_name: "book.csv".into(),
                bytes: csv.as_bytes(),
            },
            Mode::Commit,
            &Rules::default(),
            T0 + 3 * DAY,
            &AtomicUsize::new(0),
        )
        .await
        .unwrap()
}

async fn the_loan_book_is_all_or_nothing_and_feeds_the_figures(store: Store) {
    let w = world(&store).await;
    let bank = bank_actor(&w.bank);
    let mut refs = Vec::new();
    for (n, reference) in [(600, "YY-1"), (700, "YY-2")] {
        let who = single(&store, &w.village, n).await;
        let c = store
            .credit()
            .request_consent(&who, &w.bank, TERMS, T0)
            .await
            .unwrap();
        let r = store
            .credit()
            .household_report(&who, &c.id, &w.signer(), T0 + 1)
            .await
            .unwrap();
        store
            .credit()
            .bank_read_presented(&bank, &r.id, &c.id, T0 + 2)
            .await
            .unwrap();
        store
            .credit()
            .record_decision(&bank, "staff:clerk", &r.id, &approval(reference), T0 + DAY)
            .await
            .unwrap();
        refs.push(reference);
    }
    let head = "贷款编号,月份,贷款状态,贷款余额（元）\n";
    // One bad row refuses the whole file: nothing is written.
    let bad = format!("{head}YY-1,2026-11,disbursed,200000\nYY-9,2026-11,disbursed,1000\nYY-2,2026-13,disbursed,5\nYY-2,2026-11,repaid,5\n");
    let i = import(&store, &w.bank, &bad).await;
    assert_eq!(i.status, "refused");
    let codes: Vec<&str> = i.problems.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, ["loan_unknown", "month_invalid", "must_be_zero"]);
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_loan_months")
            .await
            .unwrap(),
        0
    );
    // A good book: committed; the figures count households with a balance.
    let good = format!("{head}YY-1,2026-11,disbursed,200000\nYY-2,2026-11,disbursed,150000\nYY-1,2026-12,disbursed,190000\nYY-2,2026-12,repaid,0\n");
    let i = import(&store, &w.bank, &good).await;
    assert_eq!((i.status.as_str(), i.rows.new), ("committed", 4));
    let totals = store.credit().loan_totals().await.unwrap();
    assert_eq!(totals, vec![(202_612, 1, 190_000), (202_611, 2, 350_000)]);
    let towns = store.credit().loan_figures().await.unwrap();
    assert_eq!(towns.iter().map(|f| f.households).sum::<i64>(), 3);
    // A month sent again with a new balance replaces it; the same file again is the same import.
    let again = format!("{head}YY-1,2026-12,disbursed,180000\n");
    let i = import(&store, &w.bank, &again).await;
    assert_eq!((i.status.as_str(), i.rows.new), ("committed", 1));
    assert_eq!(
        store.credit().loan_totals().await.unwrap()[0],
        (202_612, 1, 180_000)
    );
    // The month sent again is the month: YY-2's December row, left out, is gone; November stays.
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM credit_loan_months WHERE month = 202612")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.credit().loan_totals().await.unwrap()[1],
        (202_611, 2, 350_000)
    );
    // Open data's raw figures: the newest month, each household's balance by town (one).
    let open = store.citydata().open_figures().await.unwrap();
    assert_eq!(open.loan_month, Some(202_612));
    let balances: Vec<i64> = open.loan_balances.iter().flatten().copied().collect();
    assert_eq!(balances, vec![180_000]);
    assert_eq!(open.loan_balances.len(), open.towns.len());
    let d = store
        .credit()
        .household_decisions(
            &store
                .credit()
                .report(
                    &store
                        .rows_for_tests("SELECT id FROM credit_reports ORDER BY issued_at")
                        .await
                        .unwrap()[0][0],
                )
                .await
                .unwrap()
                .unwrap()
                .household_id,
        )
        .await
        .unwrap();
    assert_eq!(
        d[0].latest,
        Some((202_612, "disbursed".to_string(), 180_000))
    );
    // A partner that is no bank cannot send a loan book.
    let hospital = store
        .accounts()
        .create_partner("余姚市人民医院", "hospital")
        .await
        .unwrap()
        .id;
    let e = store
        .citydata()
        .import_file(
            &Upload {
                schema: &domain::citydata::kinds::BANK_LOANS,
                owner: ImportOwner::Partner(hospital.clone()),
                by: hospital,
                file_name: "book.csv".into(),
                bytes: good.as_bytes(),
            },
            Mode::Commit,
            &Rules::default(),
            T0,
            &AtomicUsize::new(0),
        )
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "not_a_bank");
    let figures = store.credit().decision_figures().await.unwrap();
    assert_eq!(figures.iter().map(|f| f.approved).sum::<i64>(), 2);
}

moralbank_store::on_both_backends!(
    every_adult_consents_and_the_bank_reads_the_report_once,
    a_revoked_expired_or_misused_consent_is_refused_with_its_reason,
    concurrent_requests_authorisations_and_decisions_hold,
    the_loan_book_is_all_or_nothing_and_feeds_the_figures,
    the_writer_keeps_reports_in_batches_once_each,
    only_the_adults_named_when_asked_authorise_and_a_withdrawal_revokes,
);
