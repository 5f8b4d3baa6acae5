#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The moral code over HTTP: the published key set, the resident's code (verified offline with
//! that key set alone), tiers from credit points, rotating pseudonyms, the printed card.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::World;
use moralbank_code::{verify, KeySet, DEFAULT_CLOCK_SKEW_S};
use moralbank_store::ledger::NewEntry;

fn code_of(html: &str) -> String {
    html.split("data-code=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a code on the page")
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn keys(w: &World) -> KeySet {
    let (s, h, body) = w
        .send(
            Request::builder()
                .uri("/.well-known/moral-code/keys")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/jwk-set+json");
    KeySet::from_jwks(&body).unwrap()
}

fn now_s(w: &World) -> i64 {
    use moralbank_web::clock::Clock;
    w.clock.now_ms() / 1000
}

async fn a_residents_code_verifies_offline_and_shows_only_tier_badges_and_masked_name(w: World) {
    let keys = keys(&w).await;
    let (s, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<svg"), "the QR is on the page");
    let first = code_of(&html);
    assert!(first.starts_with("MB1:"));
    let c = verify(&first, &keys, now_s(&w), DEFAULT_CLOCK_SKEW_S).unwrap();
    assert_eq!(
        (c.holder.tier, c.printed_card),
        (1, false),
        "no points: the base tier"
    );
    assert_eq!(c.expires_at - c.issued_at, 90);
    let summary = w
        .store
        .registry()
        .citizen_summary(&w.citizen.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.holder.masked_name.as_str(), summary.name_masked);
    for secret in [w.citizen.id.as_str(), w.citizen_phone.as_str()] {
        assert!(!first.contains(secret));
    }
    // Points raise the tier; every code has its own pseudonym and id.
    let e = NewEntry::award(
        &w.citizen.id,
        40,
        "issuance:1",
        "standard:x@1",
        "献血",
        "",
        vec!["staff:t".into()],
    );
    w.ledger
        .sequencer
        .append_unruled("code/1".into(), e)
        .await
        .unwrap();
    let (s, _, json) = w.page("GET", "/me/code.json", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let second = verify(
        v["code"].as_str().unwrap(),
        &keys,
        now_s(&w),
        DEFAULT_CLOCK_SKEW_S,
    )
    .unwrap();
    assert_eq!(second.holder.tier, 2);
    assert_ne!(
        second.holder.pseudonym, c.holder.pseudonym,
        "two scans cannot be linked"
    );
    assert_ne!(second.code_id, c.code_id);
    // Codes expire; the clock moves on and the old one is refused.
    w.clock.advance(200_000);
    let err = verify(&first, &keys, now_s(&w), DEFAULT_CLOCK_SKEW_S).unwrap_err();
    assert_eq!(err.code(), "expired");
    // The printed card: long-lived and flagged.
    let (s, _, card) = w.page("GET", "/me/code/card", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::OK);
    let p = verify(&code_of(&card), &keys, now_s(&w), DEFAULT_CLOCK_SKEW_S).unwrap();
    assert!(p.printed_card);
    assert_eq!(p.expires_at - p.issued_at, 365 * 86_400);
    // Signed out: to the sign-in page.
    let (s, h, _) = w.page("GET", "/me/code", None, &[]).await;
    assert_eq!(
        (s, h[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login?next=%2Fme%2Fcode")
    );
}

async fn a_green_card_is_a_badge_on_the_code_until_revoked(w: World) {
    let keys = keys(&w).await;
    let admin = w.staff(domain::Role::Admin).token.clone();
    let body = serde_json::json!({ "citizen_id": w.citizen.id, "honour": "brave-deed", "citation": "跳入姚江救起落水儿童", "valid_until": "2099-12-31" });
    let (s, card) = w
        .api("POST", "/green-cards", Some(&admin), Some(body))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert!(card["card_no"].as_str().unwrap().starts_with("GC"));
    let (s, p) = w.api("POST", "/green-cards", Some(&admin), Some(serde_json::json!({ "citizen_id": w.citizen.id, "honour": "x", "citation": "", "valid_until": "2000-13-01" }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    let (_, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    let c = verify(&code_of(&html), &keys, now_s(&w), DEFAULT_CLOCK_SKEW_S).unwrap();
    assert_eq!(
        c.holder
            .badges
            .iter()
            .map(|b| b.as_str())
            .collect::<Vec<_>>(),
        ["green-card"]
    );
    assert!(html.contains("badge-green-card"));
    let (s, list) = w
        .api(
            "GET",
            "/green-cards",
            Some(&w.staff(domain::Role::Auditor).token),
            None,
        )
        .await;
    assert_eq!(
        (s, list["stats"]["active"].as_i64()),
        (StatusCode::OK, Some(1))
    );
    let id = card["id"].as_str().unwrap();
    let (s, _) = w
        .api(
            "POST",
            &format!("/green-cards/{id}/revoke"),
            Some(&admin),
            Some(serde_json::json!({ "reason": "荣誉被撤销" })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, p) = w
        .api(
            "POST",
            &format!("/green-cards/{id}/revoke"),
            Some(&admin),
            Some(serde_json::json!({ "reason": "again" })),
        )
        .await;
    assert_eq!(
        (s, p["errors"][0]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_revoked"))
    );
    let (_, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    let c = verify(&code_of(&html), &keys, now_s(&w), DEFAULT_CLOCK_SKEW_S).unwrap();
    assert!(c.holder.badges.is_empty());
    let (s, _, page) = w
        .page(
            "GET",
            "/console/green-cards",
            Some(w.staff(domain::Role::Admin)),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("荣誉被撤销"), "{page}");
    // The holder was told of both, once each, and their code page shows the card: its number,
    // its last valid day (not the first moment after it) and why it was revoked.
    let mut kinds: Vec<String> = w
        .store
        .evaluation()
        .inbox("citizen", &w.citizen.id, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .filter(|k| k.starts_with("green_card_"))
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["green_card_issued", "green_card_revoked"]);
    let (_, _, mine) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    assert!(mine.contains(card["card_no"].as_str().unwrap()), "{mine}");
    assert!(
        mine.contains("2099-12-31") && !mine.contains("2100-01-01"),
        "{mine}"
    );
    assert!(mine.contains("荣誉被撤销"), "{mine}");
}

async fn the_code_page_lists_what_the_tier_opens_and_the_catalogue_is_public(w: World) {
    w.store.code().ensure_default_scenes().await.unwrap();
    let admin = w.staff(domain::Role::Admin).token.clone();
    let mk = |name: &str, tier: i64, kind: &str| {
        serde_json::json!({
            "scene": "reading", "partner_id": w.partner_id, "name_zh": name, "name_en": name,
            "description_zh": "说明", "description_en": "about", "min_tier": tier, "kind": kind,
        })
    };
    let (s, b) = w
        .api(
            "POST",
            "/benefits",
            Some(&admin),
            Some(mk("免押金借书", 1, "eligibility")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _) = w
        .api(
            "POST",
            "/benefits",
            Some(&admin),
            Some(mk("优先预约", 3, "eligibility")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, p) = w
        .api("POST", "/benefits", Some(&admin), Some(mk("x", 1, "quota")))
        .await;
    assert_eq!(
        (s, p["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("quota"))
    );
    let (_, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    let open = html
        .split("id=\"open-benefits\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(
        open.contains("免押金借书") && !open.contains("优先预约"),
        "{open}"
    );
    let (s, _, page) = w.page("GET", "/benefits", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("优先预约") && page.contains("道德阅"),
        "{page}"
    );
    let (s, list) = w.api("GET", "/benefits", None, None).await;
    assert_eq!(
        (s, list["items"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
}

async fn a_partner_redeems_with_a_scanned_code_and_the_resident_sees_it(w: World) {
    w.store.code().ensure_default_scenes().await.unwrap();
    let benefit = w
        .store
        .code()
        .create_benefit(&moralbank_store::code::benefits::NewBenefit {
            scene: "tourism".into(),
            partner_id: w.partner_id.clone(),
            name_zh: "景区门票".into(),
            name_en: "Ticket".into(),
            description_zh: "每年两次".into(),
            description_en: "twice a year".into(),
            min_tier: 1,
            kind: "quota".into(),
            quota: Some(2),
            quota_period: Some("year".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["benefits:redeem".into()], "gate")
        .await
        .unwrap();
    let redeem = |code: String, key: &str| {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/redemptions")
            .header("authorization", format!("Bearer {secret}"))
            .header("idempotency-key", key)
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::json!({ "code": code, "benefit_id": benefit.id }).to_string(),
            ))
            .unwrap();
        w.send(req)
    };
    let (_, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    let code = code_of(&html);
    let (s, _, body) = redeem(code.clone(), "scan-1").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let d: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (d["granted"].as_bool(), d["reason"].as_str()),
        (Some(true), Some("granted"))
    );
    let (_, _, again) = redeem(code.clone(), "scan-1").await;
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(
        (again["id"].clone(), again["replayed"].as_bool()),
        (d["id"].clone(), Some(true))
    );
    let (_, _, used) = redeem(code.clone(), "scan-2").await;
    assert!(used.contains("code_used"), "{used}");
    // A code that does not verify is refused before any rule, naming why.
    let mut bad = code.clone();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'B' } else { 'A' });
    let (s, _, body) = redeem(bad, "scan-3").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("\"field\":\"code\""), "{body}");
    w.clock.advance(200_000);
    let (s, _, body) = redeem(code, "scan-4").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("\"code\":\"expired\""), "{body}");
    // The resident sees the redemption and who scanned.
    let (_, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    assert!(html.contains("景区门票"), "{html}");
    let (_, log) = w
        .api("GET", "/me/access-log", Some(&w.citizen.token), None)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "redemption"),
        "{log}"
    );
}

/// A JSON POST from a page (session cookie, CSRF header unless `csrf` is None).
async fn page_json(
    w: &World,
    path: &str,
    who: &common::Account,
    csrf: Option<&str>,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::COOKIE, format!("mb_session={}", who.token))
        .header("content-type", "application/json");
    if let Some(c) = csrf {
        req = req.header("x-csrf-token", c);
    }
    let (s, _, text) = w
        .send(req.body(Body::from(body.to_string())).unwrap())
        .await;
    (
        s,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

async fn a_partner_operator_scans_and_redeems_on_the_scanner_page(w: World) {
    use domain::Role;
    w.store.code().ensure_default_scenes().await.unwrap();
    let mine = w
        .store
        .code()
        .create_benefit(&moralbank_store::code::benefits::NewBenefit {
            scene: "reading".into(),
            partner_id: w.partner_id.clone(),
            name_zh: "免押金借书证".into(),
            name_en: "Deposit-free library card".into(),
            description_zh: "凭码办理".into(),
            description_en: "with the code".into(),
            min_tier: 1,
            kind: "eligibility".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let other_partner = w
        .store
        .accounts()
        .create_partner("四明山景区", "scenic")
        .await
        .unwrap();
    let theirs = w
        .store
        .code()
        .create_benefit(&moralbank_store::code::benefits::NewBenefit {
            scene: "tourism".into(),
            partner_id: other_partner.id.clone(),
            name_zh: "景区门票".into(),
            name_en: "Ticket".into(),
            description_zh: "每年两次".into(),
            description_en: "twice a year".into(),
            min_tier: 1,
            kind: "eligibility".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let op = w.staff(Role::PartnerOperator);
    // The page: this partner's benefits only, the key set to verify with, the scripts.
    let (s, h, html) = w.page("GET", "/scan", Some(op), &[]).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    // The operator's page (with their CSRF token) is personal: no cache keeps it (the scanner's
    // service worker keeps its own copy for offline use).
    assert_eq!(h[header::CACHE_CONTROL], "no-store");
    assert!(
        html.contains("免押金借书证") && !html.contains("景区门票"),
        "{html}"
    );
    let jwks = html
        .split("<script type=\"application/json\" id=\"jwks\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .unwrap();
    assert_eq!(KeySet::from_jwks(jwks).unwrap(), keys(&w).await);
    for (path, needle) in [
        ("/scan/verify.js", "export async function verifyCode"),
        ("/scan/scan.js", "importKeySet"),
        ("/scan/jsqr.js", "jsQR"),
        ("/scan/sw.js", "caches"),
    ] {
        let (s, h, body) = w.page("GET", path, Some(op), &[]).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        assert!(body.contains(needle), "{path}");
    }
    // Nobody else has a scanner: residents, other staff, nobody signed in.
    let (s, _, _) = w.page("GET", "/scan", Some(&w.citizen), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for role in [
        Role::Admin,
        Role::Evaluator,
        Role::Auditor,
        Role::TownReviewer,
    ] {
        let (s, _, _) = w.page("GET", "/scan", Some(w.staff(role)), &[]).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{role:?}");
    }
    let (_, _, html) = w.page("GET", "/me/code", Some(&w.citizen), &[]).await;
    let code = code_of(&html);
    let redeem = |benefit: &str, key: &str| serde_json::json!({ "code": code, "benefit_id": benefit, "idempotency_key": key });
    // Without the CSRF header nothing happens.
    let (s, _) = page_json(&w, "/scan/redeem", op, None, redeem(&mine.id, "k1")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, d) = page_json(
        &w,
        "/scan/redeem",
        op,
        Some(&op.csrf),
        redeem(&mine.id, "k1"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(
        (d["granted"].as_bool(), d["replayed"].as_bool()),
        (Some(true), Some(false))
    );
    let (_, again) = page_json(
        &w,
        "/scan/redeem",
        op,
        Some(&op.csrf),
        redeem(&mine.id, "k1"),
    )
    .await;
    assert_eq!(
        (again["id"].clone(), again["replayed"].as_bool()),
        (d["id"].clone(), Some(true))
    );
    // Another partner's benefit is not this operator's to redeem.
    let (s, body) = page_json(
        &w,
        "/scan/redeem",
        op,
        Some(&op.csrf),
        redeem(&theirs.id, "k2"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    // Unknown fields and forged codes are refused, naming why.
    let (s, _) = page_json(&w, "/scan/redeem", op, Some(&op.csrf), serde_json::json!({"code": code, "benefit_id": mine.id, "idempotency_key": "k3", "points": 5})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let forged = format!("{}A", &code[..code.len() - 1]);
    let forged = if forged == code {
        format!("{}B", &code[..code.len() - 1])
    } else {
        forged
    };
    let (s, body) = page_json(
        &w,
        "/scan/seen",
        op,
        Some(&op.csrf),
        serde_json::json!({"code": forged, "scanned_at": now_s(&w) * 1000}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "code", "{body}");
    // A scan reported after the code expired still counts if it was valid when scanned.
    let scanned_at = now_s(&w) * 1000;
    w.clock.advance(300_000);
    let (s, body) = page_json(
        &w,
        "/scan/seen",
        op,
        Some(&op.csrf),
        serde_json::json!({"code": code, "scanned_at": scanned_at}),
    )
    .await;
    assert_eq!(
        (s, body["recorded"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    let (s, body) = page_json(
        &w,
        "/scan/seen",
        op,
        Some(&op.csrf),
        serde_json::json!({"code": code, "scanned_at": scanned_at - 2 * 86_400_000}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "scanned_at", "{body}");
    let log = w
        .store
        .registry()
        .access_log(&w.citizen.id, None, 10)
        .await
        .unwrap();
    let actions: Vec<_> = log.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"scan") && actions.contains(&"redemption"),
        "{actions:?}"
    );
    // A resident cannot report scans.
    let (s, _) = page_json(
        &w,
        "/scan/seen",
        &w.citizen,
        Some(&w.citizen.csrf),
        serde_json::json!({"code": code, "scanned_at": scanned_at}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    a_residents_code_verifies_offline_and_shows_only_tier_badges_and_masked_name,
    a_green_card_is_a_badge_on_the_code_until_revoked,
    the_code_page_lists_what_the_tier_opens_and_the_catalogue_is_public,
    a_partner_redeems_with_a_scanned_code_and_the_resident_sees_it,
    a_partner_operator_scans_and_redeems_on_the_scanner_page,
);
