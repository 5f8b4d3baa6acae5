#![allow(clippy::unwrap_used, clippy::too_many_lines)] // scenario tests tell one story each
//! The technology supermarket over HTTP, on SQLite and PostgreSQL: the office registers an
//! enterprise (a bad credit code named, what was typed kept, the password never sent back);
//! the enterprise publishes a demand (the same form twice, one demand), sees its matches with
//! why, asks for an introduction; no contact anywhere before the expert's side accepts (the
//! office answers for an expert who has not claimed a profile); the contacts then, each
//! showing logged; another enterprise sees nothing of it; the public shelf shows the summary
//! only.

mod common;

use axum::http::StatusCode;
use common::{Account, World};
use domain::Role;
use moralbank_store::SubjectKind;

const DAY: i64 = 24 * 3_600_000;
const EXPERT_PHONE: &str = "13905741234";
const CONTACT_PHONE: &str = "13805740001";
const DETAIL: &str = "保压时间八秒模温六十度的现行参数";

fn credit(base: &str) -> String {
    const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let sum: u32 = base
        .chars()
        .zip(W)
        .map(|(c, w)| ALPHABET.find(c).unwrap() as u32 * w)
        .sum();
    format!(
        "{base}{}",
        ALPHABET
            .chars()
            .nth(((31 - sum % 31) % 31) as usize)
            .unwrap()
    )
}

/// The pool: one expert who works on injection moulds, one who does not.
async fn pool(w: &World) {
    let csv = format!(
        "专家编号,姓名,职称,工作单位,学科,服务行业,研究方向关键词,专家简介,所在地区,接洽状态,手机号,邮箱,同意入库日期\r\n\
         E000001,李明华,教授,宁波大学,460,29 35,注塑模具、模流分析、热流道,长期研究注塑模具设计与模流分析，可帮助企业解决缩痕和翘曲问题,ningbo,available,{EXPERT_PHONE},lmh@nbu.example.cn,2026-10-15\r\n\
         E000002,张海燕,研究员,浙江省农业科学院,210,01,杨梅栽培、病虫害防治,长期指导杨梅栽培和病虫害绿色防控,province,available,13905745678,zhy@zaas.example.cn,2026-10-15\r\n"
    );
    let up = moralbank_store::citydata::imports::Upload {
        schema: &domain::citydata::kinds::MARKET_EXPERTS,
        owner: moralbank_store::citydata::imports::ImportOwner::City,
        by: "staff:broker".into(),
        file_name: "pool.csv".into(),
        bytes: csv.as_bytes(),
    };
    let mode = moralbank_store::citydata::imports::Mode::Commit;
    let i = w
        .store
        .citydata()
        .import_file(&up, mode, &Default::default(), 1, &Default::default())
        .await
        .unwrap();
    assert_eq!(i.rows.new, 2, "{i:?}");
}

/// The office registers an enterprise through its form; returns its operator, signed in.
async fn register(w: &World, n: u32, name: &str) -> Account {
    let broker = w.staff(Role::Broker);
    let town = w.store.registry().villages().await.unwrap()[0].1.id.clone();
    let code = credit(&format!("91330281MA2{n:06}"));
    let user = format!("ent{n}");
    let phone = format!("1380574{n:04}");
    let form = [
        ("name", name),
        ("credit_code", code.as_str()),
        ("kind", "company"),
        ("industry", "29"),
        ("town_id", town.as_str()),
        ("contact_name", "王建国"),
        ("contact_phone", phone.as_str()),
        ("username", user.as_str()),
        ("password", "correct horse battery"),
    ];
    let (status, _, body) = w
        .page("POST", "/console/market/enterprises", Some(broker), &form)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let s = w
        .store
        .accounts()
        .staff_by_username(&user)
        .await
        .unwrap()
        .unwrap();
    let (token, session) = w
        .store
        .accounts()
        .create_session(SubjectKind::Staff, &s.id, 3_600_000)
        .await
        .unwrap();
    Account {
        id: s.id,
        token,
        csrf: session.csrf_token,
    }
}

fn after<'a>(page: &'a str, from: &str) -> &'a str {
    &page[page
        .find(from)
        .unwrap_or_else(|| panic!("{from} not in {page}"))
        + from.len()..]
}

async fn an_enterprise_meets_an_expert_by_double_opt_in(w: World) {
    pool(&w).await;
    let broker = w.staff(Role::Broker);
    // A bad credit code: named in Chinese, what was typed kept, the password not sent back.
    let town = w.store.registry().villages().await.unwrap()[0].1.id.clone();
    let bad = [
        ("name", "余姚市测试模具有限公司"),
        ("credit_code", "91330281MA2000001X"),
        ("kind", "company"),
        ("industry", "29"),
        ("town_id", town.as_str()),
        ("contact_name", "王建国"),
        ("contact_phone", CONTACT_PHONE),
        ("username", "ent-bad"),
        ("password", "a secret typed once"),
    ];
    let (status, _, page) = w
        .page("POST", "/console/market/enterprises", Some(broker), &bad)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("校验码"), "{page}");
    assert!(page.contains("余姚市测试模具有限公司"));
    assert!(!page.contains("a secret typed once"));
    let ent = register(&w, 1, "余姚市测试精密模具有限公司").await;
    let other = register(&w, 2, "余姚市另一家电器有限公司").await;

    // The enterprise publishes a demand; the same form twice is one demand.
    let now = w.state.clock.now_ms();
    let deadline = domain::time::day_of(now + 30 * DAY);
    let form = [
        ("title", "注塑件缩痕改善"),
        (
            "summary",
            "家电外壳注塑件表面缩痕明显，希望借助模流分析优化注塑模具冷却",
        ),
        ("detail", DETAIL),
        ("industry", "29"),
        ("budget", "100k_500k"),
        ("deadline", deadline.as_str()),
        ("form_token", "form-1"),
    ];
    let (status, headers, _) = w
        .page("POST", "/console/market/demands/new", Some(&ent), &form)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let demand_at = headers["location"].to_str().unwrap().to_string();
    let (_, again, _) = w
        .page("POST", "/console/market/demands/new", Some(&ent), &form)
        .await;
    assert_eq!(again["location"].to_str().unwrap(), demand_at);
    // A bad field is named; what was typed stays.
    let mut short = form;
    short[1] = ("summary", "太短");
    short[6] = ("form_token", "form-2");
    let (status, _, page) = w
        .page("POST", "/console/market/demands/new", Some(&ent), &short)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("注塑件缩痕改善") && page.contains("aria-invalid"),
        "{page}"
    );

    // The matches: the mould expert first, with the shared terms; no contact on the page.
    let (status, _, page) = w.page("GET", &demand_at, Some(&ent), &[]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let experts = after(&page, "id=\"matches\"");
    assert!(experts.find("李明华").unwrap() < experts.find("张海燕").unwrap_or(usize::MAX));
    assert!(
        after(experts, "李明华").contains("<mark class=\"term\">模流分析</mark>"),
        "{experts}"
    );
    assert!(page.contains(DETAIL), "the enterprise reads its own detail");
    assert!(!page.contains(EXPERT_PHONE));
    // Another enterprise sees nothing of it.
    let (status, _, _) = w.page("GET", &demand_at, Some(&other), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The ask; before an answer, no contacts for the asker.
    let expert_id = w.store.market().find_experts("E000001", 1).await.unwrap()[0]
        .id
        .clone();
    let ask = [
        ("target_kind", "expert"),
        ("target_id", expert_id.as_str()),
        ("message", "想请您来厂里看看"),
    ];
    let (status, _, body) = w
        .page("POST", &format!("{demand_at}/ask"), Some(&ent), &ask)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let (status, _, page) = w
        .page("POST", &format!("{demand_at}/ask"), Some(&ent), &ask)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "asked once: {page}");
    let intro = w
        .store
        .market()
        .introductions_for_demand(after(&demand_at, "/demands/"))
        .await
        .unwrap()[0]
        .id
        .clone();
    let intro_at = format!("/console/market/introductions/{intro}");
    let (status, _, page) = w.page("GET", &intro_at, Some(&ent), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(EXPERT_PHONE) && page.contains("id=\"no-contacts\""));
    // The asker cannot accept its own ask; the other enterprise cannot see or answer it.
    let (status, _, _) = w
        .page("POST", &format!("{intro_at}/accept"), Some(&ent), &[])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    for (m, path) in [
        ("GET", intro_at.clone()),
        ("POST", format!("{intro_at}/accept")),
    ] {
        let (status, _, _) = w.page(m, &path, Some(&other), &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{m} {path}");
    }
    assert_eq!(
        w.store
            .count_for_tests("SELECT COUNT(*) FROM market_reveals")
            .await
            .unwrap(),
        0
    );

    // The office answers for the expert (not a resident yet): a decline needs a reason.
    let (status, _, page) = w
        .page(
            "POST",
            &format!("{intro_at}/decline"),
            Some(broker),
            &[("reason", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, _, _) = w
        .page("POST", &format!("{intro_at}/accept"), Some(broker), &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // Now the asker sees the expert's phone, and the showing is logged.
    let (_, _, page) = w.page("GET", &intro_at, Some(&ent), &[]).await;
    assert!(page.contains(EXPERT_PHONE), "{page}");
    assert_eq!(
        w.store
            .count_for_tests("SELECT COUNT(*) FROM market_reveals")
            .await
            .unwrap(),
        1
    );
    // A contract on it, then the office's registration number.
    let signed = domain::time::day_of(now);
    let c = [
        ("kind", "development"),
        ("amount_band", "100k_500k"),
        ("signed_on", signed.as_str()),
    ];
    let (status, _, _) = w
        .page("POST", &format!("{intro_at}/contract"), Some(&ent), &c)
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let contract = w
        .store
        .market()
        .contract_of_introduction(&intro)
        .await
        .unwrap()
        .unwrap();
    let (status, _, _) = w
        .page(
            "POST",
            &format!("/console/market/contracts/{}/register", contract.id),
            Some(broker),
            &[("registration_no", "330281-2026-0001")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, office) = w.page("GET", "/console/market", Some(broker), &[]).await;
    assert!(office.contains("330281-2026-0001") && office.contains("余姚市测试精密模具有限公司"));

    // Open data by industry: the one enterprise of division 29 is "<10", its demand withheld.
    let (status, v) = w.api_root("/open-data/market-by-industry.json").await;
    assert_eq!(status, StatusCode::OK);
    let rows = v["rows"].as_array().unwrap();
    let row29 = rows.iter().find(|r| r[0] == "29").unwrap();
    assert_eq!(
        (row29[3].as_str(), row29[4].as_str()),
        (Some("<10"), Some("×")),
        "{v}"
    );
    assert!(
        !rows.iter().any(|r| r[4] == "1"),
        "no single firm's demands: {v}"
    );
    // The public shelf: the summary, never the detail or a contact; a contracted demand is
    // off the shelf.
    let (status, _, shelf) = w.page("GET", "/market", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !shelf.contains(DETAIL) && !shelf.contains(EXPERT_PHONE) && !shelf.contains(CONTACT_PHONE)
    );
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

on_both!(an_enterprise_meets_an_expert_by_double_opt_in);
