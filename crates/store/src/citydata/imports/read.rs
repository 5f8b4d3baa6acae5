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

/// What a file hands its reader as it is read ([`stream`]), in order.
pub trait Visit {
    /// The file's format and its header row (row 1); `false` stops reading.
    fn header(&mut self, format: &'static str, header: Vec<String>, merged_header: bool) -> bool;
    /// A row below the header with its sheet row number (2, 3, …); `false` stops reading.
    fn row(&mut self, line: usize, cells: Vec<Cell>) -> bool;
}

/// Read `bytes` row by row, holding no more of the sheet than one row: XLSX streamed from its
/// XML (formulas and merged regions found first), CSV record by record; XLS and ODS, which
/// `calamine` reads only whole (and which are small: an XLS sheet holds 65,536 rows), as
/// [`read`] has them. The cells are those [`read`] gives, except that a row ends at its last
/// cell in the file instead of the sheet's widest row.
pub fn stream(bytes: &[u8], v: &mut impl Visit) -> Result<(), Box<Problem>> {
    if bytes.starts_with(b"PK\x03\x04") {
        let book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
            .map_err(|e| unreadable(&format!("not a spreadsheet ({e})")))?;
        if let Sheets::Xlsx(mut x) = book {
            return xlsx_stream(&mut x, v);
        }
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        let sheet = spreadsheet(bytes)?;
        if v.header(sheet.format, sheet.header, sheet.merged_header) {
            for (i, cells) in sheet.rows.into_iter().enumerate() {
                if !v.row(i + 2, cells) {
                    break;
                }
            }
        }
        return Ok(());
    }
    csv_stream(bytes, v)
}

fn xlsx_stream<RS: std::io::Read + std::io::Seek>(
    x: &mut calamine::Xlsx<RS>,
    v: &mut impl Visit,
) -> Result<(), Box<Problem>> {
    let name = x
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| unreadable("the workbook has no sheet"))?;
    let broken =
        |e: calamine::XlsxError| unreadable(&format!("the first sheet cannot be read ({e})"));
    let merged: Vec<Dimensions> = x
        .worksheet_merge_cells(&name)
        .and_then(Result::ok)
        .unwrap_or_default();
    // Formulas first (a data sheet seldom has any: only those cells are kept).
    let mut formulas: std::collections::HashMap<(u32, u32), String> = Default::default();
    {
        let mut cells = x.worksheet_cells_reader(&name).map_err(broken)?;
        while let Some(c) = cells.next_formula().map_err(broken)? {
            if !c.get_value().is_empty() {
                formulas.insert(c.get_position(), c.get_value().clone());
            }
        }
    }
    let mut cells = x.worksheet_cells_reader(&name).map_err(broken)?;
    let mut row: Vec<Cell> = Vec::new();
    // The sheet row (from 0) that `row` holds; rows come in order.
    let mut at: u32 = 0;
    let mut header_sent = false;
    // Hand over the rows before `next` (the one being read, or past the last).
    let mut flush = |row: &mut Vec<Cell>, at: u32, next: u32, header_sent: &mut bool| -> bool {
        for r in at..next {
            let mut cells = if r == at {
                std::mem::take(row)
            } else {
                Vec::new()
            };
            mark_merged(&mut cells, r, &merged);
            if !*header_sent {
                *header_sent = true;
                let header = cells
                    .iter()
                    .map(|c| c.display().trim().to_string())
                    .collect();
                if !v.header("xlsx", header, merged.iter().any(|d| d.start.0 == 0)) {
                    return false;
                }
            } else if !cells.is_empty() && !v.row(r as usize + 1, cells) {
                return false;
            }
        }
        true
    };
    while let Some(c) = cells.next_cell().map_err(broken)? {
        let (r, col) = c.get_position();
        if r != at {
            if !flush(&mut row, at, r, &mut header_sent) {
                return Ok(());
            }
            at = r;
        }
        let col = col as usize;
        if row.len() <= col {
            row.resize(col + 1, Cell::Empty);
        }
        row[col] = match formulas.remove(&(r, col as u32)) {
            Some(f) => Cell::Formula(f),
            None => cell_of_ref(c.get_value()),
        };
    }
    // The last row, and the header when the sheet has no data rows.
    flush(&mut row, at, at + 1, &mut header_sent);
    Ok(())
}

/// The covered parts of merged regions in sheet row `r` marked (the region's first cell
/// keeps its value).
fn mark_merged(cells: &mut Vec<Cell>, r: u32, merged: &[Dimensions]) {
    for d in merged.iter().filter(|d| d.start.0 <= r && r <= d.end.0) {
        for c in d.start.1..=d.end.1 {
            if (r, c) == d.start {
                continue;
            }
            let c = c as usize;
            if cells.len() <= c {
                cells.resize(c + 1, Cell::Empty);
            }
            cells[c] = Cell::Merged;
        }
    }
}

fn cell_of_ref(v: &calamine::DataRef<'_>) -> Cell {
    use calamine::DataRef;
    match v {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) if d.is_datetime() => Cell::Date(d.as_f64()),
        DataRef::DateTime(d) => Cell::Number(d.as_f64()),
        DataRef::DateTimeIso(s) => Cell::Text(s.trim_end_matches("T00:00:00").to_string()),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(format!("{e}")),
    }
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

/// CSV record by record: UTF-8 (a byte-order mark dropped) or else GB18030.
fn csv_stream(bytes: &[u8], v: &mut impl Visit) -> Result<(), Box<Problem>> {
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
    let mut record = csv::StringRecord::new();
    let mut line = 1;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) if line == 1 => {
                return Err(Box::new(Problem::file("no_rows", "the file is empty")))
            }
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => return Err(unreadable(&format!("not a CSV file ({e})"))),
        }
        let cells: Vec<Cell> = record
            .iter()
            .map(|v| {
                if v.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Text(v.to_string())
                }
            })
            .collect();
        let go_on = if line == 1 {
            let header = cells
                .iter()
                .map(|c| c.display().trim().to_string())
                .collect();
            v.header(format, header, false)
        } else {
            v.row(line, cells)
        };
        if !go_on {
            return Ok(());
        }
        line += 1;
    }
}

/// A CSV file whole (every record read before any is checked, as the error workbook wants).
fn csv_sheet(bytes: &[u8]) -> Result<Sheet, Box<Problem>> {
    struct Whole(Sheet);
    impl Visit for Whole {
        fn header(&mut self, format: &'static str, header: Vec<String>, _: bool) -> bool {
            self.0.format = format;
            self.0.header = header;
            true
        }
        fn row(&mut self, _: usize, cells: Vec<Cell>) -> bool {
            self.0.rows.push(cells);
            true
        }
    }
    let mut whole = Whole(Sheet {
        format: "csv-utf8",
        header: Vec::new(),
        rows: Vec::new(),
        merged_header: false,
    });
    csv_stream(bytes, &mut whole)?;
    Ok(whole.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every non-blank row as `stream` hands it and as `read` has it, trailing empty cells
    /// dropped (a streamed row ends at its last cell).
    /// Rows with their sheet row numbers.
    type Lines = Vec<(usize, Vec<Cell>)>;

    fn both(bytes: &[u8]) -> (Lines, Lines, Sheet) {
        struct Collect(Vec<String>, bool, Vec<(usize, Vec<Cell>)>);
        impl Visit for Collect {
            fn header(&mut self, _: &'static str, header: Vec<String>, merged: bool) -> bool {
                (self.0, self.1) = (header, merged);
                true
            }
            fn row(&mut self, line: usize, cells: Vec<Cell>) -> bool {
                self.2.push((line, cells));
                true
            }
        }
        let trimmed = |mut cells: Vec<Cell>| {
            while cells.last().is_some_and(|c| *c == Cell::Empty) {
                cells.pop();
            }
            cells
        };
        let mut streamed = Collect(Vec::new(), false, Vec::new());
        stream(bytes, &mut streamed).unwrap();
        let whole = read(bytes).unwrap();
        // (`map_header` reads a header up to its last named cell.)
        let named =
            |h: &[String]| h[..h.iter().rposition(|h| !h.is_empty()).map_or(0, |i| i + 1)].to_vec();
        assert_eq!(named(&streamed.0), named(&whole.header));
        assert_eq!(streamed.1, whole.merged_header);
        let keep = |(line, cells): (usize, Vec<Cell>)| {
            let cells = trimmed(cells);
            (!cells.is_empty()).then_some((line, cells))
        };
        let got = streamed.2.into_iter().filter_map(keep).collect();
        let want = whole
            .rows
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, cells)| (i + 2, cells))
            .filter_map(keep)
            .collect();
        (got, want, whole)
    }

    #[test]
    fn a_streamed_xlsx_has_the_cells_of_the_whole_sheet() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        sheet
            .merge_range(0, 0, 0, 1, "编号与姓名", &rust_xlsxwriter::Format::new())
            .unwrap();
        sheet.write_string(0, 2, "金额").unwrap();
        sheet.write_string(1, 0, "A-1").unwrap();
        sheet.write_number(1, 1, 330281199001011235.0).unwrap();
        sheet.write_formula(1, 2, "=1+2").unwrap();
        // Row 4 is blank; rows 5 to 7 are one merged region with nothing else in 6 and 7.
        sheet
            .write_number_with_format(2, 2, 45_413.0, &date)
            .unwrap();
        sheet
            .merge_range(4, 0, 6, 0, "合并", &rust_xlsxwriter::Format::new())
            .unwrap();
        sheet.write_boolean(8, 3, true).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let (got, want, whole) = both(&bytes);
        assert!(whole.merged_header);
        assert_eq!(got, want);
        let lines: Vec<usize> = got.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, vec![2, 3, 5, 6, 7, 9]);
        assert_eq!(got[0].1[2], Cell::Formula("1+2".into()));
        assert_eq!(got[2].1, vec![Cell::Text("合并".into())]);
        assert_eq!(got[3].1, vec![Cell::Merged]);
    }

    #[test]
    fn a_streamed_csv_has_the_records_of_the_whole_file() {
        let text = "\u{feff}编号,金额\nA-1,3\n\n\"B,2\",\"多\n行\"\nC-3\n";
        let (got, want, whole) = both(text.as_bytes());
        assert_eq!(whole.format, "csv-utf8");
        assert_eq!(got, want);
        assert_eq!(got.len(), 3);
        let (gb, _, _) = encoding_rs::GB18030.encode("编号,金额\n甲,1\n");
        let (got, want, whole) = both(&gb);
        assert_eq!(whole.format, "csv-gb18030");
        assert_eq!(got, want);
        assert_eq!(
            got,
            vec![(2, vec![Cell::Text("甲".into()), Cell::Text("1".into())])]
        );
    }
}
