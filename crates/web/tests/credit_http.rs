#![allow(clippy::unwrap_used, clippy::too_many_lines)] // scenario tests tell one story each
//! Moral credit loans over HTTP, on SQLite and PostgreSQL: a household consents on its page and
//! downloads its report; the bank verifies it (console and API), records its decision
//! (idempotent) and its loan book; the consent matrix, each refusal with its own reason and
//! nothing disclosed; tampered and misaddressed reports; the admin's tables and figures.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{Account, World};
use domain::Role;
use moralbank_store::SubjectKind;
use serde_json::json;

/// A new adult resident of the first village in a household of their own, signed in.
async fn resident(w: &World, n: u64) -> Account {
    let (id, _) = w.villager(n).await;
    let (token, session) = w
        .store
        .accounts()
        .create_session(SubjectKind::Citizen, &id, 3_600_000)
        .await
        .unwrap();
    Account {
        id,
        token,
        csrf: session.csrf_token,
    }
}

/// Ask for a consent to the bank on the household's page; the consent's id.
async fn consent(w: &World, who: &Account) -> String {
    let (status, headers, body) = w
        .page(
            "POST",
            "/me/credit/consents",
            Some(who),
            &[
                ("bank_id", &w.bank_id),
                ("confirm", "yes"),
                ("expiry_days", "7"),
                ("lookback_months", "36"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let to = headers[header::LOCATION].to_str().unwrap();
    to.rsplit_once("#consent-").unwrap().1.to_string()
}

async fn report_text(w: &World, who: &Account, consent: &str) -> String {
    let (status, headers, body) = w
        .page(
            "GET",
            &format!("/me/credit/consents/{consent}/report.mbcr"),
            Some(who),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert!(body.starts_with("MBCR1:"));
    body.trim().to_string()
}

fn first_code(v: &serde_json::Value) -> &str {
    v["errors"][0]["code"].as_str().unwrap_or_default()
}

async fn access_reads(w: &World, citizen: &str) -> usize {
    w.store
        .registry()
        .access_log(citizen, None, 100)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.action == "credit_report_read")
        .count()
}

async fn a_household_consents_the_bank_verifies_and_decides_and_the_household_sees_it(w: World) {
    let me = resident(&w, 1).await;
    // The page: the published tables (none yet) and the consent form, nothing asked of anyone.
    let (status, _, page) = w.page("GET", "/me/credit", Some(&me), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("余姚农村商业银行") && page.contains("id=\"categories\""));
    // Without the box ticked: refused at the box, the choice kept, nothing written.
    let (status, _, page) = w
        .page(
            "POST",
            "/me/credit/consents",
            Some(&me),
            &[("bank_id", &w.bank_id), ("expiry_days", "40")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"expiry_days-error\"") && page.contains("value=\"40\""),
        "{page}"
    );
    assert_eq!(
        w.store
            .count_for_tests("SELECT COUNT(*) FROM credit_consents")
            .await
            .unwrap(),
        0
    );
    let c = consent(&w, &me).await;
    let text = report_text(&w, &me, &c).await;
    // The same report on the next download; the printable page carries a QR of the console's
    // address for it.
    assert_eq!(report_text(&w, &me, &c).await, text);
    let (status, _, page) = w
        .page(
            "GET",
            &format!("/me/credit/consents/{c}/report"),
            Some(&me),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"report-qr\"") && page.contains("<svg"),
        "{page}"
    );

    // Another bank's key, a library's key, nobody: refused, nothing read.
    let (status, _) = w
        .api(
            "POST",
            "/credit/reports/verify",
            Some(&w.api_key),
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = w
        .api(
            "POST",
            "/credit/reports/verify",
            None,
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let other = w
        .store
        .accounts()
        .create_partner("宁波银行", "bank")
        .await
        .unwrap();
    let (_, other_key) = w
        .store
        .accounts()
        .create_api_key(&other.id, &["credit:read".into()], "t")
        .await
        .unwrap();
    let (status, body) = w
        .api(
            "POST",
            "/credit/reports/verify",
            Some(&other_key),
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "report_wrong_audience")
    );
    // Tampered: one character of the text changed.
    let mut chars: Vec<char> = text.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let (status, body) = w
        .api(
            "POST",
            "/credit/reports/verify",
            Some(&w.bank_key),
            Some(json!({ "text": tampered })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        [
            "report_bad_signature",
            "report_not_cose",
            "report_not_base64"
        ]
        .contains(&first_code(&body)),
        "{body}"
    );
    assert_eq!(
        access_reads(&w, &me.id).await,
        0,
        "no refused read is logged as a read"
    );

    // The bank verifies it: figures, no name, no ID number, no phone; the read is logged.
    let (status, body) = w
        .api(
            "POST",
            "/credit/reports/verify",
            Some(&w.bank_key),
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report_id = body["report_id"].as_str().unwrap().to_string();
    assert_eq!(body["report"]["audience"], json!(w.bank_id));
    let summary = w.store.registry().citizen(&me.id).await.unwrap().unwrap();
    let all = body.to_string();
    for secret in [
        summary.name.as_str(),
        summary.resident_id.as_str(),
        summary.phone.as_str(),
        &me.id,
        &summary.household_id,
    ] {
        assert!(!all.contains(secret), "the report discloses {secret}");
    }
    assert_eq!(access_reads(&w, &me.id).await, 1);

    // A decision: refused field by field, then recorded once, a retry answered the same.
    let (status, body) = w
        .api(
            "POST",
            &format!("/credit/reports/{report_id}/decision"),
            Some(&w.bank_key),
            Some(json!({ "outcome": "maybe" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["outcome", "reasons"]);
    let decision = json!({ "outcome": "approved", "amount_yuan": "150000", "rate_pct": "3.92", "term_months": "36",
        "loan_ref": "YY-2026-0001", "reasons": ["good_moral_credit"], "reasons_text": "道德积分良好，收入稳定" });
    let (status, first) = w
        .api(
            "POST",
            &format!("/credit/reports/{report_id}/decision"),
            Some(&w.bank_key),
            Some(decision.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(
        !first.to_string().contains(&summary.household_id),
        "the bank never learns the household's id"
    );
    let (status, again) = w
        .api(
            "POST",
            &format!("/credit/reports/{report_id}/decision"),
            Some(&w.bank_key),
            Some(decision.clone()),
        )
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let mut other_decision = decision.clone();
    other_decision["amount_yuan"] = json!("99000");
    let (status, body) = w
        .api(
            "POST",
            &format!("/credit/reports/{report_id}/decision"),
            Some(&w.bank_key),
            Some(other_decision),
        )
        .await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::CONFLICT, "decision_recorded")
    );
    let (status, _) = w
        .api(
            "POST",
            &format!("/credit/reports/{report_id}/decision"),
            Some(&other_key),
            Some(decision),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another bank's key has no loans:write"
    );

    // The household sees the decision, its reasons and the state of its consent.
    let (_, _, page) = w.page("GET", "/me/credit", Some(&me), &[]).await;
    assert!(
        page.contains("道德积分良好，收入稳定")
            && page.contains("data-outcome=\"approved\"")
            && page.contains("data-status=\"used\""),
        "{page}"
    );
    // The bank's console lists the report with its decision.
    let (status, _, page) = w
        .page("GET", "/console/credit", Some(&w.bank_operator), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&report_id) && page.contains("YY-2026-0001"));
    // The loan book: a bad month refuses the file, a good one is committed; the figures count it.
    // The generic import route takes a loan book only with the banks' `loans:write`.
    let (_, deeds_only) = w
        .store
        .accounts()
        .create_api_key(&w.bank_id, &["deeds:submit".into()], "t")
        .await
        .unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/imports?kind=bank-loans&file_name=book.csv")
        .header(header::AUTHORIZATION, format!("Bearer {deeds_only}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(
            "贷款编号,月份,贷款状态,贷款余额（元）\nYY-2026-0001,2026-11,disbursed,1\n",
        ))
        .unwrap();
    assert_eq!(w.send(req).await.0, StatusCode::FORBIDDEN);
    let book = |csv: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/credit/loan-book?file_name=book.csv")
            .header(header::AUTHORIZATION, format!("Bearer {}", w.bank_key))
            .header(header::CONTENT_TYPE, "text/csv")
            .body(Body::from(csv))
            .unwrap()
    };
    let (status, _, body) = w
        .send(book(
            "贷款编号,月份,贷款状态,贷款余额（元）\nYY-2026-0001,2026-13,disbursed,150000\n",
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("month_invalid"));
    let (status, _, body) = w
        .send(book(
            "贷款编号,月份,贷款状态,贷款余额（元）\nYY-2026-0001,2026-11,disbursed,150000\n",
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let admin = w.staff(Role::Admin);
    let (status, _, page) = w
        .page("GET", "/console/credit/figures", Some(admin), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"loan-households\">1<") && page.contains("¥150,000"),
        "{page}"
    );
    // Open data publishes the month's balances by town under the money rule: one household's
    // balance is nobody's business but its own (its town `<10`, the balance and the city's
    // withheld).
    let (status, v) = w.api_root("/open-data/loans-by-town.json").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["as_of"], "2026-11", "{v}");
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r[3] == "<10" && r[4] == "×"), "{v}");
    assert!(!v.to_string().contains("150000"), "{v}");
    let city = rows.last().unwrap();
    assert_eq!(
        (city[3].as_str(), city[4].as_str()),
        (Some("<10"), Some("×")),
        "{v}"
    );
    let (status, _, _) = w
        .page(
            "GET",
            "/console/credit/figures",
            Some(w.staff(Role::Evaluator)),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn each_consent_refusal_has_its_own_reason_and_discloses_nothing(w: World) {
    let me = resident(&w, 2).await;
    let pull = |id: String| {
        let w = &w;
        async move {
            w.api(
                "GET",
                &format!("/credit/consents/{id}/report"),
                Some(&w.bank_key),
                None,
            )
            .await
        }
    };
    // No consent at all, and a word that is no id: not found.
    let (status, body) = pull(domain::new_id()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.get("report").is_none());
    let (status, _) = pull("../../etc".into()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Revoked on the household's page (with the box ticked; without it nothing changes).
    let c = consent(&w, &me).await;
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/me/credit/consents/{c}/revoke"),
            Some(&me),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/me/credit/consents/{c}/revoke"),
            Some(&me),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body) = pull(c.clone()).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::CONFLICT, "consent_revoked")
    );
    assert!(body.get("report").is_none() && body.get("text").is_none());
    // Another household cannot see, download or revoke it.
    let stranger = resident(&w, 3).await;
    for path in [
        format!("/me/credit/consents/{c}/report"),
        format!("/me/credit/consents/{c}/report.mbcr"),
    ] {
        let (status, _, _) = w.page("GET", &path, Some(&stranger), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Used: pulled once, the second pull refused.
    let c2 = consent(&w, &me).await;
    let (status, body) = pull(c2.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["text"].as_str().unwrap().starts_with("MBCR1:"));
    let (status, body) = pull(c2.clone()).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::CONFLICT, "consent_used")
    );
    // Another bank: not found, as if there were none.
    let other = w
        .store
        .accounts()
        .create_partner("宁波银行", "bank")
        .await
        .unwrap();
    let (_, other_key) = w
        .store
        .accounts()
        .create_api_key(&other.id, &["credit:read".into()], "t")
        .await
        .unwrap();
    let c3 = consent(&w, &me).await;
    let (status, _) = w
        .api(
            "GET",
            &format!("/credit/consents/{c3}/report"),
            Some(&other_key),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Purpose mismatch.
    w.store
        .execute_raw(&format!(
            "UPDATE credit_consents SET purpose = 'marketing' WHERE id = '{c3}'"
        ))
        .await
        .unwrap();
    let (status, body) = pull(c3).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::CONFLICT, "consent_purpose_mismatch")
    );
    // Expired: the clock passes the seven days.
    let c4 = consent(&w, &me).await;
    w.clock.advance(8 * 86_400_000);
    let (status, body) = pull(c4).await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::CONFLICT, "consent_expired")
    );
    // Only the one pull was a read.
    assert_eq!(access_reads(&w, &me.id).await, 1);
    // A library's key may not be given the banks' scopes.
    let admin = w.staff(Role::Admin);
    let (status, body) = w
        .api(
            "POST",
            &format!("/partners/{}/api-keys", w.partner_id),
            Some(&admin.token),
            Some(json!({ "scopes": ["credit:read"], "label": "x" })),
        )
        .await;
    assert_eq!(
        (status, first_code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "scope_for_banks")
    );
}

async fn the_admin_publishes_tables_and_the_bank_console_verifies_a_presented_file(w: World) {
    let admin = w.staff(Role::Admin);
    let line = |v: [&'static str; 5]| v;
    let mut form: Vec<(&str, &str)> = vec![("bank_id", &w.bank_id), ("posted_rate", "4.35")];
    for (l, d) in line(["30000", "50000", "40000", "200000", "300000"])
        .iter()
        .zip(["0", "5", "10", "20", "30"])
    {
        form.push(("line", l));
        form.push(("discount", d));
    }
    let (status, _, page) = w
        .page("POST", "/console/credit/tables", Some(admin), &form)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("value=\"40000\"") && page.contains("error-summary"),
        "what was typed stays"
    );
    form[6] = ("line", "100000");
    let (status, _, _) = w
        .page("POST", "/console/credit/tables", Some(admin), &form)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, body) = w.api("GET", "/credit/tables", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"][0]["version"], json!(1));
    assert_eq!(body["items"][0]["rows"][3]["max_line_yuan"], json!(200_000));
    let (status, _, page) = w.page("GET", "/credit/tables", None, &[]).await;
    assert!(status == StatusCode::OK && page.contains("¥200,000"));
    let (status, _, _) = w
        .page(
            "POST",
            "/console/credit/tables",
            Some(w.staff(Role::Auditor)),
            &form,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The keys: the credit key set is its own, not the moral code's.
    let (_, credit_keys) = w.api_root("/.well-known/moral-credit/keys").await;
    let (_, code_keys) = w.api_root("/.well-known/moral-code/keys").await;
    assert_ne!(credit_keys["keys"][0]["kid"], code_keys["keys"][0]["kid"]);
    // A presented file at the bank's console: verified, the suggestion from the table shown.
    let me = resident(&w, 4).await;
    let c = consent(&w, &me).await;
    let text = report_text(&w, &me, &c).await;
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.mbcr\"\r\nContent-Type: text/plain\r\n\r\n{text}\n\r\n--{boundary}--\r\n",
        w.bank_operator.csrf
    );
    let req = Request::builder()
        .method("POST")
        .uri("/console/credit/verify")
        .header(
            header::COOKIE,
            format!("mb_session={}", w.bank_operator.token),
        )
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, _, page) = w.send(req).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"verified\"")
            && page.contains("¥30,000")
            && page.contains("id=\"decide\""),
        "{page}"
    );
    // A moral code pasted instead: refused at the field in Chinese, what was pasted kept.
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nMB1:NOTAREPORT\r\n--{boundary}--\r\n",
        w.bank_operator.csrf
    );
    let req = Request::builder()
        .method("POST")
        .uri("/console/credit/verify")
        .header(
            header::COOKIE,
            format!("mb_session={}", w.bank_operator.token),
        )
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, _, page) = w.send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("不是道德信用报告") && page.contains("MB1:NOTAREPORT"),
        "{page}"
    );
    // The library's operator is no bank's: refused.
    let (status, _, _) = w
        .page(
            "GET",
            "/console/credit",
            Some(w.staff(Role::PartnerOperator)),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A decision from the console form, then the console lists it.
    let report_id = w
        .store
        .credit()
        .report_of_consent(&c)
        .await
        .unwrap()
        .unwrap()
        .id;
    let (status, _, page) = w
        .page(
            "POST",
            &format!("/console/credit/reports/{report_id}/decision"),
            Some(&w.bank_operator),
            &[("outcome", "declined"), ("amount_yuan", "5")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("amount_yuan-error") && page.contains("reasons-error"),
        "{page}"
    );
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/console/credit/reports/{report_id}/decision"),
            Some(&w.bank_operator),
            &[
                ("outcome", "declined"),
                ("reasons", "income_insufficient"),
                ("reasons", "existing_debt"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let d = w
        .store
        .credit()
        .decision_of_report(&report_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.reasons, ["income_insufficient", "existing_debt"]);
    // A decline changes nothing of the household's points.
    let points = w
        .store
        .ledger()
        .points(&me.id, w.state.clock.now_ms())
        .await
        .unwrap();
    assert_eq!((points.balance, points.credit), (0, 0));
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name(super::World::sqlite().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(w) = super::World::postgres().await else { return };
                super::$name(w).await;
            })*
        }
    };
}

on_both!(
    a_household_consents_the_bank_verifies_and_decides_and_the_household_sees_it,
    each_consent_refusal_has_its_own_reason_and_discloses_nothing,
    the_admin_publishes_tables_and_the_bank_console_verifies_a_presented_file,
);
