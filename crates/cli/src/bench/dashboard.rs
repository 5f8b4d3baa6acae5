//! `moralbank bench dashboard`: the staff dashboard at city scale (issue 15: p99 under 200 ms
//! with 1.26 M residents and 10 M ledger entries), as one JSON line.
//!
//! On the database named by `--database-url`: seeds the city when it has none (enrolments over
//! 18 months), the default standards, committees and `--deeds` deeds of history when there are
//! no deeds (`bench evaluation`'s loaders), and fills the ledger to `--entries` entries when
//! the log is empty. Every one of these writes goes through the statistics triggers, like the
//! city's own writes; the deltas are then folded once (timed). Then, one request at a time
//! (closed loop) for `--seconds` each, through the whole web stack in process (session,
//! authorisation, roll-up reads, SVG, template):
//!
//! - the baseline floor: `/healthz` through the same router;
//! - the baseline the roll-ups replace: two of the page's eight figures (residents per town,
//!   deeds and points credited per town and category over the period) counted by scanning the
//!   residents and the deeds;
//! - the dashboard page for the admin (the city), a town reviewer (a town, by village) and a
//!   village evaluator (a village), last 12 months.

use crate::bench::http::{loadavg, ms, pct, round1, rss_mib};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use domain::{Password, Role, Username};
use http_body_util::BodyExt;
use moralbank_store::{now_ms, NewStaff, Store, SubjectKind};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

pub struct DashboardOptions {
    pub citizens: u64,
    pub deeds: u64,
    pub entries: u64,
    pub seconds: u32,
}

pub async fn dashboard(config: Config, o: DashboardOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench dashboard writes a whole city: name an empty (or new) database, or one it \
             seeded before, with --database-url"
                .into(),
        ));
    }
    if o.seconds == 0 {
        return Err(CliError::Usage("--seconds must be positive".into()));
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let line = run(&store, &o).await;
    store.close().await;
    println!("{}", line?);
    Ok(())
}

/// A staff account for the benchmark (made once) and a fresh session of it.
async fn staff_session(
    store: &Store,
    username: &str,
    role: Role,
    region: Option<String>,
) -> Result<String> {
    let accounts = store.accounts();
    let staff = match accounts.staff_by_username(username).await? {
        Some(s) => s,
        None => {
            let password = moralbank_store::vault::random_token();
            accounts
                .create_staff(&NewStaff {
                    username: Username::parse(username).map_err(|e| CliError::Config(e.detail))?,
                    display_name: format!("bench {}", role.as_str()),
                    password: Password::parse(&password).map_err(|e| CliError::Config(e.detail))?,
                    role,
                    region_id: region,
                    partner_id: None,
                })
                .await?
        }
    };
    let (token, _) = accounts
        .create_session(SubjectKind::Staff, &staff.id, domain::time::HOUR_MS)
        .await?;
    Ok(token)
}

#[allow(clippy::too_many_lines)] // a benchmark run reads top to bottom: set up, measure, report
async fn run(store: &Store, o: &DashboardOptions) -> Result<Value> {
    let load_start = loadavg();
    let backend = format!("{:?}", store.backend()).to_lowercase();
    let mut setup = serde_json::Map::new();
    crate::bench::evaluation::city_with_history(store, o.citizens, o.deeds, &mut setup).await?;
    if store.ledger().log_head().await?.size == 0 && o.entries > 0 {
        eprintln!("filling the ledger with {} entries", o.entries);
        let t = Instant::now();
        let citizens = store.fixtures().some_citizen_ids(10_000).await?;
        store
            .fixtures()
            .bench_fill_ledger(o.entries, &citizens, |n| {
                if n % 1_000_000 == 0 {
                    eprintln!("  {n} entries");
                }
            })
            .await?;
        setup.insert(
            "ledger_seconds".into(),
            json!(round1(t.elapsed().as_secs_f64())),
        );
    }
    let t = Instant::now();
    let folded = store.citydata().fold_statistics().await?;
    setup.insert(
        "fold_seconds".into(),
        json!(round1(t.elapsed().as_secs_f64())),
    );
    setup.insert("deltas_folded".into(), json!(folded));
    if let Some(s) = store.fixtures().bench_analyze().await? {
        setup.insert("analyze_seconds".into(), json!(round1(s)));
    }
    let (rollup_rows, _) = store.fixtures().bench_rollup_rows().await?;
    let (residents, _) = store.registry().count_citizens().await?;
    let entries = store.ledger().log_head().await?.size;
    let deeds = store
        .fixtures()
        .bench_evaluation_counts()
        .await?
        .get("deeds")
        .copied()
        .unwrap_or(0);

    let (town, village) = {
        let (v, t) = store
            .registry()
            .villages()
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| CliError::Config("the city has no villages".into()))?;
        (t.id, v.id)
    };
    let sessions = [
        (
            "city",
            staff_session(store, "bench-admin", Role::Admin, None).await?,
        ),
        (
            "town",
            staff_session(store, "bench-town", Role::TownReviewer, Some(town)).await?,
        ),
        (
            "village",
            staff_session(store, "bench-village", Role::Evaluator, Some(village)).await?,
        ),
    ];
    let (skey, vkey) = moralbank_ledger::generate_log_key("bench.moralbank.localhost/log");
    let key = moralbank_ledger::LogKey::from_private(&skey)
        .map_err(|e| CliError::Config(format!("bench log key: {e}")))?;
    let ledger = moralbank_web::Ledger::start(store, key, vkey, vec![], Default::default()).await?;
    let app = moralbank_web::app(moralbank_web::AppState::new(
        store.clone(),
        moralbank_web::WebConfig {
            cookie_secure: false,
            ..Default::default()
        },
        Arc::new(moralbank_web::DevSender),
        ledger,
    ));
    let now = now_ms();
    let to = moralbank_store::day_of(now)[..7].to_string();
    let from = moralbank_store::day_of(now - 335 * domain::time::DAY_MS)[..7].to_string();
    let page = format!("/console/statistics?from={from}&to={to}");
    let get = |path: String, token: Option<String>| {
        let app = app.clone();
        async move {
            let mut req = Request::builder().uri(path.as_str());
            if let Some(t) = &token {
                req = req.header("cookie", format!("mb_session={t}"));
            }
            let res = app
                .oneshot(
                    req.body(Body::empty())
                        .map_err(|e| CliError::Config(e.to_string()))?,
                )
                .await
                .map_err(|e| CliError::Config(format!("{e:?}")))?;
            let status = res.status();
            let body = res
                .into_body()
                .collect()
                .await
                .map_err(|e| CliError::Config(e.to_string()))?
                .to_bytes();
            if status != StatusCode::OK {
                return Err(CliError::Config(format!("{path}: {status}")));
            }
            Ok::<usize, CliError>(body.len())
        }
    };
    // Each phase: one call at a time for `seconds` (after a one-second warm-up).
    let mut phases = serde_json::Map::new();
    let mut p99 = std::collections::BTreeMap::new();
    let mut p50 = std::collections::BTreeMap::new();
    let phase_names: Vec<(&str, Option<usize>)> = vec![
        ("healthz", None),
        ("scan_baseline", None),
        ("city", Some(0)),
        ("town", Some(1)),
        ("village", Some(2)),
    ];
    for (name, session) in phase_names {
        eprintln!("measuring {name} for {} s", o.seconds);
        let mut lat = Vec::new();
        let mut size = 0;
        for (warm, secs) in [(true, 1), (false, o.seconds)] {
            let until = Instant::now() + Duration::from_secs(u64::from(secs));
            while Instant::now() < until {
                let t = Instant::now();
                size = match (name, session) {
                    ("healthz", _) => get("/healthz".into(), None).await?,
                    ("scan_baseline", _) => {
                        store
                            .fixtures()
                            .bench_dashboard_scan(now - 365 * domain::time::DAY_MS, now)
                            .await?
                    }
                    (_, Some(i)) => get(page.clone(), Some(sessions[i].1.clone())).await?,
                    _ => 0,
                };
                if !warm {
                    lat.push(t.elapsed().as_micros() as u64);
                }
            }
        }
        lat.sort_unstable();
        p99.insert(name, pct(&lat, 0.99));
        p50.insert(name, pct(&lat, 0.50));
        phases.insert(
            name.into(),
            json!({
                "calls": lat.len(), "p50_ms": ms(pct(&lat, 0.50)), "p90_ms": ms(pct(&lat, 0.90)),
                "p99_ms": ms(pct(&lat, 0.99)), "max_ms": ms(pct(&lat, 1.0)),
                "bytes": size,
            }),
        );
    }
    let ratio = |a: &str, b: &str| round1(p50[a] as f64 / p50[b].max(1) as f64);
    Ok(json!({
        "bench": "dashboard",
        "backend": backend,
        "residents": residents,
        "deeds": deeds,
        "ledger_entries": entries,
        "rollup_rows": rollup_rows,
        "period": format!("{from}..{to}"),
        "setup": setup,
        "phases": phases,
        "scan_baseline_p50_over_city_page_p50": ratio("scan_baseline", "city"),
        "city_page_p50_over_healthz_p50": ratio("city", "healthz"),
        "city_page_p99_ms": ms(p99["city"]),
        "rss_mib": rss_mib("VmRSS:"), "rss_peak_mib": rss_mib("VmHWM:"),
        "loadavg_start": load_start, "loadavg_end": loadavg(),
    }))
}
