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
        .accounts()
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
    let result = store
        .accounts()
        .set_staff_password(&username, &password)
        .await;
    store.close().await;
    result?;
    println!(
        "password of '{}' reset; its sessions are signed out",
        username.as_str()
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct MemberLink {
    /// The committee member's staff account (an evaluator or a town reviewer).
    #[arg(long)]
    pub username: String,
    /// The phone of their resident record, read from stdin (`--phone-stdin`) so that it stays
    /// out of the shell's history and the process list.
    #[arg(long, conflicts_with = "unlink")]
    pub phone_stdin: bool,
    /// Mark the member as their village committee's chair (takes the mark from any other).
    #[arg(long, conflicts_with = "unlink")]
    pub chair: bool,
    /// Remove the link (and the chair's mark): the member can no longer vote.
    #[arg(long)]
    pub unlink: bool,
}

/// Link a committee member's staff account to their resident record (so that recusal knows
/// their household), or unlink it: the same rules as the admin's console form.
pub async fn link_member(config: Config, a: MemberLink) -> Result<()> {
    if a.phone_stdin == a.unlink {
        return Err(CliError::Usage(
            "give the member's phone with --phone-stdin, or --unlink".into(),
        ));
    }
    let phone = if a.phone_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(CliError::io("reading the phone from stdin"))?;
        Some(
            domain::Phone::parse(line.trim())
                .map_err(|e| CliError::Usage(format!("phone: {e}")))?,
        )
    } else {
        None
    };
    let store = server::open(&config, keys::load_vault(&config)?, false).await?;
    let result = async {
        let staff = store
            .accounts()
            .staff_by_username(&a.username)
            .await?
            .ok_or_else(|| CliError::Usage(format!("no staff account '{}'", a.username)))?;
        let citizen =
            match &phone {
                Some(p) => Some(store.registry().citizen_id_by_phone(p).await?.ok_or_else(
                    || CliError::Usage("no enrolled resident has this phone".into()),
                )?),
                None => None,
            };
        let link = store
            .evaluation()
            .link_staff_citizen(&staff.id, citizen.as_deref(), a.chair)
            .await?;
        Ok::<_, CliError>(link)
    }
    .await;
    store.close().await;
    let link = result?;
    match link.citizen_id {
        Some(_) => println!(
            "'{}' is linked to their resident record{}",
            a.username,
            if link.is_chair {
                " and is the chair"
            } else {
                ""
            }
        ),
        None => println!("'{}' is unlinked and cannot vote", a.username),
    }
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
