#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! City data over HTTP on SQLite and PostgreSQL: a partner's clerk uploads a file, sees the
//! preview, confirms it and watches it commit; a refused file's error workbook; the partner's
//! API with a spreadsheet; the published schema and templates; open data with small cells
//! suppressed, in every format.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::World;
use domain::Role;
use serde_json::Value;

fn upload_body(csrf: &str, name: &str, file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "mb-import-boundary-41";
    let mut body = Vec::new();
    for (k, v) in [("csrf", csrf), ("kind", "partner-deeds")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn resident_number(w: &World) -> String {
    w.store
        .registry()
        .citizen(&w.citizen.id)
        .await
        .unwrap()
        .unwrap()
        .resident_id
        .as_str()
        .to_string()
}

/// Whether the import page at `at` says `committed` within 5 s (the commit runs in the
/// background; the page is asked again every 50 ms).
async fn committed_within_5s(w: &World, at: &str, who: &common::Account) -> bool {
    for _ in 0..100 {
        let (_, _, html) = w.page("GET", at, Some(who), &[]).await;
        if html.contains("status-committed") {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

fn today(w: &World) -> String {
    use moralbank_web::clock::Clock;
    moralbank_store::day_of(w.clock.now_ms())
}

async fn a_clerk_previews_confirms_and_downloads_errors(w: World) {
    let clerk = w.staff(Role::PartnerOperator);
    let rid = resident_number(&w).await;
    let day = today(&w);
    let (s, _, html) = w.page("GET", "/console/imports", Some(clerk), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("upload-partner-deeds") && html.contains("template.xlsx"));
    let upload = |name: &'static str, file: Vec<u8>| {
        let (ct, body) = upload_body(&clerk.csrf, name, &file);
        let req = Request::builder()
            .method("POST")
            .uri("/console/imports")
            .header(header::COOKIE, format!("mb_session={}", clerk.token))
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap();
        w.send(req)
    };
    let csv = format!(
        "记录编号,身份证号,积分标准,事迹日期,地点,事迹描述\nc1,{rid},neighbourly-help,{day},东山社区,帮邻居修屋顶\n"
    );
    let (s, h, _) = upload("deeds.csv", csv.into_bytes()).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let at = h[header::LOCATION].to_str().unwrap().to_string();
    let (_, _, html) = w.page("GET", &at, Some(clerk), &[]).await;
    assert!(html.contains("id=\"confirm\""), "{html}");
    assert!(html.contains("id=\"rows-new\">1<"));
    let (_, mine) = w
        .api("GET", "/me/deeds", Some(&w.citizen.token), None)
        .await;
    assert_eq!(
        mine["items"].as_array().unwrap().len(),
        0,
        "a preview writes nothing"
    );
    let (s, _, _) = w
        .page("POST", &format!("{at}/commit"), Some(clerk), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let committed = committed_within_5s(&w, &at, clerk).await;
    assert!(committed, "the background commit finished");
    let (_, mine) = w
        .api("GET", "/me/deeds", Some(&w.citizen.token), None)
        .await;
    assert_eq!(mine["items"][0]["status"], "review");

    // A refused file: the problems on the page and the error workbook to download.
    let bad =
        format!("编号,身份证号,标准,日期,地点,描述\nc2,{rid},neighbourly-help,45413,东山,修屋顶\n");
    let (_, h, _) = upload("bad.csv", bad.into_bytes()).await;
    let at = h[header::LOCATION].to_str().unwrap().to_string();
    let (_, _, html) = w.page("GET", &at, Some(clerk), &[]).await;
    assert!(
        html.contains("excel_serial_date") && html.contains("D2"),
        "{html}"
    );
    assert!(!html.contains("id=\"confirm\""));
    let (s, h, _) = w
        .page("GET", &format!("{at}/errors.xlsx"), Some(clerk), &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .contains("spreadsheetml"));
    // Another owner's clerk (the admin sends the city's files) finds no such import; a role
    // that imports nothing may not look.
    let (s, _, _) = w.page("GET", &at, Some(w.staff(Role::Admin)), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = w.page("GET", &at, Some(w.staff(Role::Auditor)), &[]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn partners_import_over_the_api_and_templates_are_published(w: World) {
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["deeds:submit".into()], "imports")
        .await
        .unwrap();
    let rid = resident_number(&w).await;
    let day = today(&w);
    let (s, schema) = w
        .api("GET", "/import-kinds/partner-deeds", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(schema["fields"][1]["name"], "resident_id_number");
    assert_eq!(schema["fields"][1]["x-personal"], true);
    let (s, h, _) = w
        .send(
            Request::builder()
                .uri("/api/v1/import-kinds/partner-deeds/template.xlsx")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(h[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("partner-deeds-v1.xlsx"));
    let post = |mode: &'static str, body: Vec<u8>| {
        let req = Request::builder()
            .method("POST")
            .uri(format!(
                "/api/v1/imports?kind=partner-deeds&mode={mode}&file_name=x.csv"
            ))
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::from(body))
            .unwrap();
        w.send(req)
    };
    // GB18030, as Chinese Excel saves CSV.
    let text = format!("编号,身份证号,标准,日期,地点,描述\na1,{rid},neighbourly-help,{day},东山社区,扶老人过马路\n");
    let (gb, _, _) = encoding_rs::GB18030.encode(&text);
    let (s, _, body) = post("preview", gb.to_vec()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["format"].as_str()),
        (Some("previewed"), Some("csv-gb18030"))
    );
    let (s, _, body) = post("commit", gb.to_vec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _, body) = post("commit", gb.to_vec()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("\"already_imported\":true"));
    // A refused file is problem details carrying every problem.
    let (s, h, body) = post(
        "commit",
        format!(
            "编号,身份证号,标准,日期,地点,描述\na2,3.30281E+17,neighbourly-help,{day},东山,x\n"
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["problems"][0]["code"], "id_number_as_number");
    assert_eq!(v["problems"][0]["cell"], "B2");
    let (s, list) = w.api("GET", "/imports", Some(&secret), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    // A query that does not read: who may call comes first (401 without a key), then a
    // problem naming the parameter, never axum's plain-text 400; nothing is imported.
    let twice = "/api/v1/imports?kind=partner-deeds&mode=preview&mode=commit";
    for (key, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(&secret), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let mut req = Request::builder().method("POST").uri(twice);
        if let Some(key) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let (s, h, body) = w.send(req.body(Body::from("x")).unwrap()).await;
        assert_eq!(s, status, "{body}");
        assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
        if key.is_some() {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                (
                    v["errors"][0]["field"].as_str(),
                    v["errors"][0]["code"].as_str()
                ),
                (Some("mode"), Some("query_field")),
                "{v}"
            );
        }
    }
    let (_, list) = w.api("GET", "/imports", Some(&secret), None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    // An id that is not UTF-8 names no import: after the key is checked, a 404 like any
    // unknown id, never axum's plain-text 400.
    for path in ["/api/v1/imports/%FF", "/api/v1/imports/%FF/errors.xlsx"] {
        for (key, status) in [
            (None, StatusCode::UNAUTHORIZED),
            (Some(&secret), StatusCode::NOT_FOUND),
        ] {
            let mut req = Request::builder().uri(path);
            if let Some(key) = key {
                req = req.header(header::AUTHORIZATION, format!("Bearer {key}"));
            }
            let (s, h, body) = w.send(req.body(Body::empty()).unwrap()).await;
            assert_eq!(s, status, "{path}: {body}");
            assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
        }
    }
}

async fn open_data_suppresses_small_cells_in_every_format(w: World) {
    let (s, _, html) = w.page("GET", "/open-data", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("residents-by-town") && html.contains("k = 10"));
    // The loans table says its money rule beside the k rule, in the reader's language.
    assert!(
        html.contains("id=\"loans-by-town\"")
            && (html.contains("至少 4 户") || html.contains("at least 4 households")),
        "{html}"
    );
    let (s, v) = w.api_root("/open-data/residents-by-town.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["disclosure"]["k"], 10);
    // The test city's towns hold a handful of residents each: none is published as it is,
    // and the city's total, which would give the last one away, is withheld too.
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| {
            let n = r[3].as_str().unwrap();
            n == "0" || n == "<10" || n == "×" || n.parse::<i64>().unwrap() >= 10
        }),
        "{v}"
    );
    assert!(rows.iter().any(|r| r[3] == "<10"), "{v}");
    let (s, pkg) = w.api_root("/open-data/datapackage.json").await;
    assert_eq!(s, StatusCode::OK);
    // Five tables (residents, deeds, volunteers, loans, the market by industry), three
    // formats each.
    assert_eq!(pkg["resources"].as_array().unwrap().len(), 15);
    for f in ["residents-by-town.csv", "deeds-by-town-and-category.xlsx"] {
        let (s, _, _) = w
            .send(
                Request::builder()
                    .uri(format!("/open-data/{f}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{f}");
    }
}

async fn the_smallest_published_count_is_configured_never_below_five(mut w: World) {
    let at = |k: i64| moralbank_web::WebConfig {
        open_data_k: k,
        ..(*w.state.config).clone()
    };
    assert!(at(4).check_open_data_k().is_err());
    assert!(at(5).check_open_data_k().is_ok());
    let mut state = w.state.clone();
    state.config = std::sync::Arc::new(at(5));
    w.app = moralbank_web::app(state);
    let (s, _, html) = w.page("GET", "/open-data", None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("k = 5"), "{html}");
    let (_, v) = w.api_root("/open-data/residents-by-town.json").await;
    assert_eq!(v["disclosure"]["k"], 5);
    let rows = v["rows"].as_array().unwrap();
    assert!(
        rows.iter().all(|r| {
            let n = r[3].as_str().unwrap();
            n == "0" || n == "<5" || n == "×" || n.parse::<i64>().unwrap() >= 5
        }),
        "{v}"
    );
}

/// A CSV from the dashboard: its header and rows (after the byte-order mark).
async fn dashboard_csv(
    w: &World,
    who: &common::Account,
    path: &str,
) -> (Vec<String>, Vec<Vec<String>>) {
    let (s, h, body) = w.page("GET", path, Some(who), &[]).await;
    assert_eq!(s, StatusCode::OK, "{path}: {body}");
    assert!(h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let body = body
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for Excel");
    let mut lines = body
        .lines()
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
    let head = lines.next().unwrap();
    (
        head.join(",").split(',').map(String::from).collect(),
        lines.collect(),
    )
}

fn column_sum(rows: &[Vec<String>], i: usize) -> i64 {
    rows.iter().map(|r| r[i].parse::<i64>().unwrap_or(0)).sum()
}

async fn the_dashboard_shows_each_role_its_own_scope(w: World) {
    use moralbank_web::clock::Clock;
    w.store.citydata().fold_statistics().await.unwrap();
    let now = w.clock.now_ms();
    let to = moralbank_store::day_of(now)[..7].to_string();
    let from = moralbank_store::day_of(now - 650 * 86_400_000)[..7].to_string();
    let q = format!("from={from}&to={to}");
    let admin = w.staff(Role::Admin);

    // The admin sees the city: every chart with its table and CSV, towns by name.
    let (s, _, html) = w
        .page("GET", &format!("/console/statistics?{q}"), Some(admin), &[])
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    for id in [
        "enrolment",
        "residents-by-region",
        "points-by-region",
        "deeds-by-category",
        "outcomes",
        "scans-daily",
        "redemptions-by-scene",
        "green-cards",
        "volunteers",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        assert!(
            html.contains(&format!("/console/statistics/{id}.csv?")),
            "{id}"
        );
    }
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 9);
    assert!(html.contains("全部镇（街道）"), "the admin may pick a town");
    let (head, rows) =
        dashboard_csv(&w, admin, &format!("/console/statistics/enrolment.csv?{q}")).await;
    assert_eq!(head, ["月份", "新登记", "撤回", "登记居民总数"]);
    assert_eq!(
        column_sum(&rows, 1),
        200,
        "every seeded resident enrolled in the period"
    );
    assert_eq!(rows.last().unwrap()[3], "200");
    assert!(
        rows.iter().filter(|r| r[1] != "0").count() > 6,
        "enrolment is spread over the months"
    );
    let (_, rows) = dashboard_csv(
        &w,
        admin,
        &format!("/console/statistics/residents-by-region.csv?{q}"),
    )
    .await;
    assert_eq!(column_sum(&rows, 1), 200);
    let first_town = w
        .store
        .registry()
        .region(&w.city.first_town_id)
        .await
        .unwrap()
        .unwrap();
    assert!(rows.iter().any(|r| r[0] == first_town.name_zh), "{rows:?}");

    // One town, by its code: the breakdown is by village, and adds up to the town.
    let in_town = w
        .store
        .count_for_tests(&format!(
            "SELECT COUNT(*) FROM citizens c JOIN regions v ON v.id = c.village_id WHERE v.parent_id = '{}'",
            w.city.first_town_id
        ))
        .await
        .unwrap();
    let (_, rows) = dashboard_csv(
        &w,
        admin,
        &format!(
            "/console/statistics/residents-by-region.csv?{q}&town={}",
            first_town.code
        ),
    )
    .await;
    assert_eq!(column_sum(&rows, 1), in_town);
    assert!(rows.iter().all(|r| r[0] != first_town.name_zh));

    // A village evaluator sees their village only, and may not widen it.
    let ev = w.staff(Role::Evaluator);
    let village = w
        .store
        .registry()
        .region(&w.city.first_village_id)
        .await
        .unwrap()
        .unwrap();
    let in_village = w
        .store
        .count_for_tests(&format!(
            "SELECT COUNT(*) FROM citizens WHERE village_id = '{}'",
            village.id
        ))
        .await
        .unwrap();
    let (s, _, html) = w
        .page("GET", &format!("/console/statistics?{q}"), Some(ev), &[])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&village.name_zh));
    assert!(!html.contains("全部镇（街道）") && !html.contains("id=\"residents-by-region\""));
    let (_, rows) = dashboard_csv(&w, ev, &format!("/console/statistics/enrolment.csv?{q}")).await;
    assert_eq!(column_sum(&rows, 1), in_village);
    let (s, _, html) = w
        .page(
            "GET",
            &format!("/console/statistics?{q}&town={}", first_town.code),
            Some(ev),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("只能查看您负责的地区"));
    let (s, _, _) = w
        .page(
            "GET",
            &format!(
                "/console/statistics/enrolment.csv?{q}&town={}",
                first_town.code
            ),
            Some(ev),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A bad month is named, in the reader's language, and what was typed stays in the form.
    let (s, _, html) = w
        .page(
            "GET",
            "/console/statistics?from=2026-13&to=2026-02",
            Some(admin),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("请按“年-月”填写"), "{html}");
    assert!(html.contains("value=\"2026-13\""));
    assert!(!html.contains("<svg class=\"chart\""));
    // A query that does not read: nobody learns more than a plain anonymous visit does; the
    // admin is told which parameter.
    let (plain, _, _) = w.page("GET", "/console/statistics", None, &[]).await;
    let (s, _, _) = w
        .page("GET", "/console/statistics?from=%FF", None, &[])
        .await;
    assert_eq!(s, plain);
    let (s, _, html) = w
        .page("GET", "/console/statistics?from=%FF", Some(admin), &[])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let (s, _, _) = w
        .page("GET", "/console/statistics/nothing.csv", Some(admin), &[])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn the_city_imports_its_honour_lists_and_partners_cannot(w: World) {
    let admin = w.staff(Role::Admin);
    let (s, _, html) = w.page("GET", "/console/imports", Some(admin), &[]).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("upload-green-card-honours") && !html.contains("upload-partner-deeds"),
        "{html}"
    );
    let (_, _, html) = w
        .page(
            "GET",
            "/console/imports",
            Some(w.staff(Role::PartnerOperator)),
            &[],
        )
        .await;
    assert!(html.contains("upload-partner-deeds") && !html.contains("upload-green-card-honours"));
    let rid = resident_number(&w).await;
    let next_year = format!("{}-06-30", today(&w)[..4].parse::<i32>().unwrap() + 1);
    let upload = |file: String| {
        let boundary = "mb-honours-7";
        let mut body = String::new();
        for (k, v) in [
            ("csrf", admin.csrf.as_str()),
            ("kind", "green-card-honours"),
        ] {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"名单.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"));
        let req = Request::builder()
            .method("POST")
            .uri("/console/imports")
            .header(header::COOKIE, format!("mb_session={}", admin.token))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        w.send(req)
    };
    // A name not on the drop-down: the problem in Chinese, nothing written.
    let (s, h, _) = upload(format!(
        "身份证号,荣誉,事迹简介,有效期至\n{rid},好人,孝老爱亲,{next_year}\n"
    ))
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let at = h[header::LOCATION].to_str().unwrap().to_string();
    let (_, _, html) = w.page("GET", &at, Some(admin), &[]).await;
    assert!(
        html.contains("B2") && html.contains("请从模板的下拉列表中选择"),
        "{html}"
    );
    // The corrected list: previewed, confirmed, committed; the card is the resident's.
    let (_, h, _) = upload(format!(
        "身份证号,荣誉,事迹简介,有效期至\n{rid},余姚好人,孝老爱亲,{next_year}\n"
    ))
    .await;
    let at = h[header::LOCATION].to_str().unwrap().to_string();
    let (_, _, html) = w.page("GET", &at, Some(admin), &[]).await;
    assert!(html.contains("id=\"confirm\""), "{html}");
    let (s, _, _) = w
        .page("POST", &format!("{at}/commit"), Some(admin), &[])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let committed = committed_within_5s(&w, &at, admin).await;
    assert!(committed);
    assert_eq!(
        w.store
            .count_for_tests(&format!(
                "SELECT COUNT(*) FROM green_cards WHERE citizen_id = '{}' AND honour = 'yuyao-good-person'",
                w.citizen.id
            ))
            .await
            .unwrap(),
        1
    );
    // A partner's key that may import cannot send the city's lists, nor see its imports.
    let (_, secret) = w
        .store
        .accounts()
        .create_api_key(&w.partner_id, &["deeds:submit".into()], "imports")
        .await
        .unwrap();
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/imports?kind=green-card-honours")
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "text/csv");
    let (s, _, body) = w
        .send(
            req.body(Body::from(format!(
                "身份证号,荣誉,事迹简介,有效期至\n{rid},余姚好人,x,{next_year}\n"
            )))
            .unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("not_your_kind"), "{body}");
    let id = at.rsplit('/').next().unwrap();
    let (s, _) = w
        .api("GET", &format!("/imports/{id}"), Some(&secret), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = w
        .page("GET", &at, Some(w.staff(Role::PartnerOperator)), &[])
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "another owner's import is not found"
    );
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(super::World::sqlite().await).await })* }
        mod postgres { $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if let Some(w) = super::World::postgres().await { super::$name(w).await } })* }
    };
}

on_both!(
    a_clerk_previews_confirms_and_downloads_errors,
    partners_import_over_the_api_and_templates_are_published,
    open_data_suppresses_small_cells_in_every_format,
    the_smallest_published_count_is_configured_never_below_five,
    the_dashboard_shows_each_role_its_own_scope,
    the_city_imports_its_honour_lists_and_partners_cannot,
);
