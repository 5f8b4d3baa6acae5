#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The ledger and the public log through the real router: partner posting with idempotency
//! keys, a resident's points, entries and receipts, the four-eyes reversal, the public
//! checkpoint, tiles and proofs, and the pages — on SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::Engine;
use common::World;
use domain::{Password, Role, Username};
use moralbank_ledger::{tree, verify_checkpoint, verify_receipt, Hash, Receipt};
use moralbank_store::{NewStaff, SubjectKind};
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// POST /api/v1/ledger/entries as the partner, with an idempotency key.
async fn post(w: &World, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/v1/ledger/entries")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.api_key))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let (status, headers, text) = w
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    if !status.is_success() {
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/problem+json",
            "{text}"
        );
    }
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn award(citizen: &str, amount: i64) -> Value {
    json!({ "kind": "award", "citizen_id": citizen, "amount": amount,
            "rule": "standard:blood-donation@1", "reason": "无偿献血 300 毫升", "reference": "donation:77" })
}

fn first_error(v: &Value) -> (&str, &str) {
    (
        v["errors"][0]["field"].as_str().unwrap_or(""),
        v["errors"][0]["code"].as_str().unwrap_or(""),
    )
}

async fn get_text(w: &World, path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    w.send(Request::builder().uri(path).body(Body::empty()).unwrap())
        .await
}

async fn partners_post_once_per_key_and_bad_input_changes_nothing(w: World) {
    let c = w.citizen.id.clone();
    let (s, first) = post(&w, Some("don-77"), award(&c, 20)).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["replayed"], false);
    let (s, again) = post(&w, Some("don-77"), award(&c, 20)).await;
    assert_eq!(
        (s, &again["index"], &again["replayed"]),
        (StatusCode::OK, &first["index"], &json!(true))
    );
    let (s, clash) = post(&w, Some("don-77"), award(&c, 21)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(
        first_error(&clash),
        ("Idempotency-Key", "idempotency_conflict")
    );
    assert!(
        clash["detail"].as_str().unwrap().contains("don-77"),
        "{clash}"
    );

    let (s, p) = post(&w, None, award(&c, 5)).await;
    assert_eq!(
        (s, first_error(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("Idempotency-Key", "missing")
        )
    );
    // One reader of the header for every route that takes it: a key that is not 1 to 200
    // printable ASCII characters, or a header that is not text at all, is malformed.
    let (s, p) = post(&w, Some("has space"), award(&c, 5)).await;
    assert_eq!(
        (s, first_error(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("Idempotency-Key", "invalid_format")
        )
    );
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/ledger/entries")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.api_key))
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            "Idempotency-Key",
            axum::http::HeaderValue::from_bytes(b"k\xff").unwrap(),
        )
        .body(Body::from(award(&c, 5).to_string()))
        .unwrap();
    let (s, _, text) = w.send(req).await;
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (s, first_error(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("Idempotency-Key", "invalid_format")
        )
    );
    let (s, p) = post(&w, Some("k2"), award(&c, 0)).await;
    assert_eq!(
        (s, first_error(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, ("amount", "out_of_range"))
    );
    let (s, p) = post(
        &w,
        Some("k3"),
        json!({ "kind": "reversal", "citizen_id": c, "amount": 1, "rule": "x", "reason": "x" }),
    )
    .await;
    assert_eq!(
        (s, first_error(&p)),
        (StatusCode::UNPROCESSABLE_ENTITY, ("kind", "invalid_format"))
    );
    let (s, _) = post(&w, Some("k4"), award(&domain::new_id(), 5)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, p) = post(&w, Some("k5"), json!({ "kind": "redemption", "citizen_id": c, "amount": 21, "rule": "benefit:bus@1", "reason": "公交乘车券" })).await;
    assert_eq!(
        (s, first_error(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("amount", "insufficient_balance")
        )
    );
    let (s, p) = post(&w, Some("k6"), json!({ "kind": "award", "citizen_id": c, "amount": 1, "rule": "has space", "reason": "x", "extra": 1 })).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    // Nothing of the refused requests was written.
    let (_, pts) = w
        .api("GET", "/me/points", Some(&w.citizen.token), None)
        .await;
    assert_eq!(
        (pts["balance"].as_i64(), pts["credit"].as_i64()),
        (Some(20), Some(20))
    );
    assert_eq!(w.store.ledger().log_head().await.unwrap().size, 1);
    // The partner's posting is in the resident's access log.
    let (_, log) = w
        .api("GET", "/me/access-log", Some(&w.citizen.token), None)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "ledger_award"),
        "{log}"
    );
}

async fn residents_read_points_entries_and_receipts_that_verify(w: World) {
    let c = w.citizen.id.clone();
    for i in 0..5 {
        let (s, _) = post(&w, Some(&format!("r{i}")), award(&c, 10 + i)).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = post(&w, Some("r-other"), award(&w.far_citizen_id, 3)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, pts) = w
        .api("GET", "/me/points", Some(&w.citizen.token), None)
        .await;
    assert_eq!(pts["balance"], 60);
    assert!(pts["household"]["credit"].as_i64().unwrap() >= 60);

    let (s, page1) = w
        .api("GET", "/me/entries?limit=3", Some(&w.citizen.token), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let items = page1["items"].as_array().unwrap();
    assert_eq!(
        items
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [4, 3, 2]
    );
    let cursor = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = w
        .api(
            "GET",
            &format!("/me/entries?limit=3&cursor={cursor}"),
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 2);
    assert!(page2["next_cursor"].is_null());
    let (s, bad) = w
        .api(
            "GET",
            "/me/entries?cursor=abc",
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(
        (s, first_error(&bad)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("cursor", "cursor_format")
        )
    );
    let (s, bad) = w
        .api("GET", "/me/entries?limit=0", Some(&w.citizen.token), None)
        .await;
    assert_eq!(
        (s, first_error(&bad)),
        (StatusCode::UNPROCESSABLE_ENTITY, ("limit", "limit_range"))
    );

    let (s, r) = w
        .api("GET", "/me/entries/2/receipt", Some(&w.citizen.token), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let receipt: Receipt = serde_json::from_value(r).unwrap();
    let v = verify_receipt(&receipt, &w.vkey).unwrap();
    assert_eq!((v.index, v.opened_for.as_deref()), (2, Some(c.as_str())));
    // Someone else's entry is not found, not forbidden: no probing.
    let (s, _) = w
        .api("GET", "/me/entries/5/receipt", Some(&w.citizen.token), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The document's `format` query parameter: the tlog-proof text, and an unknown format named.
    let req = Request::builder()
        .uri("/api/v1/me/entries/2/receipt?format=tlog-proof")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.citizen.token))
        .body(Body::empty())
        .unwrap();
    let (s, headers, text) = w.send(req).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert!(!text.trim_start().starts_with('{'), "{text}");
    let (s, problem) = w
        .api(
            "GET",
            "/me/entries/2/receipt?format=pdf",
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(
        (s, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("format"))
    );

    // The page: entries with their reasons and verify links, and the download.
    let (s, _, html) = w.page("GET", "/me/entries", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("无偿献血 300 毫升") && html.contains("/me/entries/4/receipt"),
        "{html}"
    );
    assert!(html.contains("余姚市图书馆"), "approver named: {html}");
    let (s, headers, body) = w
        .page("GET", "/me/entries/1/receipt", Some(&w.citizen), &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("moralbank-receipt-1.json"));
    verify_receipt(&serde_json::from_str(&body).unwrap(), &w.vkey).unwrap();
    let (s, headers, text) = w
        .page(
            "GET",
            "/me/entries/1/receipt?format=tlog-proof",
            Some(&w.citizen),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .ends_with(".tlog-proof\""));
    let v = verify_receipt(&Receipt::from_tlog_proof(&text).unwrap(), &w.vkey).unwrap();
    assert_eq!(
        (v.index, v.opened_for),
        (1, None),
        "a tlog-proof carries no opening"
    );
    let (s, _, _) = w
        .page(
            "GET",
            "/me/entries/1/receipt?format=pdf",
            Some(&w.citizen),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _, home) = w.page("GET", "/me", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("id=\"my-balance\">60<"), "{home}");
}

async fn the_public_log_serves_a_verifiable_checkpoint_tiles_and_proofs(w: World) {
    let c = w.citizen.id.clone();
    let (_, _, cp0) = get_text(&w, "/log/checkpoint").await;
    let (s, _, vkey) = get_text(&w, "/log/vkey").await;
    assert_eq!((s, vkey.trim()), (StatusCode::OK, w.vkey.as_str()));
    assert_eq!(verify_checkpoint(&cp0, &w.vkey).unwrap().size(), 0);
    for i in 0..300 {
        let (s, _) = post(&w, Some(&format!("t{i}")), award(&c, 1)).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, headers, cp) = get_text(&w, "/log/checkpoint").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let head = verify_checkpoint(&cp, &w.vkey).unwrap();
    assert_eq!(head.size(), 300);

    // Entry bundles and tiles are immutable and rebuild the same root.
    let (s, headers, _) = get_text(&w, "/log/tile/entries/000").await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    let bundle = w
        .send(
            Request::builder()
                .uri("/log/tile/entries/001.p/44")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bundle.0, StatusCode::OK);
    let (s, _, _) = get_text(&w, "/log/tile/0/001").await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a full second tile does not exist at 300 entries"
    );
    for bad in ["/log/tile/0/1", "/log/tile/../etc", "/log/tile/0/000.p/999"] {
        let (s, _, _) = get_text(&w, bad).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
    }

    // Inclusion of entry 123, checked against the signed root.
    let leaf = w.store.ledger().receipt(123, None).await.unwrap().unwrap();
    let data = B64.decode(&leaf.entry).unwrap();
    let (s, p) = w.api_root("/log/proof/inclusion?index=123").await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["checkpoint"].as_str(), Some(cp.as_str()));
    let proof: Vec<Hash> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash(B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()))
        .collect();
    tree::check_inclusion(&proof, 300, *head.hash(), 123, &data).unwrap();
    // Consistency with the empty tree's successor: a checkpoint at 100 entries.
    let (s, p) = w.api_root("/log/proof/consistency?old=100&new=300").await;
    assert_eq!(s, StatusCode::OK);
    let proof: Vec<Hash> = p["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash(B64.decode(h.as_str().unwrap()).unwrap().try_into().unwrap()))
        .collect();
    let old_root = w
        .store
        .ledger()
        .log_proof(moralbank_ledger::Plan::Root { size: 100 })
        .await
        .unwrap()[0];
    tree::check_consistency(&proof, 300, *head.hash(), 100, old_root).unwrap();
    for (q, field) in [
        ("/log/proof/inclusion?index=300", "index"),
        ("/log/proof/inclusion?index=1&size=301", "size"),
        ("/log/proof/consistency?old=301", "old"),
        ("/log/proof/inclusion?index=x", "index"),
    ] {
        let (s, p) = w.api_root(q).await;
        assert_eq!(
            (s, first_error(&p).0),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{q}: {p}"
        );
    }
    let (s, _, page) = w.page("GET", "/log", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let unescaped = page.replace("&#x2f;", "/").replace("&#x3d;", "=");
    assert!(
        page.contains("id=\"log-size\">300<") && unescaped.contains(&w.vkey),
        "{page}"
    );
}

async fn a_reversal_needs_a_second_admin_and_is_shown_beside_the_award(w: World) {
    let c = w.citizen.id.clone();
    let (_, a) = post(&w, Some("wrong-1"), award(&c, 30)).await;
    let index = a["index"].as_u64().unwrap();
    let admin = w.staff(Role::Admin).token.clone();
    let (s, req) = w
        .api(
            "POST",
            "/ledger/reversals",
            Some(&admin),
            Some(json!({ "entry_index": index, "reason": "误录：不是本人" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{req}");
    let id = req["id"].as_str().unwrap().to_string();
    let (s, again) = w
        .api(
            "POST",
            "/ledger/reversals",
            Some(&admin),
            Some(json!({ "entry_index": index, "reason": "再次" })),
        )
        .await;
    assert_eq!(
        (s, first_error(&again).1),
        (StatusCode::CONFLICT, "reversal_pending")
    );
    let (s, p) = w
        .api(
            "POST",
            "/ledger/reversals",
            Some(&admin),
            Some(json!({ "entry_index": index, "reason": " " })),
        )
        .await;
    assert_eq!(
        (s, first_error(&p).0),
        (StatusCode::UNPROCESSABLE_ENTITY, "reason")
    );
    // The one who asked cannot approve.
    let (s, p) = w
        .api(
            "POST",
            &format!("/ledger/reversals/{id}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        (s, first_error(&p)),
        (
            StatusCode::CONFLICT,
            ("approver", "second_approver_required")
        )
    );
    // A second admin approves; approving again changes nothing.
    let second = w
        .store
        .accounts()
        .create_staff(&NewStaff {
            username: Username::parse("admin-two").unwrap(),
            display_name: "第二管理员".into(),
            password: Password::parse(common::PASSWORD).unwrap(),
            role: Role::Admin,
            region_id: None,
            partner_id: None,
        })
        .await
        .unwrap();
    let (token2, _) = w
        .store
        .accounts()
        .create_session(SubjectKind::Staff, &second.id, 60_000)
        .await
        .unwrap();
    let (s, done) = w
        .api(
            "POST",
            &format!("/ledger/reversals/{id}/approve"),
            Some(&token2),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["decision"], "approved");
    let rev = done["reversal_index"].as_u64().unwrap();
    let (s, p) = w
        .api(
            "POST",
            &format!("/ledger/reversals/{id}/approve"),
            Some(&token2),
            None,
        )
        .await;
    assert_eq!(
        (s, first_error(&p).1),
        (StatusCode::CONFLICT, "already_decided")
    );
    let (_, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    let items = entries["items"].as_array().unwrap();
    assert_eq!(items[0]["index"].as_u64(), Some(rev));
    assert_eq!(items[0]["kind"], "reversal");
    assert_eq!(items[0]["amount"], -30);
    assert_eq!(items[1]["reversed_by"].as_u64(), Some(rev));
    let approvers = items[0]["approvers"].as_array().unwrap();
    assert_eq!(approvers.len(), 2);
    let (_, pts) = w
        .api("GET", "/me/points", Some(&w.citizen.token), None)
        .await;
    assert_eq!(
        (pts["balance"].as_i64(), pts["credit"].as_i64()),
        (Some(0), Some(0))
    );
    // The admin's views: totals, the citizen's entries (logged), the console page.
    let (s, t) = w.api("GET", "/ledger/totals", Some(&admin), None).await;
    assert_eq!(
        (s, t["totals"]["reversals"].as_u64()),
        (StatusCode::OK, Some(1))
    );
    let (s, list) = w
        .api("GET", &format!("/citizens/{c}/entries"), Some(&admin), None)
        .await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
    let (_, log) = w
        .api("GET", "/me/access-log", Some(&w.citizen.token), None)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "ledger"),
        "{log}"
    );
    let (s, _, html) = w
        .page("GET", "/console/ledger", Some(w.staff(Role::Admin)), &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("误录：不是本人"), "{html}");
    let (s, _, html) = w
        .page(
            "GET",
            &format!("/console/citizens/{c}"),
            Some(w.staff(Role::Admin)),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("citizen-entries"), "{html}");
    // The console form names a bad field.
    let (s, _, html) = w
        .page(
            "POST",
            "/console/ledger",
            Some(w.staff(Role::Admin)),
            &[("entry_index", "abc"), ("reason", "x")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("entry_index-error"), "{html}");
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    partners_post_once_per_key_and_bad_input_changes_nothing,
    residents_read_points_entries_and_receipts_that_verify,
    the_public_log_serves_a_verifiable_checkpoint_tiles_and_proofs,
    a_reversal_needs_a_second_admin_and_is_shown_beside_the_award,
);
