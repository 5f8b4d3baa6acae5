//! Every row of a file against its schema, one at a time as it is read ([`RowChecker`]) or all
//! at once ([`check_rows`]): each cell ([`super::cell::check`]),
//! a row that repeats an earlier one (`duplicate_row`), a value that must be unique in the file
//! and is not (`duplicate_in_file`), a row without any of a `one_of` group (`required`), and
//! the row and size limits. The store then checks what needs the database (look-ups, the rules
//! of the kind) for the rows that passed.

use super::cell::{check, Cell, Problem};
use super::schema::{HeaderMap, Schema};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// A row whose cells all passed: its sheet row number and one value per schema column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub values: Vec<Option<String>>,
}

impl Row {
    pub fn get(&self, schema: &Schema, name: &str) -> Option<&str> {
        let i = schema.columns.iter().position(|c| c.name == name)?;
        self.values[i].as_deref()
    }
}

/// The rows that passed and the problems of the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    pub rows: Vec<Row>,
    pub problems: Vec<Problem>,
    /// Data rows in the file (blank rows not counted).
    pub total: usize,
}

/// Check the data rows (sheet rows 2, 3, …; wholly blank rows are skipped), all at once.
pub fn check_rows(schema: &Schema, map: &HeaderMap, data: &[Vec<Cell>]) -> Checked {
    let mut out = Checked::default();
    let blank = |r: &Vec<Cell>| r.iter().all(Cell::is_empty);
    let total = data.iter().filter(|r| !blank(r)).count();
    if total > schema.rows_max {
        out.total = total;
        out.problems.push(too_many_rows(schema));
        return out;
    }
    let mut checker = RowChecker::new(schema, map.clone());
    for (i, cells) in data.iter().enumerate() {
        if let Some(row) = checker.check(i + 2, cells) {
            out.rows.push(row);
        }
    }
    let (total, problems) = checker.finish();
    out.total = total;
    out.problems = problems;
    out
}

fn too_many_rows(schema: &Schema) -> Problem {
    Problem::file(
        "too_many_rows",
        &format!("at most {} rows in one file; split it", schema.rows_max),
    )
}

/// The rows of a file checked one at a time, as they are read: what must be unique in the
/// file is remembered (a value of a `unique` column, a whole row as shown) by a 128-bit
/// fingerprint, so that a large file is not held twice; problems are gathered.
pub struct RowChecker<'a> {
    schema: &'a Schema,
    map: HeaderMap,
    seen_rows: HashMap<(u64, u64), usize>,
    /// A unique column's values by fingerprint, as rows are.
    seen_unique: HashMap<(usize, u64, u64), usize>,
    fingerprint: (RandomState, RandomState),
    total: usize,
    problems: Vec<Problem>,
}

impl<'a> RowChecker<'a> {
    pub fn new(schema: &'a Schema, map: HeaderMap) -> Self {
        RowChecker {
            schema,
            map,
            seen_rows: HashMap::new(),
            seen_unique: HashMap::new(),
            fingerprint: (RandomState::new(), RandomState::new()),
            total: 0,
            problems: Vec::new(),
        }
    }

    /// Where the schema's columns are in the file.
    pub fn map(&self) -> &HeaderMap {
        &self.map
    }

    /// Data rows seen so far (blank rows not counted).
    pub fn total(&self) -> usize {
        self.total
    }

    /// More rows than the schema takes: the file is refused whole (one file-level problem,
    /// the rows' own problems dropped), and reading may stop.
    pub fn over_limit(&self) -> bool {
        self.total > self.schema.rows_max
    }

    /// Problems found so far.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Check the sheet row `line` (2, 3, …): the row when every cell passed, `None` when it is
    /// blank or was refused (its problems kept).
    pub fn check(&mut self, line: usize, cells: &[Cell]) -> Option<Row> {
        if cells.iter().all(Cell::is_empty) {
            return None;
        }
        self.total += 1;
        if self.over_limit() {
            return None;
        }
        let first_problem = self.problems.len();
        let mut values = Vec::with_capacity(self.schema.columns.len());
        let mut ok = true;
        let empty = Cell::Empty;
        for (ci, column) in self.schema.columns.iter().enumerate() {
            let Some(j) = self.map.at[ci] else {
                values.push(None);
                continue;
            };
            let cell = cells.get(j).unwrap_or(&empty);
            match check(column, cell) {
                Ok(v) => {
                    if let (true, Some(v)) = (column.unique, &v) {
                        let (a, b) = self.fingerprint_of_value(v);
                        if let Some(first) = self.seen_unique.insert((ci, a, b), line) {
                            ok = false;
                            self.problems.push(Problem::at(
                                line,
                                j,
                                column,
                                "duplicate_in_file",
                                &format!(
                                    "the same value as row {first}: it must be unique in the file"
                                ),
                                cell,
                            ));
                        }
                    }
                    values.push(v);
                }
                Err((code, message)) => {
                    ok = false;
                    self.problems
                        .push(Problem::at(line, j, column, code, &message, cell));
                    values.push(None);
                }
            }
        }
        let shown = self.fingerprint_of(cells);
        if let Some(first) = self.seen_rows.get(&shown) {
            self.problems.push(Problem {
                row: line,
                column: None,
                cell: None,
                code: "duplicate_row".into(),
                message: format!("repeats row {first}"),
                value: None,
            });
            return None;
        }
        self.seen_rows.insert(shown, line);
        if let Some(p) = unfilled_group(self.schema, line, &values, &self.problems[first_problem..])
        {
            ok = false;
            self.problems.push(p);
        }
        ok.then_some(Row { line, values })
    }

    /// The row's cells as shown (trimmed, up to its last non-empty one, so that a reader
    /// leaving out trailing empty cells changes nothing), hashed twice with independent keys.
    fn fingerprint_of(&self, cells: &[Cell]) -> (u64, u64) {
        let shown: Vec<String> = cells
            .iter()
            .map(|c| c.display().trim().to_string())
            .collect();
        let used = shown
            .iter()
            .rposition(|s| !s.is_empty())
            .map_or(0, |i| i + 1);
        let shown = &shown[..used];
        (
            self.fingerprint.0.hash_one(shown),
            self.fingerprint.1.hash_one(shown),
        )
    }

    fn fingerprint_of_value(&self, v: &str) -> (u64, u64) {
        (
            self.fingerprint.0.hash_one(v),
            self.fingerprint.1.hash_one(v),
        )
    }

    /// The number of data rows and every problem (`no_rows` for a file without any,
    /// `too_many_rows` alone for one with too many).
    pub fn finish(self) -> (usize, Vec<Problem>) {
        if self.total == 0 {
            return (
                0,
                vec![Problem::file(
                    "no_rows",
                    "the file has a header but no rows",
                )],
            );
        }
        if self.over_limit() {
            return (self.total, vec![too_many_rows(self.schema)]);
        }
        (self.total, self.problems)
    }
}

/// A `one_of` group of which the row fills nothing (and whose cells were not already refused).
fn unfilled_group(
    schema: &Schema,
    line: usize,
    values: &[Option<String>],
    problems: &[Problem],
) -> Option<Problem> {
    let index = |n: &str| schema.columns.iter().position(|c| c.name == n);
    schema.one_of.iter().find_map(|group| {
        let filled = group
            .iter()
            .any(|n| index(n).is_some_and(|i| values[i].is_some()));
        let had_error = problems
            .iter()
            .any(|p| p.row == line && group.iter().any(|n| p.column.as_deref() == Some(*n)));
        (!filled && !had_error).then(|| Problem {
            row: line,
            column: Some(group.join("|")),
            cell: None,
            code: "required".into(),
            message: format!("fill one of {}", group.join(", ")),
            value: None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::citydata::kinds::PARTNER_DEEDS;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    const ID: &str = "330281199001011235";

    #[test]
    fn every_row_is_checked_and_every_bad_cell_named() {
        let s = &PARTNER_DEEDS;
        let header: Vec<String> = ["key", "身份证号", "standard", "日期", "地点", "描述"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        let map = s.map_header(&header, false).unwrap();
        let good = vec![
            t("k1"),
            t(ID),
            t("blood-donation"),
            t("2024-05-01"),
            t("血站"),
            t("献血"),
        ];
        let data = vec![
            good.clone(),
            vec![
                t("k2"),
                Cell::Number(3.3e17),
                t("blood-donation"),
                Cell::Number(45_413.0),
                t("血站"),
                t("献血"),
            ],
            vec![Cell::Empty; 6],
            vec![
                t("k1"),
                t(ID),
                t("x"),
                t("2024-05-01"),
                Cell::Formula("A1".into()),
                t("y"),
            ],
            good.clone(),
            vec![
                t("k5"),
                Cell::Empty,
                t("x"),
                t("2024-05-01"),
                t("p"),
                t("d"),
            ],
        ];
        let c = check_rows(s, &map, &data);
        assert_eq!(c.total, 5);
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].line, 2);
        assert_eq!(c.rows[0].get(s, "resident_id_number"), Some(ID));
        let got: Vec<_> = c
            .problems
            .iter()
            .map(|p| (p.row, p.cell.clone().unwrap_or_default(), p.code.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "B3".into(), "id_number_as_number"),
                (3, "D3".into(), "excel_serial_date"),
                (5, "A5".into(), "duplicate_in_file"),
                (5, "E5".into(), "formula"),
                (6, "A6".into(), "duplicate_in_file"),
                (6, String::new(), "duplicate_row"),
                (7, String::new(), "required"),
            ]
        );
    }

    #[test]
    fn one_row_at_a_time_as_all_at_once() {
        let s = &PARTNER_DEEDS;
        let header: Vec<String> = ["key", "身份证号", "standard", "日期", "地点", "描述"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        let map = s.map_header(&header, false).unwrap();
        let row =
            |k: &str, d: &str| vec![t(k), t(ID), t("blood-donation"), t(d), t("血站"), t("献血")];
        let mut shorter = row("k1", "2024-05-01");
        shorter.push(Cell::Empty);
        let data = vec![
            row("k1", "2024-05-01"),
            row("k2", "2024-05-02"),
            // The first row again, with an empty cell after it: the same row as shown.
            shorter,
            vec![t("k4"), Cell::Empty],
        ];
        let whole = check_rows(s, &map, &data);
        let mut one = RowChecker::new(s, map.clone());
        let rows: Vec<Row> = data
            .iter()
            .enumerate()
            .filter_map(|(i, cells)| one.check(i + 2, cells))
            .collect();
        let (total, problems) = one.finish();
        assert_eq!(
            (total, &problems, &rows),
            (whole.total, &whole.problems, &whole.rows)
        );
        let codes: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.code.as_str())).collect();
        assert_eq!(
            codes,
            vec![
                (4, "duplicate_in_file"),
                (4, "duplicate_row"),
                (5, "required"),
                (5, "required"),
                (5, "required"),
                (5, "required"),
                (5, "required"),
            ]
        );
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn a_stream_past_the_limit_is_refused_whole() {
        let s = &PARTNER_DEEDS;
        let header: Vec<String> = [
            "key",
            "citizen_id",
            "standard",
            "deed_date",
            "place",
            "description",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        let map = s.map_header(&header, false).unwrap();
        let mut c = RowChecker::new(s, map);
        let mut line = 2;
        while !c.over_limit() {
            c.check(line, &[t(&format!("k{line}")), t("c")]);
            line += 1;
        }
        assert_eq!(c.total(), s.rows_max + 1);
        let (total, problems) = c.finish();
        assert_eq!(total, s.rows_max + 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, "too_many_rows");
    }

    #[test]
    fn limits() {
        let s = &PARTNER_DEEDS;
        let header: Vec<String> = [
            "key",
            "citizen_id",
            "standard",
            "deed_date",
            "place",
            "description",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        let map = s.map_header(&header, false).unwrap();
        assert_eq!(check_rows(s, &map, &[]).problems[0].code, "no_rows");
        let row = vec![t("k"); 6];
        let many = vec![row; s.rows_max + 1];
        assert_eq!(check_rows(s, &map, &many).problems[0].code, "too_many_rows");
    }
}
