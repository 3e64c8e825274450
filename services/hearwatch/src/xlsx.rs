//! The report as an Excel workbook (`--format xlsx`), for analysts who edit it further.
//!
//! One sheet per table, laid out like the ministry's: a title row, the grouped header as
//! merged cells (the layout of [`TableSpec::header_cells`], shared with the HTML page), a
//! row per region in report order and a totals row; then a sheet with the text, one
//! paragraph per row. Numbers are stored as numbers, not formulas, so that any reader sees
//! the values without recalculating. The workbook's creation date is fixed to the report's
//! month, so the same numbers give the same bytes and a re-issued report is identical.
//!
//! It owns only the layout; the numbers and the text come from the engine's rollup.

use chrono::Datelike;
use hearwatch_engine::report::{month_words, table_heading, text, totals_label};
use hearwatch_engine::rollup::{Rollup, Table, TableSpec};
use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

/// The sheets' names, in order: Table 1, Table 2, the text.
pub const SHEETS: [&str; 3] = ["Таблица 1", "Таблица 2", "Текст"];

/// The first row of a table's header, below its title.
const HEADER_ROW: u32 = 2;

/// The cell formats of a sheet.
struct Styles {
    title: Format,
    header: Format,
    number: Format,
    region: Format,
    total_label: Format,
    total: Format,
    paragraph: Format,
}

impl Styles {
    fn new() -> Styles {
        let base = Format::new()
            .set_font_name("Times New Roman")
            .set_font_size(10);
        let cell = base.clone().set_border(FormatBorder::Thin);
        Styles {
            title: base.clone().set_bold().set_font_size(12),
            header: cell
                .clone()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            number: cell.clone().set_align(FormatAlign::Right),
            region: cell.clone().set_align(FormatAlign::Left),
            total_label: cell.clone().set_bold().set_align(FormatAlign::Left),
            total: cell.set_bold().set_align(FormatAlign::Right),
            paragraph: base.set_text_wrap().set_align(FormatAlign::Top),
        }
    }
}

/// The report's workbook, as the bytes of an `.xlsx` file.
pub fn workbook(rollup: &Rollup) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let month = rollup.month;
    let year = u16::try_from(month.year())
        .map_err(|_| XlsxError::DateTimeRangeError(month.to_string()))?;
    let created = ExcelDateTime::from_ymd(year, month.month() as u8, 1)?;
    book.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "Мониторинг размещения информации об общественных слушаниях за {}",
                month_words(month)
            ))
            .set_author("hearwatch")
            .set_creation_datetime(&created),
    );
    let styles = Styles::new();
    for (n, table) in [&rollup.open_meetings, &rollup.public_discussions]
        .into_iter()
        .enumerate()
    {
        let sheet = book.add_worksheet();
        sheet.set_name(SHEETS[n])?;
        table_sheet(sheet, &styles, n + 1, table, rollup)?;
    }
    let sheet = book.add_worksheet();
    sheet.set_name(SHEETS[2])?;
    text_sheet(sheet, &styles, rollup)?;
    book.save_to_buffer()
}

/// Writes text into a cell area, merging it when it spans more than one cell.
fn area(
    sheet: &mut Worksheet,
    (row, col): (u32, u16),
    (rows, cols): (u32, u16),
    text: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    if rows == 1 && cols == 1 {
        sheet.write_string_with_format(row, col, text, format)?;
    } else {
        sheet.merge_range(row, col, row + rows - 1, col + cols - 1, text, format)?;
    }
    Ok(())
}

fn table_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    n: usize,
    table: &Table,
    rollup: &Rollup,
) -> Result<(), XlsxError> {
    let spec: &TableSpec = table.spec;
    let width = (spec.columns.len() + 3) as u16;
    sheet.set_landscape();
    sheet.set_column_width(0, 5)?;
    sheet.set_column_width(1, 24)?;
    sheet.set_column_range_width(2, width - 1, 12)?;
    let heading = table_heading(n, spec, rollup.month);
    area(sheet, (0, 0), (1, width), &heading, &styles.title)?;

    for cell in spec.header_cells() {
        let at = (HEADER_ROW + cell.row as u32, cell.col as u16);
        let span = (cell.rows as u32, cell.cols as u16);
        area(sheet, at, span, cell.text, &styles.header)?;
    }

    let first = HEADER_ROW + spec.header_depth() as u32;
    for (i, row) in table.rows.iter().enumerate() {
        let r = first + i as u32;
        sheet.write_number_with_format(r, 0, row.region.row() as f64, &styles.number)?;
        sheet.write_string_with_format(r, 1, row.region.name(), &styles.region)?;
        let total = row.total(spec);
        for (c, v) in row.values.iter().chain([&total]).enumerate() {
            sheet.write_number_with_format(r, c as u16 + 2, *v as f64, &styles.number)?;
        }
    }

    let r = first + table.rows.len() as u32;
    area(
        sheet,
        (r, 0),
        (1, 2),
        &totals_label(rollup.month),
        &styles.total_label,
    )?;
    let sums = table.column_sums();
    for (c, v) in sums.iter().chain([&table.grand_total()]).enumerate() {
        sheet.write_number_with_format(r, c as u16 + 2, *v as f64, &styles.total)?;
    }
    sheet.set_freeze_panes(first, 2)?;
    Ok(())
}

fn text_sheet(sheet: &mut Worksheet, styles: &Styles, rollup: &Rollup) -> Result<(), XlsxError> {
    sheet.set_column_width(0, 120)?;
    for (i, line) in text(rollup).lines().enumerate() {
        sheet.write_string_with_format(i as u32, 0, line, &styles.paragraph)?;
    }
    Ok(())
}
