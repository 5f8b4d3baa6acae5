//! `moralbank`: the one binary of Moral Bank — serve the app, run the demo city, migrate the
//! database, manage staff from the shell, print the configuration, make keys, benchmark.
//!
//! This crate only wires the layers together (configuration → store → web). It holds no
//! business rules and no SQL. Output meant for people goes to stdout; logs go to stderr.

/// jemalloc for every allocation of the Rust code (SQLite's own stay with the C library's
/// `malloc`). With glibc's, a fifth of a large import's samples were in `malloc` and `free`:
/// sqlx copies each bound value on the task and SQLite's thread frees it, and glibc's arenas
/// take locks and consolidate their free lists for that. jemalloc made the import 20 % faster at
/// the same peak memory (docs/BENCHMARKS.md, "2026-12-07, later").
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod adapter;
mod admin;
mod bench;
mod code_keys;
mod config;
mod demo;
mod error;
mod keys;
mod log_keys;
mod real_name;
mod server;
mod sms;
mod verify;
mod witness_config;
mod witnessing;

use clap::{Parser, Subcommand};
use config::{Config, Overrides};
use error::{CliError, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "moralbank",
    version,
    about = "Moral Bank (道德银行): moral points, evaluation and the moral code for a city"
)]
struct Cli {
    /// Configuration file (TOML); see `moralbank config default`.
    #[arg(long, global = true, env = "MORALBANK_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://… (overrides database_url).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (overrides listen).
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Folder for the key file and the demo database (overrides data_dir).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app and the API (migrates the database first). Refuses to start when an
    /// append-only guard of the database is missing, disabled or changed.
    Serve {
        /// Do not migrate: only check that the schema is at this binary's version (run
        /// `moralbank migrate` as the database's owner first). For a PostgreSQL role that may
        /// read and write rows but not change the schema (docs/operations.md).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Bring the database schema up to date.
    Migrate {
        /// Create the SQLite file when it does not exist.
        #[arg(long)]
        create: bool,
    },
    /// Create, seed and serve a demo city on SQLite in the data folder.
    Demo {
        /// Citizens to seed on the first run.
        #[arg(long, default_value_t = 20_000)]
        citizens: u64,
        /// Delete the demo database and logins first (the keys are kept).
        #[arg(long)]
        fresh: bool,
    },
    /// Staff accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Check a ledger receipt offline under the log's trust policy: its key, and the quorum of
    /// witnesses whose cosignatures the receipt must carry (no database or network needed).
    Verify {
        /// The receipt (JSON), as downloaded from the entries page.
        receipt: PathBuf,
        /// The trust policy file (from /log/policy): log key, witness keys, quorum.
        #[arg(long, value_name = "FILE", conflicts_with = "vkey")]
        policy: Option<PathBuf>,
        /// Only the log's verifier key, or a file holding it (from /log/vkey): no witnesses.
        #[arg(long, value_name = "VKEY")]
        vkey: Option<String>,
    },
    /// Run a witness (C2SP tlog-witness) for the given logs: it cosigns each checkpoint that
    /// extends the last one it saw, refuses a fork and keeps it as evidence. Serves on --listen
    /// (default 127.0.0.1:7380); its key and records live in --dir.
    Witness {
        /// The witness's folder: witness-key.toml (`moralbank keys witness-generate`), its
        /// records and evidence.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// A log's verifier key, or a file holding it (from the log's /log/vkey); repeatable.
        #[arg(long = "log-vkey", value_name = "VKEY", required = true)]
        log_vkeys: Vec<String>,
    },
    /// Follow a log over HTTP (its checkpoints, tiles and proofs) and report every
    /// inconsistency, gap or signature failure, one line each; exits 1 if there is any.
    Monitor {
        /// The log's address, e.g. https://yuyao.moralbank.example/log.
        #[arg(long)]
        url: String,
        /// The trust policy file (from /log/policy).
        #[arg(long, value_name = "FILE", conflicts_with = "vkey")]
        policy: Option<PathBuf>,
        /// Only the log's verifier key (or a file holding it): no witnesses checked.
        #[arg(long, value_name = "VKEY")]
        vkey: Option<String>,
        /// Where to keep what was verified between runs (created on the first).
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Keep following, checking every this many seconds.
        #[arg(long, value_name = "SECONDS")]
        follow: Option<u64>,
    },
    /// The moral code.
    #[command(subcommand)]
    Code(CodeCommand),
    /// Recompute the whole transparency log and every balance from the stored rows; exits
    /// non-zero naming the first entry, checkpoint or account that does not match.
    Audit,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account. The password comes from stdin (--password-stdin) or MORALBANK_NEW_PASSWORD.
    CreateStaff(admin::NewAccount),
    /// Link a committee member's staff account to their resident record (phone on stdin), so
    /// that they may vote and are recused from their household's deeds; or --unlink it.
    LinkMember(admin::MemberLink),
    /// Set a new password for a staff account and sign out its sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the default configuration as commented TOML.
    Default,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Write a new key file (mode 0600); refuses to overwrite one.
    Generate {
        /// Where to write it [default: DATA_DIR/keys.toml].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write the transparency log's signing key (DATA_DIR/log-keys.toml, mode 0600); refuses
    /// to overwrite one.
    LogGenerate {
        /// The log's name in its checkpoints, e.g. yuyao.moralbank.example/log.
        #[arg(long, default_value = log_keys::DEFAULT_ORIGIN)]
        origin: String,
    },
    /// Replace the log's signing key; the old verifier key stays listed (retired) so older
    /// checkpoints still verify. Restart the server afterwards.
    LogRotate,
    /// Print the log's verifier key (public; the same as GET /log/vkey).
    LogVkey,
    /// Write a witness's key (DIR/witness-key.toml, mode 0600); refuses to overwrite one.
    /// Prints its verifier key, which the log's operator lists in [witnessing].
    WitnessGenerate {
        /// The witness's name in its cosignatures, e.g. witness.bank.yuyao.example.
        #[arg(long)]
        name: String,
        /// The witness's folder.
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// Write the moral code's issuer key (DATA_DIR/code-keys.toml, mode 0600); refuses to
    /// overwrite one.
    CodeGenerate,
    /// Replace the moral code's issuer key; the old public key stays published so codes it
    /// signed keep verifying. Restart the server afterwards.
    CodeRotate,
    /// Write the moral credit report's signing key (DATA_DIR/credit-keys.toml, mode 0600);
    /// refuses to overwrite one. Its public keys are served at /.well-known/moral-credit/keys.
    CreditGenerate,
    /// Replace the credit report's signing key; the old public key stays published while
    /// reports it signed may still be valid (30 days). Restart the server afterwards.
    CreditRotate,
}

#[derive(Subcommand)]
enum CodeCommand {
    /// Check a moral code offline against a key set (the JSON from
    /// /.well-known/moral-code/keys); says exactly what failed.
    Verify {
        /// The code, as scanned (MB1:…).
        code: String,
        /// The key set file (JWKS).
        #[arg(long, value_name = "KEYS.json")]
        keys: PathBuf,
        /// Clock difference tolerated, in seconds.
        #[arg(long, default_value_t = moralbank_code::DEFAULT_CLOCK_SKEW_S)]
        skew_s: i64,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Validate and commit one XLSX of partner deeds (one per resident) through the import
    /// pipeline, against merely reading the file with calamine; one JSON line. Writes a city:
    /// name a new database with --database-url.
    Import {
        /// Rows in the file (and residents seeded when the database has none).
        #[arg(long, default_value_t = 450_000)]
        rows: u64,
        /// (Internal: the benchmark measures each phase in a process of its own.)
        #[arg(long, hide = true, requires = "file")]
        measure: Option<String>,
        /// (Internal: the workbook a measured phase reads.)
        #[arg(long, hide = true)]
        file: Option<PathBuf>,
    },
    /// The statistics dashboard at city scale, through the whole web stack, against /healthz
    /// and against counting two of its figures by scanning; one JSON line. Writes a city: name
    /// a new (or a previously benched) database with --database-url.
    Dashboard {
        /// Residents to seed when the database has none.
        #[arg(long, default_value_t = 20_000)]
        citizens: u64,
        /// Deeds of history to write when the database has none.
        #[arg(long, default_value_t = 100_000)]
        deeds: u64,
        /// Ledger entries to fill an empty log with.
        #[arg(long, default_value_t = 0)]
        entries: u64,
        /// Length of each measured phase.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Moral credit reports: issued per second with three years of history on a seeded city
    /// (p50/p99), verified per second against raw Ed25519, and a monthly loan book imported;
    /// one JSON line. Writes a city: name a new (or a previously benched) database with
    /// --database-url.
    Credit(bench::credit::CreditOptions),
    /// Volunteer dispatch: the matcher on a batch of requests against a synthetic city of
    /// volunteers with busy windows (p50/p99), and a simulated quarter's fairness (Gini) and
    /// distance against a greedy nearest-available baseline in the same run; one JSON line.
    /// Needs no database.
    Dispatch(bench::dispatch::DispatchOptions),
    /// The technology supermarket's matching: the index built over the expert pool (29,770),
    /// the top 10 experts and achievements for each of 84 demands (p50/p99) against the
    /// substring baseline in the same run, and precision at 5 on the labelled set; one JSON
    /// line. Needs no database.
    Match(bench::market::MatchOptions),
    /// Witnessing: one witness's cosignatures per second at tree sizes 1 M and 20 M (with its
    /// durable write, against the write alone and the checks alone), and the ledger's append
    /// rate with three witnesses and their collectors against none, alternating; one JSON
    /// line. Writes to the database: name a scratch one with --database-url.
    Witness(bench::witness::WitnessOptions),
    /// Volunteer dispatch through the store: a batch proposed (tasks, candidates with their
    /// hours and busy windows, the matcher, alternates) and its offers sent, against the
    /// matcher alone on the same input; one JSON line. Writes a city: name a new database with
    /// --database-url.
    DispatchStore(bench::dispatch_store::DispatchStoreOptions),
    /// Each page type's weight and time to first render in headless Chromium on a throttled
    /// mobile profile, against a running demo (`moralbank demo`) and its /healthz; one JSON line.
    Pages {
        /// The running demo.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Loads of each page (from a cleared cache); the medians are reported.
        #[arg(long, default_value_t = 5)]
        runs: u32,
    },
    /// Seed a city into an empty database and print the timing as one JSON line.
    Seed {
        #[arg(long, default_value_t = 20_000)]
        citizens: u64,
    },
    /// Load the resident home page at a steady rate, with /healthz at the same rate as the
    /// baseline, on an already seeded database; prints one JSON line.
    Home {
        /// Requests per second offered.
        #[arg(long, default_value_t = 200)]
        rate: u32,
        /// Length of each measured phase.
        #[arg(long, default_value_t = 30)]
        seconds: u32,
        /// Signed-in residents the requests cycle through, spread over the city.
        #[arg(long, default_value_t = 1000)]
        residents: u32,
        /// Keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: u32,
    },
    /// Append to the ledger through the real sequencer from many clients, then insert the same
    /// rows plainly as the baseline, then build proofs; prints one JSON line. Writes to the
    /// database: name a scratch one with --database-url (citizens are seeded if it has none).
    Ledger {
        /// Appends in the throughput phase.
        #[arg(long, default_value_t = 100_000)]
        entries: u64,
        /// Concurrent closed-loop clients in the throughput phase.
        #[arg(long, default_value_t = 64)]
        clients: u32,
        /// Appends per second offered in the open-loop latency phase.
        #[arg(long, default_value_t = 5_000)]
        rate: u32,
        /// Length of the latency phase.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        /// Most entries per transaction [default: the sequencer's].
        #[arg(long)]
        max_batch: Option<usize>,
        /// Longest a batch waits for more entries, in milliseconds [default: the sequencer's].
        #[arg(long)]
        max_wait_ms: Option<u64>,
        /// Proofs of each kind, single-task and again with two tasks.
        #[arg(long, default_value_t = 20_000)]
        proofs: u32,
        /// Entries the baseline inserts [default: all of the throughput phase's].
        #[arg(long)]
        baseline_entries: Option<u64>,
        /// Fill a new ledger with this many entries in bulk first (without the sequencer), and
        /// give the baseline's plain tables as many rows, to measure both at that size.
        #[arg(long, default_value_t = 0)]
        prefill: u64,
    },
    /// The moral code on one core: codes issued/s, codes verified/s through the whole pipeline,
    /// and raw Ed25519 verifications/s with the same library as the baseline; one JSON line.
    Code {
        /// Codes per round for each measurement.
        #[arg(long, default_value_t = 50_000)]
        codes: u32,
        /// Rounds (the figures are the medians); pipeline and baseline alternate.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
    },
    /// The redemption endpoint under load from wrk (a separate process; Debian package `wrk`),
    /// after /healthz with the same connections as the baseline; one JSON line. Writes to the
    /// database: name a scratch one with --database-url (residents are seeded if it has none).
    Redemptions {
        /// Residents to seed when the database has none (codes are made for up to 20,000).
        #[arg(long, default_value_t = 20_000)]
        residents: u64,
        /// Length of each phase.
        #[arg(long, default_value_t = 20)]
        seconds: u32,
        /// Keep-alive connections wrk holds open.
        #[arg(long, default_value_t = 32)]
        connections: u32,
        /// wrk's threads.
        #[arg(long, default_value_t = 1)]
        threads: u32,
    },
    /// Proofs at log sizes too large to append through the sequencer in reasonable time: fills
    /// an empty log's stored hashes with --leaves SYNTHETIC leaves in bulk (no entries), then
    /// measures proofs as `bench ledger` does; prints one JSON line. The database is good only
    /// for this benchmark afterwards: name a scratch one with --database-url.
    Proofs {
        /// Synthetic leaves in the log.
        #[arg(long, default_value_t = 1_000_000)]
        leaves: u64,
        /// Proofs of each kind, single-task and again with two tasks.
        #[arg(long, default_value_t = 20_000)]
        proofs: u32,
    },
    /// Issue 4's speed goals at city scale: seeds the city, committees and a year of deeds when
    /// missing, times the committee queue, the publicity board and a resident's deed list
    /// against a primary-key lookup, then credits --credit deeds whose publicity ends at the
    /// same moment through the ledger; prints one JSON line.
    Evaluation {
        /// Citizens of the city, when it has to be seeded.
        #[arg(long, default_value_t = 1_260_000)]
        citizens: u64,
        /// Deeds of history over the past year, when the database has none yet.
        #[arg(long, default_value_t = 2_000_000)]
        deeds: u64,
        /// Deeds put on publicity ending at one moment, then credited (0: skip).
        #[arg(long, default_value_t = 100_000)]
        credit: u64,
        /// Length of each measured phase.
        #[arg(long, default_value_t = 20)]
        seconds: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moralbank: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Command::Config(ConfigCommand::Default) = cli.command {
        print!("{}", config::default_toml());
        return Ok(());
    }
    if let Command::Verify {
        receipt,
        policy,
        vkey,
    } = &cli.command
    {
        let policy = witnessing::policy_arg(policy.as_deref(), vkey.as_deref())?;
        return verify::verify(receipt, &policy);
    }
    if let Command::Keys(KeysCommand::WitnessGenerate { name, dir }) = &cli.command {
        let vkey = witnessing::generate_key(dir, name)?;
        println!(
            "wrote the witness key to {} (mode 0600); keep it secret and backed up",
            dir.join(witnessing::WITNESS_KEY_FILE_NAME).display()
        );
        println!("verifier key (public): {vkey}");
        return Ok(());
    }
    if let Command::Code(CodeCommand::Verify { code, keys, skew_s }) = &cli.command {
        return code_keys::verify(code, keys, *skew_s);
    }
    let flags = Overrides {
        database_url: cli.database_url.clone(),
        listen: cli.listen,
        data_dir: cli.data_dir.clone(),
    };
    // Variables that are not valid Unicode cannot be configuration; skip them instead of panicking.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let config = Config::load(cli.config.as_deref(), env, &flags)?;
    init_logging(&config.log)?;

    match cli.command {
        Command::Config(ConfigCommand::Default) => Ok(()),
        Command::Keys(KeysCommand::Generate { out }) => {
            let path = out.unwrap_or_else(|| keys::key_file_path(&config));
            keys::write_private_file(&path, &keys::generate_key_file(), false)?;
            println!("wrote new keys to {} (mode 0600); keep it secret and backed up", path.display());
            Ok(())
        }
        Command::Keys(KeysCommand::LogGenerate { origin }) => {
            let path = log_keys::path(&config);
            let file = log_keys::write_new(&path, &origin)?;
            println!("wrote the log signing key to {} (mode 0600); keep it secret and backed up", path.display());
            println!("verifier key (public): {}", file.vkey);
            Ok(())
        }
        Command::Keys(KeysCommand::LogRotate) => {
            let path = log_keys::path(&config);
            let file = log_keys::rotate(&path)?;
            println!("rotated the log signing key in {}; restart the server to use it", path.display());
            println!("new verifier key (public): {}", file.vkey);
            Ok(())
        }
        Command::Keys(KeysCommand::CodeGenerate) => {
            let path = code_keys::path(&config);
            let keys = code_keys::write_new(&path)?;
            println!("wrote the moral-code issuer key to {} (mode 0600); keep it secret and backed up", path.display());
            println!("key id (public): {}", keys.signer.kid());
            Ok(())
        }
        Command::Keys(KeysCommand::CodeRotate) => {
            let path = code_keys::path(&config);
            let keys = code_keys::rotate(&path, moralbank_store::now_ms() / 1000, config.code.longest_code_s())?;
            println!("rotated the moral-code issuer key in {}; restart the server to use it", path.display());
            println!("new key id (public): {}; {} key(s) published", keys.signer.kid(), keys.published.keys().len());
            Ok(())
        }
        Command::Keys(KeysCommand::CreditGenerate) => {
            let path = code_keys::credit_path(&config);
            let keys = code_keys::write_new(&path)?;
            println!("wrote the credit report signing key to {} (mode 0600); keep it secret and backed up", path.display());
            println!("key id (public): {}", keys.signer.kid());
            Ok(())
        }
        Command::Keys(KeysCommand::CreditRotate) => {
            let path = code_keys::credit_path(&config);
            let keys = code_keys::rotate(&path, moralbank_store::now_ms() / 1000, code_keys::CREDIT_LONGEST_S)?;
            println!("rotated the credit report signing key in {}; restart the server to use it", path.display());
            println!("new key id (public): {}; {} key(s) published", keys.signer.kid(), keys.published.keys().len());
            Ok(())
        }
        Command::Keys(KeysCommand::WitnessGenerate { .. }) => Ok(()),
        Command::Keys(KeysCommand::LogVkey) => {
            println!("{}", log_keys::read(&log_keys::path(&config))?.vkey);
            Ok(())
        }
        Command::Demo { .. } if cli.database_url.is_some() => Err(CliError::Usage(
            "demo always uses DATA_DIR/demo.db; choose the folder with --data-dir instead of --database-url".into(),
        )),
        command => runtime()?.block_on(run_async(
            command,
            config,
            cli.database_url.is_some(),
            cli.listen,
        )),
    }
}

async fn run_async(
    command: Command,
    config: Config,
    url_given: bool,
    listen_flag: Option<SocketAddr>,
) -> Result<()> {
    match command {
        Command::Serve { no_migrate } => server::serve(config, !no_migrate).await,
        Command::Migrate { create } => server::migrate(config, create).await,
        Command::Demo { citizens, fresh } => {
            demo::run(config, demo::DemoOptions { citizens, fresh }).await
        }
        Command::Admin(AdminCommand::CreateStaff(account)) => {
            admin::create_staff(config, account).await
        }
        Command::Admin(AdminCommand::LinkMember(link)) => admin::link_member(config, link).await,
        Command::Admin(AdminCommand::ResetPassword {
            username,
            password_stdin,
        }) => admin::reset_password(config, &username, password_stdin).await,
        Command::Bench(b) => run_bench(b, config, url_given).await,
        Command::Audit => verify::audit(config).await,
        Command::Witness { dir, log_vkeys } => {
            let listen = listen_flag.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7380)));
            witnessing::witness_command(&dir, listen, &log_vkeys).await
        }
        Command::Monitor {
            url,
            policy,
            vkey,
            state,
            follow,
        } => {
            let policy = witnessing::policy_arg(policy.as_deref(), vkey.as_deref())?;
            witnessing::monitor_command(&url, policy, state, follow).await
        }
        Command::Config(_) | Command::Keys(_) | Command::Verify { .. } | Command::Code(_) => Ok(()),
    }
}

/// `moralbank bench …`: each prints one JSON line (docs/BENCHMARKS.md).
async fn run_bench(command: BenchCommand, config: Config, url_given: bool) -> Result<()> {
    match command {
        BenchCommand::Home {
            rate,
            seconds,
            residents,
            connections,
        } => {
            let store = server::open(&config, keys::load_vault(&config)?, false).await?;
            let options = bench::http::HomeOptions {
                rate,
                seconds,
                residents,
                connections,
            };
            bench::http::home(store, options).await
        }
        BenchCommand::Code { codes, rounds } => {
            bench::code::code(bench::code::CodeOptions { codes, rounds })
        }
        BenchCommand::Redemptions {
            residents,
            seconds,
            connections,
            threads,
        } => {
            let options = bench::code::RedemptionOptions {
                residents,
                seconds,
                connections,
                threads,
            };
            bench::code::redemptions(config, options, url_given).await
        }
        BenchCommand::Seed { citizens } => bench::seed::seed(config, citizens, url_given).await,
        BenchCommand::Ledger {
            entries,
            clients,
            rate,
            seconds,
            max_batch,
            max_wait_ms,
            proofs,
            baseline_entries,
            prefill,
        } => {
            let options = bench::ledger::LedgerOptions {
                entries,
                clients,
                rate,
                seconds,
                max_batch,
                max_wait_ms,
                proofs,
                baseline_entries,
                prefill,
            };
            bench::ledger::ledger(config, options, url_given).await
        }
        BenchCommand::Proofs { leaves, proofs } => {
            let options = bench::proofs::ProofsOptions { leaves, proofs };
            bench::proofs::proofs_bench(config, options, url_given).await
        }
        BenchCommand::Evaluation {
            citizens,
            deeds,
            credit,
            seconds,
        } => {
            let options = bench::evaluation::EvaluationOptions {
                citizens,
                deeds,
                credit,
                seconds,
            };
            bench::evaluation::evaluation(config, options, url_given).await
        }
        other => run_bench_more(other, config, url_given).await,
    }
}

/// `moralbank bench …`, the later capabilities' benchmarks.
async fn run_bench_more(command: BenchCommand, config: Config, url_given: bool) -> Result<()> {
    match command {
        BenchCommand::Import {
            rows,
            measure,
            file,
        } => {
            let options = bench::import::ImportOptions {
                rows,
                measure,
                file,
            };
            bench::import::import(config, options, url_given).await
        }
        BenchCommand::Credit(o) => bench::credit::credit(config, o, url_given).await,
        BenchCommand::Dispatch(o) => bench::dispatch::dispatch(o),
        BenchCommand::Match(o) => bench::market::matching(o),
        BenchCommand::Witness(o) => bench::witness::witness(config, o, url_given).await,
        BenchCommand::DispatchStore(o) => {
            bench::dispatch_store::dispatch_store(config, o, url_given).await
        }
        BenchCommand::Pages { url, runs } => {
            bench::pages::pages(bench::pages::PagesOptions { url, runs }).await
        }
        BenchCommand::Dashboard {
            citizens,
            deeds,
            entries,
            seconds,
        } => {
            let options = bench::dashboard::DashboardOptions {
                citizens,
                deeds,
                entries,
                seconds,
            };
            bench::dashboard::dashboard(config, options, url_given).await
        }
        _ => Err(CliError::Usage("this benchmark is run by run_bench".into())),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::io("starting the async runtime"))
}

fn init_logging(filter: &str) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| CliError::Config(format!("log: '{filter}' is not a valid filter: {e}")))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|e| CliError::Config(format!("log: {e}")))
}
