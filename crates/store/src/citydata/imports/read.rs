//! An uploaded file as a sheet of cells: XLSX, XLS and ODS through `calamine` (the first sheet;
//! formulas, date-formatted cells and merged cells kept as such), anything else as CSV, decoded
//! as UTF-8 (a byte-order mark dropped) or, when it is not UTF-8, as GB18030, which is what
//! Excel writes for "CSV" on a Chinese Windows.

use calamine::{Data, Dimensions, Range, Reader, Sheets};
use domain::citydata::{Cell, Problem};
use std::io::Cursor;

/// The first sheet of a file: its header row (row 1) and its data rows (2, 3, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// `xlsx`, `xls`, `ods`, `csv-utf8` or `csv-gb18030`.
    pub format: &'static str,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Some merged region touches row 1.
    pub merged_header: bool,
}

/// Read `bytes`; a file no reader understands is one file-level problem.
pub fn read(bytes: &[u8]) -> Result<Sheet, Box<Problem>> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return spreadsheet(bytes);
    }
    csv_sheet(bytes)
}

fn unreadable(what: &str) -> Box<Problem> {
    Box::new(Problem::file(
        "unreadable_file",
        &format!("{what}: send an XLSX, XLS, ODS or CSV file (UTF-8 or GB18030)"),
    ))
}

fn spreadsheet(bytes: &[u8]) -> Result<Sheet, Box<Problem>> {
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| unreadable(&format!("not a spreadsheet ({e})")))?;
    let format = match &book {
        Sheets::Xlsx(_) => "xlsx",
        Sheets::Xls(_) => "xls",
        Sheets::Ods(_) => "ods",
        Sheets::Xlsb(_) => "xlsb",
    };
    let name = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| unreadable("the workbook has no sheet"))?;
    let values = book
        .worksheet_range(&name)
        .map_err(|e| unreadable(&format!("the first sheet cannot be read ({e})")))?;
    let formulas = book.worksheet_formula(&name).unwrap_or_default();
    let merged: Vec<Dimensions> = match &mut book {
        Sheets::Xlsx(x) => x
            .worksheet_merge_cells(&name)
            .and_then(Result::ok)
            .unwrap_or_default(),
        Sheets::Xls(x) => x.worksheet_merge_cells(&name).unwrap_or_default(),
        _ => Vec::new(),
    };
    let grid = grid(&values, &formulas, &merged);
    let mut rows = grid.into_iter();
    let header = rows
        .next()
        .unwrap_or_default()
        .iter()
        .map(|c| c.display().trim().to_string())
        .collect();
    Ok(Sheet {
        format,
        header,
        rows: rows.collect(),
        merged_header: merged.iter().any(|d| d.start.0 == 0),
    })
}

/// The sheet from A1 on, by absolute position, formulas in place of their cached values and
/// the covered parts of merged regions marked.
fn grid(values: &Range<Data>, formulas: &Range<String>, merged: &[Dimensions]) -> Vec<Vec<Cell>> {
    let (end_r, end_c) = values.end().unwrap_or((0, 0));
    if values.is_empty() {
        return Vec::new();
    }
    let mut out = vec![vec![Cell::Empty; end_c as usize + 1]; end_r as usize + 1];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, cell) in row.iter_mut().enumerate() {
            let pos = (r as u32, c as u32);
            if let Some(f) = formulas.get_value(pos).filter(|f| !f.is_empty()) {
                *cell = Cell::Formula(f.clone());
            } else if let Some(v) = values.get_value(pos) {
                *cell = cell_of(v);
            }
        }
    }
    for d in merged {
        for r in d.start.0..=d.end.0.min(end_r) {
            for c in d.start.1..=d.end.1.min(end_c) {
                if (r, c) != d.start {
                    out[r as usize][c as usize] = Cell::Merged;
                }
            }
        }
    }
    out
}

fn cell_of(v: &Data) -> Cell {
    match v {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::String(s) => Cell::Text(s.clone()),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) if d.is_datetime() => Cell::Date(d.as_f64()),
        Data::DateTime(d) => Cell::Number(d.as_f64()),
        // ODS keeps dates as ISO text; a midnight time adds nothing.
        Data::DateTimeIso(s) => Cell::Text(s.trim_end_matches("T00:00:00").to_string()),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(format!("{e}")),
    }
}

fn csv_sheet(bytes: &[u8]) -> Result<Sheet, Box<Problem>> {
    let (text, format) = match std::str::from_utf8(bytes) {
        Ok(t) => (
            std::borrow::Cow::Borrowed(t.trim_start_matches('\u{feff}')),
            "csv-utf8",
        ),
        Err(_) => {
            let (t, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
            if had_errors {
                return Err(unreadable("neither UTF-8 nor GB18030 text"));
            }
            (t, "csv-gb18030")
        }
    };
    if text.contains('\0') {
        return Err(unreadable("binary data"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| unreadable(&format!("not a CSV file ({e})")))?;
        records.push(
            r.iter()
                .map(|v| {
                    if v.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(v.to_string())
                    }
                })
                .collect::<Vec<_>>(),
        );
    }
    let mut rows = records.into_iter();
    let header = rows
        .next()
        .ok_or_else(|| Box::new(Problem::file("no_rows", "the file is empty")))?
        .iter()
        .map(|c| c.display().trim().to_string())
        .collect();
    Ok(Sheet {
        format,
        header,
        rows: rows.collect(),
        merged_header: false,
    })
}
