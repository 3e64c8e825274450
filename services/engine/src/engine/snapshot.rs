//! The engine's state as bytes: what [`Engine::snapshot`] writes and [`Engine::restore`]
//! reads.
//!
//! The format is binary, since a processor may hold a million hearings: each hearing's
//! event log is stored as the engine keeps it (see the `store` submodule), behind a
//! header that names the format. Equal states give equal bytes.
//!
//! A snapshot also carries the calendar and rule pack files the state was evaluated with.
//! Restoring with the same data is then a matter of reading the bytes back; restoring with
//! other data (a transfer order added while the processor was down) re-evaluates every
//! hearing under both and returns exactly the retractions and emissions the new data
//! brings. Timers are not stored: each hearing has at most one, at its `wake`.
//!
//! # Layout
//!
//! `HWSNAP`, the format (u32, little endian), then varints and length-prefixed UTF-8
//! texts and byte strings, as `store` writes them: the names of the regions, forms,
//! documents, channels and rules in the order the numbers below refer to them (a build
//! that names them otherwise refuses the snapshot); the clock; the latest instant the
//! state depends on (`0`, or `1` and the instant); the calendar files and the
//! rule pack files (each a name and a text); the shared texts; the active violations by
//! rule and region; the hold (`0`, or `1`, the held hearings' numbers and the findings
//! they had before, as JSON); the hearings (id, region, form, flags, wake, event log).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::store::{self, FastHash, Reader, Strings};
use super::{Engine, Hearing, Held};
use crate::calendar::Calendar;
use crate::region::{Channel, Document, Form, Region};
use crate::rule::{Rule, RulePacks};
use crate::verdict::{Change, Finding};

/// The version of the format this build writes and reads. Format 1 was JSON and kept
/// every event in full; format 2 did not record the instant the state depends on.
pub const SNAPSHOT_FORMAT: u32 = 3;

const MAGIC: &[u8] = b"HWSNAP";

/// A snapshot that cannot be restored. Every variant is permanent for those bytes: the
/// caller rebuilds the state from the input topic instead.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The bytes are not a snapshot of any known shape.
    #[error("engine snapshot is unreadable: {0}")]
    Unreadable(String),
    /// The snapshot was written by a build with another format.
    #[error("engine snapshot has format {found}, this build reads format {SNAPSHOT_FORMAT}")]
    Format { found: u32 },
    /// The snapshot numbers regions, forms, documents, channels or rules otherwise than
    /// this build.
    #[error("engine snapshot names regions, forms, documents, channels or rules otherwise than this build")]
    Names,
    /// The snapshot contradicts itself (a hearing twice, an event id twice in a hearing).
    #[error("engine snapshot is inconsistent: {0}")]
    Inconsistent(String),
}

impl Engine {
    /// The engine's whole state: clock, data, hearings (events, next wake), counts, and the
    /// hold. Equal states give equal bytes. See [`SNAPSHOT_FORMAT`].
    pub fn snapshot(&self) -> Vec<u8> {
        let logs: usize = self.hearings.iter().map(|h| h.log.len() + 48).sum();
        let mut w = Vec::with_capacity(logs + 4096);
        w.extend_from_slice(MAGIC);
        w.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        write_bytes(&mut w, names().as_bytes());
        store::write_instant(&mut w, self.clock);
        match self.settled_by {
            None => w.push(0),
            Some(at) => {
                w.push(1);
                store::write_instant(&mut w, at);
            }
        }
        write_files(&mut w, &self.calendar.files());
        write_files(&mut w, &self.packs.files());
        let strings = self.strings.all();
        store::write_varint(&mut w, strings.len() as u64);
        for text in strings {
            write_bytes(&mut w, text.as_bytes());
        }
        store::write_varint(&mut w, self.violations.len() as u64);
        for (&(rule, region), &count) in &self.violations {
            w.push(store::index_of(&Rule::ALL, rule));
            w.push(region_number(region));
            store::write_varint(&mut w, count);
        }
        match &self.held {
            None => w.push(0),
            Some(held) => {
                w.push(1);
                store::write_varint(&mut w, held.order.len() as u64);
                for &n in &held.order {
                    store::write_varint(&mut w, u64::from(n));
                }
                let before: BTreeMap<u32, &Vec<Finding>> =
                    held.before.iter().map(|(n, f)| (*n, f)).collect();
                let json = serde_json::to_vec(&before).expect("findings serialize");
                write_bytes(&mut w, &json);
            }
        }
        store::write_varint(&mut w, self.hearings.len() as u64);
        for h in &self.hearings {
            write_bytes(&mut w, h.id.as_bytes());
            w.push(region_number(h.region));
            w.push(store::index_of(Form::ALL, h.form));
            w.push(u8::from(h.waiting_for_calendar) | u8::from(h.held) << 1);
            match h.wake {
                None => w.push(0),
                Some(at) => {
                    w.push(1);
                    store::write_instant(&mut w, at);
                }
            }
            write_bytes(&mut w, &h.log);
        }
        w
    }

    /// An engine from a [`snapshot`](Engine::snapshot), with the calendar and rule packs
    /// to use from now on.
    ///
    /// When the calendar or the packs differ from the data the snapshot was taken with,
    /// every hearing is re-evaluated, as [`Engine::set_calendar`] does, and the changes are
    /// returned: exactly the retractions and emissions the new data brings. With the same
    /// data there are none. A holding engine stays holding.
    pub fn restore(
        bytes: &[u8],
        calendar: Arc<Calendar>,
        packs: Arc<RulePacks>,
    ) -> Result<(Engine, Vec<Change>), SnapshotError> {
        let unreadable = |what: &str| SnapshotError::Unreadable(what.to_string());
        let Some(rest) = bytes.strip_prefix(MAGIC) else {
            return Err(unreadable("it does not start with HWSNAP"));
        };
        let mut r = Reader::new(rest);
        let format = r
            .bytes(4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| unreadable("no format"))?;
        if format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format { found: format });
        }
        if read_text(&mut r, "the names")? != names() {
            return Err(SnapshotError::Names);
        }
        let clock = r.instant().ok_or_else(|| unreadable("no clock"))?;
        let settled_by = match r.u8() {
            Some(0) => None,
            Some(1) => Some(
                r.instant()
                    .ok_or_else(|| unreadable("a bad settled instant"))?,
            ),
            _ => return Err(unreadable("no settled instant")),
        };
        let then_calendar = Calendar::from_files(&read_files(&mut r, "calendar")?)
            .map_err(|e| SnapshotError::Inconsistent(format!("its calendar: {e}")))?;
        let then_packs = RulePacks::from_files(&read_files(&mut r, "rule pack")?)
            .map_err(|e| SnapshotError::Inconsistent(format!("its rule packs: {e}")))?;
        let count = read_count(&mut r, "texts")?;
        let mut texts = Vec::with_capacity(count.min(1 << 16));
        for _ in 0..count {
            texts.push(Arc::from(read_text(&mut r, "a text")?));
        }
        let strings = Strings::from_list(texts)
            .ok_or_else(|| SnapshotError::Inconsistent("a shared text twice".into()))?;
        let mut violations = BTreeMap::new();
        for _ in 0..read_count(&mut r, "violation counts")? {
            let rule = r.u8().and_then(|i| Rule::ALL.get(usize::from(i)));
            let region = r.u8().and_then(|i| Region::all().nth(usize::from(i)));
            let count = r.varint();
            let (Some(&rule), Some(region), Some(count)) = (rule, region, count) else {
                return Err(unreadable("a bad violation count"));
            };
            violations.insert((rule, region), count);
        }
        let held = match r.u8() {
            Some(0) => None,
            Some(1) => {
                let mut order = Vec::new();
                for _ in 0..read_count(&mut r, "held hearings")? {
                    let n = r.varint().ok_or_else(|| unreadable("a held hearing"))?;
                    order.push(u32::try_from(n).map_err(|_| unreadable("a held hearing"))?);
                }
                let json = read_bytes(&mut r, "the findings before the hold")?;
                let before: BTreeMap<u32, Vec<Finding>> = serde_json::from_slice(json)
                    .map_err(|e| SnapshotError::Unreadable(e.to_string()))?;
                let before: HashMap<u32, Vec<Finding>, FastHash> = before.into_iter().collect();
                Some(Held { order, before })
            }
            _ => return Err(unreadable("a bad hold")),
        };
        let count = read_count(&mut r, "hearings")?;
        let mut engine = Engine::new(Arc::new(then_calendar), Arc::new(then_packs), clock);
        engine.hearings.reserve(count);
        engine.numbers.reserve(count);
        engine.strings = strings;
        engine.violations = violations;
        engine.settled_by = settled_by;
        for n in 0..count as u32 {
            let id: Arc<str> = Arc::from(read_text(&mut r, "a hearing id")?);
            let region = r.u8().and_then(|i| Region::all().nth(usize::from(i)));
            let form = r.u8().and_then(|i| Form::ALL.get(usize::from(i)));
            let flags = r.u8();
            let (Some(region), Some(&form), Some(flags)) = (region, form, flags) else {
                return Err(SnapshotError::Unreadable(format!("hearing {id}")));
            };
            let wake = match r.u8() {
                Some(0) => None,
                Some(1) => Some(r.instant().ok_or_else(|| unreadable("a wake"))?),
                _ => return Err(unreadable("a wake")),
            };
            let log = read_bytes(&mut r, "an event log")?;
            store::check(log, &engine.strings)
                .map_err(|e| SnapshotError::Inconsistent(format!("hearing {id}: {e}")))?;
            if engine.numbers.insert(id.clone(), n).is_some() {
                return Err(SnapshotError::Inconsistent(format!("hearing {id} twice")));
            }
            if let Some(wake) = wake {
                engine.timers.insert((wake, n));
            }
            engine.hearings.push(Hearing {
                id,
                region,
                form,
                wake,
                waiting_for_calendar: flags & 1 != 0,
                held: flags & 2 != 0,
                log: log.into(),
            });
        }
        if !r.rest().is_empty() {
            return Err(unreadable("bytes after the last hearing"));
        }
        check_hold(&engine, held.as_ref())?;
        engine.held = held;
        let same_data = engine.calendar.fingerprint() == calendar.fingerprint()
            && engine.packs.files() == packs.files();
        if same_data {
            engine.calendar = calendar;
            engine.packs = packs;
            return Ok((engine, Vec::new()));
        }
        // The packs come first: `set_calendar` evaluates the findings before the change
        // with the calendar in force, so the packs in force then must be the old ones too.
        let changes = engine.set_data(calendar, packs);
        Ok((engine, changes))
    }
}

/// Every held hearing exists and is flagged, and only those are.
fn check_hold(engine: &Engine, held: Option<&Held>) -> Result<(), SnapshotError> {
    let inconsistent = |what: String| Err(SnapshotError::Inconsistent(what));
    let flagged = engine.hearings.iter().filter(|h| h.held).count();
    let Some(held) = held else {
        return match flagged {
            0 => Ok(()),
            _ => inconsistent("a hearing is held by an engine that is not holding".into()),
        };
    };
    let mut seen = vec![false; engine.hearings.len()];
    for &n in &held.order {
        match engine.hearings.get(n as usize) {
            Some(h) if h.held && !seen[n as usize] => seen[n as usize] = true,
            _ => return inconsistent(format!("held hearing number {n}")),
        }
    }
    if held.order.len() != flagged || held.before.keys().any(|n| !seen[*n as usize]) {
        return inconsistent("the held hearings disagree".into());
    }
    Ok(())
}

/// The names of the values numbered in snapshots and event logs, in number order.
fn names() -> String {
    let mut names: Vec<&str> = Region::all().map(Region::code).collect();
    names.extend(Form::ALL.iter().map(|f| f.as_str()));
    names.extend(Document::ALL.iter().map(|d| d.as_str()));
    names.extend(Channel::ALL.iter().map(|c| c.as_str()));
    names.extend(Rule::ALL.iter().map(|r| r.as_str()));
    names.join(" ")
}

fn region_number(region: Region) -> u8 {
    (region.row() - 1) as u8
}

fn write_bytes(w: &mut Vec<u8>, bytes: &[u8]) {
    store::write_varint(w, bytes.len() as u64);
    w.extend_from_slice(bytes);
}

fn write_files(w: &mut Vec<u8>, files: &[(String, String)]) {
    store::write_varint(w, files.len() as u64);
    for (name, text) in files {
        write_bytes(w, name.as_bytes());
        write_bytes(w, text.as_bytes());
    }
}

fn read_count(r: &mut Reader<'_>, what: &str) -> Result<usize, SnapshotError> {
    r.varint()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n <= r.rest().len())
        .ok_or_else(|| SnapshotError::Unreadable(format!("no count of {what}")))
}

fn read_bytes<'a>(r: &mut Reader<'a>, what: &str) -> Result<&'a [u8], SnapshotError> {
    let n = read_count(r, what)?;
    r.bytes(n)
        .ok_or_else(|| SnapshotError::Unreadable(format!("{what} is cut short")))
}

fn read_text<'a>(r: &mut Reader<'a>, what: &str) -> Result<&'a str, SnapshotError> {
    std::str::from_utf8(read_bytes(r, what)?)
        .map_err(|_| SnapshotError::Unreadable(format!("{what} is not UTF-8")))
}

fn read_files(r: &mut Reader<'_>, what: &str) -> Result<Vec<(String, String)>, SnapshotError> {
    let mut files = Vec::new();
    for _ in 0..read_count(r, what)? {
        let name = read_text(r, what)?.to_string();
        let text = read_text(r, what)?.to_string();
        files.push((name, text));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    fn engine_with(hearings: &[&str]) -> Engine {
        engine_at("2025-06-01T00:00:00Z".parse().unwrap(), hearings)
    }

    fn engine_at(clock: chrono::DateTime<chrono::Utc>, hearings: &[&str]) -> Engine {
        let calendar = Arc::new(Calendar::builtin());
        let mut engine = Engine::new(calendar, Arc::new(RulePacks::builtin()), clock);
        for (i, hearing) in hearings.iter().enumerate() {
            let event = format!(
                r#"{{"event_id":"00000000-0000-4000-8000-00000000000{i}","hearing_id":"{hearing}",
                "region":"KZ-19","form":"open_meeting","occurred_at":"2025-05-02T10:00:00+05:00",
                "source":"test","type":"application_received",
                "hearing_at":"2025-06-10T11:00:00+05:00"}}"#
            );
            let (outcome, _) = engine.ingest(decode(event.as_bytes(), None).unwrap());
            assert_eq!(outcome, super::super::Outcome::Applied);
        }
        engine
    }

    fn restore(bytes: &[u8]) -> Result<(Engine, Vec<Change>), SnapshotError> {
        let calendar = Arc::new(Calendar::builtin());
        Engine::restore(bytes, calendar, Arc::new(RulePacks::builtin()))
    }

    #[test]
    fn a_snapshot_restores_and_writes_the_same_bytes() {
        let engine = engine_with(&["H-1", "H-2"]);
        let bytes = engine.snapshot();
        let (restored, changes) = restore(&bytes).unwrap();
        assert!(changes.is_empty());
        assert_eq!(restored.hearing_count(), 2);
        assert_eq!(restored.next_timer(), engine.next_timer());
        assert_eq!(restored.clock().to_rfc3339(), "2025-06-01T00:00:00+00:00");
        assert_eq!(restored.snapshot(), bytes);
    }

    #[test]
    fn a_snapshot_of_another_format_is_refused() {
        let mut bytes = engine_with(&["H-1"]).snapshot();
        bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&(SNAPSHOT_FORMAT + 1).to_le_bytes());
        let err = restore(&bytes).unwrap_err();
        assert!(matches!(err, SnapshotError::Format { found } if found == SNAPSHOT_FORMAT + 1));
    }

    #[test]
    fn bytes_that_are_no_snapshot_are_unreadable() {
        assert!(matches!(
            restore(b"{\"format\":1}").unwrap_err(),
            SnapshotError::Unreadable(_)
        ));
        let bytes = engine_with(&["H-1", "H-2"]).snapshot();
        for cut in 0..bytes.len() {
            assert!(restore(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn no_byte_flipped_makes_restore_panic() {
        let bytes = engine_with(&["H-1", "H-2"]).snapshot();
        // Every byte of the header and of the hearings at the end; in between lie the
        // calendar and rule files, whose parsing has tests of its own, so every 7th.
        let every = (0..bytes.len()).filter(|&i| i < 64 || i + 512 > bytes.len() || i % 7 == 0);
        for i in every {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                let _ = restore(&bad);
            }
        }
    }

    #[test]
    fn a_hearing_stored_twice_is_inconsistent() {
        let bytes = engine_with(&["H-1", "H-2"]).snapshot();
        let at = bytes.windows(3).rposition(|w| w == b"H-2").unwrap();
        let mut twice = bytes.clone();
        twice[at..at + 3].copy_from_slice(b"H-1");
        let err = restore(&twice).unwrap_err();
        assert_eq!(
            err.to_string(),
            "engine snapshot is inconsistent: hearing H-1 twice"
        );
    }

    fn sorted_findings(engine: &Engine) -> Vec<String> {
        let mut findings: Vec<String> =
            engine.findings().iter().map(|f| format!("{f:?}")).collect();
        findings.sort();
        findings
    }

    #[test]
    fn the_clock_goes_back_only_as_far_as_nothing_decided_changes() {
        // The hearing's announcement deadline passed in May, before the clock (1 June):
        // the engine knows the last instant its verdicts depend on, and an engine started
        // at that instant (an independent evaluation) has the same findings, while one
        // started a second earlier has fewer (the deadline has not passed there yet).
        let mut engine = engine_with(&["H-1"]);
        let before = sorted_findings(&engine);
        let settled = engine
            .rewind("2025-01-01T00:00:00Z".parse().unwrap())
            .unwrap_err();
        assert!(settled < engine.clock());
        assert_eq!(sorted_findings(&engine_at(settled, &["H-1"])), before);
        let earlier = settled - chrono::Duration::seconds(1);
        assert_ne!(sorted_findings(&engine_at(earlier, &["H-1"])), before);

        // A snapshot keeps that instant.
        let (mut restored, _) = restore(&engine.snapshot()).unwrap();
        assert_eq!(restored.rewind(earlier), Err(settled));
        assert_eq!(restored.rewind(settled), Ok(()));
        assert_eq!(restored.clock(), settled);
        assert_eq!(sorted_findings(&restored), before);

        assert_eq!(engine.rewind(settled), Ok(()));
        assert_eq!(engine.clock(), settled);
    }
}
