//! The report's text read back: every number in it agrees with the tables.
//!
//! The text is parsed here as a reader would read it (sentences, numbers, the word after
//! each number, "region (count)" lists), without the generator's helpers, and compared
//! with the rollup's columns, named as in the design. It is checked on the may-2025
//! replay, whose expected numbers are the golden column sums worked out by hand, and on
//! synthetic rollups that exercise ties, omitted zeros, the limit of five and plurals.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::Engine;
use hearwatch_engine::event::decode;
use hearwatch_engine::region::Region;
use hearwatch_engine::report::text;
use hearwatch_engine::rollup::{Rollup, Table};
use hearwatch_engine::rule::RulePacks;
use hearwatch_engine::simulate;

/// Table 1's violation columns about announcements and about protocols, from the design.
const OPEN_ANNOUNCEMENT_COLUMNS: [&str; 5] = [
    "announcement_missing",
    "announcement_backdated",
    "announcement_late",
    "announcement_short_notice",
    "announcement_undated",
];
const OPEN_PROTOCOL_COLUMNS: [&str; 6] = [
    "protocol_backdated",
    "protocol_undated",
    "protocol_no_recording",
    "protocol_missing_mio_website",
    "protocol_missing_information_system",
    "protocol_late",
];
const DISCUSSION_PROTOCOL_COLUMNS: [&str; 5] = [
    "protocol_backdated",
    "protocol_undated",
    "protocol_missing_information_system",
    "protocol_missing_mio_website",
    "protocol_late",
];

/// A number in the text and the word that follows it.
#[derive(Debug, Clone, PartialEq)]
struct Counted {
    n: u64,
    word: String,
}

/// The sentence about one table.
#[derive(Debug)]
struct TableSentence {
    announcements: Counted,
    protocols: Counted,
    violations: Counted,
    by_announcements: u64,
    by_protocols: u64,
    /// Table 1 only: violations of the section rule.
    section: Option<Counted>,
}

/// Everything the text says.
#[derive(Debug)]
struct Reading {
    open_meetings: TableSentence,
    missing_announcements: Vec<(String, u64)>,
    missing_open_protocols: Vec<(String, u64)>,
    public_discussions: TableSentence,
    missing_discussion_protocols: Vec<(String, u64)>,
}

/// Every number of a sentence with the word after it (punctuation stripped).
fn numbers(sentence: &str) -> Vec<Counted> {
    let words: Vec<&str> = sentence.split_whitespace().collect();
    words
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let n = w.trim_end_matches([',', '.', ':', ';']).parse().ok()?;
            let word = words
                .get(i + 1)
                .map_or("", |w| w.trim_end_matches([',', '.', ':', ';']));
            Some(Counted {
                n,
                word: word.to_string(),
            })
        })
        .collect()
}

fn table_sentence(line: &str, with_section: bool) -> TableSentence {
    let found = numbers(
        line.split_once("):")
            .expect("a table sentence has a colon")
            .1,
    );
    let want = if with_section { 6 } else { 5 };
    assert_eq!(found.len(), want, "numbers in {line:?}: {found:?}");
    assert_eq!(found[3].word, "по", "{line:?}");
    assert_eq!(found[4].word, "по", "{line:?}");
    TableSentence {
        announcements: found[0].clone(),
        protocols: found[1].clone(),
        violations: found[2].clone(),
        by_announcements: found[3].n,
        by_protocols: found[4].n,
        section: with_section.then(|| found[5].clone()),
    }
}

/// "Title: Name (3), Name (2)." or "Title: нет." as (name, count) pairs.
fn leaders(line: &str) -> Vec<(String, u64)> {
    let list = line
        .split_once(": ")
        .expect("a list sentence has a colon")
        .1
        .strip_suffix('.')
        .expect("a list sentence ends with a full stop");
    if list == "нет" {
        return Vec::new();
    }
    list.split(", ")
        .map(|item| {
            let (name, n) = item
                .rsplit_once(" (")
                .unwrap_or_else(|| panic!("{item:?} is not 'name (n)'"));
            let n = n.strip_suffix(')').expect("a closing parenthesis");
            (name.to_string(), n.parse().expect("a count"))
        })
        .collect()
}

/// Reads the text's sentences by their openings.
fn read(text: &str) -> Reading {
    let line = |start: &str| {
        let found: Vec<_> = text.lines().filter(|l| l.starts_with(start)).collect();
        assert_eq!(found.len(), 1, "one line starting {start:?} in:\n{text}");
        found[0]
    };
    Reading {
        open_meetings: table_sentence(line("Открытые собрания (таблица 1)"), true),
        missing_announcements: leaders(line("Больше всего отсутствующих объявлений")),
        missing_open_protocols: leaders(line(
            "Больше всего отсутствующих протоколов открытых собраний",
        )),
        public_discussions: table_sentence(line("Публичные обсуждения (таблица 2)"), false),
        missing_discussion_protocols: leaders(line(
            "Больше всего отсутствующих протоколов публичных обсуждений",
        )),
    }
}

/// The Russian form for a count: 0 for "1, 21, 101", 1 for "2-4, 22-24", 2 for the rest.
fn form_index(n: u64) -> usize {
    if n % 10 == 1 && n % 100 != 11 {
        0
    } else if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) {
        1
    } else {
        2
    }
}

fn assert_form(c: &Counted, forms: [&str; 3]) {
    assert_eq!(c.word, forms[form_index(c.n)], "the word after {}", c.n);
}

fn column_sum(table: &Table, column: &str) -> u64 {
    Region::all().map(|r| table.value(r, column)).sum()
}

/// The regions with the most of `value`: zeros out, ties in report row order, five at most.
fn expected_leaders(value: impl Fn(Region) -> u64) -> Vec<(String, u64)> {
    let mut all: Vec<(Region, u64)> = Region::all().map(|r| (r, value(r))).collect();
    all.retain(|(_, v)| *v > 0);
    all.sort_by_key(|(r, v)| (std::cmp::Reverse(*v), r.row()));
    all.into_iter()
        .take(5)
        .map(|(r, v)| (r.name().to_string(), v))
        .collect()
}

/// Every number of the text against the rollup; returns what was read.
fn assert_text_agrees(rollup: &Rollup) -> Reading {
    let text = text(rollup);
    let reading = read(&text);
    let om = &rollup.open_meetings;
    let pd = &rollup.public_discussions;
    let sum = |t: &Table, cols: &[&str]| cols.iter().map(|c| column_sum(t, c)).sum::<u64>();

    let s = &reading.open_meetings;
    assert_eq!(s.announcements.n, column_sum(om, "announcements"), "{text}");
    assert_eq!(s.protocols.n, column_sum(om, "protocols"), "{text}");
    assert_eq!(
        s.by_announcements,
        sum(om, &OPEN_ANNOUNCEMENT_COLUMNS),
        "{text}"
    );
    assert_eq!(s.by_protocols, sum(om, &OPEN_PROTOCOL_COLUMNS), "{text}");
    let section = s.section.as_ref().unwrap();
    assert_eq!(section.n, column_sum(om, "section_mismatch"), "{text}");
    assert_eq!(s.violations.n, om.grand_total(), "{text}");
    assert_eq!(
        s.violations.n,
        s.by_announcements + s.by_protocols + section.n,
        "Table 1's breakdown adds up: {text}"
    );
    assert_form(&s.announcements, ["объявление", "объявления", "объявлений"]);
    assert_form(&s.protocols, ["протокол", "протокола", "протоколов"]);
    assert_form(&s.violations, ["нарушение", "нарушения", "нарушений"]);
    assert_form(
        section,
        ["несоответствие", "несоответствия", "несоответствий"],
    );

    let s = &reading.public_discussions;
    assert_eq!(s.announcements.n, column_sum(pd, "announcements"), "{text}");
    assert_eq!(
        s.protocols.n,
        column_sum(pd, "protocols_information_system"),
        "{text}"
    );
    assert_eq!(
        s.by_announcements, 0,
        "public discussions have no announcement rules"
    );
    assert_eq!(
        s.by_protocols,
        sum(pd, &DISCUSSION_PROTOCOL_COLUMNS),
        "{text}"
    );
    assert_eq!(s.violations.n, pd.grand_total(), "{text}");
    assert_eq!(
        s.violations.n,
        s.by_announcements + s.by_protocols,
        "{text}"
    );
    assert_form(&s.announcements, ["объявление", "объявления", "объявлений"]);
    assert_form(&s.protocols, ["протокол", "протокола", "протоколов"]);
    assert_form(&s.violations, ["нарушение", "нарушения", "нарушений"]);

    // The lists name regions by their report names, each with its table value.
    let missing_protocols = |t: &Table, r| {
        t.value(r, "protocol_missing_mio_website")
            + t.value(r, "protocol_missing_information_system")
    };
    let lists = [
        (
            &reading.missing_announcements,
            expected_leaders(|r| om.value(r, "announcement_missing")),
        ),
        (
            &reading.missing_open_protocols,
            expected_leaders(|r| missing_protocols(om, r)),
        ),
        (
            &reading.missing_discussion_protocols,
            expected_leaders(|r| missing_protocols(pd, r)),
        ),
    ];
    for (read, want) in lists {
        assert_eq!(read, &want, "{text}");
        for (name, _) in read {
            assert!(
                Region::all().any(|r| r.name() == name),
                "{name:?} is not a region's report name"
            );
        }
    }
    reading
}

fn may() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 5, 1).unwrap()
}

fn region(code: &str) -> Region {
    code.parse().unwrap()
}

fn list(items: &[(&str, u64)]) -> Vec<(String, u64)> {
    items.iter().map(|(n, v)| (n.to_string(), *v)).collect()
}

#[test]
fn the_may_2025_text_agrees_with_its_tables() {
    let calendar = Arc::new(Calendar::builtin());
    let packs = Arc::new(RulePacks::builtin());
    let lines = simulate::generate("may-2025", &calendar, 2025, None).unwrap();
    let as_of: DateTime<Utc> = "2025-06-30T19:00:00Z".parse().unwrap();
    let mut engine = Engine::new(calendar, packs, as_of);
    engine.hold();
    for line in &lines {
        engine.ingest(decode(line.as_bytes(), None).unwrap());
    }
    engine.release();
    let rollup = Rollup::from_findings(may(), &engine.findings());
    let reading = assert_text_agrees(&rollup);

    // The golden column sums (shared/golden/2025-05.json), added up by hand: Table 1 has
    // 309 announcements, 239 protocols, 124 violations = 66 on announcements (43 missing
    // + 23 late) + 58 on protocols (1 + 28 + 27 + 1 + 1) + 0 section; Table 2 has 296, 271
    // and 93 = 25 + 44 + 24, all on protocols.
    let om = &reading.open_meetings;
    assert_eq!(
        (om.announcements.n, om.protocols.n, om.violations.n),
        (309, 239, 124)
    );
    assert_eq!((om.by_announcements, om.by_protocols), (66, 58));
    let pd = &reading.public_discussions;
    assert_eq!(
        (pd.announcements.n, pd.protocols.n, pd.violations.n),
        (296, 271, 93)
    );
    // The golden `announcement_missing` column, largest first; the 1s of г. Алматы (row
    // 2), Карагандинская (10) and Кызылординская (12) tie and the first in row order wins.
    assert_eq!(
        reading.missing_announcements,
        list(&[
            ("Абай", 15),
            ("Улытау", 12),
            ("Алматинская", 11),
            ("Жамбылская", 2),
            ("г. Алматы", 1),
        ])
    );
    // Both missing-protocol columns: Абай 11+0, Алматинская 9+0, then four regions with 2
    // (Акмолинская row 3, Кызылординская 12, Туркестанская 16 = 1+1, Улытау 20): Улытау
    // is the sixth and is left out.
    assert_eq!(
        reading.missing_open_protocols,
        list(&[
            ("Абай", 11),
            ("Алматинская", 9),
            ("Акмолинская", 2),
            ("Кызылординская", 2),
            ("Туркестанская", 2),
        ])
    );
    // Table 2: Алматинская 25 + 30, Улытау 0 + 14; г. Алматы's 22 are late, not missing.
    assert_eq!(
        reading.missing_discussion_protocols,
        list(&[("Алматинская", 55), ("Улытау", 14)])
    );
}

#[test]
fn ties_are_listed_in_report_row_order_and_cut_at_five() {
    let mut rollup = Rollup::empty(may());
    // Six regions tie at 3, added out of row order; one region leads with 4.
    for code in ["KZ-62", "KZ-19", "KZ-71", "KZ-43", "KZ-63", "KZ-31"] {
        rollup
            .open_meetings
            .add(region(code), "announcement_missing", 3);
    }
    rollup
        .open_meetings
        .add(region("KZ-10"), "announcement_missing", 4);
    let reading = assert_text_agrees(&rollup);
    // Rows: Абай (19) with 4 first; then the 3s by row: г. Астана 1, Алматинская 5,
    // Восточно-Казахстанская 7, Жамбылская 9; Кызылординская (12) and Улытау (20) are cut.
    assert_eq!(
        reading.missing_announcements,
        list(&[
            ("Абай", 4),
            ("г. Астана", 3),
            ("Алматинская", 3),
            ("Восточно-Казахстанская", 3),
            ("Жамбылская", 3),
        ])
    );
}

#[test]
fn regions_without_missing_documents_are_left_out() {
    let mut rollup = Rollup::empty(may());
    assert_text_agrees(&rollup);
    let text = text(&rollup);
    assert!(
        text.contains("Больше всего отсутствующих объявлений: нет."),
        "{text}"
    );

    let pd = &mut rollup.public_discussions;
    pd.add(region("KZ-79"), "protocol_missing_mio_website", 2);
    pd.add(region("KZ-79"), "protocol_missing_information_system", 5);
    pd.add(region("KZ-33"), "protocol_missing_information_system", 1);
    pd.add(region("KZ-75"), "protocol_late", 9);
    let reading = assert_text_agrees(&rollup);
    // Late protocols are not missing ones: г. Алматы's 9 stay out of the list.
    assert_eq!(
        reading.missing_discussion_protocols,
        list(&[("г. Шымкент", 7), ("Жетысу", 1)])
    );
    assert!(reading.missing_open_protocols.is_empty());
}

#[test]
fn counts_take_the_russian_plural_of_their_last_digits() {
    let mut rollup = Rollup::empty(may());
    let om = &mut rollup.open_meetings;
    om.add(region("KZ-71"), "announcements", 21);
    om.add(region("KZ-71"), "protocols", 12);
    om.add(region("KZ-71"), "announcement_late", 1);
    om.add(region("KZ-71"), "section_mismatch", 3);
    om.add(region("KZ-75"), "protocol_no_recording", 97);
    let pd = &mut rollup.public_discussions;
    pd.add(region("KZ-11"), "announcements", 104);
    pd.add(region("KZ-11"), "protocols_information_system", 111);
    pd.add(region("KZ-11"), "protocol_undated", 1);
    let reading = assert_text_agrees(&rollup);
    let words = |s: &TableSentence| {
        [&s.announcements, &s.protocols, &s.violations]
            .map(|c| format!("{} {}", c.n, c.word))
            .to_vec()
    };
    // 1 + 3 + 97 = 101 violations in Table 1.
    assert_eq!(
        words(&reading.open_meetings),
        ["21 объявление", "12 протоколов", "101 нарушение"]
    );
    assert_eq!(
        reading.open_meetings.section.as_ref().unwrap().word,
        "несоответствия"
    );
    assert_eq!(
        words(&reading.public_discussions),
        ["104 объявления", "111 протоколов", "1 нарушение"]
    );
}

#[test]
fn section_violations_complete_table_1s_breakdown() {
    let mut rollup = Rollup::empty(may());
    let om = &mut rollup.open_meetings;
    om.add(region("KZ-47"), "section_mismatch", 5);
    om.add(region("KZ-47"), "announcement_undated", 2);
    om.add(region("KZ-55"), "protocol_missing_information_system", 1);
    let reading = assert_text_agrees(&rollup);
    let s = &reading.open_meetings;
    assert_eq!(
        (s.violations.n, s.by_announcements, s.by_protocols),
        (8, 2, 1)
    );
    assert_eq!(s.section.as_ref().unwrap().n, 5);
}
