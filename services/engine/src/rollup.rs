//! The report's two monthly tables, computed from findings.
//!
//! Each column is declared once in [`OPEN_MEETINGS`] and [`PUBLIC_DISCUSSIONS`]: its name,
//! its Russian header and what it counts. The same declarations drive the in-process
//! rollup here and the SQL that ClickHouse runs, so the two cannot drift apart.

use chrono::NaiveDate;

use crate::region::{Channel, Document, Form, Region};
use crate::rule::Rule;
use crate::verdict::Finding;

/// What a column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Hearings whose document first appeared on the channel in the month.
    Placements {
        document: Document,
        channel: Channel,
    },
    /// Violations of the rule counted in the month, on one channel or on any.
    Violations {
        rule: Rule,
        channel: Option<Channel>,
    },
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name in JSON, CSV and SQL.
    pub name: &'static str,
    /// The group headers above it in the ministry's table, outermost first; neighbouring
    /// columns with the same groups share one merged header cell.
    pub groups: &'static [&'static str],
    /// Its own header in the ministry's table.
    pub header: &'static str,
    /// What the column counts.
    pub count: Count,
}

impl Column {
    /// Whether the column counts violations (and so adds to `total`).
    pub fn is_violation(&self) -> bool {
        matches!(self.count, Count::Violations { .. })
    }

    /// The headers from the outermost group down to the column's own, joined for formats
    /// that have one header line, such as "Нарушения: Объявления: Размещен задним числом".
    pub fn label(&self) -> String {
        let mut parts = self.groups.to_vec();
        parts.push(self.header);
        parts.join(": ")
    }

    /// Whether `finding` counts in this column (the month aside).
    pub fn counts(&self, finding: &Finding) -> bool {
        match (self.count, finding) {
            (Count::Placements { document, channel }, Finding::Placement(p)) => {
                p.document == document && p.channel == channel
            }
            (Count::Violations { rule, channel }, Finding::Violation(v)) => {
                v.rule == rule && channel.is_none_or(|c| c == v.channel)
            }
            _ => false,
        }
    }
}

/// One of the report's tables: the form it covers and its columns, `total` excluded.
#[derive(Debug, PartialEq, Eq)]
pub struct TableSpec {
    /// The table's name in JSON and SQL.
    pub name: &'static str,
    /// Its Russian title.
    pub title: &'static str,
    pub form: Form,
    pub columns: &'static [Column],
}

/// One cell of a table's grouped header: its text and the grid area it covers.
///
/// The grid's columns are the row number, the region, the table's columns and the total;
/// its rows are the header's levels, from the outermost group down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderCell {
    pub text: &'static str,
    /// The first header row it covers, from 0.
    pub row: usize,
    /// The first grid column it covers, from 0.
    pub col: usize,
    /// How many header rows it spans (at least 1).
    pub rows: usize,
    /// How many grid columns it spans (at least 1).
    pub cols: usize,
}

/// The header of the row-number column, as in the seed report.
pub const ROW_NUMBER_HEADER: &str = "№ п/п";
/// The header of the region column, as in the seed report.
pub const REGION_HEADER: &str = "МИО";

impl TableSpec {
    /// How many header rows the ministry's layout needs: the deepest column's groups and
    /// its own header.
    pub fn header_depth(&self) -> usize {
        self.columns
            .iter()
            .map(|c| c.groups.len() + 1)
            .max()
            .unwrap_or(1)
    }

    /// The ministry's grouped header: neighbouring columns under the same group share one
    /// cell spanning them; a column's own header reaches down to the last header row; the
    /// row number, region and total columns span every header row.
    pub fn header_cells(&self) -> Vec<HeaderCell> {
        let depth = self.header_depth();
        let last = self.columns.len() + 2;
        let spanning = |text, col| HeaderCell {
            text,
            row: 0,
            col,
            rows: depth,
            cols: 1,
        };
        let mut cells = vec![spanning(ROW_NUMBER_HEADER, 0), spanning(REGION_HEADER, 1)];
        for level in 0..depth {
            let mut j = 0;
            while j < self.columns.len() {
                let groups = self.columns[j].groups;
                if groups.len() == level {
                    cells.push(HeaderCell {
                        text: self.columns[j].header,
                        row: level,
                        col: j + 2,
                        rows: depth - level,
                        cols: 1,
                    });
                } else if groups.len() > level {
                    let prefix = &groups[..=level];
                    let run = self.columns[j..]
                        .iter()
                        .take_while(|c| c.groups.len() > level && &c.groups[..=level] == prefix)
                        .count();
                    cells.push(HeaderCell {
                        text: groups[level],
                        row: level,
                        col: j + 2,
                        rows: 1,
                        cols: run,
                    });
                    j += run;
                    continue;
                }
                j += 1;
            }
        }
        cells.push(spanning(TOTAL_HEADER, last));
        cells
    }
}

/// The name and header of the last column, the sum of the violation columns.
pub const TOTAL: &str = "total";
/// The Russian header of the total column and of the totals row.
pub const TOTAL_HEADER: &str = "Итого";

const fn placements(name: &'static str, header: &'static str, document: Document) -> Column {
    let channel = Channel::InformationSystem;
    Column {
        name,
        groups: &["Размещение"],
        header,
        count: Count::Placements { document, channel },
    }
}

const fn violations(
    name: &'static str,
    groups: &'static [&'static str],
    header: &'static str,
    rule: Rule,
    channel: Option<Channel>,
) -> Column {
    Column {
        name,
        groups,
        header,
        count: Count::Violations { rule, channel },
    }
}

const IS: Option<Channel> = Some(Channel::InformationSystem);
const MIO: Option<Channel> = Some(Channel::MioWebsite);
// The group headers of the seed report's tables, outermost first.
const VIOLATIONS: &[&str] = &["Нарушения"];
const ANNOUNCEMENTS: &[&str] = &["Нарушения", "Объявления"];
const PROTOCOLS: &[&str] = &["Нарушения", "Протоколы"];
const DISCUSSION_PROTOCOLS: &[&str] = &["Нарушения", "Протоколы публичных обсуждений"];
const DISCUSSION_PROTOCOLS_MISSING: &[&str] =
    &["Нарушения", "Протоколы публичных обсуждений", "Отсутствует"];

/// Table 1: open meetings.
pub const OPEN_MEETINGS: TableSpec = TableSpec {
    name: "open_meetings",
    title: "Количество выявленных нарушений в форме открытых собраний",
    form: Form::OpenMeeting,
    columns: &[
        placements("announcements", "Объявления", Document::Announcement),
        placements("protocols", "Протоколы", Document::Protocol),
        violations(
            "section_mismatch",
            VIOLATIONS,
            "Несоответствие рубрике «Общественные слушания»",
            Rule::SectionMismatch,
            None,
        ),
        violations(
            "announcement_missing",
            ANNOUNCEMENTS,
            "Отсутствует объявление",
            Rule::AnnouncementMissing,
            None,
        ),
        violations(
            "announcement_backdated",
            ANNOUNCEMENTS,
            "Размещен задним числом",
            Rule::AnnouncementBackdated,
            None,
        ),
        violations(
            "announcement_late",
            ANNOUNCEMENTS,
            "Размещен со дня получения более 1 раб. дня",
            Rule::AnnouncementLate,
            None,
        ),
        violations(
            "announcement_short_notice",
            ANNOUNCEMENTS,
            "Нарушение сроков (менее 30 календарных дней)",
            Rule::AnnouncementShortNotice,
            None,
        ),
        violations(
            "announcement_undated",
            ANNOUNCEMENTS,
            "Не указана дата размещения",
            Rule::AnnouncementUndated,
            None,
        ),
        violations(
            "protocol_backdated",
            PROTOCOLS,
            "Размещен задним числом",
            Rule::ProtocolBackdated,
            None,
        ),
        violations(
            "protocol_undated",
            PROTOCOLS,
            "Не указана дата размещения",
            Rule::ProtocolUndated,
            None,
        ),
        violations(
            "protocol_no_recording",
            PROTOCOLS,
            "Отсутствует видео- и аудиозапись слушаний",
            Rule::ProtocolNoRecording,
            None,
        ),
        violations(
            "protocol_missing_mio_website",
            PROTOCOLS,
            "Отсутствует на сайте МИО",
            Rule::ProtocolMissing,
            MIO,
        ),
        violations(
            "protocol_missing_information_system",
            PROTOCOLS,
            "Отсутствует на информационной системе",
            Rule::ProtocolMissing,
            IS,
        ),
        violations(
            "protocol_late",
            PROTOCOLS,
            "Нарушение сроков (более 4 рабочих дней)",
            Rule::ProtocolLate,
            None,
        ),
    ],
};

/// Table 2: public discussions.
pub const PUBLIC_DISCUSSIONS: TableSpec = TableSpec {
    name: "public_discussions",
    title: "Количество выявленных нарушений в форме публичных обсуждений",
    form: Form::PublicDiscussion,
    columns: &[
        placements("announcements", "Объявлений", Document::Announcement),
        placements(
            "protocols_information_system",
            "Протокол в Информационной системе",
            Document::Protocol,
        ),
        violations(
            "protocol_backdated",
            DISCUSSION_PROTOCOLS,
            "Размещен задним числом",
            Rule::ProtocolBackdated,
            None,
        ),
        violations(
            "protocol_undated",
            DISCUSSION_PROTOCOLS,
            "Не указана дата размещения",
            Rule::ProtocolUndated,
            None,
        ),
        violations(
            "protocol_missing_information_system",
            DISCUSSION_PROTOCOLS_MISSING,
            "Информационная система",
            Rule::ProtocolMissing,
            IS,
        ),
        violations(
            "protocol_missing_mio_website",
            DISCUSSION_PROTOCOLS_MISSING,
            "ИР МИО",
            Rule::ProtocolMissing,
            MIO,
        ),
        violations(
            "protocol_late",
            DISCUSSION_PROTOCOLS,
            "Нарушение сроков (более 4 рабочих дней)",
            Rule::ProtocolLate,
            None,
        ),
    ],
};

/// Both tables, in the report's order.
pub const TABLES: [&TableSpec; 2] = [&OPEN_MEETINGS, &PUBLIC_DISCUSSIONS];

/// One region's row: a value per column of its table, then the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub region: Region,
    pub values: Vec<u64>,
}

impl Row {
    /// The sum of the row's violation columns.
    pub fn total(&self, spec: &TableSpec) -> u64 {
        violation_sum(spec, &self.values)
    }
}

fn violation_sum(spec: &TableSpec, values: &[u64]) -> u64 {
    spec.columns
        .iter()
        .zip(values)
        .filter(|(c, _)| c.is_violation())
        .map(|(_, v)| v)
        .sum()
}

/// A filled table: a row per region in report order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub spec: &'static TableSpec,
    pub rows: Vec<Row>,
}

impl Table {
    /// A table of zeros.
    pub fn empty(spec: &'static TableSpec) -> Table {
        let rows = Region::all().map(|region| Row {
            region,
            values: vec![0; spec.columns.len()],
        });
        Table {
            spec,
            rows: rows.collect(),
        }
    }

    /// Adds `n` to a region's column, found by name.
    pub fn add(&mut self, region: Region, column: &str, n: u64) -> bool {
        let Some(i) = self.spec.columns.iter().position(|c| c.name == column) else {
            return false;
        };
        self.rows[region.row() - 1].values[i] += n;
        true
    }

    /// The sum of each column over all regions.
    pub fn column_sums(&self) -> Vec<u64> {
        (0..self.spec.columns.len())
            .map(|i| self.rows.iter().map(|r| r.values[i]).sum())
            .collect()
    }

    /// The sum of all rows' totals.
    pub fn grand_total(&self) -> u64 {
        violation_sum(self.spec, &self.column_sums())
    }

    /// A column's value for a region.
    pub fn value(&self, region: Region, column: &str) -> u64 {
        let i = self.spec.columns.iter().position(|c| c.name == column);
        i.map_or(0, |i| self.rows[region.row() - 1].values[i])
    }
}

/// A month's two tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    /// The first day of the month.
    pub month: NaiveDate,
    pub open_meetings: Table,
    pub public_discussions: Table,
}

impl Rollup {
    /// Empty tables for a month.
    pub fn empty(month: NaiveDate) -> Rollup {
        Rollup {
            month,
            open_meetings: Table::empty(&OPEN_MEETINGS),
            public_discussions: Table::empty(&PUBLIC_DISCUSSIONS),
        }
    }

    /// Counts the findings of `month` into its tables.
    pub fn from_findings<'a>(
        month: NaiveDate,
        findings: impl IntoIterator<Item = &'a Finding>,
    ) -> Rollup {
        let mut rollup = Rollup::empty(month);
        for finding in findings {
            let (region, form, in_month) = match finding {
                Finding::Violation(v) => (v.region, v.form, v.month),
                Finding::Placement(p) => (p.region, p.form, p.month),
            };
            if in_month != month {
                continue;
            }
            let table = rollup.table_mut(form);
            let row = region.row() - 1;
            for (i, column) in table.spec.columns.iter().enumerate() {
                if column.counts(finding) {
                    table.rows[row].values[i] += 1;
                }
            }
        }
        rollup
    }

    /// The table of a form.
    pub fn table(&self, form: Form) -> &Table {
        match form {
            Form::OpenMeeting => &self.open_meetings,
            Form::PublicDiscussion => &self.public_discussions,
        }
    }

    fn table_mut(&mut self, form: Form) -> &mut Table {
        match form {
            Form::OpenMeeting => &mut self.open_meetings,
            Form::PublicDiscussion => &mut self.public_discussions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(spec: &TableSpec, text: &str, row: usize) -> HeaderCell {
        *spec
            .header_cells()
            .iter()
            .find(|c| c.text == text && c.row == row)
            .unwrap_or_else(|| panic!("{}: no header {text:?} in row {row}", spec.name))
    }

    /// Every grid position of the header is covered by exactly one cell.
    fn assert_tiles(spec: &TableSpec) {
        let width = spec.columns.len() + 3;
        let mut covered = vec![vec![0; width]; spec.header_depth()];
        for c in spec.header_cells() {
            for row in &mut covered[c.row..c.row + c.rows] {
                for n in &mut row[c.col..c.col + c.cols] {
                    *n += 1;
                }
            }
        }
        assert!(
            covered.iter().flatten().all(|n| *n == 1),
            "{}: {covered:?}",
            spec.name
        );
    }

    #[test]
    fn table_1_header_is_laid_out_like_the_seed_report() {
        let spec = &OPEN_MEETINGS;
        assert_eq!(spec.header_depth(), 3);
        assert_tiles(spec);
        // Grid columns: 0 №, 1 МИО, 2..=15 the 14 columns, 16 the total.
        let at = |c: HeaderCell| (c.row, c.col, c.rows, c.cols);
        assert_eq!(at(cell(spec, "№ п/п", 0)), (0, 0, 3, 1));
        assert_eq!(at(cell(spec, "Размещение", 0)), (0, 2, 1, 2));
        assert_eq!(at(cell(spec, "Нарушения", 0)), (0, 4, 1, 12));
        assert_eq!(at(cell(spec, "Итого", 0)), (0, 16, 3, 1));
        // Under «Размещение» the placements reach the bottom; under «Нарушения» the
        // section column too, beside the announcement (5) and protocol (6) groups.
        assert_eq!(
            at(cell(
                spec,
                "Несоответствие рубрике «Общественные слушания»",
                1
            )),
            (1, 4, 2, 1)
        );
        let groups: Vec<_> = spec
            .header_cells()
            .into_iter()
            .filter(|c| c.row == 1 && c.rows == 1)
            .map(at)
            .collect();
        assert_eq!(groups, [(1, 5, 1, 5), (1, 10, 1, 6)]);
        assert_eq!(at(cell(spec, "Отсутствует объявление", 2)), (2, 5, 1, 1));
        assert_eq!(
            at(cell(spec, "Нарушение сроков (более 4 рабочих дней)", 2)),
            (2, 15, 1, 1)
        );
    }

    #[test]
    fn table_2_header_is_laid_out_like_the_seed_report() {
        let spec = &PUBLIC_DISCUSSIONS;
        assert_eq!(spec.header_depth(), 4);
        assert_tiles(spec);
        // Grid columns: 0 №, 1 МИО, 2..=8 the 7 columns, 9 the total.
        let at = |c: HeaderCell| (c.row, c.col, c.rows, c.cols);
        assert_eq!(at(cell(spec, "Размещение", 0)), (0, 2, 1, 2));
        assert_eq!(at(cell(spec, "Объявлений", 1)), (1, 2, 3, 1));
        assert_eq!(at(cell(spec, "Нарушения", 0)), (0, 4, 1, 5));
        assert_eq!(
            at(cell(spec, "Протоколы публичных обсуждений", 1)),
            (1, 4, 1, 5)
        );
        assert_eq!(at(cell(spec, "Размещен задним числом", 2)), (2, 4, 2, 1));
        assert_eq!(at(cell(spec, "Отсутствует", 2)), (2, 6, 1, 2));
        assert_eq!(at(cell(spec, "Информационная система", 3)), (3, 6, 1, 1));
        assert_eq!(at(cell(spec, "ИР МИО", 3)), (3, 7, 1, 1));
        assert_eq!(at(cell(spec, "Итого", 0)), (0, 9, 4, 1));
    }
}
