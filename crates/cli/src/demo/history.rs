//! The demo city's points history, made the only way points are made: deeds of the kinds the
//! original report describes (volunteer hours and blood donations submitted by the partners the
//! standards trust; neighbourly help, filial piety, a brave deed voted on by the village
//! committee), reported a month ago so that their publicity has ended, then credited by the
//! real credit run; bus rides paid with points by redeeming a moral code; and one wrong award
//! corrected by a reversal that two admins approved. Every entry goes through the rules and the
//! ledger's writer, so every receipt verifies.

use crate::error::{CliError, Result};
use domain::time::{DAY_MS, HOUR_MS};
use domain::IdempotencyKey;
use moralbank_store::code::redemptions::Presented;
use moralbank_store::evaluation::{NewDeed, Reporter, Rules, VoteInput};
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::ledger::NewEntry;
use moralbank_store::{now_ms, Store};
use moralbank_web::Ledger;

/// (standard code, partner name, description, points) of the partners' submissions.
const PARTNER_DEEDS: [(&str, &str, &str); 4] = [
    (
        "volunteer-hour",
        ALLIANCE,
        "参加社区志愿服务（垃圾分类督导）",
    ),
    ("blood-donation", HOSPITAL, "无偿献血 300 毫升"),
    ("volunteer-hour", ALLIANCE, "疫苗接种点志愿服务"),
    ("volunteer-hour", ALLIANCE, "敬老院陪伴老人志愿服务"),
];

/// (standard code, description, points the committee approves) of the demo login's deeds.
const COMMITTEE_DEEDS: [(&str, &str, i64); 3] = [
    ("neighbourly-help", "连续一个月帮助独居老人买菜送药", 10),
    ("filial-piety", "孝老爱亲，长期悉心照料卧病的婆婆", 30),
    ("brave-deed", "见义勇为，跳入河中救起落水儿童", 100),
];

const ALLIANCE: &str = super::dispatch::ORGANISER_ALLIANCE;
const HOSPITAL: &str = "余姚市人民医院";

/// Residents given a history (citizen 0, the demo login, is always among them).
const RESIDENTS: u64 = 300;

/// How long ago the history's deeds were reported: their publicity ended long since.
const HISTORY_AGE_MS: i64 = 30 * DAY_MS;

/// Give the first residents their history when the log is empty; returns the entries appended.
pub async fn seed(store: &Store, ledger: &Ledger, citizens: u64) -> Result<u64> {
    if store.ledger().log_head().await?.size > 0 {
        return Ok(0);
    }
    let rules = Rules::default();
    let partners = store.accounts().list_partners().await?;
    let partner = |name: &str| {
        partners
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id.clone())
            .ok_or_else(|| CliError::Config(format!("the demo partner {name} is missing")))
    };
    let (alliance, hospital) = (partner(ALLIANCE)?, partner(HOSPITAL)?);
    let start = now_ms() - HISTORY_AGE_MS;
    let mut ids = Vec::new();
    for i in 0..RESIDENTS.min(citizens) {
        let (phone, _) = demo_identity(i);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        let n = if i == 0 { 3 } else { 1 + (i % 3) as usize };
        for k in 0..n {
            let (code, name, what) = PARTNER_DEEDS[(i as usize + k) % PARTNER_DEEDS.len()];
            let by = if name == ALLIANCE {
                &alliance
            } else {
                &hospital
            };
            let at = start + i64::try_from(i * 4 + k as u64).unwrap_or(0) * 60_000;
            submit(
                store,
                &rules,
                by,
                &format!("demo-{i}-{k}"),
                &id,
                code,
                what,
                at,
            )
            .await?;
        }
        ids.push(id);
    }
    if let Some(first) = ids.first() {
        committee_history(store, &rules, first, start).await?;
    }
    let mut appended = credit_all(store, ledger).await?;
    if let Some(first) = ids.first() {
        appended += wrong_award_reversed(store, ledger, &rules, &hospital, first).await?;
    }
    Ok(appended)
}

/// A partner's submission of a deed of a standard it is trusted for (straight to publicity).
#[allow(clippy::too_many_arguments)] // one deed's fields, named at the call
async fn submit(
    store: &Store,
    rules: &Rules,
    partner_id: &str,
    key: &str,
    citizen_id: &str,
    code: &str,
    what: &str,
    at: i64,
) -> Result<String> {
    let key = IdempotencyKey::parse(key)
        .map_err(|e| CliError::Config(format!("demo key: {}", e.detail)))?;
    let deed = store
        .evaluation()
        .report_deed(
            &NewDeed {
                citizen_id: citizen_id.to_string(),
                reporter: Reporter::Partner {
                    partner_id: partner_id.to_string(),
                    key,
                },
                standard_code: code.into(),
                deed_date: moralbank_store::day_of(at - DAY_MS),
                place: "余姚市".into(),
                description: what.into(),
                evidence: vec![],
                points: None,
            },
            rules,
            at,
        )
        .await?;
    Ok(deed.id)
}

/// The demo login's own deeds, reported by them and approved by their village committee.
async fn committee_history(store: &Store, rules: &Rules, citizen: &str, start: i64) -> Result<()> {
    let mut members = Vec::new();
    for name in ["evaluator", "evaluator2", "evaluator3"] {
        if let Some(s) = store.accounts().staff_by_username(name).await? {
            members.push(s);
        }
    }
    for (k, (code, what, points)) in COMMITTEE_DEEDS.iter().enumerate() {
        let at = start + i64::try_from(k).unwrap_or(0) * DAY_MS;
        let deed = store
            .evaluation()
            .report_deed(
                &NewDeed {
                    citizen_id: citizen.to_string(),
                    reporter: Reporter::Citizen(citizen.to_string()),
                    standard_code: (*code).into(),
                    deed_date: moralbank_store::day_of(at - DAY_MS),
                    place: "东山社区".into(),
                    description: (*what).into(),
                    evidence: vec![],
                    points: None,
                },
                rules,
                at,
            )
            .await?;
        let yes = VoteInput {
            approve: true,
            points: Some(*points),
            comment: "经走访核实，情况属实".into(),
        };
        for m in &members {
            // A member of the resident's household is recused: the others decide.
            match store
                .evaluation()
                .vote(&deed.id, m, &yes, rules, at + HOUR_MS)
                .await
            {
                Ok(domain::deed::DeedStatus::Review) | Err(_) => {}
                Ok(_) => break,
            }
        }
    }
    Ok(())
}

/// Run the credit run until nothing is due; returns the entries it appended.
async fn credit_all(store: &Store, ledger: &Ledger) -> Result<u64> {
    let mut appended = 0;
    loop {
        let r = store
            .evaluation()
            .credit_due(&ledger.sequencer, now_ms(), 5_000)
            .await?;
        if r.failed > 0 {
            return Err(CliError::Config(format!(
                "the demo history's credit run failed for {} deeds",
                r.failed
            )));
        }
        if r.credited == 0 {
            return Ok(appended);
        }
        appended += r.credited as u64;
    }
}

/// The hospital submits a blood donation for the demo login by mistake (another resident of the
/// same name gave the blood); once credited, the first admin asks to reverse it and the second
/// approves: the resident sees both entries.
async fn wrong_award_reversed(
    store: &Store,
    ledger: &Ledger,
    rules: &Rules,
    hospital: &str,
    citizen: &str,
) -> Result<u64> {
    let reason = "误录：献血者是同名的另一位居民";
    let at = now_ms() - 10 * DAY_MS;
    let what = "无偿献血 300 毫升（误录：实为同名居民）";
    let deed = submit(
        store,
        rules,
        hospital,
        "demo-0-wrong",
        citizen,
        "blood-donation",
        what,
        at,
    )
    .await?;
    credit_all(store, ledger).await?;
    let wrong = store
        .evaluation()
        .deed(&deed)
        .await?
        .and_then(|d| d.ledger_index)
        .ok_or_else(|| CliError::Config("the wrong award was not credited".into()))?;
    let staff = |name: &'static str| async move {
        store
            .accounts()
            .staff_by_username(name)
            .await?
            .map(|s| format!("staff:{}", s.id))
            .ok_or_else(|| CliError::Config(format!("the demo account {name} is missing")))
    };
    let (admin, admin2) = (staff("admin").await?, staff("admin2").await?);
    let wrong = u64::try_from(wrong).unwrap_or(0);
    let request = store
        .ledger()
        .request_reversal(wrong, reason, &admin, now_ms())
        .await?;
    let reversal = ledger
        .sequencer
        .append_reversal(
            format!("reversal/{request}"),
            NewEntry::reversal(wrong, reason, vec![admin.clone(), admin2.clone()]),
        )
        .await?;
    store
        .ledger()
        .decide_reversal(&request, &admin2, true, Some(reversal.index), now_ms())
        .await?;
    Ok(2)
}

/// Bus rides paid with points: every fifth resident of the history shows a moral code to the
/// bus company's scanner, which redeems it through the real redemption rules (the benefit's
/// tier, a code used once, the balance).
pub async fn seed_redemptions(store: &Store, ledger: &Ledger) -> Result<u64> {
    let Some(bus) = store
        .code()
        .benefits()
        .await?
        .into_iter()
        .find(|b| b.kind == "points")
    else {
        return Ok(0);
    };
    if store.code().count_redemptions().await? > 0 {
        return Ok(0);
    }
    let now = now_ms();
    let mut granted = 0;
    for i in (0..RESIDENTS).step_by(5) {
        let (phone, _) = demo_identity(i);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        let points = store.ledger().points(&id, now).await?;
        if points.balance < bus.points_cost.unwrap_or(0) {
            continue;
        }
        let code_id = domain::new_id();
        store
            .code()
            .record_issued_code(&code_id, &id, false, now / 1000 + 90)
            .await?;
        let presented = Presented {
            code_id,
            tier: i64::from(domain::tier::tier(
                points.credit,
                &domain::tier::DEFAULT_THRESHOLDS,
            )),
            badges: vec![],
            printed: false,
        };
        let key = IdempotencyKey::parse(&format!("demo-bus-{i}"))
            .map_err(|e| CliError::Config(format!("demo key: {}", e.detail)))?;
        let d = ledger
            .redeemer
            .redeem(&bus.partner_id, &key, &bus.id, &presented, now)
            .await?;
        granted += u64::from(d.granted);
    }
    Ok(granted)
}

/// Scene, partner kind, names, description, minimum tier, badge, kind, quota, points cost.
type DemoBenefit = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<&'static str>,
    &'static str,
    Option<i64>,
    Option<i64>,
);

#[allow(clippy::too_many_lines)] // the demo benefits as a script, one scene after the other
/// The five scenes and a benefit catalogue with the demo partners.
pub async fn seed_benefits(store: &Store) -> Result<()> {
    use moralbank_store::code::benefits::NewBenefit;
    store.code().ensure_default_scenes().await?;
    if !store.code().benefits().await?.is_empty() {
        return Ok(());
    }
    let partners = store.accounts().list_partners().await?;
    let of = |kind: &str| {
        partners
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| p.id.clone())
    };
    let items: [DemoBenefit; 6] = [
        (
            "reading",
            "library",
            "免押金借书证",
            "Deposit-free library card",
            "凭道德码办理借书证，免交100元押金",
            1,
            None,
            "eligibility",
            None,
            None,
        ),
        (
            "rental",
            "rental",
            "免押金租用公共自行车",
            "Deposit-free public bikes",
            "凭道德码免押金租用阳明公共自行车",
            1,
            None,
            "eligibility",
            None,
            None,
        ),
        (
            "transport",
            "transport",
            "公交免费乘车券",
            "Free bus ride",
            "用5积分兑换一次公交免费乘车",
            1,
            None,
            "points",
            None,
            Some(5),
        ),
        (
            "tourism",
            "scenic",
            "四明山景区免费门票",
            "Free Siming Mountain tickets",
            "每年两次免费游览四明山景区",
            2,
            None,
            "quota",
            Some(2),
            None,
        ),
        (
            "medical",
            "hospital",
            "门诊优先挂号",
            "Priority outpatient registration",
            "三星及以上可在人民医院优先挂号",
            3,
            None,
            "eligibility",
            None,
            None,
        ),
        (
            "tourism",
            "scenic",
            "道德绿卡贵宾通道",
            "Green card VIP lane",
            "持道德绿卡走景区贵宾通道",
            1,
            Some("green-card"),
            "eligibility",
            None,
            None,
        ),
    ];
    for (scene, partner_kind, zh, en, desc, tier, badge, kind, quota, cost) in items {
        let Some(partner_id) = of(partner_kind) else {
            continue;
        };
        store
            .code()
            .create_benefit(&NewBenefit {
                scene: scene.into(),
                partner_id,
                name_zh: zh.into(),
                name_en: en.into(),
                description_zh: desc.into(),
                description_en: en.into(),
                min_tier: tier,
                badge: badge.map(str::to_string),
                kind: kind.into(),
                quota,
                quota_period: quota.map(|_| "year".to_string()),
                points_cost: cost,
            })
            .await?;
    }
    Ok(())
}

/// A green card for citizen 0 (the demo login), so the code page shows the badge.
pub async fn seed_green_card(store: &Store) -> Result<()> {
    if !store.code().green_cards(1).await?.is_empty() {
        return Ok(());
    }
    let (phone, _) = demo_identity(0);
    let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
        return Ok(());
    };
    let now = now_ms();
    store
        .code()
        .issue_green_card(
            &id,
            "yuyao-good-person",
            "多年义务照顾村里的孤寡老人",
            now + 365 * domain::time::DAY_MS,
            "system:demo",
            now,
        )
        .await?;
    Ok(())
}

#[allow(clippy::too_many_lines)] // the demo deeds as a script, one state of a deed after the other
/// A few deeds of the demo village in each state a visitor should see: one waiting for the
/// committee, one on the publicity board, one rejected and open to appeal.
pub async fn seed_deeds(store: &Store) -> Result<()> {
    use moralbank_store::evaluation::{NewDeed, Reporter, Rules, VoteInput};
    let members = [
        store.accounts().staff_by_username("evaluator").await?,
        store.accounts().staff_by_username("evaluator2").await?,
    ];
    let [Some(m1), Some(m2)] = members else {
        return Ok(());
    };
    // Residents of the committee's village (the seeder puts citizen 0 there): three whose deeds
    // the visitor sees, and one per committee member in a household of their own, to whom the
    // members are linked so that they can vote (recusal needs to know their household).
    let mut villagers: Vec<(String, String)> = Vec::new();
    let mut households = std::collections::HashSet::new();
    for i in 1..20_000 {
        let (phone, _) = demo_identity(i);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            break;
        };
        if let Some(c) = store.registry().citizen_summary(&id).await? {
            if Some(c.village_id.as_str()) == m1.region_id.as_deref() {
                households.insert(c.household_id.clone());
                villagers.push((id, c.household_id));
                // The three deeds' households and four more for the committee.
                if households.len() >= 7 {
                    break;
                }
            }
        }
    }
    let ids: Vec<String> = villagers.iter().take(3).map(|(id, _)| id.clone()).collect();
    let [a, b, c] = ids.as_slice() else {
        tracing::warn!("the demo village has fewer than three residents: no demo deeds");
        return Ok(());
    };
    let mut taken: Vec<&str> = villagers.iter().take(3).map(|(_, h)| h.as_str()).collect();
    let mut homes = Vec::new();
    for (id, household) in villagers.iter().skip(3) {
        if !taken.contains(&household.as_str()) {
            taken.push(household);
            homes.push(id.clone());
        }
    }
    let names = ["evaluator", "evaluator2", "evaluator3", "reviewer"];
    if homes.len() < names.len() {
        tracing::warn!(
            "the demo village has too few households to link its committee: no demo deeds"
        );
        return Ok(());
    }
    for (i, (name, home)) in names.iter().zip(&homes).enumerate() {
        if let Some(s) = store.accounts().staff_by_username(name).await? {
            // The first evaluator chairs the village committee.
            store
                .evaluation()
                .link_staff_citizen(&s.id, Some(home), i == 0)
                .await?;
        }
    }
    if !store.evaluation().citizen_deeds(a, 1).await?.is_empty() {
        return Ok(());
    }
    let rules = Rules::default();
    let now = now_ms();
    let today = moralbank_store::day_of(now);
    let deed = |citizen: &str, code: &str, what: &str| NewDeed {
        citizen_id: citizen.to_string(),
        reporter: Reporter::Citizen(citizen.to_string()),
        standard_code: code.into(),
        deed_date: today.clone(),
        place: "东山社区".into(),
        description: what.into(),
        evidence: vec![],
        points: None,
    };
    store
        .evaluation()
        .report_deed(
            &deed(a, "neighbourly-help", "冬天帮独居老人疏通冻住的水管"),
            &rules,
            now,
        )
        .await?;
    let on_board = store
        .evaluation()
        .report_deed(
            &deed(b, "environment", "组织邻居清理小区后面的河道垃圾"),
            &rules,
            now,
        )
        .await?;
    let yes = VoteInput {
        approve: true,
        points: Some(6),
        comment: "情况属实".into(),
    };
    store
        .evaluation()
        .vote(&on_board.id, &m1, &yes, &rules, now)
        .await?;
    store
        .evaluation()
        .vote(&on_board.id, &m2, &yes, &rules, now)
        .await?;
    let rejected = store
        .evaluation()
        .report_deed(&deed(c, "charity", "给村里困难家庭送去米和油"), &rules, now)
        .await?;
    let no = VoteInput {
        approve: false,
        points: None,
        comment: "缺少捐赠凭证，可补充后申诉".into(),
    };
    store
        .evaluation()
        .vote(&rejected.id, &m1, &no, &rules, now)
        .await?;
    store
        .evaluation()
        .vote(&rejected.id, &m2, &no, &rules, now)
        .await?;
    Ok(())
}
