//! A kind of file as a versioned schema, the mapping of a file's header row onto it, and the
//! schema published as a Frictionless Table Schema (<https://specs.frictionlessdata.io/table-schema/>).

use super::cell::{cell_ref, Problem};
use serde::Serialize;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Free text, trimmed, at most this many characters.
    Text { max_chars: usize },
    /// A whole number in a range.
    Integer { min: i64, max: i64 },
    /// A calendar date, written `yyyy-mm-dd` (also `yyyy/mm/dd`, `yyyy.mm.dd`, `yyyy年m月d日`,
    /// or a date-formatted spreadsheet cell).
    Date,
    /// A GB 11643 resident ID number (18 characters, MOD 11-2 check character). Personal.
    IdNumber,
    /// A client's idempotency key (1 to 200 printable ASCII characters).
    Key,
    /// An identifier (UUID) of a record in the system.
    Id,
    /// A code looked up in the system's tables when the file is checked.
    Lookup(Lookup),
    /// One of a fixed list: each value's code and the Chinese label clerks pick from the
    /// template's drop-down (either is accepted; the code is kept).
    Enum(&'static [(&'static str, &'static str)]),
}

/// What a look-up column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lookup {
    /// A point standard's code in the current catalogue (active).
    Standard,
    /// A region's code (city, town or village).
    Region,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name in the schema, the API and the English template.
    pub name: &'static str,
    /// The header of the Chinese template.
    pub title_zh: &'static str,
    /// Other headers accepted for it (what clerks actually write).
    pub aliases: &'static [&'static str],
    pub kind: ColumnType,
    pub required: bool,
    /// Unique within the file.
    pub unique: bool,
    /// Personal data: masked wherever a problem repeats the value.
    pub personal: bool,
    pub description: &'static str,
}

/// Who sends a kind of file: a partner organisation (its API key or its operators' page), or the
/// city itself (its admins' page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Partner,
    City,
}

impl Owner {
    /// As the imports table records it.
    pub fn as_str(self) -> &'static str {
        match self {
            Owner::Partner => "partner",
            Owner::City => "city",
        }
    }
}

/// A kind of file at one version. A change that a file written for the old version would not
/// pass is a new version; imports record the version they were checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schema {
    pub kind: &'static str,
    /// Who sends files of this kind.
    pub owner: Owner,
    pub version: u32,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    pub columns: &'static [Column],
    /// Groups of columns of which each row must fill at least one.
    pub one_of: &'static [&'static [&'static str]],
    pub rows_max: usize,
    pub bytes_max: usize,
}

/// Where each of a schema's columns is in a file: `at[i]` is the file's column index of
/// `schema.columns[i]`, if the file has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMap {
    pub at: Vec<Option<usize>>,
}

impl HeaderMap {
    /// The file's column of the schema's column named `name`.
    pub fn of(&self, schema: &Schema, name: &str) -> Option<usize> {
        let i = schema.columns.iter().position(|c| c.name == name)?;
        self.at[i]
    }
}

/// A header as people write it: without a byte-order mark, spaces, the `*` that marks a
/// required column in our templates, a bracketed hint ("日期（yyyy-mm-dd）"), case.
pub fn normalise_header(h: &str) -> String {
    let h = h.trim_start_matches('\u{feff}');
    let h = h
        .split(['(', '（'])
        .next()
        .unwrap_or_default()
        .to_lowercase();
    h.chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect()
}

impl Schema {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Map a header row (row 1) onto the schema. Refused, each with its own code: an empty
    /// header cell between named ones (`merged_header` where the reader saw merged cells in
    /// row 1, else `empty_header`), a header the schema does not know (`unknown_column`), a
    /// column named twice (`duplicate_column`), a required column missing (`missing_column`).
    pub fn map_header(
        &self,
        header: &[String],
        merged_in_header: bool,
    ) -> Result<HeaderMap, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut at = vec![None; self.columns.len()];
        let last_named = header.iter().rposition(|h| !h.trim().is_empty());
        for (j, raw) in header.iter().enumerate() {
            let h = normalise_header(raw);
            if h.is_empty() {
                if last_named.is_some_and(|l| j < l) {
                    let (code, message) = if merged_in_header {
                        ("merged_header", "merged header cells: every column needs its own header in row 1; unmerge them")
                    } else {
                        ("empty_header", "a column without a header in row 1")
                    };
                    problems.push(Problem::file_cell(1, j, code, message));
                }
                continue;
            }
            let found = self.columns.iter().position(|c| {
                normalise_header(c.name) == h
                    || normalise_header(c.title_zh) == h
                    || c.aliases.iter().any(|a| normalise_header(a) == h)
            });
            match found {
                None => problems.push(Problem {
                    value: Some(raw.trim().to_string()),
                    ..Problem::file_cell(
                        1,
                        j,
                        "unknown_column",
                        "a column this kind of file does not have; see the template",
                    )
                }),
                Some(i) if at[i].is_some() => problems.push(Problem {
                    column: Some(self.columns[i].name.to_string()),
                    ..Problem::file_cell(1, j, "duplicate_column", "this column appears twice")
                }),
                Some(i) => at[i] = Some(j),
            }
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.required && at[i].is_none() {
                problems.push(Problem {
                    row: 1,
                    column: Some(c.name.to_string()),
                    cell: None,
                    code: "missing_column".into(),
                    message: format!("the file has no column '{}' ({})", c.name, c.title_zh),
                    value: None,
                });
            }
        }
        for group in self.one_of {
            let present = group.iter().any(|n| {
                self.columns
                    .iter()
                    .position(|c| c.name == *n)
                    .is_some_and(|i| at[i].is_some())
            });
            if !present {
                problems.push(Problem {
                    row: 1,
                    column: Some(group.join("|")),
                    cell: None,
                    code: "missing_column".into(),
                    message: format!("the file needs one of the columns {}", group.join(", ")),
                    value: None,
                });
            }
        }
        if problems.is_empty() {
            Ok(HeaderMap { at })
        } else {
            Err(problems)
        }
    }

    /// The schema as a Frictionless Table Schema, with this project's additions under `x-`.
    pub fn table_schema(&self) -> TableSchema {
        TableSchema {
            name: self.kind,
            version: self.version,
            title: self.title_zh,
            title_en: self.title_en,
            fields: self.columns.iter().map(field_of).collect(),
            one_of: self.one_of,
            rows_max: self.rows_max,
            bytes_max: self.bytes_max,
            missing_values: [""],
        }
    }

    /// The cell reference of a schema column in a file laid out as the template (`B2`).
    pub fn template_cell(&self, name: &str, row: usize) -> Option<String> {
        let j = self.columns.iter().position(|c| c.name == name)?;
        Some(cell_ref(j, row))
    }
}

/// A Frictionless Table Schema.
#[derive(Debug, Clone, Serialize)]
pub struct TableSchema {
    pub name: &'static str,
    #[serde(rename = "x-version")]
    pub version: u32,
    pub title: &'static str,
    #[serde(rename = "x-title-en")]
    pub title_en: &'static str,
    pub fields: Vec<Field>,
    #[serde(rename = "x-one-of")]
    pub one_of: &'static [&'static [&'static str]],
    #[serde(rename = "x-rows-max")]
    pub rows_max: usize,
    #[serde(rename = "x-bytes-max")]
    pub bytes_max: usize,
    #[serde(rename = "missingValues")]
    pub missing_values: [&'static str; 1],
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub title: &'static str,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    pub description: &'static str,
    pub constraints: Constraints,
    #[serde(rename = "x-aliases")]
    pub aliases: &'static [&'static str],
    #[serde(rename = "x-personal")]
    pub personal: bool,
    #[serde(rename = "x-lookup", skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Lookup>,
    #[serde(rename = "x-check", skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
    /// An enum column's labels by code.
    #[serde(rename = "x-labels", skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<&'static str, &'static str>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Constraints {
    pub required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    #[serde(rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern: Option<&'static str>,
    /// The codes of an enum column (its Chinese labels are accepted too: `x-labels`).
    #[serde(rename = "enum", skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<&'static str>>,
}

/// The GB 11643 shape (the check character is checked besides, see `x-check`).
pub const ID_NUMBER_PATTERN: &str =
    "^[1-9][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9Xx]$";
const KEY_PATTERN: &str = "^[!-~]{1,200}$";
const ID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

fn field_of(c: &Column) -> Field {
    let mut k = Constraints {
        required: c.required,
        unique: c.unique,
        max_length: None,
        minimum: None,
        maximum: None,
        pattern: None,
        values: None,
    };
    let (kind, format, lookup, check) = match c.kind {
        ColumnType::Text { max_chars } => {
            k.max_length = Some(max_chars);
            ("string", None, None, None)
        }
        ColumnType::Integer { min, max } => {
            k.minimum = Some(min);
            k.maximum = Some(max);
            ("integer", None, None, None)
        }
        ColumnType::Date => ("date", Some("%Y-%m-%d"), None, None),
        ColumnType::IdNumber => {
            k.pattern = Some(ID_NUMBER_PATTERN);
            (
                "string",
                None,
                None,
                Some("GB 11643-1999 ISO 7064 MOD 11-2"),
            )
        }
        ColumnType::Key => {
            k.pattern = Some(KEY_PATTERN);
            ("string", None, None, None)
        }
        ColumnType::Id => {
            k.pattern = Some(ID_PATTERN);
            ("string", Some("uuid"), None, None)
        }
        ColumnType::Lookup(l) => ("string", None, Some(l), None),
        ColumnType::Enum(values) => {
            k.values = Some(values.iter().map(|(code, _)| *code).collect());
            ("string", None, None, None)
        }
    };
    Field {
        name: c.name,
        title: c.title_zh,
        kind,
        format,
        description: c.description,
        constraints: k,
        aliases: c.aliases,
        personal: c.personal,
        lookup,
        check,
        labels: match c.kind {
            ColumnType::Enum(values) => Some(values.iter().copied().collect()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::citydata::kinds::PARTNER_DEEDS;

    fn header(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_match_by_name_chinese_title_or_alias_in_any_order() {
        let s = &PARTNER_DEEDS;
        let m = s
            .map_header(
                &header(&[
                    "\u{feff}身份证号*",
                    "记录编号",
                    "standard",
                    "事迹日期（yyyy-mm-dd）",
                    "地点",
                    "事迹描述",
                ]),
                false,
            )
            .unwrap();
        assert_eq!(m.of(s, "resident_id_number"), Some(0));
        assert_eq!(m.of(s, "key"), Some(1));
        assert_eq!(m.of(s, "deed_date"), Some(3));
        assert_eq!(m.of(s, "points"), None);
        // The header of the first CSV format still maps.
        let old = header(&[
            "key",
            "citizen_id",
            "standard",
            "deed_date",
            "place",
            "description",
            "points",
        ]);
        assert!(s.map_header(&old, false).is_ok());
    }

    #[test]
    fn header_problems_each_have_their_code_and_cell() {
        let s = &PARTNER_DEEDS;
        let e = s
            .map_header(
                &header(&["key", "", "standard", "standard", "颜色", "地点"]),
                true,
            )
            .unwrap_err();
        let codes: Vec<_> = e
            .iter()
            .map(|p| (p.code.as_str(), p.cell.as_deref()))
            .collect();
        assert!(codes.contains(&("merged_header", Some("B1"))), "{codes:?}");
        assert!(codes.contains(&("duplicate_column", Some("D1"))));
        assert!(codes.contains(&("unknown_column", Some("E1"))));
        assert!(codes.contains(&("missing_column", None)));
        // Neither the ID number nor the resident id: one of them is needed.
        assert!(e.iter().any(|p| p.code == "missing_column"
            && p.column.as_deref() == Some("resident_id_number|citizen_id")));
    }

    #[test]
    fn the_table_schema_names_types_constraints_and_the_id_check() {
        let t = PARTNER_DEEDS.table_schema();
        let id = t
            .fields
            .iter()
            .find(|f| f.name == "resident_id_number")
            .unwrap();
        assert_eq!(id.constraints.pattern, Some(ID_NUMBER_PATTERN));
        assert!(id.personal && id.check.is_some());
        let date = t.fields.iter().find(|f| f.name == "deed_date").unwrap();
        assert_eq!(date.kind, "date");
        assert_eq!(t.version, PARTNER_DEEDS.version);
    }
}
