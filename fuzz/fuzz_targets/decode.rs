//! Any bytes, as a Kafka message value: the decoder must answer with an event or a
//! dead-letter reason, never panic, and every event it accepts must go through the engine.
#![no_main]

use std::sync::{Arc, OnceLock};

use chrono::{TimeZone, Utc};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::engine::Engine;
use hearwatch_engine::event::decode;
use hearwatch_engine::rule::RulePacks;
use libfuzzer_sys::fuzz_target;

fn data() -> &'static (Arc<Calendar>, Arc<RulePacks>) {
    static DATA: OnceLock<(Arc<Calendar>, Arc<RulePacks>)> = OnceLock::new();
    DATA.get_or_init(|| (Arc::new(Calendar::builtin()), Arc::new(RulePacks::builtin())))
}

fuzz_target!(|bytes: &[u8]| {
    let key = bytes.split(|b| *b == b'\n').next();
    let _ = decode(bytes, key);
    if let Ok(event) = decode(bytes, None) {
        let (calendar, packs) = data();
        let clock = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let mut engine = Engine::new(calendar.clone(), packs.clone(), clock);
        engine.ingest(event.clone());
        engine.ingest(event);
        engine.advance_to(clock);
    }
});
