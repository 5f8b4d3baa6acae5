//! Witnesses without a network: cosignatures (`cosignature/v1`), the `add-checkpoint` checks
//! in the spec's order with their status codes, forks refused as evidence, and the trust
//! policy's quorum on a receipt.

use moralbank_ledger::witness::cosign::{cosigned_message, CosignatureVerifier};
use moralbank_ledger::witness::{
    check, generate_witness_key, AddCheckpoint, Policy, PolicyError, Recorded, Refusal, WitnessKey,
    WitnessedError,
};
use moralbank_ledger::{
    generate_log_key, verify_receipt_with_policy, Hash, LogKey, MemoryLog, Receipt, ReceiptError,
};

const ORIGIN: &str = "yuyao.moralbank.example/log";

struct Log {
    skey: String,
    key: LogKey,
    vkey: String,
    tree: MemoryLog,
}

impl Log {
    fn new() -> Log {
        let (skey, vkey) = generate_log_key(ORIGIN);
        Log::with_key(&skey, &vkey)
    }

    /// Another tree under the same key: what an operator (or an intruder with its key) can do.
    fn with_key(skey: &str, vkey: &str) -> Log {
        Log {
            skey: skey.to_string(),
            key: LogKey::from_private(skey).expect("key"),
            vkey: vkey.to_string(),
            tree: MemoryLog::new(),
        }
    }

    fn grow(&mut self, n: u64, tag: &str) {
        for i in 0..n {
            self.tree
                .append(format!("{tag} {}", self.tree.size() + i).as_bytes());
        }
    }

    fn checkpoint(&self) -> String {
        let size = self.tree.size();
        self.key
            .sign(size, self.tree.root(size).expect("root"))
            .expect("sign")
    }

    fn request(&self, old: u64) -> AddCheckpoint {
        let proof = if old == 0 {
            Vec::new()
        } else {
            self.tree
                .consistency(old, self.tree.size())
                .expect("proof")
                .to_vec()
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: self.checkpoint(),
        }
    }
}

fn record(a: &moralbank_ledger::witness::Accepted, note: &str) -> Recorded {
    Recorded {
        size: a.size,
        root: a.root,
        note: note.to_string(),
    }
}

#[test]
fn a_growing_log_is_cosigned_step_by_step_and_every_bad_step_has_the_specs_answer() {
    let mut log = Log::new();
    let keys = [log.vkey.clone()];
    log.grow(5, "a");
    let first = log.request(0);
    // Through the wire format and back, as a witness receives it.
    let first = AddCheckpoint::parse(first.to_body().as_bytes()).expect("parses");
    let accepted =
        check(&first, &keys, None).expect("the first checkpoint is trusted on first use");
    assert_eq!((accepted.origin.as_str(), accepted.size), (ORIGIN, 5));
    let mut latest = record(&accepted, &first.checkpoint);

    log.grow(300, "a");
    let next = AddCheckpoint::parse(log.request(5).to_body().as_bytes()).expect("parses");
    assert!(!next.proof.is_empty());
    let accepted = check(&next, &keys, Some(&latest)).expect("a consistent extension");
    assert_eq!(accepted.size, 305);
    latest = record(&accepted, &next.checkpoint);

    // The same checkpoint again (a retry) is cosigned again: same size, same root.
    let again = log.request(305);
    assert_eq!(
        check(&again, &keys, Some(&latest)).expect("a retry").size,
        305
    );

    // An old size that is not the witness's: 409 naming its size.
    let stale = log.request(5);
    let r = check(&stale, &keys, Some(&latest)).unwrap_err();
    assert_eq!(
        r,
        Refusal::WrongOldSize {
            old: 5,
            latest: 305
        }
    );
    assert_eq!((r.status(), r.is_evidence()), (409, false));

    // An old size beyond the checkpoint: 400.
    let mut beyond = log.request(305);
    beyond.old = 306;
    let r = check(&beyond, &keys, Some(&latest)).unwrap_err();
    assert_eq!(r.status(), 400);

    // Unknown origin: 404; a checkpoint signed by another key of the same name: 403.
    let r = check(&log.request(305), &[], Some(&latest)).unwrap_err();
    assert_eq!(r.status(), 404, "{r}");
    let impostor = Log::new();
    let r = check(
        &log.request(305),
        std::slice::from_ref(&impostor.vkey),
        Some(&latest),
    )
    .unwrap_err();
    assert_eq!((r.status(), r), (403, Refusal::NotSigned));
}

#[test]
fn a_fork_is_refused_by_the_witness_and_kept_as_evidence() {
    let mut honest = Log::new();
    let keys = [honest.vkey.clone()];
    honest.grow(40, "a");
    let req = honest.request(0);
    let accepted = check(&req, &keys, None).expect("first");
    let latest = record(&accepted, &req.checkpoint);

    // The same key signs another tree of the same size: two histories.
    let mut fork = Log::with_key(&honest.skey, &honest.vkey);
    fork.grow(40, "b");
    let r = check(&fork.request(40), &keys, Some(&latest)).unwrap_err();
    assert_eq!(r, Refusal::RootMismatch { size: 40 });
    assert_eq!((r.status(), r.is_evidence()), (409, true));

    // A rewritten history that grows: its proof cannot lead from the cosigned root.
    fork.grow(60, "b");
    let r = check(&fork.request(40), &keys, Some(&latest)).unwrap_err();
    assert_eq!(r, Refusal::ProofFailed { old: 40, size: 100 });
    assert_eq!((r.status(), r.is_evidence()), (422, true));

    // A proof altered in transit fails the same way; the honest one passes.
    honest.grow(60, "a");
    let mut altered = honest.request(40);
    altered.proof[0] = Hash([7; 32]);
    assert!(check(&altered, &keys, Some(&latest))
        .unwrap_err()
        .is_evidence());
    assert_eq!(
        check(&honest.request(40), &keys, Some(&latest))
            .expect("honest")
            .size,
        100
    );
}

#[test]
fn the_specs_example_request_parses_and_malformed_ones_are_refused() {
    let example = "old 20852014\n\
        PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
        jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
        5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
        /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
        \n\
        example.com/behind-the-sofa\n\
        20852163\n\
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
        \n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
    let req = AddCheckpoint::parse(example.as_bytes()).expect("the spec's example parses");
    assert_eq!((req.old, req.proof.len()), (20_852_014, 4));
    assert_eq!(req.origin().expect("origin"), "example.com/behind-the-sofa");
    assert_eq!(req.to_body(), example, "and is written back byte for byte");
    // We do not trust that log: 404.
    assert_eq!(check(&req, &[], None).unwrap_err().status(), 404);

    for (body, why) in [
        ("", "empty"),
        ("old 01\n\nx", "a leading zero"),
        ("old -1\n\nx", "a sign"),
        ("new 1\n\nx", "not 'old'"),
        ("old 1\nnot base64!\n\nx", "a bad proof line"),
        ("old 1\nAAAA\n\nx", "a short hash"),
        ("old 1\n", "no blank line"),
        ("old 1\n\n", "no checkpoint"),
    ] {
        assert!(
            matches!(
                AddCheckpoint::parse(body.as_bytes()),
                Err(Refusal::Malformed(_))
            ),
            "{why}"
        );
    }
    let long = format!(
        "old 1\n{}\nx",
        "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64)
    );
    assert!(
        AddCheckpoint::parse(long.as_bytes()).is_err(),
        "64 proof lines"
    );
}

fn witness(name: &str) -> (WitnessKey, String) {
    let (skey, vkey) = generate_witness_key(name).expect("witness key");
    (WitnessKey::from_private(&skey).expect("reads back"), vkey)
}

/// The note's text: what a cosignature signs.
fn body(note: &str) -> &str {
    &note[..note.find("\n\n").expect("a signed note") + 1]
}

#[test]
fn cosignatures_verify_under_the_policy_and_the_quorum_names_who_is_missing() {
    let mut log = Log::new();
    log.grow(9, "a");
    let note = log.checkpoint();
    let (bank, bank_v) = witness("bank.yuyao.example/witness");
    let (hospital, hospital_v) = witness("hospital.yuyao.example/witness");
    let (_, library_v) = witness("library.yuyao.example/witness");
    let (stranger, _) = witness("stranger.example/witness");
    assert!(bank_v.starts_with("bank.yuyao.example/witness+"));
    assert_eq!(bank.vkey(), bank_v);
    let line = bank.cosign(body(&note).as_bytes(), 1_780_000_000);
    assert!(line.starts_with("\u{2014} bank.yuyao.example/witness ") && line.ends_with('\n'));

    let policy = Policy::parse(&format!(
        "# the city's witnesses\nlog {}\nwitness {bank_v}\nwitness {hospital_v}\nwitness {library_v}\nquorum 2\n",
        log.vkey
    ))
    .expect("policy");
    assert_eq!(
        Policy::parse(&policy.to_text()).expect("round trip"),
        policy
    );

    let one = format!("{note}{line}{}", stranger.cosign(body(&note).as_bytes(), 5));
    let w = policy
        .cosigners(&one)
        .expect("valid signatures; the stranger's is ignored");
    assert_eq!(
        w.cosigners,
        vec![("bank.yuyao.example/witness".to_string(), 1_780_000_000)]
    );
    assert_eq!(
        policy.require_quorum(&one).unwrap_err(),
        WitnessedError::Quorum {
            have: 1,
            need: 2,
            missing: vec![
                "hospital.yuyao.example/witness".into(),
                "library.yuyao.example/witness".into()
            ]
        }
    );
    let two = format!(
        "{one}{}",
        hospital.cosign(body(&note).as_bytes(), 1_780_000_001)
    );
    let w = policy.require_quorum(&two).expect("2 of 3");
    assert_eq!((w.size, w.cosigners.len(), w.missing.len()), (9, 2, 1));

    // A cosignature on another checkpoint (or altered) is refused, not counted.
    log.grow(1, "a");
    let other = log.checkpoint();
    let moved = format!("{other}{line}");
    assert_eq!(
        policy.cosigners(&moved).unwrap_err(),
        WitnessedError::BadCosignature("bank.yuyao.example/witness".into())
    );

    // The signed message is the spec's: two header lines and the body.
    let msg = cosigned_message(
        1_679_315_147,
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
    );
    assert!(msg.starts_with(b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n"));
    assert!(
        CosignatureVerifier::new(&log.vkey).is_err(),
        "a log key is not a witness key"
    );
    assert!(generate_witness_key("has space").is_err());
    assert!(WitnessKey::from_private("PRIVATE+KEY+x+00000000+AAAA").is_err());

    // A receipt is held to the quorum, with nothing but the policy and the receipt.
    let mut ledger = Log::with_key(&log.skey, &log.vkey);
    for i in 0..4 {
        ledger.tree.append(&entry(i));
    }
    let note = ledger.checkpoint();
    let proof: Vec<Hash> = ledger.tree.inclusion(2, 4).expect("proof").to_vec();
    let cosigned = |n: &str, lines: &[&WitnessKey]| {
        lines.iter().fold(n.to_string(), |acc, w| {
            acc + &w.cosign(body(n).as_bytes(), 1_780_000_000)
        })
    };
    let alone = Receipt::new(&entry(2), 2, &proof, &cosigned(&note, &[&bank]));
    match verify_receipt_with_policy(&alone, &policy) {
        Err(ReceiptError::Witnesses(WitnessedError::Quorum {
            have: 1,
            need: 2,
            missing,
        })) => {
            assert_eq!(missing.len(), 2)
        }
        other => panic!("one cosignature is not a quorum: {other:?}"),
    }
    let enough = Receipt::new(&entry(2), 2, &proof, &cosigned(&note, &[&bank, &hospital]));
    let (v, w) = verify_receipt_with_policy(&enough, &policy).expect("2 of 3");
    assert_eq!((v.index, v.size, w.cosigners.len()), (2, 4, 2));
}

fn entry(i: u64) -> Vec<u8> {
    moralbank_ledger::fixtures::award_leaf("entry", i)
}

#[test]
fn policies_with_mistakes_are_refused_with_their_line() {
    let log = Log::new();
    let (_, w) = witness("bank.yuyao.example/witness");
    for (text, why) in [
        (String::new(), "no log line"),
        (
            format!("log {}\nwitness {w}\nquorum 2\n", log.vkey),
            "quorum above the witnesses",
        ),
        (
            format!("log {}\nwitness {w}\nwitness {w}\n", log.vkey),
            "a witness twice",
        ),
        (
            format!("log {}\nwitness {}\n", log.vkey, log.vkey),
            "a log key as a witness",
        ),
        (format!("log {w}\n"), "a witness key as the log's"),
        (
            format!("log {}\nquorum two\n", log.vkey),
            "a quorum that is not a number",
        ),
        (
            format!("log {}\nmirror x\n", log.vkey),
            "an unknown keyword",
        ),
    ] {
        assert!(Policy::parse(&text).is_err(), "{why}");
    }
    // The complaint names the line it is about, and the parts' checks are `new`'s.
    assert_eq!(
        Policy::parse(&format!(
            "# keys\nlog {}\nwitness {w}\nwitness {w}\n",
            log.vkey
        ))
        .unwrap_err(),
        PolicyError::Line {
            line: 4,
            why: "a second witness with this name".into()
        }
    );
    assert_eq!(
        Policy::new(log.vkey.clone(), vec![w.clone(), log.vkey.clone()], 1).unwrap_err(),
        PolicyError::Witness(1, "not a cosignature/v1 verifier key")
    );
    assert_eq!(
        Policy::new(w.clone(), vec![], 0).unwrap_err(),
        PolicyError::BadLogKey
    );
    let p = Policy::parse(&format!("log {}\n", log.vkey)).expect("no witnesses, quorum 0");
    assert_eq!((p.witnesses.len(), p.quorum), (0, 0));
}
