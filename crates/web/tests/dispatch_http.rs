#![allow(clippy::unwrap_used, clippy::too_many_lines)] // scenario tests tell one story each
//! Volunteer dispatch over HTTP, on SQLite and PostgreSQL: a resident asks for help, the
//! alliance accepts it, the matcher proposes with why and the organiser sends the offer, the
//! volunteer accepts, checks in and out with the rotating site code (a replayed or forged code
//! refused), the resident confirms and rates, the hours become a deed; bad input kept and
//! explained; who may see what; the clerk's request on behalf; the export.

mod common;

use axum::http::{header, StatusCode};
use common::{Account, World};
use moralbank_store::SubjectKind;

const HOUR: i64 = 3_600_000;

async fn signed_in(w: &World, id: &str) -> Account {
    let (token, session) = w
        .store
        .accounts()
        .create_session(SubjectKind::Citizen, id, 3_600_000)
        .await
        .unwrap();
    Account {
        id: id.to_string(),
        token,
        csrf: session.csrf_token,
    }
}

/// A resident of the first village who volunteers for the test alliance on their page.
async fn volunteer(w: &World, n: u64) -> Account {
    let (id, _) = w.villager(n).await;
    let me = signed_in(w, &id).await;
    let mut form: Vec<(String, String)> = vec![
        ("alliances".into(), w.alliance_id.clone()),
        ("skills".into(), "elderly-care".into()),
        ("consent".into(), "yes".into()),
    ];
    for d in 0..7 {
        for p in ["morning", "afternoon", "evening"] {
            form.push(("avail".into(), format!("{d}:{p}")));
        }
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _, body) = w.page("POST", "/volunteer", Some(&me), &pairs).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    me
}

/// Tomorrow at 09:00 China time (the test clock's), as the form's date.
fn tomorrow(w: &World) -> String {
    domain::time::day_of(w.state.clock.now_ms() + 24 * HOUR)
}

fn between<'a>(page: &'a str, from: &str, to: &str) -> &'a str {
    let rest = &page[page.find(from).unwrap() + from.len()..];
    &rest[..rest.find(to).unwrap()]
}

/// The site code the organiser's screen shows now for `shift`.
async fn site(w: &World, shift: &str) -> String {
    let (status, headers, page) = w
        .page(
            "GET",
            &format!("/console/dispatch/site/{shift}"),
            Some(&w.alliance_operator),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // The page escapes HTML's special characters (Base45 has '/'); a camera reads the QR.
    between(&page, "id=\"site-text\">", "<")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

async fn the_whole_loop_from_asking_to_points(w: World) {
    let me = &w.citizen;
    let v = volunteer(&w, 1).await;
    let date = tomorrow(&w);
    // Bad input: every field named, what was typed kept, nothing written.
    let (status, _, page) = w
        .page(
            "POST",
            "/help",
            Some(me),
            &[
                ("alliance_id", &w.alliance_id),
                ("category", "neighbourhood"),
                ("title", ""),
                ("place", "谢家塘村12号"),
                ("date", "2020-01-01"),
                ("start", "09:00"),
                ("end", "11:00"),
                ("people", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"title-error\"") && page.contains("id=\"starts_at-error\""),
        "{page}"
    );
    assert!(page.contains("value=\"谢家塘村12号\""));
    assert_eq!(
        w.store
            .count_for_tests("SELECT COUNT(*) FROM dispatch_tasks")
            .await
            .unwrap(),
        0
    );
    let ask = [
        ("alliance_id", w.alliance_id.as_str()),
        ("category", "neighbourhood"),
        ("title", "陪同老人去医院复查"),
        ("place", "谢家塘村12号"),
        ("date", date.as_str()),
        ("start", "09:00"),
        ("end", "11:00"),
        ("people", "1"),
        ("skills", "elderly-care"),
        ("form_token", "tok-help-1"),
    ];
    let (status, headers, body) = w.page("POST", "/help", Some(me), &ask).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let task = headers[header::LOCATION]
        .to_str()
        .unwrap()
        .rsplit_once("#task-")
        .unwrap()
        .1
        .to_string();
    // The same form sent twice makes one request.
    let (status, _, _) = w.page("POST", "/help", Some(me), &ask).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.store
            .count_for_tests("SELECT COUNT(*) FROM dispatch_tasks")
            .await
            .unwrap(),
        1
    );

    // The alliance reviews and asks the matcher.
    let op = &w.alliance_operator;
    let (status, _, page) = w.page("GET", "/console/dispatch", Some(op), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("陪同老人去医院复查"));
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/console/dispatch/tasks/{task}/accept"),
            Some(op),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Open, the task's page gives the requester's phone to reach them (and logs the read).
    let (_, _, page) = w
        .page(
            "GET",
            &format!("/console/dispatch/tasks/{task}"),
            Some(op),
            &[],
        )
        .await;
    assert!(page.contains(&format!("tel:{}", w.citizen_phone)), "{page}");
    let (status, _, page) = w
        .page(
            "POST",
            "/console/dispatch/propose",
            Some(op),
            &[("task", &task)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("data-term=\"same_village\""), "{page}");
    let choice = between(&page, "name=\"choice.", "\"").to_string();
    assert!(
        page.contains(&format!("value=\"{}\" checked", v.id)),
        "{page}"
    );
    let (status, _, body) = w
        .page(
            "POST",
            "/console/dispatch/send",
            Some(op),
            &[(&format!("choice.{choice}"), &v.id)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");

    // The volunteer sees the offer, with why, and accepts it.
    let (_, _, page) = w.page("GET", "/volunteer", Some(&v), &[]).await;
    let offer = between(&page, "id=\"accept-", "\"").to_string();
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/volunteer/offers/{offer}/accept"),
            Some(&v),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // At the start the organiser shows the site code; the volunteer scans it.
    let shift: String = w.store.dispatch().shifts(&task).await.unwrap()[0]
        .id
        .clone();
    let starts = w.store.dispatch().shifts(&task).await.unwrap()[0].starts_at;
    w.clock.set(starts - 5 * 60_000);
    let code = site(&w, &shift).await;
    assert!(code.starts_with("MBS1:"));
    let (status, headers, body) = w
        .page("POST", "/volunteer/scan", Some(&v), &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(headers[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("checked-in"));
    // The same code again is refused; so is a forged one, and anyone without a place.
    let (status, _, page) = w
        .page("POST", "/volunteer/scan", Some(&v), &[("code", &code)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("这个签到码您已用过"), "{page}");
    let mut forged = code.clone().into_bytes();
    let i = forged.len() - 12;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let (status, _, page) = w
        .page(
            "POST",
            "/volunteer/scan",
            Some(&v),
            &[("code", &String::from_utf8(forged).unwrap())],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("签到码是伪造或被改动的")
            || page.contains("签到码格式有误")
            || page.contains("签到码不完整"),
        "{page}"
    );
    let other = volunteer(&w, 2).await;
    let (status, _, _) = w
        .page(
            "POST",
            "/volunteer/scan",
            Some(&other),
            &[("code", &site(&w, &shift).await)],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // A code photographed and used later has lapsed.
    let old = site(&w, &shift).await;
    w.clock.set(starts + 2 * HOUR + 5 * 60_000);
    let (status, _, page) = w
        .page("POST", "/volunteer/scan", Some(&v), &[("code", &old)])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("签到码已过期"), "{page}");
    let (status, headers, _) = w
        .page(
            "POST",
            "/volunteer/scan",
            Some(&v),
            &[("code", &site(&w, &shift).await)],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION]
        .to_str()
        .unwrap()
        .contains("checked-out"));

    // The resident confirms with one tap; the hours become the alliance's deed.
    let (_, _, page) = w.page("GET", "/help", Some(me), &[]).await;
    assert!(page.contains(&format!("id=\"confirm-{task}\"")), "{page}");
    let (status, _, _) = w
        .page("POST", &format!("/help/{task}/confirm"), Some(me), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let s = &w.store.dispatch().task_service(&task).await.unwrap()[0];
    assert_eq!(s.hours, Some(2));
    assert!(s.deed_id.is_some());
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/help/{task}/rate"),
            Some(me),
            &[("stars", "5"), ("comment", "很及时")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/console/dispatch/tasks/{task}/close"),
            Some(op),
            &[("report", "顺利完成复查")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = w.page("GET", "/volunteer", Some(&v), &[]).await;
    assert!(page.contains("id=\"record-hours\">2<"), "{page}");
    let (status, _, page) = w.page("GET", "/volunteer/certificate", Some(&v), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("陪同老人去医院复查"));
    // The alliance's figures and the export in the national record's fields.
    let (_, _, page) = w.page("GET", "/console/dispatch", Some(op), &[]).await;
    assert!(page.contains("id=\"figures\""));
    let (status, headers, csv) = w
        .page("GET", "/console/dispatch/records.csv", Some(op), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(
        csv.contains("志愿者姓名") && csv.contains("陪同老人去医院复查"),
        "{csv}"
    );
    // The city's dashboard has the month's requests and hours (from the roll-ups).
    w.store.citydata().fold_statistics().await.unwrap();
    let admin = w.staff(domain::Role::Admin);
    let (status, _, page) = w.page("GET", "/console/statistics", Some(admin), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("志愿服务：点单与服务时长"), "{page}");
    // The open data counts the volunteer and the hours by town, a single volunteer as "<10"
    // and their hours withheld with them.
    let (s, v) = w.api_root("/open-data/volunteers-by-town.json").await;
    assert_eq!(s, StatusCode::OK);
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().any(|r| r[3] == "<10" && r[4] == "×"), "{v}");
    assert!(!rows.iter().any(|r| r[4] == "2"), "{v}");
    // The alliance reads the requester's contact on the task's page while it is open; each
    // read is in their access log. Once closed, only the masked name is shown.
    let (_, _, page) = w
        .page(
            "GET",
            &format!("/console/dispatch/tasks/{task}"),
            Some(op),
            &[],
        )
        .await;
    assert!(
        page.contains("id=\"requester\">") && !page.contains(&format!("tel:{}", w.citizen_phone)),
        "{page}"
    );
    let log = w
        .store
        .registry()
        .access_log(&me.id, None, 50)
        .await
        .unwrap();
    assert!(log.iter().any(|a| a.action == "dispatch_task"));
}

async fn who_may_see_what_and_the_clerk_asks_on_behalf(w: World) {
    // Only an alliance's operators reach the console; a library's operator, a resident and an
    // anonymous visitor do not.
    let library = w.staff(domain::Role::PartnerOperator);
    let (status, _, _) = w.page("GET", "/console/dispatch", Some(library), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = w
        .page("GET", "/console/dispatch", Some(&w.citizen), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = w.page("GET", "/help", None, &[]).await;
    assert!(
        status == StatusCode::SEE_OTHER || status == StatusCode::UNAUTHORIZED,
        "{status}"
    );
    // The village clerk asks for a resident of their village, never for one elsewhere.
    let clerk = w.staff(domain::Role::Evaluator);
    let (status, _, _) = w
        .page(
            "GET",
            &format!("/console/dispatch/for/{}", w.far_citizen_id),
            Some(clerk),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, page) = w
        .page(
            "GET",
            &format!("/console/dispatch/for/{}", w.citizen.id),
            Some(clerk),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let date = tomorrow(&w);
    let (status, headers, body) = w
        .page(
            "POST",
            &format!("/console/dispatch/for/{}", w.citizen.id),
            Some(clerk),
            &[
                ("alliance_id", &w.alliance_id),
                ("category", "services"),
                ("title", "帮忙修理漏水的水龙头"),
                ("place", "村口第三户"),
                ("date", &date),
                ("start", "14:00"),
                ("end", "15:30"),
                ("people", "1"),
                ("skills", "repair"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let to = headers[header::LOCATION].to_str().unwrap().to_string();
    let (status, _, page) = w.page("GET", &to, Some(clerk), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("帮忙修理漏水的水龙头"));
    let log = w
        .store
        .registry()
        .access_log(&w.citizen.id, None, 50)
        .await
        .unwrap();
    assert!(log.iter().any(|a| a.action == "dispatch_request_for"));
    // The resident sees it among their requests.
    let (_, _, page) = w.page("GET", "/help", Some(&w.citizen), &[]).await;
    assert!(page.contains("帮忙修理漏水的水龙头"));
    // Another alliance's task page is not found for a library operator; the site code of a
    // shift is the alliance's alone.
    let task = to.rsplit('/').next().unwrap();
    let (status, _, _) = w
        .page(
            "GET",
            &format!("/console/dispatch/tasks/{task}"),
            Some(library),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Joining without the consent ticked is refused at the box, the choices kept.
    let (id, _) = w.villager(9).await;
    let me = signed_in(&w, &id).await;
    let (status, _, page) = w
        .page(
            "POST",
            "/volunteer",
            Some(&me),
            &[
                ("alliances", &w.alliance_id),
                ("skills", "driving"),
                ("avail", "5:morning"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"consent-error\"") && page.contains("value=\"driving\" checked"),
        "{page}"
    );
    assert!(w.store.dispatch().volunteer(&id).await.unwrap().is_none());
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
    the_whole_loop_from_asking_to_points,
    who_may_see_what_and_the_clerk_asks_on_behalf,
);
