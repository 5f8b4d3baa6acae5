//! The demo's volunteer dispatch: the city's eight volunteer alliances (the seed's areas), a few
//! hundred volunteers with skills, certificates and weekly hours, two months of completed
//! requests (checked in with site codes, confirmed, rated, the hours credited through the
//! trusted standard; one no-show), and in the printed resident's village: their own request
//! with a volunteer on the way, an offer waiting for their answer (they volunteer too, and
//! served once), a request waiting for the alliance's review and an activity open to sign-up.
//! Seeded once (the organiser alliance's tasks are the marker).

use crate::error::Result;
use domain::dispatch::matcher::Availability;
use domain::dispatch::{Ask, Confirmation, ManualHours, OfferStep, SKILLS};
use moralbank_store::dispatch::offers::Choice;
use moralbank_store::dispatch::service::SiteScan;
use moralbank_store::dispatch::tasks::{Filer, Who};
use moralbank_store::dispatch::volunteers::{Certificate, Joining};
use moralbank_store::dispatch::Alliance;
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

/// The demo's residents (citizen `i` has the `i`-th demo identity), the first few thousand.
async fn residents(store: &Store, citizens: u64) -> Result<Vec<(u64, Resident)>> {
    let mut out = Vec::new();
    for i in 0..citizens.min(3_000) {
        let (phone, _) = demo_identity(i);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        if let Some(s) = store.registry().citizen_summary(&id).await? {
            let (village, household) = (s.village_id, s.household_id);
            out.push((
                i,
                Resident {
                    id,
                    village,
                    household,
                },
            ));
        }
    }
    Ok(out)
}

/// What a demo volunteer says when joining: resident `i`'s alliances, skills, certificate and
/// weekly hours (any time for the printed resident).
fn joining(i: u64, alliances: Vec<String>, any_time: bool, now: i64) -> Joining {
    let skills = (0..1 + i % 3)
        .map(|k| SKILLS[((i + k * 4) % SKILLS.len() as u64) as usize].to_string())
        .collect();
    let certificates = if i.is_multiple_of(6) {
        vec![Certificate {
            skill: "first-aid".into(),
            number: format!("RC-3302-{i:05}"),
            valid_until: now + (200 + (i % 400) as i64) * DAY,
        }]
    } else {
        Vec::new()
    };
    Joining {
        alliances,
        skills,
        serves: Vec::new(),
        availability: if any_time {
            Availability::always()
        } else {
            availability(i)
        },
        certificates,
    }
}

/// Volunteers: the printed resident and their neighbours for the organiser's alliance, then
/// every fifth resident elsewhere for one alliance (every third of them for two).
async fn join_volunteers(
    store: &Store,
    alliances: &[Alliance],
    home: &str,
    residents: &[(u64, Resident)],
    me: &Me,
    now: i64,
) -> Result<()> {
    let mut joined = 0;
    for (i, r) in residents {
        let neighbour = r.village == me.village;
        // The printed resident's neighbours always; others up to the limit.
        if !neighbour && (joined >= VOLUNTEERS_MAX || i % 5 != 0) {
            continue;
        }
        let mut mine = vec![alliances[(*i as usize) % alliances.len()].id.clone()];
        if neighbour || i % 3 == 0 {
            mine.push(home.to_string());
        }
        mine.sort();
        mine.dedup();
        let j = joining(*i, mine, r.id == me.id, now);
        store.dispatch().join(&r.id, &j, now - 70 * DAY).await?;
        joined += 1;
    }
    Ok(())
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
    // The organiser alliance's first clerk dispatches in the demo; the second (login
    // alliance2) is there to approve the hours entered by hand that wait.
    let Some(o1) = store.accounts().staff_by_username("alliance").await? else {
        return Ok(());
    };
    let clerk = |s: &moralbank_store::accounts::Staff| Who::Staff {
        actor: format!("staff:{}", s.id),
        partner_id: Some(home.id.clone()),
        clerk_of: None,
    };
    let now = now_ms();
    let residents = residents(store, citizens).await?;
    let Some(me) = residents.first().map(|(_, r)| Me {
        id: r.id.clone(),
        village: r.village.clone(),
        household: r.household.clone(),
    }) else {
        return Ok(());
    };
    join_volunteers(store, &alliances, &home.id, &residents, &me, now).await?;
    let demo = Demo {
        store,
        rules: Rules::default(),
        residents: &residents,
        me: &me,
        home: &home.id,
        clerk: clerk(&o1),
        now,
    };
    demo.history(&alliances).await?;
    demo.today().await
}

/// What the demo's requests share.
struct Demo<'a> {
    store: &'a Store,
    rules: Rules,
    residents: &'a [(u64, Resident)],
    me: &'a Me,
    /// The organiser alliance, and its first clerk.
    home: &'a str,
    clerk: Who,
    now: i64,
}

/// A past request to serve: its alliance, requester, what it asks, and who must serve it.
struct Past<'a> {
    alliance: &'a str,
    requester: &'a str,
    ask: Ask,
    /// The printed resident, instead of the matcher's choice.
    served_by: Option<&'a str>,
    /// The second volunteer does not come.
    no_show: bool,
}

const PAST: [(&str, &str, &str, &[&str]); 8] = [
    (
        "neighbourhood",
        "陪同独居老人到医院复诊",
        "村卫生室",
        &["elderly-care"],
    ),
    (
        "services",
        "帮老人修理漏水的水龙头",
        "村口第三户",
        &["repair"],
    ),
    ("theory", "村文化礼堂党史宣讲", "村文化礼堂", &["publicity"]),
    ("epidemic", "疫苗接种点引导服务", "镇卫生院", &["first-aid"]),
    ("rural", "帮助果农采摘杨梅", "杨梅基地", &["driving"]),
    ("customs", "移风易俗宣传入户", "村委会", &["publicity"]),
    ("beautiful_city", "河道清理志愿服务", "姚江沿岸", &[]),
    ("safety", "夜间平安巡逻", "村主干道", &[]),
];

impl Demo<'_> {
    fn neighbours(&self) -> Vec<&Resident> {
        self.residents
            .iter()
            .map(|(_, r)| r)
            .filter(|r| self.me.neighbour(r))
            .collect()
    }

    /// The organiser of `alliance`'s requests: the demo clerk for the organiser alliance, the
    /// system for the others (they have no demo login).
    fn organiser(&self, alliance: &str) -> Who {
        if alliance == self.home {
            return self.clerk.clone();
        }
        Who::Staff {
            actor: "system:demo".into(),
            partner_id: Some(alliance.to_string()),
            clerk_of: None,
        }
    }

    /// Two months of completed requests across the alliances. The printed resident served the
    /// first; a volunteer did not come to the fourth.
    async fn history(&self, alliances: &[Alliance]) -> Result<()> {
        for k in 0..24usize {
            let alliance = match k {
                0 => self.home,
                _ => alliances[k % alliances.len()].id.as_str(),
            };
            let (category, title, place, skills) = PAST[k % PAST.len()];
            let neighbour = self.neighbours().first().map(|r| r.id.as_str());
            let requester = match (k, neighbour) {
                (0, Some(n)) => n,
                _ => self.residents[(37 * k + 11) % self.residents.len()]
                    .1
                    .id
                    .as_str(),
            };
            let start = day_at(self.now - (8 + 2 * k as i64) * DAY, 9);
            let hours = 2 + (k % 3) as i64;
            let past = Past {
                alliance,
                requester,
                ask: ask(
                    category,
                    title,
                    place,
                    start,
                    hours,
                    1 + (k % 2) as u32,
                    skills,
                ),
                served_by: (k == 0).then_some(self.me.id.as_str()),
                no_show: k == 3,
            };
            self.serve(&past, k).await?;
        }
        Ok(())
    }

    /// One past request from asking to closing: dispatched by the matcher, accepted, checked in
    /// and out with site codes, confirmed (the hours become the alliance's deed, credited once
    /// its publicity ends), rated and closed. Nobody eligible: it stays accepted.
    async fn serve(&self, p: &Past<'_>, k: usize) -> Result<()> {
        let d = self.store.dispatch();
        let who = self.organiser(p.alliance);
        let a = &p.ask;
        let filed = a.starts_at - 3 * DAY;
        let t = d
            .file_request(p.requester, p.alliance, a, &Filer::Resident, None, filed)
            .await?;
        d.review(&t.id, &who, true, "", filed + HOUR).await?;
        let mut choices = proposed(self.store, p.alliance, &t.id, filed + 2 * HOUR).await?;
        if let (Some(c), Some(me)) = (choices.first_mut(), p.served_by) {
            c.volunteer_id = me.to_string();
        }
        if choices.is_empty()
            || d.send_offers(&who, &choices, EXPIRY, filed + 2 * HOUR)
                .await
                .is_err()
        {
            return Ok(());
        }
        for (n, c) in choices.iter().enumerate() {
            let offers = d.task_offers(&t.id).await?;
            let Some(o) = offers.iter().find(|o| o.volunteer_id == c.volunteer_id) else {
                continue;
            };
            d.answer(&o.id, &c.volunteer_id, true, EXPIRY, filed + 3 * HOUR)
                .await?;
            if p.no_show && n == 1 {
                d.organiser_step(&o.id, &who, OfferStep::NoShow, a.starts_at + HOUR)
                    .await?;
                continue;
            }
            let code = |x: usize| SiteScan {
                shift_id: c.shift_id.clone(),
                code_id: format!("demo-{k}-{n}-{x}"),
            };
            d.scan_site(
                &c.volunteer_id,
                &code(0),
                &self.rules,
                a.starts_at - 600_000,
            )
            .await?;
            d.scan_site(&c.volunteer_id, &code(1), &self.rules, a.ends_at + 300_000)
                .await?;
        }
        let by = Who::Citizen(p.requester.to_string());
        if d.confirm(
            &t.id,
            &by,
            Confirmation::Requester,
            &self.rules,
            a.ends_at + HOUR,
        )
        .await
        .is_err()
        {
            return Ok(());
        }
        let comment = if k.is_multiple_of(2) {
            "志愿者很热心，谢谢！"
        } else {
            ""
        };
        d.rate(&t.id, &by, 4 + (k % 2) as u8, comment, a.ends_at + 2 * HOUR)
            .await?;
        d.close(&t.id, &who, "服务完成，受助人满意", a.ends_at + 3 * HOUR)
            .await?;
        Ok(())
    }

    /// Today in the printed resident's village: their own request with a volunteer on the way,
    /// an offer waiting for their answer, a request waiting for review, an activity with two
    /// shifts, and yesterday's service whose hours were entered by hand.
    async fn today(&self) -> Result<()> {
        let d = self.store.dispatch();
        let (now, home, me) = (self.now, self.home, self.me);
        let neighbours = self.neighbours();
        let [n1, n2, n3, ..] = neighbours[..] else {
            return Ok(());
        };
        let mine = ask(
            "neighbourhood",
            "陪同母亲到市人民医院复查",
            "市人民医院门诊楼",
            day_at(now + 2 * DAY, 9),
            3,
            1,
            &["elderly-care"],
        );
        self.dispatched(&me.id, &mine, now - 2 * HOUR, true).await?;
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
        d.review(&t.id, &self.clerk, true, "", now - 2 * HOUR)
            .await?;
        let shift = d.shifts(&t.id).await?[0].id.clone();
        let choice = Choice {
            shift_id: shift,
            volunteer_id: me.id.clone(),
        };
        d.send_offers(&self.clerk, &[choice], 24 * HOUR, now - 600_000)
            .await?;
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
            now - 1_800_000,
        )
        .await?;
        self.activity_and_visit(n1, n2, n3).await
    }

    /// An activity with two shifts, two neighbours signed up; yesterday evening's visit whose
    /// hours wait for the second clerk.
    async fn activity_and_visit(&self, n1: &Resident, n2: &Resident, n3: &Resident) -> Result<()> {
        let d = self.store.dispatch();
        let (now, home, me) = (self.now, self.home, self.me);
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
        let shifts = [
            (sat, sat + 2 * HOUR, 4),
            (sat + DAY, sat + DAY + 2 * HOUR, 4),
        ];
        let act = d
            .publish_activity(
                home,
                "system:demo",
                &me.village,
                &sorting,
                &shifts,
                None,
                now - DAY,
            )
            .await?;
        if let Some(first) = d.shifts(&act.id).await?.first() {
            for v in [n1, n2] {
                d.sign_up(&first.id, &v.id, now - 20 * HOUR).await?;
            }
        }
        // Yesterday evening's visit: the volunteer's phone was flat, so the first clerk entered
        // the hours by hand; they count once the second clerk (login alliance2) approves.
        let evening = day_at(now - DAY, 18);
        let visit = ask(
            "neighbourhood",
            "陪伴独居老人聊天",
            "村西头7号",
            evening,
            2,
            1,
            &[],
        );
        let Some(t) = self.dispatched(&n3.id, &visit, now - 3 * DAY, true).await? else {
            return Ok(());
        };
        let o = d
            .task_offers(&t)
            .await?
            .into_iter()
            .find(|o| o.status == domain::dispatch::OfferStatus::Accepted);
        if let Some(o) = o {
            let hours = ManualHours {
                minutes: 110,
                reason: "志愿者手机没电，未能扫码签到".into(),
            };
            // Entered after the visit (18:00–20:00), whatever the hour the demo runs.
            d.enter_manual(&o.id, &self.clerk, &hours, evening + 3 * HOUR)
                .await?;
        }
        Ok(())
    }

    /// A request of the organiser alliance filed at `at`, accepted, and offered to the
    /// matcher's choice (accepted by them when `accept`): its id, or `None` when nobody was
    /// eligible.
    async fn dispatched(
        &self,
        requester: &str,
        a: &Ask,
        at: i64,
        accept: bool,
    ) -> Result<Option<String>> {
        let d = self.store.dispatch();
        let t = d
            .file_request(requester, self.home, a, &Filer::Resident, None, at)
            .await?;
        d.review(&t.id, &self.clerk, true, "", at + 600_000).await?;
        let choices = proposed(self.store, self.home, &t.id, at + 1_200_000).await?;
        if choices.is_empty()
            || d.send_offers(&self.clerk, &choices, EXPIRY, at + 1_200_000)
                .await
                .is_err()
        {
            return Ok(None);
        }
        if accept {
            for o in d.task_offers(&t.id).await? {
                d.answer(&o.id, &o.volunteer_id, true, EXPIRY, at + 1_800_000)
                    .await?;
            }
        }
        Ok(Some(t.id))
    }
}

/// The matcher's choice for each open place of `task`.
async fn proposed(store: &Store, alliance: &str, task: &str, at: i64) -> Result<Vec<Choice>> {
    let places = store
        .dispatch()
        .propose(alliance, &[task.to_string()], at)
        .await?;
    Ok(places
        .into_iter()
        .filter_map(|p| {
            p.offer.map(|o| Choice {
                shift_id: p.shift_id,
                volunteer_id: o.volunteer_id,
            })
        })
        .collect())
}
