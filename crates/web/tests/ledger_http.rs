#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The ledger and the public log through the real router: no route posts points (a trusted
//! partner's deed is credited through the rules), a resident's points, entries and receipts,
//! the four-eyes reversal, the public checkpoint, tiles and proofs, and the pages — on SQLite
//! and PostgreSQL.

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

/// An award for the tests that need points to read, bypassing the rules on purpose (the
/// `testing` feature; the web layer cannot: no route posts points). Answers like the removed
/// posting route did, so that the scenarios below read as before.
async fn post(w: &World, key: Option<&str>, body: Value) -> (StatusCode, Value) {
    let citizen = body["citizen_id"].as_str().unwrap().to_string();
    let c = w
        .store
        .registry()
        .citizen_summary(&citizen)
        .await
        .unwrap()
        .unwrap();
    let (_, town) = w
        .store
        .registry()
        .village_and_town(&c.village_id)
        .await
        .unwrap();
    let e = moralbank_store::ledger::NewEntry::award(
        &citizen,
        body["amount"].as_i64().unwrap(),
        &format!("issuance:{}", town.code),
        body["rule"].as_str().unwrap(),
        body["reason"].as_str().unwrap(),
        body["reference"].as_str().unwrap(),
        vec![format!("partner:{}", w.partner_id)],
    );
    let a = w
        .ledger
        .sequencer
        .append_unruled(key.unwrap().to_string(), e)
        .await
        .unwrap();
    (StatusCode::CREATED, serde_json::to_value(a).unwrap())
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

async fn no_route_posts_points_and_a_trusted_partner_awards_through_the_rules(w: World) {
    let c = w.citizen.id.clone();
    let admin = w.staff(Role::Admin).token.clone();
    // The retired scope cannot be given to a key any more.
    let keys = format!("/partners/{}/api-keys", w.partner_id);
    let (s, p) = w
        .api(
            "POST",
            &keys,
            Some(&admin),
            Some(json!({"scopes": ["ledger:post"]})),
        )
        .await;
    assert_eq!(
        (s, first_error(&p)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            ("scopes", "scope_unknown")
        )
    );
    // Every scope a library's key may hold (the banks' own are refused to any other partner).
    let every: Vec<&str> = moralbank_store::API_SCOPES
        .iter()
        .filter(|s| !moralbank_store::BANK_SCOPES.contains(s))
        .copied()
        .collect();
    let (s, k) = w
        .api(
            "POST",
            &keys,
            Some(&admin),
            Some(json!({ "scopes": every })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let secret = k["secret"].as_str().unwrap().to_string();
    // No route writes an award or a redemption, whatever the key may do.
    let raw = json!({ "kind": "award", "citizen_id": c, "amount": 1000, "rule": "standard:brave-deed@1", "reason": "x" });
    for body in [
        raw.clone(),
        json!({ "kind": "redemption", "citizen_id": c, "amount": 5, "rule": "benefit:x", "reason": "x" }),
    ] {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/ledger/entries")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", "raw-1")
            .body(Body::from(body.to_string()))
            .unwrap();
        let (s, _, _) = w.send(req).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    assert_eq!(w.store.ledger().log_head().await.unwrap().size, 0);

    // A partner awards through a deed of a standard that trusts it: on publicity first,
    // credited when it ends, within the standard's points.
    w.store
        .evaluation()
        .trust_partners(
            "volunteer-hour",
            std::slice::from_ref(&w.partner_id),
            "staff:test",
        )
        .await
        .unwrap();
    let day = moralbank_store::day_of(moralbank_store::now_ms());
    let deed = json!({"citizen_id": c, "standard": "volunteer-hour", "deed_date": day, "place": "东山社区", "description": "垃圾分类督导 1 小时"});
    let w = &w;
    let submit = |key: Option<axum::http::HeaderValue>, body: Value| {
        let mut req = Request::builder()
            .method("POST")
            .uri("/api/v1/partner/deeds")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let req = req.body(Body::from(body.to_string())).unwrap();
        async move {
            let (s, _, text) = w.send(req).await;
            (
                s,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let hv = |k: &[u8]| Some(axum::http::HeaderValue::from_bytes(k).unwrap());
    // One reader of the header for every route that takes it: missing, not 1 to 200 printable
    // ASCII characters, or not text at all.
    for (key, code) in [
        (None, "missing"),
        (hv(b"has space"), "invalid_format"),
        (hv(b"k\xff"), "invalid_format"),
    ] {
        let (s, p) = submit(key, deed.clone()).await;
        assert_eq!(
            (s, first_error(&p)),
            (StatusCode::UNPROCESSABLE_ENTITY, ("Idempotency-Key", code))
        );
    }
    let (s, d) = submit(hv(b"vh-1"), deed.clone()).await;
    assert_eq!(
        (s, d["status"].as_str()),
        (StatusCode::CREATED, Some("publicity")),
        "{d}"
    );
    let (_, again) = submit(hv(b"vh-1"), deed.clone()).await;
    assert_eq!(again["id"], d["id"]);
    let mut other = deed.clone();
    other["description"] = json!("垃圾分类督导 2 小时");
    let (s, clash) = submit(hv(b"vh-1"), other).await;
    assert_eq!(
        (s, first_error(&clash)),
        (
            StatusCode::CONFLICT,
            ("Idempotency-Key", "idempotency_conflict")
        )
    );
    // Naming the resident is in their access log, once (the retry wrote nothing).
    let (_, log) = w
        .api("GET", "/me/access-log", Some(&w.citizen.token), None)
        .await;
    let named: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "deed_submitted")
        .collect();
    assert_eq!(named.len(), 1, "{log}");
    assert_eq!(named[0]["actor_kind"], "partner");
    // No points before the publicity ends; then exactly the standard's.
    assert_eq!(w.store.ledger().log_head().await.unwrap().size, 0);
    let later = moralbank_store::now_ms() + 8 * domain::time::DAY_MS;
    let r = w
        .store
        .evaluation()
        .credit_due(&w.ledger.sequencer, later, 100)
        .await
        .unwrap();
    assert_eq!((r.credited, r.failed), (1, 0));
    let (_, pts) = w
        .api("GET", "/me/points", Some(&w.citizen.token), None)
        .await;
    assert_eq!(pts["balance"].as_i64(), Some(2), "{pts}");
    let (_, entries) = w
        .api("GET", "/me/entries", Some(&w.citizen.token), None)
        .await;
    let rule = entries["items"][0]["rule"].as_str().unwrap();
    assert!(rule.starts_with("standard:volunteer-hour@"), "{entries}");
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
    // The resident is told, once, with the decision (principle 4), even though the approval
    // was sent twice; their inbox links to their entries.
    let notices = w
        .store
        .evaluation()
        .inbox("citizen", &w.citizen.id, 50)
        .await
        .unwrap();
    assert_eq!(
        notices
            .iter()
            .filter(|n| n.kind == "points_reversed")
            .count(),
        1,
        "{notices:?}"
    );
    let (_, _, inbox) = w.page("GET", "/me/inbox", Some(&w.citizen), &[]).await;
    assert!(
        inbox.contains("href=\"/me/entries\">您的一笔积分经两名管理员审核后被冲正"),
        "{inbox}"
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
    no_route_posts_points_and_a_trusted_partner_awards_through_the_rules,
    residents_read_points_entries_and_receipts_that_verify,
    the_public_log_serves_a_verifiable_checkpoint_tiles_and_proofs,
    a_reversal_needs_a_second_admin_and_is_shown_beside_the_award,
);
