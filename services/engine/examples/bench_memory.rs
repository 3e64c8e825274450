//! Resident memory per open hearing: the engine alone, holding every hearing of a file.
//!
//! `cargo run --release -p hearwatch-engine --example bench_memory -- FILE [AS_OF]` reads the
//! file a line at a time (so the file itself is never resident), feeds every event to one
//! engine, evaluates every hearing at AS_OF as a processor does when it catches up, and
//! prints one JSON object: hearings, events, the resident set size before the first event
//! and after the last evaluation, and their difference per hearing. The resident size comes
//! from `/proc/self/statm`, so it counts what the allocator keeps as well as what the
//! engine uses, which is what an operator pays for. The findings the evaluation returns
//! are dropped and freed memory handed back before the last figure, as a processor does
//! once it has written them; the peak before that is printed too.

use std::io::{BufRead, BufReader};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::Engine;
use hearwatch_engine::event::decode;
use hearwatch_engine::rule::RulePacks;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: bench_memory FILE [AS_OF]");
    let as_of: DateTime<Utc> = args
        .next()
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .expect("AS_OF is RFC 3339")
                .with_timezone(&Utc)
        })
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".parse().expect("an instant"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut input = BufReader::with_capacity(1 << 20, file);
    let calendar = Arc::new(Calendar::builtin());
    let packs = Arc::new(RulePacks::builtin());

    let mut engine = Engine::new(calendar, packs, as_of);
    engine.hold();
    let baseline = resident_bytes();
    let (mut events, mut line) = (0usize, Vec::new());
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).expect("readable") == 0 {
            break;
        }
        let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
        if let Ok(event) = decode(bytes, None) {
            engine.ingest(event);
            events += 1;
        }
    }
    let held = resident_bytes();
    let changes = engine.release();
    let findings = changes.len();
    let evaluated = resident_bytes();
    // The findings of a backlog are written out and dropped; a processor then hands the
    // memory they took back to the system, as this does.
    drop(changes);
    trim();
    let settled = resident_bytes();
    let hearings = engine.hearing_count();
    println!(
        "{{\"hearings\": {hearings}, \"events\": {events}, \"findings\": {findings}, \
         \"baseline_rss_bytes\": {baseline}, \"held_rss_bytes\": {held}, \
         \"peak_rss_bytes\": {evaluated}, \"rss_bytes\": {settled}, \
         \"bytes_per_open_hearing\": {:.0}}}",
        (settled.saturating_sub(baseline)) as f64 / hearings.max(1) as f64
    );
}

/// Returns freed memory to the system, as the processor does after a backlog.
fn trim() {
    // SAFETY: malloc_trim only walks glibc's own free lists; it takes no pointer.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The resident set size of this process, in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field is the resident pages");
    // Every Linux platform this runs on uses 4 KiB pages; sysconf would need libc.
    pages * 4096
}
