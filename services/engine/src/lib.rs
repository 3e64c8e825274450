//! hearwatch's rules engine: a pure library, driven by events and a clock.
//!
//! It knows nothing of Kafka or ClickHouse; the `hearwatch` binary wires it to them.
//!
//! - [`region`]: the vocabularies: regions with their zones, forms, documents, channels.
//! - [`event`]: the input contract (events v1) and its decoder with dead-letter reasons.
//! - [`calendar`]: working days of the Kazakh five-day week, from dated data files.
//! - [`rule`]: the rules and the dated rule packs that parametrise them.
//! - [`verdict`]: findings (violations and placements) and their identities.
//! - [`hearing`]: evaluating one hearing's events at an instant.
//! - [`engine`]: the streaming engine: hearings, timers, changes, and its snapshots.
//! - [`explain`]: one hearing's timeline, deadlines and verdicts, explained.
//! - [`rollup`]: the report's two monthly tables, from findings.
//! - [`report`]: the report rendered as text, tables and JSON.
//! - [`simulate`]: scenarios of events, for demos, tests and benchmarks.

pub mod calendar;
pub mod engine;
pub mod event;
pub mod explain;
pub mod hearing;
pub mod region;
pub mod report;
pub mod rollup;
pub mod rule;
pub mod simulate;
pub mod verdict;
