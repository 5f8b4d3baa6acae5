#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The published test vector (docs/moral-code.md) and helpers shared by the tests.
#![allow(dead_code)]

use ciborium::Value;
use ed25519_dalek::{Signer, SigningKey};
use moralbank_code::{
    Badge, Claims, CodeId, Holder, Issuer, IssuerKey, KeySet, MaskedName, Pseudonym,
};

/// RFC 8032 §7.1 test 1's private key, so a partner can check the public key against the RFC.
pub const SEED_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
pub const PUBLIC_HEX: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/// 2026-01-01T00:00:00Z.
pub const ISSUED_AT: i64 = 1_767_225_600;
pub const SKEW_S: i64 = moralbank_code::DEFAULT_CLOCK_SKEW_S;

/// The vector's code, as docs/moral-code.md publishes it.
pub const VECTOR_CODE: &str = concat!(
    "MB1:RRQT 9P60GO0HD4WD6ZHKYNK8CK8LC.70/FFNFFP1EBF3U$A6HBBF3U$A70055AL72TL6$ZA05F8JJGXNO2S",
    "/BW100000V%K65ATK404DGWLDFUV+RFCJ:SA3126H0-LGM3D$ CZ-DGPCYKE/ED*3E2%E7WE5$C2P0.1T7BK$6T",
    "..H2+U 48:E0.X4/4E365GW1B/KF1G5/7.ZPTWDHZOQ3DRYB-PF0/6K.G9T0Y%1QDT-BLTM4Q2S96DF5EN635QB",
    "/XHIIMV+MHGAZ9OC0",
);

/// The vector's CBOR (the Base45 decoding of the code after `MB1:`), in hex.
pub const VECTOR_CBOR_HEX: &str = concat!(
    "d2844da20127044821fe31dfa154a261a05862a50165797579616f041a6955b95a061a6955b900075000112233",
    "445566778899aabbccddeeff3a00010000a501500123456789abcdeffedcba9876543210020303826a67726565",
    "6e2d6361726469766f6c756e746565720467e5bca02ae6988e05f458402002a2259b6f9d289e0d99a5ce7ecc3e",
    "f3cc126c92c41067765d187b353705860605220eb9e7c8a835239fddf067ec6fae18e05b9a8c71b142b52d51fb",
    "bf900c",
);

pub fn vector_seed() -> [u8; 32] {
    hex::decode(SEED_HEX)
        .expect("hex")
        .try_into()
        .expect("32 bytes")
}

pub fn vector_key() -> IssuerKey {
    IssuerKey::from_seed(&vector_seed())
}

pub fn vector_claims() -> Claims {
    Claims {
        issuer: Issuer::parse("yuyao").expect("issuer"),
        issued_at: ISSUED_AT,
        expires_at: ISSUED_AT + 90,
        code_id: CodeId(hex16("00112233445566778899aabbccddeeff")),
        printed_card: false,
        holder: Holder {
            pseudonym: Pseudonym(hex16("0123456789abcdeffedcba9876543210")),
            tier: 3,
            badges: vec![
                Badge::parse("green-card").expect("badge"),
                Badge::parse("volunteer").expect("badge"),
            ],
            masked_name: MaskedName::parse("张*明").expect("name"),
        },
    }
}

pub fn keys_of(keys: &[&IssuerKey]) -> KeySet {
    KeySet::new(keys.iter().map(|k| k.public()).collect()).expect("key set")
}

pub fn hex16(s: &str) -> [u8; 16] {
    hex::decode(s).expect("hex").try_into().expect("16 bytes")
}

pub fn cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).expect("cbor");
    out
}

pub fn int(i: i64) -> Value {
    Value::Integer(i.into())
}

/// The CBOR of a code's text (after the prefix).
pub fn code_bytes(code: &str) -> Vec<u8> {
    base45::decode(code.strip_prefix("MB1:").expect("prefix")).expect("base45")
}

pub fn code_of_bytes(bytes: &[u8]) -> String {
    format!("MB1:{}", base45::encode(bytes))
}

/// The vector's claims map as a CBOR value, to take apart and sign again.
pub fn vector_payload() -> Vec<(Value, Value)> {
    let Value::Tag(18, sign1) = ciborium::from_reader(vector_cbor().as_slice()).expect("cbor")
    else {
        panic!("tagged")
    };
    let Value::Array(parts) = *sign1 else {
        panic!("array")
    };
    let Value::Bytes(payload) = &parts[2] else {
        panic!("bstr")
    };
    match ciborium::from_reader(payload.as_slice()).expect("payload") {
        Value::Map(m) => m,
        _ => panic!("map"),
    }
}

pub fn vector_cbor() -> Vec<u8> {
    hex::decode(VECTOR_CBOR_HEX).expect("hex")
}

/// A COSE_Sign1 built by hand: any protected header and payload, signed by `seed`'s key over
/// the RFC 9052 Sig_structure. For codes this crate would never issue.
pub fn hand_made_code(protected: &Value, payload: &Value, seed: &[u8; 32]) -> String {
    let protected = cbor(protected);
    let payload = cbor(payload);
    let tbs = cbor(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.clone()),
        Value::Bytes(vec![]),
        Value::Bytes(payload.clone()),
    ]));
    let signature = SigningKey::from_bytes(seed).sign(&tbs);
    let sign1 = Value::Tag(
        18,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(vec![]),
            Value::Bytes(payload),
            Value::Bytes(signature.to_bytes().to_vec()),
        ])),
    );
    code_of_bytes(&cbor(&sign1))
}

/// The protected header this crate writes, for `kid`.
pub fn eddsa_header(kid: &[u8]) -> Value {
    Value::Map(vec![
        (int(1), int(-8)),
        (int(4), Value::Bytes(kid.to_vec())),
    ])
}
