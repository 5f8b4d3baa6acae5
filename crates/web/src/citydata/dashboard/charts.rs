//! The dashboard's eight charts for one period and scope, each with its table: built from the
//! roll-ups (`store::citydata::stats`), names in the reader's language instead of ids.

use super::{add_months, month_str, months_between, Period, DAYS_SHOWN};
use crate::auth::PageCtx;
use crate::error::AppError;
use crate::frame::chart::{self, Series};
use crate::frame::region_name;
use crate::AppState;
use moralbank_store::citydata::stats::{Grain, Level, Stat, StatsQuery};
use moralbank_store::Scope;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One chart: its picture and its table (the CSV is the same table).
#[derive(Debug, Serialize)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub svg: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Names for what the roll-ups key by id or code, in the reader's language.
struct Names {
    regions: HashMap<String, String>,
    standards: HashMap<String, String>,
    scenes: HashMap<String, String>,
}

impl Names {
    fn region(&self, id: &str, t: &dyn Fn(&str) -> String) -> String {
        if id.is_empty() {
            return t("stats.region_unknown");
        }
        self.regions
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

fn sum_by<'a>(
    rows: impl Iterator<Item = &'a Stat>,
    key: impl Fn(&Stat) -> String,
) -> BTreeMap<String, (i64, i64)> {
    let mut m = BTreeMap::new();
    for r in rows {
        let e = m.entry(key(r)).or_insert((0, 0));
        e.0 += r.n;
        e.1 += r.amount;
    }
    m
}

/// What the charts are drawn from: one period's roll-ups in one scope, and the names.
struct Data<'a> {
    state: &'a AppState,
    lang: &'static str,
    empty: String,
    from: String,
    months: Vec<String>,
    scope: Scope,
    breakdown: Option<Level>,
    monthly: Vec<Stat>,
    enrolment: Vec<Stat>,
    by_region: Vec<Stat>,
    days: Vec<String>,
    daily: Vec<Stat>,
    names: Names,
}

/// The last 31 days of the period (ending today at the latest) and their scans and redemptions.
async fn daily_stats(
    state: &AppState,
    scope: &Scope,
    level: Level,
    to: &str,
) -> Result<(Vec<String>, Vec<Stat>), AppError> {
    let last_day = {
        let today = moralbank_store::day_of(state.clock.now_ms());
        let end_of_to = format!("{to}-31");
        if today < end_of_to {
            today
        } else {
            end_of_to
        }
    };
    let days = last_days(&last_day, DAYS_SHOWN);
    let daily = state
        .store
        .citydata()
        .statistics(&StatsQuery {
            metrics: &["scanned", "redeemed"],
            scope,
            level,
            grain: Grain::Day,
            from: &days[0],
            to: &days[days.len() - 1],
        })
        .await?;
    Ok((days, daily))
}

/// The charts for `p`, in page order.
pub(super) async fn charts(
    state: &AppState,
    ctx: &PageCtx,
    p: &Period,
) -> Result<Vec<Chart>, AppError> {
    let store = state.store.citydata();
    let empty = state.catalog.get(ctx.lang, "stats.empty");
    let from = month_str(p.from);
    let to = month_str(p.to);
    let months: Vec<String> = (0..=months_between(p.from, p.to))
        .map(|k| month_str(add_months(p.from, k)))
        .collect();
    // The scope's own rows (summed over its regions) and, for a city or a town, a breakdown
    // by town or by village.
    let own_level = match p.scope {
        Scope::City | Scope::Town(_) => Level::Town,
        Scope::Village(_) => Level::Village,
    };
    let breakdown = match p.scope {
        Scope::City => Some(Level::Town),
        Scope::Town(_) => Some(Level::Village),
        Scope::Village(_) => None,
    };
    let monthly = store
        .statistics(&StatsQuery {
            metrics: &[
                "deed_reported",
                "deed_status",
                "deed_credited",
                "redeemed",
                "refused",
                "green_card",
                "green_card_revoked",
                "dispatch_request",
                "volunteer_hours",
            ],
            scope: &p.scope,
            level: own_level,
            grain: Grain::Month,
            from: &from,
            to: &to,
        })
        .await?;
    // Enrolment counts from the start, for the running total.
    let enrolment = store
        .statistics(&StatsQuery {
            metrics: &["enrolled", "withdrawn"],
            scope: &p.scope,
            level: own_level,
            grain: Grain::Month,
            from: "0000-00",
            to: &to,
        })
        .await?;
    let by_region = match breakdown {
        Some(level) => {
            store
                .statistics(&StatsQuery {
                    metrics: &["enrolled", "withdrawn", "deed_credited"],
                    scope: &p.scope,
                    level,
                    grain: Grain::Month,
                    from: "0000-00",
                    to: &to,
                })
                .await?
        }
        None => vec![],
    };
    let (days, daily) = daily_stats(state, &p.scope, own_level, &to).await?;
    let names = names(state, ctx).await?;
    let d = Data {
        state,
        lang: ctx.lang,
        empty,
        from,
        months,
        scope: p.scope.clone(),
        breakdown,
        monthly,
        enrolment,
        by_region,
        days,
        daily,
        names,
    };
    let mut out = Vec::new();
    enrolment_chart(&d, &mut out);
    region_charts(&d, &mut out);
    category_chart(&d, &mut out);
    outcomes_chart(&d, &mut out);
    daily_chart(&d, &mut out);
    scene_chart(&d, &mut out);
    green_card_chart(&d, &mut out);
    volunteer_chart(&d, &mut out);
    Ok(out)
}

/// 1. Residents enrolled per month, and the running total.
fn enrolment_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let from = &d.from;
    let months = &d.months;
    let enrolment = &d.enrolment;
    let mut before = 0;
    let mut per_month: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for r in enrolment {
        let sign = if r.metric == "enrolled" { 1 } else { -1 };
        if r.bucket < *from {
            before += sign * r.n;
        } else {
            let e = per_month.entry(r.bucket.as_str()).or_insert((0, 0));
            if sign > 0 {
                e.0 += r.n
            } else {
                e.1 += r.n
            }
        }
    }
    let mut total = before;
    let mut rows = Vec::new();
    let mut joined = Vec::new();
    for m in months {
        let (e, w) = per_month.get(m.as_str()).copied().unwrap_or((0, 0));
        total += e - w;
        joined.push(e);
        rows.push(vec![
            m.clone(),
            e.to_string(),
            w.to_string(),
            total.to_string(),
        ]);
    }
    let title = t("stats.enrolment");
    out.push(Chart {
        id: "enrolment",
        svg: chart::columns(
            "enrolment",
            &title,
            months,
            &[Series {
                name: t("stats.enrolled"),
                values: joined,
            }],
            empty,
        ),
        title,
        columns: vec![
            t("stats.month"),
            t("stats.enrolled"),
            t("stats.withdrawn"),
            t("stats.residents_total"),
        ],
        rows,
    });
}

/// 2 and 4. By town or village: residents now, and points credited in the period.
fn region_charts(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let from = &d.from;
    let by_region = &d.by_region;
    let names = &d.names;
    let breakdown = d.breakdown;
    if breakdown.is_some() {
        let residents = sum_by(
            by_region.iter().filter(|r| r.metric != "deed_credited"),
            |r| r.region_id.clone(),
        );
        let mut regions: Vec<(String, i64, i64, i64)> = residents
            .keys()
            .chain(
                by_region
                    .iter()
                    .filter(|r| r.metric == "deed_credited")
                    .map(|r| &r.region_id),
            )
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|id| {
                let now: i64 = by_region
                    .iter()
                    .filter(|r| &r.region_id == id && r.metric != "deed_credited")
                    .map(|r| if r.metric == "enrolled" { r.n } else { -r.n })
                    .sum();
                let (deeds, points) = by_region
                    .iter()
                    .filter(|r| {
                        &r.region_id == id && r.metric == "deed_credited" && r.bucket >= *from
                    })
                    .fold((0, 0), |a, r| (a.0 + r.n, a.1 + r.amount));
                (id.clone(), now, deeds, points)
            })
            .collect();
        regions.sort_by_key(|r| names.region(&r.0, &t));
        let labels: Vec<String> = regions.iter().map(|r| names.region(&r.0, &t)).collect();
        let title = t(if matches!(d.scope, Scope::City) {
            "stats.residents_by_town"
        } else {
            "stats.residents_by_village"
        });
        out.push(Chart {
            id: "residents-by-region",
            svg: chart::bars(
                "residents-by-region",
                &title,
                &labels,
                &regions.iter().map(|r| r.1).collect::<Vec<_>>(),
                empty,
            ),
            title,
            columns: vec![t("stats.region"), t("stats.residents_total")],
            rows: regions
                .iter()
                .zip(&labels)
                .map(|(r, l)| vec![l.clone(), r.1.to_string()])
                .collect(),
        });
        let title = t(if matches!(d.scope, Scope::City) {
            "stats.points_by_town"
        } else {
            "stats.points_by_village"
        });
        out.push(Chart {
            id: "points-by-region",
            svg: chart::bars(
                "points-by-region",
                &title,
                &labels,
                &regions.iter().map(|r| r.3).collect::<Vec<_>>(),
                empty,
            ),
            title,
            columns: vec![
                t("stats.region"),
                t("stats.deeds_credited"),
                t("stats.points"),
            ],
            rows: regions
                .iter()
                .zip(&labels)
                .map(|(r, l)| vec![l.clone(), r.2.to_string(), r.3.to_string()])
                .collect(),
        });
    }
}

/// 3. Deeds and points by category (point standard).
fn category_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let monthly = &d.monthly;
    let names = &d.names;
    let reported = sum_by(
        monthly.iter().filter(|r| r.metric == "deed_reported"),
        |r| r.key.clone(),
    );
    let credited = sum_by(
        monthly.iter().filter(|r| r.metric == "deed_credited"),
        |r| r.key.clone(),
    );
    let mut cats: Vec<&String> = reported
        .keys()
        .chain(credited.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    cats.sort_by_key(|c| std::cmp::Reverse(credited.get(*c).map_or(0, |v| v.1)));
    let labels: Vec<String> = cats
        .iter()
        .map(|c| {
            names
                .standards
                .get(*c)
                .cloned()
                .unwrap_or_else(|| (*c).clone())
        })
        .collect();
    let title = t("stats.by_category");
    out.push(Chart {
        id: "deeds-by-category",
        svg: chart::bars(
            "deeds-by-category",
            &title,
            &labels,
            &cats
                .iter()
                .map(|c| credited.get(*c).map_or(0, |v| v.1))
                .collect::<Vec<_>>(),
            empty,
        ),
        title,
        columns: vec![
            t("stats.category"),
            t("stats.deeds_reported"),
            t("stats.deeds_credited"),
            t("stats.points"),
        ],
        rows: cats
            .iter()
            .zip(&labels)
            .map(|(c, l)| {
                let (n, pts) = credited.get(*c).copied().unwrap_or((0, 0));
                vec![
                    l.clone(),
                    reported.get(*c).map_or(0, |v| v.0).to_string(),
                    n.to_string(),
                    pts.to_string(),
                ]
            })
            .collect(),
    });
}

/// 5. Publicity outcomes: what deeds moved to in the period.
fn outcomes_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let monthly = &d.monthly;
    let status = sum_by(monthly.iter().filter(|r| r.metric == "deed_status"), |r| {
        r.key.clone()
    });
    let order = [
        "review",
        "publicity",
        "paused",
        "credited",
        "rejected",
        "appealed",
        "closed",
    ];
    let labels: Vec<String> = order.iter().map(|s| t(&format!("status.{s}"))).collect();
    let values: Vec<i64> = order
        .iter()
        .map(|s| status.get(*s).map_or(0, |v| v.0))
        .collect();
    let title = t("stats.outcomes");
    out.push(Chart {
        id: "outcomes",
        svg: chart::bars("outcomes", &title, &labels, &values, empty),
        title,
        columns: vec![t("stats.status"), t("stats.deeds")],
        rows: labels
            .iter()
            .zip(&values)
            .map(|(l, v)| vec![l.clone(), v.to_string()])
            .collect(),
    });
}

/// 6. Scans and redemptions per day, the last 31 days of the period.
fn daily_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let days = &d.days;
    let daily = &d.daily;
    let scans = sum_by(daily.iter().filter(|r| r.metric == "scanned"), |r| {
        r.bucket.clone()
    });
    let granted = sum_by(daily.iter().filter(|r| r.metric == "redeemed"), |r| {
        r.bucket.clone()
    });
    let sv: Vec<i64> = days
        .iter()
        .map(|d| scans.get(d).map_or(0, |v| v.0))
        .collect();
    let gv: Vec<i64> = days
        .iter()
        .map(|d| granted.get(d).map_or(0, |v| v.0))
        .collect();
    let day_labels: Vec<String> = days.iter().map(|d| d[5..].to_string()).collect();
    let title = t("stats.daily");
    out.push(Chart {
        id: "scans-daily",
        svg: chart::lines(
            "scans-daily",
            &title,
            &day_labels,
            &[
                Series {
                    name: t("stats.scans"),
                    values: sv.clone(),
                },
                Series {
                    name: t("stats.redemptions"),
                    values: gv.clone(),
                },
            ],
            empty,
        ),
        title,
        columns: vec![t("stats.day"), t("stats.scans"), t("stats.redemptions")],
        rows: days
            .iter()
            .zip(sv.iter().zip(&gv))
            .map(|(d, (s, g))| vec![d.clone(), s.to_string(), g.to_string()])
            .collect(),
    });
}

/// 7. Redemptions by scene in the period.
fn scene_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let monthly = &d.monthly;
    let names = &d.names;
    let ok = sum_by(monthly.iter().filter(|r| r.metric == "redeemed"), |r| {
        r.key.clone()
    });
    let refused = sum_by(monthly.iter().filter(|r| r.metric == "refused"), |r| {
        r.key.clone()
    });
    let scenes: Vec<&String> = ok
        .keys()
        .chain(refused.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let labels: Vec<String> = scenes
        .iter()
        .map(|c| {
            names
                .scenes
                .get(*c)
                .cloned()
                .unwrap_or_else(|| (*c).clone())
        })
        .collect();
    let title = t("stats.by_scene");
    out.push(Chart {
        id: "redemptions-by-scene",
        svg: chart::bars(
            "redemptions-by-scene",
            &title,
            &labels,
            &scenes
                .iter()
                .map(|s| ok.get(*s).map_or(0, |v| v.0))
                .collect::<Vec<_>>(),
            empty,
        ),
        title,
        columns: vec![
            t("stats.scene"),
            t("stats.redemptions"),
            t("stats.refused"),
            t("stats.points_spent"),
        ],
        rows: scenes
            .iter()
            .zip(&labels)
            .map(|(s, l)| {
                let (n, pts) = ok.get(*s).copied().unwrap_or((0, 0));
                vec![
                    l.clone(),
                    n.to_string(),
                    refused.get(*s).map_or(0, |v| v.0).to_string(),
                    pts.to_string(),
                ]
            })
            .collect(),
    });
}

/// 8. Green cards issued and revoked per month, and by honour.
fn green_card_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let empty = &d.empty;
    let months = &d.months;
    let monthly = &d.monthly;
    let issued = sum_by(monthly.iter().filter(|r| r.metric == "green_card"), |r| {
        r.bucket.clone()
    });
    let revoked = sum_by(
        monthly.iter().filter(|r| r.metric == "green_card_revoked"),
        |r| r.bucket.clone(),
    );
    let iv: Vec<i64> = months
        .iter()
        .map(|m| issued.get(m).map_or(0, |v| v.0))
        .collect();
    let rv: Vec<i64> = months
        .iter()
        .map(|m| revoked.get(m).map_or(0, |v| v.0))
        .collect();
    let honours = sum_by(monthly.iter().filter(|r| r.metric == "green_card"), |r| {
        r.key.clone()
    });
    let title = t("stats.green_cards");
    let mut rows: Vec<Vec<String>> = months
        .iter()
        .zip(iv.iter().zip(&rv))
        .map(|(m, (i, r))| vec![m.clone(), i.to_string(), r.to_string()])
        .collect();
    for (h, (n, _)) in &honours {
        rows.push(vec![
            t(&format!("honour.{h}")),
            n.to_string(),
            String::new(),
        ]);
    }
    out.push(Chart {
        id: "green-cards",
        svg: chart::columns(
            "green-cards",
            &title,
            months,
            &[
                Series {
                    name: t("green.issued"),
                    values: iv,
                },
                Series {
                    name: t("green.revoked"),
                    values: rv,
                },
            ],
            empty,
        ),
        title,
        columns: vec![
            t("stats.month_or_honour"),
            t("green.issued"),
            t("green.revoked"),
        ],
        rows,
    });
}

/// 9. Volunteer dispatch: requests asked for and service hours counted per month, and by area.
fn volunteer_chart(d: &Data<'_>, out: &mut Vec<Chart>) {
    let t = |k: &str| d.state.catalog.get(d.lang, k);
    let of = |metric: &'static str| d.monthly.iter().filter(move |r| r.metric == metric);
    let requests = sum_by(of("dispatch_request"), |r| r.bucket.clone());
    let hours = sum_by(of("volunteer_hours"), |r| r.bucket.clone());
    let rv: Vec<i64> = d
        .months
        .iter()
        .map(|m| requests.get(m).map_or(0, |v| v.0))
        .collect();
    let hv: Vec<i64> = d
        .months
        .iter()
        .map(|m| hours.get(m).map_or(0, |v| v.1))
        .collect();
    let title = t("stats.volunteers");
    let mut rows: Vec<Vec<String>> = d
        .months
        .iter()
        .zip(rv.iter().zip(&hv))
        .map(|(m, (r, h))| vec![m.clone(), r.to_string(), h.to_string()])
        .collect();
    for (area, (_, h)) in sum_by(of("volunteer_hours"), |r| r.key.clone()) {
        let asked = sum_by(of("dispatch_request"), |r| r.key.clone());
        let n = asked.get(&area).map_or(0, |v| v.0);
        rows.push(vec![
            t(&format!("dispatch.category.{area}")),
            n.to_string(),
            h.to_string(),
        ]);
    }
    out.push(Chart {
        id: "volunteers",
        svg: chart::columns(
            "volunteers",
            &title,
            &d.months,
            &[
                Series {
                    name: t("stats.volunteer_requests"),
                    values: rv,
                },
                Series {
                    name: t("stats.volunteer_hours"),
                    values: hv,
                },
            ],
            &d.empty,
        ),
        title,
        columns: vec![
            t("stats.month_or_area"),
            t("stats.volunteer_requests"),
            t("stats.volunteer_hours"),
        ],
        rows,
    });
}

/// The `n` days that end on `last` (`yyyy-mm-dd`), oldest first.
pub(super) fn last_days(last: &str, n: i64) -> Vec<String> {
    let parse = |s: &str| -> Option<i64> {
        let d =
            time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
        Some(i64::from(d.to_julian_day()))
    };
    // A month's "31st" that does not exist falls back to the month's real last day.
    let end = parse(last)
        .or_else(|| {
            (28..=30)
                .rev()
                .find_map(|d| parse(&format!("{}-{d:02}", &last[..7])))
        })
        .unwrap_or(0);
    (end - n + 1..=end)
        .filter_map(|j| time::Date::from_julian_day(j as i32).ok())
        .map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
        .collect()
}

async fn names(state: &AppState, ctx: &PageCtx) -> Result<Names, AppError> {
    let reg = state.store.registry();
    let mut regions = HashMap::new();
    for (v, town) in reg.villages().await? {
        regions.insert(v.id.clone(), region_name(ctx, &v));
        regions.insert(town.id.clone(), region_name(ctx, &town));
    }
    Ok(Names {
        regions,
        standards: crate::ledger::labels::standard_names(state, ctx.lang).await?,
        scenes: crate::ledger::labels::scene_names(state, ctx.lang).await?,
    })
}
