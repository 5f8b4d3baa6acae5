//! `moralbank admin …`: staff accounts from the shell, for the first admin and for lock-outs.
//! Passwords come from stdin (`--password-stdin`) or `MORALBANK_NEW_PASSWORD`, never from an
//! argument, which other users could read in the process list.

use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use domain::{Password, Role, Username};
use moralbank_store::NewStaff;
use std::io::BufRead;

pub const PASSWORD_ENV: &str = "MORALBANK_NEW_PASSWORD";

#[derive(clap::Args)]
pub struct NewAccount {
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub display_name: String,
    /// admin, auditor, evaluator, town_reviewer or partner_operator.
    #[arg(long)]
    pub role: String,
    /// The village of an evaluator or the town of a town reviewer.
    #[arg(long)]
    pub region_id: Option<String>,
    /// The partner organisation of a partner operator.
    #[arg(long)]
    pub partner_id: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
}

pub async fn create_staff(config: Config, a: NewAccount) -> Result<()> {
    // Check every argument before touching the database.
    let username = Username::parse(&a.username).map_err(|e| CliError::Usage(e.to_string()))?;
    let role = Role::parse(&a.role).map_err(|e| CliError::Usage(e.to_string()))?;
    let password = read_password(a.password_stdin)?;
    let store = server::open(&config, keys::load_vault(&config)?, false).await?;
    let staff = store
        .create_staff(&NewStaff {
            username,
            display_name: a.display_name,
            password,
            role,
            region_id: a.region_id,
            partner_id: a.partner_id,
        })
        .await;
    store.close().await;
    let staff = staff?;
    println!(
        "created staff account '{}' ({}), id {}",
        staff.username,
        staff.role.as_str(),
        staff.id
    );
    Ok(())
}

pub async fn reset_password(config: Config, username: &str, password_stdin: bool) -> Result<()> {
    let username = Username::parse(username).map_err(|e| CliError::Usage(e.to_string()))?;
    let password = read_password(password_stdin)?;
    let store = server::open(&config, keys::load_vault(&config)?, false).await?;
    let result = store.set_staff_password(&username, &password).await;
    store.close().await;
    result?;
    println!(
        "password of '{}' reset; its sessions are signed out",
        username.as_str()
    );
    Ok(())
}

fn read_password(from_stdin: bool) -> Result<Password> {
    let raw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(CliError::io("reading the password from stdin"))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        std::env::var(PASSWORD_ENV).map_err(|_| {
            CliError::Usage(format!(
                "give the new password on stdin with --password-stdin, or in {PASSWORD_ENV}"
            ))
        })?
    };
    Password::parse(&raw).map_err(|e| CliError::Usage(e.to_string()))
}
