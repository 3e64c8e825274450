//! The engine's state as bytes: what [`Engine::snapshot`] writes and [`Engine::restore`]
//! reads.
//!
//! The format is versioned JSON (serde_json): small enough at the design's scale (about
//! 10^4 hearings a year, a few kilobytes each) and readable when something goes wrong. A
//! binary encoding can replace it behind the same two functions; the version number
//! tells the formats apart.
//!
//! A hearing's events are stored without the fields every event of the hearing shares
//! (hearing id, region, form), which the hearing record holds once. Timers are not
//! stored: each hearing has at most one, at its `wake`, so they are rebuilt from it.
//! This module owns the format only; what is kept per hearing is the engine's business.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Engine, Hearing};
use crate::calendar::Calendar;
use crate::event::{Body, Event};
use crate::hearing::fold_order;
use crate::region::{Form, Region};
use crate::rule::RulePacks;
use crate::verdict::{Change, Finding};

/// The version of the format this build writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// A snapshot that cannot be restored. Both variants are permanent for those bytes: the
/// caller rebuilds the state from the input topic instead.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a snapshot of any known shape.
    #[error("engine snapshot is unreadable: {0}")]
    Unreadable(#[from] serde_json::Error),
    /// The snapshot was written by a build with another format.
    #[error("engine snapshot has format {found}, this build reads format {SNAPSHOT_FORMAT}")]
    Format { found: u32 },
    /// The snapshot contradicts itself (a hearing twice, an event id twice in a hearing).
    #[error("engine snapshot is inconsistent: {0}")]
    Inconsistent(String),
}

#[derive(Serialize, Deserialize)]
struct State {
    format: u32,
    clock: DateTime<Utc>,
    /// The hearings waiting for `release`, when the engine was holding.
    holding: Option<Vec<Arc<str>>>,
    /// Sorted by id, so equal states give equal bytes.
    hearings: Vec<StoredHearing>,
}

#[derive(Serialize, Deserialize)]
struct StoredHearing {
    id: Arc<str>,
    region: Region,
    form: Form,
    /// In fold order.
    events: Vec<StoredEvent>,
    findings: Vec<Finding>,
    wake: Option<DateTime<Utc>>,
    waiting_for_calendar: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredEvent {
    id: Arc<str>,
    at: DateTime<Utc>,
    source: Arc<str>,
    body: Body,
}

impl Engine {
    /// The engine's whole state: clock, hearings (events, findings, next wake), and the
    /// hold. Equal states give equal bytes. See [`SNAPSHOT_FORMAT`].
    pub fn snapshot(&self) -> Vec<u8> {
        let mut ids: Vec<&Arc<str>> = self.hearings.keys().collect();
        ids.sort();
        let hearings = ids
            .into_iter()
            .map(|id| stored_hearing(id, &self.hearings[id]))
            .collect();
        let holding = self.held.as_ref().map(|held| {
            let mut held: Vec<_> = held.iter().cloned().collect();
            held.sort();
            held
        });
        let state = State {
            format: SNAPSHOT_FORMAT,
            clock: self.clock,
            holding,
            hearings,
        };
        serde_json::to_vec(&state).expect("engine state serializes")
    }

    /// An engine from a [`snapshot`](Engine::snapshot), with the calendar and rule packs
    /// to use from now on.
    ///
    /// Every hearing is re-evaluated against the stored findings, as
    /// [`Engine::set_calendar`] does, and the changes are returned: none when the calendar
    /// and packs are the data the snapshot was taken with, and otherwise exactly the
    /// retractions and emissions the new data brings (a transfer order added while the
    /// processor was down, say). A holding engine stays holding, with every hearing
    /// waiting for `release`.
    pub fn restore(
        bytes: &[u8],
        calendar: Arc<Calendar>,
        packs: Arc<RulePacks>,
    ) -> Result<(Engine, Vec<Change>), SnapshotError> {
        let state: State = serde_json::from_slice(bytes)?;
        if state.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format {
                found: state.format,
            });
        }
        let mut engine = Engine::new(calendar.clone(), packs, state.clock);
        engine.held = state
            .holding
            .map(|ids| ids.into_iter().collect::<HashSet<_>>());
        let mut hearings = HashMap::with_capacity(state.hearings.len());
        for stored in state.hearings {
            let id = stored.id.clone();
            let hearing = restored_hearing(stored)?;
            if let Some(wake) = hearing.wake {
                engine.timers.insert((wake, id.clone()));
            }
            if hearings.insert(id.clone(), hearing).is_some() {
                return Err(SnapshotError::Inconsistent(format!("hearing {id} twice")));
            }
        }
        engine.hearings = hearings;
        let changes = engine.set_calendar(calendar);
        Ok((engine, changes))
    }
}

fn stored_hearing(id: &Arc<str>, hearing: &Hearing) -> StoredHearing {
    StoredHearing {
        id: id.clone(),
        region: hearing.region,
        form: hearing.form,
        events: hearing
            .events
            .iter()
            .map(|e| StoredEvent {
                id: e.event_id.clone(),
                at: e.occurred_at,
                source: e.source.clone(),
                body: e.body.clone(),
            })
            .collect(),
        findings: hearing.findings.values().cloned().collect(),
        wake: hearing.wake,
        waiting_for_calendar: hearing.waiting_for_calendar,
    }
}

fn restored_hearing(stored: StoredHearing) -> Result<Hearing, SnapshotError> {
    let StoredHearing {
        id,
        region,
        form,
        events,
        findings,
        wake,
        waiting_for_calendar,
    } = stored;
    let mut events: Vec<Event> = events
        .into_iter()
        .map(|e| Event {
            event_id: e.id,
            hearing_id: id.clone(),
            region,
            form,
            occurred_at: e.at,
            source: e.source,
            body: e.body,
        })
        .collect();
    events.sort_by(fold_order);
    let mut seen = HashSet::with_capacity(events.len());
    if let Some(twice) = events.iter().find(|e| !seen.insert(&e.event_id)) {
        let detail = format!("event {} twice in hearing {id}", twice.event_id);
        return Err(SnapshotError::Inconsistent(detail));
    }
    let mut by_key = BTreeMap::new();
    for finding in findings {
        if finding.hearing_id() != &id {
            let detail = format!("a finding of {} stored in {id}", finding.hearing_id());
            return Err(SnapshotError::Inconsistent(detail));
        }
        by_key.insert(finding.key(), finding);
    }
    Ok(Hearing {
        region,
        form,
        events,
        findings: by_key,
        wake,
        waiting_for_calendar,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restore(text: &str) -> Result<(Engine, Vec<Change>), SnapshotError> {
        let calendar = Arc::new(Calendar::builtin());
        Engine::restore(text.as_bytes(), calendar, Arc::new(RulePacks::builtin()))
    }

    const EVENT: &str = r#"{"id":"00000000-0000-4000-8000-000000000001",
        "at":"2025-05-02T05:00:00Z","source":"test","body":"Cancelled"}"#;

    fn state(format: u32, events: &[&str]) -> String {
        format!(
            r#"{{"format":{format},"clock":"2025-06-01T00:00:00Z","holding":null,
            "hearings":[{{"id":"H-1","region":"KZ-19","form":"open_meeting",
            "events":[{}],"findings":[],"wake":null,"waiting_for_calendar":false}}]}}"#,
            events.join(",")
        )
    }

    #[test]
    fn a_snapshot_restores_and_writes_the_same_bytes() {
        let (engine, changes) = restore(&state(SNAPSHOT_FORMAT, &[EVENT])).unwrap();
        assert!(changes.is_empty());
        assert_eq!(engine.events_of("H-1").map(<[Event]>::len), Some(1));
        assert_eq!(engine.clock().to_rfc3339(), "2025-06-01T00:00:00+00:00");
        let again = Engine::restore(
            &engine.snapshot(),
            Arc::new(Calendar::builtin()),
            Arc::new(RulePacks::builtin()),
        )
        .unwrap()
        .0;
        assert_eq!(again.snapshot(), engine.snapshot());
    }

    #[test]
    fn a_snapshot_of_another_format_is_refused() {
        let err = restore(&state(SNAPSHOT_FORMAT + 1, &[EVENT])).unwrap_err();
        assert!(matches!(err, SnapshotError::Format { found } if found == SNAPSHOT_FORMAT + 1));
    }

    #[test]
    fn bytes_that_are_no_snapshot_are_unreadable() {
        assert!(matches!(
            restore("{\"format\":1}").unwrap_err(),
            SnapshotError::Unreadable(_)
        ));
        assert!(matches!(
            restore("not json").unwrap_err(),
            SnapshotError::Unreadable(_)
        ));
    }

    #[test]
    fn an_event_stored_twice_is_inconsistent() {
        let later = EVENT.replace("05:00:00Z", "06:00:00Z");
        let err = restore(&state(SNAPSHOT_FORMAT, &[EVENT, &later])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "engine snapshot is inconsistent: \
             event 00000000-0000-4000-8000-000000000001 twice in hearing H-1"
        );
    }
}
