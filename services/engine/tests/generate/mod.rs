//! Random hearings for the property tests: both forms, regions whose zones differed before
//! 2024-03-01, dates across 2023-2026 clustered around holidays, moved and transferred
//! days and the zone change, times at and around local midnights; receipts (none, one or
//! several), publications on both channels with random sections, printed dates and
//! recording flags, reschedules, cancellations and held meetings.
//!
//! A [`HearingSpec`] is plain numbers that proptest can shrink; [`HearingSpec::events`]
//! turns it into valid events (`hearing_held` only for open meetings, event ids unique in
//! the hearing, ties in `occurred_at` frequent).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use hearwatch_engine::event::{Body, Event, HearingDate, Publication};
use hearwatch_engine::region::{Channel, Document, Form, Region};
use proptest::prelude::*;
use proptest::sample::select;

/// Regions with different zones: Almaty and Qostanay were UTC+6 until 2024-03-01, the
/// others UTC+5 throughout.
const REGIONS: [&str; 6] = ["KZ-71", "KZ-39", "KZ-15", "KZ-43", "KZ-27", "KZ-23"];

/// Dates worth landing near: holidays, moved and transferred days, Kurban Ait, the zone
/// change, month and year ends.
const ANCHORS: [&str; 24] = [
    "2023-01-01",
    "2023-03-08",
    "2023-03-21",
    "2023-05-05",
    "2023-06-28",
    "2023-07-06",
    "2023-08-30",
    "2023-10-25",
    "2023-12-16",
    "2024-01-01",
    "2024-02-26",
    "2024-03-01",
    "2024-05-07",
    "2024-06-16",
    "2024-12-31",
    "2025-01-03",
    "2025-05-01",
    "2025-05-09",
    "2025-06-06",
    "2025-12-29",
    "2026-03-21",
    "2026-05-27",
    "2026-08-30",
    "2026-12-24",
];

/// Times of day (UTC seconds) at and around the local midnights of UTC+5 (19:00Z) and
/// UTC+6 (18:00Z), and a few plain ones.
const TIMES: [u32; 8] = [0, 14_400, 33_000, 64_799, 64_800, 68_399, 68_400, 75_600];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).unwrap()
}

/// A day within 2023-2026: any, or one near an anchor.
fn day() -> impl Strategy<Value = NaiveDate> {
    let last = 4 * 365;
    prop_oneof![
        (0i64..=last).prop_map(|n| first_day() + Duration::days(n)),
        (select(&ANCHORS[..]), -8i64..=8).prop_map(move |(a, jitter)| {
            let d = a.parse::<NaiveDate>().unwrap() + Duration::days(jitter);
            d.clamp(first_day(), first_day() + Duration::days(last))
        }),
    ]
}

fn time_of_day() -> impl Strategy<Value = u32> {
    prop_oneof![select(&TIMES[..]), 0u32..86_400]
}

/// An instant: a day relative to some date of the hearing, at a time of day (UTC).
#[derive(Debug, Clone)]
struct At {
    days: i64,
    second: u32,
}

fn at(days: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = At> {
    (days, time_of_day()).prop_map(|(days, second)| At { days, second })
}

/// The date printed on a publication, relative to its publication date.
#[derive(Debug, Clone, Copy)]
enum Declared {
    Null,
    SameDay,
    DayBefore,
    DaysAfter(i64),
}

fn declared() -> impl Strategy<Value = Declared> {
    prop_oneof![
        1 => Just(Declared::Null),
        3 => Just(Declared::SameDay),
        1 => Just(Declared::DayBefore),
        1 => (1i64..=3).prop_map(Declared::DaysAfter),
    ]
}

/// One event, with days counted from the hearing's receipt day (`from receipt`) or from
/// its first hearing date (`from hearing`).
#[derive(Debug, Clone)]
enum EventSpec {
    /// From receipt; the hearing date is the first hearing date moved by `shift` days.
    Receipt { at: At, shift: i64 },
    /// From receipt.
    Announcement {
        channel: Channel,
        at: At,
        declared: Declared,
        in_section: bool,
    },
    /// From hearing.
    Protocol {
        channel: Channel,
        at: At,
        declared: Declared,
        in_section: bool,
        recording: bool,
    },
    /// `at` from receipt, the new date from hearing.
    Reschedule { at: At, to: i64, second: u32 },
    /// From receipt.
    Cancel { at: At },
    /// `held_on` from hearing, reported `after` days later.
    Held { held: i64, after: At },
}

fn event_spec() -> impl Strategy<Value = EventSpec> {
    let channel = || select(Channel::ALL);
    prop_oneof![
        3 => (at(-1..=2), -6i64..=6).prop_map(|(at, shift)| EventSpec::Receipt { at, shift }),
        4 => (channel(), at(-3..=8), declared(), prop::bool::weighted(0.85)).prop_map(
            |(channel, at, declared, in_section)| EventSpec::Announcement {
                channel, at, declared, in_section,
            }
        ),
        4 => (
            channel(),
            at(-2..=12),
            declared(),
            prop::bool::weighted(0.85),
            prop::bool::weighted(0.8)
        )
            .prop_map(|(channel, at, declared, in_section, recording)| {
                EventSpec::Protocol { channel, at, declared, in_section, recording }
            }),
        1 => (at(0..=70), -12i64..=30, time_of_day())
            .prop_map(|(at, to, second)| EventSpec::Reschedule { at, to, second }),
        1 => at(0..=70).prop_map(|at| EventSpec::Cancel { at }),
        2 => (-3i64..=5, at(0..=12)).prop_map(|(held, after)| EventSpec::Held { held, after }),
    ]
}

/// One hearing: where, what form, when its application came and for which date.
#[derive(Debug, Clone)]
pub struct HearingSpec {
    open_meeting: bool,
    region: &'static str,
    receipt: NaiveDate,
    /// Days from receipt to the first hearing date.
    lead: i64,
    hearing_second: u32,
    /// With an event id salt each, so ties in `occurred_at` break in any order.
    events: Vec<(EventSpec, u32)>,
}

pub fn hearing_spec() -> impl Strategy<Value = HearingSpec> {
    (
        any::<bool>(),
        select(&REGIONS[..]),
        day(),
        0i64..=60,
        time_of_day(),
        prop::collection::vec((event_spec(), any::<u32>()), 0..=12),
    )
        .prop_map(
            |(open_meeting, region, receipt, lead, hearing_second, events)| HearingSpec {
                open_meeting,
                region,
                receipt,
                lead,
                hearing_second,
                events,
            },
        )
}

fn instant(date: NaiveDate, second: u32) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap()) + Duration::seconds(second.into())
}

impl HearingSpec {
    /// The hearing's events; `n` makes its id unique in the case.
    pub fn events(&self, n: usize) -> Vec<Event> {
        let region: Region = self.region.parse().unwrap();
        let zone = region.zone();
        let form = if self.open_meeting {
            Form::OpenMeeting
        } else {
            Form::PublicDiscussion
        };
        let hearing_day = self.receipt + Duration::days(self.lead);
        let from_receipt = |a: &At| instant(self.receipt + Duration::days(a.days), a.second);
        let from_hearing = |a: &At| instant(hearing_day + Duration::days(a.days), a.second);
        let date = |day: NaiveDate, second: u32| match form {
            Form::OpenMeeting => HearingDate::MeetingAt(instant(day, second)),
            Form::PublicDiscussion => HearingDate::DiscussionEndsOn(day),
        };
        let publication = |document, channel, at: DateTime<Utc>, declared, ok, recording| {
            let published_on = at.with_timezone(&zone).date_naive();
            let declared_on = match declared {
                Declared::Null => None,
                Declared::SameDay => Some(published_on),
                Declared::DayBefore => Some(published_on - Duration::days(1)),
                Declared::DaysAfter(n) => Some(published_on + Duration::days(n)),
            };
            Body::Published(Publication {
                document,
                channel,
                declared_on,
                section: if ok { "public_hearings" } else { "news" }.into(),
                url: None,
                has_recording: (form == Form::OpenMeeting).then_some(recording),
            })
        };
        let mut events = Vec::new();
        for (i, (spec, salt)) in self.events.iter().enumerate() {
            let (occurred_at, body) = match spec {
                EventSpec::Receipt { at, shift } => {
                    let day = hearing_day + Duration::days(*shift);
                    let body = Body::ApplicationReceived(date(day, self.hearing_second));
                    (from_receipt(at), body)
                }
                EventSpec::Announcement {
                    channel,
                    at,
                    declared,
                    in_section,
                } => {
                    let t = from_receipt(at);
                    let body = publication(
                        Document::Announcement,
                        *channel,
                        t,
                        *declared,
                        *in_section,
                        true,
                    );
                    (t, body)
                }
                EventSpec::Protocol {
                    channel,
                    at,
                    declared,
                    in_section,
                    recording,
                } => {
                    let t = from_hearing(at);
                    let body = publication(
                        Document::Protocol,
                        *channel,
                        t,
                        *declared,
                        *in_section,
                        *recording,
                    );
                    (t, body)
                }
                EventSpec::Reschedule { at, to, second } => {
                    let body = Body::Rescheduled(date(hearing_day + Duration::days(*to), *second));
                    (from_receipt(at), body)
                }
                EventSpec::Cancel { at } => (from_receipt(at), Body::Cancelled),
                EventSpec::Held { held, after } => {
                    if form != Form::OpenMeeting {
                        continue;
                    }
                    let held_on = hearing_day + Duration::days(*held);
                    let body = Body::Held { held_on };
                    (
                        instant(held_on + Duration::days(after.days), after.second),
                        body,
                    )
                }
            };
            events.push(Event {
                event_id: format!("{salt:08x}-0000-4000-8000-{i:012}").into(),
                hearing_id: format!("H-{n}").into(),
                region,
                form,
                occurred_at,
                source: "proptest".into(),
                body,
            });
        }
        events
    }
}

/// How many cases a property runs: `release` in an optimised build (`make test` runs
/// `cargo test --release`), a tenth of it in a debug build, or `PROPTEST_CASES` when set
/// (a long hunt for disagreements runs the same properties with a larger number).
pub fn cases(release: u32) -> u32 {
    let default = if cfg!(debug_assertions) {
        release / 10
    } else {
        release
    };
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}
