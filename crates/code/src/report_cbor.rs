//! Reading a credit report's payload straight from its bytes, without building a CBOR value
//! tree: first a pass that accepts exactly what `code::from_bytes` accepts (one well-formed item
//! using all the bytes, preferred serialisation, integers, byte and text strings, arrays, maps,
//! booleans and null, nested at most 16 deep), then a reader that takes each expected key and
//! value in order. Same answers as reading a `ciborium::Value` (the tamper tests hold both to
//! them), at a fraction of the allocations: verification is most of what a bank's verifier does.

/// The longest text field, in characters.
pub const TEXT_CHARS_MAX: usize = 128;

/// The field a payload's shape or value is wrong at (the report's `BadField`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bad(pub &'static str);

/// A text field's rule: 1 to [`TEXT_CHARS_MAX`] characters, none a control character.
pub(crate) fn text_ok(s: &str) -> bool {
    let n = s.chars().count();
    n > 0 && n <= TEXT_CHARS_MAX && !s.chars().any(char::is_control)
}

/// How deep arrays and maps may nest (as `code::NESTING_MAX`).
const NESTING_MAX: usize = 16;

/// A CBOR head: major type and argument, or `None` when it is not in the subset: an
/// indefinite length, a reserved additional value, or an argument not in its shortest form.
fn head(b: &[u8], i: &mut usize) -> Option<(u8, u64)> {
    let first = *b.get(*i)?;
    *i += 1;
    let (major, info) = (first >> 5, first & 0x1f);
    let arg = match info {
        0..=23 => u64::from(info),
        24..=27 => {
            let n = 1usize << (info - 24);
            let bytes = b.get(*i..*i + n)?;
            *i += n;
            let v = bytes.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x));
            let shortest = match info {
                24 => v >= 24,
                25 => v > 0xff,
                26 => v > 0xffff,
                _ => v > 0xffff_ffff,
            };
            if !shortest {
                return None;
            }
            v
        }
        _ => return None,
    };
    Some((major, arg))
}

/// One well-formed item of the subset at `*i`, `depth` deep.
fn item(b: &[u8], i: &mut usize, depth: usize) -> bool {
    if depth > NESTING_MAX {
        return false;
    }
    let Some((major, arg)) = head(b, i) else {
        return false;
    };
    match major {
        0 | 1 => true,
        2 | 3 => {
            let Ok(n) = usize::try_from(arg) else {
                return false;
            };
            let Some(s) = b.get(*i..i.saturating_add(n)) else {
                return false;
            };
            *i += n;
            major == 2 || std::str::from_utf8(s).is_ok()
        }
        4 => (0..arg).all(|_| item(b, i, depth + 1)),
        5 => (0..arg).all(|_| item(b, i, depth + 1) && item(b, i, depth + 1)),
        // false, true, null; no float, no other simple value, no tag.
        7 => matches!(arg, 20..=22),
        _ => false,
    }
}

/// Is `bytes` exactly one item of the subset, in preferred serialisation? As `from_bytes`,
/// the item may be a COSE_Sign1 tag around one (a shape no report has: then a wrong field).
pub(crate) fn well_formed(bytes: &[u8]) -> bool {
    let mut i = 0;
    let mut after_tag = 0;
    if let Some((6, tag)) = head(bytes, &mut after_tag) {
        if tag != crate::code::COSE_SIGN1_TAG {
            return false;
        }
        i = after_tag;
        return item(bytes, &mut i, 1) && i == bytes.len();
    }
    item(bytes, &mut i, 0) && i == bytes.len()
}

/// Reads a well-formed payload's expected keys and values in order; any other shape is the
/// field it should have been.
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, i: 0 }
    }

    fn head_of(&mut self, major: u8, field: &'static str) -> Result<u64, Bad> {
        match head(self.b, &mut self.i) {
            Some((m, arg)) if m == major => Ok(arg),
            _ => Err(Bad(field)),
        }
    }

    fn raw(&mut self, n: u64, field: &'static str) -> Result<&'a [u8], Bad> {
        let n = usize::try_from(n).map_err(|_| Bad(field))?;
        let s = self.b.get(self.i..self.i + n).ok_or(Bad(field))?;
        self.i += n;
        Ok(s)
    }

    /// A map of exactly `len` entries, else `field`.
    pub(crate) fn map(&mut self, field: &'static str, len: u64) -> Result<(), Bad> {
        match self.head_of(5, field)? {
            n if n == len => Ok(()),
            _ => Err(Bad(field)),
        }
    }

    /// The next key, which must be the text `key`.
    pub(crate) fn key(&mut self, key: &'static str) -> Result<(), Bad> {
        let n = self.head_of(3, key)?;
        if self.raw(n, key)? == key.as_bytes() {
            Ok(())
        } else {
            Err(Bad(key))
        }
    }

    /// A text value (not a key), checked as the report's texts are, named `field`.
    pub(crate) fn text_value(&mut self, field: &'static str) -> Result<String, Bad> {
        let n = self.head_of(3, field)?;
        let s = std::str::from_utf8(self.raw(n, field)?).map_err(|_| Bad(field))?;
        if text_ok(s) {
            Ok(s.to_string())
        } else {
            Err(Bad(field))
        }
    }

    pub(crate) fn text(&mut self, key: &'static str) -> Result<String, Bad> {
        self.key(key)?;
        self.text_value(key)
    }

    pub(crate) fn int<T: TryFrom<i128>>(&mut self, key: &'static str) -> Result<T, Bad> {
        self.key(key)?;
        let value = match head(self.b, &mut self.i) {
            Some((0, arg)) => i128::from(arg),
            Some((1, arg)) => -1 - i128::from(arg),
            _ => return Err(Bad(key)),
        };
        T::try_from(value).map_err(|_| Bad(key))
    }

    pub(crate) fn bytes<const N: usize>(&mut self, key: &'static str) -> Result<[u8; N], Bad> {
        self.key(key)?;
        let n = self.head_of(2, key)?;
        <[u8; N]>::try_from(self.raw(n, key)?).map_err(|_| Bad(key))
    }

    /// An array's length, at most `max`.
    pub(crate) fn array(&mut self, key: &'static str, max: usize) -> Result<usize, Bad> {
        self.key(key)?;
        match usize::try_from(self.head_of(4, key)?) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(Bad(key)),
        }
    }

    /// After the key `key`: `true` (and consumed) when the value is null.
    pub(crate) fn null(&mut self, key: &'static str) -> Result<bool, Bad> {
        self.key(key)?;
        if self.b.get(self.i) == Some(&0xf6) {
            self.i += 1;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}
