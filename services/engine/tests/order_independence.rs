//! The engine's result does not depend on how the events arrived.
//!
//! DESIGN.md: "For a given set of valid events and an as-of instant, the active violations
//! are the same whatever order the events arrived in, however often, and however the work
//! was split or restarted." These properties take random hearings (`generate/mod.rs`),
//! then duplicate, shuffle and split their events: the streaming [`Engine`] takes them in
//! chunks while its clock moves in random steps, is snapshotted and restored at random
//! points, holds now and then as a processor reading a backlog does, and sometimes gets
//! another calendar (a transfer order added or withdrawn). After every step its active
//! findings must equal the batch oracle's (`oracle/mod.rs`) for the events ingested so far
//! at the engine's clock, and the changes it returned must add up to those findings.
//!
//! A failing case prints the generated hearings and the seed of the stream's choices;
//! proptest shrinks the hearings.

mod generate;
mod oracle;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::Engine;
use hearwatch_engine::event::Event;
use hearwatch_engine::rule::RulePacks;
use hearwatch_engine::verdict::{Change, Finding};
use proptest::prelude::*;

use generate::{cases, hearing_spec, HearingSpec};
use oracle::Verdict;

/// SplitMix64: the stream's choices (duplicates, order, chunks, clock steps, restarts)
/// from one seed, so a failing case replays exactly.
struct Choices(u64);

impl Choices {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The builtin calendar, and one where later transfer orders added working Saturdays and
/// days off (as a mid-year order would).
fn calendars() -> [Arc<Calendar>; 2] {
    let transfer = |date: &str, working: bool| {
        format!(
            "[[transfer]]\ndate = \"{date}\"\nworking = {working}\n\
             source = \"test\"\nverified = false\n"
        )
    };
    let years = [
        (
            "2023.toml",
            include_str!("../../../data/calendar/2023.toml"),
            String::new(),
        ),
        (
            "2024.toml",
            include_str!("../../../data/calendar/2024.toml"),
            transfer("2024-02-23", false) + &transfer("2024-12-28", true),
        ),
        (
            "2025.toml",
            include_str!("../../../data/calendar/2025.toml"),
            transfer("2025-05-10", true) + &transfer("2025-12-29", false),
        ),
        (
            "2026.toml",
            include_str!("../../../data/calendar/2026.toml"),
            transfer("2026-01-05", false),
        ),
    ];
    let files = |extra: bool| -> Vec<(String, String)> {
        years
            .iter()
            .map(|(name, text, more)| {
                let text = if extra {
                    format!("{text}\n{more}")
                } else {
                    text.to_string()
                };
                (name.to_string(), text)
            })
            .collect()
    };
    [
        Arc::new(Calendar::from_files(&files(false)).unwrap()),
        Arc::new(Calendar::from_files(&files(true)).unwrap()),
    ]
}

/// The shipped rule pack, and the same with a later pack (5 working days for protocols,
/// 20 days' notice) from 2025-01-01, so the pack chosen by the receipt date matters.
fn rule_packs() -> [Arc<RulePacks>; 2] {
    let base = include_str!("../../../data/rules/2021-08-03.toml");
    let later = base
        .replace(
            "applies_from = \"2021-08-03\"",
            "applies_from = \"2025-01-01\"",
        )
        .replace("protocol_working_days = 4", "protocol_working_days = 5")
        .replace(
            "short_notice_calendar_days = 30",
            "short_notice_calendar_days = 20",
        );
    [
        Arc::new(RulePacks::builtin()),
        Arc::new(
            RulePacks::from_files(&[("a.toml".into(), base.into()), ("b.toml".into(), later)])
                .unwrap(),
        ),
    ]
}

/// The engine's active findings in the oracle's shape. Checks on the way that the
/// violation counts the engine keeps change by change are those of its findings.
fn engine_verdicts(engine: &Engine) -> BTreeSet<Verdict> {
    let findings = engine.findings();
    let mut counted: BTreeMap<(String, String), u64> = BTreeMap::new();
    for finding in &findings {
        if let Finding::Violation(v) = finding {
            *counted
                .entry((v.rule.to_string(), v.region.to_string()))
                .or_default() += 1;
        }
    }
    let kept: BTreeMap<(String, String), u64> = engine
        .active_violations()
        .map(|(rule, region, n)| ((rule.to_string(), region.to_string()), n))
        .collect();
    assert_eq!(
        kept, counted,
        "kept violation counts differ from the findings"
    );
    findings.iter().map(oracle::of_finding).collect()
}

/// Applies changes to the findings a consumer of the engine would hold.
fn apply(mirror: &mut BTreeMap<String, Finding>, changes: Vec<Change>) {
    for change in changes {
        if change.active {
            mirror.insert(change.finding.id(), change.finding);
        } else {
            mirror.remove(&change.finding.id());
        }
    }
}

/// Drives the engine through one random arrival of the hearings' events and checks it
/// against the oracle after every step. Returns a description of the first disagreement.
fn run_case(specs: &[HearingSpec], seed: u64, packs: Arc<RulePacks>) -> Result<(), String> {
    let [plain, transferred] = calendars();
    let mut choices = Choices(seed);
    let mut stream: Vec<Event> = Vec::new();
    for (n, spec) in specs.iter().enumerate() {
        for event in spec.events(n) {
            for _ in 0..1 + choices.below(5) / 4 + choices.below(10) / 9 {
                stream.push(event.clone());
            }
        }
    }
    for i in (1..stream.len()).rev() {
        stream.swap(i, choices.below(i as u64 + 1) as usize);
    }
    let times: Vec<DateTime<Utc>> = stream.iter().map(|e| e.occurred_at).collect();
    let (Some(&start), Some(&end)) = (times.iter().min(), times.iter().max()) else {
        return Ok(());
    };
    let random_instant = |c: &mut Choices| match c.below(3) {
        // Exactly an event's instant, or a second before or after it.
        0 => times[c.below(times.len() as u64) as usize] + Duration::seconds(c.below(3) as i64 - 1),
        _ => start + Duration::seconds(c.below((end - start).num_seconds() as u64 + 1) as i64),
    };

    let mut calendar = if choices.chance(20) {
        &transferred
    } else {
        &plain
    };
    let clock = start - Duration::seconds(choices.below(10 * 86_400) as i64);
    let mut engine = Engine::new(calendar.clone(), packs.clone(), clock);
    let mut mirror = BTreeMap::new();
    let mut ingested: Vec<Event> = Vec::new();
    let mut rest = &stream[..];
    let mut step = 0;
    while !rest.is_empty() {
        step += 1;
        let take = (1 + choices.below(5) as usize).min(rest.len());
        for event in &rest[..take] {
            let (_, changes) = engine.ingest(event.clone());
            apply(&mut mirror, changes);
            ingested.push(event.clone());
        }
        rest = &rest[take..];
        match choices.below(10) {
            0..=3 => {}
            4..=5 => {
                let now = engine.clock() + Duration::seconds(choices.below(3 * 86_400) as i64);
                apply(&mut mirror, engine.advance_to(now).changes);
            }
            6..=7 => apply(
                &mut mirror,
                engine.advance_to(random_instant(&mut choices)).changes,
            ),
            _ => {
                let now = engine.clock() + Duration::days(choices.below(40) as i64);
                apply(&mut mirror, engine.advance_to(now).changes);
            }
        }
        if choices.chance(15) {
            let bytes = engine.snapshot();
            let (restored, changes) = Engine::restore(&bytes, calendar.clone(), packs.clone())
                .map_err(|e| e.to_string())?;
            if !changes.is_empty() {
                return Err(format!(
                    "step {step}: restore with the same data changed {changes:?}"
                ));
            }
            // A holding engine comes back with every hearing waiting for release, so
            // only a running one must come back byte for byte.
            if !engine.is_holding() && restored.snapshot() != bytes {
                return Err(format!(
                    "step {step}: snapshot of the restored engine differs"
                ));
            }
            engine = restored;
        }
        if choices.chance(5) {
            calendar = if Arc::ptr_eq(calendar, &plain) {
                &transferred
            } else {
                &plain
            };
            apply(&mut mirror, engine.set_calendar(calendar.clone()));
        }
        // A processor holds while it reads a backlog; nothing is evaluated meanwhile, and on
        // release the held hearings are, then the timers that came due fire.
        if engine.is_holding() {
            if choices.chance(60) {
                continue;
            }
            apply(&mut mirror, engine.release());
            apply(&mut mirror, engine.advance_to(engine.clock()).changes);
        } else if choices.chance(5) {
            engine.hold();
        }
        check(
            &engine,
            &mirror,
            &ingested,
            calendar,
            &packs,
            &format!("step {step}"),
        )?;
    }
    apply(&mut mirror, engine.release());
    for days in [1 + choices.below(60) as i64, 400] {
        apply(
            &mut mirror,
            engine.advance_to(end + Duration::days(days)).changes,
        );
        check(&engine, &mirror, &ingested, calendar, &packs, "the end")?;
    }
    Ok(())
}

fn check(
    engine: &Engine,
    mirror: &BTreeMap<String, Finding>,
    ingested: &[Event],
    calendar: &Calendar,
    packs: &RulePacks,
    when: &str,
) -> Result<(), String> {
    let clock = engine.clock();
    let want = oracle::verdicts(ingested, clock, calendar, packs);
    let have = engine_verdicts(engine);
    if have != want {
        let only_engine: Vec<_> = have.difference(&want).collect();
        let only_oracle: Vec<_> = want.difference(&have).collect();
        return Err(format!(
            "{when}, clock {clock}: engine only {only_engine:#?}\noracle only {only_oracle:#?}"
        ));
    }
    let mirrored: BTreeSet<Verdict> = mirror.values().map(oracle::of_finding).collect();
    if mirrored != have {
        return Err(format!(
            "{when}: the changes returned do not add up to the findings"
        ));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(15_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// One to three hearings per case, the shipped rule pack.
    #[test]
    fn the_engine_agrees_with_the_oracle_whatever_the_arrival(
        specs in prop::collection::vec(hearing_spec(), 1..=3),
        seed in any::<u64>(),
    ) {
        let [packs, _] = rule_packs();
        if let Err(disagreement) = run_case(&specs, seed, packs) {
            prop_assert!(false, "{}", disagreement);
        }
    }

    /// Single hearings under two rule packs, the later one applying from 2025.
    #[test]
    fn the_rule_pack_in_force_at_the_receipt_decides(
        spec in hearing_spec(),
        seed in any::<u64>(),
    ) {
        let [_, packs] = rule_packs();
        if let Err(disagreement) = run_case(&[spec], seed, packs) {
            prop_assert!(false, "{}", disagreement);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(2_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The same events in three arrivals (as generated, reversed, each twice), with a
    /// restart every third event, end in the same state: the same findings and timers now
    /// and, with the clock run far ahead, later. The state is a function of the events and
    /// the clock, not of their history. (Its bytes are not: the engine numbers hearings and
    /// texts in the order it first meets them.)
    #[test]
    fn any_arrival_of_the_same_events_ends_in_the_same_state(
        specs in prop::collection::vec(hearing_spec(), 1..=3),
        days_after in 0i64..=90,
    ) {
        let events: Vec<Event> =
            specs.iter().enumerate().flat_map(|(n, s)| s.events(n)).collect();
        let [calendar, _] = calendars();
        let [packs, _] = rule_packs();
        let Some(last) = events.iter().map(|e| e.occurred_at).max() else {
            return Ok(());
        };
        let clock = last - Duration::days(30) + Duration::days(days_after);
        let state_after = |order: Vec<Event>| {
            let mut engine = Engine::new(calendar.clone(), packs.clone(), clock);
            for (i, event) in order.into_iter().enumerate() {
                engine.ingest(event);
                if i % 3 == 0 {
                    let bytes = engine.snapshot();
                    engine = Engine::restore(&bytes, calendar.clone(), packs.clone()).unwrap().0;
                }
            }
            let now = observable(&engine);
            engine.advance_to(clock + Duration::days(400));
            (now, observable(&engine))
        };
        let mut reversed = events.clone();
        reversed.reverse();
        let doubled: Vec<Event> = events.iter().chain(events.iter()).cloned().collect();
        let state = state_after(events);
        prop_assert_eq!(&state, &state_after(reversed));
        prop_assert_eq!(&state, &state_after(doubled));
    }
}

/// What an engine shows: its findings in full, sorted, and its timers.
fn observable(engine: &Engine) -> (Vec<String>, Option<DateTime<Utc>>, usize, usize) {
    let mut findings: Vec<String> = engine.findings().iter().map(|f| format!("{f:?}")).collect();
    findings.sort();
    (
        findings,
        engine.next_timer(),
        engine.pending_timers(),
        engine.hearing_count(),
    )
}
