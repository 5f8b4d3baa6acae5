//! Every row of a file against its schema, all at once: each cell ([`super::cell::check`]),
//! a row that repeats an earlier one (`duplicate_row`), a value that must be unique in the file
//! and is not (`duplicate_in_file`), a row without any of a `one_of` group (`required`), and
//! the row and size limits. The store then checks what needs the database (look-ups, the rules
//! of the kind) for the rows that passed.

use super::cell::{check, Cell, Problem};
use super::schema::{HeaderMap, Schema};
use std::collections::HashMap;

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

/// Check the data rows (sheet rows 2, 3, …; wholly blank rows are skipped).
pub fn check_rows(schema: &Schema, map: &HeaderMap, data: &[Vec<Cell>]) -> Checked {
    let mut out = Checked::default();
    let blank = |r: &Vec<Cell>| r.iter().all(Cell::is_empty);
    out.total = data.iter().filter(|r| !blank(r)).count();
    if out.total == 0 {
        out.problems.push(Problem::file(
            "no_rows",
            "the file has a header but no rows",
        ));
        return out;
    }
    if out.total > schema.rows_max {
        out.problems.push(Problem::file(
            "too_many_rows",
            &format!("at most {} rows in one file; split it", schema.rows_max),
        ));
        return out;
    }
    let mut seen_rows: HashMap<Vec<String>, usize> = HashMap::new();
    let mut seen_unique: HashMap<(usize, String), usize> = HashMap::new();
    let empty = Cell::Empty;
    for (i, cells) in data.iter().enumerate() {
        if blank(cells) {
            continue;
        }
        let line = i + 2;
        let mut values = Vec::with_capacity(schema.columns.len());
        let mut ok = true;
        for (ci, column) in schema.columns.iter().enumerate() {
            let Some(j) = map.at[ci] else {
                values.push(None);
                continue;
            };
            let cell = cells.get(j).unwrap_or(&empty);
            match check(column, cell) {
                Ok(v) => {
                    if let (true, Some(v)) = (column.unique, &v) {
                        if let Some(first) = seen_unique.insert((ci, v.clone()), line) {
                            ok = false;
                            out.problems.push(Problem::at(
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
                    out.problems
                        .push(Problem::at(line, j, column, code, &message, cell));
                    values.push(None);
                }
            }
        }
        let shown: Vec<String> = cells
            .iter()
            .map(|c| c.display().trim().to_string())
            .collect();
        if let Some(first) = seen_rows.get(&shown) {
            out.problems.push(Problem {
                row: line,
                column: None,
                cell: None,
                code: "duplicate_row".into(),
                message: format!("repeats row {first}"),
                value: None,
            });
            continue;
        }
        seen_rows.insert(shown, line);
        if let Some(p) = unfilled_group(schema, line, &values, &out.problems) {
            ok = false;
            out.problems.push(p);
        }
        if ok {
            out.rows.push(Row { line, values });
        }
    }
    out
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
