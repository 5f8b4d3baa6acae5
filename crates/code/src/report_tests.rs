use super::*;
use crate::claims::{Carrier, Claims, Holder, Issuer, Lifetimes, MaskedName, Pseudonym};
use crate::code::from_bytes;
use crate::code::{encode, verify, VerifyError, DEFAULT_CLOCK_SKEW_S};

pub(crate) fn sample() -> CreditReport {
    CreditReport {
        issuer: "yuyao".into(),
        audience: "bank-1".into(),
        subject: [1; 16],
        issued_at: 1_780_000_000,
        expires_at: 1_780_604_800,
        report_id: [2; 16],
        consent_id: "consent-1".into(),
        tier: 3,
        tier_rules: "household-per-capita/v1 0,20,50,100,200".into(),
        lookback_months: 36,
        credit_points: 120,
        points: vec![CategoryPoints {
            category: "blood-donation".into(),
            year: 2026,
            points: 120,
        }],
        badges: vec!["green-card".into()],
        green_cards: 1,
        in_publicity: 2,
        line: Some(SuggestedLine {
            table_version: 1,
            max_line_yuan: 200_000,
            rate_discount_bp: 2_000,
        }),
        log: LogAnchor {
            origin: "moralbank.example/log".into(),
            size: 42,
            root: [3; 32],
        },
    }
}

#[test]
fn a_report_round_trips_and_is_refused_for_another_bank() {
    let key = IssuerKey::from_seed(&[9; 32]);
    let keys = KeySet::new(vec![key.public()]).unwrap();
    let text = encode_report(&sample(), &key).unwrap();
    assert!(text.starts_with(REPORT_PREFIX));
    let now = 1_780_000_100;
    assert_eq!(
        verify_report(&text, &keys, Some("bank-1"), now, 30).unwrap(),
        sample()
    );
    assert_eq!(
        verify_report(&text, &keys, Some("bank-2"), now, 30),
        Err(ReportError::WrongAudience)
    );
}

// --- helpers ---------------------------------------------------------------------------------

const AUD: &str = "bank-1";
const NOW: i64 = 1_780_000_100;
const SKEW: i64 = DEFAULT_CLOCK_SKEW_S;

/// The payload's top-level keys, in order, as `docs/credit-report.md` lists them.
const DOCUMENTED_KEYS: &str = "v iss aud sub iat exp jti consent tier tier_rules lookback_months \
    credit_points points badges green_cards in_publicity line log";

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[9; 32])
}

fn keys() -> KeySet {
    KeySet::new(vec![key().public()]).unwrap()
}

fn good() -> String {
    encode_report(&sample(), &key()).unwrap()
}

/// Verified as the sample's bank would, at [`NOW`].
fn check(text: &str) -> Result<CreditReport, ReportError> {
    verify_report(text, &keys(), Some(AUD), NOW, SKEW)
}

fn text_of(bytes: &[u8]) -> String {
    format!("{REPORT_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn bytes_of(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.strip_prefix(REPORT_PREFIX).unwrap())
        .unwrap()
}

/// The protected header, payload and signature bytes of a report's text.
fn parts(text: &str) -> [Vec<u8>; 3] {
    let s = Sign1::parse(&bytes_of(text)).unwrap();
    [s.protected, s.payload, s.signature]
}

fn sign1_of(parts: Vec<Value>) -> Value {
    Value::Tag(COSE_SIGN1_TAG, Box::new(Value::Array(parts)))
}

/// A report's text of the three parts' bytes, whatever they are.
fn assemble(protected: &[u8], payload: &[u8], signature: &[u8]) -> String {
    let [p, pl, s] = [protected, payload, signature].map(|b| Value::Bytes(b.to_vec()));
    text_of(&to_bytes(&sign1_of(vec![p, Value::Map(vec![]), pl, s])))
}

/// Any protected header and payload bytes, signed by `key` over their Sig_structure.
fn signed_by(key: &IssuerKey, protected: &[u8], payload: &[u8]) -> String {
    let signature = key.sign(&sig_structure(protected, payload));
    assemble(protected, payload, &signature.to_bytes())
}

fn header(entries: Vec<(Value, Value)>) -> Vec<u8> {
    to_bytes(&Value::Map(entries))
}

fn kid_of(key: &IssuerKey) -> Value {
    Value::Bytes(key.kid().0.to_vec())
}

/// The header a report carries: `{1: -8, 4: kid, 16: "moralbank-credit-report"}`.
fn report_header(key: &IssuerKey) -> Vec<u8> {
    header(vec![
        (int(HEADER_ALG), int(ALG_EDDSA)),
        (int(HEADER_KID), kid_of(key)),
        (int(HEADER_TYP), text(REPORT_TYPE)),
    ])
}

/// A payload signed as the issuer would sign it.
fn resigned(payload: &[u8]) -> String {
    signed_by(&key(), &report_header(&key()), payload)
}

/// A map's entries, to edit.
type Entries = Vec<(Value, Value)>;

fn sample_entries() -> Entries {
    match sample().to_cbor() {
        Value::Map(m) => m,
        _ => unreachable!("a report is a map"),
    }
}

/// The sample's payload with `key`'s value replaced.
fn with(key: &str, value: Value) -> Vec<u8> {
    let mut m = sample_entries();
    m.iter_mut()
        .find(|(k, _)| *k == text(key))
        .expect("a documented key")
        .1 = value;
    to_bytes(&Value::Map(m))
}

/// A value of the same kind as `v` that says something else.
fn altered(v: &Value) -> Value {
    match v {
        Value::Integer(i) => Value::Integer((i128::from(*i) + 1).try_into().unwrap()),
        Value::Text(s) => Value::Text(format!("{s}x")),
        Value::Bytes(b) => Value::Bytes(b.iter().map(|x| x ^ 0x5a).collect()),
        Value::Array(items) => Value::Array([items.clone(), items.clone()].concat()),
        Value::Map(m) => {
            let mut m = m.clone();
            m[0].1 = altered(&m[0].1);
            Value::Map(m)
        }
        Value::Null => Value::Map(vec![]),
        other => panic!("the sample has no {other:?}"),
    }
}

/// `m`'s entry `i`'s value altered (for an array of maps: its first row's).
fn altered_inner(v: &Value, i: usize) -> Value {
    match v {
        Value::Map(m) => {
            let mut m = m.clone();
            m[i].1 = altered(&m[i].1);
            Value::Map(m)
        }
        Value::Array(rows) => {
            let mut rows = rows.clone();
            rows[0] = altered_inner(&rows[0], i);
            Value::Array(rows)
        }
        other => panic!("no entries in {other:?}"),
    }
}

// --- tampering: the payload changed, not signed again ----------------------------------------

/// The original header and signature around another payload: refused as `bad_signature`, while
/// the same payload signed by the issuer verifies (so the signature is what refuses it).
fn assert_tamper_refused(payload: &[u8], what: &str) {
    let [protected, original, signature] = parts(&good());
    assert_ne!(payload, original.as_slice(), "{what}: changed");
    assert_eq!(
        check(&assemble(&protected, payload, &signature)),
        Err(ReportError::BadSignature),
        "{what}"
    );
    let honest = verify_report(&resigned(payload), &keys(), None, NOW, SKEW);
    if what == "v" {
        assert_eq!(honest, Err(ReportError::BadField("v")));
    } else {
        let report = honest.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_ne!(report, sample(), "{what}");
    }
}

#[test]
fn changing_any_top_level_field_without_signing_again_is_a_bad_signature() {
    for (k, v) in sample_entries() {
        let Value::Text(name) = &k else {
            unreachable!("text keys")
        };
        assert_tamper_refused(&with(name, altered(&v)), name);
    }
    assert_tamper_refused(&with("line", Value::Null), "line removed");
    assert_tamper_refused(&with("points", Value::Array(vec![])), "points removed");
    assert_tamper_refused(&with("badges", Value::Array(vec![])), "badges removed");
}

#[test]
fn changing_a_points_row_the_line_or_the_log_without_signing_again_is_a_bad_signature() {
    let entries = sample_entries();
    let value = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == text(name))
            .unwrap()
            .1
            .clone()
    };
    for (field, inner) in [
        ("points", ["category", "year", "points"]),
        (
            "line",
            ["table_version", "max_line_yuan", "rate_discount_bp"],
        ),
        ("log", ["origin", "size", "root"]),
    ] {
        for (i, name) in inner.iter().enumerate() {
            let changed = with(field, altered_inner(&value(field), i));
            assert_tamper_refused(&changed, &format!("{field}.{name}"));
        }
    }
}

#[test]
fn every_changed_payload_or_signature_byte_is_a_bad_signature() {
    let [protected, payload, signature] = parts(&good());
    for i in 0..payload.len() {
        let mut p = payload.clone();
        p[i] ^= 0x01;
        let text = assemble(&protected, &p, &signature);
        assert_eq!(check(&text), Err(ReportError::BadSignature), "payload {i}");
    }
    for i in 0..signature.len() {
        let mut s = signature.clone();
        s[i] ^= 0x80;
        let text = assemble(&protected, &payload, &s);
        assert_eq!(
            check(&text),
            Err(ReportError::BadSignature),
            "signature {i}"
        );
    }
    let longer = [signature.as_slice(), &[0]].concat();
    for s in [&signature[..63], &longer[..], &[][..]] {
        let text = assemble(&protected, &payload, s);
        assert_eq!(
            check(&text),
            Err(ReportError::BadSignature),
            "{} bytes",
            s.len()
        );
    }
    // A changed header byte breaks the header or the signature: never a valid report.
    for i in 0..protected.len() {
        let mut h = protected.clone();
        h[i] ^= 0x01;
        let answer = check(&assemble(&h, &payload, &signature));
        assert!(
            matches!(
                answer,
                Err(ReportError::NotCose
                    | ReportError::WrongType
                    | ReportError::UnsupportedAlgorithm
                    | ReportError::UnknownKey
                    | ReportError::BadSignature)
            ),
            "header {i}: {answer:?}"
        );
    }
}

// --- the text and the COSE structure ---------------------------------------------------------

/// A moral code (`MB1:`), signed by the report's key.
fn moral_code() -> String {
    let holder = Holder {
        pseudonym: Pseudonym([7; 16]),
        tier: 3,
        badges: vec![],
        masked_name: MaskedName::parse("王*").unwrap(),
    };
    let issuer = Issuer::parse("yuyao").unwrap();
    let claims = Claims::issue(issuer, holder, Carrier::Phone, NOW, &Lifetimes::default());
    encode(&claims, &key()).unwrap()
}

#[test]
fn a_text_that_is_not_a_report_is_refused_by_its_first_fault() {
    let text = good();
    let body = &text[REPORT_PREFIX.len()..];
    let code = moral_code();
    let plus = format!("{REPORT_PREFIX}+{}", &body[1..]);
    for (case, want) in [
        (code.clone(), ReportError::WrongPrefix),
        (format!("mbcr1:{body}"), ReportError::WrongPrefix),
        (format!("MBCR2:{body}"), ReportError::WrongPrefix),
        (format!("\u{feff}{text}"), ReportError::WrongPrefix),
        (String::new(), ReportError::WrongPrefix),
        (format!("{text}="), ReportError::NotBase64),
        (format!("{text}*"), ReportError::NotBase64),
        (plus, ReportError::NotBase64),
        (format!("{REPORT_PREFIX}A"), ReportError::NotBase64),
        // One byte (0xd2) is `0g`; `0h` has a bit set past the byte's end.
        (format!("{REPORT_PREFIX}0h"), ReportError::NotBase64),
        (format!("{REPORT_PREFIX}0g"), ReportError::NotCose),
        (REPORT_PREFIX.to_string(), ReportError::NotCose),
        (
            format!("{REPORT_PREFIX}{}", "A".repeat(REPORT_CHARS_MAX - 6)),
            ReportError::NotCose,
        ),
        (
            format!("{REPORT_PREFIX}{}", "A".repeat(REPORT_CHARS_MAX - 5)),
            ReportError::TooLarge,
        ),
    ] {
        assert_eq!(check(&case), Err(want), "{case:.40}");
    }
    // Surrounding whitespace (a file's last newline) is not part of the text.
    assert_eq!(check(&format!(" {text}\r\n")), Ok(sample()));
    // A moral code's bytes behind the report's prefix are not a report, and a report's bytes
    // behind the code's prefix are not a code, even under one key.
    let code_bytes = base45::decode(code.strip_prefix("MB1:").unwrap()).unwrap();
    assert_eq!(check(&text_of(&code_bytes)), Err(ReportError::WrongType));
    let as_code = format!("MB1:{}", base45::encode(bytes_of(&text)));
    assert_eq!(
        verify(&as_code, &keys(), NOW, SKEW),
        Err(VerifyError::MissingClaim("iss"))
    );
}

#[test]
fn a_truncated_or_padded_report_is_not_cose() {
    let bytes = bytes_of(&good());
    for n in 0..bytes.len() {
        assert_eq!(
            check(&text_of(&bytes[..n])),
            Err(ReportError::NotCose),
            "{n} bytes"
        );
    }
    let longer = [bytes.as_slice(), &[0]].concat();
    assert_eq!(check(&text_of(&longer)), Err(ReportError::NotCose));
}

#[test]
fn a_malformed_cose_structure_is_not_cose() {
    let [p, pl, s] = parts(&good()).map(Value::Bytes);
    let empty = || Value::Map(vec![]);
    let four = |u: Value| vec![p.clone(), u, pl.clone(), s.clone()];
    let cases = [
        Value::Array(four(empty())),
        Value::Tag(17, Box::new(Value::Array(four(empty())))),
        sign1_of(vec![p.clone(), pl.clone(), s.clone()]),
        sign1_of(four(Value::Array(vec![]))),
        sign1_of(four(Value::Null)),
        sign1_of(vec![p.clone(), empty(), Value::Null, s.clone()]),
        sign1_of(vec![text("header"), empty(), pl.clone(), s.clone()]),
    ];
    for case in cases {
        let answer = check(&text_of(&to_bytes(&case)));
        assert_eq!(answer, Err(ReportError::NotCose), "{case:?}");
    }
    // The unprotected header is not signed: whatever map it is, nothing is read from it.
    let unprotected = Value::Map(vec![(int(HEADER_TYP), text("moralbank-code"))]);
    let answer = check(&text_of(&to_bytes(&sign1_of(four(unprotected)))));
    assert_eq!(answer, Ok(sample()));
}

// --- the protected header --------------------------------------------------------------------

#[test]
fn a_header_of_another_type_algorithm_or_key_is_refused_as_such() {
    let k = key();
    let payload = to_bytes(&sample().to_cbor());
    let stranger = IssuerKey::from_seed(&[8; 32]);
    let alg = (int(HEADER_ALG), int(ALG_EDDSA));
    let kid = (int(HEADER_KID), kid_of(&k));
    let typ = (int(HEADER_TYP), text(REPORT_TYPE));
    let refused = |entries: Vec<(Value, Value)>, signer: &IssuerKey| {
        check(&signed_by(signer, &header(entries), &payload)).expect_err("refused")
    };
    let typed = |t: Value| vec![alg.clone(), kid.clone(), (int(HEADER_TYP), t)];
    // The moral code's header: no type.
    assert_eq!(
        refused(vec![alg.clone(), kid.clone()], &k),
        ReportError::WrongType
    );
    for t in [
        text("moralbank-code"),
        Value::Bytes(REPORT_TYPE.into()),
        Value::Null,
    ] {
        assert_eq!(refused(typed(t), &k), ReportError::WrongType);
    }
    let text_label = vec![alg.clone(), kid.clone(), (text("16"), text(REPORT_TYPE))];
    assert_eq!(refused(text_label, &k), ReportError::WrongType);
    let es256 = vec![(int(HEADER_ALG), int(-7)), kid.clone(), typ.clone()];
    assert_eq!(refused(es256, &k), ReportError::UnsupportedAlgorithm);
    let no_alg = vec![kid.clone(), typ.clone()];
    assert_eq!(refused(no_alg, &k), ReportError::UnsupportedAlgorithm);
    let theirs = vec![
        alg.clone(),
        (int(HEADER_KID), kid_of(&stranger)),
        typ.clone(),
    ];
    assert_eq!(refused(theirs, &stranger), ReportError::UnknownKey);
    let long_kid = vec![
        alg.clone(),
        (int(HEADER_KID), Value::Bytes(vec![1; 9])),
        typ.clone(),
    ];
    assert_eq!(refused(long_kid, &k), ReportError::UnknownKey);
    assert_eq!(
        refused(vec![alg.clone(), typ.clone()], &k),
        ReportError::UnknownKey
    );
    // The set's kid, another key's signature.
    let ours = vec![alg.clone(), kid.clone(), typ.clone()];
    assert_eq!(refused(ours, &stranger), ReportError::BadSignature);
    let twice = vec![alg.clone(), alg.clone(), kid.clone(), typ.clone()];
    assert_eq!(refused(twice, &k), ReportError::NotCose);
    let bool_label = vec![
        alg.clone(),
        kid.clone(),
        typ.clone(),
        (Value::Bool(true), int(0)),
    ];
    assert_eq!(refused(bool_label, &k), ReportError::NotCose);
    // Labels in another order, and one more: still a report's header.
    let reordered = vec![typ, kid, alg, (text("x"), int(1))];
    assert_eq!(
        check(&signed_by(&k, &header(reordered), &payload)),
        Ok(sample())
    );
    let not_a_map = to_bytes(&Value::Array(vec![int(1), int(-8)]));
    assert_eq!(
        check(&signed_by(&k, &not_a_map, &payload)),
        Err(ReportError::NotCose)
    );
}

// --- times and audience ----------------------------------------------------------------------

#[test]
fn a_report_is_valid_from_iat_minus_skew_until_exp_plus_skew_for_its_bank_only() {
    let (text, keys, r) = (good(), keys(), sample());
    let expired = Err(ReportError::Expired {
        expires_at: r.expires_at,
    });
    let at = |now: i64| verify_report(&text, &keys, Some(AUD), now, SKEW);
    assert_eq!(at(r.issued_at - SKEW), Ok(sample()));
    assert_eq!(
        at(r.issued_at - SKEW - 1),
        Err(ReportError::NotYetValid {
            issued_at: r.issued_at
        })
    );
    assert_eq!(at(r.expires_at + SKEW - 1), Ok(sample()));
    assert_eq!(at(r.expires_at + SKEW), expired.clone());
    let no_skew = verify_report(&text, &keys, Some(AUD), r.expires_at, 0);
    assert_eq!(no_skew, expired.clone());
    for other in ["bank-2", "BANK-1", "bank-1 ", ""] {
        let answer = verify_report(&text, &keys, Some(other), NOW, SKEW);
        assert_eq!(answer, Err(ReportError::WrongAudience), "{other:?}");
    }
    // The audience is checked before the times; without one, any bank's report verifies.
    let late = verify_report(&text, &keys, Some("bank-2"), r.expires_at + 3_600, SKEW);
    assert_eq!(late, Err(ReportError::WrongAudience));
    assert_eq!(verify_report(&text, &keys, None, NOW, SKEW), Ok(sample()));
    assert_eq!(verify_report(&text, &keys, None, i64::MAX, SKEW), expired);
}

// --- the payload, signed by the issuer but not as the format says -----------------------------

#[test]
fn a_payload_with_a_key_too_many_too_few_or_out_of_order_is_a_bad_field() {
    let edited = |change: &dyn Fn(&mut Entries)| {
        let mut m = sample_entries();
        change(&mut m);
        check(&resigned(&to_bytes(&Value::Map(m))))
    };
    let bad = |field| Err(ReportError::BadField(field));
    assert_eq!(
        edited(&|m| m.push((text("name"), text("王小明")))),
        bad("report")
    );
    assert_eq!(edited(&|m| m.push((text("v"), int(1)))), bad("report"));
    assert_eq!(
        edited(&|m| m.retain(|(k, _)| *k != text("badges"))),
        bad("report")
    );
    assert_eq!(edited(&|m| m.swap(4, 5)), bad("iat"));
    assert_eq!(edited(&|m| m.swap(0, 17)), bad("v"));
    assert_eq!(edited(&|m| m[8].0 = text("Tier")), bad("tier"));
    assert_eq!(edited(&|m| m[8].0 = int(8)), bad("tier"));
    assert_eq!(edited(&|m| m[7].0 = text("jti")), bad("consent"));
    assert_eq!(
        check(&resigned(&to_bytes(&int(1)))),
        Err(ReportError::BadField("report"))
    );
}

/// One row of `points`, as CBOR.
fn row(category: &str, year: i64, points: i64) -> Value {
    Value::Map(vec![
        (text("category"), text(category)),
        (text("year"), int(year)),
        (text("points"), int(points)),
    ])
}

fn map3(keys: [&str; 3], values: [Value; 3]) -> Value {
    Value::Map(keys.iter().map(|k| text(k)).zip(values).collect())
}

#[test]
fn a_field_of_the_wrong_type_or_out_of_its_limits_is_a_bad_field() {
    let rows = |n: usize| Value::Array(vec![row("volunteer-hour", 2025, 1); n]);
    let badges = |n: usize| Value::Array(vec![text("volunteer"); n]);
    let line = ["table_version", "max_line_yuan", "rate_discount_bp"];
    let log = ["origin", "size", "root"];
    let root = || Value::Bytes(vec![3; 32]);
    let cases = [
        ("v", int(2), "v"),
        ("v", text("1"), "v"),
        ("iss", text(""), "iss"),
        ("iss", text("yu\u{7}yao"), "iss"),
        ("iss", int(1), "iss"),
        ("aud", text(&"a".repeat(TEXT_CHARS_MAX + 1)), "aud"),
        ("sub", Value::Bytes(vec![1; 15]), "sub"),
        ("sub", text("0101"), "sub"),
        ("iat", text("1780000000"), "iat"),
        ("iat", Value::Integer(u64::MAX.into()), "iat"),
        ("exp", int(1_780_000_000), "exp"),
        ("jti", Value::Bytes(vec![2; 17]), "jti"),
        ("consent", Value::Null, "consent"),
        ("tier", int(256), "tier"),
        ("tier", int(-1), "tier"),
        ("tier_rules", text("a\nb"), "tier_rules"),
        ("lookback_months", Value::Bool(true), "lookback_months"),
        ("credit_points", Value::Null, "credit_points"),
        ("points", Value::Array(vec![int(1)]), "points"),
        ("points", rows(ROWS_MAX + 1), "points"),
        ("points", Value::Array(vec![row("", 2025, 1)]), "category"),
        ("points", Value::Array(vec![row("a", 65_536, 1)]), "year"),
        (
            "points",
            Value::Array(vec![map3(
                ["year", "category", "points"],
                [int(2025), text("a"), int(1)],
            )]),
            "category",
        ),
        ("points", text("none"), "points"),
        ("badges", Value::Array(vec![int(1)]), "badges"),
        ("badges", badges(ROWS_MAX + 1), "badges"),
        ("badges", Value::Array(vec![text("")]), "badges"),
        ("green_cards", int(-1), "green_cards"),
        ("in_publicity", int(1 << 32), "in_publicity"),
        ("line", text("none"), "line"),
        ("line", Value::Map(vec![]), "line"),
        (
            "line",
            map3(line, [int(1), int(-1), int(0)]),
            "max_line_yuan",
        ),
        (
            "line",
            map3(line, [int(1), int(1), int(1 << 32)]),
            "rate_discount_bp",
        ),
        ("log", Value::Null, "log"),
        ("log", map3(log, [text(""), int(1), root()]), "origin"),
        ("log", map3(log, [text("o"), int(-1), root()]), "size"),
        (
            "log",
            map3(log, [text("o"), int(1), Value::Bytes(vec![3; 31])]),
            "root",
        ),
    ];
    for (key, value, field) in cases {
        let answer = check(&resigned(&with(key, value.clone())));
        assert_eq!(
            answer,
            Err(ReportError::BadField(field)),
            "{key}: {value:?}"
        );
    }
    // At the limits, and with no line: valid.
    for (key, value) in [
        ("points", rows(ROWS_MAX)),
        ("badges", badges(ROWS_MAX)),
        ("line", Value::Null),
        ("credit_points", int(-5)),
        ("aud", text(&"行".repeat(TEXT_CHARS_MAX))),
    ] {
        let report = verify_report(&resigned(&with(key, value)), &keys(), None, NOW, SKEW);
        assert!(report.is_ok(), "{key}: {report:?}");
    }
}

/// `bytes` with the first `from` replaced by `to`.
fn splice(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("present");
    [&bytes[..at], to, &bytes[at + from.len()..]].concat()
}

#[test]
fn a_payload_not_in_preferred_serialisation_or_outside_the_subset_is_not_cose() {
    let payload = to_bytes(&sample().to_cbor());
    let tier = [&[0x64][..], b"tier"].concat();
    let badges = [&[0x66][..], b"badges"].concat();
    let cases = [
        // tier 3 as a one-byte argument (18 03), not in its head.
        splice(
            &payload,
            &[&tier[..], &[0x03]].concat(),
            &[&tier[..], &[0x18, 0x03]].concat(),
        ),
        // badges as an indefinite-length array.
        splice(
            &payload,
            &[&badges[..], &[0x81, 0x6a], b"green-card"].concat(),
            &[&badges[..], &[0x9f, 0x6a], b"green-card", &[0xff]].concat(),
        ),
        [payload.as_slice(), &[0x00]].concat(),
        with("tier", Value::Float(3.0)),
        with(
            "credit_points",
            Value::Tag(2, Box::new(Value::Bytes(vec![1, 0, 0, 0, 0, 0, 0, 0, 0]))),
        ),
        with("in_publicity", Value::Tag(1, Box::new(int(2)))),
        b"\xff".to_vec(),
    ];
    for case in cases {
        assert_eq!(
            check(&resigned(&case)),
            Err(ReportError::NotCose),
            "{}",
            hex::encode(&case)
        );
    }
    // Nested 16 deep below the payload's map, and 17.
    let mut deep = int(0);
    for _ in 0..15 {
        deep = Value::Array(vec![deep]);
    }
    let payload = with("badges", deep.clone());
    assert_eq!(
        check(&resigned(&payload)),
        Err(ReportError::BadField("badges"))
    );
    let payload = with("badges", Value::Array(vec![deep]));
    assert_eq!(check(&resigned(&payload)), Err(ReportError::NotCose));
}

// --- what a report says, and does not ---------------------------------------------------------

#[test]
fn the_payloads_keys_are_exactly_the_documented_ones() {
    let payload = parts(&good())[1].clone();
    let Some(Value::Map(top)) = from_bytes(&payload) else {
        panic!("a map")
    };
    let keys_of = |entries: &[(Value, Value)]| {
        entries
            .iter()
            .map(|(k, _)| k.as_text().expect("text keys").to_string())
            .collect::<Vec<_>>()
    };
    let documented: Vec<&str> = DOCUMENTED_KEYS.split_whitespace().collect();
    assert_eq!(keys_of(&top), documented);
    let field = |name: &str| &top.iter().find(|(k, _)| *k == text(name)).unwrap().1;
    let Value::Array(rows) = field("points") else {
        panic!("points")
    };
    for r in rows {
        assert_eq!(keys_of(r.as_map().unwrap()), ["category", "year", "points"]);
    }
    assert_eq!(
        keys_of(field("line").as_map().unwrap()),
        ["table_version", "max_line_yuan", "rate_discount_bp"]
    );
    assert_eq!(
        keys_of(field("log").as_map().unwrap()),
        ["origin", "size", "root"]
    );
    // The figures only: no text but names of rules, categories, badges, the log and the parties.
    let texts: Vec<&str> = top.iter().filter_map(|(_, v)| v.as_text()).collect();
    assert_eq!(
        texts,
        ["yuyao", "bank-1", "consent-1", sample().tier_rules.as_str()]
    );
}

#[test]
fn a_report_that_breaks_the_formats_limits_is_not_signed() {
    let k = key();
    let mut r = sample();
    r.expires_at = r.issued_at;
    assert_eq!(encode_report(&r, &k), Err(ReportError::BadField("exp")));
    let mut r = sample();
    r.issuer = "yu\nyao".into();
    assert_eq!(encode_report(&r, &k), Err(ReportError::BadField("iss")));
    let mut r = sample();
    r.badges = vec!["volunteer".into(); ROWS_MAX + 1];
    assert_eq!(encode_report(&r, &k), Err(ReportError::BadField("badges")));
    let mut r = sample();
    r.points[0].category = String::new();
    // The same name the verifier gives a bad category.
    assert_eq!(
        encode_report(&r, &k),
        Err(ReportError::BadField("category"))
    );
    let mut r = sample();
    r.points = vec![r.points[0].clone(); ROWS_MAX + 1];
    assert_eq!(encode_report(&r, &k), Err(ReportError::BadField("points")));
    let mut r = sample();
    let long = "c".repeat(TEXT_CHARS_MAX);
    r.points = vec![
        CategoryPoints {
            category: long,
            year: 2026,
            points: 1
        };
        ROWS_MAX
    ];
    assert_eq!(encode_report(&r, &k), Err(ReportError::TooLarge));
    // The largest report the limits allow with short texts is signed and read back.
    let mut r = sample();
    r.points = vec![r.points[0].clone(); ROWS_MAX];
    r.badges = vec!["volunteer".into(); ROWS_MAX];
    r.line = None;
    let text = encode_report(&r, &k).unwrap();
    assert_eq!(check(&text), Ok(r));
}
