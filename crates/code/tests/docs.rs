#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! docs/moral-code.md publishes the test vector and a JavaScript example: both are checked here
//! against this crate, so the page a partner writes a verifier from cannot drift.

mod common;

use ciborium::Value;
use common::*;
use moralbank_code::verify;
use std::process::Command;

fn doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/moral-code.md");
    std::fs::read_to_string(path).expect("docs/moral-code.md")
}

/// The vector's protected header, payload and signature bytes.
fn vector_parts() -> [Vec<u8>; 3] {
    let Value::Tag(18, inner) = ciborium::from_reader(vector_cbor().as_slice()).expect("cbor")
    else {
        panic!("tag 18")
    };
    let Value::Array(parts) = *inner else {
        panic!("array")
    };
    let bytes = |v: &Value| v.as_bytes().expect("bstr").clone();
    [bytes(&parts[0]), bytes(&parts[2]), bytes(&parts[3])]
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(vec![]),
        Value::Bytes(payload.to_vec()),
    ]))
}

#[test]
fn the_documented_test_vector_is_the_one_this_crate_makes() {
    let doc = doc();
    let key = vector_key();
    let [protected, payload, signature] = vector_parts();
    let expected_lines = [
        format!("seed (d)      {SEED_HEX}"),
        format!("public key    {PUBLIC_HEX}"),
        format!(
            "kid           {}   (bytes {})",
            key.kid(),
            hex::encode(key.kid().0)
        ),
        format!("\n{VECTOR_CODE}\n"),
        format!("\n{VECTOR_CBOR_HEX}\n"),
        format!("protected     {}\n", hex::encode(&protected)),
        format!("payload       {}\n", hex::encode(&payload)),
        format!(
            "Sig_structure {}\n",
            hex::encode(sig_structure(&protected, &payload))
        ),
        format!("signature     {}\n", hex::encode(&signature)),
    ];
    for line in expected_lines {
        assert!(doc.contains(&line), "docs/moral-code.md lacks {line:?}");
    }

    // The JWKS as shown, and the decoded claims as shown, are what the code produces.
    let jwks_in_doc = between(&doc, "```json\n", "```", 0);
    let jwks: serde_json::Value = serde_json::from_str(jwks_in_doc).expect("JWKS in the doc");
    let ours: serde_json::Value = serde_json::from_str(&keys_of(&[&key]).to_jwks()).expect("json");
    assert_eq!(jwks, ours);

    let claims_in_doc: serde_json::Value =
        serde_json::from_str(between(&doc, "```json\n", "```", 1)).expect("claims in the doc");
    let claims = verify(VECTOR_CODE, &keys_of(&[&key]), ISSUED_AT + 10, SKEW_S).expect("verifies");
    assert_eq!(claims_in_doc["codeId"], claims.code_id.to_string());
    assert_eq!(
        claims_in_doc["pseudonym"],
        claims.holder.pseudonym.to_string()
    );
    assert_eq!(claims_in_doc["expiresAt"], claims.expires_at);
    assert_eq!(
        claims_in_doc["maskedName"],
        claims.holder.masked_name.as_str()
    );
    assert!(doc.contains("(279 characters, one line)") && VECTOR_CODE.len() == 279);
}

/// The `n`th text between `start` and `end`.
fn between<'a>(doc: &'a str, start: &str, end: &str, n: usize) -> &'a str {
    let from = doc.match_indices(start).nth(n).expect("start").0 + start.len();
    let len = doc[from..].find(end).expect("end");
    &doc[from..from + len]
}

#[test]
fn the_documented_javascript_verifies_the_vectors_signature() {
    let has_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_node {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but node is missing"
        );
        eprintln!("skipping: node is not installed");
        return;
    }
    let doc = doc();
    let snippet = between(&doc, "```js\n", "```", 0);
    let [protected, payload, signature] = vector_parts();
    let mut tampered = payload.clone();
    tampered[10] ^= 1;
    let script = format!(
        "{snippet}\n\
         const hex = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));\n\
         const jwk = {{ x: '{x}' }};\n\
         const good = await verifySignature(jwk, hex('{p}'), hex('{pl}'), hex('{s}'));\n\
         const bad = await verifySignature(jwk, hex('{p}'), hex('{t}'), hex('{s}'));\n\
         process.stdout.write(JSON.stringify([good, bad]));\n",
        x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        p = hex::encode(&protected),
        pl = hex::encode(&payload),
        t = hex::encode(&tampered),
        s = hex::encode(&signature),
    );
    let out = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[true,false]");
}
