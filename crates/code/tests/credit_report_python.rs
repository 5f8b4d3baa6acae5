//! The independent Python verifier (`py/verify_report.py`, written from docs/credit-report.md
//! with cbor2 and cryptography) against this crate: its command line on a report file (the
//! figures, a tampered report, another bank's), and, in one process, a corpus of good and faulty
//! reports and key sets on which both must give the same answer — the figures, or the refusal
//! with its field or time. Needs the virtual environment `.ci/run` makes under
//! target/pyverify; skipped without it, except in CI.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use ed25519_dalek::{Signer, SigningKey};
use moralbank_code::{
    encode_report, verify_report, CategoryPoints, CreditReport, IssuerKey, KeySet, LogAnchor,
    ReportError, SuggestedLine, DEFAULT_CLOCK_SKEW_S,
};
use serde_json::{json, Value as Json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const PYTHON: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/pyverify/venv/bin/python"
);
const PY_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/py");
const SEED: [u8; 32] = [0x24; 32];
const AUD: &str = "bank-7";
const ISSUED_AT: i64 = 1_780_000_000;
const EXPIRES_AT: i64 = ISSUED_AT + 7 * 86_400;
const NOW: i64 = ISSUED_AT + 600;
const SKEW: i64 = DEFAULT_CLOCK_SKEW_S;

/// The venv's Python with cbor2 and cryptography, or None (with a note) outside CI.
fn python() -> Option<&'static str> {
    let ready = Command::new(PYTHON)
        .args(["-c", "import cbor2, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {PYTHON} cannot import cbor2 and cryptography: .ci/run installs them"
        );
        eprintln!("skipping: no {PYTHON} with cbor2 and cryptography (.ci/run makes it)");
        return None;
    }
    Some(PYTHON)
}

fn key() -> IssuerKey {
    IssuerKey::from_seed(&SEED)
}

fn keys() -> KeySet {
    KeySet::new(vec![key().public()]).expect("key set")
}

fn report() -> CreditReport {
    CreditReport {
        issuer: "yuyao".into(),
        audience: AUD.into(),
        subject: [0xa5; 16],
        issued_at: ISSUED_AT,
        expires_at: EXPIRES_AT,
        report_id: [0x5a; 16],
        consent_id: "c-20260302-0001".into(),
        tier: 2,
        tier_rules: "household-per-capita/v1 0,30,100,300,1000".into(),
        lookback_months: 12,
        credit_points: -3,
        points: vec![
            CategoryPoints {
                category: "volunteer-hour".into(),
                year: 2026,
                points: 17,
            },
            CategoryPoints {
                category: "charity".into(),
                year: 2026,
                points: -20,
            },
        ],
        badges: vec!["green-card".into(), "志愿者".into()],
        green_cards: 2,
        in_publicity: 0,
        line: Some(SuggestedLine {
            table_version: 1,
            max_line_yuan: 50_000,
            rate_discount_bp: 0,
        }),
        log: LogAnchor {
            origin: "none".into(),
            size: u64::MAX,
            root: [0; 32],
        },
    }
}

fn good() -> String {
    encode_report(&report(), &key()).expect("encodes")
}

fn text_of(bytes: &[u8]) -> String {
    format!("MBCR1:{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn bytes_of(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.strip_prefix("MBCR1:").expect("prefix"))
        .expect("base64url")
}

fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("cbor");
    out
}

fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// The protected header, payload and signature bytes of a report's text.
fn parts(report: &str) -> [Vec<u8>; 3] {
    let Ok(Value::Tag(18, sign1)) = ciborium::from_reader(bytes_of(report).as_slice()) else {
        panic!("tag 18")
    };
    let Value::Array(parts) = *sign1 else {
        panic!("an array")
    };
    let bstr = |v: &Value| v.as_bytes().expect("bstr").clone();
    [bstr(&parts[0]), bstr(&parts[2]), bstr(&parts[3])]
}

/// A report's text around any parts.
fn assemble(protected: Value, unprotected: Value, payload: &[u8], signature: &[u8]) -> String {
    let sign1 = Value::Array(vec![
        protected,
        unprotected,
        Value::Bytes(payload.to_vec()),
        Value::Bytes(signature.to_vec()),
    ]);
    text_of(&cbor(&Value::Tag(18, Box::new(sign1))))
}

/// Any protected header and payload bytes, signed by `seed`'s key over their Sig_structure.
fn signed(protected: &[u8], payload: &[u8], seed: &[u8; 32]) -> String {
    let tbs = cbor(&Value::Array(vec![
        text("Signature1"),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(vec![]),
        Value::Bytes(payload.to_vec()),
    ]));
    let signature = SigningKey::from_bytes(seed).sign(&tbs).to_bytes();
    assemble(
        Value::Bytes(protected.to_vec()),
        Value::Map(vec![]),
        payload,
        &signature,
    )
}

/// A map's entries, to edit.
type Entries = Vec<(Value, Value)>;

/// The good report's payload with `change` made, signed as the issuer would sign it.
fn resigned(change: &dyn Fn(&mut Entries)) -> String {
    let [protected, payload, _] = parts(&good());
    let Ok(Value::Map(mut entries)) = ciborium::from_reader(payload.as_slice()) else {
        panic!("a map")
    };
    change(&mut entries);
    signed(&protected, &cbor(&Value::Map(entries)), &SEED)
}

/// Set `key`'s value.
fn set(key: &'static str, value: Value) -> impl Fn(&mut Entries) {
    move |m| {
        m.iter_mut()
            .filter(|(k, _)| *k == text(key))
            .for_each(|(_, v)| *v = value.clone());
    }
}

fn run_cli(python: &str, dir: &Path, report: &str, audience: Option<&str>, now: i64) -> Output {
    let file = dir.join("report.mbcr");
    std::fs::write(&file, report).expect("write the report");
    let mut cmd = Command::new(python);
    cmd.arg("-B")
        .arg(format!("{PY_DIR}/verify_report.py"))
        .arg("--jwks")
        .arg(dir.join("keys.json"))
        .args(["--now", &now.to_string()]);
    if let Some(a) = audience {
        cmd.args(["--audience", a]);
    }
    cmd.arg(&file).output().expect("python runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

#[test]
fn the_python_command_prints_the_figures_or_the_refusal() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("keys.json"), keys().to_jwks()).expect("write the keys");
    let text = good();

    let out = run_cli(py, dir.path(), &format!("{text}\n"), Some(AUD), NOW);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(figures, serde_json::to_value(report()).expect("json"));

    // One payload byte changed (the tier, 2 → 3), not signed again.
    let [protected, mut payload, signature] = parts(&text);
    let tier = [&[0x64][..], b"tier", &[0x02]].concat();
    let at = payload
        .windows(5)
        .position(|w| w == &tier[..5])
        .expect("tier")
        + 5;
    assert_eq!(payload[at], tier[5]);
    payload[at] = 0x03;
    let tampered = assemble(
        Value::Bytes(protected),
        Value::Map(vec![]),
        &payload,
        &signature,
    );
    let rust = verify_report(&tampered, &keys(), Some(AUD), NOW, SKEW);
    assert_eq!(rust, Err(ReportError::BadSignature));
    let out = run_cli(py, dir.path(), &tampered, Some(AUD), NOW);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "refused: bad_signature\n");

    let out = run_cli(py, dir.path(), &text, Some("bank-8"), NOW);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "refused: wrong_audience\n");

    let out = run_cli(py, dir.path(), &text, Some(AUD), EXPIRES_AT + SKEW);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!("refused: expired\nexpires_at: {EXPIRES_AT}\n")
    );

    std::fs::write(dir.path().join("keys.json"), "{\"keys\": []}").expect("write");
    let out = run_cli(py, dir.path(), &text, Some(AUD), NOW);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unusable key set is not a refusal"
    );
    assert_eq!(stdout(&out), "");
}

/// Reads `{jwks, cases, keySets}` on stdin; writes each case's answer and each key set's size.
const DRIVER: &str = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import verify_report as v
data = json.load(sys.stdin)
keys = v.read_jwks(data["jwks"])
results = []
for c in data["cases"]:
    try:
        report = v.verify_report(c["text"], keys, c["audience"], c["now"], c["skew"])
        results.append({"ok": True, "report": report})
    except v.Refused as r:
        results.append({"ok": False, "error": r.code, "detail": r.detail})
sets = []
for s in data["keySets"]:
    try:
        sets.append(len(v.read_jwks(s)))
    except v.KeySetError:
        sets.append("error")
json.dump({"results": results, "sets": sets}, sys.stdout)
"#;

struct Case {
    text: String,
    audience: Option<&'static str>,
    now: i64,
}

fn at(text: String) -> Case {
    Case {
        text,
        audience: Some(AUD),
        now: NOW,
    }
}

/// What the Python verifier answers, as this crate sees it.
fn expected(answer: Result<CreditReport, ReportError>) -> Json {
    match answer {
        Ok(r) => json!({"ok": true, "report": r}),
        Err(e) => {
            let detail = match &e {
                ReportError::BadField(f) => Some(format!("field: {f}")),
                ReportError::Expired { expires_at } => Some(format!("expires_at: {expires_at}")),
                ReportError::NotYetValid { issued_at } => Some(format!("issued_at: {issued_at}")),
                _ => None,
            };
            json!({"ok": false, "error": e.code(), "detail": detail})
        }
    }
}

/// The good report at its limits in time and audience, every byte flip and truncation of it,
/// and texts that are no report.
fn text_cases() -> Vec<Case> {
    let text = good();
    let mut cases = vec![at(text.clone()), at(format!("\u{3000}{text}\r\n"))];
    for now in [
        ISSUED_AT - SKEW,
        ISSUED_AT - SKEW - 1,
        EXPIRES_AT + SKEW - 1,
        EXPIRES_AT + SKEW,
    ] {
        cases.push(Case {
            now,
            ..at(text.clone())
        });
    }
    for audience in [None, Some("bank-8"), Some("BANK-7")] {
        cases.push(Case {
            audience,
            ..at(text.clone())
        });
    }
    let bytes = bytes_of(&text);
    for i in 0..bytes.len() {
        for bit in [0x01, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            cases.push(at(text_of(&b)));
        }
        cases.push(at(text_of(&bytes[..i])));
    }
    let body = &text["MBCR1:".len()..];
    for t in [
        format!("mbcr1:{body}"),
        format!("\u{feff}{text}"),
        "MB1:RRQT 9P60GO0HD4WD6ZHKY".into(),
        format!("{text}="),
        format!("MBCR1:+{}", &body[1..]),
        "MBCR1:0h".into(),
        "MBCR1:A".into(),
        "MBCR1:".into(),
        format!("MBCR1:{}", "A".repeat(16_378)),
        format!("MBCR1:{}", "A".repeat(16_379)),
        format!("MBCR1:{}", "行".repeat(5_460)),
        String::new(),
    ] {
        cases.push(at(t));
    }
    cases
}

/// Reports signed with the right key (or another) but with a fault in the header or around it.
fn header_cases() -> Vec<Case> {
    let other = [0x25; 32];
    let kid_of = |seed: &[u8; 32]| Value::Bytes(IssuerKey::from_seed(seed).kid().0.to_vec());
    let (alg, kid, typ) = (
        (int(1), int(-8)),
        (int(4), kid_of(&SEED)),
        (int(16), text("moralbank-credit-report")),
    );
    let es256 = (int(1), int(-7));
    let bool_alg = (int(1), Value::Bool(true));
    let other_kid = (int(4), kid_of(&other));
    let long_kid = (int(4), Value::Bytes(vec![1; 9]));
    let code_typ = (int(16), text("moralbank-code"));
    let text_typ = (text("16"), typ.1.clone());
    let bool_label = (Value::Bool(true), int(0));
    let extra = (text("x"), int(1));
    let h = |e: &[&(Value, Value)]| cbor(&Value::Map(e.iter().map(|p| (*p).clone()).collect()));
    let [protected, payload, signature] = parts(&good());
    let mut cases: Vec<Case> = [
        (h(&[&alg, &kid]), SEED),
        (h(&[&alg, &kid, &code_typ]), SEED),
        (h(&[&alg, &kid, &text_typ]), SEED),
        (h(&[&es256, &kid, &typ]), SEED),
        (h(&[&bool_alg, &kid, &typ]), SEED),
        (h(&[&kid, &typ]), SEED),
        (h(&[&alg, &other_kid, &typ]), other),
        (h(&[&alg, &long_kid, &typ]), SEED),
        (h(&[&alg, &typ]), SEED),
        (h(&[&alg, &kid, &typ]), other),
        (h(&[&alg, &alg, &kid, &typ]), SEED),
        (h(&[&bool_label, &alg, &kid, &typ]), SEED),
        (h(&[&typ, &extra, &kid, &alg]), SEED),
        // -8 as a one-byte argument (38 07): the same header, not in preferred serialisation.
        (
            [&protected[..2], &[0x38, 0x07], &protected[3..]].concat(),
            SEED,
        ),
        (
            cbor(&Value::Tag(18, Box::new(Value::Map(vec![alg.clone()])))),
            SEED,
        ),
        (cbor(&Value::Array(vec![])), SEED),
    ]
    .into_iter()
    .map(|(header, seed)| at(signed(&header, &payload, &seed)))
    .collect();
    let p = || Value::Bytes(protected.clone());
    let twice = Value::Map(vec![(int(1), int(0)), (int(1), int(0))]);
    for (h, u) in [
        (p(), twice),
        (p(), Value::Null),
        (text("h"), Value::Map(vec![])),
    ] {
        cases.push(at(assemble(h, u, &payload, &signature)));
    }
    cases
}

type Change = Box<dyn Fn(&mut Entries)>;

fn change(f: impl Fn(&mut Entries) + 'static) -> Change {
    Box::new(f)
}

/// Payloads signed by the issuer's key with one fault each.
fn payload_cases() -> Vec<Case> {
    let row = |c: &str, y: i64, p: i64| {
        Value::Map(vec![
            (text("category"), text(c)),
            (text("year"), int(y)),
            (text("points"), int(p)),
        ])
    };
    let line = |a: i64, b: i64, c: i64| {
        Value::Map(vec![
            (text("table_version"), int(a)),
            (text("max_line_yuan"), int(b)),
            (text("rate_discount_bp"), int(c)),
        ])
    };
    let log = |o: Value, s: i64, r: Value| {
        Value::Map(vec![
            (text("origin"), o),
            (text("size"), int(s)),
            (text("root"), r),
        ])
    };
    let mut deep = int(0);
    for _ in 0..15 {
        deep = Value::Array(vec![deep]);
    }
    let changes = vec![
        change(|m| m.push((text("name"), text("王小明")))),
        change(|m| m.push((text("v"), int(1)))),
        change(|m| m.retain(|(k, _)| *k != text("badges"))),
        change(|m| m.swap(4, 5)),
        change(|m| m[7].0 = text("jti")),
        change(|m| m[8].0 = int(8)),
        change(set("v", int(2))),
        change(set("iss", text("yu\u{85}yao"))),
        change(set("aud", text(&"行".repeat(128)))),
        change(set("aud", text(&"行".repeat(129)))),
        change(set("sub", Value::Bytes(vec![1; 17]))),
        change(set("iat", Value::Integer(u64::MAX.into()))),
        change(set("iat", int(EXPIRES_AT))),
        change(set("exp", int(i64::MAX))),
        change(set("tier", int(256))),
        change(set("tier", Value::Bool(true))),
        change(set("tier", Value::Float(2.0))),
        change(set("lookback_months", int(-1))),
        change(set(
            "credit_points",
            Value::Tag(2, Box::new(Value::Bytes(vec![1; 9]))),
        )),
        change(set("points", Value::Array(vec![row("a", 2026, 1); 200]))),
        change(set("points", Value::Array(vec![row("a", 2026, 1); 201]))),
        change(set("points", Value::Array(vec![row("", 2026, 1)]))),
        change(set("points", Value::Array(vec![row("a", 65_536, 1)]))),
        change(set("points", Value::Array(vec![Value::Map(vec![])]))),
        change(set("badges", Value::Array(vec![text("a\u{7f}")]))),
        change(set("badges", deep.clone())),
        change(set("badges", Value::Array(vec![deep]))),
        change(set("green_cards", int(1 << 32))),
        change(set("in_publicity", Value::Null)),
        change(set("line", line(1, 2, 3))),
        change(set("line", Value::Null)),
        change(set("line", line(1, -2, 3))),
        change(set("line", Value::Array(vec![]))),
        change(set("log", log(text("o"), 1, Value::Bytes(vec![0; 31])))),
        change(set(
            "log",
            log(Value::Bytes(vec![]), 1, Value::Bytes(vec![0; 32])),
        )),
        change(set("log", Value::Tag(1, Box::new(int(0))))),
    ];
    let mut cases: Vec<Case> = changes.iter().map(|c| at(resigned(c.as_ref()))).collect();
    cases.push(Case {
        now: i64::MAX,
        ..at(resigned(&set("exp", int(i64::MAX))))
    });
    let [protected, payload, _] = parts(&good());
    let tagged = cbor(&Value::Tag(
        18,
        Box::new(ciborium::from_reader(payload.as_slice()).expect("map")),
    ));
    for p in [
        [payload.as_slice(), &[0]].concat(),
        tagged,
        vec![0xff],
        vec![],
    ] {
        cases.push(at(signed(&protected, &p, &SEED)));
    }
    cases
}

/// Key sets both read, or both refuse.
fn key_sets() -> Vec<String> {
    let jwk_of = |seed: &[u8; 32]| {
        let set = KeySet::new(vec![IssuerKey::from_seed(seed).public()]).expect("set");
        serde_json::from_str::<Json>(&set.to_jwks()).expect("jwks")["keys"][0].clone()
    };
    let ours = jwk_of(&SEED);
    let with = |field: &str, value: Json| {
        let mut k = ours.clone();
        k[field] = value;
        k
    };
    let rsa = json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"});
    let many: Vec<Json> = (0..33u8).map(|i| jwk_of(&[i; 32])).collect();
    [
        json!({"keys": [ours.clone()]}),
        json!({"keys": [rsa.clone(), ours.clone()]}),
        json!({"keys": [rsa]}),
        json!({"keys": [ours.clone(), ours.clone()]}),
        json!({"keys": [with("kid", json!("AAAAAAAAAAA"))]}),
        json!({"keys": [with("kid", Json::Null)]}),
        json!({"keys": [with("x", json!("AAAA"))]}),
        json!({"keys": [with("x", json!(format!("{}=", ours["x"].as_str().expect("x"))))]}),
        json!({"keys": [with("d", json!("AAAA"))]}),
        json!({"keys": [with("d", Json::Null)]}),
        json!({"keys": [with("alg", json!("ES256"))]}),
        json!({"keys": [with("use", json!("enc")), ours.clone()]}),
        json!({"keys": [with("crv", json!(25519))]}),
        json!({"keys": [{"x": "AAAA"}, ours]}),
        json!({"keys": many[..32].to_vec()}),
        json!({"keys": many}),
        json!({"nokeys": []}),
    ]
    .iter()
    .map(Json::to_string)
    .chain(["[1, 2]".to_string()])
    .collect()
}

fn run_driver(python: &str, input: &Json) -> Json {
    let mut child = Command::new(python)
        // -B: no __pycache__ in the source tree.
        .args(["-B", "-c", DRIVER, PY_DIR])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python runs");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the driver's JSON")
}

#[test]
fn the_python_verifier_answers_as_this_crate_does() {
    let Some(py) = python() else { return };
    let keys = keys();
    let cases: Vec<Case> = [text_cases(), header_cases(), payload_cases()]
        .into_iter()
        .flatten()
        .collect();
    let sets = key_sets();
    let input = json!({
        "jwks": keys.to_jwks(),
        "cases": cases.iter().map(|c| json!({"text": c.text, "audience": c.audience, "now": c.now, "skew": SKEW})).collect::<Vec<_>>(),
        "keySets": sets,
    });
    let answers = run_driver(py, &input);
    let results = answers["results"].as_array().expect("results");
    assert_eq!(results.len(), cases.len());
    let mut seen = std::collections::BTreeSet::new();
    for (case, python) in cases.iter().zip(results) {
        let rust = expected(verify_report(
            &case.text,
            &keys,
            case.audience,
            case.now,
            SKEW,
        ));
        assert_eq!(
            *python, rust,
            "{:.80} for {:?} at {}",
            case.text, case.audience, case.now
        );
        seen.insert(rust["error"].as_str().unwrap_or("ok").to_string());
    }
    // The corpus reaches every answer there is.
    let all = [
        "bad_field",
        "bad_signature",
        "expired",
        "not_base64",
        "not_cose",
        "not_yet_valid",
        "ok",
        "too_large",
        "unknown_key",
        "unsupported_algorithm",
        "wrong_audience",
        "wrong_prefix",
        "wrong_type",
    ];
    assert_eq!(seen.iter().map(String::as_str).collect::<Vec<_>>(), all);

    let python_sets = answers["sets"].as_array().expect("sets");
    assert_eq!(python_sets.len(), sets.len());
    for (set, python) in sets.iter().zip(python_sets) {
        let rust = KeySet::from_jwks(set).map_or(json!("error"), |s| json!(s.keys().len()));
        assert_eq!(*python, rust, "{set:.200}");
    }
}
