//! `moralbank bench import`: validate and commit one large XLSX (issue 15: 450,000 rows under
//! 30 s and 300 MB), against the time and memory to merely read the same file with `calamine`
//! in the same run; one JSON line.
//!
//! On the database named by `--database-url`: seeds a city of `--rows` residents when it has
//! none, trusts a bench partner for blood donations, and writes (not timed) an XLSX of
//! `--rows` partner deeds, one per resident, their ID numbers as text as the template has
//! them, into the data folder. Then each phase runs in a process of its own (this program
//! again, `--measure`), so that its peak memory (`VmHWM`) is its own and not the seeder's:
//!
//! - the baseline: `calamine` opens the file and reads every cell of the first sheet;
//! - the import: `store.citydata().import_file` in commit mode, the same call the API and the
//!   clerk's page make: read, check every cell, resolve every resident, apply the evaluation's
//!   rules to every deed and write them all in one transaction. Its process opens the store
//!   first, as a server has (`rss_before_mib`).
//!
//! The partner-deeds kind takes 5,000 rows a file; the benchmark uses the same schema with the
//! limit raised to `--rows` (the limit is the city's policy, not what the pipeline can do).

use crate::bench::http::{loadavg, round1, rss_mib};
use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use calamine::Reader;
use moralbank_store::citydata::{ImportOwner, Mode, Upload};
use moralbank_store::evaluation::Rules;
use moralbank_store::{now_ms, Store};
use serde_json::{json, Value};
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

const CITY_RNG: u64 = 1;
/// The partner whose file it is.
const PARTNER: &str = "余姚市中心血站（测试）";

pub struct ImportOptions {
    pub rows: u64,
    /// `read` or `import`: measure that phase on `file` in this process.
    pub measure: Option<String>,
    pub file: Option<std::path::PathBuf>,
}

pub async fn import(config: Config, o: ImportOptions, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench import writes a city and its deeds: name an empty (or new) database with --database-url"
                .into(),
        ));
    }
    if o.rows == 0 {
        return Err(CliError::Usage("--rows must be positive".into()));
    }
    if let (Some(phase), Some(file)) = (&o.measure, &o.file) {
        let bytes = std::fs::read(file)
            .map_err(|e| CliError::Config(format!("reading {}: {e}", file.display())))?;
        let line = match phase.as_str() {
            "read" => measure_read(&bytes)?,
            "import" => {
                let (vault, _) = keys::load_or_create_vault(&config)?;
                let store = server::open(&config, vault, false).await?;
                let line = measure_import(&store, &o, &bytes).await;
                store.close().await;
                line?
            }
            other => {
                return Err(CliError::Usage(format!(
                    "--measure {other}: read or import"
                )))
            }
        };
        println!("{line}");
        return Ok(());
    }
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let line = run(&store, &config, &o).await;
    store.close().await;
    println!("{}", line?);
    Ok(())
}

/// Run this program again on `file` with `--measure phase`; its JSON line.
fn measure_in_child(phase: &str, file: &std::path::Path) -> Result<Value> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::Config(format!("this program's path: {e}")))?;
    let out = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .arg("--measure")
        .arg(phase)
        .arg("--file")
        .arg(file)
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| CliError::Config(format!("running the {phase} phase: {e}")))?;
    if !out.status.success() {
        return Err(CliError::Config(format!(
            "the {phase} phase failed ({})",
            out.status
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| CliError::Config(format!("the {phase} phase's line: {e}")))
}

/// The baseline: calamine opens the file and reads every cell of its first sheet.
fn measure_read(bytes: &[u8]) -> Result<Value> {
    let rss_before = rss_mib("VmRSS:");
    let t = Instant::now();
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| CliError::Config(format!("calamine: {e}")))?;
    let name = book.sheet_names().first().cloned().unwrap_or_default();
    let range = book
        .worksheet_range(&name)
        .map_err(|e| CliError::Config(format!("calamine: {e}")))?;
    let cells = range.used_cells().count();
    drop(range);
    drop(book);
    Ok(json!({
        "seconds": t.elapsed().as_secs_f64(),
        "cells": cells,
        "rss_before_mib": rss_before,
        "rss_peak_mib": rss_mib("VmHWM:"),
    }))
}

/// The import, as the API and the clerk's page make it, in commit mode.
async fn measure_import(store: &Store, o: &ImportOptions, bytes: &[u8]) -> Result<Value> {
    let partner = store
        .accounts()
        .list_partners()
        .await?
        .into_iter()
        .find(|p| p.name == PARTNER)
        .ok_or_else(|| CliError::Config("the bench partner is missing".into()))?
        .id;
    let mut schema = domain::citydata::kinds::PARTNER_DEEDS;
    schema.rows_max = o.rows as usize;
    schema.bytes_max = schema.bytes_max.max(bytes.len() + 1);
    // An upload names a schema for the life of the program (the kinds are constants).
    let schema: &'static domain::citydata::Schema = Box::leak(Box::new(schema));
    let rss_before = rss_mib("VmRSS:");
    let t = Instant::now();
    let i = store
        .citydata()
        .import_file(
            &Upload {
                schema,
                owner: ImportOwner::Partner(partner.clone()),
                by: partner.clone(),
                file_name: "bench.xlsx".into(),
                bytes,
            },
            Mode::Commit,
            &Rules::default(),
            now_ms(),
            &AtomicUsize::new(0),
        )
        .await?;
    let seconds = t.elapsed().as_secs_f64();
    // The import's WAL checkpoint, which runs after its commit beside the writer (SQLite).
    let checkpoint = store.wal_settled().await;
    let settled = t.elapsed().as_secs_f64();
    if i.status != "committed" || i.rows.new != o.rows as i64 {
        return Err(CliError::Config(format!(
            "the import did not commit every row: {} ({} new, {} unchanged, {} refused; first problem {:?})",
            i.status,
            i.rows.new,
            i.rows.unchanged,
            i.rows.refused,
            i.problems.first()
        )));
    }
    Ok(json!({
        "seconds": seconds,
        "checkpoint_after_ms": checkpoint.map(|c| c.ms),
        "settled_seconds": settled,
        "rss_before_mib": rss_before,
        "rss_peak_mib": rss_mib("VmHWM:"),
    }))
}

fn workbook(rows: u64, day: &str) -> Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    let text = rust_xlsxwriter::Format::new().set_num_format("@");
    let err = |e: rust_xlsxwriter::XlsxError| {
        CliError::Config(format!("writing the bench workbook: {e}"))
    };
    for (c, h) in [
        "记录编号",
        "身份证号",
        "积分标准",
        "事迹日期",
        "地点",
        "事迹描述",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, c as u16, *h).map_err(err)?;
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        let (_, rid) = moralbank_store::fixtures::city::demo_identity(i);
        sheet
            .write_string(r, 0, format!("XY-{i:07}"))
            .map_err(err)?;
        sheet
            .write_string_with_format(r, 1, rid.as_str(), &text)
            .map_err(err)?;
        sheet.write_string(r, 2, "blood-donation").map_err(err)?;
        sheet
            .write_string_with_format(r, 3, day, &text)
            .map_err(err)?;
        sheet.write_string(r, 4, "余姚市中心血站").map_err(err)?;
        sheet.write_string(r, 5, "无偿献血 300 毫升").map_err(err)?;
    }
    book.save_to_buffer().map_err(err)
}

#[allow(clippy::too_many_lines)] // a benchmark run reads top to bottom: set up, measure, report
async fn run(store: &Store, config: &Config, o: &ImportOptions) -> Result<Value> {
    let load_start = loadavg();
    let backend = format!("{:?}", store.backend()).to_lowercase();
    let mut setup = serde_json::Map::new();
    if store.registry().city().await?.is_none() {
        eprintln!("seeding a city of {} residents", o.rows);
        let r = store.fixtures().seed_city(o.rows, CITY_RNG).await?;
        setup.insert("city_seconds".into(), json!(round1(r.seconds)));
    }
    let (residents, _) = store.registry().count_citizens().await?;
    if (residents as u64) < o.rows {
        return Err(CliError::Usage(format!(
            "the database holds {residents} residents, fewer than --rows: name a new database"
        )));
    }
    store
        .evaluation()
        .ensure_default_standards("staff:bench")
        .await?;
    let partner = match store
        .accounts()
        .list_partners()
        .await?
        .into_iter()
        .find(|p| p.name == PARTNER)
    {
        Some(p) => p.id,
        None => {
            store
                .accounts()
                .create_partner(PARTNER, "hospital")
                .await?
                .id
        }
    };
    let mut blood = moralbank_store::evaluation::default_catalogue()
        .into_iter()
        .find(|s| s.code == "blood-donation")
        .ok_or_else(|| CliError::Config("no blood-donation standard".into()))?;
    blood.trusted_partners = vec![partner.clone()];
    store
        .evaluation()
        .save_standard(&blood, "staff:bench")
        .await?;

    eprintln!("writing an XLSX of {} rows", o.rows);
    let t = Instant::now();
    let day = moralbank_store::day_of(now_ms() - domain::time::DAY_MS);
    let bytes = workbook(o.rows, &day)?;
    setup.insert(
        "workbook_seconds".into(),
        json!(round1(t.elapsed().as_secs_f64())),
    );

    let file = config.data_dir.join("bench-import.xlsx");
    std::fs::write(&file, &bytes)
        .map_err(|e| CliError::Config(format!("writing {}: {e}", file.display())))?;

    eprintln!("reading it with calamine (the baseline), in a process of its own");
    let read = measure_in_child("read", &file)?;
    eprintln!(
        "importing it (validate every cell, commit in one transaction), in a process of its own"
    );
    let import = measure_in_child("import", &file)?;
    let _ = std::fs::remove_file(&file);
    let seconds = |v: &Value| v["seconds"].as_f64().unwrap_or(0.0);
    let (read_s, import_s) = (seconds(&read), seconds(&import));
    Ok(json!({
        "bench": "import",
        "backend": backend,
        "rows": o.rows,
        "bytes": bytes.len(),
        "cells": read["cells"],
        "setup": setup,
        "read_seconds": (read_s * 100.0).round() / 100.0,
        "read_rss_mib": { "before": read["rss_before_mib"], "peak": read["rss_peak_mib"] },
        "import_seconds": (import_s * 100.0).round() / 100.0,
        "import_rss_mib": { "before": import["rss_before_mib"], "peak": import["rss_peak_mib"] },
        // After the commit (SQLite): the WAL checkpoint beside the writer, not in the import.
        "checkpoint_after_ms": import["checkpoint_after_ms"],
        "import_rows_per_s": (o.rows as f64 / import_s.max(1e-9)).round(),
        "import_over_read": round1(import_s / read_s.max(1e-9)),
        "loadavg_start": load_start, "loadavg_end": loadavg(),
    }))
}
