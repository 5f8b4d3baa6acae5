//! A cell as a spreadsheet or CSV file holds it, checked against its column. The traps of
//! office files are refused with their own codes, each telling the clerk how to fix it in Excel:
//! `id_number_as_number` (an 18-digit number keeps only 15 significant digits in Excel, so the
//! last ones are lost), `excel_serial_date` (a date that arrived as Excel's day count),
//! `formula` (a formula where a value belongs), `cell_error` (`#N/A`, `#REF!`).

use super::schema::{Column, ColumnType};
use crate::time::civil_from_days;
use crate::{IdempotencyKey, ResidentId};
use serde::{Deserialize, Serialize};

/// A cell as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    /// A date-formatted spreadsheet cell, as Excel's serial day number (1900 system).
    Date(f64),
    Bool(bool),
    /// A formula (its text); the cached value does not count as data.
    Formula(String),
    /// `#N/A`, `#REF!`, …
    Error(String),
    /// Covered by a merged cell (not its top-left corner, which holds the value).
    Merged,
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    /// The cell as a person reads it (what the error workbook writes back, and duplicate rows
    /// are compared by).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Number(n) => number_text(*n),
            Cell::Date(d) => serial_to_date(*d).unwrap_or_else(|| number_text(*d)),
            Cell::Bool(b) => b.to_string(),
            Cell::Formula(f) => format!("={f}"),
            Cell::Error(e) => e.clone(),
            Cell::Merged => String::new(),
        }
    }
}

/// A number as Excel shows it in a general cell: whole numbers without a decimal point.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Excel's serial day (1900 date system, whose day 60 is the non-existent 1900-02-29) as
/// `yyyy-mm-dd`; `None` outside 1900–9999 or for a time of day.
pub fn serial_to_date(serial: f64) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    // Day 25569 is 1970-01-01; days before 1900-03-01 are one off because of the phantom leap day.
    let day = serial.floor() as i64;
    let day = if day < 61 { day + 1 } else { day };
    let (y, m, d) = civil_from_days(day - 25_569);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// One thing wrong with a file: where (the sheet's row as Excel numbers it, the schema's column,
/// the cell like `C17`), a stable code, a sentence, and the value (masked when personal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The sheet's row, 1 being the header; 0 for the file as a whole.
    pub row: usize,
    pub column: Option<String>,
    pub cell: Option<String>,
    pub code: String,
    pub message: String,
    pub value: Option<String>,
}

impl Problem {
    /// A problem of the whole file.
    pub fn file(code: &str, message: &str) -> Problem {
        Problem {
            row: 0,
            column: None,
            cell: None,
            code: code.into(),
            message: message.into(),
            value: None,
        }
    }

    /// A problem of one cell, by the file's column index.
    pub fn file_cell(row: usize, col: usize, code: &str, message: &str) -> Problem {
        Problem {
            row,
            column: None,
            cell: Some(cell_ref(col, row)),
            code: code.into(),
            message: message.into(),
            value: None,
        }
    }

    /// A problem of a value in a schema column, with the value shown (masked if personal).
    pub fn at(
        row: usize,
        col: usize,
        column: &Column,
        code: &str,
        message: &str,
        raw: &Cell,
    ) -> Problem {
        let shown = raw.display();
        Problem {
            row,
            column: Some(column.name.to_string()),
            cell: Some(cell_ref(col, row)),
            code: code.into(),
            message: message.into(),
            value: (!shown.is_empty()).then(|| {
                if column.personal {
                    mask(&shown)
                } else {
                    shown.chars().take(100).collect()
                }
            }),
        }
    }
}

/// `A`, `B`, …, `Z`, `AA`, … for a 0-based column index.
pub fn column_letters(col: usize) -> String {
    let mut n = col + 1;
    let mut s = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        s.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// `C17` for column index 2, row 17.
pub fn cell_ref(col: usize, row: usize) -> String {
    format!("{}{row}", column_letters(col))
}

/// A personal value as problems show it: the first 4 and the last 4 characters of anything
/// longer than 10 (`3302**********1234`, like a resident ID number everywhere else), else stars.
pub fn mask(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.len() > 10 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
    } else {
        "*".repeat(chars.len())
    }
}

/// Why a cell was refused: a code and a sentence.
pub type Refusal = (&'static str, String);

/// Check one cell against its column: the value as the system stores it (text; whole numbers
/// and dates normalised), `None` for an empty optional cell, or why it was refused.
pub fn check(column: &Column, cell: &Cell) -> Result<Option<String>, Refusal> {
    match cell {
        Cell::Formula(f) => {
            return Err((
                "formula",
                format!(
                "a formula (={f}) where a value belongs: copy the column and paste it as values"
            ),
            ))
        }
        Cell::Error(e) => {
            return Err(("cell_error", format!("the cell shows the error {e}")));
        }
        Cell::Merged => {
            return Err((
                "merged_cell",
                "part of merged cells: unmerge them and fill every row's cell".into(),
            ));
        }
        _ if cell.is_empty() => {
            return if column.required {
                Err(("required", "this column is required".into()))
            } else {
                Ok(None)
            };
        }
        _ => {}
    }
    let v = match column.kind {
        ColumnType::Text { max_chars } => text(cell, max_chars)?,
        ColumnType::Integer { min, max } => integer(cell, min, max)?,
        ColumnType::Date => date(cell)?,
        ColumnType::IdNumber => id_number(cell)?,
        ColumnType::Key => {
            let t = plain(cell);
            IdempotencyKey::parse(&t).map_err(|_| {
                (
                    "invalid_key",
                    "1 to 200 printable ASCII characters without spaces".to_string(),
                )
            })?;
            t
        }
        ColumnType::Id => crate::parse_id("id", &plain(cell))
            .map_err(|_| ("invalid_id", "not an identifier of this system".to_string()))?,
        ColumnType::Lookup(_) => plain(cell),
        ColumnType::Enum(values) => {
            let t = plain(cell);
            values
                .iter()
                .find(|(code, label)| code.eq_ignore_ascii_case(&t) || *label == t)
                .map(|(code, _)| (*code).to_string())
                .ok_or_else(|| {
                    let labels: Vec<&str> = values.iter().map(|(_, l)| *l).collect();
                    ("not_in_list", format!("one of: {}", labels.join("、")))
                })?
        }
    };
    Ok(Some(v))
}

/// The cell's text, trimmed (a number as Excel shows it).
fn plain(cell: &Cell) -> String {
    cell.display().trim().to_string()
}

fn text(cell: &Cell, max_chars: usize) -> Result<String, Refusal> {
    let t = plain(cell);
    if t.chars().count() > max_chars {
        return Err(("too_long", format!("at most {max_chars} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(("control_characters", "contains control characters".into()));
    }
    Ok(t)
}

fn integer(cell: &Cell, min: i64, max: i64) -> Result<String, Refusal> {
    let n = match cell {
        Cell::Number(n) if n.fract() == 0.0 => *n as i64,
        Cell::Number(_) => return Err(("not_whole", "a whole number".into())),
        Cell::Text(t) => t
            .trim()
            .parse::<i64>()
            .map_err(|_| ("not_a_number", "a whole number".to_string()))?,
        _ => return Err(("not_a_number", "a whole number".into())),
    };
    if !(min..=max).contains(&n) {
        return Err(("out_of_range", format!("from {min} to {max}")));
    }
    Ok(n.to_string())
}

fn serial_refusal(serial: f64) -> Refusal {
    let meant = serial_to_date(serial).unwrap_or_default();
    (
        "excel_serial_date",
        format!("{} looks like an Excel day number (the date {meant}): format the column as a date or type the date as yyyy-mm-dd", number_text(serial)),
    )
}

fn date(cell: &Cell) -> Result<String, Refusal> {
    let bad = || ("invalid_date", "a date as yyyy-mm-dd".to_string());
    match cell {
        Cell::Date(d) if d.fract() == 0.0 => serial_to_date(*d).ok_or_else(bad),
        Cell::Date(_) => Err(("invalid_date", "a date without a time of day".into())),
        Cell::Number(n) => Err(serial_refusal(*n)),
        Cell::Text(t) => {
            let t = t.trim();
            if t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(serial_refusal(t.parse::<f64>().unwrap_or_default()));
            }
            parse_date_text(t).ok_or_else(bad)
        }
        _ => Err(bad()),
    }
}

/// `2024-05-01`, `2024/5/1`, `2024.05.01`, `2024年5月1日` (a time after a space is refused).
pub fn parse_date_text(t: &str) -> Option<String> {
    let t = t.trim().trim_end_matches('日');
    let parts: Vec<&str> = t.split(['-', '/', '.', '年', '月']).collect();
    let [y, m, d] = parts.as_slice() else {
        return None;
    };
    let num = |s: &str, max_len: usize| {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (y, m, d) = (num(y, 4)?, num(m, 2)?, num(d, 2)?);
    let month = time::Month::try_from(u8::try_from(m).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(y).ok()?, month, u8::try_from(d).ok()?)
        .ok()?;
    (y >= 1900).then(|| format!("{:04}-{:02}-{:02}", date.year(), m, d))
}

fn id_number(cell: &Cell) -> Result<String, Refusal> {
    let as_number = || {
        (
            "id_number_as_number",
            "the ID number was stored as a number, so Excel kept only its first 15 digits: format the column as text and type the number again".to_string(),
        )
    };
    let t = match cell {
        Cell::Number(_) => return Err(as_number()),
        Cell::Text(t) => t.trim().to_string(),
        _ => return Err(("invalid_id_number", "an 18-character ID number".into())),
    };
    // What a CSV saved by Excel holds for a number cell: 3.30282E+17.
    if t.contains(['E', 'e']) && t.parse::<f64>().is_ok() {
        return Err(as_number());
    }
    ResidentId::parse(&t)
        .map(|r| r.as_str().to_string())
        .map_err(|e| (e.code, e.detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::citydata::kinds::PARTNER_DEEDS;

    fn col(name: &str) -> &'static Column {
        PARTNER_DEEDS
            .columns
            .iter()
            .find(|c| c.name == name)
            .unwrap()
    }

    fn refused(name: &str, cell: Cell) -> &'static str {
        check(col(name), &cell).unwrap_err().0
    }

    const ID: &str = "330281199001011235";

    #[test]
    fn references_and_letters() {
        assert_eq!(cell_ref(2, 17), "C17");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn excel_serial_dates_convert_both_ways() {
        assert_eq!(serial_to_date(45_413.0).as_deref(), Some("2024-05-01"));
        assert_eq!(serial_to_date(25_569.0).as_deref(), Some("1970-01-01"));
        assert_eq!(serial_to_date(1.0).as_deref(), Some("1900-01-01"));
        assert_eq!(serial_to_date(61.0).as_deref(), Some("1900-03-01"));
    }

    #[test]
    fn dates_from_a_date_cell_or_common_texts() {
        let c = col("deed_date");
        assert_eq!(
            check(c, &Cell::Date(45_413.0)).unwrap().as_deref(),
            Some("2024-05-01")
        );
        for t in ["2024-05-01", "2024/5/1", "2024.05.01", "2024年5月1日"] {
            assert_eq!(
                check(c, &Cell::Text(t.into())).unwrap().as_deref(),
                Some("2024-05-01"),
                "{t}"
            );
        }
        assert_eq!(
            refused("deed_date", Cell::Number(45_413.0)),
            "excel_serial_date"
        );
        assert_eq!(
            refused("deed_date", Cell::Text("45413".into())),
            "excel_serial_date"
        );
        assert_eq!(
            refused("deed_date", Cell::Text("2024-02-30".into())),
            "invalid_date"
        );
        assert_eq!(
            refused("deed_date", Cell::Text("昨天".into())),
            "invalid_date"
        );
        assert_eq!(refused("deed_date", Cell::Empty), "required");
    }

    #[test]
    fn id_numbers_checked_and_the_numeric_trap_named() {
        let c = col("resident_id_number");
        assert_eq!(
            check(c, &Cell::Text(format!(" {ID} "))).unwrap().as_deref(),
            Some(ID)
        );
        assert_eq!(
            refused(
                "resident_id_number",
                Cell::Number(330_281_199_001_011_230.0)
            ),
            "id_number_as_number"
        );
        assert_eq!(
            refused("resident_id_number", Cell::Text("3.30281E+17".into())),
            "id_number_as_number"
        );
        assert_eq!(
            refused(
                "resident_id_number",
                Cell::Text("330281199001011236".into())
            ),
            "resident_id_checksum"
        );
        // The value a problem shows is masked.
        let p = Problem::at(5, 1, c, "x", "y", &Cell::Text(ID.into()));
        assert_eq!(p.value.as_deref(), Some("3302**********1235"));
        assert_eq!(p.cell.as_deref(), Some("B5"));
    }

    #[test]
    fn formulas_errors_numbers_and_lengths() {
        assert_eq!(
            refused("points", Cell::Formula("SUM(A1:A3)".into())),
            "formula"
        );
        assert_eq!(refused("place", Cell::Error("#N/A".into())), "cell_error");
        assert_eq!(refused("place", Cell::Merged), "merged_cell");
        assert_eq!(refused("points", Cell::Number(2.5)), "not_whole");
        assert_eq!(refused("points", Cell::Text("两".into())), "not_a_number");
        assert_eq!(refused("points", Cell::Number(0.0)), "out_of_range");
        assert_eq!(
            check(col("points"), &Cell::Number(3.0)).unwrap().as_deref(),
            Some("3")
        );
        assert_eq!(check(col("points"), &Cell::Empty).unwrap(), None);
        assert_eq!(refused("place", Cell::Text("地".repeat(101))), "too_long");
        // A numeric key reads as Excel shows it.
        assert_eq!(
            check(col("key"), &Cell::Number(1001.0)).unwrap().as_deref(),
            Some("1001")
        );
        assert_eq!(refused("key", Cell::Text("有 空格".into())), "invalid_key");
    }

    #[test]
    fn masks() {
        assert_eq!(mask("12345"), "*****");
        assert_eq!(mask("3302811990010112"), "3302********0112");
    }
}
