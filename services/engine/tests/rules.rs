//! The rules, one behaviour per test, on hand-made hearings.
//!
//! Every expected date is worked out by hand in the comment beside it, from the 2025
//! calendar: 1 May (Thu), 7 May (Wed) and 9 May (Fri) are holidays; 6 June (Fri) is Kurban
//! Ait; all of Kazakhstan is UTC+5 in 2025, so local midnight is 19:00 UTC the day before.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::{Engine, Outcome};
use hearwatch_engine::event::{decode, DlqReason, Event};
use hearwatch_engine::hearing::{end_of_day, evaluate, fold_order, local_date};
use hearwatch_engine::region::{Channel, Document, Region};
use hearwatch_engine::rule::{Rule, RulePacks};
use hearwatch_engine::verdict::{Finding, FindingKey, Violation};
use serde_json::{json, Value};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Builds hearing events through the wire format, so the decoder is on the path too.
struct Hearing {
    id: &'static str,
    form: &'static str,
    region: &'static str,
    events: Vec<Event>,
}

impl Hearing {
    fn open_meeting() -> Hearing {
        Hearing {
            id: "H-1",
            form: "open_meeting",
            region: "KZ-19",
            events: Vec::new(),
        }
    }

    fn public_discussion() -> Hearing {
        Hearing {
            id: "H-2",
            form: "public_discussion",
            region: "KZ-75",
            events: Vec::new(),
        }
    }

    fn push(&mut self, kind: &str, at: &str, fields: Value) -> &mut Self {
        let n = self.events.len() + 1;
        let mut v = json!({
            "event_id": format!("00000000-0000-4000-8000-{n:012}"),
            "type": kind, "hearing_id": self.id, "region": self.region, "form": self.form,
            "occurred_at": at, "source": "test",
        });
        v.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        self.events
            .push(decode(v.to_string().as_bytes(), None).unwrap());
        self
    }

    fn received(&mut self, at: &str, hearing_at: &str) -> &mut Self {
        if self.form == "open_meeting" {
            self.push(
                "application_received",
                at,
                json!({ "hearing_at": hearing_at }),
            )
        } else {
            self.push(
                "application_received",
                at,
                json!({ "discussion_ends_on": hearing_at }),
            )
        }
    }

    fn published(&mut self, doc: &str, channel: &str, at: &str, declared_on: Value) -> &mut Self {
        let mut fields =
            json!({ "channel": channel, "declared_on": declared_on, "section": "public_hearings" });
        if doc == "protocol" && self.form == "open_meeting" {
            fields["has_recording"] = true.into();
        }
        self.push(&format!("{doc}_published"), at, fields)
    }

    /// Published on both channels, dated on the day of publication.
    fn published_both(&mut self, doc: &str, at: &str) -> &mut Self {
        let date = &at[..10];
        self.published(doc, "information_system", at, date.into());
        self.published(doc, "mio_website", at, date.into())
    }

    fn violations(&self, as_of: &str) -> Vec<Violation> {
        let mut events = self.events.clone();
        events.sort_by(fold_order);
        let eval = evaluate(
            &events,
            t(as_of),
            &Calendar::builtin(),
            &RulePacks::builtin(),
        );
        eval.findings
            .into_values()
            .filter_map(|f| match f {
                Finding::Violation(v) => Some(v),
                Finding::Placement(_) => None,
            })
            .collect()
    }

    fn rules(&self, as_of: &str) -> Vec<(Rule, Channel, NaiveDate)> {
        self.violations(as_of)
            .into_iter()
            .map(|v| (v.rule, v.channel, v.month))
            .collect()
    }
}

const IS: Channel = Channel::InformationSystem;
const MIO: Channel = Channel::MioWebsite;

#[test]
fn announcement_missing_on_one_channel_fires_at_the_end_of_the_next_working_day() {
    // Receipt Friday 2 May; the next working day is Monday 5 May (3-4 May weekend), so the
    // deadline instant is the local midnight ending 5 May: 2025-05-05T19:00Z.
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00")
        .published(
            "announcement",
            "information_system",
            "2025-05-05T23:00:00+05:00",
            "2025-05-05".into(),
        );
    assert!(h.rules("2025-05-05T18:59:59Z").is_empty());
    assert_eq!(
        h.rules("2025-05-05T19:00:00Z"),
        vec![(Rule::AnnouncementMissing, MIO, day("2025-05-01"))]
    );
    let v = &h.violations("2025-05-06T00:00:00Z")[0];
    assert_eq!(v.deadline_on, Some(day("2025-05-05")));
    assert_eq!(v.deadline_at, Some(t("2025-05-05T19:00:00Z")));
}

#[test]
fn a_late_announcement_replaces_the_missing_one_of_its_channel() {
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00")
        .published(
            "announcement",
            "information_system",
            "2025-05-02T12:00:00+05:00",
            "2025-05-02".into(),
        )
        .published(
            "announcement",
            "mio_website",
            "2025-05-06T09:00:00+05:00",
            "2025-05-06".into(),
        );
    // As of 1 June: the protocol deadline (4 working days after 20 June) is still ahead.
    assert_eq!(
        h.rules("2025-06-01T00:00:00Z"),
        vec![(Rule::AnnouncementLate, MIO, day("2025-05-01"))]
    );
}

#[test]
fn a_deadline_rule_counts_in_the_month_of_its_last_working_day() {
    // Receipt Wednesday 30 April: the next working day is Friday 2 May (1 May is a holiday),
    // so a missing announcement counts in May although the receipt is in April.
    let mut h = Hearing::open_meeting();
    h.received("2025-04-30T16:00:00+05:00", "2025-06-20T11:00:00+05:00");
    let rules = h.rules("2025-05-03T00:00:00Z");
    assert_eq!(
        rules,
        vec![
            (Rule::AnnouncementMissing, IS, day("2025-05-01")),
            (Rule::AnnouncementMissing, MIO, day("2025-05-01"))
        ]
    );
}

#[test]
fn the_protocol_deadline_skips_the_may_holidays() {
    // Held Tuesday 6 May. Working days after it: 8 May (7 May holiday), 12 May (9 May
    // holiday, 10-11 weekend), 13 May, 14 May: the 4th is 14 May. A protocol of 15 May is late.
    let mut h = Hearing::open_meeting();
    h.received("2025-03-20T10:00:00+05:00", "2025-05-06T11:00:00+05:00")
        .published_both("announcement", "2025-03-20T12:00:00+05:00")
        .push(
            "hearing_held",
            "2025-05-06T18:00:00+05:00",
            json!({ "held_on": "2025-05-06" }),
        )
        .published(
            "protocol",
            "information_system",
            "2025-05-14T17:00:00+05:00",
            "2025-05-14".into(),
        )
        .published(
            "protocol",
            "mio_website",
            "2025-05-15T09:00:00+05:00",
            "2025-05-15".into(),
        );
    let v = h.violations("2025-07-01T00:00:00Z");
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].rule, v[0].channel, v[0].deadline_on),
        (Rule::ProtocolLate, MIO, Some(day("2025-05-14")))
    );
}

#[test]
fn a_reschedule_before_the_deadline_moves_it() {
    // Set for 6 May (deadline 14 May, as above); moved on 10 May to Tuesday 20 May, whose
    // 4th working day after is 26 May (21, 22, 23, then 26 after the weekend).
    let mut h = Hearing::open_meeting();
    h.received("2025-03-20T10:00:00+05:00", "2025-05-06T11:00:00+05:00")
        .published_both("announcement", "2025-03-20T12:00:00+05:00")
        .push(
            "hearing_rescheduled",
            "2025-05-10T10:00:00+05:00",
            json!({ "hearing_at": "2025-05-20T11:00:00+05:00" }),
        );
    assert!(h.rules("2025-05-26T18:59:59Z").is_empty());
    let v = h.violations("2025-05-26T19:00:00Z");
    assert_eq!(v.len(), 2);
    assert!(v
        .iter()
        .all(|v| v.rule == Rule::ProtocolMissing && v.deadline_on == Some(day("2025-05-26"))));
}

#[test]
fn a_reschedule_after_the_deadline_keeps_its_verdict() {
    // The deadline of 14 May passed at 2025-05-14T19:00Z; a reschedule on 16 May changes
    // nothing, so the protocol stays missing with the 14 May deadline.
    let mut h = Hearing::open_meeting();
    h.received("2025-03-20T10:00:00+05:00", "2025-05-06T11:00:00+05:00")
        .published_both("announcement", "2025-03-20T12:00:00+05:00")
        .push(
            "hearing_rescheduled",
            "2025-05-16T10:00:00+05:00",
            json!({ "hearing_at": "2025-06-20T11:00:00+05:00" }),
        );
    let v = h.violations("2025-07-01T00:00:00Z");
    assert_eq!(v.len(), 2);
    assert!(v
        .iter()
        .all(|v| v.rule == Rule::ProtocolMissing && v.deadline_on == Some(day("2025-05-14"))));
}

#[test]
fn a_cancellation_removes_pending_deadlines_but_publications_still_count() {
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00")
        .push("hearing_cancelled", "2025-05-05T10:00:00+05:00", json!({}))
        .published(
            "announcement",
            "information_system",
            "2025-05-20T10:00:00+05:00",
            Value::Null,
        );
    // No announcement_missing (its deadline, 5 May 24:00, had not passed at the
    // cancellation) and no protocol deadline; the undated announcement still counts.
    assert_eq!(
        h.rules("2025-07-01T00:00:00Z"),
        vec![(Rule::AnnouncementUndated, IS, day("2025-05-01"))]
    );
}

#[test]
fn held_on_wins_over_the_hearing_date_and_retracts_verdicts_from_it() {
    // Set for 6 May (deadline 14 May) but held on Monday 12 May, reported late on 20 May:
    // the base becomes 12 May, whose 4th working day after is 16 May (13, 14, 15, 16).
    let mut h = Hearing::open_meeting();
    h.received("2025-03-20T10:00:00+05:00", "2025-05-06T11:00:00+05:00")
        .published_both("announcement", "2025-03-20T12:00:00+05:00")
        .published_both("protocol", "2025-05-16T10:00:00+05:00");
    assert_eq!(
        h.rules("2025-05-15T00:00:00Z").len(),
        2,
        "missing on both channels before held_on is known"
    );
    h.push(
        "hearing_held",
        "2025-05-20T10:00:00+05:00",
        json!({ "held_on": "2025-05-12" }),
    );
    assert!(
        h.rules("2025-07-01T00:00:00Z").is_empty(),
        "published on 16 May, the last day"
    );
}

#[test]
fn notice_of_exactly_30_days_is_enough_and_29_is_short() {
    // Published 2 May; 1 June is 30 days later (29 days left in May plus 1), 31 May is 29.
    for (hearing_at, short) in [
        ("2025-06-01T11:00:00+05:00", false),
        ("2025-05-31T11:00:00+05:00", true),
    ] {
        let mut h = Hearing::open_meeting();
        h.received("2025-05-02T09:00:00+05:00", hearing_at)
            .published_both("announcement", "2025-05-02T12:00:00+05:00");
        let rules: Vec<_> = h
            .rules("2025-05-10T00:00:00Z")
            .into_iter()
            .map(|r| r.0)
            .collect();
        assert_eq!(
            rules.contains(&Rule::AnnouncementShortNotice),
            short,
            "{hearing_at}"
        );
    }
}

#[test]
fn backdated_undated_wrong_section_and_no_recording_count_per_publication() {
    let mut h = Hearing::open_meeting();
    h.received("2025-03-20T10:00:00+05:00", "2025-05-06T11:00:00+05:00")
        .published("announcement", "information_system", "2025-03-20T12:00:00+05:00", "2025-03-19".into())
        .push(
            "announcement_published",
            "2025-03-20T13:00:00+05:00",
            json!({ "channel": "mio_website", "declared_on": "2025-03-20", "section": "news" }),
        )
        .push("hearing_held", "2025-05-06T18:00:00+05:00", json!({ "held_on": "2025-05-06" }))
        .push(
            "protocol_published",
            "2025-05-08T10:00:00+05:00",
            json!({ "channel": "information_system", "declared_on": null, "section": "public_hearings", "has_recording": false }),
        )
        .published("protocol", "mio_website", "2025-05-08T11:00:00+05:00", "2025-05-08".into())
        // A second appearance on a channel changes nothing.
        .published("protocol", "mio_website", "2025-05-09T11:00:00+05:00", Value::Null);
    let march = day("2025-03-01");
    let may = day("2025-05-01");
    assert_eq!(
        h.rules("2025-07-01T00:00:00Z"),
        vec![
            (Rule::SectionMismatch, MIO, march),
            (Rule::AnnouncementBackdated, IS, march),
            (Rule::ProtocolUndated, IS, may),
            (Rule::ProtocolNoRecording, IS, may),
        ]
    );
}

#[test]
fn public_discussions_have_protocol_rules_only() {
    // Discussion ends Friday 2 May: 4 working days after are 5, 6, 8, 12 May. Nothing is
    // published, so both protocols are missing as of 13 May; no announcement rule applies.
    let mut h = Hearing::public_discussion();
    h.received("2025-04-01T10:00:00+05:00", "2025-05-02");
    let v = h.violations("2025-05-13T00:00:00Z");
    assert_eq!(v.len(), 2);
    assert!(v
        .iter()
        .all(|v| v.rule == Rule::ProtocolMissing && v.deadline_on == Some(day("2025-05-12"))));
}

#[test]
fn local_dates_follow_the_2024_zone_unification() {
    // Before 1 March 2024 Almaty was UTC+6 and Aqtobe UTC+5; since then both are UTC+5.
    let almaty = "KZ-71".parse::<Region>().unwrap().zone();
    let aqtobe = "KZ-15".parse::<Region>().unwrap().zone();
    assert_eq!(
        local_date(t("2024-02-10T18:30:00Z"), almaty),
        day("2024-02-11")
    );
    assert_eq!(
        local_date(t("2024-02-10T18:30:00Z"), aqtobe),
        day("2024-02-10")
    );
    assert_eq!(
        local_date(t("2024-03-10T18:30:00Z"), almaty),
        day("2024-03-10")
    );
    assert_eq!(
        end_of_day(day("2024-02-10"), almaty),
        t("2024-02-10T18:00:00Z")
    );
    assert_eq!(
        end_of_day(day("2024-03-10"), almaty),
        t("2024-03-10T19:00:00Z")
    );
}

fn engine_at(clock: &str) -> Engine {
    Engine::new(
        Arc::new(Calendar::builtin()),
        Arc::new(RulePacks::builtin()),
        t(clock),
    )
}

fn active_rules(engine: &Engine) -> Vec<Rule> {
    let mut rules: Vec<_> = engine
        .findings()
        .iter()
        .filter_map(|f| match f.key() {
            FindingKey::Violation { rule, .. } => Some(rule),
            FindingKey::Placement { .. } => None,
        })
        .collect();
    rules.sort();
    rules
}

#[test]
fn a_publication_that_arrives_after_the_timer_but_occurred_before_the_deadline_retracts_it() {
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00")
        .published(
            "announcement",
            "information_system",
            "2025-05-02T12:00:00+05:00",
            "2025-05-02".into(),
        )
        .published(
            "announcement",
            "mio_website",
            "2025-05-05T15:00:00+05:00",
            "2025-05-05".into(),
        );
    let mut engine = engine_at("2025-05-03T00:00:00Z");
    engine.ingest(h.events[0].clone());
    engine.ingest(h.events[1].clone());
    let fired = engine.advance_to(t("2025-05-06T08:00:00Z"));
    assert_eq!(fired.fired, vec![t("2025-05-05T19:00:00Z")]);
    assert_eq!(active_rules(&engine), vec![Rule::AnnouncementMissing]);
    let (_, changes) = engine.ingest(h.events[2].clone());
    assert!(changes.iter().any(|c| !c.active
        && matches!(&c.finding, Finding::Violation(v) if v.rule == Rule::AnnouncementMissing)));
    assert!(active_rules(&engine).is_empty());
}

#[test]
fn an_event_stamped_ahead_of_the_clock_waits_for_it() {
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00")
        .published(
            "announcement",
            "information_system",
            "2025-05-20T10:00:00+05:00",
            Value::Null,
        );
    let mut engine = engine_at("2025-05-03T00:00:00Z");
    for e in &h.events {
        engine.ingest(e.clone());
    }
    assert_eq!(engine.findings().len(), 0);
    // The deadline (5 May 19:00Z) fires first: missing on both channels.
    engine.advance_to(t("2025-05-06T00:00:00Z"));
    assert_eq!(
        active_rules(&engine),
        vec![Rule::AnnouncementMissing, Rule::AnnouncementMissing]
    );
    // On 20 May the publication counts: late on the portal, and undated.
    engine.advance_to(t("2025-05-20T05:00:00Z"));
    assert_eq!(
        active_rules(&engine),
        vec![
            Rule::AnnouncementMissing,
            Rule::AnnouncementLate,
            Rule::AnnouncementUndated
        ]
    );
}

#[test]
fn duplicates_are_ignored_and_conflicts_rejected() {
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00");
    let event = h.events[0].clone();
    let mut engine = engine_at("2025-05-03T00:00:00Z");
    assert_eq!(engine.ingest(event.clone()).0, Outcome::Applied);
    assert_eq!(engine.ingest(event.clone()).0, Outcome::Duplicate);
    let mut changed = event.clone();
    changed.source = "other".into();
    assert!(matches!(
        engine.ingest(changed).0,
        Outcome::Rejected {
            reason: DlqReason::ConflictingDuplicate,
            ..
        }
    ));
    let mut moved = event;
    moved.event_id = "00000000-0000-4000-8000-000000000099".into();
    moved.region = "KZ-71".parse().unwrap();
    assert!(matches!(
        engine.ingest(moved).0,
        Outcome::Rejected {
            reason: DlqReason::ConflictingHearing,
            ..
        }
    ));
}

#[test]
fn the_document_and_channel_of_a_finding_are_in_its_id() {
    let mut h = Hearing::open_meeting();
    h.received("2025-05-02T10:00:00+05:00", "2025-06-20T11:00:00+05:00");
    let mut engine = engine_at("2025-05-10T00:00:00Z");
    engine.ingest(h.events[0].clone());
    let mut ids: Vec<_> = engine.findings().iter().map(Finding::id).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "H-1/announcement_missing/announcement/information_system",
            "H-1/announcement_missing/announcement/mio_website"
        ]
    );
    let _ = Document::ALL;
}

/// The shipped calendar files as (name, text).
fn calendar_files() -> Vec<(String, String)> {
    [
        (
            "2023.toml",
            include_str!("../../../data/calendar/2023.toml"),
        ),
        (
            "2024.toml",
            include_str!("../../../data/calendar/2024.toml"),
        ),
        (
            "2025.toml",
            include_str!("../../../data/calendar/2025.toml"),
        ),
        (
            "2026.toml",
            include_str!("../../../data/calendar/2026.toml"),
        ),
    ]
    .iter()
    .map(|&(name, text)| (name.to_string(), text.to_string()))
    .collect()
}

/// The shipped calendar with `extra` TOML appended to the named year's file: a transfer
/// order published after the year's file was made, say.
fn calendar_with(year: i32, extra: &str) -> Arc<Calendar> {
    let mut files = calendar_files();
    for (name, text) in &mut files {
        if *name == format!("{year}.toml") {
            text.push('\n');
            text.push_str(extra);
        }
    }
    Arc::new(Calendar::from_files(&files).unwrap())
}

fn transfer(date: &str, working: bool) -> String {
    format!(
        "[[transfer]]\ndate = \"{date}\"\nworking = {working}\n\
         source = \"test order\"\nverified = false\n"
    )
}

/// The protocol rules of the active findings: (rule, channel, deadline day).
fn protocol_verdicts(engine: &Engine) -> Vec<(Rule, Channel, Option<NaiveDate>)> {
    let mut verdicts: Vec<_> = engine
        .findings()
        .iter()
        .filter_map(|f| match f {
            Finding::Violation(v) => Some((v.rule, v.channel, v.deadline_on)),
            Finding::Placement(_) => None,
        })
        .collect();
    verdicts.sort();
    verdicts
}

/// A meeting held on Tuesday 6 May 2025, announced in time; `protocols` are (channel,
/// publication instant).
fn held_on_6_may(protocols: &[(&str, &str)]) -> Hearing {
    let mut h = Hearing::open_meeting();
    h.received("2025-03-20T10:00:00+05:00", "2025-05-06T11:00:00+05:00")
        .published_both("announcement", "2025-03-20T12:00:00+05:00")
        .push(
            "hearing_held",
            "2025-05-06T18:00:00+05:00",
            json!({ "held_on": "2025-05-06" }),
        );
    for (channel, at) in protocols {
        h.published("protocol", channel, at, at[..10].into());
    }
    h
}

#[test]
fn a_transfer_order_adding_a_working_saturday_brings_a_deadline_forward_and_fires_it() {
    // Builtin: 4 working days after Tue 6 May are 8, 12, 13, 14 May (7 and 9 May holidays,
    // 10-11 weekend): the deadline passes at 2025-05-14T19:00Z. An order making Saturday
    // 10 May a working day gives 8, 10, 12, 13: the deadline passed at 2025-05-13T19:00Z.
    let h = held_on_6_may(&[]);
    let mut engine = engine_at("2025-05-14T12:00:00Z");
    for e in &h.events {
        engine.ingest(e.clone());
    }
    assert!(protocol_verdicts(&engine).is_empty());
    assert_eq!(engine.next_timer(), Some(t("2025-05-14T19:00:00Z")));

    let changes = engine.set_calendar(calendar_with(2025, &transfer("2025-05-10", true)));
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.active));
    let may_13 = Some(day("2025-05-13"));
    assert_eq!(
        protocol_verdicts(&engine),
        vec![
            (Rule::ProtocolMissing, IS, may_13),
            (Rule::ProtocolMissing, MIO, may_13)
        ]
    );
    assert_eq!(engine.next_timer(), None);

    // The order is withdrawn: both are retracted and the timer is back.
    let changes = engine.set_calendar(Arc::new(Calendar::builtin()));
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| !c.active));
    assert_eq!(engine.next_timer(), Some(t("2025-05-14T19:00:00Z")));
}

#[test]
fn a_transfer_order_adding_a_day_off_moves_a_deadline_and_changes_late_verdicts() {
    // Protocols on the portal on 14 May and on the website on 15 May. Builtin deadline
    // 14 May: the website's is late. With Saturday 10 May working (deadline 13 May) both
    // are late, the website's with the new deadline. With Monday 12 May a day off instead
    // (8, 13, 14, 15 May: deadline 15 May) neither is late.
    let h = held_on_6_may(&[
        ("information_system", "2025-05-14T10:00:00+05:00"),
        ("mio_website", "2025-05-15T10:00:00+05:00"),
    ]);
    let mut engine = engine_at("2025-06-01T00:00:00Z");
    for e in &h.events {
        engine.ingest(e.clone());
    }
    assert_eq!(
        protocol_verdicts(&engine),
        vec![(Rule::ProtocolLate, MIO, Some(day("2025-05-14")))]
    );

    let changes = engine.set_calendar(calendar_with(2025, &transfer("2025-05-10", true)));
    let emitted: Vec<_> = changes
        .iter()
        .map(|c| match &c.finding {
            Finding::Violation(v) => (c.active, v.channel, v.deadline_on),
            Finding::Placement(_) => panic!("placements do not change"),
        })
        .collect();
    let may_13 = Some(day("2025-05-13"));
    assert_eq!(emitted, vec![(true, IS, may_13), (true, MIO, may_13)]);

    let changes = engine.set_calendar(calendar_with(2025, &transfer("2025-05-12", false)));
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| !c.active));
    assert!(protocol_verdicts(&engine).is_empty());
}

#[test]
fn a_deadline_needing_a_year_without_calendar_data_waits_for_it() {
    // The discussion ends on Monday 28 December 2026: its working days after are 29, 30
    // and 31 December; the 4th is in 2027, which has no file. No verdict, no timer, one
    // hearing waiting, however late the clock.
    let mut h = Hearing::public_discussion();
    h.received("2026-11-20T10:00:00+05:00", "2026-12-28");
    let mut engine = engine_at("2027-06-01T00:00:00Z");
    engine.ingest(h.events[0].clone());
    assert!(protocol_verdicts(&engine).is_empty());
    assert_eq!(engine.waiting_for_calendar(), 1);
    assert_eq!(engine.pending_timers(), 0);

    // With a 2027 file: Fri 1 Jan and Sat 2 Jan are holidays, the 2nd moves to Mon 4 Jan
    // (Sun 3 Jan is a weekend day), so Tue 5 Jan is the 4th working day.
    let holiday = |date: &str, moves: bool| {
        format!(
            "[[holiday]]\ndate = \"{date}\"\nname = \"test\"\nmoves_if_weekend = {moves}\n\
             source = \"test\"\nverified = false\n"
        )
    };
    let y2027 = format!(
        "year = 2027\n{}{}{}",
        holiday("2027-01-01", true),
        holiday("2027-01-02", true),
        holiday("2027-01-07", false)
    );
    let mut files = calendar_files();
    files.push(("2027.toml".to_string(), y2027));
    let calendar = Calendar::from_files(&files).unwrap();
    let changes = engine.set_calendar(Arc::new(calendar));
    assert_eq!(changes.len(), 2);
    let jan_5 = Some(day("2027-01-05"));
    assert_eq!(
        protocol_verdicts(&engine),
        vec![
            (Rule::ProtocolMissing, IS, jan_5),
            (Rule::ProtocolMissing, MIO, jan_5)
        ]
    );
    assert_eq!(engine.waiting_for_calendar(), 0);
}

#[test]
fn a_hearing_on_the_last_day_of_a_year_without_calendar_data_counts_from_the_next_year() {
    // Found by the oracle. Held Saturday 31 December 2022 in Almaty (UTC+6 then); 2022
    // has no file, but the days counted are all in 2023: Sun 1 and Mon 2 January are
    // holidays, Tue 3 January is the day 1 January moved to, then Wed 4 (1), Thu 5 (2),
    // Fri 6 (3), Sat 7 and Sun 8 off, Mon 9 January (4). The deadline passes at the end of
    // 9 January in UTC+6: 2023-01-09T18:00Z.
    let mut h = Hearing::open_meeting();
    h.region = "KZ-71";
    h.received("2022-11-25T10:00:00+06:00", "2022-12-31T11:00:00+06:00");
    assert!(h.rules("2023-01-09T17:59:59Z").is_empty());
    let v = h.violations("2023-01-09T18:00:00Z");
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|v| v.rule == Rule::ProtocolMissing
        && v.deadline_on == Some(day("2023-01-09"))
        && v.deadline_at == Some(t("2023-01-09T18:00:00Z"))));
}

#[test]
fn a_restore_with_calendar_data_changed_meanwhile_returns_the_changes() {
    // As in the working-Saturday test: a snapshot taken under the shipped calendar on
    // 14 May, restored with the order making 10 May a working day, fires both protocols'
    // missing verdicts with the 13 May deadline; restored with the same data, nothing.
    let h = held_on_6_may(&[]);
    let mut engine = engine_at("2025-05-14T12:00:00Z");
    for e in &h.events {
        engine.ingest(e.clone());
    }
    let bytes = engine.snapshot();
    let packs = Arc::new(RulePacks::builtin());
    let (_, same) = Engine::restore(&bytes, Arc::new(Calendar::builtin()), packs.clone()).unwrap();
    assert!(same.is_empty());
    let calendar = calendar_with(2025, &transfer("2025-05-10", true));
    let (restored, changes) = Engine::restore(&bytes, calendar, packs).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.active));
    let may_13 = Some(day("2025-05-13"));
    assert_eq!(
        protocol_verdicts(&restored),
        vec![
            (Rule::ProtocolMissing, IS, may_13),
            (Rule::ProtocolMissing, MIO, may_13)
        ]
    );
}
