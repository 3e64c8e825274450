//! The streaming engine: every hearing's events and findings, and the timers between them.
//!
//! Events arrive in any order and any number of times; the engine keeps each hearing's
//! distinct events in fold order and re-evaluates the hearing when one arrives or when its
//! next deadline passes on the engine's clock. It returns the findings that changed, which
//! the caller writes wherever it likes. It does no I/O and reads no wall clock.
//!
//! A hearing's events are kept compactly (the `store` submodule), and its findings are not
//! kept at all: a hearing's outcome cannot change by itself before its next wake, so the
//! findings of its last evaluation are those of evaluating it again at any instant before
//! that wake. The engine evaluates a hearing again to learn what it held before a change,
//! except while holding, when it keeps the findings of the hearings it holds.
//!
//! Its state can be saved and restored ([`Engine::snapshot`], [`Engine::restore`]); the
//! format lives in the `snapshot` submodule.

mod snapshot;
mod store;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::calendar::Calendar;
use crate::event::{DlqReason, Event};
use crate::hearing::{evaluate_folded, Timing, Who};
use crate::region::{Form, Region};
use crate::rule::{Rule, RulePacks};
use crate::verdict::{Change, Finding};
use store::{FastHash, Plan, Strings};

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

impl Outcome {
    /// The rejection of an event that puts a hearing known as `form` in `region` in
    /// another form or region.
    pub(crate) fn conflicting_hearing(form: Form, region: Region, event: &Event) -> Outcome {
        let detail = format!(
            "hearing {} is {form} in {region}, this event says {} in {}",
            event.hearing_id, event.form, event.region
        );
        Outcome::Rejected {
            reason: DlqReason::ConflictingHearing,
            detail,
        }
    }

    /// The rejection of an event whose id was seen with another payload.
    pub(crate) fn conflicting_duplicate(event: &Event) -> Outcome {
        let detail = format!(
            "event {} of hearing {} was seen with another payload",
            event.event_id, event.hearing_id
        );
        Outcome::Rejected {
            reason: DlqReason::ConflictingDuplicate,
            detail,
        }
    }
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
    id: Arc<str>,
    region: Region,
    form: Form,
    /// Its next wake, which has a timer.
    wake: Option<DateTime<Utc>>,
    waiting_for_calendar: bool,
    /// Changed while holding, and not evaluated since.
    held: bool,
    /// Its distinct events, as `store` keeps them.
    log: Box<[u8]>,
}

/// What the engine keeps while holding.
#[derive(Debug, Clone, Default)]
struct Held {
    /// The hearings changed meanwhile, in the order they were first changed.
    order: Vec<u32>,
    /// The findings those that were evaluated before had then.
    before: HashMap<u32, Vec<Finding>, FastHash>,
}

/// Hearings, their findings and their timers, driven by events and a clock.
#[derive(Debug, Clone)]
pub struct Engine {
    calendar: Arc<Calendar>,
    packs: Arc<RulePacks>,
    clock: DateTime<Utc>,
    /// Hearings by number, in the order they were first seen; never removed.
    hearings: Vec<Hearing>,
    numbers: HashMap<Arc<str>, u32, FastHash>,
    timers: BTreeSet<(DateTime<Utc>, u32)>,
    held: Option<Held>,
    strings: Strings,
    /// Active violations by rule and region, kept up to date with every change.
    violations: BTreeMap<(Rule, Region), u64>,
    /// The latest instant any evaluation kept depends on: the clock can be set back to
    /// any instant from it on without changing a finding ([`Engine::rewind`]).
    settled_by: Option<DateTime<Utc>>,
}

impl Engine {
    /// An empty engine whose clock stands at `clock`.
    pub fn new(calendar: Arc<Calendar>, packs: Arc<RulePacks>, clock: DateTime<Utc>) -> Engine {
        Engine {
            calendar,
            packs,
            clock,
            hearings: Vec::new(),
            numbers: HashMap::default(),
            timers: BTreeSet::new(),
            held: None,
            strings: Strings::default(),
            violations: BTreeMap::new(),
            settled_by: None,
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> DateTime<Utc> {
        self.clock
    }

    /// Sets the clock back to `to`, when nothing the engine decided depends on an instant
    /// after it; otherwise leaves it and returns that instant.
    ///
    /// A processor restarted with `--now` restores a snapshot whose clock ran on a little
    /// past its own start; when no event came due and no deadline passed in between, the
    /// state is the same at either clock, and the processor continues from the snapshot.
    pub fn rewind(&mut self, to: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        match self.settled_by {
            Some(settled) if settled > to => Err(settled),
            _ => {
                self.clock = self.clock.min(to);
                Ok(())
            }
        }
    }

    /// Stops evaluating: events are stored and their hearings evaluated on [`Engine::release`].
    /// A processor holds a partition while it reads the partition's backlog, so that due
    /// deadlines do not fire before the events that would meet them are in.
    pub fn hold(&mut self) {
        self.held.get_or_insert_with(Held::default);
    }

    /// Whether the engine is holding.
    pub fn is_holding(&self) -> bool {
        self.held.is_some()
    }

    /// Evaluates every hearing that changed while holding, and resumes evaluating. Timers
    /// that came due while holding fire at the next [`Engine::advance_to`].
    pub fn release(&mut self) -> Vec<Change> {
        let Some(mut held) = self.held.take() else {
            return Vec::new();
        };
        // A hearing has a few findings; reserving for them spares copying every finding
        // again each time the vector would double.
        let mut changes = Vec::with_capacity(held.order.len() * 4);
        for n in held.order {
            let before = held.before.remove(&n).unwrap_or_default();
            self.hearings[n as usize].held = false;
            self.reevaluate(n, before, &mut changes);
        }
        changes
    }

    /// Takes in one event.
    pub fn ingest(&mut self, event: Event) -> (Outcome, Vec<Change>) {
        let count = self.hearings.len();
        let (n, new) = match self.numbers.entry(event.hearing_id.clone()) {
            Entry::Occupied(known) => (*known.get(), false),
            Entry::Vacant(slot) => {
                let n = u32::try_from(count).expect("fewer than 2^32 hearings");
                slot.insert(n);
                self.hearings.push(Hearing {
                    id: event.hearing_id.clone(),
                    region: event.region,
                    form: event.form,
                    wake: None,
                    waiting_for_calendar: false,
                    held: false,
                    log: Box::default(),
                });
                (n, true)
            }
        };
        let hearing = &self.hearings[n as usize];
        if hearing.region != event.region || hearing.form != event.form {
            let rejected = Outcome::conflicting_hearing(hearing.form, hearing.region, &event);
            return (rejected, Vec::new());
        }
        let (range, bytes) = match store::plan(&hearing.log, &event, &mut self.strings) {
            Plan::Duplicate => return (Outcome::Duplicate, Vec::new()),
            Plan::Conflicting => return (Outcome::conflicting_duplicate(&event), Vec::new()),
            Plan::Insert { range, bytes } => (range, bytes),
        };
        // What the hearing held before this event, unless a hold keeps it already.
        let before = match &self.held {
            Some(_) if hearing.held || new => None,
            _ if new => Some(Vec::new()),
            _ => Some(self.current_findings(n)),
        };
        let hearing = &mut self.hearings[n as usize];
        let old = &hearing.log;
        let mut log = Vec::with_capacity(old.len() - range.len() + bytes.len());
        log.extend_from_slice(&old[..range.start]);
        log.extend_from_slice(&bytes);
        log.extend_from_slice(&old[range.end..]);
        hearing.log = log.into_boxed_slice();
        let mut changes = Vec::new();
        match (&mut self.held, before) {
            (Some(held), before) => {
                if !hearing.held {
                    hearing.held = true;
                    held.order.push(n);
                    if let Some(before) = before.filter(|_| !new) {
                        held.before.insert(n, before);
                    }
                }
            }
            (None, before) => {
                let before = before.expect("computed when not holding");
                self.reevaluate(n, before, &mut changes);
            }
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
        while let Some(&(at, n)) = self.timers.first() {
            if at > self.clock {
                break;
            }
            let before = self.findings_at(n, at - Duration::nanoseconds(1));
            advance.fired.push(at);
            self.reevaluate(n, before, &mut advance.changes);
        }
        advance
    }

    /// Replaces the calendar and re-evaluates every hearing with it.
    pub fn set_calendar(&mut self, calendar: Arc<Calendar>) -> Vec<Change> {
        let packs = self.packs.clone();
        self.set_data(calendar, packs)
    }

    /// Replaces the calendar and the rule packs and re-evaluates every hearing with them.
    /// While holding, the hearings are evaluated on release instead.
    fn set_data(&mut self, calendar: Arc<Calendar>, packs: Arc<RulePacks>) -> Vec<Change> {
        let old_calendar = std::mem::replace(&mut self.calendar, calendar);
        let old_packs = std::mem::replace(&mut self.packs, packs);
        let mut changes = Vec::new();
        for n in 0..self.hearings.len() as u32 {
            if self.hearings[n as usize].held {
                continue;
            }
            let mut before = Vec::new();
            let as_of = self.settled_instant(n);
            self.evaluate(n, as_of, &old_calendar, &old_packs, &mut before);
            match &mut self.held {
                Some(held) => {
                    self.hearings[n as usize].held = true;
                    held.order.push(n);
                    held.before.insert(n, before);
                }
                None => self.reevaluate(n, before, &mut changes),
            }
        }
        changes
    }

    /// The active findings of every hearing, as its last evaluation found them.
    ///
    /// The engine does not keep findings, so this evaluates every hearing: it is for
    /// reports and for reconciling, not for every event.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        for n in 0..self.hearings.len() as u32 {
            out.extend(self.current_findings(n));
        }
        out
    }

    /// The active findings of the hearings named, as their last evaluations found them;
    /// names the engine does not know are skipped.
    pub fn findings_of(&self, hearing_ids: &[Arc<str>]) -> Vec<Finding> {
        let mut out = Vec::new();
        for id in hearing_ids {
            if let Some(&n) = self.numbers.get(id) {
                out.extend(self.current_findings(n));
            }
        }
        out
    }

    /// Every hearing the engine keeps, in the order it first saw them.
    pub fn hearing_ids(&self) -> Vec<Arc<str>> {
        self.hearings.iter().map(|h| h.id.clone()).collect()
    }

    /// The hearings changed while holding, which [`Engine::release`] will evaluate.
    pub fn held_hearings(&self) -> Vec<Arc<str>> {
        self.held.as_ref().map_or_else(Vec::new, |held| {
            held.order
                .iter()
                .map(|&n| self.hearings[n as usize].id.clone())
                .collect()
        })
    }

    /// The hearings whose timer is due by `by` and has not fired: those whose findings
    /// can change by themselves up to that instant.
    pub fn due_hearings(&self, by: DateTime<Utc>) -> Vec<Arc<str>> {
        self.timers
            .range(..=(by, u32::MAX))
            .map(|&(_, n)| self.hearings[n as usize].id.clone())
            .collect()
    }

    /// The active violations of every rule and region that has any.
    pub fn active_violations(&self) -> impl Iterator<Item = (Rule, Region, u64)> + '_ {
        self.violations
            .iter()
            .map(|(&(rule, region), &count)| (rule, region, count))
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
            .iter()
            .filter(|h| h.waiting_for_calendar)
            .count()
    }

    /// The earliest pending timer, if any.
    pub fn next_timer(&self) -> Option<DateTime<Utc>> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// What hearing `n` held after its last evaluation.
    fn current_findings(&self, n: u32) -> Vec<Finding> {
        if self.hearings[n as usize].held {
            let held = self.held.as_ref().expect("a held hearing while holding");
            return held.before.get(&n).cloned().unwrap_or_default();
        }
        self.findings_at(n, self.settled_instant(n))
    }

    /// An instant at which evaluating hearing `n` again gives its last evaluation: the
    /// clock, or just before its wake when that has passed and not fired yet.
    fn settled_instant(&self, n: u32) -> DateTime<Utc> {
        match self.hearings[n as usize].wake {
            Some(wake) if wake <= self.clock => wake - Duration::nanoseconds(1),
            _ => self.clock,
        }
    }

    /// The findings of evaluating hearing `n` at `as_of`.
    fn findings_at(&self, n: u32, as_of: DateTime<Utc>) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.evaluate(n, as_of, &self.calendar, &self.packs, &mut findings);
        findings
    }

    fn evaluate(
        &self,
        n: u32,
        as_of: DateTime<Utc>,
        calendar: &Calendar,
        packs: &RulePacks,
        out: &mut Vec<Finding>,
    ) -> Timing {
        let hearing = &self.hearings[n as usize];
        let mut folded = Vec::with_capacity(8);
        store::folded(&hearing.log, &self.strings, &mut folded);
        let who = Who {
            hearing_id: &hearing.id,
            region: hearing.region,
            form: hearing.form,
        };
        evaluate_folded(&who, &folded, as_of, calendar, packs, out)
    }

    /// Evaluates hearing `n` at the clock, appends what changed since `before` to
    /// `changes`, and sets its timer.
    fn reevaluate(&mut self, n: u32, before: Vec<Finding>, changes: &mut Vec<Change>) {
        let mut after = Vec::with_capacity(8);
        let timing = self.evaluate(n, self.clock, &self.calendar, &self.packs, &mut after);
        self.settled_by = self.settled_by.max(timing.settled_by);
        let (wake, hearing) = (timing.next_wake, &mut self.hearings[n as usize]);
        hearing.waiting_for_calendar = timing.waiting_for_calendar;
        if let Some(old) = hearing.wake.take() {
            self.timers.remove(&(old, n));
        }
        if let Some(wake) = wake {
            hearing.wake = Some(wake);
            self.timers.insert((wake, n));
        }
        diff(before, after, changes, &mut self.violations);
    }
}

/// Appends to `changes` what turns `before` into `after` (both sorted by key, one finding
/// a key): retractions, then emissions. Counts the violations that start or stop.
fn diff(
    before: Vec<Finding>,
    after: Vec<Finding>,
    changes: &mut Vec<Change>,
    violations: &mut BTreeMap<(Rule, Region), u64>,
) {
    let mut count = |finding: &Finding, up: bool| {
        let Finding::Violation(v) = finding else {
            return;
        };
        let key = (v.rule, v.region);
        let n = violations.entry(key).or_default();
        if up {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                violations.remove(&key);
            }
        }
    };
    // The findings of `before` whose key is still there, in key order.
    let mut still = Vec::with_capacity(before.len());
    let mut i = 0;
    for old in before {
        let key = old.key();
        while i < after.len() && after[i].key() < key {
            i += 1;
        }
        if i < after.len() && after[i].key() == key {
            still.push(old);
        } else {
            count(&old, false);
            changes.push(Change {
                finding: old,
                active: false,
            });
        }
    }
    let mut still = still.into_iter().peekable();
    for finding in after {
        let key = finding.key();
        match still.next_if(|old| old.key() == key) {
            Some(old) if old == finding => {}
            Some(_) => changes.push(Change {
                finding,
                active: true,
            }),
            None => {
                count(&finding, true);
                changes.push(Change {
                    finding,
                    active: true,
                });
            }
        }
    }
}
