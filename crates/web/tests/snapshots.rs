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

    // The ledger: a partner's award, the resident's entries and points.
    let award = json!({ "kind": "award", "citizen_id": w.citizen.id, "amount": 12, "rule": "standard:volunteer-hour@1", "reason": "社区志愿服务 6 小时", "reference": "shift:9" });
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/ledger/entries")
        .header("authorization", format!("Bearer {}", w.api_key))
        .header("idempotency-key", "snap-1")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(award.to_string()))
        .expect("request");
    let (status, _, text) = w.send(req).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let appended: serde_json::Value = serde_json::from_str(&text).expect("json");
    insta::assert_json_snapshot!("ledger_appended", appended, { ".entry_id" => "[id]", ".at_ms" => "[time]" });
    let (status, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    insta::assert_json_snapshot!("ledger_my_entries", entries, {
        ".items[].id" => "[id]", ".items[].at_ms" => "[time]", ".items[].approvers[]" => "[partner]",
        ".items[].counter_account" => "[town account]",
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
