#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The browser verifier (`js/verify.js`) against this crate: both read the same few thousand
//! codes (the test vector, every bit flip, truncation and changed character, hand-made codes
//! with each kind of fault) and must give the same answer, claims or reason, for each. Runs
//! under Node.js (WebCrypto Ed25519); skipped when `node` is missing, except in CI.

mod common;

use ciborium::Value;
use common::*;
use moralbank_code::{
    encode, verify, Carrier, Claims, Holder, Issuer, IssuerKey, KeySet, Lifetimes, MaskedName,
    Pseudonym, VerifyError,
};
use serde_json::{json, Value as Json};
use std::io::Write;
use std::process::{Command, Stdio};

const DRIVER: &str = r#"
const { importKeySet, verifyCode } = await import(process.argv[1]);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const keys = await importKeySet(input.jwks);
const results = [];
for (const c of input.cases) results.push(await verifyCode(c.text, keys, c.now, c.skew));
const sets = [];
for (const jwks of input.keySets) {
  try { sets.push((await importKeySet(jwks)).size); } catch (e) { sets.push(e.constructor.name); }
}
process.stdout.write(JSON.stringify({ results, sets }));
"#;

/// Node.js, or None (with a note) when it is missing outside CI.
fn node() -> Option<&'static str> {
    let found = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but node is missing: the browser verifier must be tested"
        );
        eprintln!("skipping: node is not installed, so js/verify.js is not tested");
        return None;
    }
    Some("node")
}

struct Case {
    text: String,
    now: i64,
}

/// What `verifyCode` answers, as this crate sees it.
fn expected(result: Result<Claims, VerifyError>) -> Json {
    match result {
        Ok(c) => json!({"ok": true, "claims": {
            "issuer": c.issuer.as_str(),
            "issuedAt": c.issued_at,
            "expiresAt": c.expires_at,
            "codeId": c.code_id.to_string(),
            "printedCard": c.printed_card,
            "pseudonym": c.holder.pseudonym.to_string(),
            "tier": c.holder.tier,
            "badges": c.holder.badges.iter().map(|b| b.as_str()).collect::<Vec<_>>(),
            "maskedName": c.holder.masked_name.as_str(),
        }}),
        Err(e @ (VerifyError::MissingClaim(name) | VerifyError::BadClaim(name))) => {
            json!({"ok": false, "error": e.code(), "claim": name})
        }
        Err(VerifyError::Expired { expires_at }) => {
            json!({"ok": false, "error": "expired", "expiresAt": expires_at})
        }
        Err(VerifyError::NotYetValid { issued_at }) => {
            json!({"ok": false, "error": "not_yet_valid", "issuedAt": issued_at})
        }
        Err(e) => json!({"ok": false, "error": e.code()}),
    }
}

fn corpus() -> Vec<Case> {
    let at = |text: String| Case {
        text,
        now: ISSUED_AT + 10,
    };
    let mut cases = vec![
        at(VECTOR_CODE.to_string()),
        at(format!("{VECTOR_CODE}\r\n")),
        Case {
            text: VECTOR_CODE.into(),
            now: ISSUED_AT + 200,
        },
        Case {
            text: VECTOR_CODE.into(),
            now: ISSUED_AT - 100,
        },
    ];
    let bytes = vector_cbor();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut tampered = bytes.clone();
            tampered[i] ^= 1 << bit;
            cases.push(at(code_of_bytes(&tampered)));
        }
    }
    for end in 0..VECTOR_CODE.len() {
        cases.push(at(VECTOR_CODE[..end].to_string()));
    }
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    for i in 0..VECTOR_CODE.len() {
        for step in [1, 22] {
            let mut text = VECTOR_CODE.as_bytes().to_vec();
            let pos = ALPHABET
                .iter()
                .position(|c| *c == text[i])
                .expect("alphabet");
            text[i] = ALPHABET[(pos + step) % ALPHABET.len()];
            cases.push(at(String::from_utf8(text).expect("ascii")));
        }
    }
    let body = &VECTOR_CODE[4..];
    for text in [
        format!("mb1:{body}"),
        format!("MB1:{}", body.to_lowercase()),
        format!("MB1:{body}00"),
        "MB1:GGW".into(),
        "MB1:::".into(),
        "MB1:".into(),
        "MB1:张".into(),
        format!("MB1:{}", "0".repeat(1020)),
        format!("MB1:{}", "0".repeat(1021)),
        format!("MB1:{}", "张".repeat(400)),
        String::new(),
    ] {
        cases.push(at(text));
    }
    cases.extend(hand_made().into_iter().map(at));
    cases.extend(issued().into_iter().map(|(text, now)| Case { text, now }));
    cases
}

/// A claims map's entries, to edit.
type Entries = Vec<(Value, Value)>;

/// Codes signed by the vector's key with one fault each.
fn hand_made() -> Vec<String> {
    let key = vector_key();
    let kid = Value::Bytes(key.kid().0.to_vec());
    let header = eddsa_header(&key.kid().0);
    let claims = Value::Map(vector_payload());
    let mut codes = Vec::new();
    for h in [
        Value::Map(vec![(int(1), int(-7)), (int(4), kid.clone())]),
        Value::Map(vec![(int(4), kid.clone())]),
        Value::Map(vec![(int(1), int(-8))]),
        Value::Map(vec![(int(1), int(-8)), (int(4), Value::Bytes(vec![1; 9]))]),
        Value::Map(vec![
            (int(1), int(-8)),
            (int(1), int(-8)),
            (int(4), kid.clone()),
        ]),
        Value::Map(vec![
            (int(1), int(-8)),
            (int(4), kid.clone()),
            (Value::Bool(true), int(0)),
        ]),
        Value::Map(vec![
            (Value::Text("x".into()), int(0)),
            (int(1), int(-8)),
            (int(4), kid),
        ]),
    ] {
        codes.push(hand_made_code(&h, &claims, &vector_seed()));
    }
    codes.push(hand_made_code(&header, &claims, &[9; 32]));
    codes.push(hand_made_code(&header, &int(5), &vector_seed()));

    let edit = |change: &dyn Fn(&mut Entries)| {
        let mut payload = vector_payload();
        change(&mut payload);
        hand_made_code(&header, &Value::Map(payload), &vector_seed())
    };
    let set = |label: i64, value: Value| {
        move |p: &mut Vec<(Value, Value)>| {
            p.iter_mut()
                .filter(|(k, _)| *k == int(label))
                .for_each(|(_, v)| *v = value.clone())
        }
    };
    let set_inner = |label: i64, value: Option<Value>| {
        move |p: &mut Vec<(Value, Value)>| {
            for (k, v) in p.iter_mut() {
                if *k == int(-65537) {
                    let Value::Map(m) = v else { panic!("map") };
                    match &value {
                        Some(value) => m
                            .iter_mut()
                            .filter(|(k, _)| *k == int(label))
                            .for_each(|(_, v)| *v = value.clone()),
                        None => m.retain(|(k, _)| *k != int(label)),
                    }
                }
            }
        }
    };
    let text = |s: &str| Value::Text(s.into());
    for label in [1, 4, 6, 7, -65537] {
        codes.push(edit(&move |p| p.retain(|(k, _)| *k != int(label))));
    }
    for label in 1..=5 {
        codes.push(edit(&set_inner(label, None)));
    }
    for (label, value) in [
        (1, int(1)),
        (1, text("")),
        (1, text("a b")),
        (4, text("x")),
        (4, int(ISSUED_AT)),
        (4, int(ISSUED_AT - 1)),
        (4, Value::Float(1.0)),
        (6, Value::Bytes(vec![])),
        (7, Value::Bytes(vec![0; 17])),
        (-65537, Value::Array(vec![])),
        (-65537, Value::Map(vec![(int(1), int(1)), (int(1), int(1))])),
    ] {
        codes.push(edit(&set(label, value)));
    }
    for (label, value) in [
        (1, Value::Bytes(vec![0; 15])),
        (2, int(256)),
        (2, int(-1)),
        (2, Value::Bool(true)),
        (3, Value::Array(vec![text("a"); 9])),
        (3, Value::Array(vec![text("a"); 8])),
        (3, Value::Array(vec![text("A")])),
        (3, Value::Array(vec![text(&"a".repeat(25))])),
        (3, Value::Array(vec![int(1)])),
        (4, text("")),
        (4, text("a\u{85}b")),
        (4, text(&"名".repeat(16))),
        (4, text(&"名".repeat(17))),
        (4, text("𠀀𠀀")),
        (5, Value::Null),
        (5, Value::Bool(true)),
    ] {
        codes.push(edit(&set_inner(label, Some(value))));
    }
    let mut deep = int(0);
    for _ in 0..15 {
        deep = Value::Array(vec![deep]);
    }
    codes.push(edit(&|p| p.push((int(99), deep.clone()))));
    codes.push(edit(&|p| {
        p.push((int(99), Value::Array(vec![deep.clone()])))
    }));
    codes.push(edit(&|p| {
        p.push((int(99), Value::Tag(1, Box::new(int(0)))))
    }));
    codes.push(edit(&|p| p.push((int(99), Value::Float(0.5)))));
    codes.push(edit(&|p| p.push((int(99), Value::Null))));
    codes.push(edit(&|p| p.push((text("99"), int(-(1 << 62))))));
    codes.push(edit(&|p| p.push((text("k"), int(1)))));
    codes.push(edit(&|p| {
        p.push((text("k"), int(1)));
        p.push((text("k"), int(2)));
    }));
    codes.push(edit(&|p| p.push((Value::Bytes(vec![1]), int(1)))));
    codes.push(edit(&|p| p.push((Value::Integer(u64::MAX.into()), int(1)))));
    codes
}

/// Codes this crate issues, each with the time to check it at.
fn issued() -> Vec<(String, i64)> {
    let key = vector_key();
    let holder = Holder {
        pseudonym: Pseudonym([0xab; 16]),
        tier: 0,
        badges: vec![],
        masked_name: MaskedName::parse("𠀀*").expect("name"),
    };
    let issuer = Issuer::parse("https://yuyao.example/moral-code").expect("issuer");
    let lifetimes = Lifetimes::default();
    let card = Claims::issue(
        issuer.clone(),
        holder.clone(),
        Carrier::PrintedCard,
        0,
        &lifetimes,
    );
    let phone = Claims::issue(issuer, holder, Carrier::Phone, -1000, &lifetimes);
    let (card, phone) = (
        encode(&card, &key).expect("card"),
        encode(&phone, &key).expect("phone"),
    );
    let stranger = encode(&vector_claims(), &IssuerKey::from_seed(&[3; 32])).expect("code");
    vec![
        (card.clone(), 300 * 86_400),
        (card, 366 * 86_400),
        (phone.clone(), -950),
        (phone, -880),
        (stranger, ISSUED_AT),
    ]
}

fn key_sets() -> Vec<(Json, Result<usize, ()>)> {
    let key = vector_key();
    let ours: Json =
        serde_json::from_str::<Json>(&keys_of(&[&key]).to_jwks()).expect("jwks")["keys"][0].clone();
    let with = |field: &str, value: Json| {
        let mut k = ours.clone();
        k[field] = value;
        k
    };
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    let sets = vec![
        json!({"keys": [ours.clone()]}),
        json!({"keys": [rsa.clone(), ours.clone()]}),
        json!({"keys": [rsa]}),
        json!({"keys": [ours.clone(), ours.clone()]}),
        json!({"keys": [with("kid", json!("AAAAAAAAAAA"))]}),
        json!({"keys": [with("x", json!("AAAA"))]}),
        json!({"keys": [with("d", json!("AAAA"))]}),
        json!({"keys": [with("alg", json!("ES256"))]}),
        json!({"keys": [with("use", json!("enc")), ours]}),
        json!({"nokeys": []}),
    ];
    sets.into_iter()
        .map(|set| {
            let rust = KeySet::from_jwks(&set.to_string())
                .map(|s| s.keys().len())
                .map_err(|_| ());
            (set, rust)
        })
        .collect()
}

#[test]
fn the_browser_verifier_answers_as_this_crate_does() {
    let Some(node) = node() else { return };
    let keys = keys_of(&[&vector_key()]);
    let cases = corpus();
    let key_sets = key_sets();
    let input = json!({
        "jwks": serde_json::from_str::<Json>(&keys.to_jwks()).expect("jwks"),
        "cases": cases.iter().map(|c| json!({"text": c.text, "now": c.now, "skew": SKEW_S})).collect::<Vec<_>>(),
        "keySets": key_sets.iter().map(|(set, _)| set.clone()).collect::<Vec<_>>(),
    });
    let script = format!("{}/js/verify.js", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(node)
        .args([
            "--input-type=module",
            "-e",
            DRIVER,
            &format!("file://{script}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("node runs");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Json = serde_json::from_slice(&out.stdout).expect("node's JSON");

    let results = answers["results"].as_array().expect("results");
    assert_eq!(results.len(), cases.len());
    let mut seen = std::collections::BTreeSet::new();
    for (case, js) in cases.iter().zip(results) {
        let rust = expected(verify(&case.text, &keys, case.now, SKEW_S));
        assert_eq!(*js, rust, "{:?} at {}", case.text, case.now);
        seen.insert(rust["error"].as_str().unwrap_or("ok").to_string());
    }
    // The corpus reaches every answer there is.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "bad_claim",
            "bad_signature",
            "expired",
            "missing_claim",
            "not_base45",
            "not_cose",
            "not_yet_valid",
            "ok",
            "too_large",
            "unknown_key",
            "unsupported_algorithm",
            "wrong_prefix"
        ]
    );

    let sets = answers["sets"].as_array().expect("sets");
    for ((set, rust), js) in key_sets.iter().zip(sets) {
        match rust {
            Ok(n) => assert_eq!(js, &json!(n), "{set}"),
            Err(()) => assert_eq!(js, "KeySetError", "{set}"),
        }
    }
}
