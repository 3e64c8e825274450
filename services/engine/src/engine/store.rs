//! How the engine keeps a hearing's events: one compact byte log per hearing.
//!
//! A hearing is held for weeks, and a processor holds hundreds of thousands of them, so
//! its events are not kept as decoded [`Event`]s but as entries of a byte log, in fold
//! order, holding only what the fold reads and what recognises a repeated event:
//!
//! - the event id (a canonical UUID as its 16-byte value, any other id as text);
//! - a 64-bit fingerprint of the whole payload, which tells a duplicate (same id, same
//!   fingerprint) from a conflicting duplicate (same id, another fingerprint);
//! - the occurrence instant and what the fold reads of the body.
//!
//! A publication that is not its document's first on its channel in fold order changes no
//! verdict, whatever arrives later (fold order puts an earlier event first, never a later
//! one), so it is kept as a *seen* entry: id and fingerprint only. The fields shared by
//! every event of a hearing (hearing id, region, form) are kept once, by the engine.
//!
//! Repeated texts (sections, and the parts of URLs around the hearing id, such as
//! `https://ecoportal.kz/hearings/` and `/protocol`) are kept once per engine in
//! [`Strings`] and referred to by number; other texts are stored in the entry.
//!
//! Fingerprint collisions: two different payloads of one event id share a fingerprint
//! with a chance of about 2^-64, in which case the later one is taken for a duplicate and
//! ignored rather than dead-lettered. Nothing else depends on the fingerprint.
//!
//! # Entry layout
//!
//! `len` (varint, bytes after it), `kind` (u8), id, fingerprint (u64, little endian), then
//! for every kind but *seen*: the instant and the body.
//!
//! - id: `0` and 16 bytes (UUID, big endian), or `1`, a varint length and the text;
//! - instant: seconds since the epoch (zigzag varint), nanoseconds (varint);
//! - date: days since 1 January of year 1 (zigzag varint);
//! - hearing date: `0` and an instant (`hearing_at`), or `1` and a date;
//! - publication: document (u8), channel (u8), flags (u8: bit 0 a declared date follows,
//!   bits 1–2 the recording: 0 none, 1 without, 2 with), the declared date, the section
//!   (text), the URL: `0` none, `1` and a text, `2` and the texts before and after the
//!   hearing id;
//! - text: a varint `v`; even `v` refers to string `v / 2`, odd `v` is followed by
//!   `v / 2` bytes of UTF-8.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::event::{uuid_value, Body, Event, HearingDate};
use crate::hearing::{Folded, IdRef, PublishedRef, Step, TextRef, UrlRef};
use crate::region::{Channel, Document};

/// The hash of the engine's maps: hearing ids and texts come from trusted information
/// systems, so speed wins over resistance to crafted collisions.
pub(super) type FastHash = BuildHasherDefault<FxHasher>;

/// The multiply-rotate hash of rustc's own tables: one multiplication per word.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(tail) ^ bytes.len() as u64);
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

/// The most texts [`Strings`] keeps; texts beyond it are stored in their entries. It
/// bounds the table when sections or URLs turn out not to repeat.
const MAX_STRINGS: usize = 1 << 16;

/// Texts that many entries share, each kept once and referred to by number.
#[derive(Debug, Clone, Default)]
pub(super) struct Strings {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, u32, FastHash>,
    /// The numbers of the texts interned last, most recent first: a handful of texts (the
    /// section, the parts of each channel's URLs) make up most of what is interned, and
    /// comparing a few short texts is cheaper than hashing one.
    recent: [u32; RECENT],
}

const RECENT: usize = 8;

impl Strings {
    /// The number of `text`, adding it when there is room; `None` when the table is full.
    fn intern(&mut self, text: &str) -> Option<u32> {
        let hit = self
            .recent
            .iter()
            .position(|&n| self.list.get(n as usize).is_some_and(|s| **s == *text));
        if let Some(i) = hit {
            let n = self.recent[i];
            self.recent.copy_within(0..i, 1);
            self.recent[0] = n;
            return Some(n);
        }
        let n = self.find_or_add(text)?;
        self.recent.copy_within(0..RECENT - 1, 1);
        self.recent[0] = n;
        Some(n)
    }

    fn find_or_add(&mut self, text: &str) -> Option<u32> {
        if let Some(&n) = self.index.get(text) {
            return Some(n);
        }
        if self.list.len() >= MAX_STRINGS {
            return None;
        }
        let n = self.list.len() as u32;
        let shared: Arc<str> = Arc::from(text);
        self.list.push(shared.clone());
        self.index.insert(shared, n);
        Some(n)
    }

    fn get(&self, n: u32) -> Option<&Arc<str>> {
        self.list.get(n as usize)
    }

    /// Every text, in number order: what a snapshot stores.
    pub fn all(&self) -> &[Arc<str>] {
        &self.list
    }

    /// The table of a snapshot; `None` when a text is given twice.
    pub fn from_list(list: Vec<Arc<str>>) -> Option<Strings> {
        let mut index = HashMap::with_capacity_and_hasher(list.len(), FastHash::default());
        for (n, text) in list.iter().enumerate() {
            if index.insert(text.clone(), n as u32).is_some() {
                return None;
            }
        }
        Some(Strings {
            list,
            index,
            recent: [0; RECENT],
        })
    }
}

const RECEIVED: u8 = 0;
const RESCHEDULED: u8 = 1;
const CANCELLED: u8 = 2;
const HELD: u8 = 3;
const PUBLISHED: u8 = 4;
const SEEN: u8 = 5;

/// An event id, as the log compares ids: canonical UUIDs by value, others as text. The
/// value of a canonical UUID orders as its text does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Id<'a> {
    Uuid(u128),
    Text(&'a str),
}

impl Id<'_> {
    fn of(text: &str) -> Id<'_> {
        match uuid_value(text) {
            Some(value) => Id::Uuid(value),
            None => Id::Text(text),
        }
    }

    fn cmp(self, other: Id<'_>) -> Ordering {
        match (self, other) {
            (Id::Uuid(a), Id::Uuid(b)) => a.cmp(&b),
            (Id::Text(a), Id::Text(b)) => a.cmp(b),
            (Id::Uuid(a), Id::Text(b)) => crate::event::uuid_text(a).as_str().cmp(b),
            (Id::Text(a), Id::Uuid(b)) => a.cmp(crate::event::uuid_text(b).as_str()),
        }
    }

    fn display(self) -> String {
        match self {
            Id::Uuid(value) => crate::event::uuid_text(value),
            Id::Text(text) => text.to_string(),
        }
    }
}

/// What the log's entries say about an incoming event.
pub(super) enum Plan {
    /// The same event is in the log.
    Duplicate,
    /// Its id is in the log with another payload.
    Conflicting,
    /// A new event: splice `bytes` in place of `range`.
    Insert {
        range: std::ops::Range<usize>,
        bytes: Vec<u8>,
    },
}

/// Decides what `event` does to the log `log`; the log itself is not changed.
pub(super) fn plan(log: &[u8], event: &Event, strings: &mut Strings) -> Plan {
    let id = Id::of(&event.event_id);
    let print = fingerprint(event);
    let at = (
        event.occurred_at.timestamp(),
        event.occurred_at.timestamp_subsec_nanos(),
    );
    let publication = match &event.body {
        Body::Published(p) => Some((p.document, p.channel)),
        _ => None,
    };
    // Where the event goes in fold order, and the kept first publication of its document
    // and channel, if any.
    let mut at_offset = log.len();
    let mut rival: Option<(std::ops::Range<usize>, bool)> = None;
    for entry in Entries::new(log) {
        if entry.id == id {
            return if entry.print == print {
                Plan::Duplicate
            } else {
                Plan::Conflicting
            };
        }
        if entry.kind == SEEN {
            continue;
        }
        let later = entry.at.cmp(&at).then_with(|| entry.id.cmp(id)).is_gt();
        if later && at_offset == log.len() {
            at_offset = entry.range.start;
        }
        if publication.is_some() && entry.publication_key() == publication {
            rival = Some((entry.range.clone(), later));
        }
    }
    match rival {
        // An earlier publication of the same document and channel stays the first: this
        // one is only remembered as seen, at the end.
        Some((_, false)) => Plan::Insert {
            range: log.len()..log.len(),
            bytes: seen_entry(id, print),
        },
        // This one becomes the first: it goes in its place in fold order, which is before
        // the former first, and the former first becomes a seen entry. Both changes are
        // one splice.
        Some((former, true)) => {
            let former_entry = Entries::new(&log[former.clone()])
                .next()
                .expect("the range holds one entry");
            let mut bytes = entry_bytes(event, id, print, strings);
            bytes.extend_from_slice(&log[at_offset..former.start]);
            bytes.extend_from_slice(&seen_entry(former_entry.id, former_entry.print));
            Plan::Insert {
                range: at_offset..former.end,
                bytes,
            }
        }
        None => Plan::Insert {
            range: at_offset..at_offset,
            bytes: entry_bytes(event, id, print, strings),
        },
    }
}

/// The events the fold reads, in fold order.
pub(super) fn folded<'a>(log: &'a [u8], strings: &'a Strings, out: &mut Vec<Folded<'a>>) {
    out.extend(
        Entries::new(log)
            .filter(|e| e.kind != SEEN)
            .map(|e| e.folded(strings).expect("the log was checked when written")),
    );
}

/// Checks a log read from a snapshot: every entry readable, every text it refers to in
/// `strings`, every id once, kept entries in fold order. Returns the number of entries.
pub(super) fn check(log: &[u8], strings: &Strings) -> Result<usize, String> {
    let mut ids: Vec<Id<'_>> = Vec::new();
    let mut previous: Option<((i64, u32), Id<'_>)> = None;
    let mut read = 0;
    let mut entries = Entries::new(log);
    for entry in &mut entries {
        if ids.contains(&entry.id) {
            return Err(format!("event {} twice", entry.id.display()));
        }
        ids.push(entry.id);
        if entry.kind != SEEN {
            entry
                .folded(strings)
                .ok_or_else(|| format!("event {} is unreadable", entry.id.display()))?;
            if let Some((at, id)) = previous {
                if at.cmp(&entry.at).then_with(|| id.cmp(entry.id)) != Ordering::Less {
                    return Err(format!("event {} out of order", entry.id.display()));
                }
            }
            previous = Some((entry.at, entry.id));
        }
        read = entry.range.end;
    }
    if entries.failed || read != log.len() {
        return Err(format!("unreadable bytes at {read} of {}", log.len()));
    }
    Ok(ids.len())
}

/// One entry as read from a log.
struct Entry<'a> {
    range: std::ops::Range<usize>,
    kind: u8,
    id: Id<'a>,
    print: u64,
    /// The instant as seconds and nanoseconds, which order as the instant does.
    at: (i64, u32),
    /// The bytes after the instant.
    body: &'a [u8],
}

impl<'a> Entry<'a> {
    fn publication_key(&self) -> Option<(Document, Channel)> {
        if self.kind != PUBLISHED {
            return None;
        }
        let document = *Document::ALL.get(usize::from(*self.body.first()?))?;
        let channel = *Channel::ALL.get(usize::from(*self.body.get(1)?))?;
        Some((document, channel))
    }

    fn folded(&self, strings: &'a Strings) -> Option<Folded<'a>> {
        let mut r = Reader::new(self.body);
        let step = match self.kind {
            RECEIVED => Step::Received(r.hearing_date()?),
            RESCHEDULED => Step::Rescheduled(r.hearing_date()?),
            CANCELLED => Step::Cancelled,
            HELD => Step::Held(r.date()?),
            PUBLISHED => {
                let document = *Document::ALL.get(usize::from(r.u8()?))?;
                let channel = *Channel::ALL.get(usize::from(r.u8()?))?;
                let flags = r.u8()?;
                let declared_on = if flags & 1 != 0 {
                    Some(r.date()?)
                } else {
                    None
                };
                let has_recording = match (flags >> 1) & 3 {
                    0 => None,
                    1 => Some(false),
                    2 => Some(true),
                    _ => return None,
                };
                let section = r.text(strings)?;
                let url = match r.u8()? {
                    0 => None,
                    1 => Some(UrlRef::Whole(r.text(strings)?)),
                    2 => {
                        let before = r.text(strings)?;
                        let after = r.text(strings)?;
                        Some(UrlRef::AroundId {
                            before: before.as_str(),
                            after: after.as_str(),
                        })
                    }
                    _ => return None,
                };
                Step::Published(PublishedRef {
                    document,
                    channel,
                    declared_on,
                    has_recording,
                    section,
                    url,
                })
            }
            _ => return None,
        };
        if !r.rest().is_empty() {
            return None;
        }
        let id = match self.id {
            Id::Uuid(value) => IdRef::Uuid(value),
            Id::Text(text) => IdRef::Plain(text),
        };
        Some(Folded {
            at: DateTime::from_timestamp(self.at.0, self.at.1)?,
            id,
            step,
        })
    }
}

/// The entries of a log, in order; stops at the first unreadable one.
struct Entries<'a> {
    log: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Entries<'a> {
    fn new(log: &'a [u8]) -> Entries<'a> {
        Entries {
            log,
            offset: 0,
            failed: false,
        }
    }

    fn read(&self) -> Option<Entry<'a>> {
        let mut r = Reader::new(&self.log[self.offset..]);
        let len = usize::try_from(r.varint()?).ok()?;
        let head = self.offset + r.used();
        let end = head.checked_add(len)?;
        let mut r = Reader::new(self.log.get(head..end)?);
        let kind = r.u8()?;
        let id = match r.u8()? {
            0 => Id::Uuid(u128::from_be_bytes(r.bytes(16)?.try_into().ok()?)),
            1 => {
                let n = usize::try_from(r.varint()?).ok()?;
                Id::Text(std::str::from_utf8(r.bytes(n)?).ok()?)
            }
            _ => return None,
        };
        let print = u64::from_le_bytes(r.bytes(8)?.try_into().ok()?);
        let at = if kind == SEEN {
            (0, 0)
        } else {
            r.raw_instant()?
        };
        Some(Entry {
            range: self.offset..end,
            kind,
            id,
            print,
            at,
            body: r.rest(),
        })
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        if self.offset >= self.log.len() || self.failed {
            return None;
        }
        match self.read() {
            Some(entry) => {
                self.offset = entry.range.end;
                Some(entry)
            }
            None => {
                self.failed = true;
                None
            }
        }
    }
}

fn seen_entry(id: Id<'_>, print: u64) -> Vec<u8> {
    let mut body = Vec::with_capacity(32);
    body.push(0);
    body.push(SEEN);
    write_id(&mut body, id);
    body.extend_from_slice(&print.to_le_bytes());
    framed(body)
}

fn entry_bytes(event: &Event, id: Id<'_>, print: u64, strings: &mut Strings) -> Vec<u8> {
    let mut w = Vec::with_capacity(64);
    w.push(0);
    let kind = match &event.body {
        Body::ApplicationReceived(_) => RECEIVED,
        Body::Rescheduled(_) => RESCHEDULED,
        Body::Cancelled => CANCELLED,
        Body::Held { .. } => HELD,
        Body::Published(_) => PUBLISHED,
    };
    w.push(kind);
    write_id(&mut w, id);
    w.extend_from_slice(&print.to_le_bytes());
    write_instant(&mut w, event.occurred_at);
    match &event.body {
        Body::ApplicationReceived(date) | Body::Rescheduled(date) => {
            write_hearing_date(&mut w, date)
        }
        Body::Cancelled => {}
        Body::Held { held_on } => write_date(&mut w, *held_on),
        Body::Published(p) => {
            w.push(index_of(Document::ALL, p.document));
            w.push(index_of(Channel::ALL, p.channel));
            let recording = match p.has_recording {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            };
            w.push(u8::from(p.declared_on.is_some()) | recording << 1);
            if let Some(date) = p.declared_on {
                write_date(&mut w, date);
            }
            write_text(&mut w, &p.section, strings);
            match &p.url {
                None => w.push(0),
                Some(url) => match find(url.as_bytes(), event.hearing_id.as_bytes()) {
                    Some(i) => {
                        w.push(2);
                        write_text(&mut w, &url[..i], strings);
                        write_text(&mut w, &url[i + event.hearing_id.len()..], strings);
                    }
                    _ => {
                        w.push(1);
                        write_text(&mut w, url, strings);
                    }
                },
            }
        }
    }
    framed(w)
}

/// Where `needle` first occurs in `haystack`; `None` for an empty needle. URLs and
/// hearing ids are short, so a plain scan beats setting up a substring searcher.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    (0..=haystack.len().checked_sub(needle.len())?)
        .find(|&i| haystack[i] == first && haystack[i..].starts_with(needle))
}

/// The number of `value` among `all`, as logs and snapshots store it.
pub(super) fn index_of<T: PartialEq>(all: &[T], value: T) -> u8 {
    all.iter().position(|v| *v == value).expect("a known value") as u8
}

/// Puts the length in front of an entry written after one placeholder byte: in that byte
/// when it fits (almost always), else by moving the entry along.
fn framed(mut entry: Vec<u8>) -> Vec<u8> {
    let len = entry.len() - 1;
    if len < 0x80 {
        entry[0] = len as u8;
        return entry;
    }
    let mut head = Vec::with_capacity(3);
    write_varint(&mut head, len as u64);
    entry.splice(0..1, head);
    entry
}

fn write_id(w: &mut Vec<u8>, id: Id<'_>) {
    match id {
        Id::Uuid(value) => {
            w.push(0);
            w.extend_from_slice(&value.to_be_bytes());
        }
        Id::Text(text) => {
            w.push(1);
            write_varint(w, text.len() as u64);
            w.extend_from_slice(text.as_bytes());
        }
    }
}

fn write_text(w: &mut Vec<u8>, text: &str, strings: &mut Strings) {
    match strings.intern(text) {
        Some(n) => write_varint(w, u64::from(n) << 1),
        None => {
            write_varint(w, (text.len() as u64) << 1 | 1);
            w.extend_from_slice(text.as_bytes());
        }
    }
}

fn write_hearing_date(w: &mut Vec<u8>, date: &HearingDate) {
    match date {
        HearingDate::MeetingAt(at) => {
            w.push(0);
            write_instant(w, *at);
        }
        HearingDate::DiscussionEndsOn(day) => {
            w.push(1);
            write_date(w, *day);
        }
    }
}

pub(super) fn write_instant(w: &mut Vec<u8>, at: DateTime<Utc>) {
    write_varint(w, zigzag(at.timestamp()));
    write_varint(w, u64::from(at.timestamp_subsec_nanos()));
}

fn write_date(w: &mut Vec<u8>, date: NaiveDate) {
    write_varint(w, zigzag(i64::from(date.num_days_from_ce())));
}

pub(super) fn write_varint(w: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        w.push(n as u8 | 0x80);
        n >>= 7;
    }
    w.push(n as u8);
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Reads what the `write_*` functions wrote; every method returns `None` on bad bytes.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    pub fn used(&self) -> usize {
        self.at
    }

    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at..]
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    pub fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    pub fn instant(&mut self) -> Option<DateTime<Utc>> {
        let (secs, nanos) = self.raw_instant()?;
        DateTime::from_timestamp(secs, nanos)
    }

    /// An instant as seconds and nanoseconds, unchecked.
    fn raw_instant(&mut self) -> Option<(i64, u32)> {
        let v = self.varint()?;
        let secs = (v >> 1) as i64 ^ -((v & 1) as i64);
        let nanos = u32::try_from(self.varint()?).ok()?;
        Some((secs, nanos))
    }

    fn date(&mut self) -> Option<NaiveDate> {
        let v = self.varint()?;
        let days = (v >> 1) as i64 ^ -((v & 1) as i64);
        NaiveDate::from_num_days_from_ce_opt(i32::try_from(days).ok()?)
    }

    fn hearing_date(&mut self) -> Option<HearingDate> {
        match self.u8()? {
            0 => Some(HearingDate::MeetingAt(self.instant()?)),
            1 => Some(HearingDate::DiscussionEndsOn(self.date()?)),
            _ => None,
        }
    }

    fn text(&mut self, strings: &'a Strings) -> Option<TextRef<'a>> {
        let v = self.varint()?;
        if v & 1 == 0 {
            return strings
                .get(u32::try_from(v >> 1).ok()?)
                .map(TextRef::Shared);
        }
        let n = usize::try_from(v >> 1).ok()?;
        std::str::from_utf8(self.bytes(n)?).ok().map(TextRef::Plain)
    }
}

/// A 64-bit fingerprint of everything an event says besides its id: the instant, the
/// source, the hearing fields and the body. Stable across builds and machines, since
/// snapshots keep it: every field is written with its length or a tag, and mixed one
/// 64-bit word at a time by a folded 128-bit multiplication.
pub(super) fn fingerprint(event: &Event) -> u64 {
    let mut p = Print::new();
    p.instant(event.occurred_at);
    p.text(&event.source);
    p.text(&event.hearing_id);
    p.text(event.region.code());
    p.text(event.form.as_str());
    match &event.body {
        Body::ApplicationReceived(date) => {
            p.word(1);
            p.hearing_date(date);
        }
        Body::Rescheduled(date) => {
            p.word(2);
            p.hearing_date(date);
        }
        Body::Cancelled => p.word(3),
        Body::Held { held_on } => {
            p.word(4);
            p.date(Some(*held_on));
        }
        Body::Published(pb) => {
            p.word(5);
            p.text(pb.document.as_str());
            p.text(pb.channel.as_str());
            p.date(pb.declared_on);
            p.word(match pb.has_recording {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            });
            p.text(&pb.section);
            match &pb.url {
                None => p.word(0),
                Some(url) => {
                    p.word(1);
                    p.text(url);
                }
            }
        }
    }
    p.finish()
}

struct Print(u64);

impl Print {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new() -> Print {
        Print(0x243f_6a88_85a3_08d3)
    }

    fn word(&mut self, w: u64) {
        let product = u128::from(self.0 ^ w) * u128::from(Self::K);
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn text(&mut self, s: &str) {
        self.word(s.len() as u64);
        let mut chunks = s.as_bytes().chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.word(u64::from_le_bytes(tail));
    }

    fn instant(&mut self, at: DateTime<Utc>) {
        self.word(at.timestamp() as u64);
        self.word(u64::from(at.timestamp_subsec_nanos()));
    }

    fn date(&mut self, date: Option<NaiveDate>) {
        self.word(date.map_or(u64::MAX, |d| d.num_days_from_ce() as u32 as u64));
    }

    fn hearing_date(&mut self, date: &HearingDate) {
        match date {
            HearingDate::MeetingAt(at) => {
                self.word(1);
                self.instant(*at);
            }
            HearingDate::DiscussionEndsOn(day) => {
                self.word(2);
                self.date(Some(*day));
            }
        }
    }

    fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode;

    fn publication(url: &str) -> Event {
        let line = format!(
            r#"{{"event_id":"00000000-0000-4000-8000-000000000001","hearing_id":"KZ-19-OM-1",
            "region":"KZ-19","form":"open_meeting","occurred_at":"2025-05-02T10:00:00+05:00",
            "source":"test","type":"announcement_published","channel":"mio_website",
            "declared_on":"2025-05-02","section":"public_hearings","url":"{url}"}}"#
        );
        decode(line.as_bytes(), None).unwrap()
    }

    /// The URL a log entry gives back, written from `url`.
    fn round_trip(url: &str) -> String {
        let mut strings = Strings::default();
        let event = publication(url);
        let Plan::Insert { bytes, .. } = plan(&[], &event, &mut strings) else {
            panic!("a new event is inserted");
        };
        assert_eq!(check(&bytes, &strings), Ok(1));
        let mut folded = Vec::new();
        super::folded(&bytes, &strings, &mut folded);
        let Step::Published(p) = folded[0].step else {
            panic!("a publication");
        };
        p.url.unwrap().to_arc(&event.hearing_id).to_string()
    }

    #[test]
    fn urls_come_back_as_written_with_or_without_the_hearing_id() {
        for url in [
            "https://ecoportal.kz/hearings/KZ-19-OM-1/announcement",
            "https://kz-19.gov.kz/KZ-19-OM-1",
            "KZ-19-OM-1",
            "https://kz-19.gov.kz/news/123",
            "K",
        ] {
            assert_eq!(round_trip(url), url);
        }
        // An entry longer than 127 bytes has a two-byte length.
        let long = format!("https://kz-19.gov.kz/{}", "x".repeat(300));
        assert_eq!(round_trip(&long), long);
    }

    #[test]
    fn find_finds_the_first_occurrence_only_of_a_nonempty_needle() {
        assert_eq!(find(b"abcabc", b"bc"), Some(1));
        assert_eq!(find(b"abc", b"abcd"), None);
        assert_eq!(find(b"abc", b""), None);
        assert_eq!(find(b"", b"a"), None);
        assert_eq!(find(b"aab", b"ab"), Some(1));
    }
}
