//! The demo's technology supermarket: the report's figures — 40 registered enterprises (a
//! few of them village cooperatives), an expert pool of 29,770 loaded through city data's
//! import as the office would load its spreadsheet, 112 achievements, 84 demands, two
//! matchmaking events with sign-ups and a wait list — and a few introductions in every state,
//! a recorded and registered contract, and the printed resident as an expert who has claimed
//! their profile, with an introduction waiting for their answer and a free consultation a
//! cooperative confirmed (points through the `tech-consultation` standard). Seeded once (the
//! demands are the marker).

use super::market_pool::{pool, Pool, Region as PoolRegion};
use crate::error::{CliError, Result};
use domain::market::search::{DemandQuery, Kind, MatchIndex};
use domain::market::{DemandForm, IntroStep};
use moralbank_store::citydata::imports::{ImportOwner, Mode, Upload};
use moralbank_store::evaluation::{NewStandard, Rules};
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::market::achievements::NewAchievement;
use moralbank_store::market::enterprises::NewEnterprise;
use moralbank_store::market::events::NewSession;
use moralbank_store::market::introductions::Ask;
use moralbank_store::market::{Party, CONSULTATION_STANDARD};
use moralbank_store::{now_ms, Store};
use std::fmt::Write as _;
use std::sync::atomic::AtomicUsize;

/// The seed of the demo's pool: the same experts every time.
pub const POOL_SEED: u64 = 7;
/// The report's expert pool.
pub const POOL_EXPERTS: usize = 29_770;
/// The enterprise whose operator has the demo login `enterprise`.
pub const DEMO_ENTERPRISE: usize = 0;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The towns of the demo city, in code order.
async fn towns(store: &Store) -> Result<Vec<String>> {
    let mut towns: Vec<String> = store
        .registry()
        .villages()
        .await?
        .into_iter()
        .map(|(_, t)| t.id)
        .collect();
    towns.sort();
    towns.dedup();
    Ok(towns)
}

/// Register the pool's enterprises (each with its own first operator, `e01`…, whose password
/// nobody is told) and return the partner id of the demo enterprise.
pub async fn seed_enterprises(store: &Store, broker_id: &str) -> Result<String> {
    let p = pool(POOL_SEED, 0);
    let towns = towns(store).await?;
    let m = store.market();
    let existing = m.enterprises().await?;
    let mut demo = None;
    for (i, e) in p.enterprises.iter().enumerate() {
        let id = match existing.iter().find(|x| x.credit_code == e.credit_code) {
            Some(x) => x.partner_id.clone(),
            None => {
                let password = hex::encode(moralbank_store::vault::random_bytes(12));
                let new = NewEnterprise {
                    name: e.name.clone(),
                    credit_code: e.credit_code.clone(),
                    kind: e.kind.into(),
                    industry: e.industry.into(),
                    town_id: towns
                        .get(e.town % towns.len().max(1))
                        .cloned()
                        .unwrap_or_default(),
                    contact_name: e.contact_name.clone(),
                    contact_phone: e.contact_phone.clone(),
                    username: format!("e{:02}", i + 1),
                    password,
                };
                m.register_enterprise(&new, broker_id, now_ms())
                    .await?
                    .partner_id
            }
        };
        if i == DEMO_ENTERPRISE {
            demo = Some(id);
        }
    }
    demo.ok_or_else(|| CliError::Config("the demo enterprise was not registered".into()))
}

/// The office's spreadsheet of the pool, as CSV with the template's Chinese headers. The
/// first expert's phone is the printed resident's: they claim that profile.
fn pool_csv(p: &Pool) -> String {
    let mut s = String::from("专家编号,姓名,职称,工作单位,学科,服务行业,研究方向关键词,专家简介,所在地区,接洽状态,手机号,邮箱,同意入库日期\r\n");
    let (my_phone, _) = demo_identity(0);
    let quote = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    for (i, x) in p.experts.iter().enumerate() {
        let area = match x.region {
            PoolRegion::Local(_) => domain::market::LOCAL_AREA,
            PoolRegion::Ningbo => "ningbo",
            PoolRegion::Province => "province",
            PoolRegion::Elsewhere => "elsewhere",
        };
        let phone = if i == 0 {
            my_phone.as_str().to_string()
        } else {
            x.phone.clone()
        };
        let _ = write!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},2026-10-15\r\n",
            x.code,
            quote(&x.name),
            quote(&x.title),
            quote(&x.institution),
            x.discipline,
            x.industries.join(" "),
            quote(&x.keywords.join("、")),
            quote(&x.summary),
            area,
            if i == 0 { "available" } else { x.availability },
            phone,
            x.email,
        );
    }
    s
}

/// The standard a free consultation earns points under: 3 points an hour, at most 60 a year,
/// trusted for the registered cooperatives' confirmations.
async fn ensure_standard(store: &Store) -> Result<()> {
    if store
        .evaluation()
        .standard_current(CONSULTATION_STANDARD)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let coops: Vec<String> = store
        .market()
        .cooperatives()
        .await?
        .into_iter()
        .map(|c| c.partner_id)
        .collect();
    let s = NewStandard {
        code: CONSULTATION_STANDARD.into(),
        name_zh: "科技专家为村合作社公益咨询（每小时）".into(),
        name_en: "Free technical consultation to a village cooperative (per hour)".into(),
        points_min: 3,
        points_max: 3,
        cap_points: Some(60),
        cap_period: "year".into(),
        evidence_zh: "合作社在科技超市确认的咨询记录".into(),
        evidence_en:
            "The consultation record the cooperative confirmed in the technology supermarket".into(),
        awarder: "partner".into(),
        active: true,
        trusted_partners: coops,
    };
    store.evaluation().save_standard(&s, "system:demo").await?;
    Ok(())
}

#[allow(clippy::too_many_lines)] // the demo market's story, one step after the other
pub async fn seed_market(store: &Store, rules: &Rules) -> Result<()> {
    let m = store.market();
    if !m.demands(&[], 1).await?.is_empty() {
        return Ok(());
    }
    let Some(broker) = store.accounts().staff_by_username("broker").await? else {
        return Ok(());
    };
    let started = std::time::Instant::now();
    let p = pool(POOL_SEED, POOL_EXPERTS);
    let office = Party::Broker {
        staff_id: broker.id.clone(),
        label: "科技超市（演示）".into(),
    };
    let csv = pool_csv(&p);
    let import = store
        .citydata()
        .import_file(
            &Upload {
                schema: &domain::citydata::kinds::MARKET_EXPERTS,
                owner: ImportOwner::City,
                by: format!("staff:{}", broker.id),
                file_name: "科技超市专家库-2026.csv".into(),
                bytes: csv.as_bytes(),
            },
            Mode::Commit,
            rules,
            now_ms(),
            &AtomicUsize::new(0),
        )
        .await?;
    println!(
        "Technology supermarket: expert pool imported ({}, {} rows, {} refused) in {:.1} s",
        import.status,
        import.rows.total,
        import.rows.refused,
        started.elapsed().as_secs_f64()
    );
    let all = m.enterprises().await?;
    let partner_of = |i: usize| {
        all.iter()
            .find(|e| e.credit_code == p.enterprises[i].credit_code)
            .map(|e| e.partner_id.clone())
    };
    let now = now_ms();
    for a in &p.achievements {
        let new = NewAchievement {
            title: a.title.clone(),
            summary: a.summary.clone(),
            keywords: a.keywords.join("、"),
            industry: a.industry.into(),
            discipline: a.discipline.into(),
            trl: a.trl.to_string(),
            ip_kind: a.ip_kind.into(),
            ip_number: a.ip_number.clone(),
            licensing: a.licensing.into(),
            price_band: a.price_band.into(),
            owner_expert_code: p.experts[a.owner_expert % p.experts.len()].code.clone(),
            owner_partner_id: String::new(),
        };
        m.add_achievement(&new, &broker.id, now).await?;
    }
    let today = domain::time::cst_day(now);
    let mut demands = Vec::new();
    for d in &p.demands {
        let Some(pid) = partner_of(d.enterprise) else {
            continue;
        };
        let deadline = domain::time::day_of(now + i64::from(d.deadline_days) * DAY);
        let form = DemandForm::parse(
            &d.title,
            &d.summary,
            &d.detail,
            (d.industry, d.budget_band, &deadline),
            today,
        )
        .map_err(|e| CliError::Config(format!("a demo demand is refused: {e}")))?;
        let who = Party::Enterprise {
            partner_id: pid,
            staff_id: "demo".into(),
            label: "演示".into(),
        };
        demands.push((m.publish_demand(&who, &form, None, now).await?, who));
    }
    // Matchmaking events: both ahead, the first nearly full with a wait list.
    let first = m
        .create_event(
            "智能装备与工业互联网专场对接会",
            "智能装备、工业互联网、机器视觉与伺服控制的供需对接",
            "余姚市科技创新中心三楼报告厅",
            &[
                NewSession {
                    title: "上午：智能装备".into(),
                    starts_at: now + 3 * DAY,
                    ends_at: now + 3 * DAY + 3 * HOUR,
                    capacity: 20,
                },
                NewSession {
                    title: "下午：工业互联网".into(),
                    starts_at: now + 3 * DAY + 5 * HOUR,
                    ends_at: now + 3 * DAY + 8 * HOUR,
                    capacity: 30,
                },
            ],
            &broker.id,
            now,
        )
        .await?;
    m.create_event(
        "农产品加工与乡村振兴技术对接会",
        "杨梅、榨菜、茭白加工保鲜与冷链，村合作社专场",
        "梁弄镇农业科技服务中心",
        &[NewSession {
            title: "全天".into(),
            starts_at: now + 12 * DAY,
            ends_at: now + 12 * DAY + 7 * HOUR,
            capacity: 15,
        }],
        &broker.id,
        now,
    )
    .await?;
    for (i, e) in all.iter().enumerate().take(24) {
        let who = Party::Enterprise {
            partner_id: e.partner_id.clone(),
            staff_id: "demo".into(),
            label: e.name.clone(),
        };
        m.sign_up(&who, &first.sessions[0].id, now).await?;
        if i % 2 == 0 {
            m.sign_up(&who, &first.sessions[1].id, now).await?;
        }
    }
    // Introductions: the matcher's first experts for the first demands, answered by the office
    // for experts who have not claimed their profiles.
    let index = MatchIndex::build(&m.expert_docs().await?, &m.achievement_docs().await?)
        .map_err(|e| CliError::Config(format!("the matching index: {e}")))?;
    let reasons = [
        "not_our_field",
        "no_capacity",
        "price",
        "too_early",
        "benefit_unclear",
    ];
    let mut contract_done = false;
    for (n, (d, who)) in demands.iter().enumerate().take(12) {
        let q = DemandQuery {
            title: d.title.clone(),
            summary: d.summary.clone(),
            industry: d.industry.clone(),
            region: domain::market::LOCAL_AREA.into(),
        };
        for (k, x) in index.top(&q, Kind::Expert, 3).iter().enumerate() {
            let ask = Ask {
                demand_id: d.id.clone(),
                target_kind: "expert".into(),
                target_id: x.id.clone(),
                message: "您好，想请您看看我们的这项需求，方便时请联系。".into(),
                event_id: (n % 3 == 0).then(|| first.id.clone()),
            };
            let Ok(i) = m.ask(who, &ask, now).await else {
                continue;
            };
            match (n + k) % 4 {
                0 => {
                    let i = m
                        .answer(&i.id, &office, IntroStep::Accept, None, now)
                        .await?;
                    if !contract_done {
                        let signed = domain::time::day_of(now - 2 * DAY);
                        let c = m
                            .record_contract(who, &i.id, "development", "500k_2m", &signed, now)
                            .await?;
                        m.register_contract(&c.id, "330281-2026-0142", &broker.id, now)
                            .await?;
                        contract_done = true;
                    }
                }
                1 => {
                    m.answer(
                        &i.id,
                        &office,
                        IntroStep::Decline,
                        Some(reasons[n % reasons.len()]),
                        now,
                    )
                    .await?;
                }
                _ => {}
            }
        }
    }
    seed_my_expert(store, &demands, rules, now).await?;
    println!(
        "Technology supermarket seeded in {:.1} s: {} demands, {} achievements.",
        started.elapsed().as_secs_f64(),
        demands.len(),
        p.achievements.len()
    );
    Ok(())
}

/// The printed resident claims the first profile of the pool (it carries their phone), has
/// an introduction waiting, and a free consultation the demo cooperative confirmed.
async fn seed_my_expert(
    store: &Store,
    demands: &[(moralbank_store::market::demands::Demand, Party)],
    rules: &Rules,
    now: i64,
) -> Result<()> {
    let m = store.market();
    let (phone, _) = demo_identity(0);
    let Some(me) = store.registry().citizen_id_by_phone(&phone).await? else {
        return Ok(());
    };
    let Some(profile) = m.claimable(&me).await?.into_iter().next() else {
        return Ok(());
    };
    m.claim_expert(
        &me,
        &profile.id,
        domain::market::EXPERT_CONSENT_VERSION,
        now,
    )
    .await?;
    if let Some((d, who)) = demands
        .iter()
        .find(|(d, _)| d.status == domain::market::DemandStatus::Open)
    {
        let ask = Ask {
            demand_id: d.id.clone(),
            target_kind: "expert".into(),
            target_id: profile.id.clone(),
            message: "听说您熟悉这方面，想请您来厂里看看。".into(),
            event_id: None,
        };
        let _ = m.ask(who, &ask, now).await;
    }
    ensure_standard(store).await?;
    if let Some(coop) = m.cooperatives().await?.into_iter().next() {
        let day = domain::time::day_of(now - 3 * DAY);
        let k = m
            .record_consultation(
                &me,
                &coop.partner_id,
                &day,
                "2",
                "杨梅保鲜与冷链运输技术指导",
                now,
            )
            .await?;
        let who = Party::Enterprise {
            partner_id: coop.partner_id.clone(),
            staff_id: "demo".into(),
            label: coop.name.clone(),
        };
        m.decide_consultation(&k.id, &who, true, rules, now).await?;
    }
    Ok(())
}
