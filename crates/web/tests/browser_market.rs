#![allow(clippy::unwrap_used, clippy::too_many_lines)] // one story, told in order
//! The technology supermarket in headless Chromium, three people: the office's broker at a
//! desk registers an enterprise; the enterprise at a desk publishes a demand (a mistake first,
//! what was typed kept), sees the matched experts with why, and asks for an introduction; the
//! expert, a resident on a phone, claims their profile, sees no contact yet, accepts, and only
//! then both sides see each other's phone. Screens under `target/screenshots/market-*.png`.

mod browser_kit;
mod common;

use browser_kit::*;
use common::World;
use moralbank_web::clock::Clock;

const PHONE: (u32, u32) = (390, 844);
const DESK: (u32, u32) = (1280, 900);
const DAY: i64 = 24 * 3_600_000;

async fn axe_into(
    c: &fantoccini::Client,
    axe: &Option<String>,
    page: &str,
    found: &mut Vec<String>,
) {
    if let Some(axe) = axe {
        for v in axe_violations(c, axe).await {
            found.push(format!("{page}: {v}"));
        }
    }
}

/// Replace what a field holds (`fill` types after it).
async fn refill(c: &fantoccini::Client, css: &str, text: &str) {
    let e = c.find(fantoccini::Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// The pool: the resident (by their phone) works on injection moulds; another expert does not.
async fn pool(w: &World) -> String {
    let csv = format!(
        "专家编号,姓名,职称,工作单位,学科,服务行业,研究方向关键词,专家简介,所在地区,接洽状态,手机号,邮箱,同意入库日期\r\n\
         E000001,李明华,高级工程师,余姚市模具行业协会,460,29 35,注塑模具、模流分析、热流道,长期从事注塑模具设计与模流分析，可帮助企业解决缩痕和翘曲问题,yuyao,available,{},lmh@mould.example.cn,2026-10-15\r\n\
         E000002,张海燕,研究员,浙江省农业科学院,210,01,杨梅栽培、病虫害防治,长期指导杨梅栽培和病虫害绿色防控,province,available,13905745678,zhy@zaas.example.cn,2026-10-15\r\n",
        w.citizen_phone
    );
    let up = moralbank_store::citydata::imports::Upload {
        schema: &domain::citydata::kinds::MARKET_EXPERTS,
        owner: moralbank_store::citydata::imports::ImportOwner::City,
        by: "staff:broker".into(),
        file_name: "pool.csv".into(),
        bytes: csv.as_bytes(),
    };
    let mode = moralbank_store::citydata::imports::Mode::Commit;
    w.store
        .citydata()
        .import_file(&up, mode, &Default::default(), 1, &Default::default())
        .await
        .unwrap();
    w.store.market().find_experts("E000001", 1).await.unwrap()[0]
        .id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enterprise_publishes_a_demand_asks_and_the_expert_accepts() {
    let Some(driver) = start_driver() else { return };
    let w = World::sqlite().await;
    let expert = pool(&w).await;
    let state = demo_state(&w).with_clock(w.clock.clone());
    let base = serve_state(state).await;
    let axe = axe_source();
    let mut found = Vec::new();

    // The broker registers the enterprise and its first login.
    let b = browser(&driver, "market-broker", DESK).await;
    staff_signs_in(&b, &base, "broker").await;
    click(&b, "#market-console").await;
    on_path(&b, "/console/market").await;
    fill(&b, "#name", "余姚市舜达精密模具有限公司").await;
    fill(&b, "#credit_code", "91330281MA2000001X").await;
    fill(&b, "#contact_name", "王建国").await;
    fill(&b, "#contact_phone", "13805740001").await;
    fill(&b, "#username", "shunda").await;
    fill(&b, "#password", common::PASSWORD).await;
    b.execute("document.querySelector('#industry').value = '29'", vec![])
        .await
        .unwrap();
    submit_and_wait(&b, "#register").await;
    // The check character is wrong: said at the field, the name kept, the password not.
    assert!(text(&b, "#register-form").await.contains("校验码"));
    assert_eq!(
        b.find(fantoccini::Locator::Css("#name"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap(),
        "余姚市舜达精密模具有限公司"
    );
    shot(&b, "market-01-register-error-desk").await;
    let code = {
        const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        const WT: [u32; 17] = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let base17 = "91330281MA2000001";
        let sum: u32 = base17
            .chars()
            .zip(WT)
            .map(|(c, w)| ALPHABET.find(c).unwrap() as u32 * w)
            .sum();
        format!(
            "{base17}{}",
            ALPHABET
                .chars()
                .nth(((31 - sum % 31) % 31) as usize)
                .unwrap()
        )
    };
    refill(&b, "#credit_code", &code).await;
    fill(&b, "#password", common::PASSWORD).await;
    submit_and_wait(&b, "#register").await;
    assert!(text(&b, "#enterprises")
        .await
        .contains("余姚市舜达精密模具有限公司"));
    axe_into(&b, &axe, "market office", &mut found).await;

    // The enterprise publishes a demand: too short a summary first.
    let e = browser(&driver, "market-enterprise", DESK).await;
    staff_signs_in(&e, &base, "shunda").await;
    click(&e, "#market-console").await;
    click(&e, "#new-demand").await;
    on_path(&e, "/console/market/demands/new").await;
    fill(&e, "#title", "注塑件缩痕改善").await;
    fill(&e, "#summary", "缩痕").await;
    fill(&e, "#detail", "现行保压时间8秒、模温60度").await;
    let deadline = domain::time::day_of(w.clock.now_ms() + 40 * DAY);
    e.execute(
        "document.querySelector('#deadline').value = arguments[0]",
        vec![serde_json::json!(deadline)],
    )
    .await
    .unwrap();
    submit_and_wait(&e, "#publish").await;
    assert!(!text(&e, "#demand-form .error").await.is_empty());
    assert_eq!(
        e.find(fantoccini::Locator::Css("#title"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap(),
        "注塑件缩痕改善"
    );
    shot(&e, "market-02-demand-error-desk").await;
    refill(
        &e,
        "#summary",
        "家电外壳注塑件表面缩痕明显，希望借助模流分析优化注塑模具的冷却",
    )
    .await;
    submit_and_wait(&e, "#publish").await;
    // The matches, the mould expert first, with the shared terms.
    let first = text(&e, "#matches ol.matches li").await;
    assert!(
        first.contains("李明华") && first.contains("模流分析"),
        "{first}"
    );
    axe_into(&e, &axe, "demand with matches", &mut found).await;
    shot(&e, "market-03-matches-desk").await;
    fill(&e, &format!("#msg-{expert}"), "想请您来厂里看看模具").await;
    submit_and_wait(&e, &format!("#ask-{expert}")).await;
    assert!(text(&e, "#introductions").await.contains("等待答复"));

    // The expert, on a phone: claims the profile, sees no contact yet, accepts.
    let x = browser(&driver, "market-expert", PHONE).await;
    resident_signs_in(&x, &base, &w.citizen_phone).await;
    click(&x, "#expert-link").await;
    on_path(&x, "/expert").await;
    shot(&x, "market-04-claim-phone").await;
    click(&x, "input[name=consent]").await;
    submit_and_wait(&x, &format!("#claim-{expert}")).await;
    let intro = w
        .store
        .market()
        .introductions_of(&moralbank_store::market::Party::Expert {
            citizen_id: w.citizen.id.clone(),
        })
        .await
        .unwrap()[0]
        .id
        .clone();
    click(&x, &format!("#intro-{intro}")).await;
    assert!(!text(&x, "main").await.contains("13805740001"));
    shot(&x, "market-05-introduction-phone").await;
    axe_into(&x, &axe, "expert's introduction", &mut found).await;
    submit_and_wait(&x, "#accept").await;
    assert!(text(&x, "#enterprise-phone").await.contains("13805740001"));
    shot(&x, "market-06-accepted-phone").await;

    // The enterprise now sees the expert's phone (the resident's own).
    e.goto(&format!("{base}/console/market/introductions/{intro}"))
        .await
        .unwrap();
    assert_eq!(text(&e, "#expert-phone").await, w.citizen_phone);
    shot(&e, "market-07-contacts-desk").await;
    axe_into(&e, &axe, "introduction with contacts", &mut found).await;

    for c in [&b, &e, &x] {
        assert_no_csp_violation(c).await;
    }
    assert!(
        found.is_empty(),
        "serious or critical accessibility violations:\n{}",
        found.join("\n")
    );
    for c in [b, e, x] {
        c.close().await.unwrap();
    }
}
