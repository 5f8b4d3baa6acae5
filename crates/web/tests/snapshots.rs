#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Snapshots of what clients parse: the served OpenAPI document and the JSON payloads of the
//! main endpoints, with generated ids and times redacted. A change to any of them shows up in
//! review as a diff of the `.snap` file. Both backends compare against the same snapshots, so
//! they must also answer alike.

mod common;

use axum::http::StatusCode;
use common::{fresh_identity, World};
use serde_json::json;

async fn api_payloads_match_their_snapshots(w: World) {
    let (status, doc) = w.api("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("openapi_document", doc);

    let (phone, rid) = fresh_identity(5);
    let body = json!({ "name": "陈静", "resident_id": rid, "phone": phone, "village_id": w.city.first_village_id, "consent_version": domain::ENROLMENT_CONSENT_VERSION });
    let (status, sent) = w.api("POST", "/enrolments", None, Some(body.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    insta::assert_json_snapshot!("enrolment_code_sent", sent);
    let mut with_code = body.clone();
    with_code["code"] = json!(w.inbox.last_for(&phone).expect("a code"));
    let (status, enrolled) = w.api("POST", "/enrolments", None, Some(with_code)).await;
    assert_eq!(status, StatusCode::CREATED);
    insta::assert_json_snapshot!("enrolment_created", enrolled, {
        ".citizen_id" => "[id]", ".household_id" => "[id]", ".enrolled_at" => "[time]",
        ".token" => "[token]", ".expires_at" => "[time]",
    });

    let bad = json!({ "name": "", "resident_id": "330281199001011234", "phone": "12345", "village_id": "nowhere", "consent_version": "" });
    let (status, problem) = w.api("POST", "/enrolments", None, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    insta::assert_json_snapshot!("enrolment_problem", problem);

    let (status, me) = w.api("GET", "/me", Some(&w.citizen.token), None).await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("me", me, {
        ".id" => "[id]", ".name" => "[name]", ".village_id" => "[id]", ".household_id" => "[id]",
        ".enrolled_at" => "[time]", ".household_members[].citizen_id" => "[id]",
        ".household_members[].name_masked" => "[masked name]", ".consents[].granted_at" => "[time]",
        ".identity.confirmed_at" => "[time]",
    });

    // The ledger: a trusted partner's deed, credited after its publicity; the resident's
    // entries and points.
    w.store
        .evaluation()
        .trust_partners(
            "volunteer-hour",
            std::slice::from_ref(&w.partner_id),
            "staff:test",
        )
        .await
        .expect("trust");
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["deeds:submit".into()], "snap")
        .await
        .expect("key");
    let day = moralbank_store::day_of(moralbank_store::now_ms());
    let deed = json!({ "citizen_id": w.citizen.id, "standard": "volunteer-hour", "deed_date": day, "place": "东山社区", "description": "社区志愿服务 1 小时" });
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/partner/deeds")
        .header("authorization", format!("Bearer {secret}"))
        .header("idempotency-key", "snap-1")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(deed.to_string()))
        .expect("request");
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let later = moralbank_store::now_ms() + 8 * domain::time::DAY_MS;
    let credited = w
        .store
        .evaluation()
        .credit_due(&w.ledger.sequencer, later, 10)
        .await
        .expect("credit");
    assert_eq!(credited.credited, 1);
    let (status, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("ledger_my_entries", entries, {
        ".items[].id" => "[id]", ".items[].at_ms" => "[time]", ".items[].approvers[]" => "[partner]",
        ".items[].counter_account" => "[town account]", ".items[].reference" => "[deed]",
    });
    let (status, points) = w
        .api("GET", "/me/points", Some(&w.citizen.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("ledger_my_points", points);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_payloads_on_sqlite() {
    api_payloads_match_their_snapshots(World::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_payloads_on_postgres() {
    if let Some(w) = World::postgres().await {
        api_payloads_match_their_snapshots(w).await;
    }
}
