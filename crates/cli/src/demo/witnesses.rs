//! The demo's witnesses: the bank, the hospital and the library each run a real witness (the
//! same server as `moralbank witness`) in this process on a loopback port, with its own key and
//! records under `DATA_DIR/witnesses/<who>/`; the log asks all three and needs 2 of 3.

use crate::config::Config;
use crate::error::{CliError, Result};
use crate::witnessing::{self, WitnessEntry, WITNESS_KEY_FILE_NAME};
use std::net::SocketAddr;

pub const WITNESSES_DIR: &str = "witnesses";

/// (folder, label on the /log page, the witness's key name).
const WITNESSES: [(&str, &str, &str); 3] = [
    ("bank", "余姚农村商业银行", "witness.bank.yuyao.example"),
    (
        "hospital",
        "余姚市人民医院",
        "witness.hospital.yuyao.example",
    ),
    ("library", "余姚市图书馆", "witness.library.yuyao.example"),
];

/// Start the three witnesses for the log of `log_vkey` and list them in `config.witnessing`.
pub async fn start(config: &mut Config, log_vkey: &str) -> Result<()> {
    let root = config.data_dir.join(WITNESSES_DIR);
    config.witnessing.witnesses.clear();
    for (folder, label, name) in WITNESSES {
        let dir = root.join(folder);
        if !dir.join(WITNESS_KEY_FILE_NAME).exists() {
            witnessing::generate_key(&dir, name)?;
        }
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(CliError::io("listening for a demo witness"))?;
        let addr = listener
            .local_addr()
            .map_err(CliError::io("reading a demo witness's address"))?;
        let witness = witnessing::open_witness(&dir, &[log_vkey.to_string()])?;
        config.witnessing.witnesses.push(WitnessEntry {
            label: label.to_string(),
            vkey: witness.vkey(),
            url: format!("http://{addr}"),
        });
        tokio::spawn(async move {
            if let Err(e) =
                moralbank_witness::server::serve(witness, listener, std::future::pending()).await
            {
                tracing::error!("a demo witness stopped: {e}");
            }
        });
    }
    config.witnessing.quorum = 2;
    config.witnessing.interval_ms = 1_000;
    println!(
        "Three witnesses (the bank, the hospital, the library) cosign the log's checkpoints; 2 of 3 are required (see /log)."
    );
    Ok(())
}
