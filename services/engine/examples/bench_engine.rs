//! Engine throughput against a parse-only baseline over the same file, one thread each.
//!
//! `cargo run --release -p hearwatch-engine --example bench_engine -- FILE [AS_OF] [ROUNDS]
//! [PASSES]` prints one JSON object: events, the best rate of each pass over ROUNDS rounds
//! (the machine is shared, so the best round is the least disturbed), and their ratio.
//! PASSES is `both` (the default), or `parse` or `replay` alone, for profiling one. The
//! baseline decodes every event and drops it; the replay decodes every event, feeds it to
//! a fresh engine holding its timers, then evaluates every hearing at AS_OF, as
//! `hearwatch replay` does. Freeing the engine afterwards is not timed: it is teardown, not
//! work on events, and it cost a sixth of the pass (glibc consolidating a million small
//! blocks), which a process that exits never pays.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::Engine;
use hearwatch_engine::event::decode;
use hearwatch_engine::rule::RulePacks;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: bench_engine FILE [AS_OF] [ROUNDS] [PASSES]");
    let as_of: DateTime<Utc> = args
        .next()
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .expect("AS_OF is RFC 3339")
                .with_timezone(&Utc)
        })
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".parse().expect("an instant"));
    let rounds: usize = args
        .next()
        .map(|r| r.parse().expect("ROUNDS is a number"))
        .unwrap_or(3);
    let passes = args.next().unwrap_or_else(|| "both".into());
    let (parse_rounds, replay_rounds) = match passes.as_str() {
        "both" => (rounds, rounds),
        "parse" => (rounds, 0),
        "replay" => (0, rounds),
        other => panic!("PASSES is both, parse or replay, not {other:?}"),
    };
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let calendar = Arc::new(Calendar::builtin());
    let packs = Arc::new(RulePacks::builtin());

    let parse = best_rate(parse_rounds, lines.len(), || {
        for line in &lines {
            black_box(decode(line, None).ok());
        }
    });
    let mut findings = 0;
    // The split of the fastest replay between taking the events in and evaluating them.
    let mut split = (f64::MAX, 0.0, 0.0);
    let replay = best_rate(replay_rounds, lines.len(), || {
        let started = Instant::now();
        let mut engine = Engine::new(calendar.clone(), packs.clone(), as_of);
        engine.hold();
        for line in &lines {
            if let Ok(event) = decode(line, None) {
                black_box(engine.ingest(event));
            }
        }
        let ingested = started.elapsed().as_secs_f64();
        findings = engine.release().len();
        let total = started.elapsed().as_secs_f64();
        if total < split.0 {
            split = (total, ingested, total - ingested);
        }
        engine
    });
    let ratio = if parse > 0.0 && replay > 0.0 {
        format!("{:.3}", replay / parse)
    } else {
        "null".into()
    };
    println!(
        "{{\"events\": {}, \"findings\": {findings}, \"parse_only_events_per_s\": {parse:.0}, \
         \"replay_events_per_s\": {replay:.0}, \"replay_ratio\": {ratio}, \
         \"replay_ingest_s\": {:.3}, \"replay_release_s\": {:.3}}}",
        lines.len(),
        split.1,
        split.2,
    );
}

/// Events per second of the fastest of `rounds` runs of `pass`; 0 for no round. What a pass
/// returns is dropped after its time is taken.
fn best_rate<T>(rounds: usize, events: usize, mut pass: impl FnMut() -> T) -> f64 {
    (0..rounds)
        .map(|_| {
            let started = Instant::now();
            let kept = pass();
            let rate = events as f64 / started.elapsed().as_secs_f64();
            drop(kept);
            rate
        })
        .fold(0.0, f64::max)
}
