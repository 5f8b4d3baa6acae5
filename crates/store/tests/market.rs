#![allow(clippy::unwrap_used)]
#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The technology supermarket on both backends: double opt-in (no contact before acceptance,
//! each showing logged, a decline needs a reason, only the answerer accepts), the demand's
//! states, and concurrent sign-ups that never over-fill a session (the rest wait in order).

use domain::market::{DemandForm, DemandStatus, IntroStatus, IntroStep};
use moralbank_store::market::enterprises::NewEnterprise;
use moralbank_store::market::events::NewSession;
use moralbank_store::market::introductions::Ask;
use moralbank_store::market::Party;
use moralbank_store::{Store, StoreError};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A valid unified social credit code ending the first 17 characters `base`.
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
    let check = (31 - sum % 31) % 31;
    format!("{base}{}", ALPHABET.chars().nth(check as usize).unwrap())
}

async fn enterprise(store: &Store, n: u32, town: &str) -> Party {
    let e = store
        .market()
        .register_enterprise(
            &NewEnterprise {
                name: format!("余姚市测试精密模具有限公司{n}"),
                credit_code: credit(&format!("91330281MA2{n:06}")),
                kind: "company".into(),
                industry: "29".into(),
                town_id: town.into(),
                contact_name: "王建国".into(),
                contact_phone: format!("1380574{n:04}"),
                username: format!("ent{n}"),
                password: "correct horse battery".into(),
            },
            "broker-1",
            1,
        )
        .await
        .unwrap();
    Party::Enterprise {
        partner_id: e.partner_id,
        staff_id: format!("s{n}"),
        label: "测试".into(),
    }
}

/// One expert in the pool through the office's import.
async fn pool(store: &Store) -> String {
    let csv = "专家编号,姓名,职称,工作单位,学科,服务行业,研究方向关键词,专家简介,所在地区,接洽状态,手机号,邮箱,同意入库日期\r\n\
               E000001,李明华,教授,宁波大学,460,29 35,注塑模具、模流分析、热流道,长期研究注塑模具设计与模流分析，可帮助企业解决缩痕和翘曲问题,ningbo,available,13905741234,lmh@nbu.example.cn,2026-10-15\r\n";
    let up = moralbank_store::citydata::imports::Upload {
        schema: &domain::citydata::kinds::MARKET_EXPERTS,
        owner: moralbank_store::citydata::imports::ImportOwner::City,
        by: "staff:broker-1".into(),
        file_name: "pool.csv".into(),
        bytes: csv.as_bytes(),
    };
    let i = store
        .citydata()
        .import_file(
            &up,
            moralbank_store::citydata::imports::Mode::Commit,
            &Default::default(),
            1,
            &Default::default(),
        )
        .await
        .unwrap();
    assert_eq!((i.status.as_str(), i.rows.new), ("committed", 1), "{i:?}");
    store.market().find_experts("E000001", 1).await.unwrap()[0]
        .id
        .clone()
}

async fn town(store: &Store) -> String {
    store.fixtures().seed_city(2, 7).await.unwrap();
    store.registry().villages().await.unwrap()[0].1.id.clone()
}

async fn no_contact_before_acceptance_and_every_showing_logged(store: Store) {
    let town = town(&store).await;
    let ent = enterprise(&store, 1, &town).await;
    let other = enterprise(&store, 2, &town).await;
    let expert = pool(&store).await;
    let m = store.market();
    let now = 10 * DAY;
    let form = DemandForm::parse(
        "注塑件缩痕改善",
        "家电外壳注塑件表面缩痕明显，希望优化模具冷却和注塑工艺参数。",
        "保压时间 8 秒，模温 60 度",
        ("29", "100k_500k", &domain::time::day_of(now + 30 * DAY)),
        domain::time::cst_day(now),
    )
    .unwrap();
    let d = m
        .publish_demand(&ent, &form, Some("tok-1"), now)
        .await
        .unwrap();
    // The same form twice: one demand.
    assert_eq!(
        m.publish_demand(&ent, &form, Some("tok-1"), now)
            .await
            .unwrap()
            .id,
        d.id
    );
    assert_eq!(
        m.demands_of(match &ent {
            Party::Enterprise { partner_id, .. } => partner_id,
            _ => unreachable!(),
        })
        .await
        .unwrap()
        .len(),
        1
    );
    // Another enterprise sees the public summary only; it cannot ask on a demand not its own.
    let (_, detail) = m.demand_for(&d.id, &other).await.unwrap();
    assert_eq!(detail, None);
    let ask = Ask {
        demand_id: d.id.clone(),
        target_kind: "expert".into(),
        target_id: expert.clone(),
        message: "请您看看".into(),
        event_id: None,
    };
    assert!(matches!(
        m.ask(&other, &ask, now).await,
        Err(StoreError::NotFound { .. })
    ));
    let i = m.ask(&ent, &ask, now).await.unwrap();
    assert!(
        matches!(m.ask(&ent, &ask, now).await, Err(StoreError::Conflict(e)) if e.code == "already_asked")
    );
    // Before acceptance: no contacts for anyone, the office included.
    let broker = Party::Broker {
        staff_id: "broker-1".into(),
        label: "科技超市".into(),
    };
    for p in [&ent, &broker] {
        assert!(
            matches!(m.contacts(&i.id, p, "x", now).await, Err(StoreError::Conflict(e)) if e.code == "not_accepted")
        );
    }
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM market_reveals")
            .await
            .unwrap(),
        0
    );
    // Only the answerer accepts (the office, for an expert who has not claimed a profile); the
    // asker cannot accept its own ask, and a decline needs a reason.
    assert!(
        matches!(m.answer(&i.id, &ent, IntroStep::Accept, None, now).await, Err(StoreError::Conflict(e)) if e.code == "not_your_step")
    );
    assert!(matches!(
        m.answer(&i.id, &broker, IntroStep::Decline, Some("because"), now)
            .await,
        Err(StoreError::Invalid(_))
    ));
    let i = m
        .answer(&i.id, &broker, IntroStep::Accept, None, now + 1)
        .await
        .unwrap();
    assert_eq!(i.status, IntroStatus::Accepted);
    assert_eq!(
        m.demand(&d.id).await.unwrap().unwrap().status,
        DemandStatus::Matched
    );
    let c = m.contacts(&i.id, &ent, "测试企业", now + 2).await.unwrap();
    assert_eq!(c.expert.unwrap().phone, "13905741234");
    // The asker sees the expert's contacts, not its own; the office sees both sides.
    assert!(c.enterprise.is_none() && c.owner.is_none());
    assert_eq!(m.reveals(&i.id).await.unwrap().len(), 1);
    let both = m
        .contacts(&i.id, &broker, "科技超市", now + 3)
        .await
        .unwrap();
    assert_eq!(both.enterprise.unwrap().contact.phone, "13805740001");
    assert!(both.expert.is_some());
    assert_eq!(m.reveals(&i.id).await.unwrap().len(), 3);
    // The other enterprise is no side of it: nothing, and nothing logged.
    assert!(matches!(
        m.contacts(&i.id, &other, "x", now).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(m.reveals(&i.id).await.unwrap().len(), 3);
    // A contract follows; the demand is contracted.
    let signed = domain::time::day_of(now);
    m.record_contract(&ent, &i.id, "development", "100k_500k", &signed, now)
        .await
        .unwrap();
    assert_eq!(
        m.demand(&d.id).await.unwrap().unwrap().status,
        DemandStatus::Contracted
    );
    assert!(
        matches!(m.record_contract(&ent, &i.id, "development", "100k_500k", &signed, now).await, Err(StoreError::Conflict(e)) if e.code == "contract_recorded" || e.code == "not_matched")
    );
    let f = m.figures().await.unwrap();
    assert_eq!(
        (
            f.demands,
            f.experts,
            f.contracts_by_kind.get("development").copied()
        ),
        (1, 1, Some(1))
    );
}

async fn concurrent_sign_ups_never_overfill_a_session(store: Store) {
    let town = town(&store).await;
    let m = store.market();
    let now = 10 * DAY;
    let e = m
        .create_event(
            "智能装备对接会",
            "智能装备供需对接",
            "余姚市科技创新中心",
            &[NewSession {
                title: "上午".into(),
                starts_at: now + DAY,
                ends_at: now + DAY + 3 * HOUR,
                capacity: 3,
            }],
            "broker-1",
            now,
        )
        .await
        .unwrap();
    let session = e.sessions[0].id.clone();
    let mut parties = Vec::new();
    for n in 0..8 {
        parties.push(enterprise(&store, 10 + n, &town).await);
    }
    let mut tasks = Vec::new();
    for p in parties.clone() {
        let store = store.clone();
        let session = session.clone();
        tasks.push(tokio::spawn(async move {
            store.market().sign_up(&p, &session, now).await
        }));
    }
    let mut seated = 0;
    let mut waiting = Vec::new();
    for t in tasks {
        let s = t.await.unwrap().unwrap();
        if s.status == "signed" {
            seated += 1;
        } else {
            waiting.push(s.position);
        }
    }
    assert_eq!(seated, 3);
    waiting.sort_unstable();
    assert_eq!(waiting, vec![1, 2, 3, 4, 5]);
    let ev = m.event(&e.id).await.unwrap().unwrap();
    assert_eq!((ev.sessions[0].taken, ev.sessions[0].waiting), (3, 5));
    // A seated enterprise gives up its place: the first waiting takes it, the seats stay 3.
    let list = m.session_list(&session).await.unwrap();
    let first_waiting = list
        .iter()
        .find(|s| s.status == "waiting" && s.position == 1)
        .unwrap()
        .enterprise_id
        .clone();
    let seated_one = list
        .iter()
        .find(|s| s.status == "signed")
        .unwrap()
        .enterprise_id
        .clone();
    let quitter = parties
        .iter()
        .find(|p| matches!(p, Party::Enterprise { partner_id, .. } if *partner_id == seated_one))
        .unwrap();
    m.cancel_signup(quitter, &session, now).await.unwrap();
    assert_eq!(
        m.signup(&session, &first_waiting).await.unwrap().status,
        "signed"
    );
    assert_eq!(m.event(&e.id).await.unwrap().unwrap().sessions[0].taken, 3);
    // The door: a seated ticket checks in once, from two hours before.
    let ticket = m.signup(&session, &first_waiting).await.unwrap().ticket;
    assert!(
        matches!(m.check_in(&ticket, "broker-1", now).await, Err(StoreError::Conflict(e)) if e.code == "not_now")
    );
    let s = m
        .check_in(&format!("MBT1:{ticket}"), "broker-1", now + DAY - HOUR)
        .await
        .unwrap();
    assert!(s.checked_in_at.is_some());
    // Reminders: the seated, once.
    assert_eq!(m.send_reminders(now + 2 * HOUR).await.unwrap(), 3);
    assert_eq!(m.send_reminders(now + 3 * HOUR).await.unwrap(), 0);
}

/// A free consultation earns points only through the standard, once its cooperative
/// confirms; one to an organisation the expert has a contract with earns none.
async fn a_free_consultation_earns_points_only_through_the_standard(store: Store) {
    let town = town(&store).await;
    let m = store.market();
    // Evaluation dates deeds by the real calendar.
    let now = moralbank_store::now_ms();
    // The pool's expert carries the phone of the city's first resident, who claims it.
    let (phone, _) = moralbank_store::fixtures::city::demo_identity(0);
    let me = store
        .registry()
        .citizen_id_by_phone(&phone)
        .await
        .unwrap()
        .unwrap();
    let csv = format!(
        "专家编号,姓名,职称,工作单位,学科,服务行业,研究方向关键词,专家简介,所在地区,接洽状态,手机号,邮箱,同意入库日期\r\n\
         E000009,陈志强,高级农艺师,余姚市农业技术推广中心,210,01 05,杨梅栽培、病虫害防治,长期在一线指导杨梅栽培和病虫害绿色防控,yuyao,available,{},czq@agri.example.cn,2026-10-15\r\n",
        phone.as_str()
    );
    let up = moralbank_store::citydata::imports::Upload {
        schema: &domain::citydata::kinds::MARKET_EXPERTS,
        owner: moralbank_store::citydata::imports::ImportOwner::City,
        by: "staff:broker-1".into(),
        file_name: "pool.csv".into(),
        bytes: csv.as_bytes(),
    };
    let mode = moralbank_store::citydata::imports::Mode::Commit;
    store
        .citydata()
        .import_file(&up, mode, &Default::default(), 1, &Default::default())
        .await
        .unwrap();
    let profile = m.claimable(&me).await.unwrap().pop().unwrap();
    // Without the consent's version nothing is claimed.
    assert!(m.claim_expert(&me, &profile.id, "", now).await.is_err());
    m.claim_expert(
        &me,
        &profile.id,
        domain::market::EXPERT_CONSENT_VERSION,
        now,
    )
    .await
    .unwrap();
    assert!(m.claimable(&me).await.unwrap().is_empty());
    let coop = NewEnterprise {
        name: "余姚市梁弄镇杨梅专业合作社".into(),
        credit_code: credit("93330281MA2000001"),
        kind: "cooperative".into(),
        industry: "01".into(),
        town_id: town.clone(),
        contact_name: "黄德明".into(),
        contact_phone: "13805749999".into(),
        username: "coop1".into(),
        password: "correct horse battery".into(),
    };
    let c = m.register_enterprise(&coop, "broker-1", 1).await.unwrap();
    let coop_party = Party::Enterprise {
        partner_id: c.partner_id.clone(),
        staff_id: "c1".into(),
        label: "合作社".into(),
    };
    store
        .evaluation()
        .save_standard(
            &moralbank_store::evaluation::NewStandard {
                code: moralbank_store::market::CONSULTATION_STANDARD.into(),
                name_zh: "科技专家为村合作社公益咨询（每小时）".into(),
                name_en: "Free technical consultation (per hour)".into(),
                points_min: 3,
                points_max: 3,
                cap_points: Some(60),
                cap_period: "year".into(),
                evidence_zh: "合作社确认的咨询记录".into(),
                evidence_en: "The record the cooperative confirmed".into(),
                awarder: "partner".into(),
                active: true,
                trusted_partners: vec![c.partner_id.clone()],
            },
            "staff:admin",
        )
        .await
        .unwrap();
    let day = domain::time::day_of(now - DAY);
    let k = m
        .record_consultation(&me, &c.partner_id, &day, "2", "杨梅保鲜技术指导", now)
        .await
        .unwrap();
    assert!(
        matches!(m.record_consultation(&me, &c.partner_id, &day, "2", "再来一次", now).await, Err(StoreError::Conflict(e)) if e.code == "already_recorded")
    );
    assert!(
        matches!(m.record_consultation(&me, &c.partner_id, &day, "12", "太长", now).await, Err(StoreError::Invalid(e)) if e.0.iter().any(|f| f.field == "hours"))
    );
    // Only its cooperative decides it; a company is no cooperative, refused by name.
    let stranger = enterprise(&store, 40, &town).await;
    let Party::Enterprise {
        partner_id: company,
        ..
    } = &stranger
    else {
        unreachable!()
    };
    assert!(
        matches!(m.record_consultation(&me, company, &day, "2", "杨梅保鲜", now).await, Err(StoreError::Invalid(e)) if e.0.iter().any(|f| f.code == "not_a_cooperative"))
    );
    let rules = moralbank_store::evaluation::Rules::default();
    assert!(matches!(
        m.decide_consultation(&k.id, &stranger, true, &rules, now)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    let k = m
        .decide_consultation(&k.id, &coop_party, true, &rules, now)
        .await
        .unwrap();
    assert_eq!(k.status, "confirmed");
    assert!(k.deed_id.is_some(), "{k:?}");
    assert!(
        matches!(m.decide_consultation(&k.id, &coop_party, true, &rules, now).await, Err(StoreError::Conflict(e)) if e.code == "already_decided")
    );
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM deeds d JOIN standards s ON s.id = d.standard_id WHERE s.code = 'tech-consultation'")
            .await
            .unwrap(),
        1
    );
    // Once the cooperative has a contract with the expert, a consultation is no longer free of
    // a commercial tie: confirmed, recorded, but no points.
    let form = DemandForm::parse(
        "杨梅保鲜技术开发",
        "合作社杨梅采后损耗大，希望开发保鲜和冷链运输方案",
        "",
        ("01", "100k_500k", &domain::time::day_of(now + 30 * DAY)),
        domain::time::cst_day(now),
    )
    .unwrap();
    let d = m
        .publish_demand(&coop_party, &form, None, now)
        .await
        .unwrap();
    let ask = Ask {
        demand_id: d.id,
        target_kind: "expert".into(),
        target_id: profile.id.clone(),
        message: "请您指导".into(),
        event_id: None,
    };
    let i = m.ask(&coop_party, &ask, now).await.unwrap();
    let expert_party = Party::Expert {
        citizen_id: me.clone(),
    };
    m.answer(&i.id, &expert_party, IntroStep::Accept, None, now)
        .await
        .unwrap();
    m.record_contract(
        &coop_party,
        &i.id,
        "development",
        "100k_500k",
        &domain::time::day_of(now),
        now,
    )
    .await
    .unwrap();
    let day2 = domain::time::day_of(now - 2 * DAY);
    let k2 = m
        .record_consultation(&me, &c.partner_id, &day2, "3", "杨梅冷库温控", now)
        .await
        .unwrap();
    let k2 = m
        .decide_consultation(&k2.id, &coop_party, true, &rules, now)
        .await
        .unwrap();
    assert_eq!(
        (
            k2.status.as_str(),
            k2.deed_id.as_deref(),
            k2.credit_refusal.as_deref()
        ),
        ("confirmed", None, Some("commercial_relationship"))
    );
    assert_eq!(
        store
            .count_for_tests("SELECT COUNT(*) FROM deeds d JOIN standards s ON s.id = d.standard_id WHERE s.code = 'tech-consultation'")
            .await
            .unwrap(),
        1
    );
}

moralbank_store::on_both_backends!(
    no_contact_before_acceptance_and_every_showing_logged,
    concurrent_sign_ups_never_overfill_a_session,
    a_free_consultation_earns_points_only_through_the_standard,
);
