//! The batch oracle: the design's rules applied to a whole set of events at once.
//!
//! It is deliberately plain and separate from the engine: it reads the rules from
//! DESIGN.md ("Rules" and "Precisely"), quoted beside the code that applies them, and uses
//! none of `hearing.rs` (not `evaluate`, not its date helpers) and no `Engine`. It shares
//! only the vocabularies, the `Event` types, `Region::zone()`, the rule packs and the
//! calendar's per-day answer (`Calendar::is_working_day`); working days are counted here
//! one date at a time, and "a deadline has passed" is decided from local dates, not from
//! deadline instants, so a mistake in either place shows as a disagreement.
//!
//! Its output is a set of [`Verdict`]s: the active violations and placements with the
//! evidence that names them (month, deadline day, the publication, the hearing date).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::event::{Body, Event, HearingDate, Publication};
use hearwatch_engine::region::{Channel, Document, Form};
use hearwatch_engine::rule::{Rule, RulePack, RulePacks};
use hearwatch_engine::verdict::Finding;

/// An active violation (`rule` is `Some`) or placement (`rule` is `None`), with the
/// evidence both implementations must agree on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Verdict {
    pub hearing_id: String,
    pub rule: Option<Rule>,
    pub document: Document,
    pub channel: Channel,
    /// First day of the month it counts in.
    pub month: NaiveDate,
    /// The Nth working day, for deadline rules.
    pub deadline_on: Option<NaiveDate>,
    /// The publication's event id, when the verdict is about one.
    pub published: Option<String>,
    /// The hearing date measured against: the protocol deadline's base date, or the
    /// hearing date in force for short notice.
    pub hearing_on: Option<NaiveDate>,
}

/// The same shape, read from one of the engine's findings.
pub fn of_finding(finding: &Finding) -> Verdict {
    match finding {
        Finding::Violation(v) => Verdict {
            hearing_id: v.hearing_id.to_string(),
            rule: Some(v.rule),
            document: v.document,
            channel: v.channel,
            month: v.month,
            deadline_on: v.deadline_on,
            published: v.published.as_ref().map(|p| p.event_id.to_string()),
            hearing_on: v.hearing_on,
        },
        Finding::Placement(p) => Verdict {
            hearing_id: p.hearing_id.to_string(),
            rule: None,
            document: p.document,
            channel: p.channel,
            month: p.month,
            deadline_on: None,
            published: Some(p.published.event_id.to_string()),
            hearing_on: None,
        },
    }
}

/// The active verdicts of every hearing in `events` at `as_of`. Events may repeat (the
/// input must be valid: a repeated `event_id` is the same event).
pub fn verdicts(
    events: &[Event],
    as_of: DateTime<Utc>,
    calendar: &Calendar,
    packs: &RulePacks,
) -> BTreeSet<Verdict> {
    let mut hearings: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for event in events {
        // "a repeated id is a duplicate and is ignored"
        if seen.insert((&*event.hearing_id, &*event.event_id)) {
            hearings.entry(&event.hearing_id).or_default().push(event);
        }
    }
    let mut out = BTreeSet::new();
    for events in hearings.into_values() {
        let oracle = HearingOracle {
            as_of,
            calendar,
            out: &mut out,
        };
        oracle.run(events, packs);
    }
    out
}

/// The local date of an instant in a zone. "All dates are local dates in the region's zone
/// at the instant in question."
fn local(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

fn first_of_month(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap()
}

/// "N working days after date D means the Nth working day strictly after D." `None` when a
/// day on the way has no calendar data: the deadline is not known, so it gives no verdict.
fn nth_working_day_after(calendar: &Calendar, d: NaiveDate, n: u32) -> Option<NaiveDate> {
    let mut day = d;
    let mut counted = 0;
    while counted < n {
        day = day.succ_opt().unwrap();
        if calendar.is_working_day(day)? {
            counted += 1;
        }
    }
    Some(day)
}

/// A document's first appearance on a channel and the hearing date in force then.
struct First<'a> {
    event: &'a Event,
    publication: &'a Publication,
    hearing_on: Option<NaiveDate>,
}

struct HearingOracle<'a> {
    as_of: DateTime<Utc>,
    calendar: &'a Calendar,
    out: &'a mut BTreeSet<Verdict>,
}

impl HearingOracle<'_> {
    fn run(mut self, mut events: Vec<&Event>, packs: &RulePacks) {
        // "an event counts from the instant its occurred_at is reached"
        events.retain(|e| e.occurred_at <= self.as_of);
        // "A hearing's events are taken in the order of (occurred_at, event_id)"
        events.sort_by(|a, b| (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id)));
        let Some(first_event) = events.first() else {
            return;
        };
        let zone = first_event.region.zone();
        let form = first_event.form;

        // "The first application_received in fold order sets the receipt (and the rule
        // pack); later ones change nothing."
        let receipt = events
            .iter()
            .position(|e| matches!(e.body, Body::ApplicationReceived(_)));
        // "a hearing uses the version in force at its receipt date (or, with no receipt,
        // at its first event)"
        let pack_day = local(events[receipt.unwrap_or(0)].occurred_at, zone);
        let pack = packs.in_force(pack_day);

        let mut hearing_on: Option<NaiveDate> = None;
        let mut protocol_base: Option<NaiveDate> = None;
        let mut cancelled_at: Option<DateTime<Utc>> = None;
        let mut held_on: Option<NaiveDate> = None;
        let mut firsts: BTreeMap<(Document, Channel), First> = BTreeMap::new();
        for (i, event) in events.iter().enumerate() {
            let new_date = match &event.body {
                Body::ApplicationReceived(date) if Some(i) == receipt => Some(*date),
                Body::ApplicationReceived(_) => None,
                Body::Rescheduled(date) => Some(*date),
                Body::Cancelled => {
                    // "A cancellation is final": the first one counts.
                    cancelled_at.get_or_insert(event.occurred_at);
                    None
                }
                Body::Held { held_on: day } => {
                    // "Of several hearing_held, the last in fold order counts."
                    held_on = Some(*day);
                    None
                }
                Body::Published(p) => {
                    // "A document's publication on a channel is its first appearance
                    // there; later appearances on the same channel change nothing."
                    firsts.entry((p.document, p.channel)).or_insert(First {
                        event,
                        publication: p,
                        hearing_on,
                    });
                    None
                }
            };
            // "A cancellation is final: later reschedules change nothing."
            let Some(date) = new_date.filter(|_| cancelled_at.is_none()) else {
                continue;
            };
            // "The hearing date of an open meeting is the local date of the hearing_at in
            // force"; a public discussion's is its discussion_ends_on.
            let date = match date {
                HearingDate::MeetingAt(t) => local(t, zone),
                HearingDate::DiscussionEndsOn(d) => d,
            };
            hearing_on = Some(date);
            // "A reschedule moves the deadlines that had not passed at its occurred_at";
            // "Deadlines already passed keep their verdicts".
            let passed = protocol_base
                .and_then(|b| nth_working_day_after(self.calendar, b, pack.protocol_working_days))
                .is_some_and(|last| local(event.occurred_at, zone) > last);
            if !passed {
                protocol_base = Some(date);
            }
        }

        let hearing = Hearing {
            id: &first_event.hearing_id,
            zone,
            form,
            pack,
            cancelled_at,
            firsts: &firsts,
        };
        // announcement_missing/late: "not on a channel by 1 working day after the receipt
        // date". "Without one, the announcement deadline does not exist".
        if let Some(i) = receipt {
            let receipt_on = local(events[i].occurred_at, zone);
            let n = pack.announcement_working_days;
            self.deadline(&hearing, Document::Announcement, receipt_on, n);
        }
        // protocol_missing/late: "4 working days after the hearing date (open meeting:
        // held_on, else the hearing date; public discussion: discussion_ends_on)";
        // "held_on ... wins over any hearing_at, whenever it is reported".
        if let Some(base) = held_on.or(protocol_base) {
            self.deadline(
                &hearing,
                Document::Protocol,
                base,
                pack.protocol_working_days,
            );
        }
        for first in firsts.values() {
            self.publication_rules(&hearing, first);
        }
    }

    fn deadline(&mut self, h: &Hearing, document: Document, base: NaiveDate, n: u32) {
        let (missing, late) = match document {
            Document::Announcement => (Rule::AnnouncementMissing, Rule::AnnouncementLate),
            Document::Protocol => (Rule::ProtocolMissing, Rule::ProtocolLate),
        };
        let Some(last) = nth_working_day_after(self.calendar, base, n) else {
            return;
        };
        // "its deadline instant is the end of that day (the next local midnight)"; "A
        // deadline has passed at instant T when T ≥ its deadline instant": the local date
        // at T is after the last day.
        let passed_at = |t: DateTime<Utc>| local(t, h.zone) > last;
        // "a cancellation removes them" (the deadlines that had not passed at it).
        if h.cancelled_at.is_some_and(|c| !passed_at(c)) {
            return;
        }
        if !passed_at(self.as_of) {
            return;
        }
        for channel in [Channel::InformationSystem, Channel::MioWebsite] {
            let first = h.firsts.get(&(document, channel));
            // "A publication is on time when its publication date is on or before the Nth
            // working day"; "first appears on a channel after that deadline" is late.
            let rule = match first {
                None => missing,
                Some(f) if local(f.event.occurred_at, h.zone) > last => late,
                Some(_) => continue,
            };
            if h.pack.applies(rule, h.form) {
                self.out.insert(Verdict {
                    hearing_id: h.id.to_string(),
                    rule: Some(rule),
                    document,
                    channel,
                    // "The month of a deadline rule is the month of the Nth working day"
                    month: first_of_month(last),
                    deadline_on: Some(last),
                    published: first.map(|f| f.event.event_id.to_string()),
                    hearing_on: (document == Document::Protocol).then_some(base),
                });
            }
        }
    }

    fn publication_rules(&mut self, h: &Hearing, first: &First) {
        let p = first.publication;
        // "The publication date is the local date of occurred_at."
        let published_on = local(first.event.occurred_at, h.zone);
        let verdict = |rule: Option<Rule>, hearing_on: Option<NaiveDate>| Verdict {
            hearing_id: h.id.to_string(),
            rule,
            document: p.document,
            channel: p.channel,
            // "of a publication rule, the month of the publication date"
            month: first_of_month(published_on),
            deadline_on: None,
            published: Some(first.event.event_id.to_string()),
            hearing_on,
        };
        // Placements: "hearings whose document first appeared on ... [a] channel".
        self.out.insert(verdict(None, None));

        let mut broken = Vec::new();
        // "A document is in the right section when section is exactly public_hearings."
        if &*p.section != "public_hearings" {
            broken.push((Rule::SectionMismatch, None));
        }
        let (backdated, undated) = match p.document {
            Document::Announcement => (Rule::AnnouncementBackdated, Rule::AnnouncementUndated),
            Document::Protocol => (Rule::ProtocolBackdated, Rule::ProtocolUndated),
        };
        match p.declared_on {
            // "declared_on is null"
            None => broken.push((undated, None)),
            // "declared_on earlier than its publication date"
            Some(declared) if declared < published_on => broken.push((backdated, None)),
            Some(_) => {}
        }
        // "fewer than 30 calendar days from its publication date to the hearing date";
        // "for announcement_short_notice, the one in force at the publication's
        // occurred_at".
        if p.document == Document::Announcement {
            if let Some(hearing_on) = first.hearing_on {
                let days = (hearing_on - published_on).num_days();
                if days < h.pack.short_notice_calendar_days {
                    broken.push((Rule::AnnouncementShortNotice, Some(hearing_on)));
                }
            }
        }
        // "has_recording is false"
        if p.document == Document::Protocol && p.has_recording == Some(false) {
            broken.push((Rule::ProtocolNoRecording, None));
        }
        for (rule, hearing_on) in broken {
            if h.pack.applies(rule, h.form) {
                self.out.insert(verdict(Some(rule), hearing_on));
            }
        }
    }
}

/// What the rules of one hearing need to know about it.
struct Hearing<'a> {
    id: &'a str,
    zone: Tz,
    form: Form,
    pack: &'a RulePack,
    cancelled_at: Option<DateTime<Utc>>,
    firsts: &'a BTreeMap<(Document, Channel), First<'a>>,
}
