//! `moralbank bench dispatch-store`: the dispatch of a batch through the store, on the database
//! named by `--database-url` (a new one): a seeded city whose first `--volunteers` residents
//! volunteer for one alliance (the worst case: every candidate loaded), `--busy` of them holding
//! an accepted place, and `--requests` requests filed and accepted through the store. Timed:
//! `dispatch().propose` on the whole batch (the tasks and their open places read, the
//! candidates loaded with their hours, no-shows, certificates and busy windows, the matcher,
//! the alternates), `--rounds` times, and `send_offers` of every proposal once (one
//! transaction, each choice re-checked). The reference in the same run: the matcher alone
//! (`matcher::propose`) on the same candidates and places, so the ratio is the store's share.

use crate::bench::http::{loadavg, round1};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use domain::dispatch::matcher::{self, Place, Slot, Weights};
use domain::dispatch::Ask;
use moralbank_store::dispatch::offers::Choice;
use moralbank_store::dispatch::tasks::{Filer, Who};
use moralbank_store::{now_ms, Store};
use serde_json::json;
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct DispatchStoreOptions {
    /// Volunteers (the first residents of the seeded city), all of one alliance.
    #[arg(long, default_value_t = 50_000)]
    pub volunteers: u32,
    /// Of them, holding an accepted place (busy windows).
    #[arg(long, default_value_t = 3_000)]
    pub busy: u32,
    /// Requests in the batch.
    #[arg(long, default_value_t = 300)]
    pub requests: u32,
    /// Timed proposals of the batch.
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
}

const HOUR: i64 = 3_600_000;

pub async fn dispatch_store(
    config: Config,
    o: DispatchStoreOptions,
    url_given: bool,
) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench dispatch-store writes a city: name a new database with --database-url".into(),
        ));
    }
    if o.volunteers == 0 || o.requests == 0 || o.rounds == 0 {
        return Err(CliError::Usage(
            "--volunteers, --requests and --rounds must be positive".into(),
        ));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let line = run(&store, &o).await;
    store.close().await;
    println!("{}", line?);
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn run(store: &Store, o: &DispatchStoreOptions) -> Result<String> {
    let load_start = loadavg();
    let now = now_ms();
    if store.registry().city().await?.is_some() {
        return Err(CliError::Usage(
            "bench dispatch-store needs an empty database".into(),
        ));
    }
    let started = Instant::now();
    let (alliance, who, tasks) = setup(store, o, now).await?;
    let setup_s = started.elapsed().as_secs_f64();
    let d = store.dispatch();
    let mut store_ms = Vec::new();
    let mut places = Vec::new();
    for _ in 0..o.rounds {
        let t = Instant::now();
        places = d.propose(&alliance, &tasks, now).await?;
        store_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    // The reference: the matcher alone on the same candidates and places (their loading timed).
    let t = Instant::now();
    let candidates = d.candidates(&alliance, None, now).await?;
    let candidates_ms = t.elapsed().as_secs_f64() * 1000.0;
    let slots = slots_of(store, &tasks).await?;
    let mut matcher_ms = Vec::new();
    for _ in 0..o.rounds {
        let t = Instant::now();
        let p = matcher::propose(&slots, &candidates, &Weights::default());
        matcher_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(p);
    }
    let choices: Vec<Choice> = places
        .iter()
        .filter_map(|p| {
            p.offer.as_ref().map(|x| Choice {
                shift_id: p.shift_id.clone(),
                volunteer_id: x.volunteer_id.clone(),
            })
        })
        .collect();
    let t = Instant::now();
    d.send_offers(&who, &choices, 4 * HOUR, now).await?;
    let send_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (s, m) = (median(&mut store_ms), median(&mut matcher_ms));
    Ok(json!({
        "bench": "dispatch-store",
        "backend": format!("{:?}", store.backend()).to_lowercase(),
        "volunteers": o.volunteers, "busy": o.busy, "requests": o.requests, "slots": places.len(),
        "filled": choices.len(), "setup_seconds": round1(setup_s),
        "propose_ms_p50": round1(s), "propose_ms_max": round1(store_ms.iter().copied().fold(0.0, f64::max)),
        "matcher_alone_ms_p50": round1(m),
        "candidates_load_ms": round1(candidates_ms),
        "store_over_matcher": round1(s / m.max(0.001)),
        "send_offers_ms": round1(send_ms),
        "goal_batch_le_1000_ms": s + send_ms <= 1000.0,
        "loadavg_start": load_start, "loadavg_end": loadavg(),
    })
    .to_string())
}

/// The city, the alliance and its volunteers (some busy), and the batch's requests filed and
/// accepted through the store: (the alliance, its organiser, the tasks).
async fn setup(
    store: &Store,
    o: &DispatchStoreOptions,
    now: i64,
) -> Result<(String, Who, Vec<String>)> {
    store
        .fixtures()
        .seed_city(u64::from(o.volunteers) + 2_000, 17)
        .await?;
    store
        .evaluation()
        .ensure_default_standards("system:bench")
        .await?;
    let alliance = store
        .accounts()
        .create_partner("测试志愿服务联盟", "volunteer_alliance")
        .await?
        .id;
    let volunteers = store
        .fixtures()
        .bench_volunteers(&alliance, o.volunteers, now)
        .await?;
    store
        .fixtures()
        .bench_busy_places(&alliance, &volunteers, o.busy, now)
        .await?;
    let who = Who::Staff {
        actor: "system:bench".into(),
        partner_id: Some(alliance.clone()),
        clerk_of: None,
    };
    // Requesters: residents after the volunteers, each in their own village; two days ahead.
    let mut tasks = Vec::new();
    let requesters = store
        .fixtures()
        .bench_requesters(o.volunteers, o.requests)
        .await?;
    for (k, r) in requesters.iter().enumerate() {
        let starts = now + (1 + (k % 6) as i64) * 24 * HOUR + (8 + (k % 10) as i64) * HOUR;
        let ask = Ask {
            category: "services",
            title: format!("测试点单 {k}"),
            place: "村委会".into(),
            starts_at: starts,
            ends_at: starts + (2 + (k % 3) as i64) * HOUR,
            people: 1 + (k % 4) as u32,
            skills: vec!["elderly-care".into()],
            certificates: if k % 10 == 0 {
                vec!["first-aid".into()]
            } else {
                Vec::new()
            },
            notes: String::new(),
        };
        let t = store
            .dispatch()
            .file_request(r, &alliance, &ask, &Filer::Resident, None, now)
            .await?;
        store.dispatch().review(&t.id, &who, true, "", now).await?;
        tasks.push(t.id);
    }
    Ok((alliance, who, tasks))
}

/// The open places of `tasks` as the matcher's slots.
async fn slots_of(store: &Store, tasks: &[String]) -> Result<Vec<Slot>> {
    let d = store.dispatch();
    let mut slots = Vec::new();
    for id in tasks {
        let Some(t) = d.task(id).await? else { continue };
        for s in d.shifts(id).await? {
            for n in 0..(s.capacity - s.filled) {
                slots.push(Slot {
                    key: format!("{}#{n}", s.id),
                    place: Place {
                        village_id: t.village_id.clone(),
                        town_id: t.town_id.clone(),
                    },
                    starts_at: s.starts_at,
                    ends_at: s.ends_at,
                    certificates: t.certificates.clone(),
                    skills: t.skills.clone(),
                    excluded_household: t.household_id.clone(),
                    excluded: Vec::new(),
                });
            }
        }
    }
    Ok(slots)
}
