//! The demo city's points history: awards of the kinds the original report describes
//! (volunteer hours, blood donation, neighbourly help, filial piety, a brave deed), a few
//! redemptions, and one wrong award corrected by a reversal that two admins approved, all
//! appended through the real ledger writer so that every receipt verifies.

use crate::error::{CliError, Result};
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::ledger::NewEntry;
use moralbank_store::{now_ms, Store};
use moralbank_web::Ledger;
use std::collections::HashMap;

/// (rule, reason, points)
const AWARDS: [(&str, &str, i64); 8] = [
    (
        "standard:volunteer-hour@1",
        "参加社区志愿服务 4 小时（垃圾分类督导）",
        8,
    ),
    ("standard:blood-donation@1", "无偿献血 300 毫升", 20),
    (
        "standard:neighbourly-help@1",
        "连续一个月帮助独居老人买菜送药",
        10,
    ),
    (
        "standard:filial-piety@1",
        "孝老爱亲，长期悉心照料卧病的婆婆",
        30,
    ),
    ("standard:environment@1", "参加姚江河道清洁行动", 5),
    ("standard:volunteer-hour@1", "疫苗接种点志愿服务 6 小时", 12),
    ("standard:charity@1", "向村里困难家庭捐赠冬衣", 6),
    (
        "standard:brave-deed@1",
        "见义勇为，跳入河中救起落水儿童",
        100,
    ),
];

/// Residents given a history (citizen 0, the demo login, is always among them).
const RESIDENTS: u64 = 300;

/// Append the demo history when the log is empty.
#[allow(clippy::too_many_lines)] // the demo history as a script, in the order a reader meets it
pub async fn seed(store: &Store, ledger: &Ledger, citizens: u64) -> Result<u64> {
    if store.ledger().log_head().await?.size > 0 {
        return Ok(0);
    }
    let staff = |name: &'static str| async move {
        store
            .accounts()
            .staff_by_username(name)
            .await?
            .map(|s| format!("staff:{}", s.id))
            .ok_or_else(|| CliError::Config(format!("the demo account {name} is missing")))
    };
    let (evaluator, admin, admin2) = (
        staff("evaluator").await?,
        staff("admin").await?,
        staff("admin2").await?,
    );
    let alliance = store
        .accounts()
        .list_partners()
        .await?
        .into_iter()
        .find(|p| p.kind == "volunteer_alliance")
        .map(|p| format!("partner:{}", p.id))
        .ok_or_else(|| CliError::Config("the demo volunteer alliance is missing".into()))?;
    let mut towns: HashMap<String, String> = HashMap::new();
    let mut appended = 0;
    let mut tasks = Vec::new();
    let mut redemptions: Vec<(String, NewEntry)> = Vec::new();
    for i in 0..RESIDENTS.min(citizens) {
        let (phone, _) = demo_identity(i);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        let Some(c) = store.registry().citizen_summary(&id).await? else {
            continue;
        };
        let town = match towns.get(&c.village_id) {
            Some(t) => t.clone(),
            None => {
                let (_, t) = store.registry().village_and_town(&c.village_id).await?;
                towns.insert(c.village_id.clone(), t.code.clone());
                t.code
            }
        };
        let n = if i == 0 { 6 } else { 1 + (i % 4) as usize };
        for k in 0..n {
            let (rule, reason, points) = AWARDS[(i as usize * 3 + k) % AWARDS.len()];
            let approver = if rule.starts_with("standard:volunteer") {
                alliance.clone()
            } else {
                evaluator.clone()
            };
            let entry = NewEntry::award(
                &id,
                points,
                &format!("issuance:{town}"),
                rule,
                reason,
                &format!("demo-deed:{i}-{k}"),
                vec![approver],
            );
            let seq = ledger.sequencer.clone();
            tasks.push(tokio::spawn(async move {
                seq.append(format!("demo/{i}/{k}"), entry).await
            }));
        }
        if i % 5 == 0 {
            let entry = NewEntry::redemption(
                &id,
                5,
                &format!("benefits:{town}"),
                "benefit:bus-ride@1",
                "兑换公交免费乘车券一张",
                &format!("demo-redemption:{i}"),
                vec![evaluator.clone()],
            );
            redemptions.push((format!("demo/{i}/r"), entry));
        }
    }
    for t in tasks {
        t.await
            .map_err(|e| CliError::Config(format!("demo history: {e}")))??;
        appended += 1;
    }
    // Spent only after the awards are in.
    let tasks: Vec<_> = redemptions
        .into_iter()
        .map(|(key, entry)| {
            let seq = ledger.sequencer.clone();
            tokio::spawn(async move { seq.append(key, entry).await })
        })
        .collect();
    for t in tasks {
        t.await
            .map_err(|e| CliError::Config(format!("demo history: {e}")))??;
        appended += 1;
    }
    // Citizen 0 gets an award by mistake, which the first admin asks to reverse and the
    // second approves: the resident then sees both entries.
    let (phone, _) = demo_identity(0);
    if let Some(id) = store.registry().citizen_id_by_phone(&phone).await? {
        let c = store
            .registry()
            .citizen_summary(&id)
            .await?
            .ok_or_else(|| CliError::Config("citizen 0 vanished".into()))?;
        let (_, town) = store.registry().village_and_town(&c.village_id).await?;
        let wrong = ledger
            .sequencer
            .append(
                "demo/0/wrong".into(),
                NewEntry::award(
                    &id,
                    20,
                    &format!("issuance:{}", town.code),
                    "standard:blood-donation@1",
                    "无偿献血 300 毫升（误录：实为同名居民）",
                    "demo-deed:0-wrong",
                    vec![evaluator.clone()],
                ),
            )
            .await?;
        let request = store
            .ledger()
            .request_reversal(
                wrong.index,
                "误录：献血者是同名的另一位居民",
                &admin,
                now_ms(),
            )
            .await?;
        let reversal = ledger
            .sequencer
            .append(
                format!("reversal/{request}"),
                NewEntry::reversal(
                    wrong.index,
                    "误录：献血者是同名的另一位居民",
                    vec![admin.clone(), admin2.clone()],
                ),
            )
            .await?;
        store
            .ledger()
            .decide_reversal(&request, &admin2, true, Some(reversal.index), now_ms())
            .await?;
        appended += 2;
    }
    Ok(appended)
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
