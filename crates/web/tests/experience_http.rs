#![allow(clippy::unwrap_used)]
//! The pages as people use them (issue 14), over HTTP on both databases: an unknown address is
//! a page in the reader's language; a page that needs a session sends the reader to sign in and
//! back, saying when their session ended; asking for codes too often keeps the form with a
//! countdown; no page shows the API's English detail or a translation key; the resident's home,
//! settings and access-log pages; a deed report refused for its photo keeps what was typed.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::World;
use domain::Role;
use moralbank_web::clock::Clock;

/// A request from a browser without a session: its CSRF cookie and (optionally) language.
fn anonymous(method: &str, path: &str, lang: &str, csrf: &str, form: &str) -> Request<Body> {
    let mut cookie = format!("mb_csrf={csrf}");
    if !lang.is_empty() {
        cookie.push_str(&format!("; mb_lang={lang}"));
    }
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::COOKIE, cookie);
    if method == "POST" {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    req.body(Body::from(form.to_string())).unwrap()
}

fn location(h: &axum::http::HeaderMap) -> String {
    h.get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn an_unknown_address_is_a_page_in_the_readers_language(w: World) {
    for (lang, title, detail) in [
        ("zh", "<title>未找到", "您要找的页面或记录不存在"),
        (
            "en",
            "<title>Not found",
            "The page or record you asked for does not exist",
        ),
    ] {
        let (status, headers, html) = w
            .send(anonymous("GET", "/no/such/page", lang, "t", ""))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html")));
        assert!(html.contains(title) && html.contains(detail), "{html}");
    }
    // The API's unknown routes still answer with a problem document.
    let (status, problem) = w.api("GET", "/no/such/route", None, None).await;
    assert_eq!(
        (status, problem["status"].as_u64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
    // A signed-in resident opening the front page lands in their app, staff in the console.
    let (_, h, _) = w.page("GET", "/", Some(&w.citizen), &[]).await;
    assert_eq!(location(&h), "/me");
    let (_, h, _) = w.page("GET", "/", Some(w.staff(Role::Admin)), &[]).await;
    assert_eq!(location(&h), "/console");
}

async fn sign_in_returns_to_the_page_and_says_when_the_session_ended(w: World) {
    // A browser whose session ended (its cookie names no session) opens a page of theirs.
    let req = Request::builder()
        .uri("/me/settings")
        .header(header::COOKIE, "mb_session=ended-long-ago; mb_csrf=t")
        .body(Body::empty())
        .unwrap();
    let (status, h, _) = w.send(req).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&h), "/login?next=%2Fme%2Fsettings&expired=1");
    let (_, _, html) = w.send(anonymous("GET", &location(&h), "", "t", "")).await;
    assert!(html.contains("id=\"session-expired\""), "{html}");
    assert!(html.contains("登录已过期"), "{html}");
    // (minijinja escapes the slashes in an attribute.)
    assert!(
        html.contains("name=\"next\" value=\"&#x2f;me&#x2f;settings\""),
        "{html}"
    );
    // Another site is never a place to return to.
    let (_, _, html) = w
        .send(anonymous("GET", "/login?next=//evil.example/", "", "t", ""))
        .await;
    assert!(!html.contains("evil.example"), "{html}");
    // Signing in with the code goes back to the page, asking it to restore a kept form.
    let phone = w.citizen_phone.clone();
    let form = format!("csrf=t&phone={phone}&next=%2Fme%2Fsettings");
    let (status, _, _) = w.send(anonymous("POST", "/login", "", "t", &form)).await;
    assert_eq!(status, StatusCode::OK);
    let code = w.inbox.last_for(&phone).expect("a code was sent");
    let form = format!("csrf=t&phone={phone}&code={code}&next=%2Fme%2Fsettings");
    let (status, h, _) = w.send(anonymous("POST", "/login", "", "t", &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location(&h), "/me/settings?resume=1");
    // Staff too: a `next` that is another site is ignored, the console instead.
    let form = format!(
        "csrf=t&username=admin&password={}&next=https%3A%2F%2Fevil.example",
        common::PASSWORD.replace(' ', "+")
    );
    let (status, h, _) = w
        .send(anonymous("POST", "/staff/login", "", "t", &form))
        .await;
    assert_eq!(
        (status, location(&h).as_str()),
        (StatusCode::SEE_OTHER, "/console")
    );
    // A form that posts to an address without a page of its own (an appeal): sign-in returns
    // to the page it was sent from, when that is this site.
    let ended = |referer: &str| {
        Request::builder()
            .method("POST")
            .uri("/me/invite")
            .header(header::HOST, "moralbank.test")
            .header(header::REFERER, referer)
            .header(header::COOKIE, "mb_session=ended; mb_csrf=t")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=t"))
            .unwrap()
    };
    let (_, h, _) = w.send(ended("http://moralbank.test/me/settings")).await;
    assert_eq!(location(&h), "/login?next=%2Fme%2Fsettings&expired=1");
    let (_, h, _) = w.send(ended("https://evil.example/me/settings")).await;
    assert_eq!(location(&h), "/login?expired=1");
}

async fn asking_for_codes_too_often_keeps_the_form_with_a_countdown(w: World) {
    let phone = w.citizen_phone.clone();
    let form = format!("csrf=t&phone={phone}");
    let (status, _, _) = w.send(anonymous("POST", "/login", "", "t", &form)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, h, html) = w.send(anonymous("POST", "/login", "", "t", &form)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = h
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // The form again, the phone kept, the wait named at the field, the button counting down.
    assert!(html.contains("id=\"phone-error\""), "{html}");
    assert!(html.contains(&format!("{wait} 秒后再获取")), "{html}");
    assert!(html.contains(&format!("data-wait=\"{wait}\"")), "{html}");
    assert!(html.contains(&format!("value=\"{phone}\"")), "{html}");
    assert!(html.contains("id=\"error-summary\""), "{html}");
}

/// The visible prose of a page: no tags or attribute values, and none of what is not prose
/// in the reader's language by design: scripts, code and identifiers (`<code>`, `<pre>`,
/// `class="… mono"`) and text marked as English (`lang="en"`, e.g. a region's English name).
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        let tag_end = tail.find('>').map_or(tail.len(), |j| j + 1);
        let tag = &tail[..tag_end];
        let name: String = tag[1..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let not_prose = ["script", "code", "pre"].contains(&name.as_str())
            || tag.contains(" lang=\"en\"")
            || tag.contains("mono\"");
        let skip_to = if not_prose && !name.is_empty() {
            let close = format!("</{name}>");
            tail.find(&close).map_or(tail.len(), |j| j + close.len())
        } else {
            tag_end
        };
        rest = &tail[skip_to..];
    }
    out.push_str(rest);
    out
}

/// Words a Chinese page may show in Latin letters: the product's and formats' names, codes.
const LATIN_ALLOWED: &[&str] = &[
    "API",
    "English",
    "JSON",
    "CSV",
    "XLSX",
    "PDF",
    "JPEG",
    "PNG",
    "WebP",
    "MB",
    "JavaScript",
    "QR",
    "tlog",
    "proof",
    "MB1",
    "Table",
    "Schema",
    "note",
    "vkey",
];

/// Whether `text` (a Chinese page's visible text) has English prose: a run of two or more
/// Latin words of three letters or more, or a translation key left untranslated.
fn untranslated(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphabetic() || c == '.' || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut found = Vec::new();
    for w in &words {
        let bare = w.trim_matches(|c| c == '.' || c == '-');
        // A key like `problem.not-found` or `me.title`.
        if bare.contains('.')
            && bare.split('.').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
            })
        {
            found.push(bare.to_string());
        }
    }
    let prose = |w: &str| {
        w.len() >= 3 && w.chars().all(|c| c.is_ascii_alphabetic()) && !LATIN_ALLOWED.contains(&w)
    };
    let mut run: Vec<&str> = Vec::new();
    for w in text.split(|c: char| !c.is_ascii_alphabetic() && c != ' ') {
        for part in w.split(' ').filter(|p| !p.is_empty()) {
            if prose(part) {
                run.push(part);
            } else {
                run.clear();
            }
            if run.len() >= 2 {
                found.push(run.join(" "));
                run.clear();
            }
        }
        run.clear();
    }
    found
}

#[test]
fn the_untranslated_check_finds_english_prose_and_keys_but_not_names() {
    assert!(untranslated("请先登录 API · JSON").is_empty());
    assert_eq!(
        untranslated("错误：your role may not do this"),
        ["your role", "may not"]
    );
    assert!(untranslated(&visible_text(
        "<p>区划 <span lang=\"en\">Dongshan Community</span> <td class=\"hint mono\">regions read</td></p>"
    ))
    .is_empty());
    assert_eq!(
        untranslated("标题 problem.not-found"),
        ["problem.not-found"]
    );
}

/// A deed the world's partner submitted under a standard that trusts it (straight onto
/// publicity, its step noted by the system); the deed's page.
async fn partner_submitted_deed(w: &World) -> String {
    w.store
        .evaluation()
        .trust_partners(
            "volunteer-hour",
            std::slice::from_ref(&w.partner_id),
            "staff:test",
        )
        .await
        .unwrap();
    let submitted = moralbank_store::evaluation::NewDeed {
        citizen_id: w.citizen.id.clone(),
        reporter: moralbank_store::evaluation::Reporter::Partner {
            partner_id: w.partner_id.clone(),
            key: domain::IdempotencyKey::parse("hours-1").unwrap(),
        },
        standard_code: "volunteer-hour".into(),
        deed_date: moralbank_store::day_of(w.clock.now_ms()),
        place: "东山社区".into(),
        description: "垃圾分类督导 1 小时".into(),
        evidence: vec![],
        points: Some(2),
    };
    let d = w
        .store
        .evaluation()
        .report_deed(
            &submitted,
            &moralbank_store::evaluation::Rules::default(),
            w.clock.now_ms(),
        )
        .await
        .unwrap();
    format!("/deeds/{}", d.id)
}

/// The consoles of the partners and offices with their own roles: the bank's, the volunteer
/// alliance's and the village clerk's request, the technology supermarket's office and its
/// refusal of a bad registration.
async fn partner_and_office_pages(w: &World, seen: &mut Vec<(String, Vec<String>)>) {
    let evaluator = w.staff(Role::Evaluator);
    // The bank's console, as its operator sees it.
    let (status, _, html) = w
        .page("GET", "/console/credit", Some(&w.bank_operator), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    seen.push((
        "/console/credit (bank)".into(),
        untranslated(&visible_text(&html)),
    ));
    // The volunteer alliance's console, and the village clerk's request for a resident.
    for (path, who) in [
        ("/console/dispatch".to_string(), &w.alliance_operator),
        (format!("/console/dispatch/for/{}", w.citizen.id), evaluator),
    ] {
        let (status, _, html) = w.page("GET", &path, Some(who), &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        seen.push((path, untranslated(&visible_text(&html))));
    }
    // The technology supermarket's office, and its refusal of a bad registration.
    let broker = w.staff(Role::Broker);
    let (status, _, html) = w.page("GET", "/console/market", Some(broker), &[]).await;
    assert_eq!(status, StatusCode::OK);
    seen.push((
        "/console/market (broker)".into(),
        untranslated(&visible_text(&html)),
    ));
    let (status, _, html) = w
        .page(
            "POST",
            "/console/market/enterprises",
            Some(broker),
            &[
                ("name", "x"),
                ("credit_code", "1"),
                ("contact_phone", "1"),
                ("username", "a b"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    seen.push((
        "/console/market/enterprises (refused)".into(),
        untranslated(&visible_text(&html)),
    ));
}

async fn pages_show_no_english_prose_or_untranslated_keys_in_chinese(w: World) {
    let admin = w.staff(Role::Admin);
    let evaluator = w.staff(Role::Evaluator);
    let mut seen = Vec::new();
    let resident_pages = [
        "/me",
        "/me/settings",
        "/me/access",
        "/me/code",
        "/me/deeds",
        "/deeds/new",
        "/me/inbox",
        "/me/entries",
        "/benefits",
        "/standards",
        "/me/credit",
        "/help",
        "/volunteer",
        "/volunteer/certificate",
        "/expert",
        "/no/such/page",
    ];
    for path in resident_pages {
        let (status, _, html) = w.page("GET", path, Some(&w.citizen), &[]).await;
        assert!(
            status.is_success() || status == StatusCode::NOT_FOUND,
            "{path}: {status}"
        );
        seen.push((path.to_string(), untranslated(&visible_text(&html))));
    }
    let staff_pages = [
        "/console",
        "/console/staff",
        "/console/regions",
        "/console/partners",
        "/console/green-cards",
        "/console/citizens",
        "/console/ledger",
        "/console/standards",
        "/console/statistics",
        "/console/imports",
        "/console/inbox",
        "/console/benefits",
        "/console/credit/tables",
        "/console/credit/figures",
        "/console/citizens/00000000-0000-0000-0000-000000000000",
    ];
    for path in staff_pages {
        let (_, _, html) = w.page("GET", path, Some(admin), &[]).await;
        seen.push((
            format!("{path} (admin)"),
            untranslated(&visible_text(&html)),
        ));
    }
    partner_and_office_pages(&w, &mut seen).await;
    // A page the evaluator may not open: the refusal is explained in Chinese.
    let (status, _, html) = w.page("GET", "/console/staff", Some(evaluator), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("您的角色"), "{html}");
    seen.push((
        "/console/staff (evaluator)".into(),
        untranslated(&visible_text(&html)),
    ));
    // A deed a trusted partner submitted (its steps noted by the system) read by its resident.
    let path = partner_submitted_deed(&w).await;
    let (status, _, html) = w.page("GET", &path, Some(&w.citizen), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("进入公示"), "{html}");
    seen.push((path, untranslated(&visible_text(&html))));
    for path in [
        "/",
        "/login",
        "/enrol",
        "/staff/login",
        "/log",
        "/open-data",
        "/credit/tables",
        "/market",
    ] {
        let (_, _, html) = w.send(anonymous("GET", path, "", "t", "")).await;
        seen.push((path.to_string(), untranslated(&visible_text(&html))));
    }
    let bad: Vec<_> = seen.into_iter().filter(|(_, f)| !f.is_empty()).collect();
    assert!(
        bad.is_empty(),
        "untranslated text on Chinese pages: {bad:#?}"
    );
}

async fn the_residents_home_settings_and_access_log_are_separate_pages(w: World) {
    let (status, _, home) = w.page("GET", "/me", Some(&w.citizen), &[]).await;
    assert_eq!(status, StatusCode::OK);
    // The code first, the tier as stars, the bottom tabs; settings are elsewhere.
    for needle in [
        "id=\"show-code\"",
        "id=\"my-stars\"",
        "id=\"points-chart\"",
        "class=\"tabbar\"",
        // (minijinja escapes the slashes of an attribute's value.)
        "href=\"&#x2f;me&#x2f;settings\"",
    ] {
        assert!(home.contains(needle), "{needle}: {home}");
    }
    assert!(!home.contains("action=\"/me/withdraw\""));
    let (_, _, settings) = w.page("GET", "/me/settings", Some(&w.citizen), &[]).await;
    assert!(settings.contains("action=\"/me/withdraw\"") && settings.contains("id=\"my-name\""));
    // The access log a page at a time: 35 reads are two pages, the older one linked.
    let admin = w.staff(Role::Admin);
    for _ in 0..35 {
        let path = format!("/citizens/{}", w.citizen.id);
        let (s, _) = w.api("GET", &path, Some(&admin.token), None).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (_, _, first) = w.page("GET", "/me/access", Some(&w.citizen), &[]).await;
    assert_eq!(first.matches("<tr><td>").count(), 30, "{first}");
    let older = first
        .split("href=\"/me/access?after=")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link to the older rows")
        .to_string();
    let (_, _, second) = w
        .page(
            "GET",
            &format!("/me/access?after={older}"),
            Some(&w.citizen),
            &[],
        )
        .await;
    assert!(second.matches("<tr><td>").count() >= 5, "{second}");
    assert!(!second.contains("/me/access?after="), "no third page");
    // A cursor that is not one reads as the first page, never an error.
    let (s, _, _) = w
        .page("GET", "/me/access?after=yesterday", Some(&w.citizen), &[])
        .await;
    assert_eq!(s, StatusCode::OK);
}

/// A multipart deed report: the fields, then one file.
fn report(csrf: &str, file: &[u8], file_type: &str) -> (String, Vec<u8>) {
    report_with(
        &[
            ("csrf", csrf),
            ("standard", "neighbourly-help"),
            ("deed_date", "2026-01-01"),
            ("place", "东门菜场"),
            ("description", "帮独居老人买菜送到家"),
            ("nominee_phone", ""),
        ],
        file,
        file_type,
    )
}

fn report_with(fields: &[(&str, &str)], file: &[u8], file_type: &str) -> (String, Vec<u8>) {
    let boundary = "XyZ14boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"a.txt\"\r\nContent-Type: {file_type}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn a_report_refused_for_its_file_keeps_what_was_typed(w: World) {
    let (content_type, body) = report(&w.citizen.csrf, b"not a photo at all", "text/plain");
    let req = Request::builder()
        .method("POST")
        .uri("/deeds/new")
        .header(header::COOKIE, format!("mb_session={}", w.citizen.token))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, _, html) = w.send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"evidence-error\""), "{html}");
    assert!(
        html.contains("东门菜场") && html.contains("帮独居老人买菜送到家"),
        "{html}"
    );
    assert!(html.contains("value=\"2026-01-01\""), "{html}");
    assert!(
        html.contains("value=\"neighbourly-help\" selected"),
        "{html}"
    );
    // Nothing was reported.
    let deeds = w
        .store
        .evaluation()
        .citizen_deeds(&w.citizen.id, 10)
        .await
        .unwrap();
    assert!(deeds.is_empty(), "{deeds:?}");
}

async fn send_report(w: &World, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let (content_type, body) = report_with(fields, b"", "application/octet-stream");
    let req = Request::builder()
        .method("POST")
        .uri("/deeds/new")
        .header(header::COOKIE, format!("mb_session={}", w.citizen.token))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, h, html) = w.send(req).await;
    (status, location(&h), html)
}

async fn a_report_form_sent_twice_records_one_deed(w: World) {
    let (_, _, page) = w.page("GET", "/deeds/new", Some(&w.citizen), &[]).await;
    let token = page
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the form carries a one-time token")
        .to_string();
    let today = moralbank_store::day_of(w.clock.now_ms());
    let fields = |description: &'static str| {
        vec![
            ("csrf", w.citizen.csrf.clone()),
            ("form_token", token.clone()),
            ("standard", "neighbourly-help".to_string()),
            ("deed_date", today.clone()),
            ("place", "东门菜场".to_string()),
            ("description", description.to_string()),
        ]
    };
    let as_refs = |v: &[(&'static str, String)]| -> Vec<(&'static str, String)> { v.to_vec() };
    let first = as_refs(&fields("帮独居老人买菜送到家"));
    let borrowed: Vec<(&str, &str)> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s1, to1, _) = send_report(&w, &borrowed).await;
    // The browser's back button and the same form sent again: the same deed, not a second.
    let (s2, to2, _) = send_report(&w, &borrowed).await;
    assert_eq!((s1, s2), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert!(to1.starts_with("/deeds/") && to1 == to2, "{to1} {to2}");
    let mine = |w: &World| {
        let store = w.store.clone();
        let id = w.citizen.id.clone();
        async move {
            store
                .evaluation()
                .citizen_deeds(&id, 10)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(mine(&w).await, 1);
    // The same form sent twice at once (a double tap): still one deed, both answered with it.
    let twice = as_refs(&fields("帮独居老人买菜送到家"));
    let fresh = "a-second-form-token";
    let borrowed: Vec<(&str, &str)> = twice
        .iter()
        .map(|(k, v)| {
            (
                *k,
                if *k == "form_token" {
                    fresh
                } else {
                    v.as_str()
                },
            )
        })
        .collect();
    let (a, b) = tokio::join!(send_report(&w, &borrowed), send_report(&w, &borrowed));
    assert_eq!((a.0, b.0), (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER));
    assert!(a.1 == b.1 && a.1 != to1, "{} {}", a.1, b.1);
    assert_eq!(mine(&w).await, 2);
    // Back, changed and sent again with the same token: said so, nothing recorded, and a
    // fresh token so that a deliberate second report goes through.
    let changed = as_refs(&fields("帮邻居把煤气罐扛上五楼"));
    let borrowed: Vec<(&str, &str)> = changed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s3, _, html) = send_report(&w, &borrowed).await;
    assert_eq!(s3, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("这份表单已经提交过了"), "{html}");
    assert!(
        html.contains("帮邻居把煤气罐扛上五楼"),
        "typed text kept: {html}"
    );
    assert!(!html.contains(&token), "a fresh token");
    assert_eq!(mine(&w).await, 2);
}

async fn unlinking_a_member_needs_its_own_confirmed_form_and_the_queue_warns(w: World) {
    let admin = w.staff(Role::Admin);
    let evaluator = w.staff(Role::Evaluator);
    // The linking form sent with no ID number unlinks nobody.
    let path = format!("/console/staff/{}/resident", evaluator.id);
    let (status, _, html) = w
        .page("POST", &path, Some(admin), &[("resident_id", "")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请填写该委员本人的身份证号"), "{html}");
    // Link them (so there is something to unlink), then unlink without and with the box.
    let linked = w.link_member(&evaluator.id, 40).await;
    assert!(!linked.is_empty());
    let (status, _, html) = w
        .page("POST", &path, Some(admin), &[("unlink", "yes")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请勾选确认后再解除关联"), "{html}");
    let links = w.store.evaluation().staff_links().await.unwrap();
    assert!(links
        .iter()
        .any(|l| l.staff_id == evaluator.id && l.citizen_id.is_some()));
    let (status, _, _) = w
        .page(
            "POST",
            &path,
            Some(admin),
            &[("unlink", "yes"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let links = w.store.evaluation().staff_links().await.unwrap();
    assert!(links
        .iter()
        .any(|l| l.staff_id == evaluator.id && l.citizen_id.is_none()));
    // A deed waits in a village whose committee cannot reach its quorum: the evaluator's
    // queue and landing page and the admin's landing page say so.
    let today = moralbank_store::day_of(w.clock.now_ms());
    let fields = [
        ("csrf", w.citizen.csrf.as_str()),
        ("standard", "neighbourly-help"),
        ("deed_date", today.as_str()),
        ("place", "东门菜场"),
        ("description", "帮独居老人买菜送到家"),
    ];
    let (s, _, _) = send_report(&w, &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, queue) = w.page("GET", "/console/queue", Some(evaluator), &[]).await;
    assert!(queue.contains("id=\"quorum-warning\""), "{queue}");
    let (_, _, landing) = w.page("GET", "/console", Some(evaluator), &[]).await;
    assert!(
        landing.contains("id=\"quorum-warning\"") && landing.contains("id=\"task-queue\""),
        "{landing}"
    );
    assert!(
        !landing.contains("已登记居民"),
        "no city counts for a village's evaluator"
    );
    let (_, _, landing) = w.page("GET", "/console", Some(admin), &[]).await;
    assert!(
        landing.contains("id=\"quorum-warnings\"") && landing.contains("已登记居民"),
        "{landing}"
    );
}

async fn the_export_holds_everything_held_about_the_resident(w: World) {
    // A deed, a green card and a read of their record: each in the export.
    let today = moralbank_store::day_of(w.clock.now_ms());
    let fields = [
        ("csrf", w.citizen.csrf.as_str()),
        ("standard", "neighbourly-help"),
        ("deed_date", today.as_str()),
        ("place", "东门菜场"),
        ("description", "帮独居老人买菜送到家"),
    ];
    let (s, _, _) = send_report(&w, &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let admin = w.staff(Role::Admin);
    let card = serde_json::json!({ "citizen_id": w.citizen.id, "honour": "brave-deed", "citation": "跳入姚江救起落水儿童", "valid_until": "2099-12-31" });
    let (s, _) = w
        .api("POST", "/green-cards", Some(&admin.token), Some(card))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, export) = w
        .api("GET", "/me/export", Some(&w.citizen.token), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(export["format"], "moralbank-export-v2");
    for part in [
        "citizen",
        "household_members",
        "consents",
        "access_log",
        "points_entries",
        "deeds",
        "redemptions",
        "green_cards",
        "inbox",
    ] {
        assert!(!export[part].is_null(), "{part} missing: {export}");
    }
    assert_eq!(
        export["deeds"][0]["deed"]["description"],
        "帮独居老人买菜送到家"
    );
    assert!(export["deeds"][0]["events"]
        .as_array()
        .is_some_and(|e| !e.is_empty()));
    assert_eq!(export["green_cards"].as_array().map(Vec::len), Some(1));
    assert!(export["inbox"]
        .as_array()
        .is_some_and(|n| n.iter().any(|n| n["kind"] == "green_card_issued")));
    // The same, readable, on a page.
    let (s, _, page) = w
        .page("GET", "/me/export/view", Some(&w.citizen), &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("帮独居老人买菜送到家") && page.contains("GC"),
        "{page}"
    );
    // Other residents are not named in it: a nominee's export has no nominator's id.
    let (nominee, _) = w.villager(63).await;
    let nominated = moralbank_store::evaluation::NewDeed {
        citizen_id: nominee.clone(),
        reporter: moralbank_store::evaluation::Reporter::Citizen(w.citizen.id.clone()),
        standard_code: "neighbourly-help".into(),
        deed_date: today.clone(),
        place: "东门菜场".into(),
        description: "邻居推荐：帮我修好了漏水的屋顶".into(),
        evidence: vec![],
        points: None,
    };
    w.store
        .evaluation()
        .report_deed(
            &nominated,
            &moralbank_store::evaluation::Rules::default(),
            w.clock.now_ms(),
        )
        .await
        .unwrap();
    let (token, _) = w
        .store
        .accounts()
        .create_session(moralbank_store::SubjectKind::Citizen, &nominee, 3_600_000)
        .await
        .unwrap();
    let (_, theirs) = w.api("GET", "/me/export", Some(&token), None).await;
    let text = theirs.to_string();
    assert!(text.contains("帮我修好了漏水的屋顶"), "{text}");
    let (_, mine) = w
        .api("GET", "/me/export", Some(&w.citizen.token), None)
        .await;
    assert!(
        !mine.to_string().contains(&nominee),
        "nor the nominee in the nominator's: {mine}"
    );
    assert!(
        !text.contains(&w.citizen.id),
        "the nominator stays unnamed: {text}"
    );
}

async fn the_admin_creates_scenes_and_benefits_on_a_page(w: World) {
    let admin = w.staff(Role::Admin);
    w.store.code().ensure_default_scenes().await.unwrap();
    // A scene with a bad code: named at its field, what was typed kept, nothing created.
    let before = w.store.code().scenes().await.unwrap().len();
    let (status, _, html) = w
        .page(
            "POST",
            "/console/scenes",
            Some(admin),
            &[
                ("code", "Bad Code!"),
                ("name_zh", "养老服务"),
                ("name_en", "Elderly care"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("养老服务") && html.contains("id=\"error-summary\""),
        "{html}"
    );
    assert_eq!(w.store.code().scenes().await.unwrap().len(), before);
    let (status, h, _) = w
        .page(
            "POST",
            "/console/scenes",
            Some(admin),
            &[
                ("code", "care"),
                ("name_zh", "养老服务"),
                ("name_en", "Elderly care"),
            ],
        )
        .await;
    assert_eq!(
        (status, location(&h).as_str()),
        (StatusCode::SEE_OTHER, "/console/benefits?saved=scene")
    );
    // A quota benefit: a points cost left in its field is not read; a missing quota is refused.
    let partner = w.partner_id.clone();
    let mut form = vec![
        ("scene", "care"),
        ("partner_id", partner.as_str()),
        ("name_zh", "免费理发"),
        ("name_en", "Free haircut"),
        ("description_zh", "每月一次"),
        ("description_en", "Once a month"),
        ("min_tier", "2"),
        ("kind", "quota"),
        ("quota", ""),
        ("quota_period", "month"),
        ("points_cost", "30"),
    ];
    let (status, _, html) = w
        .page("POST", "/console/benefits", Some(admin), &form)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("id=\"quota-error\"") && html.contains("免费理发"),
        "{html}"
    );
    form[8] = ("quota", "1");
    let (status, h, _) = w
        .page("POST", "/console/benefits", Some(admin), &form)
        .await;
    assert_eq!(
        (status, location(&h).as_str()),
        (StatusCode::SEE_OTHER, "/console/benefits?saved=benefit")
    );
    let b = w
        .store
        .code()
        .benefits()
        .await
        .unwrap()
        .into_iter()
        .find(|b| b.name_zh == "免费理发")
        .expect("created");
    assert_eq!(
        (b.kind.as_str(), b.quota, b.points_cost, b.min_tier),
        ("quota", Some(1), None, 2)
    );
    let (_, _, page) = w
        .page("GET", "/console/benefits?saved=benefit", Some(admin), &[])
        .await;
    assert!(
        page.contains("已新增礼遇") && page.contains("免费理发"),
        "{page}"
    );
}

async fn the_admin_picks_a_resident_by_search_instead_of_typing_an_id(w: World) {
    let admin = w.staff(Role::Admin);
    // A green card: the search (by name) offers each result to choose, and the card page
    // shows the one chosen, masked.
    let (_, _, page) = w
        .page("GET", "/console/citizens?pick=green-card", Some(admin), &[])
        .await;
    assert!(page.contains("id=\"pick-note\""), "{page}");
    let (_, villager_rid) = w.villager(61).await;
    let (_, _, found) = w
        .page(
            "POST",
            "/console/citizens",
            Some(admin),
            &[
                ("pick", "green-card"),
                ("resident_id", villager_rid.as_str()),
            ],
        )
        .await;
    let citizen = found
        .split("/console/green-cards?citizen=")
        .nth(1)
        .and_then(|s| s.split('#').next())
        .expect("a result to choose")
        .to_string();
    let (_, _, issue) = w
        .page(
            "GET",
            &format!("/console/green-cards?citizen={citizen}"),
            Some(admin),
            &[],
        )
        .await;
    assert!(
        issue.contains("id=\"picked\"") && issue.contains("王*"),
        "{issue}"
    );
    let (status, _, _) = w
        .page(
            "POST",
            "/console/green-cards",
            Some(admin),
            &[
                ("citizen_id", citizen.as_str()),
                ("honour", "brave-deed"),
                ("citation", "跳入姚江救人"),
                ("valid_until", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cards = w.store.code().citizen_green_cards(&citizen).await.unwrap();
    assert_eq!(cards.len(), 1);
    // Revoking needs its box ticked.
    let path = format!("/console/green-cards/{}/revoke", cards[0].id);
    let (status, _, html) = w
        .page("POST", &path, Some(admin), &[("reason", "误发")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("确认撤销"), "{html}");
    assert!(
        w.store.code().citizen_green_cards(&citizen).await.unwrap()[0]
            .revoked_at
            .is_none()
    );
    let (status, _, _) = w
        .page(
            "POST",
            &path,
            Some(admin),
            &[("reason", "误发"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A committee member linked from a search result.
    let evaluator = w.staff(Role::Evaluator);
    let (member, _) = w.villager(62).await;
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/console/staff/{}/resident", evaluator.id),
            Some(admin),
            &[("citizen_id", member.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let links = w.store.evaluation().staff_links().await.unwrap();
    assert!(links
        .iter()
        .any(|l| l.staff_id == evaluator.id && l.citizen_id.as_deref() == Some(member.as_str())));
    // Someone who may not: the pick is not offered to an evaluator.
    let (_, _, page) = w
        .page(
            "GET",
            "/console/citizens?pick=green-card",
            Some(evaluator),
            &[],
        )
        .await;
    assert!(!page.contains("id=\"pick-note\""), "{page}");
}

async fn the_app_installs_on_a_phone(w: World) {
    let (status, h, body) = w
        .send(anonymous("GET", "/manifest.webmanifest", "", "t", ""))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/manifest+json"));
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (m["start_url"].as_str(), m["display"].as_str()),
        (Some("/me"), Some("standalone"))
    );
    for icon in m["icons"].as_array().unwrap() {
        let src = icon["src"].as_str().unwrap();
        let (status, h, _) = w.send(anonymous("GET", src, "", "t", "")).await;
        assert_eq!(status, StatusCode::OK, "{src}");
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("image/"),
            "{src}"
        );
    }
    let (_, _, page) = w.send(anonymous("GET", "/", "", "t", "")).await;
    assert!(page.contains("rel=\"manifest\""));
}

async fn the_scanner_says_it_needs_javascript(w: World) {
    let (status, _, html) = w
        .page("GET", "/scan", Some(w.staff(Role::PartnerOperator)), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    // Without the script the status line (keys loading…) stays hidden and the page says why.
    assert!(html.contains("id=\"scanner-status\" hidden"), "{html}");
    assert!(
        html.contains("<noscript>") && html.contains("扫码核验需要在浏览器中启用 JavaScript"),
        "{html}"
    );
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    an_unknown_address_is_a_page_in_the_readers_language,
    sign_in_returns_to_the_page_and_says_when_the_session_ended,
    asking_for_codes_too_often_keeps_the_form_with_a_countdown,
    pages_show_no_english_prose_or_untranslated_keys_in_chinese,
    the_residents_home_settings_and_access_log_are_separate_pages,
    a_report_refused_for_its_file_keeps_what_was_typed,
    a_report_form_sent_twice_records_one_deed,
    unlinking_a_member_needs_its_own_confirmed_form_and_the_queue_warns,
    the_export_holds_everything_held_about_the_resident,
    the_admin_creates_scenes_and_benefits_on_a_page,
    the_admin_picks_a_resident_by_search_instead_of_typing_an_id,
    the_app_installs_on_a_phone,
    the_scanner_says_it_needs_javascript,
);
