//! Engine throughput against a parse-only baseline over the same file, one thread each.
//!
//! `cargo run --release -p hearwatch-engine --example bench_engine -- FILE [AS_OF] [ROUNDS]`
//! prints one JSON object: events, the best rate of each pass over ROUNDS rounds (the
//! machine is shared, so the best round is the least disturbed), and their ratio. The
//! baseline decodes every event and drops it; the replay decodes every event, feeds it to
//! a fresh engine holding its timers, then evaluates every hearing at AS_OF, as
//! `hearwatch replay` does.

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
    let path = args.next().expect("usage: bench_engine FILE [AS_OF] [ROUNDS]");
    let as_of: DateTime<Utc> = args
        .next()
        .map(|t| DateTime::parse_from_rfc3339(&t).expect("AS_OF is RFC 3339").with_timezone(&Utc))
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".parse().expect("an instant"));
    let rounds: usize = args.next().map(|r| r.parse().expect("ROUNDS is a number")).unwrap_or(3);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let calendar = Arc::new(Calendar::builtin());
    let packs = Arc::new(RulePacks::builtin());

    let parse = best_rate(rounds, lines.len(), || {
        for line in &lines {
            black_box(decode(line, None).ok());
        }
    });
    let mut findings = 0;
    let replay = best_rate(rounds, lines.len(), || {
        let mut engine = Engine::new(calendar.clone(), packs.clone(), as_of);
        engine.hold();
        for line in &lines {
            if let Ok(event) = decode(line, None) {
                black_box(engine.ingest(event));
            }
        }
        findings = engine.release().len();
    });
    println!(
        "{{\"events\": {}, \"findings\": {findings}, \"parse_only_events_per_s\": {parse:.0}, \
         \"replay_events_per_s\": {replay:.0}, \"replay_ratio\": {:.3}}}",
        lines.len(),
        replay / parse
    );
}

/// Events per second of the fastest of `rounds` runs of `pass`.
fn best_rate(rounds: usize, events: usize, mut pass: impl FnMut()) -> f64 {
    (0..rounds.max(1))
        .map(|_| {
            let started = Instant::now();
            pass();
            events as f64 / started.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max)
}
