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
    /// The group header above it in the ministry's table.
    pub group: &'static str,
    /// Its own header in the ministry's table.
    pub header: &'static str,
    pub count: Count,
}

impl Column {
    /// Whether the column counts violations (and so adds to `total`).
    pub fn is_violation(&self) -> bool {
        matches!(self.count, Count::Violations { .. })
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

/// The name and header of the last column, the sum of the violation columns.
pub const TOTAL: &str = "total";
/// The Russian header of the total column and of the totals row.
pub const TOTAL_HEADER: &str = "Итого";

const fn placements(name: &'static str, header: &'static str, document: Document) -> Column {
    let channel = Channel::InformationSystem;
    Column {
        name,
        group: "Размещение",
        header,
        count: Count::Placements { document, channel },
    }
}

const fn violations(
    name: &'static str,
    group: &'static str,
    header: &'static str,
    rule: Rule,
    channel: Option<Channel>,
) -> Column {
    Column {
        name,
        group,
        header,
        count: Count::Violations { rule, channel },
    }
}

const IS: Option<Channel> = Some(Channel::InformationSystem);
const MIO: Option<Channel> = Some(Channel::MioWebsite);
const ANNOUNCEMENTS: &str = "Нарушения: объявления";
const PROTOCOLS: &str = "Нарушения: протоколы";
const DISCUSSION_PROTOCOLS: &str = "Протоколы публичных обсуждений";

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
            "Нарушения",
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
            DISCUSSION_PROTOCOLS,
            "Отсутствует: Информационная система",
            Rule::ProtocolMissing,
            IS,
        ),
        violations(
            "protocol_missing_mio_website",
            DISCUSSION_PROTOCOLS,
            "Отсутствует: ИР МИО",
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
