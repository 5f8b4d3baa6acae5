//! Workbooks the clerk downloads, written with `rust_xlsxwriter`: the template of a kind (text
//! format on ID and key columns so Excel never turns them into numbers, drop-downs for
//! look-ups, a note on each header, a sheet of instructions), its CSV twin (UTF-8 with a
//! byte-order mark, so Excel opens it as UTF-8), and the error workbook (the rows as uploaded,
//! an error column, every bad cell filled red with its problem as a note, and the list of
//! problems on a second sheet).

use super::read::Sheet;
use crate::{Result, StoreError};
use domain::citydata::{Column, ColumnType, Problem, Schema};
use rust_xlsxwriter::{
    Color, DataValidation, Format, Formula, Note, Workbook, Worksheet, XlsxError,
};
use std::collections::BTreeMap;

fn xlsx_error(e: XlsxError) -> StoreError {
    StoreError::Integrity(format!("writing a workbook: {e}"))
}

/// The header a template shows: the Chinese title, `*` when required.
fn header_of(c: &Column) -> String {
    if c.required {
        format!("{}*", c.title_zh)
    } else {
        c.title_zh.to_string()
    }
}

fn is_text_column(c: &Column) -> bool {
    matches!(
        c.kind,
        ColumnType::IdNumber
            | ColumnType::Key
            | ColumnType::Id
            | ColumnType::Text { .. }
            | ColumnType::Lookup(_)
            | ColumnType::Enum(_)
    )
}

/// The XLSX template of `schema`; `lists` gives the drop-down values of a look-up column by
/// name (an enum column's drop-down is its Chinese labels).
pub fn template_xlsx(schema: &Schema, lists: &BTreeMap<&str, Vec<String>>) -> Result<Vec<u8>> {
    let mut lists = lists.clone();
    for c in schema.columns {
        if let ColumnType::Enum(values) = c.kind {
            lists.insert(
                c.name,
                values
                    .iter()
                    .map(|(_, label)| (*label).to_string())
                    .collect(),
            );
        }
    }
    let lists = &lists;
    let mut book = Workbook::new();
    let bold = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7));
    let text = Format::new().set_num_format("@");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let last_row = schema.rows_max as u32;
    {
        let ws = book.add_worksheet();
        ws.set_name("数据").map_err(xlsx_error)?;
        for (j, c) in schema.columns.iter().enumerate() {
            let j = j as u16;
            ws.write_string_with_format(0, j, header_of(c), &bold)
                .map_err(xlsx_error)?;
            ws.insert_note(
                0,
                j,
                &Note::new(format!("{}: {}", c.name, c.description)).add_author_prefix(false),
            )
            .map_err(xlsx_error)?;
            ws.set_column_width(
                j,
                if matches!(c.kind, ColumnType::IdNumber | ColumnType::Text { .. }) {
                    22
                } else {
                    14
                },
            )
            .map_err(xlsx_error)?;
            if is_text_column(c) {
                ws.set_column_format(j, &text).map_err(xlsx_error)?;
            } else if c.kind == ColumnType::Date {
                ws.set_column_format(j, &date).map_err(xlsx_error)?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    }
    let mut list_col = 0u16;
    let mut validations = Vec::new();
    if !lists.is_empty() {
        let ws = book.add_worksheet();
        ws.set_name("lists").map_err(xlsx_error)?;
        for (name, values) in lists {
            let Some(j) = schema.columns.iter().position(|c| c.name == *name) else {
                continue;
            };
            ws.write_string(0, list_col, *name).map_err(xlsx_error)?;
            for (i, v) in values.iter().enumerate() {
                ws.write_string(i as u32 + 1, list_col, v)
                    .map_err(xlsx_error)?;
            }
            let letter = domain::citydata::column_letters(list_col as usize);
            let range = format!("=lists!${letter}$2:${letter}${}", values.len().max(1) + 1);
            validations.push((
                j as u16,
                DataValidation::new().allow_list_formula(Formula::new(range)),
            ));
            list_col += 1;
        }
    }
    if let Ok(ws) = book.worksheet_from_index(0) {
        for (j, v) in &validations {
            ws.add_data_validation(1, *j, last_row, *j, v)
                .map_err(xlsx_error)?;
        }
    }
    instructions(book.add_worksheet(), schema)?;
    book.save_to_buffer().map_err(xlsx_error)
}

fn instructions(ws: &mut Worksheet, schema: &Schema) -> Result<()> {
    ws.set_name("说明").map_err(xlsx_error)?;
    let bold = Format::new().set_bold();
    let lines = [
        format!("{} ({}) v{}", schema.title_zh, schema.title_en, schema.version),
        format!("第 1 行为表头，从第 2 行起每行一条；最多 {} 行。/ Row 1 is the header; one record per row from row 2; at most {} rows.", schema.rows_max, schema.rows_max),
        "整个文件要么全部导入，要么一条也不导入。/ The whole file is imported, or nothing.".into(),
        "身份证号请保持文本格式，不要合并单元格，不要使用公式。/ Keep ID numbers as text; no merged cells, no formulas.".into(),
    ];
    for (i, l) in lines.iter().enumerate() {
        ws.write_string(i as u32, 0, l).map_err(xlsx_error)?;
    }
    let top = lines.len() as u32 + 1;
    for (j, h) in [
        "列 column",
        "表头 header",
        "必填 required",
        "说明 description",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string_with_format(top, j as u16, *h, &bold)
            .map_err(xlsx_error)?;
    }
    for (i, c) in schema.columns.iter().enumerate() {
        let r = top + 1 + i as u32;
        ws.write_string(r, 0, c.name).map_err(xlsx_error)?;
        ws.write_string(r, 1, c.title_zh).map_err(xlsx_error)?;
        ws.write_string(r, 2, if c.required { "是 yes" } else { "否 no" })
            .map_err(xlsx_error)?;
        ws.write_string(r, 3, c.description).map_err(xlsx_error)?;
    }
    ws.set_column_width(3, 80).map_err(xlsx_error)?;
    Ok(())
}

/// The CSV template: UTF-8 with a byte-order mark, the Chinese headers.
pub fn template_csv(schema: &Schema) -> Vec<u8> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let header: Vec<String> = schema.columns.iter().map(header_of).collect();
    out.extend_from_slice(header.join(",").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

/// The file as uploaded with its problems: an error column, bad cells red with a note.
pub fn error_workbook(sheet: &Sheet, problems: &[Problem]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bad = Format::new()
        .set_background_color(Color::RGB(0xFFC7CE))
        .set_num_format("@");
    let text = Format::new().set_num_format("@");
    let head = Format::new().set_bold();
    let mut by_cell: BTreeMap<(usize, usize), Vec<&Problem>> = BTreeMap::new();
    let mut by_row: BTreeMap<usize, Vec<&Problem>> = BTreeMap::new();
    for p in problems {
        by_row.entry(p.row).or_default().push(p);
        if let Some((r, c)) = p.cell.as_deref().and_then(parse_ref) {
            by_cell.entry((r, c)).or_default().push(p);
        }
    }
    let width = sheet
        .rows
        .iter()
        .map(Vec::len)
        .chain([sheet.header.len()])
        .max()
        .unwrap_or(0);
    {
        let ws = book.add_worksheet();
        ws.set_name("数据").map_err(xlsx_error)?;
        let put = |ws: &mut Worksheet, r: usize, c: usize, v: &str| -> Result<()> {
            let f = if by_cell.contains_key(&(r + 1, c)) {
                &bad
            } else {
                &text
            };
            ws.write_string_with_format(r as u32, c as u16, v, f)
                .map_err(xlsx_error)?;
            if let Some(ps) = by_cell.get(&(r + 1, c)) {
                let msg: Vec<String> = ps
                    .iter()
                    .map(|p| format!("[{}] {}", p.code, p.message))
                    .collect();
                ws.insert_note(
                    r as u32,
                    c as u16,
                    &Note::new(msg.join("\n")).add_author_prefix(false),
                )
                .map_err(xlsx_error)?;
            }
            Ok(())
        };
        for (c, h) in sheet.header.iter().enumerate() {
            put(ws, 0, c, h)?;
        }
        ws.write_string_with_format(0, width as u16, "错误 errors", &head)
            .map_err(xlsx_error)?;
        for (i, row) in sheet.rows.iter().enumerate() {
            for (c, cell) in row.iter().enumerate() {
                put(ws, i + 1, c, &cell.display())?;
            }
            if let Some(ps) = by_row.get(&(i + 2)) {
                let msg: Vec<String> = ps
                    .iter()
                    .map(|p| {
                        format!(
                            "{} [{}] {}",
                            p.cell.as_deref().unwrap_or(""),
                            p.code,
                            p.message
                        )
                    })
                    .collect();
                ws.write_string(i as u32 + 1, width as u16, msg.join("; ").trim())
                    .map_err(xlsx_error)?;
            }
        }
        ws.set_column_width(width as u16, 60).map_err(xlsx_error)?;
        ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    }
    problem_sheet(book.add_worksheet(), problems, &head)?;
    book.save_to_buffer().map_err(xlsx_error)
}

/// The list of problems, one per row.
fn problem_sheet(ws: &mut Worksheet, problems: &[Problem], head: &Format) -> Result<()> {
    ws.set_name("problems").map_err(xlsx_error)?;
    for (j, h) in ["row", "column", "cell", "code", "message", "value"]
        .iter()
        .enumerate()
    {
        ws.write_string_with_format(0, j as u16, *h, head)
            .map_err(xlsx_error)?;
    }
    for (i, p) in problems.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_number(r, 0, p.row as f64).map_err(xlsx_error)?;
        for (j, v) in [
            &p.column,
            &p.cell,
            &Some(p.code.clone()),
            &Some(p.message.clone()),
            &p.value,
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(r, j as u16 + 1, v.as_deref().unwrap_or(""))
                .map_err(xlsx_error)?;
        }
    }
    Ok(())
}

/// A published table as a workbook: a title row, a note of its rule, the header, the rows
/// (every figure as text, so `<10` and `×` stay what they are).
pub fn table_xlsx(
    title: &str,
    note: &str,
    header: &[String],
    rows: &[Vec<String>],
) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.write_string_with_format(0, 0, title, &bold)
        .map_err(xlsx_error)?;
    ws.write_string(1, 0, note).map_err(xlsx_error)?;
    for (j, h) in header.iter().enumerate() {
        ws.write_string_with_format(3, j as u16, h, &bold)
            .map_err(xlsx_error)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            ws.write_string(4 + i as u32, j as u16, v)
                .map_err(xlsx_error)?;
        }
    }
    book.save_to_buffer().map_err(xlsx_error)
}

/// `C17` → (17, 2).
fn parse_ref(cell: &str) -> Option<(usize, usize)> {
    let split = cell.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = cell.split_at(split);
    let col = letters.bytes().try_fold(0usize, |acc, b| {
        b.is_ascii_uppercase()
            .then(|| acc * 26 + usize::from(b - b'A') + 1)
    })?;
    Some((digits.parse().ok()?, col.checked_sub(1)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_back() {
        assert_eq!(parse_ref("C17"), Some((17, 2)));
        assert_eq!(parse_ref("AA2"), Some((2, 26)));
        assert_eq!(parse_ref("17"), None);
    }
}
