//! docs/credit-report.md publishes a test vector for banks writing their own verifier: the key,
//! the report's text, its protected header, payload (in CBOR diagnostic notation) and
//! signature, the key set, and what a verifier answers. All of it is checked here against this
//! crate, so the page cannot drift from the format.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use moralbank_code::{
    encode_report, verify_report, CategoryPoints, CreditReport, IssuerKey, KeySet, LogAnchor,
    ReportError, SuggestedLine, DEFAULT_CLOCK_SKEW_S,
};

/// 2026-03-02T02:00:00Z, 10:00 in China.
const ISSUED_AT: i64 = 1_772_416_800;
/// Seven days later.
const EXPIRES_AT: i64 = 1_773_021_600;
/// An hour after issue: when the vector is verified.
const NOW: i64 = 1_772_420_400;
const AUDIENCE: &str = "3f8a2c1e-6b4d-4e9a-9c7f-2d5e8b1a0c64";

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/credit-report.md");
    std::fs::read_to_string(path).expect("docs/credit-report.md")
}

fn key() -> IssuerKey {
    IssuerKey::from_seed(&[0x42; 32])
}

fn keys() -> KeySet {
    KeySet::new(vec![key().public()]).expect("key set")
}

fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).expect("hex").try_into().expect("length")
}

fn row(category: &str, year: u16, points: i64) -> CategoryPoints {
    CategoryPoints {
        category: category.into(),
        year,
        points,
    }
}

/// A household of three, 412 points in the last 36 months (137 each: tier 3 of
/// `0,30,100,300,1000`), one member with a moral green card, one deed still in publicity.
fn vector_report() -> CreditReport {
    CreditReport {
        issuer: "yuyao".into(),
        audience: AUDIENCE.into(),
        subject: hex_array("5c1f0e9a7b3d2c4e6f8a1b0d9e2c3f47"),
        issued_at: ISSUED_AT,
        expires_at: EXPIRES_AT,
        report_id: hex_array("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        consent_id: "7d3e9b2a-4c61-4f08-b5a2-91c7e0d4f6a3".into(),
        tier: 3,
        tier_rules: "household-per-capita/v1 0,30,100,300,1000".into(),
        lookback_months: 36,
        credit_points: 412,
        points: vec![
            row("blood-donation", 2024, 60),
            row("blood-donation", 2026, 20),
            row("filial-piety", 2025, 120),
            row("neighbourly-help", 2025, 40),
            row("volunteer-hour", 2024, 48),
            row("volunteer-hour", 2025, 96),
            row("volunteer-hour", 2026, 28),
        ],
        badges: vec!["green-card".into()],
        green_cards: 1,
        in_publicity: 1,
        line: Some(SuggestedLine {
            table_version: 2,
            max_line_yuan: 300_000,
            rate_discount_bp: 35,
        }),
        log: LogAnchor {
            origin: "yuyao.moralbank.example/log".into(),
            size: 18_342,
            root: hex_array("69e5abd9e819d73b4158be70d0ca7a0559121b53c1157dde8073bac238dc9dbb"),
        },
    }
}

/// The text in the `lang` fence between `<!-- name:begin -->` and `<!-- name:end -->`.
fn block<'a>(doc: &'a str, name: &str, lang: &str) -> &'a str {
    let begin = format!("<!-- {name}:begin -->");
    let end = format!("<!-- {name}:end -->");
    let from = doc.find(&begin).expect("begin marker") + begin.len();
    let to = from + doc[from..].find(&end).expect("end marker");
    let inner = doc[from..to].trim();
    let fence = format!("```{lang}\n");
    inner
        .strip_prefix(fence.as_str())
        .and_then(|s| s.strip_suffix("```"))
        .unwrap_or_else(|| panic!("a ```{lang} fence in {name}"))
        .trim_end()
}

/// The first word after `label` on the vector section's line that starts with it.
fn labelled<'a>(doc: &'a str, label: &str) -> &'a str {
    let section = &doc[doc.find("## 8. Test vector").expect("the vector's section")..];
    section
        .lines()
        .find_map(|l| l.strip_prefix(label).filter(|rest| rest.starts_with("  ")))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("a line `{label}` in the vector's section"))
}

/// CBOR diagnostic notation (RFC 8949 §8) on one line.
fn diag(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(s) => serde_json::to_string(s).expect("a string"),
        Value::Bytes(b) => format!("h'{}'", hex::encode(b)),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(diag).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", diag(k), diag(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Null => "null".into(),
        other => panic!("not in a report: {other:?}"),
    }
}

/// Diagnostic notation over lines: a map or array too long for one line puts each item on its
/// own line, indented by two spaces.
fn pretty(v: &Value, indent: usize) -> String {
    let inline = diag(v);
    if indent + inline.len() <= 96 {
        return inline;
    }
    let pad = " ".repeat(indent + 2);
    let (open, close, items): (&str, &str, Vec<String>) = match v {
        Value::Map(entries) => {
            let items = entries
                .iter()
                .map(|(k, v)| format!("{}: {}", diag(k), pretty(v, indent + 2)))
                .collect();
            ("{", "}", items)
        }
        Value::Array(items) => (
            "[",
            "]",
            items.iter().map(|v| pretty(v, indent + 2)).collect(),
        ),
        _ => return inline,
    };
    let body: Vec<String> = items.iter().map(|i| format!("{pad}{i}")).collect();
    format!(
        "{open}\n{}\n{}{close}",
        body.join(",\n"),
        " ".repeat(indent)
    )
}

/// The protected header, payload and signature of a report's text.
fn parts(text: &str) -> [Vec<u8>; 3] {
    let body = text.strip_prefix("MBCR1:").expect("prefix");
    let bytes = URL_SAFE_NO_PAD.decode(body).expect("base64url");
    let Value::Tag(18, sign1) = ciborium::from_reader(bytes.as_slice()).expect("cbor") else {
        panic!("tag 18")
    };
    let Value::Array(parts) = *sign1 else {
        panic!("an array")
    };
    let bytes = |v: &Value| v.as_bytes().expect("bstr").clone();
    [bytes(&parts[0]), bytes(&parts[2]), bytes(&parts[3])]
}

#[test]
fn the_published_vector_is_what_this_crate_signs_and_verifies() {
    let doc = doc();
    let key = key();
    let text = encode_report(&vector_report(), &key).expect("encodes");
    assert_eq!(block(&doc, "vector", "text"), text, "the report's text");
    assert_eq!(labelled(&doc, "seed"), hex::encode([0x42; 32]));
    assert_eq!(
        labelled(&doc, "public key"),
        hex::encode(key.public().as_bytes())
    );
    assert_eq!(
        labelled(&doc, "x"),
        URL_SAFE_NO_PAD.encode(key.public().as_bytes())
    );
    assert_eq!(labelled(&doc, "kid"), key.kid().to_string());
    let [protected, payload, signature] = parts(&text);
    assert_eq!(labelled(&doc, "protected"), hex::encode(&protected));
    assert_eq!(labelled(&doc, "signature"), hex::encode(&signature));
    let payload: Value = ciborium::from_reader(payload.as_slice()).expect("payload");
    assert_eq!(block(&doc, "payload", "text"), pretty(&payload, 0));
    assert!(
        doc.contains(&format!("`now` = {NOW}")),
        "the doc names `now`"
    );
    assert!(doc.contains(&format!("({} characters, one line)", text.len())));

    let report = verify_report(&text, &keys(), Some(AUDIENCE), NOW, DEFAULT_CLOCK_SKEW_S);
    assert_eq!(report, Ok(vector_report()));
    let verified: serde_json::Value =
        serde_json::from_str(block(&doc, "verified", "json")).expect("the verified JSON");
    assert_eq!(
        verified,
        serde_json::to_value(vector_report()).expect("json")
    );
}

#[test]
fn the_published_key_set_is_the_vectors() {
    let doc = doc();
    let published: serde_json::Value =
        serde_json::from_str(block(&doc, "keys", "json")).expect("the JWKS");
    let ours: serde_json::Value = serde_json::from_str(&keys().to_jwks()).expect("json");
    assert_eq!(published, ours);
    assert_eq!(
        KeySet::from_jwks(&published.to_string()).expect("reads"),
        keys()
    );
}

#[test]
fn the_published_refusals_of_the_vector_hold() {
    let text = encode_report(&vector_report(), &key()).expect("encodes");
    let keys = keys();
    let at = |audience: &str, now: i64| {
        verify_report(&text, &keys, Some(audience), now, DEFAULT_CLOCK_SKEW_S)
    };
    let doc = doc();
    assert!(doc.contains(&format!("At `now` = {} (`exp` + 30)", EXPIRES_AT + 30)));
    assert_eq!(
        at(AUDIENCE, EXPIRES_AT + 30),
        Err(ReportError::Expired {
            expires_at: EXPIRES_AT
        })
    );
    assert!(doc.contains(&format!("at {} (`iat` − 31)", ISSUED_AT - 31)));
    assert_eq!(
        at(AUDIENCE, ISSUED_AT - 31),
        Err(ReportError::NotYetValid {
            issued_at: ISSUED_AT
        })
    );
    assert_eq!(at("another-bank", NOW), Err(ReportError::WrongAudience));
    let other = KeySet::new(vec![IssuerKey::from_seed(&[0x43; 32]).public()]).expect("set");
    assert_eq!(
        verify_report(&text, &other, Some(AUDIENCE), NOW, 30),
        Err(ReportError::UnknownKey)
    );
}
