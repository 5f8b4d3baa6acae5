#![allow(clippy::too_many_lines, clippy::unwrap_used, clippy::expect_used)]
//! Witnesses over real HTTP on loopback ports, with the log in a real store on SQLite and on
//! PostgreSQL: cosignatures collected and kept, the witnessed checkpoint and receipts held to
//! 2 of 3, appends that go on while every witness is down and a log that catches up when they
//! return, and a witness that refuses a fork, keeps the evidence and never rolls back under
//! concurrent requests.

use moralbank_ledger::witness::{generate_witness_key, AddCheckpoint, WitnessKey};
use moralbank_ledger::{
    verify_receipt_with_policy, LogKey, MemoryLog, Policy, ReceiptError, WitnessedError,
};
use moralbank_store::testing::{log_key, test_award};
use moralbank_store::Store;
use moralbank_witness::collector::{Peer, Step};
use moralbank_witness::http::Client;
use moralbank_witness::{Endpoint, Witness};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A witness serving on a loopback port until `stop` is sent.
struct Running {
    url: String,
    vkey: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn shut(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }
}

async fn serve(dir: &Path, skey: &str, log_vkey: &str) -> Running {
    let key = WitnessKey::from_private(skey).unwrap();
    let vkey = key.vkey();
    let witness = Arc::new(Witness::open(key, vec![log_vkey.to_string()], dir).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        moralbank_witness::server::serve(witness, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Running {
        url,
        vkey,
        stop: Some(tx),
        task,
    }
}

async fn append(
    store: &Store,
    seq: &moralbank_store::ledger::Sequencer,
    citizen: &str,
    n: u32,
    tag: &str,
) {
    for i in 0..n {
        seq.append_unruled(format!("{tag}/{i}"), test_award(citizen, 5))
            .await
            .expect("append");
    }
    let _ = store;
}

async fn collecting_cosignatures_on_the_log_and_receipts_held_to_the_quorum(store: Store) {
    store.fixtures().seed_city(3, 5).await.unwrap();
    let citizen = store.citizen_ids(1).await.remove(0);
    // The log's key, kept here so that the test can also forge with it.
    let (skey, log_vkey) = moralbank_ledger::generate_log_key("test.moralbank.example/log");
    let key = LogKey::from_private(&skey).unwrap();
    let (seq, _task) =
        moralbank_store::ledger::Sequencer::start(store.clone(), key, Default::default())
            .await
            .unwrap();
    append(&store, &seq, &citizen, 5, "a").await;

    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let keys: Vec<_> = ["bank", "hospital", "library"]
        .iter()
        .map(|w| generate_witness_key(&format!("witness.{w}.example")).unwrap())
        .collect();
    let mut running = Vec::new();
    for (dir, (skey, _)) in dirs.iter().zip(&keys) {
        running.push(serve(dir.path(), skey, &log_vkey).await);
    }
    let names: Vec<String> = ["bank", "hospital", "library"]
        .iter()
        .map(|w| format!("witness.{w}.example"))
        .collect();
    let policy = Policy::parse(&format!(
        "log {log_vkey}\n{}quorum 2\n",
        keys.iter()
            .map(|(_, v)| format!("witness {v}\n"))
            .collect::<String>()
    ))
    .unwrap();
    let client = Client::new(Duration::from_secs(5));
    let mut peers = Vec::new();
    for r in &running {
        peers.push(
            Peer::new(
                &store,
                &Endpoint {
                    vkey: r.vkey.clone(),
                    url: r.url.clone(),
                },
            )
            .await
            .unwrap(),
        );
    }
    let size = store
        .ledger()
        .latest_checkpoint()
        .await
        .unwrap()
        .unwrap()
        .size;
    let cp = store.ledger().latest_checkpoint().await.unwrap().unwrap();
    for p in &mut peers {
        assert_eq!(p.step(&store, &client, &cp).await, Step::Cosigned(size));
        assert_eq!(
            p.step(&store, &client, &cp).await,
            Step::UpToDate,
            "nothing new to ask"
        );
    }
    let w = store
        .ledger()
        .witnessed_checkpoint(&names, 2)
        .await
        .unwrap()
        .expect("witnessed");
    assert_eq!((w.size, w.cosigners.len()), (size, 3));
    assert_eq!(policy.require_quorum(&w.note).unwrap().cosigners.len(), 3);

    // A fork signed with the log's own key (an intruder who has it) is refused by every
    // witness, and each keeps the evidence.
    let mut forged = MemoryLog::new();
    for i in 0..size {
        forged.append(format!("forged {i}").as_bytes());
    }
    let forged_cp = LogKey::from_private(&skey)
        .unwrap()
        .sign(size, forged.root(size).unwrap())
        .unwrap();
    for r in &running {
        let body = AddCheckpoint {
            old: size,
            proof: vec![],
            checkpoint: forged_cp.clone(),
        }
        .to_body();
        let a = client
            .post_text(&format!("{}/add-checkpoint", r.url), body)
            .await
            .unwrap();
        assert_eq!((a.status, a.text()), (409, format!("{size}\n")));
        let list = client
            .get(&format!("{}/evidence", r.url))
            .await
            .unwrap()
            .text();
        assert!(list.contains(".txt"), "{list}");
    }

    // Every witness down: appends go on, the witnessed checkpoint stays where it was.
    for r in running.drain(..) {
        r.shut().await;
    }
    append(&store, &seq, &citizen, 300, "b").await;
    let cp = store.ledger().latest_checkpoint().await.unwrap().unwrap();
    for p in &mut peers {
        assert!(matches!(
            p.step(&store, &client, &cp).await,
            Step::Unreachable(_)
        ));
    }
    let newest = store
        .ledger()
        .latest_checkpoint()
        .await
        .unwrap()
        .unwrap()
        .size;
    assert!(newest >= size + 300);
    assert_eq!(
        store
            .ledger()
            .witnessed_checkpoint(&names, 2)
            .await
            .unwrap()
            .unwrap()
            .size,
        size
    );
    // A receipt for a new entry: the newest checkpoint, not yet witnessed, is refused under the
    // policy with the witnesses named; an old entry's receipt carries the cosignatures.
    let fresh = store
        .ledger()
        .witnessed_receipt(newest - 1, None, &names, 2)
        .await
        .unwrap()
        .unwrap();
    match verify_receipt_with_policy(&fresh, &policy) {
        Err(ReceiptError::Witnesses(WitnessedError::Quorum {
            have: 0,
            need: 2,
            missing,
        })) => {
            assert_eq!(missing, names)
        }
        other => panic!("an unwitnessed receipt: {other:?}"),
    }
    let old = store
        .ledger()
        .witnessed_receipt(2, None, &names, 2)
        .await
        .unwrap()
        .unwrap();
    let (v, wd) = verify_receipt_with_policy(&old, &policy).unwrap();
    assert_eq!((v.size, wd.cosigners.len()), (size, 3));

    // Two witnesses return (same folders, same keys): one request each catches up.
    let back = [
        serve(dirs[0].path(), &keys[0].0, &log_vkey).await,
        serve(dirs[1].path(), &keys[1].0, &log_vkey).await,
    ];
    for (i, r) in back.iter().enumerate() {
        let mut p = Peer::new(
            &store,
            &Endpoint {
                vkey: r.vkey.clone(),
                url: r.url.clone(),
            },
        )
        .await
        .unwrap();
        assert_eq!(
            p.step(&store, &client, &cp).await,
            Step::Cosigned(newest),
            "witness {i}"
        );
    }
    let w = store
        .ledger()
        .witnessed_checkpoint(&names, 2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((w.size, w.cosigners.len()), (newest, 2));
    let fresh = store
        .ledger()
        .witnessed_receipt(newest - 1, None, &names, 2)
        .await
        .unwrap()
        .unwrap();
    let (_, wd) = verify_receipt_with_policy(&fresh, &policy).unwrap();
    assert_eq!(wd.missing, vec![names[2].clone()]);
    for r in back {
        r.shut().await;
    }
}

/// The collector's own loop while appends go on: every round asks all witnesses about one size,
/// so a quorum forms under load, and the witnessed checkpoint reaches the log's newest once the
/// appends stop; one witness hung all along changes nothing for 2 of 3.
async fn the_collector_keeps_a_quorum_on_one_size_while_appends_go_on(store: Store) {
    store.fixtures().seed_city(3, 5).await.unwrap();
    let citizen = store.citizen_ids(1).await.remove(0);
    let (key, log_vkey) = log_key();
    let (seq, _task) =
        moralbank_store::ledger::Sequencer::start(store.clone(), key, Default::default())
            .await
            .unwrap();
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut endpoints = Vec::new();
    let mut running = Vec::new();
    let mut names = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let (skey, _) = generate_witness_key(&format!("witness.w{i}.example")).unwrap();
        let r = serve(dir.path(), &skey, &log_vkey).await;
        endpoints.push(Endpoint {
            vkey: r.vkey.clone(),
            url: r.url.clone(),
        });
        names.push(format!("witness.w{i}.example"));
        running.push(r);
    }
    // A third witness that hangs: its port accepts connections (the kernel's backlog) and never
    // answers, so each request to it runs into the deadline; the other two are not held up.
    let (_, dead) = generate_witness_key("witness.dead.example").unwrap();
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap();
    endpoints.push(Endpoint {
        vkey: dead,
        url: format!("http://{port}"),
    });
    names.push("witness.dead.example".into());
    let collector = moralbank_witness::collector::spawn(
        &store,
        &endpoints,
        Duration::from_millis(30),
        Duration::from_secs(2),
    )
    .unwrap();

    let started = std::time::Instant::now();
    let mut i = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        seq.append_unruled(format!("load/{i}"), test_award(&citizen, 1))
            .await
            .unwrap();
        i += 1;
    }
    let during = store
        .ledger()
        .witnessed_checkpoint(&names, 2)
        .await
        .unwrap();
    assert!(
        during.is_some(),
        "a quorum formed while {i} appends went on"
    );
    let newest = store
        .ledger()
        .latest_checkpoint()
        .await
        .unwrap()
        .unwrap()
        .size;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let w = store
            .ledger()
            .witnessed_checkpoint(&names, 2)
            .await
            .unwrap()
            .unwrap();
        if w.size == newest {
            assert_eq!(w.cosigners.len(), 2);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the witnessed checkpoint stayed at {} of {newest}",
            w.size
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    collector.abort();
    drop(hung);
    for r in running {
        r.shut().await;
    }
}

moralbank_store::on_both_backends!(
    collecting_cosignatures_on_the_log_and_receipts_held_to_the_quorum,
    the_collector_keeps_a_quorum_on_one_size_while_appends_go_on,
);

/// A log without a store, for the witness's own tests.
struct Log {
    key: LogKey,
    vkey: String,
    skey: String,
    tree: MemoryLog,
}

impl Log {
    fn new() -> Log {
        let (skey, vkey) = moralbank_ledger::generate_log_key("city.example/log");
        Log::with(&skey, &vkey)
    }
    fn with(skey: &str, vkey: &str) -> Log {
        Log {
            key: LogKey::from_private(skey).unwrap(),
            vkey: vkey.into(),
            skey: skey.into(),
            tree: MemoryLog::new(),
        }
    }
    fn grow(&mut self, n: u64, tag: &str) -> &mut Log {
        for _ in 0..n {
            let i = self.tree.size();
            self.tree.append(format!("{tag} {i}").as_bytes());
        }
        self
    }
    fn body(&self, old: u64) -> String {
        let size = self.tree.size();
        let proof = if old == 0 {
            vec![]
        } else {
            self.tree.consistency(old, size).unwrap().to_vec()
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: self.key.sign(size, self.tree.root(size).unwrap()).unwrap(),
        }
        .to_body()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_over_http_answers_as_the_spec_says_and_keeps_evidence_of_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let (skey, _) = generate_witness_key("witness.test.example").unwrap();
    let mut log = Log::new();
    let w = serve(dir.path(), &skey, &log.vkey).await;
    let client = Client::new(Duration::from_secs(5));
    let add = format!("{}/add-checkpoint", w.url);
    log.grow(10, "a");
    // The spec's layout, written out by hand: old size, proof lines, blank line, checkpoint.
    let cp = log.key.sign(10, log.tree.root(10).unwrap()).unwrap();
    let a = client
        .post_text(&add, format!("old 0\n\n{cp}"))
        .await
        .unwrap();
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().starts_with("\u{2014} witness.test.example ") && a.text().ends_with('\n'));
    let policy =
        Policy::parse(&format!("log {}\nwitness {}\nquorum 1\n", log.vkey, w.vkey)).unwrap();
    assert_eq!(
        policy
            .require_quorum(&format!("{cp}{}", a.text()))
            .unwrap()
            .size,
        10
    );

    // Eight concurrent extensions from size 10: exactly one wins, the others learn the size.
    let mut tasks = Vec::new();
    for k in 1..=8u64 {
        let mut l = Log::with(&log.skey, &log.vkey);
        l.grow(10, "a").grow(k * 7, "a");
        let (c, add, body) = (client.clone(), add.clone(), l.body(10));
        tasks.push(tokio::spawn(async move {
            c.post_text(&add, body).await.unwrap()
        }));
    }
    let mut won = 0;
    for t in tasks {
        let a = t.await.unwrap();
        match a.status {
            200 => won += 1,
            409 => assert_eq!(a.content_type, "text/x.tlog.size"),
            s => panic!("unexpected {s}: {}", a.text()),
        }
    }
    assert_eq!(won, 1, "the record moves once; no request rolls it back");
    let held: u64 = client
        .get(&format!("{}/", w.url))
        .await
        .unwrap()
        .text()
        .lines()
        .find(|l| l.starts_with("log city.example/log size "))
        .unwrap()
        .split(' ')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!(held > 10);

    // From here the honest log is at `held`; a forked one signs another tree of that size.
    let mut honest = Log::with(&log.skey, &log.vkey);
    honest.grow(10, "a").grow(held - 10, "a");
    let mut fork = Log::with(&log.skey, &log.vkey);
    fork.grow(held, "forged");
    let a = client.post_text(&add, fork.body(held)).await.unwrap();
    assert_eq!(
        (a.status, a.content_type.as_str(), a.text()),
        (409, "text/x.tlog.size", format!("{held}\n"))
    );
    fork.grow(5, "forged");
    let a = client.post_text(&add, fork.body(held)).await.unwrap();
    assert_eq!(
        a.status,
        422,
        "a rewritten history's proof fails: {}",
        a.text()
    );
    let list: serde_json::Value = serde_json::from_slice(
        &client
            .get(&format!("{}/evidence", w.url))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        2,
        "both refusals kept: {list}"
    );
    let name = list[0]["name"].as_str().unwrap();
    let evidence = client
        .get(&format!("{}/evidence/{name}", w.url))
        .await
        .unwrap()
        .text();
    // The newest evidence is the rewritten history's: what was cosigned at `held`, the refusal,
    // and the refused request with its signed checkpoint of `held + 5`.
    assert!(
        evidence.starts_with("moralbank-witness-evidence/v1\norigin city.example/log\n"),
        "{evidence}"
    );
    assert!(
        evidence.contains(&format!(
            "refused the consistency proof from size {held} to {}",
            held + 5
        )),
        "{evidence}"
    );
    assert!(
        evidence.contains("had cosigned (at ")
            && evidence.contains(&format!("city.example/log\n{held}\n")),
        "{evidence}"
    );
    assert!(
        evidence.contains(&format!("refused add-checkpoint request ---\nold {held}\n")),
        "{evidence}"
    );
    assert!(
        evidence.contains(&format!("city.example/log\n{}\n", held + 5)),
        "{evidence}"
    );
    assert_eq!(
        client
            .get(&format!("{}/evidence/..%2Fwitness.lock", w.url))
            .await
            .unwrap()
            .status,
        404
    );

    // The honest log goes on; an unknown log is 404, a forged signature 403, garbage 400.
    honest.grow(3, "a");
    assert_eq!(
        client
            .post_text(&add, honest.body(held))
            .await
            .unwrap()
            .status,
        200
    );
    let stranger = Log::new();
    let mut other = Log::with(&stranger.skey, &stranger.vkey);
    other.grow(2, "x");
    let body = other
        .body(0)
        .replace("city.example/log", "elsewhere.example/log");
    assert_eq!(client.post_text(&add, body).await.unwrap().status, 404);
    assert_eq!(
        client.post_text(&add, other.body(0)).await.unwrap().status,
        403
    );
    assert_eq!(
        client.post_text(&add, "hello".into()).await.unwrap().status,
        400
    );
    w.shut().await;
}
