//! The decoder's fast path: one pass over a regular message, borrowing every field.
//!
//! A *regular* message is one flat JSON object whose values are strings without escapes,
//! `null`, `true` or `false`, and in which no field the contract names appears twice, as
//! every event of the scenarios and of the schema's examples is. The fast path reads such a
//! message without building a JSON tree, checks each field as the precise path does, and
//! builds the event. An event with a nested or numeric extra field is decoded correctly, by
//! the precise path, only more slowly.
//!
//! It answers `None` for everything else, an irregular message or any failed check, and
//! the caller then asks the precise path, which decides and words the error. The fast path
//! therefore only has to be right when it accepts: then the precise path must accept too,
//! with the same event. The property tests below hold it to that, with the precise path as
//! the oracle.

use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    Body, Event, HearingDate, Publication, MAX_HEARING_ID, MAX_SECTION, MAX_SOURCE, MAX_URL,
};
use crate::region::{Channel, Document, Form, Region};

/// The event, if `bytes` is a regular message that the precise path would accept.
pub(super) fn decode(bytes: &[u8], key: Option<&[u8]>) -> Option<Event> {
    // Valid JSON is valid UTF-8 as a whole, so one check here makes every string slice
    // below a `&str` without checking each again.
    let text = std::str::from_utf8(bytes).ok()?;
    let fields = Fields::scan(text)?;
    let event = fields.event()?;
    match key {
        Some(key) if key != event.hearing_id.as_bytes() => None,
        _ => Some(event),
    }
}

/// A scalar JSON value, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar<'a> {
    Str(&'a str),
    Null,
    Bool(bool),
}

/// The fields the contract names, as indexes into [`Fields`].
#[derive(Debug, Clone, Copy)]
enum Name {
    EventId,
    Type,
    HearingId,
    Region,
    Form,
    OccurredAt,
    Source,
    HearingAt,
    DiscussionEndsOn,
    Channel,
    DeclaredOn,
    Section,
    Url,
    HasRecording,
    HeldOn,
}

const NAMES: usize = Name::HeldOn as usize + 1;

impl Name {
    fn of(key: &str) -> Option<Name> {
        Some(match key {
            "event_id" => Name::EventId,
            "type" => Name::Type,
            "hearing_id" => Name::HearingId,
            "region" => Name::Region,
            "form" => Name::Form,
            "occurred_at" => Name::OccurredAt,
            "source" => Name::Source,
            "hearing_at" => Name::HearingAt,
            "discussion_ends_on" => Name::DiscussionEndsOn,
            "channel" => Name::Channel,
            "declared_on" => Name::DeclaredOn,
            "section" => Name::Section,
            "url" => Name::Url,
            "has_recording" => Name::HasRecording,
            "held_on" => Name::HeldOn,
            _ => return None,
        })
    }
}

/// The named fields of one regular message; unknown fields are skipped.
struct Fields<'a>([Option<Scalar<'a>>; NAMES]);

impl<'a> Fields<'a> {
    /// Reads a regular message, or `None` if it is not one.
    fn scan(text: &'a str) -> Option<Fields<'a>> {
        let mut fields = Fields([None; NAMES]);
        let mut at = Cursor { text, i: 0 };
        at.expect(b'{')?;
        if !at.eat(b'}') {
            loop {
                let key = at.string()?;
                at.expect(b':')?;
                let value = at.scalar()?;
                if let Some(name) = Name::of(key) {
                    // The tree keeps the last of two equal keys; rather than mirror that,
                    // such a message is left to the precise path.
                    let slot = &mut fields.0[name as usize];
                    if slot.is_some() {
                        return None;
                    }
                    *slot = Some(value);
                }
                if !at.eat(b',') {
                    at.expect(b'}')?;
                    break;
                }
            }
        }
        at.skip_space();
        (at.i == text.len()).then_some(fields)
    }

    fn get(&self, name: Name) -> Option<Scalar<'a>> {
        self.0[name as usize]
    }

    fn string(&self, name: Name) -> Option<&'a str> {
        match self.get(name)? {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A string of at most `max` characters.
    fn bounded(&self, name: Name, max: usize) -> Option<&'a str> {
        let s = self.string(name)?;
        // A character takes at least one byte: only a long string needs counting.
        (s.len() <= max || s.chars().count() <= max).then_some(s)
    }

    fn event(&self) -> Option<Event> {
        let event_id = uuid(self.string(Name::EventId)?)?;
        let type_name = self.string(Name::Type)?;
        let hearing_id = self.string(Name::HearingId).filter(|s| is_hearing_id(s))?;
        let region = region(self.string(Name::Region)?)?;
        let form = self.string(Name::Form)?.parse::<Form>().ok()?;
        let occurred_at = instant(self.string(Name::OccurredAt)?)?;
        let source = self
            .bounded(Name::Source, MAX_SOURCE)
            .filter(|s| !s.is_empty())?;
        let body = self.body(type_name, form)?;
        Some(Event {
            event_id,
            hearing_id: hearing_id.into(),
            region,
            form,
            occurred_at,
            source: shared(source),
            body,
        })
    }

    fn body(&self, type_name: &str, form: Form) -> Option<Body> {
        Some(match type_name {
            "application_received" => Body::ApplicationReceived(self.hearing_date(form)?),
            "announcement_published" => Body::Published(self.publication(Document::Announcement)?),
            "protocol_published" => {
                let mut publication = self.publication(Document::Protocol)?;
                if form == Form::OpenMeeting {
                    match self.get(Name::HasRecording)? {
                        Scalar::Bool(b) => publication.has_recording = Some(b),
                        _ => return None,
                    }
                }
                Body::Published(publication)
            }
            "hearing_rescheduled" => Body::Rescheduled(self.hearing_date(form)?),
            "hearing_cancelled" => Body::Cancelled,
            "hearing_held" if form == Form::OpenMeeting => Body::Held {
                held_on: date(self.string(Name::HeldOn)?)?,
            },
            _ => return None,
        })
    }

    fn hearing_date(&self, form: Form) -> Option<HearingDate> {
        Some(match form {
            Form::OpenMeeting => HearingDate::MeetingAt(instant(self.string(Name::HearingAt)?)?),
            Form::PublicDiscussion => {
                HearingDate::DiscussionEndsOn(date(self.string(Name::DiscussionEndsOn)?)?)
            }
        })
    }

    fn publication(&self, document: Document) -> Option<Publication> {
        let channel = self.string(Name::Channel)?.parse::<Channel>().ok()?;
        let declared_on = match self.get(Name::DeclaredOn)? {
            Scalar::Null => None,
            Scalar::Str(s) => Some(date(s)?),
            Scalar::Bool(_) => return None,
        };
        let section = self.bounded(Name::Section, MAX_SECTION)?;
        let url = match self.get(Name::Url) {
            None | Some(Scalar::Null) => None,
            Some(_) => Some(self.bounded(Name::Url, MAX_URL)?.into()),
        };
        Some(Publication {
            document,
            channel,
            declared_on,
            section: shared(section),
            url,
            has_recording: None,
        })
    }
}

/// A position in the message. Its steps are inlined into [`Fields::scan`]: as calls,
/// their results went through memory, and reading them back stalled the loop.
struct Cursor<'a> {
    text: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline(always)]
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.text.as_bytes().get(self.i) {
            self.i += 1;
        }
    }

    /// Whether `c` comes next, after any whitespace; it is consumed if so.
    #[inline(always)]
    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        let found = self.text.as_bytes().get(self.i) == Some(&c);
        self.i += usize::from(found);
        found
    }

    #[inline(always)]
    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    /// The string that comes next, if it has no escapes. A control character is not JSON
    /// inside a string.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let b = self.text.as_bytes();
        let start = self.i;
        let end = start + special(&b[start..])?;
        if b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some(&self.text[start..end])
    }

    /// The scalar value that comes next; `None` for anything else.
    #[inline(always)]
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        self.skip_space();
        let rest = &self.text.as_bytes()[self.i..];
        let (value, len) = match rest.first()? {
            b'"' => return self.string().map(Scalar::Str),
            b'n' if rest.starts_with(b"null") => (Scalar::Null, 4),
            b't' if rest.starts_with(b"true") => (Scalar::Bool(true), 4),
            b'f' if rest.starts_with(b"false") => (Scalar::Bool(false), 5),
            _ => return None,
        };
        self.i += len;
        Some(value)
    }
}

/// The index of the first quote, backslash or control character in `b`.
///
/// It tests eight bytes at a time (the classic "has a zero byte" trick on the word XORed
/// with each sought byte): most strings here are 10–70 bytes long, and a byte-by-byte loop
/// over them was a third of the decoder's time.
#[inline(always)]
fn special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let is_special = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
    let mut chunks = b.chunks_exact(8);
    for (n, chunk) in chunks.by_ref().enumerate() {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        // A byte's high bit is set in `found` if it is zero (after the XOR) or below 0x20,
        // exactly for the lowest such byte; bytes above it may be marked falsely, which
        // the lowest set bit ignores.
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGH;
        if found != 0 {
            return Some(n * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|&c| is_special(c))
        .map(|p| b.len() - tail.len() + p)
}

/// Whether `s` is 1–64 of `A-Za-z0-9._:-`.
fn is_hearing_id(s: &str) -> bool {
    (1..=MAX_HEARING_ID).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'))
}

/// The region of a code, by a table indexed by the code's number instead of comparing
/// the code with each region's.
fn region(code: &str) -> Option<Region> {
    static BY_NUMBER: OnceLock<[Option<Region>; 100]> = OnceLock::new();
    let table = BY_NUMBER.get_or_init(|| {
        let mut table = [None; 100];
        for region in Region::all() {
            table[two_digits(&region.code().as_bytes()[3..]).expect("KZ-NN") as usize] =
                Some(region);
        }
        table
    });
    match code.as_bytes() {
        [b'K', b'Z', b'-', number @ ..] => table[two_digits(number)? as usize],
        _ => None,
    }
}

/// The number of exactly two ASCII digits.
fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [t @ b'0'..=b'9', u @ b'0'..=b'9'] => Some(u32::from(t - b'0') * 10 + u32::from(u - b'0')),
        _ => None,
    }
}

/// An RFC 3339 instant with an offset: chrono's parser, which is already a fixed-format one.
fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A `YYYY-MM-DD` date. The exact form is read digit by digit; anything else goes to
/// chrono's `%Y-%m-%d` parser, which the precise path uses and which also accepts looser
/// forms (one-digit months, for one).
fn date(s: &str) -> Option<NaiveDate> {
    let fixed = || match s.as_bytes() {
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] => {
            let year = two_digits(&[*y0, *y1])? * 100 + two_digits(&[*y2, *y3])?;
            let month = two_digits(&[*m0, *m1])?;
            let day = two_digits(&[*d0, *d1])?;
            NaiveDate::from_ymd_opt(year as i32, month, day)
        }
        _ => None,
    };
    fixed().or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// A UUID's text as stored, lowercase, in one pass over a fixed-size copy: the generic
/// check and `to_ascii_lowercase` walked the 36 bytes twice, byte by byte, with branches.
fn uuid(s: &str) -> Option<Arc<str>> {
    let b: &[u8; 36] = s.as_bytes().try_into().ok()?;
    let mut lower = *b;
    let mut ok = true;
    for (i, c) in lower.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            ok &= *c == b'-';
        } else {
            ok &= c.is_ascii_hexdigit();
            c.make_ascii_lowercase();
        }
    }
    // Only ASCII passed the check, so the copy is UTF-8.
    ok.then(|| std::str::from_utf8(&lower).ok().map(Arc::from))?
}

/// Most distinct strings [`shared`] keeps per thread.
const SHARED_MAX: usize = 32;

/// `source` and `section` take a handful of values (`ecoportal`, `public_hearings`), so
/// each thread keeps the first few it sees and hands out clones of them: no allocation
/// per event, and hearings held in memory share one copy. Other values are allocated.
fn shared(s: &str) -> Arc<str> {
    thread_local! {
        static SEEN: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
    }
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(known) = seen.iter().find(|known| ***known == *s) {
            return known.clone();
        }
        let new: Arc<str> = s.into();
        if seen.len() < SHARED_MAX {
            seen.push(new.clone());
        }
        new
    })
}

#[cfg(test)]
mod tests {
    //! The fast path against the precise path, on valid events and on every kind of
    //! mutation of them: fields replaced by values made to land on each check (limits,
    //! vocabularies, near-miss dates and timestamps), raw byte edits aimed at the JSON's
    //! structure, escapes, duplicated fields, and wrong message keys.

    use super::super::{decode_precise, MAX_MESSAGE_BYTES};
    use super::*;
    use crate::calendar::Calendar;
    use crate::simulate;
    use proptest::prelude::*;
    use proptest::sample::Index;
    use serde_json::{Map, Value};

    /// Valid events of both scenarios: every type, form, channel and flaw they make.
    fn corpus() -> &'static [String] {
        static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
        CORPUS.get_or_init(|| {
            let calendar = Calendar::builtin();
            let mut lines = simulate::national(&calendar, 11, 400).expect("national");
            lines.extend(simulate::may_2025(&calendar, 3).expect("may-2025"));
            lines
        })
    }

    /// Both paths on one message: the fast path, when it accepts, must give what the
    /// precise path gives, and `decode` must always give it.
    fn agree(bytes: &[u8], key: Option<&[u8]>) -> Result<(), TestCaseError> {
        let precise = decode_precise(bytes, key);
        if let Some(event) = decode(bytes, key) {
            let text = String::from_utf8_lossy(bytes);
            prop_assert_eq!(Ok(event), precise.clone(), "fast path accepted {}", text);
        }
        prop_assert_eq!(super::super::decode(bytes, key), precise);
        Ok(())
    }

    #[test]
    fn every_event_of_the_scenarios_takes_the_fast_path() {
        for line in corpus() {
            let event = decode(line.as_bytes(), None);
            assert!(event.is_some(), "not taken by the fast path: {line}");
            assert_eq!(Ok(event.unwrap()), decode_precise(line.as_bytes(), None));
        }
    }

    #[test]
    fn sizes_at_the_limit_agree() {
        let line = &corpus()[0];
        for size in [
            MAX_MESSAGE_BYTES - 1,
            MAX_MESSAGE_BYTES,
            MAX_MESSAGE_BYTES + 1,
        ] {
            let padding = size - line.len() - r#","padding":"""#.len();
            let big = format!(
                r#"{},"padding":"{}"}}"#,
                &line[..line.len() - 1],
                "p".repeat(padding)
            );
            assert_eq!(big.len(), size);
            let expected = decode_precise(big.as_bytes(), None);
            assert_eq!(expected.is_ok(), size <= MAX_MESSAGE_BYTES);
            assert_eq!(super::super::decode(big.as_bytes(), None), expected);
        }
    }

    #[test]
    fn regions_are_found_by_number_as_by_code() {
        for n in 0..=100 {
            for code in [
                format!("KZ-{n:02}"),
                format!("KZ-{n}"),
                format!("kz-{n:02}"),
            ] {
                assert_eq!(region(&code), code.parse::<Region>().ok(), "{code}");
            }
        }
    }

    /// The contract's fields, near-misses of their names, and unknown fields.
    const FIELD_NAMES: [&str; 18] = [
        "event_id",
        "type",
        "hearing_id",
        "region",
        "form",
        "occurred_at",
        "source",
        "hearing_at",
        "discussion_ends_on",
        "channel",
        "declared_on",
        "section",
        "url",
        "has_recording",
        "held_on",
        "extra",
        "Type",
        "event_id ",
    ];

    fn one_of(options: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::sample::select(options).prop_map(str::to_string)
    }

    /// RFC 3339 timestamps and near-misses, part by part.
    fn timestamp() -> impl Strategy<Value = String> {
        (
            one_of(&["2025", "2024", "0000", "9999", "202", "20255", "+2025"]),
            one_of(&["-01-", "-02-", "-12-", "-13-", "-00-", "-1-", "/05/"]),
            one_of(&["01", "28", "29", "30", "31", "32", "00", "1"]),
            one_of(&["T", "t", " ", "_", ""]),
            one_of(&[
                "00:00:00", "23:59:59", "23:59:60", "24:00:00", "10:61:00", "9:00:00",
            ]),
            one_of(&["", ".5", ".123456789", ".1234567891234", ".", ",5"]),
            one_of(&[
                "Z", "z", "+05:00", "-00:00", "+23:59", "-23:59", "+24:00", "+05:60", "+0500",
                "+05", "", "", " +05:00", "UTC", "+05:00 ",
            ]),
        )
            .prop_map(|(y, m, d, t, hms, f, o)| format!("{y}{m}{d}{t}{hms}{f}{o}"))
    }

    /// `YYYY-MM-DD` dates and near-misses.
    fn date_text() -> impl Strategy<Value = String> {
        (
            one_of(&["", "", "", " ", "+", "-"]),
            one_of(&["2025", "2024", "2100", "0000", "9999", "202", "20255"]),
            one_of(&[
                "-01-", "-02-", "-12-", "-13-", "-00-", "-1-", "- 1-", "/05/",
            ]),
            one_of(&[
                "01",
                "28",
                "29",
                "30",
                "31",
                "32",
                "00",
                "1",
                "5 ",
                "05T00:00:00Z",
            ]),
        )
            .prop_map(|(p, y, m, d)| format!("{p}{y}{m}{d}"))
    }

    /// `n` copies of a one- to four-byte character, for lengths at the limits.
    fn repeated(lengths: &'static [usize]) -> impl Strategy<Value = String> {
        (
            one_of(&["x", "ж", "😀", ":", " "]),
            prop::sample::select(lengths),
        )
            .prop_map(|(c, n)| c.repeat(n))
    }

    /// Strings that land on the checks of any field: vocabularies, ids, escapes.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            one_of(&[
                "application_received",
                "announcement_published",
                "protocol_published",
                "hearing_rescheduled",
                "hearing_cancelled",
                "hearing_held",
                "open_meeting",
                "public_discussion",
                "information_system",
                "mio_website",
                "public_hearings",
                "KZ-71",
                "KZ-62",
                "KZ-99",
                "kz-71",
                "KZ-7",
                "KZ-710",
                "H-1",
                "a\"quote",
                "back\\slash",
                "tab\there",
                "line\nbreak",
                "Общественные слушания",
                "2025-05-05T10:00:00",
                "2025-05-05 10:00:00.5",
                "2025-05-05T10:00",
                "😀",
                "",
            ]),
            timestamp(),
            date_text(),
            "[ -~]{0,20}",
            ".{0,12}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => text().prop_map(Value::from),
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            1 => any::<i32>().prop_map(Value::from),
            1 => Just(serde_json::json!({"ignored": true})),
            1 => Just(serde_json::json!([])),
        ]
    }

    /// A field set to a value (`None`: removed), most often one made for that field.
    fn field_edit() -> impl Strategy<Value = (String, Option<Value>)> {
        let some = |s: BoxedStrategy<String>| s.prop_map(|t| Some(Value::from(t)));
        prop_oneof![
            3 => (one_of(&FIELD_NAMES), prop::option::of(value())),
            1 => (one_of(&["occurred_at", "hearing_at"]), some(timestamp().boxed())),
            1 => (
                one_of(&["declared_on", "held_on", "discussion_ends_on"]),
                some(date_text().boxed()),
            ),
            1 => (
                one_of(&["type", "form", "region", "channel", "section"]),
                some(text().boxed()),
            ),
            1 => (one_of(&["type", "form"]), some(one_of(&KINDS).boxed())),
            1 => (
                one_of(&["extra", "declared_on", "url", "has_recording"]),
                prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from)].prop_map(Some),
            ),
            1 => (
                Just("event_id".to_string()),
                some(
                    prop_oneof![
                        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                        "[0-9a-gA-G-]{36}",
                        // One character of a valid id changed, a dash half the time.
                        (
                            any::<bool>(),
                            any::<Index>(),
                            one_of(&["-", "_", "g", "G", "0", "a", "A", " ", "ж"])
                        )
                            .prop_map(|(dash, i, c)| {
                                let mut id = "6f1c2b8e-1d2a-4c5b-9e7f-0a1b2c3d4e5f".to_string();
                                let i = if dash { [8, 13, 18, 23][i.index(4)] } else { i.index(36) };
                                id.replace_range(i..=i, &c);
                                id
                            }),
                        "[0-9a-f-]{35,37}",
                    ]
                    .boxed()
                ),
            ),
            1 => (
                Just("hearing_id".to_string()),
                some(prop_oneof!["[A-Za-z0-9._:-]{0,2}", "[A-Za-z0-9._:-]{63,65}", "[A-Za-z0-9._:/ ж-]{1,8}"].boxed()),
            ),
            1 => (Just("source".to_string()), some(repeated(&[0, 1, 127, 128, 129]).boxed())),
            1 => (Just("section".to_string()), some(repeated(&[0, 255, 256, 257]).boxed())),
            1 => (Just("url".to_string()), some(repeated(&[0, 2047, 2048, 2049]).boxed())),
        ]
    }

    /// A change to the raw bytes, where a JSON writer would never put one.
    #[derive(Debug, Clone)]
    enum Edit {
        /// A byte overwritten; the position is aimed at the JSON's structure.
        Overwrite(Index, u8),
        Insert(Index, Vec<u8>),
        Delete(Index, usize),
        /// The n-th letter of the message written as a `\u00XX` escape.
        Escape(Index),
        /// A field written again, before or after the others.
        Duplicate(String, Value, bool),
        /// Whitespace, JSON's or not.
        Space(Index, &'static str),
        /// A byte of a `null`, `true` or `false` changed or cut.
        Literal(Index, Index, Option<u8>),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let byte = prop_oneof![
            3 => prop::sample::select(b"\"\\{}[],;: \t\n\r\x0c0123456789-+.TZtzenul\x00\x1f\x7f".to_vec()),
            1 => any::<u8>(),
        ];
        prop_oneof![
            (any::<Index>(), byte.clone()).prop_map(|(i, b)| Edit::Overwrite(i, b)),
            (any::<Index>(), prop::collection::vec(byte.clone(), 1..4))
                .prop_map(|(i, b)| Edit::Insert(i, b)),
            (any::<Index>(), 1usize..6).prop_map(|(i, n)| Edit::Delete(i, n)),
            any::<Index>().prop_map(Edit::Escape),
            (one_of(&FIELD_NAMES), value(), any::<bool>())
                .prop_map(|(f, v, first)| Edit::Duplicate(f, v, first)),
            (any::<Index>(), prop::sample::select(&SPACES[..]))
                .prop_map(|(i, space)| Edit::Space(i, space)),
            (
                any::<Index>(),
                any::<Index>(),
                prop::option::of(byte.clone())
            )
                .prop_map(|(i, j, b)| Edit::Literal(i, j, b)),
        ]
    }

    /// Types and forms, to make every combination.
    const KINDS: [&str; 8] = [
        "application_received",
        "announcement_published",
        "protocol_published",
        "hearing_rescheduled",
        "hearing_cancelled",
        "hearing_held",
        "open_meeting",
        "public_discussion",
    ];

    /// JSON's whitespace and other kinds.
    const SPACES: [&str; 8] = [" ", "\t", "\n", "\r", "\x0c", "\x0b", "\u{a0}", "\u{feff}"];

    /// Where raw edits go: beside the JSON's structural bytes, at the start of values
    /// and at both ends, where a mistake in the fast path's grammar would show.
    fn structural(bytes: &[u8]) -> Vec<usize> {
        let mut at = vec![0, bytes.len()];
        for (i, c) in bytes.iter().enumerate() {
            match c {
                // Every byte of a value's first word: `null`, `true`, `false`.
                b':' => at.extend(i..i + 7),
                b'{' | b'}' | b'"' | b',' | b'\\' => at.extend([i, i + 1]),
                _ => {}
            }
        }
        at.retain(|&i| i <= bytes.len());
        at
    }

    fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
        let at = structural(bytes);
        let pick = |i: &Index| at[i.index(at.len())];
        match edit {
            Edit::Overwrite(i, b) => {
                let i = pick(i).min(bytes.len().saturating_sub(1));
                if let Some(c) = bytes.get_mut(i) {
                    *c = *b;
                }
            }
            Edit::Insert(i, new) => {
                let i = pick(i);
                bytes.splice(i..i, new.iter().copied());
            }
            Edit::Literal(i, j, b) => {
                let text = String::from_utf8_lossy(bytes).into_owned();
                let words: Vec<(usize, usize)> = ["null", "true", "false"]
                    .iter()
                    .flat_map(|w| text.match_indices(w).map(|(at, w)| (at, w.len())))
                    .collect();
                if !words.is_empty() && text.len() == bytes.len() {
                    let (at, len) = words[i.index(words.len())];
                    let k = at + j.index(len);
                    match b {
                        Some(b) => bytes[k] = *b,
                        None => {
                            bytes.remove(k);
                        }
                    }
                }
            }
            Edit::Space(i, space) => {
                let i = pick(i);
                bytes.splice(i..i, space.bytes());
            }
            Edit::Delete(i, n) => {
                let i = pick(i);
                bytes.drain(i..(i + n).min(bytes.len()));
            }
            Edit::Escape(i) => {
                let letters: Vec<usize> = (0..bytes.len())
                    .filter(|&j| bytes[j].is_ascii_alphabetic())
                    .collect();
                if !letters.is_empty() {
                    let j = letters[i.index(letters.len())];
                    let escaped = format!("\\u{:04x}", bytes[j]);
                    bytes.splice(j..=j, escaped.into_bytes());
                }
            }
            Edit::Duplicate(field, value, first) => {
                let pair = format!("{}:{value}", Value::from(field.as_str()));
                let open = bytes.iter().position(|&b| b == b'{');
                let close = bytes.iter().rposition(|&b| b == b'}');
                match (first, open, close) {
                    (true, Some(open), _) => {
                        bytes.splice(open + 1..open + 1, format!("{pair},").into_bytes());
                    }
                    (false, _, Some(close)) => {
                        bytes.splice(close..close, format!(",{pair}").into_bytes());
                    }
                    _ => {}
                }
            }
        }
    }

    /// The message key: the hearing's own id (the usual case), none, one differing in a
    /// single byte, or any.
    #[derive(Debug, Clone)]
    enum Key {
        Own,
        Absent,
        OneByteOff(Index, u8),
        Any(Vec<u8>),
    }

    fn key() -> impl Strategy<Value = Key> {
        prop_oneof![
            3 => Just(Key::Own),
            1 => Just(Key::Absent),
            1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Key::OneByteOff(i, b)),
            1 => "[ -~]{0,8}".prop_map(|k| Key::Any(k.into_bytes())),
        ]
    }

    /// A valid event with some fields replaced or removed and then some raw edits.
    fn mutated() -> impl Strategy<Value = (Vec<u8>, Option<Vec<u8>>)> {
        (
            any::<Index>(),
            // One change alone shows a fault best; several at once reach further.
            prop_oneof![
                (prop::collection::vec(field_edit(), 1..2), Just(Vec::new())),
                (Just(Vec::new()), prop::collection::vec(edit(), 1..2)),
                (
                    prop::collection::vec(field_edit(), 0..3),
                    prop::collection::vec(edit(), 0..3)
                ),
            ],
            key(),
        )
            .prop_map(|(which, (fields, edits), key)| {
                let line = &corpus()[which.index(corpus().len())];
                let mut object: Map<String, Value> =
                    serde_json::from_str(line).expect("the scenario writes JSON objects");
                let own = object["hearing_id"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec();
                for (field, value) in fields {
                    match value {
                        Some(v) => object.insert(field, v),
                        None => object.remove(&field),
                    };
                }
                let mut bytes = serde_json::to_vec(&Value::Object(object)).expect("JSON");
                for edit in &edits {
                    apply(&mut bytes, edit);
                }
                let key = match key {
                    Key::Own => Some(own),
                    Key::Absent => None,
                    Key::OneByteOff(i, b) => {
                        let mut k = own;
                        if !k.is_empty() {
                            let i = i.index(k.len());
                            k[i] = b;
                        }
                        Some(k)
                    }
                    Key::Any(k) => Some(k),
                };
                (bytes, key)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(30_000))]

        #[test]
        fn the_fast_path_agrees_with_the_precise_path((bytes, key) in mutated()) {
            agree(&bytes, key.as_deref())?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_fast_path_takes_pretty_printed_events(which in any::<Index>()) {
            let line = &corpus()[which.index(corpus().len())];
            let value: Value = serde_json::from_str(line).expect("JSON");
            let pretty = serde_json::to_vec_pretty(&value).expect("JSON");
            prop_assert!(decode(&pretty, None).is_some());
            agree(&pretty, None)?;
        }

        #[test]
        fn special_finds_what_a_byte_loop_finds(bytes in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), 0x20u8..0x7f], 0..40,
        )) {
            let naive = bytes.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            prop_assert_eq!(special(&bytes), naive);
        }

        #[test]
        fn dates_read_as_chrono_reads_them(s in prop_oneof![date_text(), "[0-9-]{10}", ".{0,12}"]) {
            prop_assert_eq!(date(&s), NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
        }
    }
}
