#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The HTTP surface through the real router: enrolment, sign-in, the resident's record and
//! access log, staff search, problem details, limits, health and the OpenAPI document.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{fresh_identity, World};
use domain::Role;
use serde_json::json;

fn enrolment(w: &World, n: u64) -> serde_json::Value {
    let (phone, rid) = fresh_identity(n);
    json!({ "name": "李小红", "resident_id": rid, "phone": phone, "village_id": w.city.first_village_id, "consent_version": domain::ENROLMENT_CONSENT_VERSION })
}

async fn resident_enrols_signs_in_and_sees_who_read_their_data(w: World) {
    let body = enrolment(&w, 1);
    let (status, enrolled) = w.enrol_api(&body).await;
    assert_eq!(status, StatusCode::CREATED, "{enrolled}");
    // Enrolment signs the new resident in: its code proved the phone.
    let token = enrolled["token"].as_str().expect("token").to_string();

    // Signing in later: a code, a wrong one refused, the right one a session.
    let phone = w.citizen_phone.clone();
    let (status, _) = w
        .api("POST", "/auth/otp", None, Some(json!({ "phone": phone })))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let code = w.inbox.last_for(&phone).expect("a code was sent");
    let (status, wrong) = w.api("POST", "/auth/otp/verify", None, Some(json!({ "phone": phone, "code": if code == "000000" { "111111" } else { "000000" } }))).await;
    assert_eq!(
        (status, wrong["errors"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("otp_wrong"))
    );
    let (status, session) = w
        .api(
            "POST",
            "/auth/otp/verify",
            None,
            Some(json!({ "phone": phone, "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let (_, me) = w
        .api(
            "GET",
            "/me",
            Some(session["token"].as_str().expect("token")),
            None,
        )
        .await;
    assert_eq!(me["id"], w.citizen.id.as_str());

    let (_, me) = w.api("GET", "/me", Some(&token), None).await;
    assert_eq!(me["name"], "李小红");
    assert_eq!(me["identity"]["confirmed"], false, "{me}");
    assert_eq!(
        me["consents"][0]["version"],
        domain::ENROLMENT_CONSENT_VERSION
    );
    let (_, log) = w.api("GET", "/me/access-log", Some(&token), None).await;
    assert_eq!(log["items"].as_array().map(Vec::len), Some(0));

    // The admin finds the resident by ID number; that read lands in the resident's log.
    let admin = w.staff(Role::Admin);
    let rid = body["resident_id"].as_str().expect("rid");
    let (status, found) = w
        .api(
            "POST",
            "/citizens/search",
            Some(&admin.token),
            Some(json!({ "resident_id": rid })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["items"][0]["id"], enrolled["citizen_id"]);
    assert_eq!(found["items"][0]["name_masked"], "李*红");
    let (_, log) = w.api("GET", "/me/access-log", Some(&token), None).await;
    assert_eq!(log["items"][0]["action"], "search");
    assert_eq!(log["items"][0]["actor_label"], "admin 测试 (admin)");

    let (_, export) = w.api("GET", "/me/export", Some(&token), None).await;
    assert_eq!(export["citizen"]["resident_id"], rid);
    let (status, _) = w
        .api(
            "POST",
            "/me/withdraw",
            Some(&token),
            Some(json!({ "confirm": false })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = w
        .api(
            "POST",
            "/me/withdraw",
            Some(&token),
            Some(json!({ "confirm": true })),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = w.api("GET", "/me", Some(&token), None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session ends with the withdrawal"
    );
}

async fn each_bad_enrolment_gets_its_own_problem_and_changes_nothing(w: World) {
    let (status, _) = w.enrol_api(&enrolment(&w, 1)).await;
    assert_eq!(status, StatusCode::CREATED);
    let before = w.store.registry().count_citizens().await.expect("count");
    let sent = w.inbox.0.lock().expect("inbox").len();
    let with = |patch: serde_json::Value| {
        let mut b = enrolment(&w, 2);
        for (k, v) in patch.as_object().expect("object") {
            b[k] = v.clone();
        }
        b
    };
    // (An enrolled phone or ID number is no error here: see enrolment_http.rs.)
    let cases = [
        (
            with(json!({ "village_id": domain::new_id() })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "village_id",
            "unknown_village",
        ),
        (
            with(json!({ "village_id": w.city.first_town_id })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "village_id",
            "unknown_village",
        ),
        (
            with(json!({ "resident_id": "330281199001011234" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "resident_id",
            "resident_id_checksum",
        ),
        (
            with(json!({ "phone": "12345" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "phone",
            "phone_format",
        ),
        (
            with(json!({ "household_invite": "" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "household_invite",
            "household_confirmation_missing",
        ),
        (
            with(json!({ "household_invite": "ABCDEFGHJK" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "household_invite",
            "household_invite_unknown",
        ),
        (
            with(json!({ "consent_version": "enrolment-2020-01" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_version",
            "consent_outdated",
        ),
        (
            with(json!({ "name": 42 })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
            "json_field",
        ),
        (
            with(json!({ "code": "12345" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "code",
            "otp_format",
        ),
        (
            with(json!({ "code": "123456" })),
            StatusCode::UNPROCESSABLE_ENTITY,
            "code",
            "otp_expired",
        ),
    ];
    for (body, status, field, code) in cases {
        let (got, problem) = w.api("POST", "/enrolments", None, Some(body)).await;
        assert_eq!(got, status, "{problem}");
        assert_eq!(
            problem["type"],
            if status == StatusCode::CONFLICT {
                "/problems/conflict"
            } else {
                "/problems/validation"
            }
        );
        assert_eq!(
            (
                problem["errors"][0]["field"].as_str(),
                problem["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{problem}"
        );
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let (got, problem) = w
        .api("POST", "/enrolments", None, Some(json!({ "name": "x" })))
        .await;
    assert_eq!(
        (got, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("resident_id")),
        "{problem}"
    );
    let big = json!({ "name": "x".repeat(200_000) });
    let (got, problem) = w.api("POST", "/enrolments", None, Some(big)).await;
    assert_eq!(
        (got, problem["type"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("/problems/too-large"))
    );
    // Announced too large: refused before any handler runs, still as a problem.
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/enrolments")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "200000")
        .body(Body::from(vec![b' '; 200_000]))
        .expect("request");
    let (got, headers, text) = w.send(req).await;
    assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{text}"
    );
    assert_eq!(
        w.store.registry().count_citizens().await.expect("count"),
        before
    );
    assert_eq!(
        w.inbox.0.lock().expect("inbox").len(),
        sent,
        "a refused enrolment sends no code"
    );
}

async fn staff_sign_in_with_password_and_search_only_inside_their_scope(w: World) {
    let (status, session) = w
        .api(
            "POST",
            "/auth/staff",
            None,
            Some(json!({ "username": "evaluator", "password": common::PASSWORD })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let token = session["token"].as_str().expect("token");
    let (status, _) = w
        .api(
            "POST",
            "/auth/staff",
            None,
            Some(json!({ "username": "evaluator", "password": "wrong password!" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Inside the village: visible, masked.
    let (status, c) = w
        .api(
            "GET",
            &format!("/citizens/{}", w.citizen.id),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(c["name"].is_null(), "evaluators see masked names only");
    // Outside: indistinguishable from absent.
    let (status, _) = w
        .api(
            "GET",
            &format!("/citizens/{}", w.far_citizen_id),
            Some(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let admin = w.staff(Role::Admin);
    let (_, c) = w
        .api(
            "GET",
            &format!("/citizens/{}", w.far_citizen_id),
            Some(&admin.token),
            None,
        )
        .await;
    assert!(
        c["name"].as_str().is_some_and(|n| !n.contains('*')),
        "the admin sees the full name: {c}"
    );
}

async fn partner_api_keys_authenticate_and_carry_scopes(w: World) {
    let (status, me) = w.api("GET", "/partner", Some(&w.api_key), None).await;
    assert_eq!(
        (status, me["partner"]["id"].as_str()),
        (StatusCode::OK, Some(w.partner_id.as_str()))
    );
    let (status, regions) = w.api("GET", "/regions", Some(&w.api_key), None).await;
    assert_eq!(
        (status, regions["items"][0]["level"].as_str()),
        (StatusCode::OK, Some("city"))
    );
    let (status, _) = w
        .api("GET", "/partner", Some("mbk_000000000000_nope"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let admin = w.staff(Role::Admin);
    let (status, created) = w
        .api(
            "POST",
            &format!("/partners/{}/api-keys", w.partner_id),
            Some(&admin.token),
            Some(json!({ "scopes": ["regions:read"] })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let narrow = created["secret"].as_str().expect("secret");
    let (status, _) = w.api("GET", "/partner", Some(narrow), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a key without partner:read");
}

async fn pages_refuse_forms_without_the_csrf_token(w: World) {
    let admin = w.staff(Role::Admin);
    let (status, _, _) = w
        .page(
            "POST",
            "/console/partners",
            Some(admin),
            &[("csrf", "forged"), ("name", "x"), ("kind", "other")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = w
        .page(
            "POST",
            "/console/partners",
            Some(admin),
            &[("name", "新合作单位"), ("kind", "other")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(w
        .store
        .accounts()
        .list_partners()
        .await
        .expect("list")
        .iter()
        .any(|p| p.name == "新合作单位"));
}

async fn enrolment_page_shows_each_error_next_to_its_field(w: World) {
    let (status, headers, html) = w.page("GET", "/enrol", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("csrf cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let csrf = cookie
        .split(';')
        .next()
        .and_then(|c| c.strip_prefix("mb_csrf="))
        .expect("value")
        .to_string();
    assert!(html.contains(&csrf));
    let form = format!("csrf={csrf}&name=&resident_id=123&phone=123&village_id=&household=new");
    let req = Request::builder()
        .method("POST")
        .uri("/enrol")
        .header(header::COOKIE, format!("mb_csrf={csrf}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .expect("req");
    let (status, _, html) = w.send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for (id, text) in [
        ("name-error", "请填写姓名"),
        ("resident_id-error", "身份证号应为18位"),
        ("phone-error", "手机号应为11位数字"),
        ("village_id-error", "请选择所在村"),
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
        assert!(html.contains(text), "missing text {text}");
    }
    assert!(html.contains("请阅读并勾选同意书"));
}

async fn withdrawal_page_names_the_unticked_box_and_keeps_the_data(w: World) {
    let (status, _, html) = w
        .page(
            "POST",
            "/me/withdraw",
            Some(&w.citizen),
            &[("confirm", "no")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"confirm-error\""),
        "the error sits next to the box"
    );
    assert!(html.contains("请勾选确认框"));
    assert!(w
        .store
        .registry()
        .citizen(&w.citizen.id)
        .await
        .expect("read")
        .is_some());
}

async fn access_log_api_pages_with_a_cursor_and_names_a_bad_one(w: World) {
    let admin = w.staff(Role::Admin);
    for _ in 0..3 {
        let (status, _) = w
            .api(
                "GET",
                &format!("/citizens/{}", w.citizen.id),
                Some(&admin.token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, first) = w
        .api(
            "GET",
            "/me/access-log?limit=2",
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(first["items"].as_array().map(Vec::len), Some(2));
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, second) = w
        .api(
            "GET",
            &format!("/me/access-log?limit=2&cursor={cursor}"),
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert!(second["next_cursor"].is_null());
    let (status, problem) = w
        .api(
            "GET",
            "/me/access-log?cursor=yesterday",
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cursor"))
    );
    let (status, problem) = w
        .api(
            "GET",
            "/me/access-log?limit=500",
            Some(&w.citizen.token),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("limit"))
    );
    // Not a number at all: the same problem details (`api` checks the content type), not
    // axum's plain-text 400.
    for query in ["limit=null", "limit=2&limit=3", "limit=1.5"] {
        let (status, problem) = w
            .api(
                "GET",
                &format!("/me/access-log?{query}"),
                Some(&w.citizen.token),
                None,
            )
            .await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("limit")),
            "{query}: {problem}"
        );
    }
}

async fn english_switch_translates_the_pages(w: World) {
    let req = Request::builder()
        .uri("/login")
        .header(header::COOKIE, "mb_lang=en")
        .body(Body::empty())
        .expect("req");
    let (_, _, html) = w.send(req).await;
    assert!(html.contains("Sign in with a phone code"));
    let (_, _, html) = w.page("GET", "/login", None, &[]).await;
    assert!(html.contains("手机验证码登录"));
    let (status, headers, _) = w
        .page("GET", "/lang/en?back=//evil.example", None, &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/"),
        "no open redirect"
    );
    // A tab (browsers drop it: `//evil.example`), a line break (no header injection, no 500),
    // a backslash: each sends the reader home.
    for back in [
        "/%09/evil.example/",
        "/%0d%0aSet-Cookie:x=1",
        "/%5Cevil.example",
        "/a%20b",
    ] {
        let (status, headers, _) = w
            .page("GET", &format!("/lang/en?back={back}"), None, &[])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(
            headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some("/"),
            "{back}"
        );
    }
    let (_, headers, _) = w
        .page("GET", "/lang/en?back=/deeds/new%3Fx%3D1", None, &[])
        .await;
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some("/deeds/new?x=1"),
        "a local path comes back"
    );
}

/// (`/metrics`, behind configuration, is tested in limits_http.rs.)
async fn health_and_readiness_answer(w: World) {
    let (s, _, body) = w.page("GET", "/healthz", None, &[]).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "ok"));
    let (s, _, body) = w.page("GET", "/readyz", None, &[]).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "ready"));
    w.store.close().await;
    let (s, _, _) = w.page("GET", "/readyz", None, &[]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
}

async fn a_failed_page_is_a_page_in_the_readers_language_or_the_right_sign_in(w: World) {
    // Not signed in: staff pages send to the staff sign-in, residents' pages to theirs.
    for (path, login) in [
        ("/console", "/staff/login"),
        ("/console/citizens", "/staff/login"),
        ("/scan", "/staff/login"),
        ("/me", "/login"),
        ("/me/entries", "/login"),
    ] {
        let (status, headers, _) = w.page("GET", path, None, &[]).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        // With the page to come back to after signing in.
        let back = format!("{login}?next={}", path.replace('/', "%2F"));
        assert_eq!(
            headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
            Some(back.as_str()),
            "{path}"
        );
    }
    // Any other failure is the error page, as HTML, in the reader's language.
    let admin = w.staff(Role::Admin);
    let missing = format!("/console/citizens/{}", domain::new_id());
    let (status, headers, html) = w.page("GET", &missing, Some(admin), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html")));
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("<title>未找到"),
        "{html}"
    );
    let req = Request::builder()
        .uri(&missing)
        .header(
            header::COOKIE,
            format!("mb_session={}; mb_lang=en", admin.token),
        )
        .body(Body::empty())
        .expect("req");
    let (status, _, en) = w.send(req).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("<title>Not found"),
        "{en}"
    );
    // The API still answers with problem details, never a page.
    let (status, problem) = w
        .api(
            "GET",
            &format!("/citizens/{}", domain::new_id()),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(
        (status, problem["status"].as_u64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    resident_enrols_signs_in_and_sees_who_read_their_data,
    each_bad_enrolment_gets_its_own_problem_and_changes_nothing,
    staff_sign_in_with_password_and_search_only_inside_their_scope,
    partner_api_keys_authenticate_and_carry_scopes,
    pages_refuse_forms_without_the_csrf_token,
    enrolment_page_shows_each_error_next_to_its_field,
    english_switch_translates_the_pages,
    withdrawal_page_names_the_unticked_box_and_keeps_the_data,
    access_log_api_pages_with_a_cursor_and_names_a_bad_one,
    health_and_readiness_answer,
    a_failed_page_is_a_page_in_the_readers_language_or_the_right_sign_in,
);

#[test]
fn every_api_route_is_in_the_openapi_document_and_nothing_else_is() {
    let doc: serde_json::Value =
        serde_json::from_str(moralbank_web::api::OPENAPI).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .expect("item")
                .keys()
                .filter(|k| *k != "servers" && *k != "parameters")
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    let mut routed: Vec<(String, String)> = moralbank_web::api::ROUTES
        .iter()
        .chain(moralbank_web::ledger::log::ROUTES)
        .chain(moralbank_web::evaluation::ROUTES)
        .chain(moralbank_web::code::green_cards::ROUTES)
        .chain(moralbank_web::code::benefits::ROUTES)
        .chain(moralbank_web::code::ROUTES)
        .chain(moralbank_web::citydata::ROUTES)
        .chain(moralbank_web::credit::api::ROUTES)
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed);
}

/// The document names the consent version in force (an `enum` of one), so that a schema-valid
/// enrolment is never refused as `consent_outdated`: bumping the version bumps the document.
#[test]
fn the_openapi_document_names_the_consent_version_in_force() {
    let doc: serde_json::Value =
        serde_json::from_str(moralbank_web::api::OPENAPI).expect("valid JSON");
    assert_eq!(
        doc["components"]["schemas"]["Enrolment"]["properties"]["consent_version"]["enum"],
        serde_json::json!([domain::ENROLMENT_CONSENT_VERSION])
    );
}
