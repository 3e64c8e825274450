//! Explanations tell the truth: they show exactly the findings `evaluate` gives, their
//! deadlines are the ones the verdicts carry, and their history adds up to the findings.
//! Hand-made hearings check the sentences' material (days skipped and why, superseded
//! bases); random ones (`generate/mod.rs`) check the agreement.

mod generate;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::event::{decode, Event};
use hearwatch_engine::explain::{explain, DeadlineStatus, HistoryChange};
use hearwatch_engine::hearing::{evaluate, fold_order};
use hearwatch_engine::region::Document;
use hearwatch_engine::rule::RulePacks;
use hearwatch_engine::verdict::Finding;
use proptest::prelude::*;
use serde_json::{json, Value};

use generate::{cases, hearing_spec};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// An open meeting in Almaty region (UTC+5 in 2025), from (type, occurred_at, fields).
fn open_meeting(events: &[(&str, &str, Value)]) -> Vec<Event> {
    hearing("open_meeting", events)
}

/// A hearing of `form` in Almaty region, in fold order.
fn hearing(form: &str, events: &[(&str, &str, Value)]) -> Vec<Event> {
    let mut out: Vec<Event> = events
        .iter()
        .enumerate()
        .map(|(n, (kind, at, fields))| {
            let mut v = json!({
                "event_id": format!("00000000-0000-4000-8000-{:012}", n + 1),
                "type": kind, "hearing_id": "H-1", "region": "KZ-19", "form": form,
                "occurred_at": at, "source": "test",
            });
            v.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            decode(v.to_string().as_bytes(), None).unwrap()
        })
        .collect();
    out.sort_by(fold_order);
    out
}

fn announcement(channel: &str, declared_on: &str) -> Value {
    json!({ "channel": channel, "declared_on": declared_on, "section": "public_hearings" })
}

fn protocol(channel: &str, day: &str) -> Value {
    json!({ "channel": channel, "declared_on": day, "section": "public_hearings",
            "has_recording": true })
}

/// Set for 6 May 2025, held on Monday 12 May (reported on 20 May); the protocols appeared
/// on 16 May, before held_on was known.
fn held_late() -> Vec<Event> {
    open_meeting(&[
        (
            "application_received",
            "2025-03-20T10:00:00+05:00",
            json!({ "hearing_at": "2025-05-06T11:00:00+05:00" }),
        ),
        (
            "announcement_published",
            "2025-03-20T12:00:00+05:00",
            announcement("information_system", "2025-03-20"),
        ),
        (
            "announcement_published",
            "2025-03-20T12:00:00+05:00",
            announcement("mio_website", "2025-03-20"),
        ),
        (
            "protocol_published",
            "2025-05-16T10:00:00+05:00",
            protocol("information_system", "2025-05-16"),
        ),
        (
            "protocol_published",
            "2025-05-16T10:00:00+05:00",
            protocol("mio_website", "2025-05-16"),
        ),
        (
            "hearing_held",
            "2025-05-20T10:00:00+05:00",
            json!({ "held_on": "2025-05-12" }),
        ),
    ])
}

#[test]
fn the_protocol_deadline_shows_the_days_it_counted_and_the_base_held_on_replaced() {
    let events = held_late();
    let e = explain(
        &events,
        t("2025-07-01T00:00:00Z"),
        &Calendar::builtin(),
        &RulePacks::builtin(),
    )
    .unwrap();
    assert!(e.violations.is_empty());
    let protocol = e
        .deadlines
        .iter()
        .find(|d| d.document == Document::Protocol)
        .unwrap();
    // Held Monday 12 May: 13, 14, 15, 16 May are the 1st to 4th working days.
    assert_eq!(protocol.base, day("2025-05-12"));
    assert!(protocol.base_from.starts_with("held_on 2025-05-12"));
    let counted: Vec<_> = protocol
        .days
        .iter()
        .map(|d| (d.date, d.working_day))
        .collect();
    assert_eq!(
        counted,
        vec![
            (day("2025-05-13"), Some(1)),
            (day("2025-05-14"), Some(2)),
            (day("2025-05-15"), Some(3)),
            (day("2025-05-16"), Some(4)),
        ]
    );
    assert_eq!(protocol.last_day, Some(day("2025-05-16")));
    assert_eq!(protocol.deadline_at, Some(t("2025-05-16T19:00:00Z")));
    assert_eq!(protocol.status, DeadlineStatus::Passed);
    // The base of 6 May had given 14 May (8, 12, 13, 14: 7 and 9 May holidays), which had
    // passed when held_on arrived on 20 May.
    assert_eq!(protocol.superseded.len(), 1);
    let old = &protocol.superseded[0];
    assert_eq!(
        (old.base, old.last_day),
        (day("2025-05-06"), Some(day("2025-05-14")))
    );
    assert!(old.note.contains("retracted"));
}

#[test]
fn the_history_shows_missing_then_late_then_retracted_by_held_on() {
    // 14 May 19:00Z: both protocols missing (deadline 14 May). 16 May 05:00Z: they appear,
    // late. 20 May 05:00Z: held_on 12 May moves the deadline to 16 May: on time.
    let e = explain(
        &held_late(),
        t("2025-07-01T00:00:00Z"),
        &Calendar::builtin(),
        &RulePacks::builtin(),
    )
    .unwrap();
    let protocol_history: Vec<_> = e
        .history
        .iter()
        .filter(|h| h.finding.contains("/protocol_"))
        .map(|h| {
            (
                h.at,
                h.change,
                h.finding.split('/').nth(1).unwrap().to_string(),
            )
        })
        .collect();
    let (missing, late) = ("protocol_missing".to_string(), "protocol_late".to_string());
    assert_eq!(
        protocol_history,
        vec![
            (
                t("2025-05-14T19:00:00Z"),
                HistoryChange::Emitted,
                missing.clone()
            ),
            (
                t("2025-05-14T19:00:00Z"),
                HistoryChange::Emitted,
                missing.clone()
            ),
            (
                t("2025-05-16T05:00:00Z"),
                HistoryChange::Retracted,
                missing.clone()
            ),
            (t("2025-05-16T05:00:00Z"), HistoryChange::Retracted, missing),
            (
                t("2025-05-16T05:00:00Z"),
                HistoryChange::Emitted,
                late.clone()
            ),
            (
                t("2025-05-16T05:00:00Z"),
                HistoryChange::Emitted,
                late.clone()
            ),
            (
                t("2025-05-20T05:00:00Z"),
                HistoryChange::Retracted,
                late.clone()
            ),
            (t("2025-05-20T05:00:00Z"), HistoryChange::Retracted, late),
        ]
    );
    assert!(e.history[e.history.len() - 1]
        .cause
        .starts_with("hearing_held"));
}

#[test]
fn skipped_days_say_why() {
    // Held Tuesday 6 May 2025: 7 May holiday, 8 May (1), 9 May holiday, 10-11 weekend,
    // 12 (2), 13 (3), 14 (4).
    let events = open_meeting(&[(
        "hearing_held",
        "2025-05-06T18:00:00+05:00",
        json!({ "held_on": "2025-05-06" }),
    )]);
    let e = explain(
        &events,
        t("2025-05-10T00:00:00Z"),
        &Calendar::builtin(),
        &RulePacks::builtin(),
    )
    .unwrap();
    assert_eq!(e.deadlines.len(), 1, "no receipt: no announcement deadline");
    let d = &e.deadlines[0];
    let days: Vec<_> = d
        .days
        .iter()
        .map(|d| format!("{} {}", d.date, d.why))
        .collect();
    assert_eq!(days.len(), 8);
    assert!(days[0].starts_with("2025-05-07 holiday"));
    assert_eq!(days[1], "2025-05-08 working day");
    assert!(days[2].starts_with("2025-05-09 holiday"));
    assert_eq!(days[3], "2025-05-10 weekend");
    assert_eq!(d.status, DeadlineStatus::Pending);
    assert_eq!(e.next_wake, Some(t("2025-05-14T19:00:00Z")));
}

#[test]
fn a_public_discussion_has_no_announcement_deadline_and_waits_for_2027() {
    // Ends Monday 28 December 2026: 29, 30, 31 December count, the 4th is in 2027.
    let events = hearing(
        "public_discussion",
        &[(
            "application_received",
            "2026-11-20T10:00:00+05:00",
            json!({ "discussion_ends_on": "2026-12-28" }),
        )],
    );
    let e = explain(
        &events,
        t("2027-03-01T00:00:00Z"),
        &Calendar::builtin(),
        &RulePacks::builtin(),
    )
    .unwrap();
    assert_eq!(e.deadlines.len(), 1);
    assert_eq!(
        e.deadlines[0].status,
        DeadlineStatus::WaitingForCalendar { year: 2027 }
    );
    assert_eq!(e.deadlines[0].days.len(), 3);
    assert!(e.waiting_for_calendar);
    assert!(e.findings.is_empty());
}

#[test]
fn an_explanation_serializes_to_json() {
    let e = explain(
        &held_late(),
        t("2025-05-15T00:00:00Z"),
        &Calendar::builtin(),
        &RulePacks::builtin(),
    )
    .unwrap();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["region"], "KZ-19");
    assert_eq!(v["zone"], "Asia/Almaty");
    assert_eq!(v["deadlines"][1]["status"]["status"], "passed");
    assert_eq!(v["violations"][0]["rule"], "protocol_missing");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(2_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// At any instant, the explanation's findings are `evaluate`'s, every deadline verdict
    /// carries the last day the explanation computed, the days it lists count to N, and
    /// replaying its history gives the findings.
    #[test]
    fn an_explanation_agrees_with_evaluate(spec in hearing_spec(), hours in 0i64..=3_000) {
        let mut events = spec.events(0);
        events.sort_by(fold_order);
        let Some(first) = events.first() else {
            return Ok(());
        };
        let as_of = first.occurred_at + Duration::hours(hours);
        let (calendar, packs) = (Calendar::builtin(), RulePacks::builtin());
        let e = explain(&events, as_of, &calendar, &packs).unwrap();
        let evaluation = evaluate(&events, as_of, &calendar, &packs);
        let findings: Vec<Finding> = evaluation.findings.values().cloned().collect();
        prop_assert_eq!(&e.findings, &findings);
        prop_assert_eq!(e.next_wake, evaluation.next_wake);
        prop_assert_eq!(e.waiting_for_calendar, evaluation.waiting_for_calendar);

        for f in &findings {
            if let Finding::Violation(v) = f {
                prop_assert!(e.violations.iter().any(|x| x.id == f.id()));
                if let Some(last) = v.deadline_on {
                    let d = e.deadlines.iter().find(|d| d.document == v.document).unwrap();
                    prop_assert_eq!(d.last_day, Some(last));
                    prop_assert_eq!(&d.status, &DeadlineStatus::Passed);
                }
            }
        }
        let violations = findings.iter().filter(|f| matches!(f, Finding::Violation(_)));
        prop_assert_eq!(e.violations.len(), violations.count());
        for d in &e.deadlines {
            if let Some(last) = d.last_day {
                let working = d.days.iter().filter(|x| x.working_day.is_some()).count();
                prop_assert_eq!(working as u32, d.working_days);
                prop_assert_eq!(d.days.last().map_or(d.base, |x| x.date), last);
            }
        }

        let mut replayed = BTreeMap::new();
        for h in &e.history {
            match h.change {
                HistoryChange::Retracted => {
                    prop_assert!(replayed.remove(&h.finding).is_some());
                }
                _ => {
                    replayed.insert(h.finding.clone(), ());
                }
            }
        }
        let ids: Vec<String> = findings.iter().map(Finding::id).collect();
        prop_assert_eq!(replayed.into_keys().collect::<Vec<_>>(), {
            let mut ids = ids;
            ids.sort();
            ids
        });
    }
}
