//! Explaining one hearing to an analyst: its timeline, how each deadline was computed, and
//! why each verdict fired or was retracted.
//!
//! Verdicts come only from [`evaluate`]: an [`Explanation`] carries its findings as they
//! are, and its history is [`evaluate`] run at every instant where the outcome can change.
//! The rest (what each event did, the days a deadline skipped) comes from the same fold
//! ([`trace`]) and the calendar. Rendering the explanation is the caller's business; the
//! sentences here are plain English, the dates local dates of the region's zone.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar::{Calendar, DayKind, OffReason, WorkingReason};
use crate::engine::Outcome;
use crate::event::{Body, Event, HearingDate};
use crate::hearing::{
    end_of_day, evaluate, fold_order, local_date, trace, DateEffect, Effect, Trace,
    PUBLIC_HEARINGS_SECTION,
};
use crate::region::{Channel, Document, Form, Region};
use crate::rule::{Rule, RulePacks};
use crate::verdict::{Finding, FindingKey, Violation};

/// Everything known about one hearing at an instant, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub hearing_id: Arc<str>,
    pub region: Region,
    /// The IANA zone whose local dates count.
    pub zone: &'static str,
    pub form: Form,
    pub as_of: DateTime<Utc>,
    /// The rule pack the hearing uses; `None` while no event is due.
    pub rule_pack: Option<PackUsed>,
    /// Every event, in fold order, with what it did.
    pub timeline: Vec<TimelineEntry>,
    /// The deadlines that apply to the hearing's form.
    pub deadlines: Vec<DeadlineExplanation>,
    /// Why each active violation holds.
    pub violations: Vec<ViolationExplanation>,
    /// The findings emitted, updated and retracted as the clock ran to `as_of`, with
    /// every event arriving at its `occurred_at`.
    pub history: Vec<HistoryEntry>,
    /// The active findings, exactly as [`evaluate`] gives them.
    pub findings: Vec<Finding>,
    /// When the outcome changes next by itself, if it does.
    pub next_wake: Option<DateTime<Utc>>,
    /// A deadline needs a calendar year that has no data.
    pub waiting_for_calendar: bool,
}

/// The rule pack a hearing uses and what chose it.
#[derive(Debug, Clone, Serialize)]
pub struct PackUsed {
    pub applies_from: NaiveDate,
    pub source: String,
    pub chosen_by: String,
}

/// One event and its effect.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub event_id: Arc<str>,
    /// The event's type on the wire.
    pub kind: &'static str,
    pub occurred_at: DateTime<Utc>,
    /// `occurred_at` in the region's zone.
    pub local_time: String,
    pub local_date: NaiveDate,
    /// False for an event after the as-of instant, which does not count yet.
    pub counted: bool,
    /// The event's own fields, as a phrase.
    pub details: String,
    /// What it did to the hearing.
    pub effect: String,
}

/// How one document's deadline was computed and where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineExplanation {
    pub document: Document,
    /// The date the working days are counted after.
    pub base: NaiveDate,
    /// Where the base date comes from.
    pub base_from: String,
    pub working_days: u32,
    /// Every date from the day after the base to the last day, working or skipped.
    pub days: Vec<DayCount>,
    /// The Nth working day; `None` while the calendar lacks a year it needs.
    pub last_day: Option<NaiveDate>,
    /// The end of the last day: the next local midnight.
    pub deadline_at: Option<DateTime<Utc>>,
    pub status: DeadlineStatus,
    /// Each channel's outcome.
    pub channels: Vec<ChannelOutcome>,
    /// Earlier bases of this deadline, replaced by a reschedule or by `held_on`.
    pub superseded: Vec<SupersededDeadline>,
}

/// One date counted towards a deadline.
#[derive(Debug, Clone, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub weekday: &'static str,
    /// Its number among the working days counted, or `None` for a skipped day.
    pub working_day: Option<u32>,
    /// Why it is a working day or a day off.
    pub why: String,
}

/// Where a deadline stands at the as-of instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DeadlineStatus {
    /// Its instant is still ahead.
    Pending,
    /// Its instant has passed: its verdicts hold.
    Passed,
    /// A cancellation before its instant removed it.
    RemovedByCancellation { cancelled_at: DateTime<Utc> },
    /// The calendar has no data for a year the count needs; it is not guessed.
    WaitingForCalendar { year: i32 },
}

/// A channel's outcome for a deadline.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelOutcome {
    pub channel: Channel,
    /// The local date of the document's first appearance there, if it has appeared.
    pub first_published_on: Option<NaiveDate>,
    pub outcome: String,
}

/// A base date a deadline no longer counts from.
#[derive(Debug, Clone, Serialize)]
pub struct SupersededDeadline {
    pub base: NaiveDate,
    pub last_day: Option<NaiveDate>,
    pub replaced_at: DateTime<Utc>,
    pub replaced_by: String,
    pub note: String,
}

/// Why one active violation holds.
#[derive(Debug, Clone, Serialize)]
pub struct ViolationExplanation {
    /// The finding's stable id.
    pub id: String,
    pub rule: Rule,
    pub document: Document,
    pub channel: Channel,
    /// First day of the month it counts in.
    pub month: NaiveDate,
    pub why: String,
}

/// A finding emitted, updated or retracted at an instant.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub change: HistoryChange,
    /// The finding's stable id.
    pub finding: String,
    /// What happened at that instant.
    pub cause: String,
}

/// What happened to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryChange {
    Emitted,
    /// Still active, with other evidence (a moved deadline, say).
    Updated,
    Retracted,
}

/// One hearing's distinct events in fold order, gathered as the engine takes events in:
/// a repeated event changes nothing, and one that contradicts the earlier ones is refused
/// with the reason the engine gives.
#[derive(Debug, Default, Clone)]
pub struct HearingEvents {
    events: Vec<Event>,
}

impl HearingEvents {
    /// Adds one event of the hearing.
    pub fn add(&mut self, event: Event) -> Outcome {
        if let Some(first) = self.events.first() {
            if first.region != event.region || first.form != event.form {
                return Outcome::conflicting_hearing(first.form, first.region, &event);
            }
        }
        if let Some(seen) = self.events.iter().find(|e| e.event_id == event.event_id) {
            if *seen == event {
                return Outcome::Duplicate;
            }
            return Outcome::conflicting_duplicate(&event);
        }
        let at = self
            .events
            .partition_point(|e| fold_order(e, &event).is_lt());
        self.events.insert(at, event);
        Outcome::Applied
    }

    /// The events, in fold order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

/// Explains a hearing whose `events` are all of one hearing and in fold order (as the
/// engine keeps them). `None` when there are no events.
pub fn explain(
    events: &[Event],
    as_of: DateTime<Utc>,
    calendar: &Calendar,
    packs: &RulePacks,
) -> Option<Explanation> {
    let first = events.first()?;
    let zone = first.region.zone();
    let evaluation = evaluate(events, as_of, calendar, packs);
    let trace = trace(events, as_of, calendar, packs);
    let due = &events[..trace.as_ref().map_or(0, |t| t.effects.len())];
    let explainer = Explainer {
        events,
        due,
        zone,
        form: first.form,
        as_of,
        calendar,
        findings: &evaluation.findings,
    };
    let (rule_pack, deadlines) = match &trace {
        Some(trace) => (Some(explainer.pack_used(trace)), explainer.deadlines(trace)),
        None => (None, Vec::new()),
    };
    let violations = evaluation
        .findings
        .values()
        .filter_map(|f| match f {
            Finding::Violation(v) => Some(explainer.violation(f, v, trace.as_ref())),
            Finding::Placement(_) => None,
        })
        .collect();
    Some(Explanation {
        hearing_id: first.hearing_id.clone(),
        region: first.region,
        zone: zone.name(),
        form: first.form,
        as_of,
        rule_pack,
        timeline: explainer.timeline(trace.as_ref()),
        deadlines,
        violations,
        history: history(events, as_of, calendar, packs, zone),
        findings: evaluation.findings.values().cloned().collect(),
        next_wake: evaluation.next_wake,
        waiting_for_calendar: evaluation.waiting_for_calendar,
    })
}

struct Explainer<'a> {
    events: &'a [Event],
    /// The events that count at `as_of`; the trace has one effect per event here.
    due: &'a [Event],
    zone: Tz,
    form: Form,
    as_of: DateTime<Utc>,
    calendar: &'a Calendar,
    findings: &'a BTreeMap<FindingKey, Finding>,
}

impl Explainer<'_> {
    fn pack_used(&self, trace: &Trace<'_>) -> PackUsed {
        let chosen_by = match trace.receipt {
            Some(day) => format!("in force on the receipt date {day}"),
            None => format!(
                "in force on the first event's date {} (there is no receipt)",
                self.local_date(self.due[0].occurred_at)
            ),
        };
        PackUsed {
            applies_from: trace.pack.applies_from,
            source: trace.pack.source.clone(),
            chosen_by,
        }
    }

    fn timeline(&self, trace: Option<&Trace<'_>>) -> Vec<TimelineEntry> {
        let effects = trace.map_or(&[][..], |t| &t.effects[..]);
        self.events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let effect = match effects.get(i) {
                    Some(effect) => self.effect(event, *effect),
                    None => "after the as-of instant: it does not count yet".to_string(),
                };
                TimelineEntry {
                    event_id: event.event_id.clone(),
                    kind: event.type_name(),
                    occurred_at: event.occurred_at,
                    local_time: self.local_time(event.occurred_at),
                    local_date: self.local_date(event.occurred_at),
                    counted: i < effects.len(),
                    details: self.details(event),
                    effect,
                }
            })
            .collect()
    }

    fn details(&self, event: &Event) -> String {
        match &event.body {
            Body::ApplicationReceived(date) | Body::Rescheduled(date) => self.hearing_date(date),
            Body::Published(p) => {
                let declared = p.declared_on.map_or("declared_on null".to_string(), |d| {
                    format!("declared_on {d}")
                });
                let mut s = format!(
                    "{} on {}, section {:?}, {declared}",
                    p.document, p.channel, p.section
                );
                if let Some(recording) = p.has_recording {
                    s.push_str(&format!(", has_recording {recording}"));
                }
                if let Some(url) = &p.url {
                    s.push_str(&format!(", {url}"));
                }
                s
            }
            Body::Cancelled => String::new(),
            Body::Held { held_on } => format!("held_on {held_on}"),
        }
    }

    fn hearing_date(&self, date: &HearingDate) -> String {
        match date {
            HearingDate::MeetingAt(t) => format!("hearing_at {}", self.local_time(*t)),
            HearingDate::DiscussionEndsOn(d) => format!("discussion_ends_on {d}"),
        }
    }

    fn effect(&self, event: &Event, effect: Effect) -> String {
        match effect {
            Effect::Receipt(date) => format!(
                "the receipt (first application_received): sets the receipt date {}, the \
                 rule pack, {}",
                self.local_date(event.occurred_at),
                date_effect(date, "and the hearing date")
            ),
            Effect::LaterReceipt => {
                "a later application_received: the first one counts, this changes nothing"
                    .to_string()
            }
            Effect::Rescheduled(date) => date_effect(date, "the hearing date becomes"),
            Effect::Cancelled { first: true } => {
                "cancels the hearing: the deadlines that had not passed by now are removed, \
                 dates no longer move; later publications still count for the publication \
                 rules"
                    .to_string()
            }
            Effect::Cancelled { first: false } => {
                "a later cancellation: the first one counts, this changes nothing".to_string()
            }
            Effect::Held => {
                let Body::Held { held_on } = event.body else {
                    unreachable!("a Held effect comes from hearing_held")
                };
                if self.is_last_held(event) {
                    format!(
                        "the meeting took place on {held_on}: the protocol deadline counts from \
                         it, whatever hearing date was set"
                    )
                } else {
                    "a later hearing_held replaces this one".to_string()
                }
            }
            Effect::Published { first: true } => {
                let Body::Published(p) = &event.body else {
                    unreachable!("a Published effect comes from a publication")
                };
                format!(
                    "the {}'s publication on {} (its first appearance there), on {}",
                    p.document,
                    p.channel,
                    self.local_date(event.occurred_at)
                )
            }
            Effect::Published { first: false } => {
                "a later appearance on the same channel: it changes nothing".to_string()
            }
        }
    }

    fn is_last_held(&self, event: &Event) -> bool {
        let last = self
            .due
            .iter()
            .rev()
            .find(|e| matches!(e.body, Body::Held { .. }));
        last.is_some_and(|e| e.event_id == event.event_id)
    }

    fn deadlines(&self, trace: &Trace<'_>) -> Vec<DeadlineExplanation> {
        let pack = trace.pack;
        let mut out = Vec::new();
        if let Some(receipt) = trace.receipt {
            if self.applies(Document::Announcement, trace) {
                let from = "the receipt date".to_string();
                let n = pack.announcement_working_days;
                out.push(self.deadline(Document::Announcement, receipt, from, n, trace));
            }
        }
        if let Some(base) = trace.held_on.or(trace.protocol_base) {
            if self.applies(Document::Protocol, trace) {
                let from = self.protocol_base_from(trace);
                let n = pack.protocol_working_days;
                let mut d = self.deadline(Document::Protocol, base, from, n, trace);
                d.superseded = self.superseded(trace);
                out.push(d);
            }
        }
        out
    }

    fn applies(&self, document: Document, trace: &Trace<'_>) -> bool {
        let (missing, late) = Rule::deadline_rules(document);
        trace.pack.applies(missing, self.form) || trace.pack.applies(late, self.form)
    }

    fn deadline(
        &self,
        document: Document,
        base: NaiveDate,
        base_from: String,
        n: u32,
        trace: &Trace<'_>,
    ) -> DeadlineExplanation {
        let (days, missing_year) = self.count_days(base, n);
        let last_day = self.calendar.nth_working_day_after(base, n);
        let deadline_at = last_day.map(|d| end_of_day(d, self.zone));
        let status = match deadline_at {
            None => DeadlineStatus::WaitingForCalendar {
                year: missing_year.unwrap_or(base.year()),
            },
            Some(at) => match trace.cancelled_at {
                Some(cancelled_at) if cancelled_at < at => {
                    DeadlineStatus::RemovedByCancellation { cancelled_at }
                }
                _ if self.as_of < at => DeadlineStatus::Pending,
                _ => DeadlineStatus::Passed,
            },
        };
        let channels = Channel::ALL
            .iter()
            .map(|&channel| self.channel_outcome(document, channel, last_day, &status))
            .collect();
        DeadlineExplanation {
            document,
            base,
            base_from,
            working_days: n,
            days,
            last_day,
            deadline_at,
            status,
            channels,
            superseded: Vec::new(),
        }
    }

    /// The dates after `base` up to the `n`th working day, and the year that stopped the
    /// count when the calendar lacks it.
    fn count_days(&self, base: NaiveDate, n: u32) -> (Vec<DayCount>, Option<i32>) {
        let mut days = Vec::new();
        let mut date = base;
        let mut counted = 0;
        while counted < n {
            let Some(next) = date.succ_opt() else {
                return (days, None);
            };
            date = next;
            let Some(day) = self.calendar.day(date) else {
                return (days, Some(date.year()));
            };
            let working = day.kind.is_working();
            if working {
                counted += 1;
            }
            days.push(DayCount {
                date,
                weekday: weekday_name(date.weekday()),
                working_day: working.then_some(counted),
                why: day_reason(&day.kind),
            });
        }
        (days, None)
    }

    fn channel_outcome(
        &self,
        document: Document,
        channel: Channel,
        last_day: Option<NaiveDate>,
        status: &DeadlineStatus,
    ) -> ChannelOutcome {
        let published_on = self
            .first_publication(document, channel)
            .map(|e| self.local_date(e.occurred_at));
        let (missing, late) = Rule::deadline_rules(document);
        let has = |rule| {
            self.findings.contains_key(&FindingKey::Violation {
                rule,
                document,
                channel,
            })
        };
        let outcome = match (status, published_on) {
            (DeadlineStatus::WaitingForCalendar { .. }, _) => {
                "no verdict: the last day is not known yet".to_string()
            }
            (DeadlineStatus::RemovedByCancellation { .. }, _) => {
                "no verdict: the cancellation removed the deadline".to_string()
            }
            (DeadlineStatus::Pending, Some(_)) => "published, before the deadline".to_string(),
            (DeadlineStatus::Pending, None) => {
                "not published yet; the deadline has not passed".to_string()
            }
            (DeadlineStatus::Passed, _) if has(missing) => {
                format!("{missing}: not published by the end of the last day")
            }
            (DeadlineStatus::Passed, Some(_)) if has(late) => format!(
                "{late}: published after the last day {}",
                last_day.map_or(String::new(), |d| d.to_string())
            ),
            (DeadlineStatus::Passed, Some(_)) => "on time".to_string(),
            (DeadlineStatus::Passed, None) => {
                format!("no verdict: {missing} does not apply to this form")
            }
        };
        ChannelOutcome {
            channel,
            first_published_on: published_on,
            outcome,
        }
    }

    fn first_publication(&self, document: Document, channel: Channel) -> Option<&Event> {
        self.due.iter().find(|e| match &e.body {
            Body::Published(p) => p.document == document && p.channel == channel,
            _ => false,
        })
    }

    fn protocol_base_from(&self, trace: &Trace<'_>) -> String {
        if let Some(held_on) = trace.held_on {
            let held = self
                .due
                .iter()
                .rev()
                .find(|e| matches!(e.body, Body::Held { .. }))
                .expect("held_on comes from a hearing_held");
            return format!(
                "held_on {held_on}, reported by hearing_held at {}; it wins over any hearing date",
                self.local_time(held.occurred_at)
            );
        }
        let set = self.date_events(trace).last().map(|(event, _)| *event);
        match set {
            Some(event) => format!(
                "the hearing date set by {} at {}",
                event.type_name(),
                self.local_time(event.occurred_at)
            ),
            None => "the hearing date".to_string(),
        }
    }

    /// The events whose date became the protocol base, with the base each replaced.
    fn date_events(&self, trace: &Trace<'_>) -> Vec<(&Event, Option<NaiveDate>)> {
        self.due
            .iter()
            .zip(&trace.effects)
            .filter_map(|(event, effect)| match effect {
                Effect::Receipt(DateEffect::Set { previous, .. })
                | Effect::Rescheduled(DateEffect::Set { previous, .. }) => Some((event, *previous)),
                _ => None,
            })
            .collect()
    }

    fn superseded(&self, trace: &Trace<'_>) -> Vec<SupersededDeadline> {
        let n = trace.pack.protocol_working_days;
        let mut out: Vec<SupersededDeadline> = self
            .date_events(trace)
            .into_iter()
            .filter_map(|(event, previous)| {
                let base = previous?;
                Some(SupersededDeadline {
                    base,
                    last_day: self.calendar.nth_working_day_after(base, n),
                    replaced_at: event.occurred_at,
                    replaced_by: format!("{} {}", event.type_name(), event.event_id),
                    note: "the deadline had not passed, so it moved".to_string(),
                })
            })
            .collect();
        let replaced = trace
            .protocol_base
            .filter(|base| Some(*base) != trace.held_on);
        if let (Some(_), Some(base)) = (trace.held_on, replaced) {
            let held = self
                .due
                .iter()
                .rev()
                .find(|e| matches!(e.body, Body::Held { .. }))
                .expect("held_on comes from a hearing_held");
            let last_day = self.calendar.nth_working_day_after(base, n);
            let passed = last_day.is_some_and(|d| end_of_day(d, self.zone) <= held.occurred_at);
            let note = if passed {
                "held_on replaced it after it had passed: the verdicts computed from it were \
                 retracted"
            } else {
                "held_on replaced it before it passed"
            };
            out.push(SupersededDeadline {
                base,
                last_day,
                replaced_at: held.occurred_at,
                replaced_by: format!("hearing_held {}", held.event_id),
                note: note.to_string(),
            });
        }
        out
    }

    fn violation(
        &self,
        finding: &Finding,
        v: &Violation,
        trace: Option<&Trace<'_>>,
    ) -> ViolationExplanation {
        let published = v.published.as_ref();
        let published_on = published.map_or(String::new(), |p| p.published_on.to_string());
        let deadline = || {
            let last = v.deadline_on.map_or(String::new(), |d| d.to_string());
            let at = v.deadline_at.map_or(String::new(), |t| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            });
            let (n, after) = match v.document {
                Document::Announcement => (
                    trace.map_or(0, |t| t.pack.announcement_working_days),
                    trace
                        .and_then(|t| t.receipt)
                        .map_or("the receipt".to_string(), |d| format!("the receipt on {d}")),
                ),
                Document::Protocol => (
                    trace.map_or(0, |t| t.pack.protocol_working_days),
                    v.hearing_on.map_or("the hearing".to_string(), |d| {
                        format!("the hearing date {d}")
                    }),
                ),
            };
            format!(
                "the last day was {last}, {n} working day(s) after {after}; the deadline \
                 passed at {at}"
            )
        };
        let why = match v.rule {
            Rule::AnnouncementMissing | Rule::ProtocolMissing => {
                format!("the {} is not on {}: {}", v.document, v.channel, deadline())
            }
            Rule::AnnouncementLate | Rule::ProtocolLate => format!(
                "the {} first appeared on {} on {published_on}, after the deadline: {}; it \
                 replaces the missing verdict of that channel",
                v.document,
                v.channel,
                deadline()
            ),
            Rule::AnnouncementShortNotice => {
                let days = match (v.hearing_on, published) {
                    (Some(h), Some(p)) => (h - p.published_on).num_days(),
                    _ => 0,
                };
                let needed = trace.map_or(0, |t| t.pack.short_notice_calendar_days);
                format!(
                    "published on {published_on}, {days} calendar day(s) before the hearing date \
                     {} in force then; the rule asks for at least {needed}",
                    v.hearing_on.map_or(String::new(), |d| d.to_string())
                )
            }
            Rule::AnnouncementBackdated | Rule::ProtocolBackdated => format!(
                "the printed date {} is earlier than the publication date {published_on}",
                published
                    .and_then(|p| p.declared_on)
                    .map_or(String::new(), |d| d.to_string())
            ),
            Rule::AnnouncementUndated | Rule::ProtocolUndated => {
                format!(
                    "no placement date is printed on it (declared_on is null); published on \
                     {published_on}"
                )
            }
            Rule::SectionMismatch => format!(
                "published in section {:?}, not {PUBLIC_HEARINGS_SECTION:?}",
                published.map_or("", |p| &*p.section)
            ),
            Rule::ProtocolNoRecording => {
                format!("the protocol published on {published_on} has no recording")
            }
        };
        ViolationExplanation {
            id: finding.id(),
            rule: v.rule,
            document: v.document,
            channel: v.channel,
            month: v.month,
            why,
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        local_date(at, self.zone)
    }

    fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M:%S %:z")
            .to_string()
    }
}

/// What a new hearing date did, after `lead` ("the hearing date becomes").
fn date_effect(effect: DateEffect, lead: &str) -> String {
    match effect {
        DateEffect::Set {
            date,
            previous: None,
        } => format!("{lead} {date}; the protocol deadline counts from it"),
        DateEffect::Set {
            date,
            previous: Some(previous),
        } => format!(
            "{lead} {date}; the protocol deadline from {previous} had not passed, so it moves"
        ),
        DateEffect::DeadlinePassed {
            date,
            base,
            last_day,
        } => format!(
            "{lead} {date} (for the short-notice rule), but the protocol deadline from {base} \
             had passed at the end of {last_day}, so it stays with its verdicts"
        ),
        DateEffect::AfterCancellation => {
            "after the cancellation: dates no longer move, this changes nothing".to_string()
        }
    }
}

fn weekday_name(day: Weekday) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][day.num_days_from_monday() as usize]
}

fn day_reason(kind: &DayKind) -> String {
    match kind {
        DayKind::Working(WorkingReason::Weekday) => "working day".to_string(),
        DayKind::Working(WorkingReason::TransferredWorkingDay { source }) => {
            format!("working day: a weekend day made one by transfer ({source})")
        }
        DayKind::Off(OffReason::Weekend) => "weekend".to_string(),
        DayKind::Off(OffReason::Holiday { name, .. }) => format!("holiday: {name}"),
        DayKind::Off(OffReason::MovedHoliday { name, from }) => {
            format!("day off: {name} of {from} fell on a weekend and moved here")
        }
        DayKind::Off(OffReason::TransferredDayOff { source }) => {
            format!("day off by transfer ({source})")
        }
    }
}

/// [`evaluate`] at the first event's instant and then at every next wake up to `as_of`:
/// the findings a clock running through the hearing's life would have emitted and
/// retracted, with the events arriving on time. The calendar is today's throughout.
fn history(
    events: &[Event],
    as_of: DateTime<Utc>,
    calendar: &Calendar,
    packs: &RulePacks,
    zone: Tz,
) -> Vec<HistoryEntry> {
    let mut out = Vec::new();
    let mut old = BTreeMap::new();
    let mut at = events.first().map(|e| e.occurred_at);
    while let Some(now) = at.filter(|t| *t <= as_of) {
        let evaluation = evaluate(events, now, calendar, packs);
        let cause = cause(events, now, &evaluation.findings, zone);
        for (key, finding) in &old {
            if !evaluation.findings.contains_key(key) {
                out.push(entry(now, HistoryChange::Retracted, finding, &cause));
            }
        }
        for (key, finding) in &evaluation.findings {
            match old.get(key) {
                None => out.push(entry(now, HistoryChange::Emitted, finding, &cause)),
                Some(before) if before != finding => {
                    out.push(entry(now, HistoryChange::Updated, finding, &cause))
                }
                Some(_) => {}
            }
        }
        old = evaluation.findings;
        at = evaluation.next_wake;
    }
    out
}

fn entry(at: DateTime<Utc>, change: HistoryChange, finding: &Finding, cause: &str) -> HistoryEntry {
    HistoryEntry {
        at,
        change,
        finding: finding.id(),
        cause: cause.to_string(),
    }
}

/// What happened at `at`: the events that occurred then, or the deadlines that passed.
fn cause(
    events: &[Event],
    at: DateTime<Utc>,
    findings: &BTreeMap<FindingKey, Finding>,
    zone: Tz,
) -> String {
    let happened: Vec<String> = events
        .iter()
        .filter(|e| e.occurred_at == at)
        .map(|e| format!("{} {}", e.type_name(), e.event_id))
        .collect();
    if !happened.is_empty() {
        return happened.join(", ");
    }
    let mut passed: Vec<String> = findings
        .values()
        .filter_map(|f| match f {
            Finding::Violation(v) if v.deadline_at == Some(at) => Some(format!(
                "the {} deadline passed (end of {} in {})",
                v.document,
                v.deadline_on.map_or(String::new(), |d| d.to_string()),
                zone.name()
            )),
            _ => None,
        })
        .collect();
    passed.sort();
    passed.dedup();
    if passed.is_empty() {
        "a deadline passed".to_string()
    } else {
        passed.join("; ")
    }
}
