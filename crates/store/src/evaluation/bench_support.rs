//! What `moralbank bench evaluation` needs from the database besides the real evaluation
//! functions it measures: a committee for every village (and a reviewer for every town), a year
//! of deed history written in bulk, a batch of deeds whose publicity ends at one moment, and
//! random samples to query.
//!
//! The history is generated, not replayed through `report_deed`/`vote` (2 M deeds one
//! transaction each would take hours): each deed gets the rows the real functions would have
//! left — the deed in its final state, its votes, objections, appeal and events — with times
//! that follow the rules' periods. Credited deeds of the history have **no ledger entry**
//! (`ledger_index` is NULL and their `credited` event says so); only the publicity batch is
//! credited for real, through the ledger, by the benchmark. No notifications are written.
//!
//! Rows go in with multi-row INSERTs of at most
//! [`STATEMENT_PARAMS_MAX`](crate::seed::STATEMENT_PARAMS_MAX) parameters, numbered
//! (`$N`) on PostgreSQL and anonymous (`?`) on SQLite, where sqlx binds `$N` by looking each
//! name up in the statement's whole list, a cost that grows with the square of the parameters
//! (see `seed.rs`); [`DEEDS_PER_TX`] deeds with their rows per transaction. A blocking thread
//! generates the next transaction's rows while the current one is written.

use super::standards::Standard;
use crate::seed::statement_rows;
use crate::{Backend, Result, Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Deeds (with their votes, objections, appeals and events) per transaction: ~7,000 rows.
pub const DEEDS_PER_TX: usize = 1_000;
/// Members of every village committee the benchmark makes.
pub const BENCH_COMMITTEE: usize = 3;

/// Of all deeds: partner submissions of volunteer hours (by the city's regular volunteers),
/// partner blood donations, and reports or nominations the committees vote on.
const SHARE_VOLUNTEER: f64 = 0.30;
const SHARE_BLOOD: f64 = 0.03;
/// Of the committee deeds: nominations (the rest are the doers' own reports).
const SHARE_NOMINATION: f64 = 0.25;
/// Committee decisions: approvals (the rest are rejections).
const SHARE_APPROVED: f64 = 0.88;
/// Approved deeds that draw an objection while on publicity.
const SHARE_OBJECTED: f64 = 0.03;
/// Rejected deeds that are appealed to the town; of those decided, how many are reversed.
const SHARE_APPEALED: f64 = 0.10;
const SHARE_REVERSED: f64 = 0.30;
/// Deeds whose committee takes 15 to 25 days (overdue), instead of 1 to 10.
const SHARE_SLOW: f64 = 0.05;
/// Citizens whose index is 7 modulo this are the regular volunteers (1%).
const VOLUNTEER_EVERY: usize = 100;
/// Of the committee deeds, the share done by the more active 30% of citizens.
const SHARE_ACTIVE: f64 = 0.70;

const COMMITTEE_STANDARDS: [(&str, f64); 7] = [
    ("neighbourly-help", 0.35),
    ("environment", 0.25),
    ("filial-piety", 0.20),
    ("charity", 0.15),
    ("brave-deed", 0.03),
    ("honour-good-person", 0.015),
    ("honour-moral-model", 0.005),
];

const DESCRIPTIONS: [(&str, &[&str]); 9] = [
    (
        "volunteer-hour",
        &[
            "图书馆周末志愿讲解",
            "交通路口文明劝导",
            "敬老院陪伴老人聊天",
            "社区防汛值守",
        ],
    ),
    (
        "blood-donation",
        &["无偿献血 300 毫升", "无偿献血 400 毫升", "捐献血小板"],
    ),
    (
        "brave-deed",
        &[
            "在姚江边救起落水儿童",
            "协助民警制止抢夺",
            "扑灭邻居家厨房火情",
        ],
    ),
    (
        "filial-piety",
        &[
            "十年如一日照顾瘫痪在床的婆婆",
            "悉心照料患病的父亲",
            "照顾独居的孤寡老人",
        ],
    ),
    (
        "neighbourly-help",
        &[
            "连续一个月帮助独居老人买菜送药",
            "暴雨夜帮助邻居转移物品",
            "义务为邻居修理电器",
        ],
    ),
    (
        "charity",
        &[
            "向村里困难家庭捐款",
            "为山区学校捐赠图书",
            "资助贫困学生上学",
        ],
    ),
    (
        "environment",
        &["组织村民清理河道垃圾", "参加垃圾分类宣传", "义务植树"],
    ),
    ("honour-good-person", &["获评余姚好人", "获评宁波好人"]),
    ("honour-moral-model", &["获评余姚市道德模范"]),
];
const PLACES: [&str; 8] = [
    "村委会",
    "社区服务中心",
    "姚江边",
    "文化礼堂",
    "村卫生室",
    "镇中心小学",
    "老年活动室",
    "农贸市场",
];
const REJECTIONS: [&str; 3] = ["证据不足", "与已登记的事迹重复", "不属于本标准的范围"];
const OBJECTIONS: [&str; 2] = ["事迹与实际情况不符", "时间和地点有误"];
const NOTE_NO_LEDGER: &str = "bench history: no ledger entry";

/// Partner names the benchmark submits under.
const VOLUNTEER_PARTNER: &str = "余姚市志愿者联合会（基准测试）";
const BLOOD_PARTNER: &str = "余姚市中心血站（基准测试）";

/// A bench staff account: id, username, display name, role, region, citizen, chair.
type StaffRow = (
    String,
    String,
    String,
    &'static str,
    String,
    Option<String>,
    i64,
);

struct Citizen {
    id: String,
    household: String,
    village: u32,
}

struct Member {
    staff_id: String,
    citizen_id: Option<String>,
    household: Option<String>,
}

struct Village {
    id: String,
    citizens: Vec<u32>,
    members: Vec<Member>,
    reviewer: String,
}

struct City {
    citizens: Vec<Citizen>,
    villages: Vec<Village>,
    standards: HashMap<String, Standard>,
    volunteer_partner: String,
    blood_partner: String,
}

/// The city as the generator sees it: citizens, villages with their committees, the current
/// standards and the two partners.
pub struct BenchCity {
    city: Arc<City>,
    /// Staff accounts made by this call (0 when the committees already existed).
    pub staff_created: usize,
}

impl BenchCity {
    pub fn citizens(&self) -> usize {
        self.city.citizens.len()
    }

    pub fn village_ids(&self) -> Vec<String> {
        self.city.villages.iter().map(|v| v.id.clone()).collect()
    }

    /// Ids of `n` citizens drawn uniformly from the whole city.
    pub fn random_citizens(&self, n: usize, seed: u64) -> Vec<String> {
        let mut rng = StdRng::seed_from_u64(seed);
        let all = &self.city.citizens;
        if all.is_empty() {
            return Vec::new();
        }
        (0..n)
            .map(|_| all[rng.gen_range(0..all.len())].id.clone())
            .collect()
    }
}

/// What a bulk write wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BulkReport {
    pub deeds: u64,
    pub votes: u64,
    pub objections: u64,
    pub appeals: u64,
    pub events: u64,
    pub rows: u64,
    pub seconds: f64,
}

#[derive(Default)]
struct Batch {
    deeds: Vec<DeedRow>,
    votes: Vec<VoteRow>,
    objections: Vec<ObjectionRow>,
    appeals: Vec<AppealRow>,
    events: Vec<EventRow>,
}

impl Batch {
    fn rows(&self) -> usize {
        self.deeds.len()
            + self.votes.len()
            + self.objections.len()
            + self.appeals.len()
            + self.events.len()
    }
}

struct DeedRow {
    id: String,
    citizen: u32,
    /// The citizen's id, village and household, filled in when the deed is finished.
    who: [String; 3],
    source: &'static str,
    reporter_id: String,
    idem_key: Option<String>,
    request_hash: Vec<u8>,
    standard_id: String,
    deed_date: String,
    place: &'static str,
    description: &'static str,
    status: &'static str,
    round: i64,
    points: Option<i64>,
    decided_at: Option<i64>,
    publicity_ends_at: Option<i64>,
    appeal_deadline: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

struct VoteRow {
    deed_id: String,
    round: i64,
    staff_id: String,
    approve: bool,
    points: Option<i64>,
    comment: &'static str,
    at: i64,
}

struct ObjectionRow {
    deed_id: String,
    round: i64,
    citizen_id: String,
    reason: &'static str,
    at: i64,
    outcome: Option<&'static str>,
    decided_at: Option<i64>,
}

struct AppealRow {
    deed_id: String,
    citizen_id: String,
    at: i64,
    outcome: Option<&'static str>,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    comment: Option<&'static str>,
}

struct EventRow {
    deed_id: String,
    at: i64,
    actor_kind: &'static str,
    actor_id: String,
    action: &'static str,
    detail: String,
}

/// Generates deeds of one city: the history, or deeds on publicity.
struct Gen {
    city: Arc<City>,
    rng: StdRng,
    now: i64,
}

/// One deed under construction: its row and the time of its last change.
struct Draft {
    row: DeedRow,
    last: i64,
}

impl Gen {
    fn days(&mut self, lo: f64, hi: f64) -> i64 {
        (self.rng.gen_range(lo..hi) * DAY_MS as f64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    fn standard(&self, code: &str) -> Result<Standard> {
        self.city.standards.get(code).cloned().ok_or_else(|| {
            StoreError::Config(format!(
                "standard '{code}' is missing: seed the default catalogue"
            ))
        })
    }

    fn any_citizen(&mut self) -> u32 {
        self.rng.gen_range(0..self.city.citizens.len()) as u32
    }

    fn volunteer(&mut self) -> u32 {
        let n = self.city.citizens.len();
        let volunteers = n.div_ceil(VOLUNTEER_EVERY);
        let i = self.rng.gen_range(0..volunteers) * VOLUNTEER_EVERY + 7;
        i.min(n - 1) as u32
    }

    /// The doer of a committee deed: mostly one of the more active 30% (index % 10 < 3).
    fn committee_citizen(&mut self) -> u32 {
        let n = self.city.citizens.len();
        if n >= 10 && self.chance(SHARE_ACTIVE) {
            let i = self.rng.gen_range(0..n / 10) * 10 + self.rng.gen_range(0..3);
            i as u32
        } else {
            self.any_citizen()
        }
    }

    /// Another citizen of the same village, if there is one.
    fn neighbour(&mut self, of: u32) -> Option<u32> {
        let v = self.city.citizens[of as usize].village as usize;
        let list = &self.city.villages[v].citizens;
        if list.len() < 2 {
            return None;
        }
        for _ in 0..8 {
            let c = list[self.rng.gen_range(0..list.len())];
            if c != of {
                return Some(c);
            }
        }
        None
    }

    fn description(&mut self, code: &str) -> &'static str {
        let list = DESCRIPTIONS
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(&["好人好事"][..], |(_, l)| *l);
        self.pick(list)
    }

    fn draft(
        &mut self,
        citizen: u32,
        source: &'static str,
        reporter_id: String,
        idem_key: Option<String>,
        standard: &Standard,
        created_at: i64,
    ) -> Draft {
        let id = domain::new_id();
        let deed_date = super::day_of(created_at - self.days(0.0, 5.0));
        let mut request_hash = vec![0u8; 32];
        self.rng.fill(request_hash.as_mut_slice());
        Draft {
            row: DeedRow {
                id,
                citizen,
                who: Default::default(),
                source,
                reporter_id,
                idem_key,
                request_hash,
                standard_id: standard.id.clone(),
                deed_date,
                place: self.pick(&PLACES),
                description: self.description(&standard.code),
                status: "review",
                round: 1,
                points: None,
                decided_at: None,
                publicity_ends_at: None,
                appeal_deadline: None,
                created_at,
                updated_at: created_at,
            },
            last: created_at,
        }
    }

    fn event(
        &self,
        b: &mut Batch,
        d: &mut Draft,
        at: i64,
        actor: (&'static str, String),
        action: &'static str,
        detail: String,
    ) {
        d.last = d.last.max(at);
        b.events.push(EventRow {
            deed_id: d.row.id.clone(),
            at,
            actor_kind: actor.0,
            actor_id: actor.1,
            action,
            detail,
        });
    }

    /// Up to two members of the village who may vote on this deed (recusal: not of the doer's
    /// household, not the doer or the reporter).
    fn voters(&mut self, d: &Draft) -> Vec<String> {
        let c = &self.city.citizens[d.row.citizen as usize];
        let v = &self.city.villages[c.village as usize];
        let mut ok: Vec<String> = v
            .members
            .iter()
            .filter(|m| {
                m.household.as_deref() != Some(c.household.as_str())
                    && m.citizen_id.as_deref() != Some(c.id.as_str())
                    && m.citizen_id.as_deref() != Some(d.row.reporter_id.as_str())
            })
            .map(|m| m.staff_id.clone())
            .collect();
        if ok.len() > 2 {
            let skip = self.rng.gen_range(0..ok.len());
            ok.remove(skip);
        }
        ok
    }

    /// A round of votes, all the same way, the last one at `at`.
    fn votes(&mut self, b: &mut Batch, d: &mut Draft, round: i64, at: i64, approve: bool) {
        let voters = self.voters(d);
        let n = voters.len() as i64;
        for (k, staff) in voters.into_iter().enumerate() {
            let t = at - (n - 1 - k as i64) * self.days(0.0, 1.0);
            let comment = if approve { "" } else { self.pick(&REJECTIONS) };
            b.votes.push(VoteRow {
                deed_id: d.row.id.clone(),
                round,
                staff_id: staff.clone(),
                approve,
                points: approve.then_some(d.row.points.unwrap_or(0)),
                comment,
                at: t,
            });
            let action = if approve {
                "vote_approve"
            } else {
                "vote_reject"
            };
            self.event(b, d, t, ("staff", staff), action, comment.to_string());
        }
    }

    fn village_of(&self, d: &Draft) -> &Village {
        let c = &self.city.citizens[d.row.citizen as usize];
        &self.city.villages[c.village as usize]
    }

    fn approve(&mut self, b: &mut Batch, d: &mut Draft, standard: &Standard, round: i64, at: i64) {
        let points = self
            .rng
            .gen_range(standard.points_min..=standard.points_max);
        d.row.points = Some(points);
        self.votes(b, d, round, at, true);
        let village = self.village_of(d).id.clone();
        self.event(
            b,
            d,
            at,
            ("committee", village),
            "approved",
            points.to_string(),
        );
        d.row.status = "publicity";
        d.row.decided_at = Some(at);
        d.row.publicity_ends_at = Some(at + 7 * DAY_MS);
    }

    /// Publicity that has ended by `now` was credited (without a ledger entry, see the module).
    fn settle_publicity(&mut self, b: &mut Batch, d: &mut Draft) {
        if let Some(ends) = d.row.publicity_ends_at.filter(|e| *e <= self.now) {
            d.row.status = "credited";
            self.event(
                b,
                d,
                ends,
                ("system", "evaluation".into()),
                "credited",
                NOTE_NO_LEDGER.into(),
            );
        }
    }

    fn finish(&self, b: &mut Batch, mut d: Draft) {
        let c = &self.city.citizens[d.row.citizen as usize];
        d.row.who = [
            c.id.clone(),
            self.city.villages[c.village as usize].id.clone(),
            c.household.clone(),
        ];
        d.row.updated_at = d.last;
        b.deeds.push(d.row);
    }

    fn partner_deed(&mut self, b: &mut Batch, created_at: i64, volunteer: bool) -> Result<Draft> {
        let (code, partner, citizen) = if volunteer {
            let c = self.volunteer();
            ("volunteer-hour", self.city.volunteer_partner.clone(), c)
        } else {
            let c = self.any_citizen();
            ("blood-donation", self.city.blood_partner.clone(), c)
        };
        let standard = self.standard(code)?;
        let key = format!("{partner}/bench-{}", domain::new_id());
        let mut d = self.draft(
            citizen,
            "partner",
            partner.clone(),
            Some(key),
            &standard,
            created_at,
        );
        d.row.points = Some(standard.points_min);
        d.row.status = "publicity";
        d.row.decided_at = Some(created_at);
        d.row.publicity_ends_at = Some(created_at + 7 * DAY_MS);
        let rule = standard.rule();
        self.event(b, &mut d, created_at, ("partner", partner), "partner", rule);
        self.event(
            b,
            &mut d,
            created_at,
            ("system", "evaluation".into()),
            "publicity",
            "automatic partner submission".into(),
        );
        Ok(d)
    }

    fn committee_standard(&mut self) -> Result<Standard> {
        let mut x = self.rng.gen_range(0.0..1.0);
        for (code, share) in COMMITTEE_STANDARDS {
            if x < share {
                return self.standard(code);
            }
            x -= share;
        }
        self.standard(COMMITTEE_STANDARDS[0].0)
    }

    fn reported(&mut self, b: &mut Batch, standard: &Standard, created_at: i64) -> Draft {
        let citizen = self.committee_citizen();
        let nominator = if self.chance(SHARE_NOMINATION) {
            self.neighbour(citizen)
        } else {
            None
        };
        let (source, reporter) = match nominator {
            Some(n) => ("nomination", self.city.citizens[n as usize].id.clone()),
            None => ("own", self.city.citizens[citizen as usize].id.clone()),
        };
        let mut d = self.draft(
            citizen,
            source,
            reporter.clone(),
            None,
            standard,
            created_at,
        );
        self.event(
            b,
            &mut d,
            created_at,
            ("citizen", reporter),
            source,
            standard.rule(),
        );
        d
    }

    fn decision_delay(&mut self) -> i64 {
        if self.chance(SHARE_SLOW) {
            self.days(15.0, 25.0)
        } else {
            self.days(1.0, 10.0)
        }
    }

    /// Deed `k` of `n` of the history, in the state the rules leave it in by `now`. The deeds
    /// are reported in time order over the past year, as they would have been: the table holds
    /// them in the order a real year would have left them (recent deeds together at its end).
    fn history(&mut self, b: &mut Batch, k: u64, n: u64) -> Result<()> {
        let span = (365 * DAY_MS - HOUR_MS) as f64;
        let at = (k as f64 + self.rng.gen_range(0.0..1.0)) / n.max(1) as f64;
        let created_at = self.now - 365 * DAY_MS + (at * span) as i64;
        let kind = self.rng.gen_range(0.0..1.0);
        if kind < SHARE_VOLUNTEER + SHARE_BLOOD {
            let mut d = self.partner_deed(b, created_at, kind < SHARE_VOLUNTEER)?;
            self.settle_publicity(b, &mut d);
            self.finish(b, d);
            return Ok(());
        }
        let standard = self.committee_standard()?;
        let mut d = self.reported(b, &standard, created_at);
        let decided = created_at + self.decision_delay();
        if decided > self.now {
            // Still in the committee's queue, perhaps with a first vote.
            if self.chance(0.5) {
                let at = created_at + (self.now - created_at) / 2;
                let voters = self.voters(&d);
                if let Some(staff) = voters.into_iter().next() {
                    let points = self
                        .rng
                        .gen_range(standard.points_min..=standard.points_max);
                    b.votes.push(VoteRow {
                        deed_id: d.row.id.clone(),
                        round: 1,
                        staff_id: staff.clone(),
                        approve: true,
                        points: Some(points),
                        comment: "",
                        at,
                    });
                    self.event(
                        b,
                        &mut d,
                        at,
                        ("staff", staff),
                        "vote_approve",
                        String::new(),
                    );
                }
            }
            self.finish(b, d);
            return Ok(());
        }
        if self.chance(SHARE_APPROVED) {
            self.approve(b, &mut d, &standard, 1, decided);
            let objected = decided + self.days(0.5, 6.0);
            if self.chance(SHARE_OBJECTED) && objected < self.now {
                self.objection(b, &mut d, &standard, objected);
            }
        } else {
            self.reject(b, &mut d, 1, decided);
            let appealed = decided + self.days(1.0, 14.0);
            if self.chance(SHARE_APPEALED) && appealed < self.now {
                self.appeal(b, &mut d, &standard, appealed);
            }
        }
        self.settle_publicity(b, &mut d);
        self.finish(b, d);
        Ok(())
    }

    fn reject(&mut self, b: &mut Batch, d: &mut Draft, round: i64, at: i64) {
        self.votes(b, d, round, at, false);
        let village = self.village_of(d).id.clone();
        let reason = self.pick(&REJECTIONS);
        self.event(b, d, at, ("committee", village), "rejected", reason.into());
        d.row.status = "rejected";
        d.row.decided_at = Some(at);
        d.row.publicity_ends_at = None;
        d.row.appeal_deadline = Some(at + 15 * DAY_MS);
    }

    /// An objection pauses the deed; the committee's second round upholds or dismisses it.
    fn objection(&mut self, b: &mut Batch, d: &mut Draft, standard: &Standard, at: i64) {
        let Some(objector) = self.neighbour(d.row.citizen) else {
            return;
        };
        let objector = self.city.citizens[objector as usize].id.clone();
        let reason = self.pick(&OBJECTIONS);
        self.event(
            b,
            d,
            at,
            ("citizen", objector.clone()),
            "objection",
            reason.into(),
        );
        d.row.status = "paused";
        d.row.round = 2;
        d.row.publicity_ends_at = None;
        let decided = at + self.days(1.0, 10.0);
        let mut row = ObjectionRow {
            deed_id: d.row.id.clone(),
            round: 1,
            citizen_id: objector,
            reason,
            at,
            outcome: None,
            decided_at: None,
        };
        if decided <= self.now {
            let village = self.village_of(d).id.clone();
            if self.chance(0.5) {
                self.reject(b, d, 2, decided);
                self.event(
                    b,
                    d,
                    decided,
                    ("committee", village),
                    "objection_upheld",
                    String::new(),
                );
                row.outcome = Some("upheld");
            } else {
                self.approve(b, d, standard, 2, decided);
                self.event(
                    b,
                    d,
                    decided,
                    ("committee", village),
                    "objection_dismissed",
                    String::new(),
                );
                row.outcome = Some("dismissed");
            }
            row.decided_at = Some(decided);
        }
        b.objections.push(row);
    }

    /// The doer appeals a rejection; the town reverses it (publicity) or upholds it (closed).
    fn appeal(&mut self, b: &mut Batch, d: &mut Draft, standard: &Standard, at: i64) {
        let citizen = self.city.citizens[d.row.citizen as usize].id.clone();
        self.event(
            b,
            d,
            at,
            ("citizen", citizen.clone()),
            "appeal",
            "补充了证明材料".into(),
        );
        d.row.status = "appealed";
        let decided = at + self.days(2.0, 10.0);
        let mut row = AppealRow {
            deed_id: d.row.id.clone(),
            citizen_id: citizen,
            at,
            outcome: None,
            decided_by: None,
            decided_at: None,
            comment: None,
        };
        if decided <= self.now {
            let reviewer = self.village_of(d).reviewer.clone();
            if self.chance(SHARE_REVERSED) {
                let points = self
                    .rng
                    .gen_range(standard.points_min..=standard.points_max);
                d.row.points = Some(points);
                d.row.status = "publicity";
                d.row.publicity_ends_at = Some(decided + 7 * DAY_MS);
                row.outcome = Some("reversed");
                row.comment = Some("证据充分，予以改判");
                self.event(
                    b,
                    d,
                    decided,
                    ("staff", reviewer.clone()),
                    "appeal_reversed",
                    "证据充分，予以改判".into(),
                );
            } else {
                d.row.status = "closed";
                row.outcome = Some("upheld");
                row.comment = Some("维持原决定");
                self.event(
                    b,
                    d,
                    decided,
                    ("staff", reviewer.clone()),
                    "appeal_upheld",
                    "维持原决定".into(),
                );
            }
            d.row.decided_at = Some(decided);
            row.decided_by = Some(reviewer);
            row.decided_at = Some(decided);
        }
        b.appeals.push(row);
    }

    /// A deed on publicity until `ends`: a partner's automatic submission, or approved by its
    /// committee seven days before.
    fn on_publicity(&mut self, b: &mut Batch, ends: i64) -> Result<()> {
        let decided = ends - 7 * DAY_MS;
        let kind = self.rng.gen_range(0.0..1.0);
        let d = if kind < SHARE_VOLUNTEER + SHARE_BLOOD {
            self.partner_deed(b, decided, kind < SHARE_VOLUNTEER)?
        } else {
            let standard = self.committee_standard()?;
            let created_at = decided - self.days(1.0, 10.0);
            let mut d = self.reported(b, &standard, created_at);
            self.approve(b, &mut d, &standard, 1, decided);
            d
        };
        self.finish(b, d);
        Ok(())
    }
}

/// `head VALUES (…), (…)` for `rows` rows of `cols` parameters: `$N` on PostgreSQL, `?` on
/// SQLite (bound by position, see the module).
fn values_sql(backend: Backend, head: &str, cols: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(head.len() + 8 + rows * cols * 5);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..cols {
            n += 1;
            if c > 0 {
                sql.push(',');
            }
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

impl Store {
    /// Load the seeded city for the generator, making what is missing: the two partners, a
    /// committee of [`BENCH_COMMITTEE`] evaluators (linked to villagers, the first one chair)
    /// for every village and a reviewer for every town. Bench accounts get an Argon2 hash of a
    /// random password nobody knows: they exist to be named in votes, not to sign in.
    pub async fn bench_evaluation_city(&self, seed: u64) -> Result<BenchCity> {
        let standards: HashMap<String, Standard> = self
            .standards()
            .await?
            .into_iter()
            .map(|s| (s.code.clone(), s))
            .collect();
        let mut partner_ids = Vec::new();
        for (name, kind) in [
            (VOLUNTEER_PARTNER, "volunteer_alliance"),
            (BLOOD_PARTNER, "hospital"),
        ] {
            let known = self
                .list_partners()
                .await?
                .into_iter()
                .find(|p| p.name == name);
            partner_ids.push(match known {
                Some(p) => p.id,
                None => self.create_partner(name, kind).await?.id,
            });
        }
        let regions = self.villages().await?;
        let mut village_index: HashMap<String, u32> = HashMap::new();
        for (i, (v, _)) in regions.iter().enumerate() {
            village_index.insert(v.id.clone(), i as u32);
        }
        let mut citizens = Vec::new();
        let mut by_village: Vec<Vec<u32>> = vec![Vec::new(); regions.len()];
        let rows = sqlx::query("SELECT id, village_id, household_id FROM citizens ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        for r in &rows {
            let village: String = r.try_get("village_id")?;
            let Some(&v) = village_index.get(&village) else {
                continue;
            };
            by_village[v as usize].push(citizens.len() as u32);
            citizens.push(Citizen {
                id: r.try_get("id")?,
                household: r.try_get("household_id")?,
                village: v,
            });
        }
        drop(rows);
        if citizens.is_empty() {
            return Err(StoreError::Config(
                "the database has no citizens: seed a city first".into(),
            ));
        }
        let created = self
            .bench_make_committees(&regions, &by_village, &citizens, seed)
            .await?;
        let mut members: HashMap<String, Vec<Member>> = HashMap::new();
        let mut reviewers: HashMap<String, String> = HashMap::new();
        let rows = sqlx::query(
            "SELECT s.id, s.role, s.region_id, s.citizen_id, c.household_id FROM staff s \
             LEFT JOIN citizens c ON c.id = s.citizen_id \
             WHERE s.role IN ('evaluator', 'town_reviewer') AND s.active = 1 ORDER BY s.id",
        )
        .fetch_all(&self.read)
        .await?;
        for r in &rows {
            let role: String = r.try_get("role")?;
            let region: Option<String> = r.try_get("region_id")?;
            let Some(region) = region else { continue };
            let id: String = r.try_get("id")?;
            if role == "evaluator" {
                members.entry(region).or_default().push(Member {
                    staff_id: id,
                    citizen_id: r.try_get("citizen_id")?,
                    household: r.try_get("household_id")?,
                });
            } else {
                reviewers.entry(region).or_insert(id);
            }
        }
        let villages = regions
            .iter()
            .zip(by_village)
            .map(|((v, t), citizens)| Village {
                id: v.id.clone(),
                citizens,
                members: members.remove(&v.id).unwrap_or_default(),
                reviewer: reviewers.get(&t.id).cloned().unwrap_or_default(),
            })
            .collect();
        Ok(BenchCity {
            city: Arc::new(City {
                citizens,
                villages,
                standards,
                volunteer_partner: partner_ids[0].clone(),
                blood_partner: partner_ids[1].clone(),
            }),
            staff_created: created,
        })
    }

    async fn bench_make_committees(
        &self,
        regions: &[(crate::Region, crate::Region)],
        by_village: &[Vec<u32>],
        citizens: &[Citizen],
        seed: u64,
    ) -> Result<usize> {
        let mut have: HashMap<String, usize> = HashMap::new();
        for r in sqlx::query(
            "SELECT region_id, COUNT(*) AS n FROM staff WHERE role IN ('evaluator', 'town_reviewer') \
             AND active = 1 AND region_id IS NOT NULL GROUP BY region_id",
        )
        .fetch_all(&self.read)
        .await?
        {
            let n: i64 = r.try_get("n")?;
            have.insert(r.try_get("region_id")?, n as usize);
        }
        let password = hex::encode(crate::vault::random_bytes(32));
        let hash = tokio::task::spawn_blocking(move || crate::vault::hash_password(&password))
            .await
            .map_err(|_| StoreError::Crypto("password hashing task failed"))??;
        let mut rng = StdRng::seed_from_u64(seed ^ 0xc0_11ee);
        let mut rows: Vec<StaffRow> = Vec::new();
        let mut towns_done = std::collections::HashSet::new();
        for ((v, t), list) in regions.iter().zip(by_village) {
            let missing = BENCH_COMMITTEE.saturating_sub(have.get(&v.id).copied().unwrap_or(0));
            let mut chosen: Vec<u32> = Vec::new();
            for k in 0..missing {
                let mut citizen = None;
                for _ in 0..16 {
                    if list.is_empty() {
                        break;
                    }
                    let c = list[rng.gen_range(0..list.len())];
                    if !chosen.contains(&c) {
                        chosen.push(c);
                        citizen = Some(citizens[c as usize].id.clone());
                        break;
                    }
                }
                rows.push((
                    domain::new_id(),
                    format!("bench-eval-{}-{}", v.code, k + 1),
                    format!("评议委员 {}", k + 1),
                    "evaluator",
                    v.id.clone(),
                    citizen,
                    i64::from(k == 0 && !have.contains_key(&v.id)),
                ));
            }
            if !have.contains_key(&t.id) && towns_done.insert(t.id.clone()) {
                rows.push((
                    domain::new_id(),
                    format!("bench-review-{}", t.code),
                    "镇街评审员".into(),
                    "town_reviewer",
                    t.id.clone(),
                    None,
                    0,
                ));
            }
        }
        let now = crate::now_ms();
        let mut tx = self.write.begin().await?;
        for chunk in rows.chunks(statement_rows(10)) {
            let sql = values_sql(
                self.backend,
                "INSERT INTO staff (id, username, display_name, password_hash, role, region_id, \
                 active, created_at, citizen_id, is_chair)",
                10,
                chunk.len(),
            );
            let mut q = sqlx::query(&sql);
            for (id, username, display, role, region, citizen, chair) in chunk {
                q = q
                    .bind(id.as_str())
                    .bind(username.as_str())
                    .bind(display.as_str())
                    .bind(hash.as_str())
                    .bind(*role)
                    .bind(region.as_str())
                    .bind(1i64)
                    .bind(now)
                    .bind(citizen.as_deref())
                    .bind(*chair);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Write `deeds` deeds of history reported over the year before `now`, in the states the
    /// rules leave them in by `now`, with their votes, objections, appeals and events.
    pub async fn bench_evaluation_history(
        &self,
        city: &BenchCity,
        deeds: u64,
        now: i64,
        seed: u64,
    ) -> Result<BulkReport> {
        let city = city.city.clone();
        self.bench_bulk(
            deeds,
            move |rng| Gen { city, rng, now },
            seed,
            move |g, b, k| g.history(b, k, deeds),
        )
        .await
    }

    /// Write `deeds` deeds on publicity that ends at `ends` (approved by their committee, or
    /// partners' automatic submissions, seven days before).
    pub async fn bench_evaluation_publicity(
        &self,
        city: &BenchCity,
        deeds: u64,
        ends: i64,
        seed: u64,
    ) -> Result<BulkReport> {
        let city = city.city.clone();
        self.bench_bulk(
            deeds,
            move |rng| Gen {
                city,
                rng,
                now: ends,
            },
            seed,
            move |g, b, _| g.on_publicity(b, ends),
        )
        .await
    }

    async fn bench_bulk(
        &self,
        deeds: u64,
        make: impl FnOnce(StdRng) -> Gen + Send + 'static,
        seed: u64,
        one: impl Fn(&mut Gen, &mut Batch, u64) -> Result<()> + Send + 'static,
    ) -> Result<BulkReport> {
        let started = Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Batch>>(2);
        let producer = tokio::task::spawn_blocking(move || {
            let mut g = make(StdRng::seed_from_u64(seed));
            let mut k = 0;
            while k < deeds {
                let mut b = Batch::default();
                let mut res = Ok(());
                while k < deeds && b.deeds.len() < DEEDS_PER_TX && res.is_ok() {
                    res = one(&mut g, &mut b, k);
                    k += 1;
                }
                let item = res.map(|()| b);
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        let mut report = BulkReport::default();
        while let Some(batch) = rx.recv().await {
            let batch = batch?;
            self.bench_write(&batch).await?;
            report.deeds += batch.deeds.len() as u64;
            report.votes += batch.votes.len() as u64;
            report.objections += batch.objections.len() as u64;
            report.appeals += batch.appeals.len() as u64;
            report.events += batch.events.len() as u64;
            report.rows += batch.rows() as u64;
        }
        producer
            .await
            .map_err(|_| StoreError::Config("the generating thread panicked".into()))?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// One transaction: the deeds first (the other rows refer to them).
    async fn bench_write(&self, b: &Batch) -> Result<()> {
        let be = self.backend;
        let mut tx = self.write.begin().await?;
        let head = "INSERT INTO deeds (id, citizen_id, village_id, household_id, source, reporter_id, \
             idem_key, request_hash, standard_id, deed_date, place, description, status, round, points, \
             decided_at, publicity_ends_at, appeal_deadline, created_at, updated_at)";
        for chunk in b.deeds.chunks(statement_rows(20)) {
            let sql = values_sql(be, head, 20, chunk.len());
            let mut q = sqlx::query(&sql);
            for d in chunk {
                q = q
                    .bind(d.id.as_str())
                    .bind(d.who[0].as_str())
                    .bind(d.who[1].as_str())
                    .bind(d.who[2].as_str())
                    .bind(d.source)
                    .bind(d.reporter_id.as_str())
                    .bind(d.idem_key.as_deref())
                    .bind(d.request_hash.as_slice())
                    .bind(d.standard_id.as_str())
                    .bind(d.deed_date.as_str())
                    .bind(d.place)
                    .bind(d.description)
                    .bind(d.status)
                    .bind(d.round)
                    .bind(d.points)
                    .bind(d.decided_at)
                    .bind(d.publicity_ends_at)
                    .bind(d.appeal_deadline)
                    .bind(d.created_at)
                    .bind(d.updated_at);
            }
            q.execute(&mut *tx).await?;
        }
        let head =
            "INSERT INTO deed_votes (deed_id, round, staff_id, approve, points, comment, at)";
        for chunk in b.votes.chunks(statement_rows(7)) {
            let sql = values_sql(be, head, 7, chunk.len());
            let mut q = sqlx::query(&sql);
            for v in chunk {
                q = q
                    .bind(v.deed_id.as_str())
                    .bind(v.round)
                    .bind(v.staff_id.as_str())
                    .bind(i64::from(v.approve))
                    .bind(v.points)
                    .bind(v.comment)
                    .bind(v.at);
            }
            q.execute(&mut *tx).await?;
        }
        let head = "INSERT INTO deed_objections (id, deed_id, round, citizen_id, reason, at, outcome, decided_at)";
        for chunk in b.objections.chunks(statement_rows(8)) {
            let sql = values_sql(be, head, 8, chunk.len());
            let mut q = sqlx::query(&sql);
            for o in chunk {
                q = q
                    .bind(domain::new_id())
                    .bind(o.deed_id.as_str())
                    .bind(o.round)
                    .bind(o.citizen_id.as_str())
                    .bind(o.reason)
                    .bind(o.at)
                    .bind(o.outcome)
                    .bind(o.decided_at);
            }
            q.execute(&mut *tx).await?;
        }
        let head = "INSERT INTO deed_appeals (deed_id, citizen_id, reason, at, outcome, decided_by, decided_at, comment)";
        for chunk in b.appeals.chunks(statement_rows(8)) {
            let sql = values_sql(be, head, 8, chunk.len());
            let mut q = sqlx::query(&sql);
            for a in chunk {
                q = q
                    .bind(a.deed_id.as_str())
                    .bind(a.citizen_id.as_str())
                    .bind("补充了证明材料")
                    .bind(a.at)
                    .bind(a.outcome)
                    .bind(a.decided_by.as_deref())
                    .bind(a.decided_at)
                    .bind(a.comment);
            }
            q.execute(&mut *tx).await?;
        }
        let head =
            "INSERT INTO deed_events (id, deed_id, at, actor_kind, actor_id, action, detail)";
        for chunk in b.events.chunks(statement_rows(7)) {
            let sql = values_sql(be, head, 7, chunk.len());
            let mut q = sqlx::query(&sql);
            for e in chunk {
                q = q
                    .bind(domain::new_id())
                    .bind(e.deed_id.as_str())
                    .bind(e.at)
                    .bind(e.actor_kind)
                    .bind(e.actor_id.as_str())
                    .bind(e.action)
                    .bind(e.detail.as_str());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deeds by status, and the rows of their history tables.
    pub async fn bench_evaluation_counts(&self) -> Result<BTreeMap<String, i64>> {
        let mut counts = BTreeMap::new();
        for r in sqlx::query("SELECT status, COUNT(*) AS n FROM deeds GROUP BY status")
            .fetch_all(&self.read)
            .await?
        {
            counts.insert(
                format!("deeds_{}", r.try_get::<String, _>("status")?),
                r.try_get("n")?,
            );
        }
        for table in [
            "deeds",
            "deed_votes",
            "deed_objections",
            "deed_appeals",
            "deed_events",
        ] {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(&self.read)
                .await?
                .try_get("n")?;
            counts.insert(table.to_string(), n);
        }
        Ok(counts)
    }

    /// On PostgreSQL, gather the planner's statistics after the bulk writes, as autovacuum does
    /// on a running server some time after a load (without them it misjudges every row count,
    /// e.g. plans a resident's few deeds as a parallel scan). Returns the seconds it took. On
    /// SQLite nothing: the server never runs `ANALYZE` there, so the bench must not either.
    pub async fn bench_analyze(&self) -> Result<Option<f64>> {
        if self.backend != Backend::Postgres {
            return Ok(None);
        }
        let started = Instant::now();
        sqlx::query("ANALYZE").execute(&self.write).await?;
        Ok(Some(started.elapsed().as_secs_f64()))
    }

    /// The earliest end of a publicity period still running, if any.
    pub async fn bench_first_publicity_end(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query("SELECT MIN(publicity_ends_at) AS t FROM deeds WHERE status = 'publicity'")
                .fetch_one(&self.read)
                .await?
                .try_get("t")?,
        )
    }

    /// `n` random deeds: (deed id, the doer's citizen id). Citizens are thereby drawn in
    /// proportion to their deeds.
    pub async fn bench_random_deeds(&self, n: u32) -> Result<Vec<(String, String)>> {
        sqlx::query("SELECT id, citizen_id FROM deeds ORDER BY RANDOM() LIMIT $1")
            .bind(i64::from(n))
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("citizen_id")?)))
            .collect()
    }

    /// Deeds credited for real at `at` with a ledger entry at `from_index` or later (a rerun
    /// on the same file credits its batch at the same moment as the earlier runs did).
    pub async fn bench_credited_at(&self, at: i64, from_index: u64) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COUNT(*) AS n FROM deeds WHERE status = 'credited' AND updated_at = $1 \
             AND ledger_index >= $2",
        )
        .bind(at)
        .bind(i64::try_from(from_index).unwrap_or(i64::MAX))
        .fetch_one(&self.read)
        .await?
        .try_get("n")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::STATEMENT_PARAMS_MAX;

    #[test]
    fn values_are_numbered_on_postgres_and_positional_on_sqlite() {
        assert_eq!(
            values_sql(Backend::Postgres, "INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)"
        );
        assert_eq!(
            values_sql(Backend::Sqlite, "INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?)"
        );
        assert!(statement_rows(20) * 20 <= STATEMENT_PARAMS_MAX);
    }
}
