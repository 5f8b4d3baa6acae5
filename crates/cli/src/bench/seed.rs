//! `moralbank bench seed`: how fast the seeder fills an empty database, as one JSON line.

use crate::config::Config;
use crate::demo::seeded_rows;
use crate::error::{CliError, Result};
use crate::{keys, server};

const SEED_RNG: u64 = 1;

/// Seeds into the database named by `--database-url`, which must be given explicitly (never the
/// configured production database); a SQLite file is created when missing.
pub async fn seed(config: Config, citizens: u64, url_given: bool) -> Result<()> {
    if !url_given {
        return Err(CliError::Usage(
            "bench seed writes a whole city: name an empty (or new) database with --database-url"
                .into(),
        ));
    }
    // The configured keys, or the data folder's (made on first use), so that `bench home` can
    // read the residents back afterwards.
    let (vault, _) = keys::load_or_create_vault(&config)?;
    let store = server::open(&config, vault, true).await?;
    let report = store.fixtures().seed_city(citizens, SEED_RNG).await;
    store.close().await;
    let report = report?;
    let rows = seeded_rows(&report);
    let line = serde_json::json!({
        "citizens": report.citizens,
        "households": report.households,
        "rows": rows,
        "seconds": (report.seconds * 1000.0).round() / 1000.0,
        "rows_per_s": (rows as f64 / report.seconds.max(1e-9)).round(),
        "citizens_per_s": (report.citizens as f64 / report.seconds.max(1e-9)).round(),
        "backend": format!("{:?}", store.backend()).to_lowercase(),
    });
    println!("{line}");
    Ok(())
}
