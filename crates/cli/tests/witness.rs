#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]
//! `moralbank witness` as a partner runs it: its key from `moralbank keys witness-generate`, a
//! real process killed with SIGKILL in the middle of a stream of checkpoints and restarted, after
//! which it never cosigns an older or a conflicting checkpoint; and `moralbank verify --policy`
//! on a receipt its cosignature makes, refused with the missing witness named when the policy
//! asks for more.

#![cfg(unix)]

mod common;

use common::*;
use moralbank_ledger::witness::AddCheckpoint;
use moralbank_ledger::{LogKey, MemoryLog, Receipt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const NAME: &str = "witness.bank.test.example";
const LEAVES: u64 = 30_000;

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

fn leaf(i: u64) -> Vec<u8> {
    moralbank_ledger::fixtures::award_leaf("e", i)
}

struct Log {
    key: LogKey,
    tree: MemoryLog,
}

impl Log {
    fn at(&self, size: u64) -> String {
        self.key.sign(size, self.tree.root(size).unwrap()).unwrap()
    }
    fn body(&self, old: u64, size: u64) -> String {
        let proof = if old == 0 || old >= size {
            vec![]
        } else {
            self.tree.consistency(old, size).unwrap().to_vec()
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: self.at(size),
        }
        .to_body()
    }
}

fn start(dir: &Path, addr: &str, vkey_file: &Path) -> Running {
    let mut cmd = moralbank(dir);
    cmd.args([
        "witness",
        "--dir",
        "w",
        "--listen",
        addr,
        "--log-vkey",
        vkey_file.to_str().unwrap(),
    ]);
    let mut r = Running::start(cmd);
    r.wait_until_serving();
    r
}

fn post(addr: &str, body: &str) -> std::io::Result<(u16, String)> {
    http(addr, "POST", "/add-checkpoint", &[], body)
}

fn held(addr: &str) -> u64 {
    let page = http_get(addr, "/");
    page.lines()
        .find_map(|l| l.strip_prefix("log test.moralbank.example/log size "))
        .and_then(|rest| rest.split(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[test]
fn a_witness_killed_mid_stream_never_cosigns_backwards_and_verify_holds_receipts_to_the_quorum() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = run(
        dir,
        &["keys", "witness-generate", "--name", NAME, "--dir", "w"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let witness_vkey = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("verifier key (public): "))
        .unwrap()
        .to_string();
    assert!(witness_vkey.starts_with(&format!("{NAME}+")));
    let again = run(
        dir,
        &["keys", "witness-generate", "--name", NAME, "--dir", "w"],
    );
    assert!(!again.status.success(), "never overwrites a key");

    let (skey, log_vkey) = moralbank_ledger::generate_log_key("test.moralbank.example/log");
    std::fs::write(dir.join("log.vkey"), &log_vkey).unwrap();
    let mut log = Log {
        key: LogKey::from_private(&skey).unwrap(),
        tree: MemoryLog::new(),
    };
    // More leaves than a client can go through before the kill, so each round is cut off.
    for i in 0..LEAVES {
        log.tree.append(&leaf(i));
    }
    let log = Arc::new(log);

    // Rounds: a client streams growing checkpoints; the witness is killed at some moment and
    // restarted. Whatever it acknowledged, its record afterwards is at least that.
    let mut addr = free_port();
    let mut w = start(dir, &addr, &dir.join("log.vkey"));
    let acked = Arc::new(AtomicU64::new(0));
    for round in 0..3u64 {
        let (log2, acked2, addr2) = (log.clone(), acked.clone(), addr.clone());
        let client = std::thread::spawn(move || {
            let mut old = acked2.load(Ordering::SeqCst);
            let mut size = old;
            loop {
                size += 7;
                if size > LEAVES - 10 {
                    return false; // ran out before the kill
                }
                match post(&addr2, &log2.body(old, size)) {
                    Ok((200, lines)) => {
                        assert!(lines.starts_with(&format!("\u{2014} {NAME} ")), "{lines}");
                        acked2.store(size, Ordering::SeqCst);
                        old = size;
                    }
                    Ok((s, body)) => panic!("unexpected {s}: {body}"),
                    Err(_) => return true, // killed mid-stream
                }
            }
        });
        std::thread::sleep(Duration::from_millis(150 + 100 * round));
        kill_9(&mut w);
        assert!(
            client.join().unwrap(),
            "round {round}: the kill came mid-stream"
        );
        addr = free_port();
        w = start(dir, &addr, &dir.join("log.vkey"));
        let kept = held(&addr);
        let a = acked.load(Ordering::SeqCst);
        assert!(
            kept >= a,
            "round {round}: acknowledged {a}, but the record says {kept}"
        );
        // A request may have been recorded without its answer arriving: go on from the record.
        acked.store(kept, Ordering::SeqCst);
    }
    let kept = acked.load(Ordering::SeqCst);
    assert!(kept > 0, "some checkpoints were cosigned");

    // After the restarts: an older checkpoint is refused with the size it holds, a fork at
    // that size is refused, and the honest extension is cosigned.
    let (s, body) = post(&addr, &log.body(kept.saturating_sub(7), kept + 3)).unwrap();
    assert_eq!((s, body), (409, format!("{kept}\n")));
    assert_eq!(
        post(&addr, &log.body(kept, kept - 1)).unwrap().0,
        400,
        "a smaller tree"
    );
    let mut fork = Log {
        key: LogKey::from_private(&skey).unwrap(),
        tree: MemoryLog::new(),
    };
    for i in 0..kept {
        fork.tree.append(&leaf(i + 10_000));
    }
    assert_eq!(
        post(&addr, &fork.body(kept, kept)).unwrap().0,
        409,
        "a fork"
    );
    let evidence = http_get(&addr, "/evidence");
    assert!(evidence.contains(".txt"), "the fork was kept: {evidence}");
    let size = kept + 5;
    let (s, lines) = post(&addr, &log.body(kept, size)).unwrap();
    assert_eq!(s, 200);
    let _ = w.terminate();

    // A receipt carrying that cosignature verifies under a policy of 1 of 1, and is refused
    // under 2 of 2 naming the missing witness.
    let checkpoint = format!("{}{lines}", log.at(size));
    let proof: Vec<_> = log.tree.inclusion(3, size).unwrap().to_vec();
    let receipt = Receipt::new(&leaf(3), 3, &proof, &checkpoint);
    std::fs::write(
        dir.join("receipt.json"),
        serde_json::to_string(&receipt).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("one.txt"),
        format!("log {log_vkey}\nwitness {witness_vkey}\nquorum 1\n"),
    )
    .unwrap();
    let out = run(dir, &["verify", "receipt.json", "--policy", "one.txt"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("cosigned by 1 of 1 witnesses (quorum 1): {NAME}")),
        "{}",
        stdout(&out)
    );
    let (_, other) =
        moralbank_ledger::witness::generate_witness_key("witness.library.test.example").unwrap();
    std::fs::write(
        dir.join("two.txt"),
        format!("log {log_vkey}\nwitness {witness_vkey}\nwitness {other}\nquorum 2\n"),
    )
    .unwrap();
    let out = run(dir, &["verify", "receipt.json", "--policy", "two.txt"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "cosigned by 1 of the 2 witnesses required; missing: witness.library.test.example"
        ),
        "{}",
        stderr(&out)
    );
    // The log's key alone still checks the log's signature, as before witnesses.
    let out = run(dir, &["verify", "receipt.json", "--vkey", "log.vkey"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
