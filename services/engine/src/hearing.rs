//! Evaluating one hearing: its events, folded in order, give its active findings.
//!
//! [`evaluate`] is a pure function of the hearing's events, the as-of instant, the calendar
//! and the rule packs. It does not know how the events arrived: the engine keeps them in
//! fold order and calls it again whenever something changes or a deadline passes.
//!
//! The same fold can also report what each event did ([`trace`]), which `explain` turns
//! into sentences; verdicts come only from [`evaluate`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::calendar::Calendar;
use crate::event::{Body, Event, HearingDate, Publication};
use crate::region::{Channel, Document, Form};
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
    let due = events.partition_point(|e| e.occurred_at <= as_of);
    let mut evaluation = Evaluation {
        next_wake: events.get(due).map(|e| e.occurred_at),
        ..Evaluation::default()
    };
    let Some(first) = events[..due].first() else {
        return evaluation;
    };
    let zone = first.region.zone();
    let (receipt, pack) = receipt_and_pack(&events[..due], zone, packs);
    let fold = Fold::run(&events[..due], zone, pack, calendar, None);
    let mut ctx = Context {
        first,
        zone,
        pack,
        calendar,
        as_of,
        fold: &fold,
        out: &mut evaluation,
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
    for first_publication in fold.firsts.values() {
        ctx.publication_rules(first_publication);
    }
    evaluation
}

/// The receipt date (of the first `application_received`) and the rule pack in force then,
/// or at the first event's date when there is no receipt. `due` is not empty.
fn receipt_and_pack<'p>(
    due: &[Event],
    zone: Tz,
    packs: &'p RulePacks,
) -> (Option<NaiveDate>, &'p RulePack) {
    let receipt = due.iter().find_map(|e| match e.body {
        Body::ApplicationReceived(_) => Some(local_date(e.occurred_at, zone)),
        _ => None,
    });
    let pack = packs.in_force(receipt.unwrap_or_else(|| local_date(due[0].occurred_at, zone)));
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
    let (receipt, pack) = receipt_and_pack(due, zone, packs);
    let mut effects = Vec::with_capacity(due.len());
    let fold = Fold::run(due, zone, pack, calendar, Some(&mut effects));
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
struct FirstPublication<'a> {
    event: &'a Event,
    publication: &'a Publication,
    hearing_on: Option<NaiveDate>,
}

/// The state of a hearing after folding its due events.
struct Fold<'a> {
    /// The base date of the protocol deadline from the dates set and moved so far.
    protocol_base: Option<NaiveDate>,
    held_on: Option<NaiveDate>,
    cancelled_at: Option<DateTime<Utc>>,
    firsts: BTreeMap<(Document, Channel), FirstPublication<'a>>,
}

impl<'a> Fold<'a> {
    /// Folds `events`; with `effects`, records what each one did.
    fn run(
        events: &'a [Event],
        zone: Tz,
        pack: &RulePack,
        calendar: &Calendar,
        mut effects: Option<&mut Vec<Effect>>,
    ) -> Fold<'a> {
        let mut fold = Fold {
            protocol_base: None,
            held_on: None,
            cancelled_at: None,
            firsts: BTreeMap::new(),
        };
        let mut hearing_on = None;
        let mut received = false;
        for event in events {
            let at = event.occurred_at;
            let effect = match &event.body {
                Body::ApplicationReceived(date) if !received => {
                    received = true;
                    let set = fold.set_date(*date, at, zone, pack, calendar, &mut hearing_on);
                    Effect::Receipt(set)
                }
                Body::ApplicationReceived(_) => Effect::LaterReceipt,
                Body::Rescheduled(date) => Effect::Rescheduled(fold.set_date(
                    *date,
                    at,
                    zone,
                    pack,
                    calendar,
                    &mut hearing_on,
                )),
                Body::Cancelled => {
                    let first = fold.cancelled_at.is_none();
                    fold.cancelled_at.get_or_insert(at);
                    Effect::Cancelled { first }
                }
                Body::Held { held_on } => {
                    fold.held_on = Some(*held_on);
                    Effect::Held
                }
                Body::Published(publication) => {
                    let key = (publication.document, publication.channel);
                    let first = !fold.firsts.contains_key(&key);
                    fold.firsts.entry(key).or_insert(FirstPublication {
                        event,
                        publication,
                        hearing_on,
                    });
                    Effect::Published { first }
                }
            };
            if let Some(effects) = effects.as_deref_mut() {
                effects.push(effect);
            }
        }
        fold
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
struct Context<'a> {
    first: &'a Event,
    zone: Tz,
    pack: &'a RulePack,
    calendar: &'a Calendar,
    as_of: DateTime<Utc>,
    fold: &'a Fold<'a>,
    out: &'a mut Evaluation,
}

impl Context<'_> {
    fn form(&self) -> Form {
        self.first.form
    }

    /// The deadline rules of a document whose deadline is `n` working days after `base`.
    fn deadline(&mut self, document: Document, base: NaiveDate, n: u32) {
        let (missing, late) = Rule::deadline_rules(document);
        if !self.pack.applies(missing, self.form()) && !self.pack.applies(late, self.form()) {
            return;
        }
        let Some(last) = self.calendar.nth_working_day_after(base, n) else {
            self.out.waiting_for_calendar = true;
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
        for &channel in Channel::ALL {
            let rule = match self.fold.firsts.get(&(document, channel)) {
                None => missing,
                Some(f) if local_date(f.event.occurred_at, self.zone) > last => late,
                Some(_) => continue,
            };
            if self.pack.applies(rule, self.form()) {
                let published = self
                    .fold
                    .firsts
                    .get(&(document, channel))
                    .map(|f| self.evidence(f));
                self.violation(rule, document, channel, last, published, |v| {
                    v.deadline_on = Some(last);
                    v.deadline_at = Some(deadline_at);
                    v.hearing_on = (document == Document::Protocol).then_some(base);
                });
            }
        }
    }

    /// The placement and the publication rules of a document's first appearance.
    fn publication_rules(&mut self, first: &FirstPublication<'_>) {
        let p = first.publication;
        let evidence = self.evidence(first);
        let published_on = evidence.published_on;
        self.out.findings.insert(
            FindingKey::Placement {
                document: p.document,
                channel: p.channel,
            },
            Finding::Placement(Placement {
                hearing_id: self.first.hearing_id.clone(),
                region: self.first.region,
                form: self.form(),
                document: p.document,
                channel: p.channel,
                month: month_of(published_on),
                published: evidence.clone(),
            }),
        );
        let (backdated, undated) = Rule::dating_rules(p.document);
        let mut broken = Vec::new();
        if &*p.section != PUBLIC_HEARINGS_SECTION {
            broken.push(Rule::SectionMismatch);
        }
        match p.declared_on {
            None => broken.push(undated),
            Some(declared) if declared < published_on => broken.push(backdated),
            Some(_) => {}
        }
        let notice = first.hearing_on.map(|h| (h - published_on).num_days());
        if p.document == Document::Announcement
            && notice.is_some_and(|days| days < self.pack.short_notice_calendar_days)
        {
            broken.push(Rule::AnnouncementShortNotice);
        }
        if p.document == Document::Protocol && p.has_recording == Some(false) {
            broken.push(Rule::ProtocolNoRecording);
        }
        for rule in broken {
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
    }

    fn evidence(&self, first: &FirstPublication<'_>) -> PublicationEvidence {
        let p = first.publication;
        PublicationEvidence {
            event_id: first.event.event_id.clone(),
            published_at: first.event.occurred_at,
            published_on: local_date(first.event.occurred_at, self.zone),
            declared_on: p.declared_on,
            section: p.section.clone(),
            url: p.url.clone(),
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
            hearing_id: self.first.hearing_id.clone(),
            region: self.first.region,
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
        self.out.findings.insert(
            FindingKey::Violation {
                rule,
                document,
                channel,
            },
            Finding::Violation(violation),
        );
    }

    fn wake_at(&mut self, at: DateTime<Utc>) {
        self.out.next_wake = Some(self.out.next_wake.map_or(at, |w| w.min(at)));
    }
}
