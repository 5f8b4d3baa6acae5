#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The moral code end to end: the published test vector, round trips, and every way a code is
//! refused, each with its own reason and never with a panic.

mod common;

use ciborium::Value;
use common::*;
use moralbank_code::{
    encode, verify, Badge, Carrier, Claims, CodeQr, EncodeError, Holder, Issuer, IssuerKey, KeySet,
    Lifetimes, MaskedName, Pseudonym, VerifyError, CODE_CHARS_MAX,
};

fn holder() -> Holder {
    Holder {
        pseudonym: Pseudonym([7; 16]),
        tier: 1,
        badges: vec![Badge::parse("green-card").expect("badge")],
        masked_name: MaskedName::parse("王*").expect("name"),
    }
}

fn yuyao() -> Issuer {
    Issuer::parse("yuyao").expect("issuer")
}

#[test]
fn the_published_test_vector_encodes_byte_for_byte() {
    let key = vector_key();
    assert_eq!(hex::encode(key.public().as_bytes()), PUBLIC_HEX);
    assert_eq!(key.kid().to_string(), "If4x36FUomE");
    let code = encode(&vector_claims(), &key).expect("encodes");
    assert_eq!(code, VECTOR_CODE);
    assert_eq!(hex::encode(code_bytes(&code)), VECTOR_CBOR_HEX);
    assert_eq!(
        verify(VECTOR_CODE, &keys_of(&[&key]), ISSUED_AT + 10, SKEW_S),
        Ok(vector_claims())
    );
}

#[test]
fn the_published_key_set_reads_back_to_the_vectors_key() {
    let jwks = keys_of(&[&vector_key()]).to_jwks();
    let json: serde_json::Value = serde_json::from_str(&jwks).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"keys": [{
            "kty": "OKP", "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "If4x36FUomE", "alg": "EdDSA", "use": "sig"
        }]})
    );
}

#[test]
fn a_phone_code_round_trips_and_is_small_enough_for_an_old_phones_camera() {
    let key = IssuerKey::generate();
    let claims = Claims::issue(
        yuyao(),
        holder(),
        Carrier::Phone,
        1_000_000,
        &Lifetimes::default(),
    );
    let code = encode(&claims, &key).expect("encodes");
    assert!(code.starts_with("MB1:"));
    let back = verify(&code, &keys_of(&[&key]), 1_000_000, SKEW_S).expect("verifies");
    assert_eq!(back, claims);
    assert_eq!(back.expires_at - back.issued_at, 90);
    assert!(!back.printed_card);

    // The vector is a typical code (two badges, a three-character name): 279 characters, QR
    // version 10 (57×57 modules) at level M.
    assert_eq!(VECTOR_CODE.len(), 279);
    let qr = CodeQr::new(VECTOR_CODE).expect("fits");
    assert_eq!((qr.version(), qr.modules()), (10, 57));
}

#[test]
fn a_printed_card_round_trips_with_its_flag_and_long_lifetime() {
    let key = IssuerKey::generate();
    let lifetimes = Lifetimes {
        phone_s: 60,
        printed_card_s: 30 * 86_400,
    };
    let claims = Claims::issue(
        yuyao(),
        holder(),
        Carrier::PrintedCard,
        1_000_000,
        &lifetimes,
    );
    let code = encode(&claims, &key).expect("encodes");
    let keys = keys_of(&[&key]);
    let back = verify(&code, &keys, 1_000_000 + 29 * 86_400, SKEW_S).expect("verifies");
    assert!(back.printed_card);
    assert_eq!(back.expires_at, 1_000_000 + 30 * 86_400);
    assert_eq!(
        verify(&code, &keys, 1_000_000 + 31 * 86_400, SKEW_S),
        Err(VerifyError::Expired {
            expires_at: 1_000_000 + 30 * 86_400
        })
    );
}

#[test]
fn codes_of_a_retired_key_verify_while_it_is_still_published() {
    let (old, new) = (IssuerKey::generate(), IssuerKey::generate());
    let claims = Claims::issue(
        yuyao(),
        holder(),
        Carrier::Phone,
        5_000,
        &Lifetimes::default(),
    );
    let (by_old, by_new) = (
        encode(&claims, &old).expect("old"),
        encode(&claims, &new).expect("new"),
    );
    let both = keys_of(&[&new, &old]);
    assert!(verify(&by_old, &both, 5_000, SKEW_S).is_ok());
    assert!(verify(&by_new, &both, 5_000, SKEW_S).is_ok());
    assert_eq!(
        verify(&by_old, &keys_of(&[&new]), 5_000, SKEW_S),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn a_code_expires_at_exp_plus_the_clock_skew() {
    let keys = keys_of(&[&vector_key()]);
    let exp = ISSUED_AT + 90;
    assert!(verify(VECTOR_CODE, &keys, exp + SKEW_S - 1, SKEW_S).is_ok());
    assert_eq!(
        verify(VECTOR_CODE, &keys, exp + SKEW_S, SKEW_S),
        Err(VerifyError::Expired { expires_at: exp })
    );
    assert_eq!(
        verify(VECTOR_CODE, &keys, exp, 0),
        Err(VerifyError::Expired { expires_at: exp })
    );
}

#[test]
fn a_code_from_the_future_beyond_the_skew_is_not_yet_valid() {
    let keys = keys_of(&[&vector_key()]);
    assert!(verify(VECTOR_CODE, &keys, ISSUED_AT - SKEW_S, SKEW_S).is_ok());
    assert_eq!(
        verify(VECTOR_CODE, &keys, ISSUED_AT - SKEW_S - 1, SKEW_S),
        Err(VerifyError::NotYetValid {
            issued_at: ISSUED_AT
        })
    );
}

#[test]
fn a_code_signed_by_a_key_not_in_the_set_is_an_unknown_key() {
    let other = IssuerKey::generate();
    assert_eq!(
        verify(VECTOR_CODE, &keys_of(&[&other]), ISSUED_AT, SKEW_S),
        Err(VerifyError::UnknownKey)
    );
}

#[test]
fn a_forgery_naming_the_real_kid_is_a_bad_signature() {
    let real = vector_key();
    let forger = [42u8; 32];
    let code = hand_made_code(
        &eddsa_header(&real.kid().0),
        &Value::Map(vector_payload()),
        &forger,
    );
    assert_eq!(
        verify(&code, &keys_of(&[&real]), ISSUED_AT, SKEW_S),
        Err(VerifyError::BadSignature)
    );
    // The same bytes signed by the real key are a valid code: the test builds codes right.
    let genuine = hand_made_code(
        &eddsa_header(&real.kid().0),
        &Value::Map(vector_payload()),
        &vector_seed(),
    );
    assert_eq!(genuine, VECTOR_CODE);
}

#[test]
fn another_algorithm_or_a_missing_kid_is_refused_with_its_reason() {
    let key = vector_key();
    let keys = keys_of(&[&key]);
    let payload = Value::Map(vector_payload());
    let kid = Value::Bytes(key.kid().0.to_vec());
    let cases = [
        // ES256
        (
            Value::Map(vec![(int(1), int(-7)), (int(4), kid.clone())]),
            VerifyError::UnsupportedAlgorithm,
        ),
        // alg as text
        (
            Value::Map(vec![
                (int(1), Value::Text("EdDSA".into())),
                (int(4), kid.clone()),
            ]),
            VerifyError::UnsupportedAlgorithm,
        ),
        // no alg
        (
            Value::Map(vec![(int(4), kid.clone())]),
            VerifyError::UnsupportedAlgorithm,
        ),
        // no kid
        (Value::Map(vec![(int(1), int(-8))]), VerifyError::UnknownKey),
        // kid of another length
        (
            Value::Map(vec![
                (int(1), int(-8)),
                (int(4), Value::Bytes(vec![1, 2, 3])),
            ]),
            VerifyError::UnknownKey,
        ),
        // the same label twice
        (
            Value::Map(vec![
                (int(1), int(-8)),
                (int(1), int(-8)),
                (int(4), kid.clone()),
            ]),
            VerifyError::NotCose,
        ),
        // not a map
        (Value::Array(vec![int(-8), kid]), VerifyError::NotCose),
    ];
    for (header, expected) in cases {
        let code = hand_made_code(&header, &payload, &vector_seed());
        assert_eq!(
            verify(&code, &keys, ISSUED_AT, SKEW_S),
            Err(expected.clone()),
            "{header:?}"
        );
    }
}

#[test]
fn each_missing_claim_is_named() {
    let key = vector_key();
    let keys = keys_of(&[&key]);
    let top = [
        (1, "iss"),
        (4, "exp"),
        (6, "iat"),
        (7, "cti"),
        (-65537, "moralbank"),
    ];
    for (label, name) in top {
        let mut payload = vector_payload();
        payload.retain(|(k, _)| *k != int(label));
        let code = hand_made_code(
            &eddsa_header(&key.kid().0),
            &Value::Map(payload),
            &vector_seed(),
        );
        assert_eq!(
            verify(&code, &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::MissingClaim(name))
        );
    }
    let inner = [
        (1, "pseudonym"),
        (2, "tier"),
        (3, "badges"),
        (4, "masked_name"),
        (5, "printed_card"),
    ];
    for (label, name) in inner {
        let payload = with_inner(|m| m.retain(|(k, _)| *k != int(label)));
        let code = hand_made_code(
            &eddsa_header(&key.kid().0),
            &Value::Map(payload),
            &vector_seed(),
        );
        assert_eq!(
            verify(&code, &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::MissingClaim(name))
        );
    }
}

#[test]
fn each_malformed_claim_is_named_and_unknown_claims_are_ignored() {
    let key = vector_key();
    let keys = keys_of(&[&key]);
    let text = |s: &str| Value::Text(s.into());
    let set = |payload: &mut Vec<(Value, Value)>, label: i64, value: Value| {
        for (k, v) in payload.iter_mut() {
            if *k == int(label) {
                *v = value.clone();
            }
        }
    };
    let top: Vec<(i64, Value, &str)> = vec![
        (1, int(5), "iss"),
        (1, text("yu yao"), "iss"),
        (4, text("soon"), "exp"),
        (4, int(ISSUED_AT), "exp"), // expires when issued
        (6, Value::Bytes(vec![1]), "iat"),
        (7, Value::Bytes(vec![0; 15]), "cti"),
        (7, text("id"), "cti"),
        (-65537, Value::Array(vec![]), "moralbank"),
    ];
    for (label, value, name) in top {
        let mut payload = vector_payload();
        set(&mut payload, label, value.clone());
        let code = hand_made_code(
            &eddsa_header(&key.kid().0),
            &Value::Map(payload),
            &vector_seed(),
        );
        assert_eq!(
            verify(&code, &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::BadClaim(name)),
            "{label}: {value:?}"
        );
    }
    let many_badges = Value::Array(vec![text("a"); 9]);
    let inner: Vec<(i64, Value, &str)> = vec![
        (1, Value::Bytes(vec![0; 17]), "pseudonym"),
        (2, int(256), "tier"),
        (2, int(-1), "tier"),
        (3, text("green-card"), "badges"),
        (3, Value::Array(vec![text("Green Card")]), "badges"),
        (3, many_badges, "badges"),
        (4, text(""), "masked_name"),
        (4, Value::Bytes(vec![1]), "masked_name"),
        (5, int(1), "printed_card"),
    ];
    for (label, value, name) in inner {
        let payload = with_inner(|m| {
            for (k, v) in m.iter_mut() {
                if *k == int(label) {
                    *v = value.clone();
                }
            }
        });
        let code = hand_made_code(
            &eddsa_header(&key.kid().0),
            &Value::Map(payload),
            &vector_seed(),
        );
        assert_eq!(
            verify(&code, &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::BadClaim(name)),
            "{label}: {value:?}"
        );
    }

    let mut payload = vector_payload();
    payload.push((int(99), text("a claim from the future")));
    payload.push((text("note"), int(1)));
    let code = hand_made_code(
        &eddsa_header(&key.kid().0),
        &Value::Map(payload),
        &vector_seed(),
    );
    assert_eq!(verify(&code, &keys, ISSUED_AT, SKEW_S), Ok(vector_claims()));

    let not_a_map = hand_made_code(&eddsa_header(&key.kid().0), &int(1), &vector_seed());
    assert_eq!(
        verify(&not_a_map, &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
}

/// The vector's claims with its private claim map changed by `change`.
fn with_inner(mut change: impl FnMut(&mut Vec<(Value, Value)>)) -> Vec<(Value, Value)> {
    let mut payload = vector_payload();
    for (k, v) in payload.iter_mut() {
        if *k == int(-65537) {
            let Value::Map(m) = v else { panic!("map") };
            change(m);
        }
    }
    payload
}

#[test]
fn text_that_is_not_a_moral_code_says_so() {
    let keys = keys_of(&[&vector_key()]);
    let body = &VECTOR_CODE[4..];
    for wrong in [
        String::new(),
        "MB1".into(),
        format!("MB2:{body}"),
        format!("mb1:{body}"),
        format!("HC1:{body}"),
        format!(" MB1:{body}"),
        "https://example.org/".into(),
    ] {
        assert_eq!(
            verify(&wrong, &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::WrongPrefix),
            "{wrong:?}"
        );
    }
    for not_base45 in [
        format!("MB1:{}", body.to_lowercase()),
        format!("MB1:{}#", &body[..body.len() - 1]),
        format!("MB1:{body}00"), // a lone final character
        "MB1:GGW".into(),        // a triple above 65535
        "MB1:::".into(),         // a final pair above 255
        format!("MB1:{body} "),  // a space is a digit: here it makes a triple above 65535
    ] {
        assert_eq!(
            verify(&not_base45, &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::NotBase45),
            "{not_base45:?}"
        );
    }
    assert_eq!(
        verify("MB1:", &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
    // What a hardware scanner types after the code is not part of it.
    for typed in [format!("{VECTOR_CODE}\n"), format!("{VECTOR_CODE}\r\n")] {
        assert!(verify(&typed, &keys, ISSUED_AT, SKEW_S).is_ok());
    }
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let keys = keys_of(&[&vector_key()]);
    let huge = format!("MB1:{}", "0".repeat(CODE_CHARS_MAX));
    assert_eq!(
        verify(&huge, &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::TooLarge)
    );
    // Oversized wins over every other reason: nothing of it is read.
    let huge_garbage = "x".repeat(10 * 1024 * 1024);
    assert_eq!(
        verify(&huge_garbage, &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::TooLarge)
    );
    let at_limit = format!("MB1:{}", "0".repeat(CODE_CHARS_MAX - 4));
    assert_ne!(
        verify(&at_limit, &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::TooLarge)
    );
}

#[test]
fn a_code_with_every_claim_at_its_limit_fits_under_the_verifiers_limit() {
    let key = IssuerKey::generate();
    let claims = Claims {
        issuer: Issuer::parse(&"i".repeat(moralbank_code::claims::ISSUER_BYTES_MAX))
            .expect("issuer"),
        issued_at: i64::MIN / 2,
        expires_at: i64::MAX,
        code_id: moralbank_code::CodeId([0xff; 16]),
        printed_card: true,
        holder: Holder {
            pseudonym: Pseudonym([0xff; 16]),
            tier: u8::MAX,
            badges: (0..moralbank_code::claims::BADGES_MAX)
                .map(|i| Badge::parse(&format!("{i}{}", "b".repeat(23))).expect("badge"))
                .collect(),
            masked_name: MaskedName::parse(&"𠀀".repeat(16)).expect("name"),
        },
    };
    let code = encode(&claims, &key).expect("encodes");
    // docs/moral-code.md says: under 900 characters.
    assert!(code.len() < 900, "{} characters", code.len());
    assert_eq!(verify(&code, &keys_of(&[&key]), 0, SKEW_S), Ok(claims));
    assert!(CodeQr::new(&code).is_ok(), "and it still fits in a QR");
}

#[test]
fn claims_that_cannot_make_a_code_are_refused_when_encoding() {
    let key = IssuerKey::generate();
    let mut claims = vector_claims();
    claims.holder.badges = vec![Badge::parse("a").expect("badge"); 9];
    assert_eq!(encode(&claims, &key), Err(EncodeError::TooManyBadges));
    let mut claims = vector_claims();
    claims.expires_at = claims.issued_at;
    assert_eq!(encode(&claims, &key), Err(EncodeError::ExpiresBeforeIssued));
}

#[test]
fn every_truncation_is_refused() {
    let keys = keys_of(&[&vector_key()]);
    for end in 0..VECTOR_CODE.len() {
        let cut = &VECTOR_CODE[..end];
        let got = verify(cut, &keys, ISSUED_AT, SKEW_S).expect_err(cut);
        let expected: &[VerifyError] = match end {
            0..=3 => &[VerifyError::WrongPrefix],
            _ if (end - 4) % 3 == 1 => &[VerifyError::NotBase45],
            _ if (end - 4) % 3 == 2 => &[VerifyError::NotBase45, VerifyError::NotCose],
            _ => &[VerifyError::NotCose],
        };
        assert!(expected.contains(&got), "cut at {end}: {got:?}");
    }
}

/// Where the parts of the vector's COSE_Sign1 are, in its 183 bytes.
mod layout {
    use std::ops::Range;
    pub const STRUCTURE: [usize; 2] = [0, 1]; // tag 18, array of 4
    pub const PROTECTED_HEAD: usize = 2; // bstr of 13
    pub const PROTECTED: Range<usize> = 3..16;
    pub const UNPROTECTED: usize = 16; // empty map
    pub const PAYLOAD_HEAD: Range<usize> = 17..19; // bstr of 98
    pub const PAYLOAD: Range<usize> = 19..117;
    pub const SIGNATURE_HEAD: Range<usize> = 117..119; // bstr of 64
    pub const SIGNATURE: Range<usize> = 119..183;
}

#[test]
fn every_bit_flipped_in_the_cbor_is_refused_with_the_reason_of_its_part() {
    let keys = keys_of(&[&vector_key()]);
    let bytes = vector_cbor();
    assert_eq!(bytes.len(), layout::SIGNATURE.end);
    assert_eq!(&bytes[..3], [0xd2, 0x84, 0x4d]);
    assert_eq!(bytes[layout::UNPROTECTED], 0xa0);
    assert_eq!(&bytes[layout::PAYLOAD_HEAD], [0x58, 98]);
    assert_eq!(&bytes[layout::SIGNATURE_HEAD], [0x58, 64]);

    use VerifyError::*;
    for i in 0..bytes.len() {
        let expected: &[VerifyError] = if layout::PROTECTED.contains(&i) {
            &[NotCose, UnsupportedAlgorithm, UnknownKey]
        } else if layout::PAYLOAD.contains(&i) || layout::SIGNATURE.contains(&i) {
            &[BadSignature]
        } else {
            assert!(
                layout::STRUCTURE.contains(&i)
                    || i == layout::PROTECTED_HEAD
                    || i == layout::UNPROTECTED
                    || layout::PAYLOAD_HEAD.contains(&i)
                    || layout::SIGNATURE_HEAD.contains(&i)
            );
            &[NotCose]
        };
        for bit in 0..8 {
            let mut tampered = bytes.clone();
            tampered[i] ^= 1 << bit;
            let got = verify(&code_of_bytes(&tampered), &keys, ISSUED_AT, SKEW_S);
            match got {
                Err(e) if expected.contains(&e) => {}
                other => panic!("byte {i} bit {bit}: {other:?}, expected one of {expected:?}"),
            }
        }
    }
}

#[test]
fn every_character_changed_in_the_text_is_refused() {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let keys = keys_of(&[&vector_key()]);
    let text = VECTOR_CODE.as_bytes();
    for i in 0..text.len() {
        let at = ALPHABET
            .iter()
            .position(|c| *c == text[i])
            .expect("alphabet");
        for step in [1, 22] {
            let mut tampered = text.to_vec();
            tampered[i] = ALPHABET[(at + step) % ALPHABET.len()];
            let tampered = String::from_utf8(tampered).expect("ascii");
            let got = verify(&tampered, &keys, ISSUED_AT, SKEW_S).expect_err(&tampered);
            if i < 4 {
                assert_eq!(got, VerifyError::WrongPrefix);
            } else {
                assert!(
                    !matches!(got, VerifyError::WrongPrefix | VerifyError::TooLarge),
                    "char {i}: {got:?}"
                );
            }
        }
    }
}

#[test]
fn another_cbor_spelling_of_the_same_code_is_refused() {
    let keys = keys_of(&[&vector_key()]);
    let bytes = vector_cbor();
    // Untagged.
    assert_eq!(
        verify(&code_of_bytes(&bytes[1..]), &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
    // The payload's length in two bytes instead of one.
    let mut long_length = bytes[..17].to_vec();
    long_length.extend([0x59, 0x00, 98]);
    long_length.extend(&bytes[19..]);
    assert_eq!(
        verify(&code_of_bytes(&long_length), &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
    // An indefinite-length array.
    let mut indefinite = vec![0xd2, 0x9f];
    indefinite.extend(&bytes[2..]);
    indefinite.push(0xff);
    assert_eq!(
        verify(&code_of_bytes(&indefinite), &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
    // Trailing bytes.
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        verify(&code_of_bytes(&trailing), &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
}

#[test]
fn cbor_outside_the_codes_subset_is_refused_even_when_signed() {
    let key = vector_key();
    let keys = keys_of(&[&key]);
    let signed = |extra: Value| {
        let mut payload = vector_payload();
        payload.push((int(99), extra));
        hand_made_code(
            &eddsa_header(&key.kid().0),
            &Value::Map(payload),
            &vector_seed(),
        )
    };
    let mut nested = int(0);
    for _ in 0..15 {
        nested = Value::Array(vec![nested]);
    }
    assert_eq!(
        verify(&signed(nested.clone()), &keys, ISSUED_AT, SKEW_S),
        Ok(vector_claims()),
        "16 levels with the claims map"
    );
    let too_deep = Value::Array(vec![nested]);
    let float = Value::Float(1.5);
    let tagged = Value::Tag(1, Box::new(int(ISSUED_AT)));
    for extra in [too_deep, float, tagged] {
        assert_eq!(
            verify(&signed(extra.clone()), &keys, ISSUED_AT, SKEW_S),
            Err(VerifyError::NotCose),
            "{extra:?}"
        );
    }
    let bytes_label = Value::Map(vec![
        (int(1), int(-8)),
        (int(4), Value::Bytes(key.kid().0.to_vec())),
        (Value::Bytes(vec![1]), int(0)),
    ]);
    let code = hand_made_code(&bytes_label, &Value::Map(vector_payload()), &vector_seed());
    assert_eq!(
        verify(&code, &keys, ISSUED_AT, SKEW_S),
        Err(VerifyError::NotCose)
    );
}

#[test]
fn the_verify_error_codes_are_stable_names() {
    let names: Vec<&str> = [
        VerifyError::TooLarge,
        VerifyError::WrongPrefix,
        VerifyError::NotBase45,
        VerifyError::NotCose,
        VerifyError::UnsupportedAlgorithm,
        VerifyError::UnknownKey,
        VerifyError::BadSignature,
        VerifyError::MissingClaim("iss"),
        VerifyError::BadClaim("iss"),
        VerifyError::Expired { expires_at: 0 },
        VerifyError::NotYetValid { issued_at: 0 },
    ]
    .iter()
    .map(VerifyError::code)
    .collect();
    assert_eq!(
        names,
        [
            "too_large",
            "wrong_prefix",
            "not_base45",
            "not_cose",
            "unsupported_algorithm",
            "unknown_key",
            "bad_signature",
            "missing_claim",
            "bad_claim",
            "expired",
            "not_yet_valid"
        ]
    );
}

#[test]
fn a_key_set_from_its_jwks_verifies_the_same_codes() {
    let key = vector_key();
    let keys = KeySet::from_jwks(&keys_of(&[&key]).to_jwks()).expect("jwks");
    assert_eq!(
        verify(VECTOR_CODE, &keys, ISSUED_AT, SKEW_S),
        Ok(vector_claims())
    );
}
