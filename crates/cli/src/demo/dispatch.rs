//! The demo's volunteer dispatch: the city's eight volunteer alliances (the seed's areas), a few
//! hundred volunteers with skills, certificates and weekly hours, two months of completed
//! requests (checked in with site codes, confirmed, rated, the hours credited through the
//! trusted standard; one no-show), and in the printed resident's village: their own request
//! with a volunteer on the way, an offer waiting for their answer (they volunteer too, and
//! served once), a request waiting for the alliance's review and an activity open to sign-up.
//! Seeded once (the organiser alliance's tasks are the marker).

use crate::error::Result;
use domain::dispatch::matcher::Availability;
use domain::dispatch::{Ask, Confirmation, OfferStep, SKILLS};
use moralbank_store::dispatch::offers::Choice;
use moralbank_store::dispatch::service::SiteScan;
use moralbank_store::dispatch::tasks::{Filer, Who};
use moralbank_store::dispatch::volunteers::{Certificate, Joining};
use moralbank_store::evaluation::Rules;
use moralbank_store::fixtures::city::demo_identity;
use moralbank_store::{now_ms, Store};

/// The eight alliances of the city's civilisation practice centre, with their areas.
pub const ALLIANCES: [(&str, &str); 8] = [
    ("余姚市理论宣讲志愿服务联盟", "theory"),
    ("余姚市便民服务志愿服务联盟", "services"),
    ("余姚市邻里守望志愿服务联盟", "neighbourhood"),
    ("余姚市疫情防控志愿服务联盟", "epidemic"),
    ("余姚市乡村振兴志愿服务联盟", "rural"),
    ("余姚市文明新风志愿服务联盟", "customs"),
    ("美丽余姚志愿服务联盟", "beautiful_city"),
    ("余姚市平安建设志愿服务联盟", "safety"),
];
/// The alliance whose organisers have demo logins (`alliance`, `alliance2`).
pub const ORGANISER_ALLIANCE: &str = "余姚市邻里守望志愿服务联盟";
const VOLUNTEERS_MAX: usize = 400;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const EXPIRY: i64 = 4 * HOUR;

/// A resident the demo knows: their id, village and town.
struct Resident {
    id: String,
    village: String,
    household: String,
}

/// The printed resident.
struct Me {
    id: String,
    village: String,
    household: String,
}

impl Me {
    /// A neighbour: the same village, another household (a volunteer never serves their own).
    fn neighbour(&self, r: &Resident) -> bool {
        r.village == self.village && r.household != self.household
    }
}

/// 00:00 China time of the day `at` falls in, plus `hours`.
fn day_at(at: i64, hours: i64) -> i64 {
    let cst = 8 * HOUR;
    (at + cst).div_euclid(DAY) * DAY - cst + hours * HOUR
}

fn ask(
    category: &'static str,
    title: &str,
    place: &str,
    starts: i64,
    hours: i64,
    people: u32,
    skills: &[&str],
) -> Ask {
    Ask {
        category,
        title: title.into(),
        place: place.into(),
        starts_at: starts,
        ends_at: starts + hours * HOUR,
        people,
        skills: skills.iter().map(|s| s.to_string()).collect(),
        certificates: Vec::new(),
        notes: String::new(),
    }
}

/// Weekly hours by pattern: weekends and evenings, weekday daytime, evenings, any time.
fn availability(i: u64) -> Availability {
    // Not by `i % 4`: an alliance's members are every fortieth resident, all alike modulo 4.
    let text = match (i / 8) % 4 {
        0 => "18-21;18-21;18-21;18-21;18-21;8-18;8-18",
        1 => "8-18;8-18;8-18;8-18;8-18;;",
        2 => "18-21;18-21;18-21;18-21;18-21;18-21;18-21",
        _ => "0-24;0-24;0-24;0-24;0-24;0-24;0-24",
    };
    Availability::parse(text).unwrap_or_else(|_| Availability::always())
}

pub async fn seed_dispatch(store: &Store, citizens: u64) -> Result<()> {
    let d = store.dispatch();
    let alliances = d.alliances().await?;
    let Some(home) = alliances
        .iter()
        .find(|a| a.name == ORGANISER_ALLIANCE)
        .cloned()
    else {
        return Ok(());
    };
    if !d.alliance_tasks(&home.id, &[], 1).await?.is_empty() {
        return Ok(());
    }
    let staff = |name: &str| {
        let name = name.to_string();
        async move { store.accounts().staff_by_username(&name).await }
    };
    let (Some(o1), Some(o2)) = (staff("alliance").await?, staff("alliance2").await?) else {
        return Ok(());
    };
    let organiser = |s: &moralbank_store::accounts::Staff, partner: &str| Who::Staff {
        actor: format!("staff:{}", s.id),
        partner_id: Some(partner.to_string()),
        clerk_of: None,
    };
    let now = now_ms();
    let mut residents = Vec::new();
    for i in 0..citizens.min(3_000) {
        let (phone, _) = demo_identity(i);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        if let Some(s) = store.registry().citizen_summary(&id).await? {
            residents.push((
                i,
                Resident {
                    id,
                    village: s.village_id,
                    household: s.household_id,
                },
            ));
        }
    }
    let Some(me) = residents.first().map(|(_, r)| Me {
        id: r.id.clone(),
        village: r.village.clone(),
        household: r.household.clone(),
    }) else {
        return Ok(());
    };
    // Volunteers: the printed resident and their neighbours for the organiser's alliance, then
    // every fifth resident elsewhere for one or two alliances.
    let since = now - 70 * DAY;
    let mut volunteers = Vec::new();
    for (i, r) in &residents {
        let neighbour = r.village == me.village;
        if volunteers.len() >= VOLUNTEERS_MAX || !(neighbour || i % 5 == 0) {
            continue;
        }
        let mut mine = vec![alliances[(*i as usize) % alliances.len()].id.clone()];
        if neighbour || i % 3 == 0 {
            mine.push(home.id.clone());
        }
        mine.sort();
        mine.dedup();
        let skills: Vec<String> = (0..1 + i % 3)
            .map(|k| SKILLS[((i + k * 4) % SKILLS.len() as u64) as usize].to_string())
            .collect();
        let certificates = if i % 6 == 0 {
            vec![Certificate {
                skill: "first-aid".into(),
                number: format!("RC-3302-{i:05}"),
                valid_until: now + (200 + (i % 400) as i64) * DAY,
            }]
        } else {
            Vec::new()
        };
        let availability = if r.id == me.id {
            Availability::always()
        } else {
            availability(*i)
        };
        let j = Joining {
            alliances: mine,
            skills,
            serves: Vec::new(),
            availability,
            certificates,
        };
        d.join(&r.id, &j, since).await?;
        volunteers.push(r.id.clone());
    }
    let rules = Rules::default();
    let clerk = organiser(&o1, &home.id);
    history(
        store,
        &alliances,
        &residents,
        &me,
        (&home.id, &clerk),
        &rules,
        now,
    )
    .await?;
    today(store, &home.id, &residents, &me, &clerk, now).await?;
    // The second clerk's login approves hours entered by hand (none are waiting in the demo).
    drop(o2);
    Ok(())
}

/// Two months of completed requests across the alliances: each dispatched by the matcher,
/// accepted, checked in and out with site codes, confirmed by its requester (the hours become
/// the alliance's deed, credited once its publicity ends), rated and closed. The printed
/// resident served the first; one volunteer did not come to another.
async fn history(
    store: &Store,
    alliances: &[moralbank_store::dispatch::Alliance],
    residents: &[(u64, Resident)],
    me: &Me,
    (home, home_organiser): (&str, &Who),
    rules: &Rules,
    now: i64,
) -> Result<()> {
    let d = store.dispatch();
    let titles = [
        (
            "neighbourhood",
            "陪同独居老人到医院复诊",
            "村卫生室",
            &["elderly-care"][..],
        ),
        (
            "services",
            "帮老人修理漏水的水龙头",
            "村口第三户",
            &["repair"][..],
        ),
        (
            "theory",
            "村文化礼堂党史宣讲",
            "村文化礼堂",
            &["publicity"][..],
        ),
        (
            "epidemic",
            "疫苗接种点引导服务",
            "镇卫生院",
            &["first-aid"][..],
        ),
        ("rural", "帮助果农采摘杨梅", "杨梅基地", &["driving"][..]),
        ("customs", "移风易俗宣传入户", "村委会", &["publicity"][..]),
        ("beautiful_city", "河道清理志愿服务", "姚江沿岸", &[][..]),
        ("safety", "夜间平安巡逻", "村主干道", &[][..]),
    ];
    for k in 0..24usize {
        // The first is the organiser alliance's, served by the printed resident.
        let alliance = match k {
            0 => alliances
                .iter()
                .find(|a| a.id == home)
                .unwrap_or(&alliances[0]),
            _ => &alliances[k % alliances.len()],
        };
        let (category, title, place, skills) = titles[k % titles.len()];
        let requester = &residents[(37 * k + 11) % residents.len()].1;
        let village_of_me = k == 0;
        let requester = if village_of_me {
            residents
                .iter()
                .map(|(_, r)| r)
                .find(|r| me.neighbour(r))
                .unwrap_or(requester)
        } else {
            requester
        };
        let start = day_at(now - (8 + 2 * k as i64) * DAY, 9);
        let filed = start - 3 * DAY;
        let who = Who::Staff {
            actor: "system:demo".into(),
            partner_id: Some(alliance.id.clone()),
            clerk_of: None,
        };
        let who = if alliance.id == home {
            home_organiser.clone()
        } else {
            who
        };
        let a = ask(
            category,
            title,
            place,
            start,
            2 + (k % 3) as i64,
            1 + (k % 2) as u32,
            skills,
        );
        let t = d
            .file_request(
                &requester.id,
                &alliance.id,
                &a,
                &Filer::Resident,
                None,
                filed,
            )
            .await?;
        d.review(&t.id, &who, true, "", filed + HOUR).await?;
        let places = d
            .propose(&alliance.id, &[t.id.clone()], filed + 2 * HOUR)
            .await?;
        let mut choices: Vec<Choice> = places
            .iter()
            .filter_map(|p| {
                p.offer.as_ref().map(|o| Choice {
                    shift_id: p.shift_id.clone(),
                    volunteer_id: o.volunteer_id.clone(),
                })
            })
            .collect();
        if village_of_me {
            // The printed resident served this one.
            if let Some(c) = choices.first_mut() {
                c.volunteer_id = me.id.clone();
            }
        }
        // Nobody eligible (the matcher's hard constraints): the request stays accepted.
        if choices.is_empty()
            || d.send_offers(&who, &choices, EXPIRY, filed + 2 * HOUR)
                .await
                .is_err()
        {
            continue;
        }
        let shift = choices[0].shift_id.clone();
        for (n, c) in choices.iter().enumerate() {
            let offers = d.task_offers(&t.id).await?;
            let Some(o) = offers.iter().find(|o| o.volunteer_id == c.volunteer_id) else {
                continue;
            };
            d.answer(&o.id, &c.volunteer_id, true, EXPIRY, filed + 3 * HOUR)
                .await?;
            if k == 3 && n == 1 {
                d.organiser_step(&o.id, &who, OfferStep::NoShow, start + HOUR)
                    .await?;
                continue;
            }
            let code = |x: usize| SiteScan {
                shift_id: shift.clone(),
                code_id: format!("demo-{k}-{n}-{x}"),
            };
            d.scan_site(&c.volunteer_id, &code(0), rules, start - 10 * 60_000)
                .await?;
            d.scan_site(&c.volunteer_id, &code(1), rules, a.ends_at + 5 * 60_000)
                .await?;
        }
        let by = Who::Citizen(requester.id.clone());
        if d.confirm(&t.id, &by, Confirmation::Requester, rules, a.ends_at + HOUR)
            .await
            .is_err()
        {
            continue;
        }
        d.rate(
            &t.id,
            &by,
            4 + (k % 2) as u8,
            if k % 2 == 0 {
                "志愿者很热心，谢谢！"
            } else {
                ""
            },
            a.ends_at + 2 * HOUR,
        )
        .await?;
        d.close(&t.id, &who, "服务完成，受助人满意", a.ends_at + 3 * HOUR)
            .await?;
    }
    Ok(())
}

/// Today in the printed resident's village: their own request with a volunteer on the way, an
/// offer waiting for their answer, a request waiting for review, an activity with two shifts.
async fn today(
    store: &Store,
    home: &str,
    residents: &[(u64, Resident)],
    me: &Me,
    organiser: &Who,
    now: i64,
) -> Result<()> {
    let d = store.dispatch();
    let neighbours: Vec<&Resident> = residents
        .iter()
        .map(|(_, r)| r)
        .filter(|r| me.neighbour(r))
        .collect();
    let [n1, n2, ..] = neighbours[..] else {
        return Ok(());
    };
    // The printed resident's own request, dispatched; a neighbour accepted it.
    let mine = ask(
        "neighbourhood",
        "陪同母亲到市人民医院复查",
        "市人民医院门诊楼",
        day_at(now + 2 * DAY, 9),
        3,
        1,
        &["elderly-care"],
    );
    let t = d
        .file_request(&me.id, home, &mine, &Filer::Resident, None, now - 2 * HOUR)
        .await?;
    d.review(&t.id, organiser, true, "", now - HOUR).await?;
    let places = d.propose(home, &[t.id.clone()], now - HOUR).await?;
    let choices: Vec<Choice> = places
        .iter()
        .filter_map(|p| {
            p.offer.as_ref().map(|o| Choice {
                shift_id: p.shift_id.clone(),
                volunteer_id: o.volunteer_id.clone(),
            })
        })
        .collect();
    if !choices.is_empty()
        && d.send_offers(organiser, &choices, EXPIRY, now - HOUR)
            .await
            .is_ok()
    {
        for c in &choices {
            if let Some(o) = d
                .task_offers(&t.id)
                .await?
                .into_iter()
                .find(|o| o.volunteer_id == c.volunteer_id)
            {
                d.answer(&o.id, &c.volunteer_id, true, EXPIRY, now - 30 * 60_000)
                    .await?;
            }
        }
    }
    // A neighbour's request, offered to the printed resident: waiting for their answer.
    let help = ask(
        "neighbourhood",
        "帮独居老人搬运过冬物资",
        "村东头12号",
        day_at(now + 3 * DAY, 14),
        2,
        1,
        &["driving"],
    );
    let t = d
        .file_request(&n1.id, home, &help, &Filer::Resident, None, now - 3 * HOUR)
        .await?;
    d.review(&t.id, organiser, true, "", now - 2 * HOUR).await?;
    let shift = d.shifts(&t.id).await?[0].id.clone();
    let _ = d
        .send_offers(
            organiser,
            &[Choice {
                shift_id: shift,
                volunteer_id: me.id.clone(),
            }],
            24 * HOUR,
            now - 10 * 60_000,
        )
        .await;
    // A request waiting for the alliance's review.
    let tutoring = ask(
        "neighbourhood",
        "辅导留守儿童周末功课",
        "村文化礼堂二楼",
        day_at(now + 5 * DAY, 14),
        2,
        2,
        &["tutoring"],
    );
    d.file_request(
        &n2.id,
        home,
        &tutoring,
        &Filer::Resident,
        None,
        now - 30 * 60_000,
    )
    .await?;
    // An activity with two shifts, open to sign-up; two neighbours signed up.
    let sat = day_at(now + (6 - (now / DAY + 3) % 7).max(1) * DAY, 8);
    let sorting = ask(
        "beautiful_city",
        "垃圾分类桶边督导",
        "村垃圾分类投放点",
        sat,
        2,
        4,
        &[],
    );
    let act = d
        .publish_activity(
            home,
            "system:demo",
            &me.village,
            &sorting,
            &[
                (sat, sat + 2 * HOUR, 4),
                (sat + DAY, sat + DAY + 2 * HOUR, 4),
            ],
            now - DAY,
        )
        .await?;
    if let Some(first) = d.shifts(&act.id).await?.first() {
        for v in [n1, n2] {
            let _ = d.sign_up(&first.id, &v.id, now - 20 * HOUR).await;
        }
    }
    Ok(())
}
