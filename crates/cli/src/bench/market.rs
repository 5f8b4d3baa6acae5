//! `moralbank bench match`: the technology supermarket's matching (`domain::market::search`)
//! over the demo's expert pool, in memory (no database: the index is built from rows the
//! store hands over, and loading them is one `SELECT`).
//!
//! * **build**: `MatchIndex::build` over `--experts` profiles (the demo pool's generator,
//!   seeded) and its 112 achievements; the median and max of `--builds` builds.
//! * **query**: for each of the pool's 84 demands, the top 10 experts and the top 10
//!   achievements (one query = both), `--rounds` times; p50, p99 and max. The baseline in the
//!   same run: `baseline_top`, the substring matching a developer would write with SQL `LIKE`
//!   (each candidate's keywords looked for in the demand's text), on the same demands.
//! * **quality**: on the labelled set (`search::labelled`), the mean precision at 5 of both,
//!   counted against min(5, the right experts) as the labelled module defines it.

use crate::bench::code::median;
use crate::bench::http::{loadavg, round1};
use crate::demo::market_pool::{pool, Region};
use crate::error::{CliError, Result};
use domain::market::search::labelled::{labelled_set, precision_at};
use domain::market::search::{
    baseline_top, AchievementDoc, Availability, DemandQuery, ExpertDoc, Kind, MatchIndex,
};
use serde_json::json;
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct MatchOptions {
    /// Profiles in the pool (the report's 29,770).
    #[arg(long, default_value_t = 29_770)]
    pub experts: usize,
    /// Index builds timed.
    #[arg(long, default_value_t = 5)]
    pub builds: usize,
    /// Times every demand is asked.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
}

const POOL_SEED: u64 = 7;
const TOP: usize = 10;

fn docs(experts: usize) -> (Vec<ExpertDoc>, Vec<AchievementDoc>, Vec<DemandQuery>) {
    let p = pool(POOL_SEED, experts);
    let area = |r: Region| match r {
        Region::Local(_) => domain::market::LOCAL_AREA,
        Region::Ningbo => "ningbo",
        Region::Province => "province",
        Region::Elsewhere => "elsewhere",
    };
    let xs = p
        .experts
        .iter()
        .map(|x| ExpertDoc {
            id: x.code.clone(),
            name: x.name.clone(),
            discipline: x.discipline.into(),
            industries: x.industries.iter().map(|s| s.to_string()).collect(),
            institution: x.institution.clone(),
            title: x.title.clone(),
            keywords: x.keywords.clone(),
            summary: x.summary.clone(),
            region: area(x.region).into(),
            availability: Availability::parse(x.availability).unwrap_or(Availability::Unavailable),
        })
        .collect();
    let achievements = p
        .achievements
        .iter()
        .map(|a| AchievementDoc {
            id: a.code.clone(),
            title: a.title.clone(),
            summary: a.summary.clone(),
            keywords: a.keywords.clone(),
            industry: a.industry.into(),
            discipline: a.discipline.into(),
            region: domain::market::LOCAL_AREA.into(),
        })
        .collect();
    let demands = p
        .demands
        .iter()
        .map(|d| DemandQuery {
            title: d.title.clone(),
            summary: d.summary.clone(),
            industry: d.industry.into(),
            region: domain::market::LOCAL_AREA.into(),
        })
        .collect();
    (xs, achievements, demands)
}

/// p50, p99 and max of milliseconds.
fn spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let p99 = v[((v.len() as f64 * 0.99).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)];
    (round2(median(&mut v)), round2(p99), round2(v[v.len() - 1]))
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Milliseconds of each query (both kinds) of every demand, `rounds` times.
fn timed(
    rounds: usize,
    demands: &[DemandQuery],
    ask: impl Fn(&DemandQuery) -> usize,
) -> (Vec<f64>, usize) {
    let mut ms = Vec::with_capacity(rounds * demands.len());
    let mut found = 0;
    for _ in 0..rounds {
        for d in demands {
            let t = Instant::now();
            found += ask(d);
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    (ms, found)
}

pub fn matching(o: MatchOptions) -> Result<()> {
    if o.experts == 0 || o.builds == 0 || o.rounds == 0 {
        return Err(CliError::Usage(
            "--experts, --builds and --rounds must be positive".into(),
        ));
    }
    let (experts, achievements, demands) = docs(o.experts);
    let mut builds = Vec::new();
    let mut index = None;
    for _ in 0..o.builds {
        let t = Instant::now();
        let built = MatchIndex::build(&experts, &achievements)
            .map_err(|e| CliError::Config(format!("building the index: {e}")))?;
        builds.push(t.elapsed().as_secs_f64());
        index = Some(built);
    }
    let index = index.ok_or_else(|| CliError::Config("no index".into()))?;
    let (index_ms, index_found) = timed(o.rounds, &demands, |d| {
        index.top(d, Kind::Expert, TOP).len() + index.top(d, Kind::Achievement, TOP).len()
    });
    let (base_ms, base_found) = timed(o.rounds, &demands, |d| {
        baseline_top(&experts, &achievements, d, Kind::Expert, TOP).len()
            + baseline_top(&experts, &achievements, d, Kind::Achievement, TOP).len()
    });
    let set = labelled_set();
    let labelled = MatchIndex::build(&set.experts, &set.achievements)
        .map_err(|e| CliError::Config(format!("building the labelled index: {e}")))?;
    let p5 = |f: &dyn Fn(&DemandQuery) -> Vec<domain::market::search::Match>| {
        let sum: f64 = set
            .demands
            .iter()
            .map(|(q, right)| precision_at(5, &f(q), right))
            .sum();
        (sum / set.demands.len() as f64 * 1000.0).round() / 1000.0
    };
    let index_p5 = p5(&|q| labelled.top(q, Kind::Expert, 5));
    let base_p5 = p5(&|q| baseline_top(&set.experts, &set.achievements, q, Kind::Expert, 5));
    let (i50, i99, imax) = spread(index_ms);
    let (b50, b99, bmax) = spread(base_ms);
    let build_s = round2(median(&mut builds.clone()));
    let line = json!({
        "bench": "match",
        "experts": experts.len(), "achievements": achievements.len(), "demands": demands.len(),
        "rounds": o.rounds,
        "build_s": { "median": build_s, "max": round2(builds.iter().copied().fold(0.0, f64::max)), "goal": 5.0 },
        "query_ms": { "p50": i50, "p99": i99, "max": imax, "goal_p99": 50.0, "matches_per_query": round1(index_found as f64 / (o.rounds * demands.len()) as f64) },
        "baseline_query_ms": { "p50": b50, "p99": b99, "max": bmax, "matches_per_query": round1(base_found as f64 / (o.rounds * demands.len()) as f64) },
        "p99_ratio_baseline_over_index": round1(b99 / i99.max(1e-6)),
        "labelled_p_at_5": { "index": index_p5, "baseline": base_p5, "demands": set.demands.len() },
        "loadavg": loadavg(),
    });
    println!("{line}");
    Ok(())
}
