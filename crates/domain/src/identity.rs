//! Personal identifiers and how they are parsed and masked. Values here are personal data:
//! `Debug` prints them masked so that a stray `{:?}` in a log leaks nothing.

use crate::FieldError;
use std::fmt;

/// A GB 11643 resident identity number: 6-digit region code, 8-digit birth date, 3-digit
/// sequence, and an ISO 7064 MOD 11-2 check character (0-9 or X).
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentId(String);

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

impl ResidentId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        const F: &str = "resident_id";
        let s: String = raw.trim().to_ascii_uppercase();
        if s.len() != 18 || !s.is_ascii() {
            return Err(FieldError::new(
                F,
                "resident_id_length",
                "must be 18 characters",
            ));
        }
        let bytes = s.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(FieldError::new(
                F,
                "resident_id_characters",
                "must be 17 digits followed by a digit or X",
            ));
        }
        if bytes[0] == b'0' {
            return Err(FieldError::new(
                F,
                "resident_id_region",
                "region code cannot start with 0",
            ));
        }
        let digit = |i: usize| u32::from(bytes[i] - b'0');
        let number = |range: std::ops::Range<usize>| range.fold(0u32, |acc, i| acc * 10 + digit(i));
        let (year, month, day) = (number(6..10), number(10..12), number(12..14));
        if !(1900..=2100).contains(&year) || !valid_date(year, month, day) {
            return Err(FieldError::new(
                F,
                "resident_id_birth_date",
                "birth date is not a real date",
            ));
        }
        let sum: u32 = (0..17).map(|i| digit(i) * ID_WEIGHTS[i]).sum();
        if ID_CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(FieldError::new(
                F,
                "resident_id_checksum",
                "check digit does not match",
            ));
        }
        Ok(Self(s))
    }

    /// The check character that completes 17 digits; used to build demo and test numbers.
    pub fn check_char(first17: &str) -> Option<char> {
        let b = first17.as_bytes();
        if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let sum: u32 = (0..17)
            .map(|i| u32::from(b[i] - b'0') * ID_WEIGHTS[i])
            .sum();
        Some(char::from(ID_CHECK[(sum % 11) as usize]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// First 4 and last 4 characters: `3302**********1234`.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }

    /// Birth date as (year, month, day).
    pub fn birth_date(&self) -> (u32, u32, u32) {
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<u32>().unwrap_or(0);
        (n(6..10), n(10..12), n(12..14))
    }
}

fn valid_date(year: u32, month: u32, day: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

/// A mainland China mobile number, normalised to 11 digits (an optional +86 / 0086 prefix,
/// spaces and dashes are accepted on input).
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let mut s: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        for prefix in ["+86", "0086"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.to_string();
            }
        }
        let b = s.as_bytes();
        if b.len() != 11 || !b.iter().all(u8::is_ascii_digit) {
            return Err(FieldError::new(
                "phone",
                "phone_format",
                "must be an 11-digit mobile number",
            ));
        }
        if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
            return Err(FieldError::new(
                "phone",
                "phone_prefix",
                "must start with 13 to 19 (a mainland mobile number)",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// A person's name as they write it (Chinese or Latin script).
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

pub const NAME_CHARS_MAX: usize = 40;

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new("name", "name_missing", "is required"));
        }
        if s.chars().count() > NAME_CHARS_MAX {
            return Err(FieldError::new(
                "name",
                "name_too_long",
                "must be at most 40 characters",
            ));
        }
        if s.chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>' | '"' | '\\'))
        {
            return Err(FieldError::new(
                "name",
                "name_characters",
                "contains characters a name cannot have",
            ));
        }
        Ok(Self(s.split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `张*明`, `张*`, `J********h`: the first and last character stay, the rest are stars.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        match chars.len() {
            0 => String::new(),
            1 => "*".to_string(),
            2 => format!("{}*", chars[0]),
            n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
        }
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// A staff login name: 3–32 of a-z, 0-9, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_ascii_lowercase();
        if !(3..=32).contains(&s.len())
            || !s
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(FieldError::new(
                "username",
                "username_format",
                "must be 3 to 32 characters of a-z, 0-9, '.', '_' or '-'",
            ));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff password as typed; only its Argon2id hash is ever stored.
#[derive(Clone)]
pub struct Password(String);

pub const PASSWORD_CHARS_MIN: usize = 10;
/// Characters, so that the API document can state the limit (JSON Schema counts characters;
/// at most 1 KiB of UTF-8 goes into Argon2).
pub const PASSWORD_CHARS_MAX: usize = 256;

impl Password {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        if raw.chars().count() < PASSWORD_CHARS_MIN {
            return Err(FieldError::new(
                "password",
                "password_too_short",
                "must be at least 10 characters",
            ));
        }
        if raw.chars().count() > PASSWORD_CHARS_MAX {
            return Err(FieldError::new(
                "password",
                "password_too_long",
                "must be at most 256 characters",
            ));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// A six-digit one-time sign-in code.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                "code",
                "otp_format",
                "must be the 6 digits we sent you",
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(…)")
    }
}

/// What a one-time code proves the phone for: signing in, or enrolling. A code made for one
/// purpose never serves the other; both count against the same per-phone limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpPurpose {
    SignIn,
    Enrol,
}

impl OtpPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            OtpPurpose::SignIn => "sign_in",
            OtpPurpose::Enrol => "enrol",
        }
    }
}

/// The version of a consent text a person agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentVersion(String);

impl ConsentVersion {
    /// Only the version in force can be agreed to: agreeing to an old text is refused.
    pub fn parse_current(raw: &str, current: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(
                "consent_version",
                "consent_missing",
                "you must read and agree to the consent text",
            ));
        }
        if s != current {
            return Err(FieldError::new(
                "consent_version",
                "consent_outdated",
                "the consent text has changed; read the current version and agree again",
            ));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_with_check(first17: &str) -> String {
        format!(
            "{first17}{}",
            ResidentId::check_char(first17).expect("17 digits")
        )
    }

    #[test]
    fn published_sample_number_is_valid_and_masked() {
        // The worked example of GB 11643-1999: check character X.
        let id = ResidentId::parse("11010519491231002x").expect("valid");
        assert_eq!(id.as_str(), "11010519491231002X");
        assert_eq!(id.masked(), "1101**********002X");
        assert_eq!(id.birth_date(), (1949, 12, 31));
        assert!(!format!("{id:?}").contains("19491231"));
    }

    #[test]
    fn each_kind_of_bad_resident_id_names_its_reason() {
        let good = id_with_check("33028119900101123");
        assert!(ResidentId::parse(&good).is_ok());
        let mut wrong_check = good.clone();
        let last = wrong_check.pop().expect("char");
        wrong_check.push(if last == '0' { '1' } else { '0' });
        let cases = [
            ("3302811990010112", "resident_id_length"),
            ("33028119900101123A", "resident_id_characters"),
            (&*id_with_check("03028119900101123"), "resident_id_region"),
            (
                &*id_with_check("33028119900230123"),
                "resident_id_birth_date",
            ),
            (
                &*id_with_check("33028118990101123"),
                "resident_id_birth_date",
            ),
            (&*wrong_check, "resident_id_checksum"),
        ];
        for (raw, code) in cases {
            let e = ResidentId::parse(raw).expect_err(raw);
            assert_eq!((e.field.as_str(), e.code), ("resident_id", code), "{raw}");
        }
    }

    #[test]
    fn leap_day_is_a_birth_date_only_in_leap_years() {
        assert!(ResidentId::parse(&id_with_check("33028120000229123")).is_ok());
        assert!(ResidentId::parse(&id_with_check("33028119000229123")).is_err());
    }

    #[test]
    fn phones_are_normalised_and_checked() {
        assert_eq!(
            Phone::parse("+86 138-0013-8000").expect("ok").as_str(),
            "13800138000"
        );
        assert_eq!(
            Phone::parse("13800138000").expect("ok").masked(),
            "138****8000"
        );
        assert_eq!(Phone::parse("1380013800").unwrap_err().code, "phone_format");
        assert_eq!(
            Phone::parse("12800138000").unwrap_err().code,
            "phone_prefix"
        );
        assert_eq!(Phone::parse("abc").unwrap_err().code, "phone_format");
    }

    #[test]
    fn names_are_masked_keeping_first_and_last() {
        let m = |s: &str| PersonName::parse(s).expect("ok").masked();
        assert_eq!(m("张三明"), "张*明");
        assert_eq!(m("张三"), "张*");
        assert_eq!(m("欧阳娜娜"), "欧**娜");
        assert_eq!(PersonName::parse("  ").unwrap_err().code, "name_missing");
        assert_eq!(
            PersonName::parse("<b>").unwrap_err().code,
            "name_characters"
        );
        assert_eq!(
            PersonName::parse(&"长".repeat(41)).unwrap_err().code,
            "name_too_long"
        );
    }

    #[test]
    fn usernames_passwords_and_codes_have_limits() {
        assert!(Username::parse("Admin.One").is_ok());
        assert!(Username::parse("a b").is_err());
        assert_eq!(
            Password::parse("short").unwrap_err().code,
            "password_too_short"
        );
        assert_eq!(
            Password::parse(&"x".repeat(300)).unwrap_err().code,
            "password_too_long"
        );
        assert!(OtpCode::parse("123456").is_ok());
        assert!(OtpCode::parse("12345a").is_err());
    }

    #[test]
    fn only_the_current_consent_version_is_accepted() {
        assert!(ConsentVersion::parse_current("v2", "v2").is_ok());
        assert_eq!(
            ConsentVersion::parse_current("v1", "v2").unwrap_err().code,
            "consent_outdated"
        );
        assert_eq!(
            ConsentVersion::parse_current("", "v2").unwrap_err().code,
            "consent_missing"
        );
    }
}
