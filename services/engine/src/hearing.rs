//! Evaluating one hearing: its events, folded in order, give its active findings.
//!
//! [`evaluate`] is a pure function of the hearing's events, the as-of instant, the calendar
//! and the rule packs. It does not know how the events arrived: the engine keeps them in
//! fold order and calls it again whenever something changes or a deadline passes.
//!
//! The same fold can also report what each event did ([`trace`]), which `explain` turns
//! into sentences; verdicts come only from [`evaluate`].
//!
//! The fold reads events through a borrowed view ([`Folded`]), so that the engine can run
//! it over its compact per-hearing storage as well as over decoded [`Event`]s.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::calendar::Calendar;
use crate::event::{Body, Event, HearingDate};
use crate::region::{Channel, Document, Form, Region};
use crate::rule::{Rule, RulePack, RulePacks};
use crate::verdict::{month_of, Finding, FindingKey, Placement, PublicationEvidence, Violation};

/// The outcome of evaluating a hearing at an instant.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// The active findings, by key.
    pub findings: BTreeMap<FindingKey, Finding>,
    /// The next instant at which the outcome can change by itself (a deadline passing or a
    /// future-stamped event becoming due), if any.
    pub next_wake: Option<DateTime<Utc>>,
    /// A deadline needs a calendar year that has no data; it stays pending until it has.
    pub waiting_for_calendar: bool,
}

/// The name of the section in which documents must be published.
pub const PUBLIC_HEARINGS_SECTION: &str = "public_hearings";

/// The local date of an instant in a zone.
pub fn local_date(at: DateTime<Utc>, zone: Tz) -> NaiveDate {
    at.with_timezone(&zone).date_naive()
}

/// The end of a local day: the next local midnight, as an instant.
pub fn end_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = (date + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    match zone.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&midnight),
    }
}

/// Sorts events into fold order: by `occurred_at`, then `event_id`.
pub fn fold_order(a: &Event, b: &Event) -> std::cmp::Ordering {
    (a.occurred_at, &a.event_id).cmp(&(b.occurred_at, &b.event_id))
}

/// Evaluates a hearing whose `events` are all of one hearing and in fold order.
pub fn evaluate(
    events: &[Event],
    as_of: DateTime<Utc>,
    calendar: &Calendar,
    packs: &RulePacks,
) -> Evaluation {
    let Some(first) = events.first() else {
        return Evaluation::default();
    };
    let who = Who::of(first);
    let folded: Vec<Folded<'_>> = events.iter().map(Folded::of).collect();
    let mut findings = Vec::new();
    let timing = evaluate_folded(&who, &folded, as_of, calendar, packs, &mut findings);
    Evaluation {
        findings: findings.into_iter().map(|f| (f.key(), f)).collect(),
        next_wake: timing.next_wake,
        waiting_for_calendar: timing.waiting_for_calendar,
    }
}

/// The hearing an evaluation is about: what every one of its events shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who<'a> {
    pub hearing_id: &'a Arc<str>,
    pub region: Region,
    pub form: Form,
}

impl<'a> Who<'a> {
    fn of(event: &'a Event) -> Who<'a> {
        Who {
            hearing_id: &event.hearing_id,
            region: event.region,
            form: event.form,
        }
    }
}

/// When an evaluation's outcome changes, besides its findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Timing {
    /// The next instant at which the outcome can change by itself.
    pub next_wake: Option<DateTime<Utc>>,
    /// A deadline needs a calendar year that has no data.
    pub waiting_for_calendar: bool,
    /// The latest instant at or before the as-of that the outcome depends on (an event
    /// that became due, a deadline that passed): evaluating at any instant from it up to
    /// the next wake gives the same outcome.
    pub settled_by: Option<DateTime<Utc>>,
}

/// The core of [`evaluate`]: appends the active findings to `out`, sorted by key, and
/// says when the outcome changes.
pub(crate) fn evaluate_folded(
    who: &Who<'_>,
    events: &[Folded<'_>],
    as_of: DateTime<Utc>,
    calendar: &Calendar,
    packs: &RulePacks,
    out: &mut Vec<Finding>,
) -> Timing {
    let due = events.partition_point(|e| e.at <= as_of);
    let next_wake = events.get(due).map(|e| e.at);
    if due == 0 {
        return Timing {
            next_wake,
            ..Timing::default()
        };
    }
    let zone = who.region.zone();
    let (receipt, pack) = receipt_and_pack(&events[..due], zone, packs);
    let fold = Fold::run(&events[..due], zone, pack, calendar, None);
    let mut ctx = Context {
        who,
        zone,
        pack,
        calendar,
        as_of,
        fold: &fold,
        events,
        next_wake,
        waiting_for_calendar: false,
        settled_by: events[due - 1].at,
        start: out.len(),
        out,
    };
    if let Some(receipt) = receipt {
        ctx.deadline(
            Document::Announcement,
            receipt,
            pack.announcement_working_days,
        );
    }
    if let Some(base) = fold.held_on.or(fold.protocol_base) {
        ctx.deadline(Document::Protocol, base, pack.protocol_working_days);
    }
    for first_publication in &fold.firsts {
        ctx.publication_rules(first_publication);
    }
    ctx.finish()
}

/// The receipt date (of the first `application_received`) and the rule pack in force then,
/// or at the first event's date when there is no receipt. `due` is not empty.
fn receipt_and_pack<'p>(
    due: &[Folded<'_>],
    zone: Tz,
    packs: &'p RulePacks,
) -> (Option<NaiveDate>, &'p RulePack) {
    let receipt = due.iter().find_map(|e| match e.step {
        Step::Received(_) => Some(local_date(e.at, zone)),
        _ => None,
    });
    let pack = packs.in_force(receipt.unwrap_or_else(|| local_date(due[0].at, zone)));
    (receipt, pack)
}

/// What folding a hearing's due events found, event by event: the material of
/// explanations. It holds no verdict.
#[derive(Debug, Clone)]
pub struct Trace<'p> {
    /// The receipt date, when there is an `application_received`.
    pub receipt: Option<NaiveDate>,
    /// The rule pack the hearing uses.
    pub pack: &'p RulePack,
    /// The protocol deadline's base from the hearing dates set and moved (before
    /// `held_on`, which wins over it).
    pub protocol_base: Option<NaiveDate>,
    /// The `held_on` that counts (the last in fold order).
    pub held_on: Option<NaiveDate>,
    /// The first cancellation's instant.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// One effect per due event, in fold order.
    pub effects: Vec<Effect>,
}

/// What one event did to the hearing when folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The first `application_received`: it sets the receipt and the rule pack, and its
    /// hearing date does what the [`DateEffect`] says.
    Receipt(DateEffect),
    /// A later `application_received`: it changes nothing.
    LaterReceipt,
    /// A `hearing_rescheduled`, with what its date did.
    Rescheduled(DateEffect),
    /// A `hearing_cancelled`; only the first counts.
    Cancelled { first: bool },
    /// A `hearing_held`; the last one counts.
    Held,
    /// An appearance of a document on a channel; only the first is its publication.
    Published { first: bool },
}

/// What a new hearing date did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateEffect {
    /// It is the hearing date in force and the protocol deadline's base; `previous` is the
    /// base it replaced.
    Set {
        date: NaiveDate,
        previous: Option<NaiveDate>,
    },
    /// It is the hearing date in force, but the protocol deadline from `base` had passed
    /// (its last day was `last_day`), so that deadline stays.
    DeadlinePassed {
        date: NaiveDate,
        base: NaiveDate,
        last_day: NaiveDate,
    },
    /// It came after the cancellation and changes nothing.
    AfterCancellation,
}

/// Folds a hearing's events (all of one hearing, in fold order) that are due at `as_of`,
/// as [`evaluate`] does, and says what each did. `None` when no event is due.
pub fn trace<'p>(
    events: &[Event],
    as_of: DateTime<Utc>,
    calendar: &Calendar,
    packs: &'p RulePacks,
) -> Option<Trace<'p>> {
    let due = &events[..events.partition_point(|e| e.occurred_at <= as_of)];
    let zone = due.first()?.region.zone();
    let due: Vec<Folded<'_>> = due.iter().map(Folded::of).collect();
    let (receipt, pack) = receipt_and_pack(&due, zone, packs);
    let mut effects = Vec::with_capacity(due.len());
    let fold = Fold::run(&due, zone, pack, calendar, Some(&mut effects));
    Some(Trace {
        receipt,
        pack,
        protocol_base: fold.protocol_base,
        held_on: fold.held_on,
        cancelled_at: fold.cancelled_at,
        effects,
    })
}

/// A document's first appearance on a channel, with the hearing date in force then.
struct FirstPublication {
    /// Its index among the folded events.
    event: usize,
    document: Document,
    channel: Channel,
    hearing_on: Option<NaiveDate>,
}

/// The state of a hearing after folding its due events.
struct Fold {
    /// The base date of the protocol deadline from the dates set and moved so far.
    protocol_base: Option<NaiveDate>,
    held_on: Option<NaiveDate>,
    cancelled_at: Option<DateTime<Utc>>,
    /// At most one per document and channel, in the order they appeared.
    firsts: Vec<FirstPublication>,
}

impl Fold {
    /// Folds `events`; with `effects`, records what each one did.
    fn run(
        events: &[Folded<'_>],
        zone: Tz,
        pack: &RulePack,
        calendar: &Calendar,
        mut effects: Option<&mut Vec<Effect>>,
    ) -> Fold {
        let mut fold = Fold {
            protocol_base: None,
            held_on: None,
            cancelled_at: None,
            firsts: Vec::with_capacity(4),
        };
        let mut hearing_on = None;
        let mut received = false;
        for (index, event) in events.iter().enumerate() {
            let at = event.at;
            let effect = match &event.step {
                Step::Received(date) if !received => {
                    received = true;
                    let set = fold.set_date(*date, at, zone, pack, calendar, &mut hearing_on);
                    Effect::Receipt(set)
                }
                Step::Received(_) => Effect::LaterReceipt,
                Step::Rescheduled(date) => Effect::Rescheduled(fold.set_date(
                    *date,
                    at,
                    zone,
                    pack,
                    calendar,
                    &mut hearing_on,
                )),
                Step::Cancelled => {
                    let first = fold.cancelled_at.is_none();
                    fold.cancelled_at.get_or_insert(at);
                    Effect::Cancelled { first }
                }
                Step::Held(held_on) => {
                    fold.held_on = Some(*held_on);
                    Effect::Held
                }
                Step::Published(p) => {
                    let first = fold.first(p.document, p.channel).is_none();
                    if first {
                        fold.firsts.push(FirstPublication {
                            event: index,
                            document: p.document,
                            channel: p.channel,
                            hearing_on,
                        });
                    }
                    Effect::Published { first }
                }
            };
            if let Some(effects) = effects.as_deref_mut() {
                effects.push(effect);
            }
        }
        fold
    }

    /// The first publication of a document on a channel.
    fn first(&self, document: Document, channel: Channel) -> Option<&FirstPublication> {
        self.firsts
            .iter()
            .find(|f| f.document == document && f.channel == channel)
    }

    /// A new hearing date: it moves the protocol deadline unless that deadline has passed
    /// already; after a cancellation nothing moves.
    fn set_date(
        &mut self,
        date: HearingDate,
        at: DateTime<Utc>,
        zone: Tz,
        pack: &RulePack,
        calendar: &Calendar,
        hearing_on: &mut Option<NaiveDate>,
    ) -> DateEffect {
        if self.cancelled_at.is_some() {
            return DateEffect::AfterCancellation;
        }
        let date = match date {
            HearingDate::MeetingAt(t) => local_date(t, zone),
            HearingDate::DiscussionEndsOn(d) => d,
        };
        *hearing_on = Some(date);
        let passed = self.protocol_base.and_then(|base| {
            let last = calendar.nth_working_day_after(base, pack.protocol_working_days)?;
            (end_of_day(last, zone) <= at).then_some((base, last))
        });
        match passed {
            Some((base, last_day)) => DateEffect::DeadlinePassed {
                date,
                base,
                last_day,
            },
            None => DateEffect::Set {
                date,
                previous: self.protocol_base.replace(date),
            },
        }
    }
}

/// What the rules of one evaluation need, and where they write.
struct Context<'a, 'e> {
    who: &'a Who<'a>,
    zone: Tz,
    pack: &'a RulePack,
    calendar: &'a Calendar,
    as_of: DateTime<Utc>,
    fold: &'a Fold,
    events: &'a [Folded<'e>],
    next_wake: Option<DateTime<Utc>>,
    waiting_for_calendar: bool,
    settled_by: DateTime<Utc>,
    /// Where this evaluation's findings start in `out`.
    start: usize,
    out: &'a mut Vec<Finding>,
}

impl Context<'_, '_> {
    fn form(&self) -> Form {
        self.who.form
    }

    /// Sorts the findings by key; a key found twice keeps its last finding.
    fn finish(self) -> Timing {
        let mine = &mut self.out[self.start..];
        mine.sort_by_key(Finding::key);
        let mut keep = self.start;
        for i in self.start..self.out.len() {
            if i + 1 < self.out.len() && self.out[i].key() == self.out[i + 1].key() {
                continue;
            }
            self.out.swap(keep, i);
            keep += 1;
        }
        self.out.truncate(keep);
        Timing {
            next_wake: self.next_wake,
            waiting_for_calendar: self.waiting_for_calendar,
            settled_by: Some(self.settled_by),
        }
    }

    /// The deadline rules of a document whose deadline is `n` working days after `base`.
    fn deadline(&mut self, document: Document, base: NaiveDate, n: u32) {
        let (missing, late) = Rule::deadline_rules(document);
        if !self.pack.applies(missing, self.form()) && !self.pack.applies(late, self.form()) {
            return;
        }
        let Some(last) = self.calendar.nth_working_day_after(base, n) else {
            self.waiting_for_calendar = true;
            return;
        };
        let deadline_at = end_of_day(last, self.zone);
        if self.fold.cancelled_at.is_some_and(|c| c < deadline_at) {
            return;
        }
        if self.as_of < deadline_at {
            self.wake_at(deadline_at);
            return;
        }
        self.settled_by = self.settled_by.max(deadline_at);
        for &channel in Channel::ALL {
            let first = self.fold.first(document, channel);
            let rule = match first {
                None => missing,
                Some(f) if local_date(self.events[f.event].at, self.zone) > last => late,
                Some(_) => continue,
            };
            if self.pack.applies(rule, self.form()) {
                let published = first.map(|f| self.evidence(f));
                self.violation(rule, document, channel, last, published, |v| {
                    v.deadline_on = Some(last);
                    v.deadline_at = Some(deadline_at);
                    v.hearing_on = (document == Document::Protocol).then_some(base);
                });
            }
        }
    }

    /// The placement and the publication rules of a document's first appearance.
    fn publication_rules(&mut self, first: &FirstPublication) {
        let Step::Published(p) = &self.events[first.event].step else {
            unreachable!("a first publication is a publication");
        };
        let evidence = self.evidence(first);
        let published_on = evidence.published_on;
        let (backdated, undated) = Rule::dating_rules(p.document);
        let mut broken = [None; 4];
        if p.section.as_str() != PUBLIC_HEARINGS_SECTION {
            broken[0] = Some(Rule::SectionMismatch);
        }
        match p.declared_on {
            None => broken[1] = Some(undated),
            Some(declared) if declared < published_on => broken[1] = Some(backdated),
            Some(_) => {}
        }
        let notice = first.hearing_on.map(|h| (h - published_on).num_days());
        if p.document == Document::Announcement
            && notice.is_some_and(|days| days < self.pack.short_notice_calendar_days)
        {
            broken[2] = Some(Rule::AnnouncementShortNotice);
        }
        if p.document == Document::Protocol && p.has_recording == Some(false) {
            broken[3] = Some(Rule::ProtocolNoRecording);
        }
        for rule in broken.into_iter().flatten() {
            if self.pack.applies(rule, self.form()) {
                let hearing_on = first.hearing_on;
                self.violation(
                    rule,
                    p.document,
                    p.channel,
                    published_on,
                    Some(evidence.clone()),
                    |v| {
                        v.hearing_on = hearing_on.filter(|_| rule == Rule::AnnouncementShortNotice);
                    },
                );
            }
        }
        self.out.push(Finding::Placement(Placement {
            hearing_id: self.who.hearing_id.clone(),
            region: self.who.region,
            form: self.form(),
            document: p.document,
            channel: p.channel,
            month: month_of(published_on),
            published: evidence,
        }));
    }

    fn evidence(&self, first: &FirstPublication) -> PublicationEvidence {
        let event = &self.events[first.event];
        let Step::Published(p) = &event.step else {
            unreachable!("a first publication is a publication");
        };
        PublicationEvidence {
            event_id: event.id.to_arc(),
            published_at: event.at,
            published_on: local_date(event.at, self.zone),
            declared_on: p.declared_on,
            section: p.section.to_arc(),
            url: p.url.map(|u| u.to_arc(self.who.hearing_id)),
        }
    }

    fn violation(
        &mut self,
        rule: Rule,
        document: Document,
        channel: Channel,
        counted_on: NaiveDate,
        published: Option<PublicationEvidence>,
        fill: impl FnOnce(&mut Violation),
    ) {
        let mut violation = Violation {
            hearing_id: self.who.hearing_id.clone(),
            region: self.who.region,
            form: self.form(),
            rule,
            document,
            channel,
            month: month_of(counted_on),
            deadline_on: None,
            deadline_at: None,
            published,
            hearing_on: None,
        };
        fill(&mut violation);
        self.out.push(Finding::Violation(violation));
    }

    fn wake_at(&mut self, at: DateTime<Utc>) {
        self.next_wake = Some(self.next_wake.map_or(at, |w| w.min(at)));
    }
}

thread_local! {
    /// Where a URL is put together before it is copied into its one allocation.
    static URL: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// An event as the fold reads it, borrowed from wherever the events are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Folded<'a> {
    pub at: DateTime<Utc>,
    pub id: IdRef<'a>,
    pub step: Step<'a>,
}

/// What an event does, as the fold reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step<'a> {
    Received(HearingDate),
    Rescheduled(HearingDate),
    Cancelled,
    Held(NaiveDate),
    Published(PublishedRef<'a>),
}

/// A publication, as the fold reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublishedRef<'a> {
    pub document: Document,
    pub channel: Channel,
    pub declared_on: Option<NaiveDate>,
    pub has_recording: Option<bool>,
    pub section: TextRef<'a>,
    pub url: Option<UrlRef<'a>>,
}

/// An event id: shared text, or a UUID kept as its 128-bit value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdRef<'a> {
    Shared(&'a Arc<str>),
    Plain(&'a str),
    Uuid(u128),
}

/// Text that is shared already, or borrowed and copied when a finding needs it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TextRef<'a> {
    Shared(&'a Arc<str>),
    Plain(&'a str),
}

/// A URL, whole or as the text around the hearing id it contains.
#[derive(Debug, Clone, Copy)]
pub(crate) enum UrlRef<'a> {
    Whole(TextRef<'a>),
    AroundId { before: &'a str, after: &'a str },
}

impl<'a> Folded<'a> {
    /// The view of a decoded event.
    pub fn of(event: &'a Event) -> Folded<'a> {
        let step = match &event.body {
            Body::ApplicationReceived(date) => Step::Received(*date),
            Body::Rescheduled(date) => Step::Rescheduled(*date),
            Body::Cancelled => Step::Cancelled,
            Body::Held { held_on } => Step::Held(*held_on),
            Body::Published(p) => Step::Published(PublishedRef {
                document: p.document,
                channel: p.channel,
                declared_on: p.declared_on,
                has_recording: p.has_recording,
                section: TextRef::Shared(&p.section),
                url: p.url.as_ref().map(|u| UrlRef::Whole(TextRef::Shared(u))),
            }),
        };
        Folded {
            at: event.occurred_at,
            id: IdRef::Shared(&event.event_id),
            step,
        }
    }
}

impl IdRef<'_> {
    pub fn to_arc(self) -> Arc<str> {
        match self {
            IdRef::Shared(id) => id.clone(),
            IdRef::Plain(id) => Arc::from(id),
            IdRef::Uuid(value) => {
                let text = crate::event::uuid_bytes(value);
                Arc::from(std::str::from_utf8(&text).expect("hex digits and hyphens"))
            }
        }
    }
}

impl<'a> TextRef<'a> {
    pub fn as_str(self) -> &'a str {
        match self {
            TextRef::Shared(s) => s,
            TextRef::Plain(s) => s,
        }
    }

    pub fn to_arc(self) -> Arc<str> {
        match self {
            TextRef::Shared(s) => s.clone(),
            TextRef::Plain(s) => Arc::from(s),
        }
    }
}

impl UrlRef<'_> {
    /// The URL's text; `hearing_id` fills the place of the id in a URL kept around it.
    pub fn to_arc(self, hearing_id: &str) -> Arc<str> {
        match self {
            UrlRef::Whole(text) => text.to_arc(),
            UrlRef::AroundId { before, after } => URL.with_borrow_mut(|url| {
                url.clear();
                url.push_str(before);
                url.push_str(hearing_id);
                url.push_str(after);
                Arc::from(url.as_str())
            }),
        }
    }
}
