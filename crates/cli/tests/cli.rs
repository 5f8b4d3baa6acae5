//! The `moralbank` binary as an operator meets it: exit codes, messages, files it writes, and
//! the demo city from first start to a clean stop on SIGTERM. Every test works in its own
//! temporary folder and clears `MORALBANK_…` variables, so tests run in parallel.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_moralbank");
const WAIT_MAX: Duration = Duration::from_secs(120);

fn moralbank(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MORALBANK_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("MORALBANK_LOG", "warn");
    cmd
}

fn run(dir: &Path, args: &[&str]) -> Output {
    moralbank(dir).args(args).output().expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn sqlite_url(dir: &Path, file: &str) -> String {
    format!("sqlite://{}", dir.join(file).display())
}

#[test]
fn migrate_refuses_to_create_a_missing_sqlite_file_without_create() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "missing.db");
    let out = run(dir.path(), &["migrate", "--database-url", &url]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("does not exist") && err.contains("migrate --create"),
        "{err}"
    );
    assert!(
        !dir.path().join("missing.db").exists(),
        "no database may be created silently"
    );
}

#[test]
fn an_unknown_database_scheme_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        dir.path(),
        &[
            "migrate",
            "--create",
            "--database-url",
            "mysql://root@localhost/mb",
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("unknown scheme 'mysql'") && err.contains("sqlite://"),
        "{err}"
    );
}

#[test]
fn migrate_create_makes_the_database_and_a_second_run_has_nothing_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "sub/dir/mb.db");
    let out = run(dir.path(), &["migrate", "--create", "--database-url", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("applied"), "{}", stdout(&out));
    let out = run(dir.path(), &["migrate", "--database-url", &url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("up to date"), "{}", stdout(&out));
}

#[test]
fn serve_refuses_to_start_without_encryption_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = sqlite_url(dir.path(), "mb.db");
    assert!(
        run(dir.path(), &["migrate", "--create", "--database-url", &url])
            .status
            .success()
    );
    let out = run(
        dir.path(),
        &["serve", "--database-url", &url, "--listen", "127.0.0.1:0"],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("no encryption keys configured") && err.contains("keys generate"),
        "{err}"
    );
}

#[test]
fn the_printed_default_configuration_is_a_valid_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["config", "default"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("database_url = \"sqlite://data/moralbank.db\""),
        "{text}"
    );
    let file = dir.path().join("moralbank.toml");
    std::fs::write(&file, text).expect("write config");
    let url = sqlite_url(dir.path(), "mb.db");
    let file = file.to_string_lossy().into_owned();
    let out = run(
        dir.path(),
        &[
            "--config",
            &file,
            "migrate",
            "--create",
            "--database-url",
            &url,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn an_unknown_key_in_the_config_file_or_environment_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:8080\"\n[web]\ndemo_mod = true\n",
    )
    .expect("write");
    let out = run(
        dir.path(),
        &["--config", &file.to_string_lossy(), "migrate"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("demo_mod") && stderr(&out).contains("line 3"),
        "{}",
        stderr(&out)
    );

    let out = moralbank(dir.path())
        .env("MORALBANK_DATABASE", "x")
        .arg("migrate")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("MORALBANK_DATABASE"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn keys_generate_writes_a_private_file_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(dir.path(), &["keys", "generate", "--out", "k/keys.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let path = dir.path().join("k/keys.toml");
    let text = std::fs::read_to_string(&path).expect("key file");
    assert!(
        text.contains("[crypto]") && text.contains("[crypto.keys]"),
        "{text}"
    );
    let hmac = text
        .lines()
        .find_map(|l| l.strip_prefix("hmac_key = \""))
        .expect("hmac_key line");
    assert!(
        !stdout(&out).contains(hmac.trim_end_matches('"')),
        "keys are never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = run(dir.path(), &["keys", "generate", "--out", "k/keys.toml"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&path).expect("key file"),
        text,
        "the old keys are kept"
    );
}

/// A running `moralbank` whose stdout lines arrive on a channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The address from "serving on http://ADDR", once the server is listening.
    fn wait_until_serving(&mut self) -> String {
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| {
                let _ = self.child.kill();
                panic!(
                    "the server did not start; output so far:\n{}",
                    self.seen.join("\n")
                )
            });
            self.seen.push(line.clone());
            if let Some(rest) = line.split("serving on http://").nth(1) {
                return rest.split_whitespace().next().expect("address").to_string();
            }
        }
    }

    /// SIGTERM, then the exit status within the limit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success());
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[cfg(unix)]
#[test]
fn demo_seeds_a_city_prints_logins_serves_and_stops_cleanly_then_reuses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let demo = |dir: &Path| {
        let mut cmd = moralbank(dir);
        cmd.args([
            "demo",
            "--citizens",
            "300",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            &data_arg,
        ]);
        cmd
    };

    let mut first = Running::start(demo(dir.path()));
    let addr = first.wait_until_serving();
    let out = first.seen.join("\n");
    assert!(out.contains("Generated encryption keys"), "{out}");
    assert!(
        out.contains("300 citizens") && out.contains("rows/s"),
        "{out}"
    );
    for needle in [
        "admin",
        "auditor",
        "evaluator",
        "reviewer",
        "library",
        "Bearer mbk_",
        "phone 139",
    ] {
        assert!(out.contains(needle), "missing {needle} in:\n{out}");
    }
    assert!(http_get(&addr, "/healthz").starts_with("HTTP/1.1 200"));
    assert!(http_get(&addr, "/readyz").starts_with("HTTP/1.1 200"));
    assert!(first.terminate().success(), "a SIGTERM is a clean stop");

    let logins = std::fs::read_to_string(data.join("demo-logins.txt")).expect("logins file");
    assert!(
        logins.contains("admin") && logins.contains("Bearer mbk_"),
        "{logins}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["demo-logins.txt", "keys.toml"] {
            let mode = std::fs::metadata(data.join(file))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }

    let mut second = Running::start(demo(dir.path()));
    second.wait_until_serving();
    let out = second.seen.join("\n");
    assert!(
        out.contains("already seeded") && out.contains("demo-logins.txt"),
        "{out}"
    );
    assert!(
        !out.contains("Generated encryption keys") && !out.contains("Bearer"),
        "{out}"
    );
    assert!(second.terminate().success());

    // The shell's admin commands work on the same database with the same keys.
    let url = format!("sqlite://{}", data.join("demo.db").display());
    let admin = |args: &[&str], password: &str| {
        let mut child = moralbank(dir.path())
            .args(["--database-url", &url, "--data-dir", &data_arg])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write password");
        child.wait_with_output().expect("admin runs")
    };
    let create = [
        "admin",
        "create-staff",
        "--username",
        "second.admin",
        "--display-name",
        "第二管理员",
        "--role",
        "admin",
        "--password-stdin",
    ];
    let out = admin(&create, "short");
    assert!(
        !out.status.success() && stderr(&out).contains("password"),
        "{}",
        stderr(&out)
    );
    let out = admin(&create, "a long enough password");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = admin(&create, "a long enough password");
    assert!(
        !out.status.success() && stderr(&out).contains("username"),
        "{}",
        stderr(&out)
    );
    let reset = [
        "admin",
        "reset-password",
        "--username",
        "second.admin",
        "--password-stdin",
    ];
    let out = admin(&reset, "another long password");
    assert!(out.status.success(), "{}", stderr(&out));
    let reset = [
        "admin",
        "reset-password",
        "--username",
        "nobody",
        "--password-stdin",
    ];
    let out = admin(&reset, "another long password");
    assert!(
        !out.status.success() && stderr(&out).contains("not found"),
        "{}",
        stderr(&out)
    );
}
