//! `moralbank bench home`: the resident's home page under a steady offered load, against the
//! cheapest route (`/healthz`) at the same rate in the same run as the baseline.
//!
//! The load is open-loop: request *i* is due at `start + i / rate` whatever happened before, and
//! its latency runs from that due time to the last byte of the answer, so a slow server cannot
//! hide its queueing (no coordinated omission). Requests go over keep-alive HTTP/1.1
//! connections to the real router on a loopback port, served from this process; the figures
//! therefore include the load generator's share of the two cores, and RSS is the whole process.

use crate::error::{CliError, Result};
use moralbank_store::{Store, SubjectKind};
use moralbank_web::{AppState, DevSender, WebConfig};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

/// One response head at most this large; a bigger one is an error.
const HEAD_BYTES_MAX: usize = 16 * 1024;
const BODY_BYTES_MAX: usize = 4 * 1024 * 1024;

pub struct HomeOptions {
    pub rate: u32,
    pub seconds: u32,
    pub residents: u32,
    pub connections: u32,
}

#[derive(Clone, Copy)]
enum Target {
    Health,
    Home,
}

struct Phase {
    latencies_us: Vec<u64>,
    errors: u64,
    wall_s: f64,
}

pub async fn home(store: Store, o: HomeOptions) -> Result<()> {
    if o.rate == 0 || o.seconds == 0 || o.residents == 0 || o.connections == 0 {
        return Err(CliError::Usage(
            "--rate, --seconds, --residents and --connections must be positive".into(),
        ));
    }
    let tokens = Arc::new(sessions(&store, o.residents).await?);
    let web = WebConfig {
        cookie_secure: false,
        login_attempts_per_minute: u32::MAX,
        ..WebConfig::default()
    };
    let (skey, vkey) = moralbank_ledger::generate_log_key("bench.moralbank.localhost/log");
    let key = moralbank_ledger::LogKey::from_private(&skey)
        .map_err(|e| CliError::Config(format!("bench log key: {e}")))?;
    let ledger =
        moralbank_web::Ledger::start(&store, key, vkey, vec![], Default::default()).await?;
    let app = moralbank_web::app(AppState::new(
        store.clone(),
        web,
        Arc::new(DevSender),
        ledger,
    ));
    let (addr, server) = serve_loopback(app).await?;

    eprintln!(
        "warming up for 2 s, then {} s of /healthz and {} s of /me at {} req/s",
        o.seconds, o.seconds, o.rate
    );
    run_phase(addr, &tokens, Target::Home, o.rate, 2, o.connections).await?;
    let base = run_phase(
        addr,
        &tokens,
        Target::Health,
        o.rate,
        o.seconds,
        o.connections,
    )
    .await?;
    let home = run_phase(
        addr,
        &tokens,
        Target::Home,
        o.rate,
        o.seconds,
        o.connections,
    )
    .await?;
    server.abort();

    let (citizens, _) = store.registry().count_citizens().await?;
    let summary = |p: &Phase| {
        json!({
            "requests": p.latencies_us.len(), "errors": p.errors,
            "achieved_per_s": round1(p.latencies_us.len() as f64 / p.wall_s),
            "p50_ms": ms(pct(&p.latencies_us, 0.50)), "p90_ms": ms(pct(&p.latencies_us, 0.90)),
            "p99_ms": ms(pct(&p.latencies_us, 0.99)), "max_ms": ms(pct(&p.latencies_us, 1.0)),
        })
    };
    let ratio = pct(&home.latencies_us, 0.99) as f64 / pct(&base.latencies_us, 0.99).max(1) as f64;
    let line = json!({
        "bench": "home", "backend": format!("{:?}", store.backend()).to_lowercase(), "citizens": citizens,
        "offered_per_s": o.rate, "seconds": o.seconds, "connections": o.connections, "residents": o.residents,
        "baseline_healthz": summary(&base), "home": summary(&home),
        "p99_ratio_home_to_baseline": round1(ratio),
        "rss_mib": rss_mib("VmRSS"), "peak_rss_mib": rss_mib("VmHWM"),
    });
    println!("{line}");
    if home.errors > 0 || base.errors > 0 {
        return Err(CliError::Usage(format!(
            "{} home and {} baseline requests failed",
            home.errors, base.errors
        )));
    }
    Ok(())
}

/// Serve `app` on a free loopback port from this process, for a benchmark's load; abort the
/// handle to stop it.
pub async fn serve_loopback(
    app: axum::Router,
) -> Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(CliError::io("binding a loopback port"))?;
    let addr = listener
        .local_addr()
        .map_err(CliError::io("reading the port"))?;
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok((addr, server))
}

/// [`serve_loopback`] that stops gracefully when the sender is used or dropped: it stops
/// accepting and finishes the requests in flight.
pub async fn serve_loopback_graceful(
    app: axum::Router,
) -> Result<(
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(CliError::io("binding a loopback port"))?;
    let addr = listener
        .local_addr()
        .map_err(CliError::io("reading the port"))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await
    });
    Ok((addr, stop, server))
}

/// Sign in `n` residents spread evenly over the seeded city (citizen i has the demo phone i).
async fn sessions(store: &Store, n: u32) -> Result<Vec<String>> {
    let (citizens, _) = store.registry().count_citizens().await?;
    if citizens == 0 {
        return Err(CliError::Usage(
            "the database has no citizens: seed it first (moralbank bench seed or demo)".into(),
        ));
    }
    let step = (citizens as u64 / u64::from(n)).max(1);
    let mut tokens = Vec::with_capacity(n as usize);
    for k in 0..u64::from(n).min(citizens as u64) {
        let (phone, _) = moralbank_store::fixtures::city::demo_identity(k * step);
        let Some(id) = store.registry().citizen_id_by_phone(&phone).await? else {
            continue;
        };
        let (token, _) = store
            .accounts()
            .create_session(SubjectKind::Citizen, &id, domain::time::HOUR_MS)
            .await?;
        tokens.push(token);
    }
    if tokens.is_empty() {
        return Err(CliError::Usage(
            "no seeded demo residents found: seed with moralbank bench seed or demo".into(),
        ));
    }
    Ok(tokens)
}

async fn run_phase(
    addr: SocketAddr,
    tokens: &Arc<Vec<String>>,
    target: Target,
    rate: u32,
    seconds: u32,
    connections: u32,
) -> Result<Phase> {
    let total = u64::from(rate) * u64::from(seconds);
    let (tx, rx) = mpsc::channel::<(u64, Instant)>(connections as usize * 4);
    let rx = Arc::new(Mutex::new(rx));
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (rx, tokens) = (rx.clone(), tokens.clone());
        workers.push(tokio::spawn(async move {
            worker(addr, target, &tokens, rx).await
        }));
    }
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        if tx.send((i, due)).await.is_err() {
            break;
        }
    }
    drop(tx);
    let mut phase = Phase {
        latencies_us: Vec::with_capacity(total as usize),
        errors: 0,
        wall_s: 0.0,
    };
    for w in workers {
        let (lat, errors) = w
            .await
            .map_err(|_| CliError::Usage("a load worker panicked".into()))?;
        phase.latencies_us.extend(lat);
        phase.errors += errors;
    }
    phase.wall_s = start.elapsed().as_secs_f64();
    phase.latencies_us.sort_unstable();
    Ok(phase)
}

/// Take due requests off the shared queue and send each over this worker's connection,
/// reconnecting after an error.
async fn worker(
    addr: SocketAddr,
    target: Target,
    tokens: &[String],
    rx: Arc<Mutex<mpsc::Receiver<(u64, Instant)>>>,
) -> (Vec<u64>, u64) {
    let (mut lat, mut errors) = (Vec::new(), 0u64);
    let mut conn: Option<BufReader<TcpStream>> = None;
    loop {
        let next = rx.lock().await.recv().await;
        let Some((i, due)) = next else {
            return (lat, errors);
        };
        if conn.is_none() {
            conn = TcpStream::connect(addr).await.ok().map(BufReader::new);
        }
        let ok = match conn.as_mut() {
            Some(c) => request(c, target, &tokens[i as usize % tokens.len()])
                .await
                .is_ok(),
            None => false,
        };
        if ok {
            lat.push(due.elapsed().as_micros() as u64);
        } else {
            errors += 1;
            conn = None;
        }
    }
}

async fn request(c: &mut BufReader<TcpStream>, target: Target, token: &str) -> std::io::Result<()> {
    let req = match target {
        Target::Health => "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n".to_string(),
        Target::Home => {
            format!("GET /me HTTP/1.1\r\nHost: bench\r\nCookie: mb_session={token}\r\n\r\n")
        }
    };
    c.get_mut().write_all(req.as_bytes()).await?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let (mut status, mut length, mut head) = (0u16, None::<usize>, 0usize);
    let mut line = String::new();
    loop {
        line.clear();
        head += c.read_line(&mut line).await?;
        if line.is_empty() || head > HEAD_BYTES_MAX {
            return Err(bad("response head"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if status == 0 {
            status = l
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| bad("status line"))?;
        } else if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok();
            }
        }
    }
    let length = length
        .filter(|l| *l <= BODY_BYTES_MAX)
        .ok_or_else(|| bad("content-length"))?;
    let mut body = vec![0u8; length];
    c.read_exact(&mut body).await?;
    // A home page that is not the resident's own record does not count as served.
    let served = status == 200
        && (matches!(target, Target::Health) || body.windows(9).any(|w| w == b"id=\"my-na"));
    if served {
        Ok(())
    } else {
        Err(bad("unexpected answer"))
    }
}

pub(crate) fn pct(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

pub(crate) fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The 1, 5 and 15 minute load averages (Linux), to tell whether the machine was busy.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A field of /proc/self/status in MiB (Linux); 0 elsewhere.
pub(crate) fn rss_mib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}
