//! The streaming engine: every hearing's events and findings, and the timers between them.
//!
//! Events arrive in any order and any number of times; the engine keeps each hearing's
//! distinct events in fold order and re-evaluates the hearing when one arrives or when its
//! next deadline passes on the engine's clock. It returns the findings that changed, which
//! the caller writes wherever it likes. It does no I/O and reads no wall clock.
//!
//! Its state can be saved and restored ([`Engine::snapshot`], [`Engine::restore`]); the
//! format lives in the `snapshot` submodule.

mod snapshot;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::calendar::Calendar;
use crate::event::{DlqReason, Event};
use crate::hearing::{evaluate, fold_order};
use crate::region::{Form, Region};
use crate::rule::RulePacks;
use crate::verdict::{Change, Finding, FindingKey};

pub use snapshot::{SnapshotError, SNAPSHOT_FORMAT};

/// What became of an ingested event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new event of its hearing.
    Applied,
    /// The same event was seen before; it changes nothing.
    Duplicate,
    /// The event contradicts the hearing's earlier events and belongs in the dead-letter topic.
    Rejected { reason: DlqReason, detail: String },
}

/// What moving the clock did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Advance {
    /// The findings that changed.
    pub changes: Vec<Change>,
    /// The instants of the timers that fired, one per hearing woken.
    pub fired: Vec<DateTime<Utc>>,
}

/// The state of one hearing.
#[derive(Debug, Clone)]
struct Hearing {
    region: Region,
    form: Form,
    /// Distinct events in fold order.
    events: Vec<Event>,
    findings: BTreeMap<FindingKey, Finding>,
    wake: Option<DateTime<Utc>>,
    waiting_for_calendar: bool,
}

/// Hearings, their findings and their timers, driven by events and a clock.
#[derive(Debug, Clone)]
pub struct Engine {
    calendar: Arc<Calendar>,
    packs: Arc<RulePacks>,
    clock: DateTime<Utc>,
    hearings: HashMap<Arc<str>, Hearing>,
    timers: BTreeSet<(DateTime<Utc>, Arc<str>)>,
    /// While holding, ingested hearings wait here instead of being evaluated.
    held: Option<HashSet<Arc<str>>>,
}

impl Engine {
    /// An empty engine whose clock stands at `clock`.
    pub fn new(calendar: Arc<Calendar>, packs: Arc<RulePacks>, clock: DateTime<Utc>) -> Engine {
        Engine {
            calendar,
            packs,
            clock,
            hearings: HashMap::new(),
            timers: BTreeSet::new(),
            held: None,
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> DateTime<Utc> {
        self.clock
    }

    /// Stops evaluating: events are stored and their hearings evaluated on [`Engine::release`].
    /// A processor holds a partition while it reads the partition's backlog, so that due
    /// deadlines do not fire before the events that would meet them are in.
    pub fn hold(&mut self) {
        self.held.get_or_insert_with(HashSet::new);
    }

    /// Whether the engine is holding.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }

    /// Evaluates every hearing that changed while holding, and resumes evaluating. Timers
    /// that came due while holding fire at the next [`Engine::advance_to`].
    pub fn release(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut held: Vec<_> = self.held.take().unwrap_or_default().into_iter().collect();
        held.sort();
        for id in held {
            self.reevaluate(&id, &mut changes);
        }
        changes
    }

    /// Takes in one event.
    pub fn ingest(&mut self, event: Event) -> (Outcome, Vec<Change>) {
        let id = event.hearing_id.clone();
        let hearing = self.hearings.entry(id.clone()).or_insert_with(|| Hearing {
            region: event.region,
            form: event.form,
            events: Vec::new(),
            findings: BTreeMap::new(),
            wake: None,
            waiting_for_calendar: false,
        });
        if hearing.region != event.region || hearing.form != event.form {
            let detail = format!(
                "hearing {id} is {} in {}, this event says {} in {}",
                hearing.form, hearing.region, event.form, event.region
            );
            return (
                Outcome::Rejected {
                    reason: DlqReason::ConflictingHearing,
                    detail,
                },
                Vec::new(),
            );
        }
        if let Some(seen) = hearing.events.iter().find(|e| e.event_id == event.event_id) {
            if *seen == event {
                return (Outcome::Duplicate, Vec::new());
            }
            let detail = format!(
                "event {} of hearing {id} was seen with another payload",
                event.event_id
            );
            return (
                Outcome::Rejected {
                    reason: DlqReason::ConflictingDuplicate,
                    detail,
                },
                Vec::new(),
            );
        }
        let at = hearing
            .events
            .partition_point(|e| fold_order(e, &event).is_lt());
        hearing.events.insert(at, event);
        let mut changes = Vec::new();
        match &mut self.held {
            Some(held) => {
                held.insert(id);
            }
            None => self.reevaluate(&id, &mut changes),
        }
        (Outcome::Applied, changes)
    }

    /// Moves the clock forward to `now` (never back) and fires the timers that are due.
    /// While holding, the clock moves but nothing fires.
    pub fn advance_to(&mut self, now: DateTime<Utc>) -> Advance {
        self.clock = self.clock.max(now);
        let mut advance = Advance::default();
        if self.held.is_some() {
            return advance;
        }
        while let Some((at, id)) = self.timers.first().cloned() {
            if at > self.clock {
                break;
            }
            self.timers.remove(&(at, id.clone()));
            advance.fired.push(at);
            self.reevaluate(&id, &mut advance.changes);
        }
        advance
    }

    /// Replaces the calendar and re-evaluates every hearing with it.
    pub fn set_calendar(&mut self, calendar: Arc<Calendar>) -> Vec<Change> {
        self.calendar = calendar;
        let mut ids: Vec<_> = self.hearings.keys().cloned().collect();
        ids.sort();
        let mut changes = Vec::new();
        for id in ids {
            match &mut self.held {
                Some(held) => {
                    held.insert(id);
                }
                None => self.reevaluate(&id, &mut changes),
            }
        }
        changes
    }

    /// The active findings of every hearing.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.hearings.values().flat_map(|h| h.findings.values())
    }

    /// How many hearings the engine keeps.
    pub fn hearing_count(&self) -> usize {
        self.hearings.len()
    }

    /// How many hearings wait for a timer.
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// How many hearings have a deadline that needs a calendar year with no data.
    pub fn waiting_for_calendar(&self) -> usize {
        self.hearings
            .values()
            .filter(|h| h.waiting_for_calendar)
            .count()
    }

    /// The earliest pending timer, if any.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// The events of one hearing, in fold order.
    pub fn events_of(&self, hearing_id: &str) -> Option<&[Event]> {
        self.hearings.get(hearing_id).map(|h| h.events.as_slice())
    }

    fn reevaluate(&mut self, id: &Arc<str>, changes: &mut Vec<Change>) {
        let Some(hearing) = self.hearings.get_mut(id) else {
            return;
        };
        let evaluation = evaluate(&hearing.events, self.clock, &self.calendar, &self.packs);
        diff(&hearing.findings, &evaluation.findings, changes);
        hearing.findings = evaluation.findings;
        hearing.waiting_for_calendar = evaluation.waiting_for_calendar;
        if let Some(old) = hearing.wake.take() {
            self.timers.remove(&(old, id.clone()));
        }
        if let Some(wake) = evaluation.next_wake {
            hearing.wake = Some(wake);
            self.timers.insert((wake, id.clone()));
        }
    }
}

/// Appends to `changes` what turns `old` into `new`: retractions, then emissions.
fn diff(
    old: &BTreeMap<FindingKey, Finding>,
    new: &BTreeMap<FindingKey, Finding>,
    changes: &mut Vec<Change>,
) {
    for (key, finding) in old {
        if !new.contains_key(key) {
            changes.push(Change {
                finding: finding.clone(),
                active: false,
            });
        }
    }
    for (key, finding) in new {
        if old.get(key) != Some(finding) {
            changes.push(Change {
                finding: finding.clone(),
                active: true,
            });
        }
    }
}
