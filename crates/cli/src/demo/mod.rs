//! `moralbank demo`: a seeded demo city on SQLite in the data folder, its logins, and the web
//! app in demo mode. Every step can be re-run: an existing database is reused, never re-seeded.

mod citydata;
mod credit;
mod dispatch;
mod history;
pub mod market;
pub mod market_pool;
mod witnesses;

use crate::config::Config;
use crate::error::{CliError, Result};
use crate::{keys, server};
use domain::{Password, Role, Username};
use moralbank_store::fixtures::city::{demo_identity, SeedReport};
use moralbank_store::{NewStaff, Region, Store};
use moralbank_web::WebConfig;
use rand::distributions::{Alphanumeric, DistString};
use std::fmt::Write as _;
use std::path::Path;

pub const DEMO_DB_FILE: &str = "demo.db";
pub const LOGINS_FILE: &str = "demo-logins.txt";
/// Fixed, so that two demo cities of the same size have the same names and households.
const SEED_RNG: u64 = 20_260_101;
const PASSWORD_CHARS: usize = 16;

/// Yuyao's real partner institutions, one per service scene plus the bank (the eight volunteer
/// alliances are `dispatch::ALLIANCES`).
const PARTNERS: [(&str, &str); 6] = [
    ("余姚市人民医院", "hospital"),
    ("余姚市图书馆", "library"),
    ("余姚公交", "transport"),
    ("四明山景区", "scenic"),
    ("阳明公共自行车", "rental"),
    ("余姚农村商业银行", "bank"),
];
const LIBRARY: &str = "余姚市图书馆";

pub struct DemoOptions {
    pub citizens: u64,
    pub fresh: bool,
}

pub async fn run(mut config: Config, opts: DemoOptions) -> Result<()> {
    let dir = config.data_dir.clone();
    std::fs::create_dir_all(&dir).map_err(CliError::io(format!("creating {}", dir.display())))?;
    let db = dir.join(DEMO_DB_FILE);
    let logins = dir.join(LOGINS_FILE);
    if opts.fresh {
        for file in [
            db.clone(),
            dir.join("demo.db-wal"),
            dir.join("demo.db-shm"),
            logins.clone(),
        ] {
            remove_if_present(&file)?;
        }
    }
    config.database_url = format!("sqlite://{}", db.display());
    let (vault, new_keys) = keys::load_or_create_vault(&config)?;
    if let Some(path) = new_keys {
        println!(
            "Generated encryption keys in {} (the demo database cannot be read without them).",
            path.display()
        );
    }
    let store = server::open(&config, vault, true).await?;
    let seeded = store.registry().city().await?.is_some();
    if !seeded {
        // A new demo database is a new log: witnesses that remember an older one would see a
        // fork and refuse it (rightly), so they start over with it.
        let witnesses = dir.join(witnesses::WITNESSES_DIR);
        if witnesses.exists() {
            std::fs::remove_dir_all(&witnesses)
                .map_err(CliError::io(format!("removing {}", witnesses.display())))?;
        }
    }
    let set_up = store.accounts().staff_by_username("admin").await?.is_some();
    if seeded && set_up {
        println!(
            "{} is already seeded; not seeding again (--fresh starts over).",
            db.display()
        );
        println!("The demo logins are in {}.", logins.display());
    } else {
        if !seeded {
            println!("Seeding a demo city with {} citizens…", opts.citizens);
            let report = store.fixtures().seed_city(opts.citizens, SEED_RNG).await?;
            println!("{}", seed_summary(&report));
        }
        let text = create_accounts(&store, &config).await?;
        keys::write_private_file(&logins, &text, true)?;
        println!("{text}");
        println!("(These logins are also in {}.)", logins.display());
    }
    store
        .evaluation()
        .ensure_default_standards("system:demo")
        .await?;
    trust_demo_partners(&store).await?;
    let log_keys = crate::log_keys::read_or_create(&crate::log_keys::path(&config))?;
    crate::code_keys::read_or_create(&crate::code_keys::path(&config))?;
    let credit_keys = crate::code_keys::read_or_create(&crate::code_keys::credit_path(&config))?;
    let ledger = server::start_ledger(&store, &config, &log_keys).await?;
    // The committee is linked (seed_deeds) before the history asks it to vote.
    history::seed_deeds(&store).await?;
    let mut added = history::seed(&store, &ledger, opts.citizens).await?;
    history::seed_green_card(&store).await?;
    history::seed_benefits(&store).await?;
    citydata::seed_imports(&store).await?;
    citydata::seed_honours(&store).await?;
    let signer = moralbank_store::credit::reports::ReportSigner {
        key: &credit_keys.signer,
        issuer: &config.code.issuer,
        thresholds: &config.code.tiers,
        writer: None,
    };
    credit::seed_credit(&store, &signer, opts.citizens).await?;
    dispatch::seed_dispatch(&store, opts.citizens).await?;
    market::seed_market(&store, &moralbank_store::evaluation::Rules::default()).await?;
    added += history::seed_redemptions(&store, &ledger).await?;
    if added > 0 {
        println!(
            "Appended {added} demo ledger entries; the public log is at http://{}/log.",
            config.listen
        );
    }
    witnesses::start(&mut config, &log_keys.vkey).await?;
    let web = WebConfig {
        demo_mode: true,
        cookie_secure: false,
        ..config.web.clone()
    };
    server::run(store, ledger, &config, web).await
}

/// The year after the one `now` falls in (China Standard Time).
pub(crate) fn year_after(now: i64) -> i32 {
    moralbank_store::day_of(now)[..4]
        .parse::<i32>()
        .unwrap_or(2026)
        + 1
}

/// The standards partners award name the partners they trust: the eight volunteer alliances for
/// volunteer hours, the hospital for blood donations (a new version of each, once).
async fn trust_demo_partners(store: &Store) -> Result<()> {
    let partners = store.accounts().list_partners().await?;
    let alliances: Vec<&str> = dispatch::ALLIANCES.iter().map(|(n, _)| *n).collect();
    for (code, trusted) in [
        ("volunteer-hour", alliances),
        ("blood-donation", vec!["余姚市人民医院"]),
    ] {
        let ids: Vec<String> = partners
            .iter()
            .filter(|p| trusted.contains(&p.name.as_str()))
            .map(|p| p.id.clone())
            .collect();
        let Some(s) = store.evaluation().standard_current(code).await? else {
            continue;
        };
        if s.trusted_partners.is_empty() && !ids.is_empty() {
            store
                .evaluation()
                .trust_partners(code, &ids, "system:demo")
                .await?;
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CliError::Io {
            context: format!("removing {}", path.display()),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Rows written by the seeder: the region tree, households, citizens and their consents.
pub fn seeded_rows(r: &SeedReport) -> u64 {
    1 + r.towns as u64 + r.villages as u64 + r.households + 2 * r.citizens
}

pub fn seed_summary(r: &SeedReport) -> String {
    let rows = seeded_rows(r);
    format!(
        "Seeded {} towns, {} villages, {} households and {} citizens ({rows} rows) in {:.1} s: {:.0} rows/s.",
        r.towns,
        r.villages,
        r.households,
        r.citizens,
        r.seconds,
        rows as f64 / r.seconds.max(1e-9)
    )
}

struct Account {
    username: &'static str,
    display_name: &'static str,
    role: Role,
    region_id: Option<String>,
    partner_id: Option<String>,
}

/// Partners, staff (fresh random passwords), and the library's API key; returns the logins
/// block. Safe to re-run after an interruption: existing partners are reused and existing
/// accounts get new passwords. `admin` is made last, so its presence means the set-up finished.
#[allow(clippy::too_many_lines)] // the demo city's accounts, one after the other, as the README lists them
async fn create_accounts(store: &Store, config: &Config) -> Result<String> {
    let (town, village) = first_town_and_village(store).await?;
    let existing = store.accounts().list_partners().await?;
    let mut library = None;
    let mut bank = None;
    let alliances = dispatch::ALLIANCES.map(|(name, _)| (name, "volunteer_alliance"));
    let mut alliance = None;
    for (name, kind) in PARTNERS.into_iter().chain(alliances) {
        let partner = match existing.iter().find(|p| p.name == name) {
            Some(p) => p.clone(),
            None => store.accounts().create_partner(name, kind).await?,
        };
        if name == LIBRARY {
            library = Some(partner);
        } else if name == credit::BANK {
            bank = Some(partner);
        } else if name == dispatch::ORGANISER_ALLIANCE {
            alliance = Some(partner);
        }
    }
    let alliance = alliance
        .ok_or_else(|| CliError::Config("the volunteer alliance was not created".into()))?;
    let library =
        library.ok_or_else(|| CliError::Config("the library partner was not created".into()))?;
    let bank = bank.ok_or_else(|| CliError::Config("the bank partner was not created".into()))?;
    let accounts = [
        Account {
            username: "auditor",
            display_name: "审计员",
            role: Role::Auditor,
            region_id: None,
            partner_id: None,
        },
        Account {
            username: "evaluator",
            display_name: "村道德评议员",
            role: Role::Evaluator,
            region_id: Some(village.id.clone()),
            partner_id: None,
        },
        Account {
            username: "evaluator2",
            display_name: "村道德评议员（二）",
            role: Role::Evaluator,
            region_id: Some(village.id.clone()),
            partner_id: None,
        },
        Account {
            username: "evaluator3",
            display_name: "村道德评议员（三）",
            role: Role::Evaluator,
            region_id: Some(village.id.clone()),
            partner_id: None,
        },
        Account {
            username: "reviewer",
            display_name: "镇复核员",
            role: Role::TownReviewer,
            region_id: Some(town.id.clone()),
            partner_id: None,
        },
        Account {
            username: "library",
            display_name: "图书馆操作员",
            role: Role::PartnerOperator,
            region_id: None,
            partner_id: Some(library.id.clone()),
        },
        Account {
            username: "bank",
            display_name: "农商银行信贷员",
            role: Role::PartnerOperator,
            region_id: None,
            partner_id: Some(bank.id.clone()),
        },
        Account {
            username: "alliance",
            display_name: "邻里守望联盟派单员",
            role: Role::PartnerOperator,
            region_id: None,
            partner_id: Some(alliance.id.clone()),
        },
        Account {
            username: "alliance2",
            display_name: "邻里守望联盟复核员",
            role: Role::PartnerOperator,
            region_id: None,
            partner_id: Some(alliance.id.clone()),
        },
        Account {
            username: "admin2",
            display_name: "文明办复核管理员",
            role: Role::Admin,
            region_id: None,
            partner_id: None,
        },
        Account {
            username: "admin",
            display_name: "文明办管理员",
            role: Role::Admin,
            region_id: None,
            partner_id: None,
        },
    ];
    let mut staff = Vec::new();
    // The technology supermarket's broker registers the demo enterprises; one of them has a
    // second operator with the demo login `enterprise`.
    let broker = Account {
        username: "broker",
        display_name: "科技超市科技红娘",
        role: Role::Broker,
        region_id: None,
        partner_id: None,
    };
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_CHARS);
    upsert_staff(store, &broker, &password).await?;
    staff.push((
        broker.role.as_str(),
        broker.username,
        password,
        "科技超市".to_string(),
    ));
    let broker_id = store
        .accounts()
        .staff_by_username("broker")
        .await?
        .ok_or_else(|| CliError::Config("the broker was not created".into()))?
        .id;
    let enterprise_id = market::seed_enterprises(store, &broker_id).await?;
    let enterprise = Account {
        username: "enterprise",
        display_name: "企业技术负责人",
        role: Role::PartnerOperator,
        region_id: None,
        partner_id: Some(enterprise_id.clone()),
    };
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_CHARS);
    upsert_staff(store, &enterprise, &password).await?;
    let ent_name = store
        .market()
        .enterprise(&enterprise_id)
        .await?
        .map(|e| e.name)
        .unwrap_or_default();
    staff.push((
        enterprise.role.as_str(),
        enterprise.username,
        password,
        ent_name,
    ));
    for a in accounts {
        let password = Alphanumeric.sample_string(&mut rand::thread_rng(), PASSWORD_CHARS);
        upsert_staff(store, &a, &password).await?;
        let scope = match a.role {
            Role::Evaluator => format!("{} ({})", village.name_zh, village.name_en),
            Role::TownReviewer => format!("{} ({})", town.name_zh, town.name_en),
            Role::PartnerOperator if a.partner_id.as_ref() == Some(&bank.id) => bank.name.clone(),
            Role::PartnerOperator if a.partner_id.as_ref() == Some(&alliance.id) => {
                alliance.name.clone()
            }
            Role::PartnerOperator => library.name.clone(),
            _ => "city-wide".to_string(),
        };
        staff.push((a.role.as_str(), a.username, password, scope));
    }
    // Created last, listed first.
    staff.rotate_right(1);
    // The library's key holds every scope but the banks' own.
    let scopes: Vec<String> = moralbank_store::API_SCOPES
        .iter()
        .filter(|s| !moralbank_store::BANK_SCOPES.contains(s))
        .map(|s| s.to_string())
        .collect();
    let bank_scopes: Vec<String> = ["partner:read", "credit:read", "loans:write"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (_bank_key, bank_secret) = store
        .accounts()
        .create_api_key(&bank.id, &bank_scopes, "demo")
        .await?;
    let (_key, secret) = store
        .accounts()
        .create_api_key(&library.id, &scopes, "demo")
        .await?;
    let (phone, _) = demo_identity(0);
    let mut text = logins_block(
        config,
        &staff,
        &library.name,
        &scopes,
        &secret,
        phone.as_str(),
        &village,
    );
    let base = format!("http://{}", config.listen);
    let _ = write!(
        text,
        "\nPartner API key of {} (scopes: {}), shown only here:\n  {bank_secret}\n  \
         curl -H 'Authorization: Bearer {bank_secret}' {base}/api/v1/credit/tables\n\
         Its operator (login bank) verifies the reports households present at {base}/console/credit.\n\
         Volunteer dispatch: the alliance's organisers (logins alliance, alliance2) review, dispatch and\n\
         approve hours at {base}/console/dispatch; the resident asks for help at {base}/help and\n\
         volunteers at {base}/volunteer.\n\
         Technology supermarket: the broker (login broker) runs {base}/console/market; the enterprise\n\
         (login enterprise) publishes demands and asks for introductions there; the resident is also an\n\
         expert at {base}/expert; the public shelf is {base}/market.\n",
        bank.name,
        bank_scopes.join(", "),
    );
    if let Some(waiting) = enrol_waiting_resident(store, &village.id).await? {
        let base = format!("http://{}", config.listen);
        let _ = write!(
            text,
            "\nA new resident waiting for the real-name step (no points or moral code until then):\n  \
             phone {}   sign in at {base}/login to see the notice\n  \
             the evaluator confirms them at {base}/console/citizens/{} with the ID card's\n  \
             name {} and number {}",
            waiting.phone, waiting.id, waiting.name, waiting.resident_id
        );
    }
    Ok(text)
}

/// A resident of the demo village who enrolled the way everyone does, through a code sent to
/// their phone, and whose identity the village office has not confirmed yet.
struct Waiting {
    id: String,
    phone: String,
    name: String,
    resident_id: String,
}

/// Enrol the waiting resident through the real path (a code issued and checked, then the
/// enrolment with that proof); `None` when they are enrolled already (a re-run).
async fn enrol_waiting_resident(store: &Store, village_id: &str) -> Result<Option<Waiting>> {
    use domain::OtpPurpose;
    // Far above any demo city's seeded range.
    let (phone, rid) = demo_identity(5_000_000);
    if store
        .registry()
        .citizen_id_by_phone(&phone)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let name = domain::PersonName::parse("吴晓梅").map_err(|e| CliError::Usage(e.to_string()))?;
    let issued = store
        .accounts()
        .issue_otp(&phone, OtpPurpose::Enrol)
        .await?;
    let proof = store
        .accounts()
        .verify_otp(&phone, &issued.code, OtpPurpose::Enrol)
        .await?;
    let new = moralbank_store::NewCitizen {
        name: name.clone(),
        resident_id: rid.clone(),
        phone: phone.clone(),
        village_id: village_id.to_string(),
        household: moralbank_store::HouseholdChoice::New,
        consent: domain::ConsentVersion::parse_current(
            domain::ENROLMENT_CONSENT_VERSION,
            domain::ENROLMENT_CONSENT_VERSION,
        )
        .map_err(|e| CliError::Usage(e.to_string()))?,
    };
    let enrolled = store.registry().enrol(&new, &proof).await?;
    Ok(Some(Waiting {
        id: enrolled.citizen_id,
        phone: phone.as_str().to_string(),
        name: name.as_str().to_string(),
        resident_id: rid.as_str().to_string(),
    }))
}

async fn upsert_staff(store: &Store, a: &Account, password: &str) -> Result<()> {
    let username = Username::parse(a.username).map_err(|e| CliError::Usage(e.to_string()))?;
    let password = Password::parse(password).map_err(|e| CliError::Usage(e.to_string()))?;
    if store
        .accounts()
        .staff_by_username(a.username)
        .await?
        .is_some()
    {
        store
            .accounts()
            .set_staff_password(&username, &password)
            .await?;
        return Ok(());
    }
    store
        .accounts()
        .create_staff(&NewStaff {
            username,
            display_name: a.display_name.to_string(),
            password,
            role: a.role,
            region_id: a.region_id.clone(),
            partner_id: a.partner_id.clone(),
        })
        .await?;
    Ok(())
}

/// The first town and its first village: where the seeder puts citizen 0.
async fn first_town_and_village(store: &Store) -> Result<(Region, Region)> {
    let missing = || {
        CliError::Config(
            "the demo database has no region tree; run `moralbank demo --fresh`".into(),
        )
    };
    let city = store.registry().city().await?.ok_or_else(missing)?;
    let town = store
        .registry()
        .region_children(&city.id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(missing)?;
    let village = store
        .registry()
        .region_children(&town.id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(missing)?;
    Ok((town, village))
}

fn logins_block(
    config: &Config,
    staff: &[(&str, &str, String, String)],
    partner: &str,
    scopes: &[String],
    api_key: &str,
    phone: &str,
    village: &Region,
) -> String {
    let base = format!("http://{}", config.listen);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "==================== Moral Bank demo logins ===================="
    );
    let _ = writeln!(
        s,
        "Web app: {base}/   (demo data only: every name, phone and ID number is made up)"
    );
    let _ = writeln!(s);
    let _ = writeln!(s, "Staff, password sign-in at {base}/staff/login");
    let _ = writeln!(
        s,
        "  {:<18} {:<10} {:<18} scope",
        "role", "username", "password"
    );
    for (role, username, password, scope) in staff {
        let _ = writeln!(s, "  {role:<18} {username:<10} {password:<18} {scope}");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "Resident, one-time code sign-in at {base}/login (the code is shown on the page in demo mode)");
    let _ = writeln!(
        s,
        "  phone {phone}   citizen 0, a household head in {} ({})",
        village.name_zh, village.name_en
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Partner API key of {partner} (scopes: {}), shown only here:",
        scopes.join(", ")
    );
    let _ = writeln!(s, "  {api_key}");
    let _ = writeln!(
        s,
        "  curl -H 'Authorization: Bearer {api_key}' {base}/api/v1/partner"
    );
    let _ = writeln!(s, "API documentation: {base}/api/docs");
    let _ = write!(
        s,
        "================================================================="
    );
    s
}
