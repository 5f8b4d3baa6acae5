#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! Enrolment and sign-in as an attacker would try them: the answers to an enrolled and to an
//! unenrolled phone or ID number compared field by field (status, body, headers), after repeated
//! requests too; the per-phone code limits under concurrent requests; `Retry-After` on the
//! sign-in page; failed sign-ins logged without personal data.

mod common;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use common::{fresh_identity, World};
use serde_json::json;
use tower::ServiceExt;

/// An anonymous visitor's CSRF token (and cookie) from a GET of `path`.
async fn anon_csrf(w: &World, path: &str) -> String {
    let (_, headers, _) = w.page("GET", path, None, &[]).await;
    headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .and_then(|c| c.strip_prefix("mb_csrf="))
        .expect("a csrf cookie")
        .to_string()
}

/// An anonymous form post with the double-submit CSRF cookie.
async fn anon_post(
    w: &World,
    csrf: &str,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut body = format!("csrf={csrf}");
    for (k, v) in form {
        body.push_str(&format!("&{k}={}", urlencode(v)));
    }
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::COOKIE, format!("mb_csrf={csrf}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("request");
    w.send(req).await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A raw API call: status, headers, body text.
async fn api_raw(
    w: &World,
    path: &str,
    body: &serde_json::Value,
) -> (StatusCode, HeaderMap, String) {
    let req = Request::builder()
        .method("POST")
        .uri(format!("/api/v1{path}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    w.send(req).await
}

/// Headers a client could tell two answers apart by (the date changes by itself).
fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| *k != header::DATE)
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("?").to_string()))
        .collect();
    v.sort();
    v
}

/// Two answers that must not differ: the same status, headers and body once the caller's own
/// input (`a_in`, `b_in`: a phone or an ID number echoed back) is set aside.
/// A `429`'s wait depends on when the phone's last code went out, which the two requests of a
/// pair did a few milliseconds apart: the two waits may differ by one second, no more, and are
/// set aside (in the header and where the body repeats them).
fn assert_alike(
    what: &str,
    a: &(StatusCode, HeaderMap, String),
    b: &(StatusCode, HeaderMap, String),
    echoes: &[(&str, &str)],
) {
    assert_eq!(a.0, b.0, "{what}: status");
    let wait = |h: &HeaderMap| -> Option<u64> {
        h.get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    };
    let (mut a_body, mut b_body) = (a.2.clone(), b.2.clone());
    let (mut a_head, mut b_head) = (a.1.clone(), b.1.clone());
    if let (Some(x), Some(y)) = (wait(&a.1), wait(&b.1)) {
        assert!(x.abs_diff(y) <= 1, "{what}: Retry-After {x} and {y}");
        a_body = a_body.replace(&format!("{x} "), "WAIT ");
        b_body = b_body.replace(&format!("{y} "), "WAIT ");
        a_head.remove(header::RETRY_AFTER);
        b_head.remove(header::RETRY_AFTER);
    }
    for (x, y) in echoes {
        a_body = a_body.replace(x, "ECHO");
        b_body = b_body.replace(y, "ECHO");
    }
    assert_eq!(a_body, b_body, "{what}: body");
    assert_eq!(comparable(&a_head), comparable(&b_head), "{what}: headers");
    assert_eq!(
        a.1.contains_key(header::RETRY_AFTER),
        b.1.contains_key(header::RETRY_AFTER),
        "{what}: Retry-After"
    );
}

async fn sign_in_codes_answer_alike_for_enrolled_and_unenrolled_phones(w: World) {
    let enrolled = w.citizen_phone.clone();
    let (unenrolled, _) = fresh_identity(31);
    let echoes = [(enrolled.as_str(), unenrolled.as_str())];
    // The API, three times each: the first is sent, the next two meet the resend gap.
    for round in 0..3 {
        let a = api_raw(&w, "/auth/otp", &json!({ "phone": enrolled })).await;
        let b = api_raw(&w, "/auth/otp", &json!({ "phone": unenrolled })).await;
        assert_alike(&format!("API round {round}"), &a, &b, &echoes);
        let expected = if round == 0 {
            StatusCode::ACCEPTED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(a.0, expected, "round {round}: {}", a.2);
        if round > 0 {
            assert!(a.1.contains_key(header::RETRY_AFTER), "round {round}");
        }
    }
    // The same work on both paths: a code was made and handed to the sender for each phone.
    assert!(w.inbox.last_for(&enrolled).is_some());
    assert!(w.inbox.last_for(&unenrolled).is_some());
    // A wrong code answers the same too.
    let a = api_raw(
        &w,
        "/auth/otp/verify",
        &json!({ "phone": enrolled, "code": "000000" }),
    )
    .await;
    let b = api_raw(
        &w,
        "/auth/otp/verify",
        &json!({ "phone": unenrolled, "code": "000000" }),
    )
    .await;
    if w.inbox.last_for(&enrolled).as_deref() != Some("000000")
        && w.inbox.last_for(&unenrolled).as_deref() != Some("000000")
    {
        assert_alike("a wrong code", &a, &b, &echoes);
        assert_eq!(a.0, StatusCode::UNPROCESSABLE_ENTITY);
    }

    // The page, with two other phones (the first two have met their limits).
    let (enrolled, _) = moralbank_store::fixtures::city::demo_identity(3);
    let enrolled = enrolled.as_str().to_string();
    let (unenrolled, _) = fresh_identity(32);
    let echoes = [(enrolled.as_str(), unenrolled.as_str())];
    let csrf = anon_csrf(&w, "/login").await;
    for round in 0..3 {
        let a = anon_post(&w, &csrf, "/login", &[("phone", &enrolled)]).await;
        let b = anon_post(&w, &csrf, "/login", &[("phone", &unenrolled)]).await;
        assert_alike(&format!("page round {round}"), &a, &b, &echoes);
        if round == 0 {
            assert_eq!(a.0, StatusCode::OK);
        } else {
            assert_eq!(a.0, StatusCode::TOO_MANY_REQUESTS);
            assert!(
                a.1.contains_key(header::RETRY_AFTER),
                "the sign-in page's 429 says when to come back"
            );
        }
    }
    assert!(w.inbox.last_for(&enrolled).is_some());
    assert!(w.inbox.last_for(&unenrolled).is_some());
}

async fn concurrent_code_requests_for_one_phone_issue_at_most_one_code(w: World) {
    let (phone, _) = moralbank_store::fixtures::city::demo_identity(5);
    let phone = phone.as_str().to_string();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let app = w.app.clone();
        let body = json!({ "phone": phone }).to_string();
        tasks.push(tokio::spawn(async move {
            let req = Request::builder()
                .method("POST")
                .uri("/api/v1/auth/otp")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .expect("request");
            app.oneshot(req).await.expect("infallible").status()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        match t.await.expect("task") {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    let sent = w
        .inbox
        .0
        .lock()
        .expect("inbox")
        .iter()
        .filter(|(p, _)| *p == phone)
        .count();
    assert_eq!(
        (accepted, sent),
        (1, 1),
        "one code per 60 s per phone, however many servers ask at once"
    );
}

/// Every event logged while `f` runs, as text.
async fn logged<F: std::future::Future<Output = ()>>(f: F) -> String {
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    f.await;
    drop(guard);
    let text = String::from_utf8_lossy(&buf.0.lock().expect("log buffer")).into_owned();
    text
}

async fn failed_sign_ins_are_logged_with_a_reason_and_no_personal_data(w: World) {
    let phone = w.citizen_phone.clone();
    let (stranger, _) = fresh_identity(33);
    let username = "no-such-clerk-42";
    let text = logged(async {
        let (s, _) = w
            .api("POST", "/auth/otp", None, Some(json!({ "phone": phone })))
            .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let code = w.inbox.last_for(&phone).expect("sent");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let (s, _) = w
            .api(
                "POST",
                "/auth/otp/verify",
                None,
                Some(json!({ "phone": phone, "code": wrong })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = w
            .api(
                "POST",
                "/auth/otp/verify",
                None,
                Some(json!({ "phone": stranger, "code": "123456" })),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, _) = w
            .api(
                "POST",
                "/auth/staff",
                None,
                Some(json!({ "username": username, "password": "not the password" })),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    })
    .await;
    for reason in ["otp_wrong", "otp_expired", "login_failed"] {
        assert!(
            text.contains("sign-in failed") && text.contains(reason),
            "a failed sign-in is logged with its reason ({reason}):\n{text}"
        );
    }
    for secret in [
        phone.as_str(),
        stranger.as_str(),
        username,
        "not the password",
    ] {
        assert!(
            !text.contains(secret),
            "'{secret}' must never be logged:\n{text}"
        );
    }
    if let Some(code) = w.inbox.last_for(&phone) {
        assert!(
            !text.contains(&code),
            "the code must never be logged:\n{text}"
        );
    }
}

/// The enrolment page's first step (the details) for `phone` and `rid`.
async fn enrol_page_step1(
    w: &World,
    csrf: &str,
    phone: &str,
    rid: &str,
) -> (StatusCode, HeaderMap, String) {
    let fields = [
        ("name", "李小红"),
        ("resident_id", rid),
        ("phone", phone),
        ("village_id", w.city.first_village_id.as_str()),
        ("household", "new"),
        ("consent_version", domain::ENROLMENT_CONSENT_VERSION),
    ];
    anon_post(w, csrf, "/enrol", &fields).await
}

fn enrolment(w: &World, phone: &str, rid: &str) -> serde_json::Value {
    json!({ "name": "李小红", "resident_id": rid, "phone": phone, "village_id": w.city.first_village_id, "consent_version": domain::ENROLMENT_CONSENT_VERSION })
}

async fn enrolment_answers_alike_for_enrolled_and_unenrolled_phones_and_id_numbers(w: World) {
    let (enrolled_phone, enrolled_rid) = moralbank_store::fixtures::city::demo_identity(0);
    let (enrolled_phone, enrolled_rid) = (
        enrolled_phone.as_str().to_string(),
        enrolled_rid.as_str().to_string(),
    );
    let (fresh_phone, fresh_rid) = fresh_identity(41);
    let (fresh_phone2, _) = fresh_identity(42);
    let (_, fresh_rid2) = fresh_identity(43);
    // (label, phone, ID number): each pair differs from the first in one enrolled field.
    let fresh = (fresh_phone.as_str(), fresh_rid.as_str());
    let others = [
        (
            "an enrolled phone",
            enrolled_phone.as_str(),
            fresh_rid2.as_str(),
        ),
        (
            "an enrolled ID number",
            fresh_phone2.as_str(),
            enrolled_rid.as_str(),
        ),
    ];
    // Step 1 (a code is sent) and its repetition (the per-phone limit), over the API.
    for round in 0..2 {
        let a = api_raw(&w, "/enrolments", &enrolment(&w, fresh.0, fresh.1)).await;
        assert_eq!(
            a.0,
            if round == 0 {
                StatusCode::ACCEPTED
            } else {
                StatusCode::TOO_MANY_REQUESTS
            },
            "{}",
            a.2
        );
        for (label, phone, rid) in others {
            let b = api_raw(&w, "/enrolments", &enrolment(&w, phone, rid)).await;
            assert_alike(
                &format!("step 1, {label}, round {round}"),
                &a,
                &b,
                &[(fresh.0, phone), (fresh.1, rid)],
            );
        }
    }
    for phone in [fresh.0, enrolled_phone.as_str(), fresh_phone2.as_str()] {
        assert!(
            w.inbox.last_for(phone).is_some(),
            "every phone got its code"
        );
    }
    // Step 2 with a wrong code: refused alike.
    let wrong = |phone: &str| {
        if w.inbox.last_for(phone).as_deref() == Some("000000") {
            "111111"
        } else {
            "000000"
        }
    };
    let mut body = enrolment(&w, fresh.0, fresh.1);
    body["code"] = json!(wrong(fresh.0));
    let a = api_raw(&w, "/enrolments", &body).await;
    assert_eq!(a.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.2);
    for (label, phone, rid) in others {
        let mut body = enrolment(&w, phone, rid);
        body["code"] = json!(wrong(phone));
        let b = api_raw(&w, "/enrolments", &body).await;
        assert_alike(
            &format!("a wrong code, {label}"),
            &a,
            &b,
            &[(fresh.0, phone), (fresh.1, rid)],
        );
    }
    // Step 2 with the right code: an ID number someone else enrolled is enrolled just the
    // same (unconfirmed; the village office resolves it), with the same answer.
    let finish = |phone: &str, rid: &str| {
        let mut body = enrolment(&w, phone, rid);
        body["code"] = json!(w.inbox.last_for(phone).expect("code"));
        body
    };
    let (s1, one) = w
        .api("POST", "/enrolments", None, Some(finish(fresh.0, fresh.1)))
        .await;
    let (s2, two) = w
        .api(
            "POST",
            "/enrolments",
            None,
            Some(finish(&fresh_phone2, &enrolled_rid)),
        )
        .await;
    assert_eq!(
        (s1, s2),
        (StatusCode::CREATED, StatusCode::CREATED),
        "{one} {two}"
    );
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&one), keys(&two));
    // Only the proven holder of an enrolled phone learns that it is enrolled.
    let (s, problem) = w
        .api(
            "POST",
            "/enrolments",
            None,
            Some(finish(&enrolled_phone, &fresh_rid2)),
        )
        .await;
    assert_eq!(
        (s, problem["errors"][0]["code"].as_str()),
        (StatusCode::CONFLICT, Some("phone_in_use"))
    );

    // The page: the code step looks the same for an enrolled phone or ID number.
    let (p1, r1) = fresh_identity(44);
    let (p2, _) = fresh_identity(45);
    let (_, r3) = fresh_identity(46);
    let (enrolled_phone3, _) = moralbank_store::fixtures::city::demo_identity(3);
    let enrolled_phone3 = enrolled_phone3.as_str().to_string();
    let (_, enrolled_rid4) = moralbank_store::fixtures::city::demo_identity(4);
    let enrolled_rid4 = enrolled_rid4.as_str().to_string();
    let csrf = anon_csrf(&w, "/enrol").await;
    for round in 0..2 {
        let a = enrol_page_step1(&w, &csrf, &p1, &r1).await;
        let b = enrol_page_step1(&w, &csrf, &enrolled_phone3, &r3).await;
        let c = enrol_page_step1(&w, &csrf, &p2, &enrolled_rid4).await;
        assert_alike(
            &format!("page, an enrolled phone, round {round}"),
            &a,
            &b,
            &[
                (p1.as_str(), enrolled_phone3.as_str()),
                (r1.as_str(), r3.as_str()),
            ],
        );
        assert_alike(
            &format!("page, an enrolled ID number, round {round}"),
            &a,
            &c,
            &[
                (p1.as_str(), p2.as_str()),
                (r1.as_str(), enrolled_rid4.as_str()),
            ],
        );
        if round == 0 {
            assert_eq!(a.0, StatusCode::OK);
            assert!(a.2.contains("id=\"enrol-code-form\""), "{}", a.2);
        } else {
            assert_eq!(a.0, StatusCode::TOO_MANY_REQUESTS);
        }
    }
}

/// A new resident: enrolled, signed in, unconfirmed (no points credited, no moral code), then
/// confirmed in person by their village's clerk on the console, after which the credit run pays
/// the deed that waited and the code opens.
async fn a_new_resident_is_credited_and_gets_a_code_once_the_village_office_confirms_them(
    w: World,
) {
    let (phone, rid) = fresh_identity(51);
    let (s, enrolled) = w.enrol_api(&enrolment(&w, &phone, &rid)).await;
    assert_eq!(s, StatusCode::CREATED, "{enrolled}");
    let cid = enrolled["citizen_id"].as_str().expect("id").to_string();
    let token = enrolled["token"].as_str().expect("token").to_string();
    let resident = common::Account {
        id: cid.clone(),
        token: token.clone(),
        csrf: String::new(),
    };
    let (_, me) = w.api("GET", "/me", Some(&token), None).await;
    assert_eq!(
        me["identity"],
        json!({ "confirmed": false, "confirmed_at": null, "method": null })
    );
    let (s, _, html) = w.page("GET", "/me", Some(&resident), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"identity-unconfirmed\""), "{html}");
    // No moral code, so no benefits, before the real-name step.
    let (s, _, html) = w.page("GET", "/me/code", Some(&resident), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(html.contains("实名核验后开通道德码"), "{html}");
    let (s, _, _) = w.page("GET", "/me/code.json", Some(&resident), &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // A trusted partner's deed goes on publicity; when it ends, the credit run waits.
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["deeds:submit".into()], "deeds")
        .await
        .expect("key");
    let admin = w.staff(domain::Role::Admin);
    let (_, catalogue) = w.api("GET", "/standards", None, None).await;
    let mut std = catalogue["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["code"] == "blood-donation")
        .expect("standard")
        .clone();
    for k in ["id", "version", "created_at"] {
        std.as_object_mut().expect("object").remove(k);
    }
    std["trusted_partners"] = json!([w.partner_id]);
    let (s, v) = w
        .api("POST", "/standards", Some(&admin.token), Some(std))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let day = {
        use moralbank_web::clock::Clock;
        moralbank_store::day_of(w.clock.now_ms())
    };
    let deed = json!({"citizen_id": cid, "standard": "blood-donation", "deed_date": day, "place": "血站", "description": "无偿献血"});
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/partner/deeds")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "unconfirmed-1")
        .body(Body::from(deed.to_string()))
        .expect("request");
    let (s, _, text) = w.send(req).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let deed: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(deed["status"], "publicity");
    // Someone else's deed on publicity: an unconfirmed resident may not object to it.
    let other = json!({"citizen_id": w.citizen.id, "standard": "blood-donation", "deed_date": day, "place": "血站", "description": "无偿献血"});
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/partner/deeds")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", "unconfirmed-2")
        .body(Body::from(other.to_string()))
        .expect("request");
    let (s, _, text) = w.send(req).await;
    assert_eq!(s, StatusCode::CREATED, "{text}");
    let other: serde_json::Value = serde_json::from_str(&text).expect("json");
    let objection = format!("/deeds/{}/objections", other["id"].as_str().expect("id"));
    let (s, problem) = w
        .api(
            "POST",
            &objection,
            Some(&token),
            Some(json!({ "reason": "我认识他，这件事没有发生" })),
        )
        .await;
    assert_eq!(
        (s, problem["errors"][0]["code"].as_str()),
        (StatusCode::CONFLICT, Some("identity_unconfirmed"))
    );
    w.clock.advance(30 * 86_400_000);
    let report = w.state.credit_due_deeds().await.expect("credit");
    assert_eq!(
        report.credited, 1,
        "the confirmed resident's deed, not the new resident's before they are confirmed"
    );
    let (_, points) = w.api("GET", "/me/points", Some(&token), None).await;
    assert_eq!(points["balance"], 0);
    let (_, d) = w
        .api(
            "GET",
            &format!("/deeds/{}", deed["id"].as_str().expect("id")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(d["deed"]["status"], "publicity");

    // The village's clerk (its evaluator) confirms on the console, from the ID card.
    let clerk = w.staff(domain::Role::Evaluator);
    let path = format!("/console/citizens/{cid}");
    let (s, _, html) = w.page("GET", &path, Some(clerk), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"identity-form\""), "{html}");
    let (s, _, html) = w
        .page(
            "POST",
            &format!("{path}/identity"),
            Some(clerk),
            &[
                ("name", "李小红"),
                ("resident_id", &fresh_identity(52).1),
                ("id_card_seen", "yes"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"card-number-error\""), "{html}");
    let (s, _, html) = w
        .page(
            "POST",
            &format!("{path}/identity"),
            Some(clerk),
            &[("name", "李小红"), ("resident_id", &rid)],
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the box says the card was seen"
    );
    assert!(html.contains("id=\"card-seen-error\""), "{html}");
    let (_, me) = w.api("GET", "/me", Some(&token), None).await;
    assert_eq!(me["identity"]["confirmed"], false);
    // A town reviewer reads residents but does not confirm them.
    let (s, _) = w
        .api(
            "POST",
            &format!("/citizens/{cid}/identity"),
            Some(&w.staff(domain::Role::TownReviewer).token),
            Some(json!({ "name": "李小红", "resident_id": rid, "id_card_seen": true })),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, headers, _) = w
        .page(
            "POST",
            &format!("{path}/identity"),
            Some(clerk),
            &[
                ("name", "李小红"),
                ("resident_id", &rid),
                ("id_card_seen", "yes"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        headers.get(header::LOCATION).and_then(|v| v.to_str().ok()),
        Some(path.as_str())
    );
    let (_, me) = w.api("GET", "/me", Some(&token), None).await;
    assert_eq!(
        (
            me["identity"]["confirmed"].as_bool(),
            me["identity"]["method"].as_str()
        ),
        (Some(true), Some("in_person"))
    );
    let (_, log) = w.api("GET", "/me/access-log", Some(&token), None).await;
    let confirmed = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "identity_confirmed")
        .expect("the confirmation is in the resident's access log");
    assert_eq!(confirmed["actor_label"], "evaluator 测试 (evaluator)");
    let (s, again) = w
        .api(
            "POST",
            &format!("/citizens/{cid}/identity"),
            Some(&admin.token),
            Some(json!({ "name": "李小红", "resident_id": rid, "id_card_seen": true })),
        )
        .await;
    assert_eq!(
        (s, again["errors"][0]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_confirmed"))
    );

    // The next credit run pays the deed that waited; the code opens.
    let report = w.state.credit_due_deeds().await.expect("credit");
    assert_eq!(report.credited, 1);
    let (_, points) = w.api("GET", "/me/points", Some(&token), None).await;
    assert!(points["balance"].as_i64().unwrap_or(0) > 0, "{points}");
    let (s, _, _) = w.page("GET", "/me/code", Some(&resident), &[]).await;
    assert_eq!(s, StatusCode::OK);

    // The admin confirms over the API too; a second enrolment of the same number then cannot be.
    let (phone2, _) = fresh_identity(53);
    let (s, second) = w.enrol_api(&enrolment(&w, &phone2, &rid)).await;
    assert_eq!(s, StatusCode::CREATED, "{second}");
    let (s, problem) = w
        .api(
            "POST",
            &format!(
                "/citizens/{}/identity",
                second["citizen_id"].as_str().expect("id")
            ),
            Some(&admin.token),
            Some(json!({ "name": "李小红", "resident_id": rid, "id_card_seen": true })),
        )
        .await;
    assert_eq!(
        (s, problem["errors"][0]["code"].as_str()),
        (StatusCode::CONFLICT, Some("confirmed_elsewhere"))
    );
    let (s, _, html) = w
        .page(
            "GET",
            &format!(
                "/console/citizens/{}",
                second["citizen_id"].as_str().expect("id")
            ),
            Some(admin),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"identity-duplicates\""), "{html}");
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    sign_in_codes_answer_alike_for_enrolled_and_unenrolled_phones,
    concurrent_code_requests_for_one_phone_issue_at_most_one_code,
    enrolment_answers_alike_for_enrolled_and_unenrolled_phones_and_id_numbers,
    a_new_resident_is_credited_and_gets_a_code_once_the_village_office_confirms_them,
);

// The log test installs its subscriber for the test's own thread: a single-threaded runtime
// runs the handlers there.
#[tokio::test]
async fn failed_sign_ins_are_logged_without_personal_data_on_sqlite() {
    failed_sign_ins_are_logged_with_a_reason_and_no_personal_data(World::sqlite().await).await;
}

#[tokio::test]
async fn failed_sign_ins_are_logged_without_personal_data_on_postgres() {
    if let Some(w) = World::postgres().await {
        failed_sign_ins_are_logged_with_a_reason_and_no_personal_data(w).await;
    }
}
