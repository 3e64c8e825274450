//! Events of the input contract, version 1, and their decoder.
//!
//! The decoder turns the bytes of one Kafka message into an [`Event`] or a [`DecodeError`]
//! whose [`DlqReason`] is the machine-readable reason the dead-letter topic carries. It
//! checks everything the contract states about a single message; what needs other events
//! of the hearing (duplicates, conflicting region or form) is the engine's business.
//!
//! It has two paths with one result. The fast path (`fast`) reads a regular message in one
//! pass, borrowing its fields; anything it does not accept goes to the precise path, which
//! reads the message into a JSON tree and words every error, and which the fast path's
//! property tests use as their oracle.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::region::{Channel, Document, Form, Region};

mod fast;

/// Largest message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest `hearing_id`, in characters.
pub const MAX_HEARING_ID: usize = 64;
/// Longest `source`, in characters.
pub const MAX_SOURCE: usize = 128;
/// Longest `section`, in characters.
pub const MAX_SECTION: usize = 256;
/// Longest `url`, in characters.
pub const MAX_URL: usize = 2048;

/// One validated event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unique within the hearing; the 36-character lowercase UUID text.
    pub event_id: Arc<str>,
    pub hearing_id: Arc<str>,
    pub region: Region,
    pub form: Form,
    pub occurred_at: DateTime<Utc>,
    pub source: Arc<str>,
    pub body: Body,
}

/// What an event says, by type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Body {
    /// The body received the initiator's application.
    ApplicationReceived(HearingDate),
    /// A document became visible on a channel.
    Published(Publication),
    /// The hearing moved to a new date.
    Rescheduled(HearingDate),
    /// The hearing will not take place.
    Cancelled,
    /// The open meeting took place on that local date.
    Held { held_on: NaiveDate },
}

/// The date a hearing is set for, by form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HearingDate {
    /// An open meeting's `hearing_at`.
    MeetingAt(DateTime<Utc>),
    /// A public discussion's `discussion_ends_on`.
    DiscussionEndsOn(NaiveDate),
}

/// A document's appearance on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub document: Document,
    pub channel: Channel,
    /// The placement date printed on the document; `None` when none is printed.
    pub declared_on: Option<NaiveDate>,
    pub section: Arc<str>,
    pub url: Option<Arc<str>>,
    /// Whether an open meeting's protocol has its recording; `None` for discussions.
    pub has_recording: Option<bool>,
}

impl Event {
    /// The type name used on the wire.
    pub fn type_name(&self) -> &'static str {
        match &self.body {
            Body::ApplicationReceived(_) => "application_received",
            Body::Published(p) => match p.document {
                Document::Announcement => "announcement_published",
                Document::Protocol => "protocol_published",
            },
            Body::Rescheduled(_) => "hearing_rescheduled",
            Body::Cancelled => "hearing_cancelled",
            Body::Held { .. } => "hearing_held",
        }
    }
}

/// Why a message went to the dead-letter topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DlqReason {
    InvalidJson,
    MissingField,
    WrongType,
    UnknownType,
    UnknownRegion,
    UnknownForm,
    UnknownChannel,
    NoOffset,
    TooLarge,
    FieldTooLong,
    NotForForm,
    KeyMismatch,
    ConflictingDuplicate,
    ConflictingHearing,
}

impl DlqReason {
    /// Every reason, for metrics that must show zeros.
    pub const ALL: [DlqReason; 14] = [
        DlqReason::InvalidJson,
        DlqReason::MissingField,
        DlqReason::WrongType,
        DlqReason::UnknownType,
        DlqReason::UnknownRegion,
        DlqReason::UnknownForm,
        DlqReason::UnknownChannel,
        DlqReason::NoOffset,
        DlqReason::TooLarge,
        DlqReason::FieldTooLong,
        DlqReason::NotForForm,
        DlqReason::KeyMismatch,
        DlqReason::ConflictingDuplicate,
        DlqReason::ConflictingHearing,
    ];

    /// The reason's machine-readable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DlqReason::InvalidJson => "invalid_json",
            DlqReason::MissingField => "missing_field",
            DlqReason::WrongType => "wrong_type",
            DlqReason::UnknownType => "unknown_type",
            DlqReason::UnknownRegion => "unknown_region",
            DlqReason::UnknownForm => "unknown_form",
            DlqReason::UnknownChannel => "unknown_channel",
            DlqReason::NoOffset => "no_offset",
            DlqReason::TooLarge => "too_large",
            DlqReason::FieldTooLong => "field_too_long",
            DlqReason::NotForForm => "not_for_form",
            DlqReason::KeyMismatch => "key_mismatch",
            DlqReason::ConflictingDuplicate => "conflicting_duplicate",
            DlqReason::ConflictingHearing => "conflicting_hearing",
        }
    }
}

impl fmt::Display for DlqReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that is not a valid event: the reason and a sentence naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct DecodeError {
    pub reason: DlqReason,
    pub detail: String,
}

impl DecodeError {
    fn new(reason: DlqReason, detail: impl Into<String>) -> Self {
        DecodeError {
            reason,
            detail: detail.into(),
        }
    }
}

/// Decodes one message. `key` is the Kafka message key, when the message came with one;
/// it must equal the event's `hearing_id`.
pub fn decode(bytes: &[u8], key: Option<&[u8]>) -> Result<Event, DecodeError> {
    // Nearly every message is a regular one that the fast path accepts; whatever it does
    // not accept (irregular JSON, any failed check) the precise path decides, so that a
    // rejected message gets exactly the reason and wording it always had.
    if bytes.len() <= MAX_MESSAGE_BYTES {
        if let Some(event) = fast::decode(bytes, key) {
            return Ok(event);
        }
    }
    decode_precise(bytes, key)
}

/// The decoder that reads the message into a JSON tree first: slower, but it says
/// precisely what is wrong with any message. It is the oracle the fast path is tested
/// against.
fn decode_precise(bytes: &[u8], key: Option<&[u8]>) -> Result<Event, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::new(
            DlqReason::TooLarge,
            format!(
                "message is {} bytes, the limit is {MAX_MESSAGE_BYTES}",
                bytes.len()
            ),
        ));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| DecodeError::new(DlqReason::InvalidJson, e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(DecodeError::new(
            DlqReason::WrongType,
            "the message is not a JSON object",
        ));
    };
    let event = Fields(&object).event()?;
    if let Some(key) = key {
        if key != event.hearing_id.as_bytes() {
            return Err(DecodeError::new(
                DlqReason::KeyMismatch,
                format!(
                    "message key {:?} is not the hearing_id {:?}",
                    String::from_utf8_lossy(key),
                    event.hearing_id
                ),
            ));
        }
    }
    Ok(event)
}

/// The fields of one JSON object, read with the contract's checks.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn event(&self) -> Result<Event, DecodeError> {
        let event_id = self.uuid("event_id")?;
        let type_name = self.string("type")?;
        let hearing_id = self.hearing_id()?;
        let region = self.parsed::<Region>("region", DlqReason::UnknownRegion)?;
        let form = self.parsed::<Form>("form", DlqReason::UnknownForm)?;
        let occurred_at = self.instant("occurred_at")?;
        let source = self.bounded("source", MAX_SOURCE)?;
        if source.is_empty() {
            return Err(DecodeError::new(DlqReason::WrongType, "source is empty"));
        }
        let body = self.body(type_name, form)?;
        Ok(Event {
            event_id: event_id.into(),
            hearing_id: hearing_id.into(),
            region,
            form,
            occurred_at,
            source: source.into(),
            body,
        })
    }

    fn body(&self, type_name: &str, form: Form) -> Result<Body, DecodeError> {
        Ok(match type_name {
            "application_received" => Body::ApplicationReceived(self.hearing_date(form)?),
            "announcement_published" => Body::Published(self.publication(Document::Announcement)?),
            "protocol_published" => {
                let mut publication = self.publication(Document::Protocol)?;
                if form == Form::OpenMeeting {
                    publication.has_recording = Some(self.boolean("has_recording")?);
                }
                Body::Published(publication)
            }
            "hearing_rescheduled" => Body::Rescheduled(self.hearing_date(form)?),
            "hearing_cancelled" => Body::Cancelled,
            "hearing_held" => {
                if form != Form::OpenMeeting {
                    return Err(DecodeError::new(
                        DlqReason::NotForForm,
                        "hearing_held is only for open meetings",
                    ));
                }
                Body::Held {
                    held_on: self.date("held_on")?,
                }
            }
            other => {
                return Err(DecodeError::new(
                    DlqReason::UnknownType,
                    format!("unknown type {other:?}"),
                ))
            }
        })
    }

    fn hearing_date(&self, form: Form) -> Result<HearingDate, DecodeError> {
        Ok(match form {
            Form::OpenMeeting => HearingDate::MeetingAt(self.instant("hearing_at")?),
            Form::PublicDiscussion => {
                HearingDate::DiscussionEndsOn(self.date("discussion_ends_on")?)
            }
        })
    }

    fn publication(&self, document: Document) -> Result<Publication, DecodeError> {
        let channel = self.parsed::<Channel>("channel", DlqReason::UnknownChannel)?;
        let declared_on = match self.field("declared_on")? {
            Value::Null => None,
            _ => Some(self.date("declared_on")?),
        };
        let section = self.bounded("section", MAX_SECTION)?;
        let url = match self.0.get("url") {
            None | Some(Value::Null) => None,
            Some(_) => Some(self.bounded("url", MAX_URL)?.into()),
        };
        Ok(Publication {
            document,
            channel,
            declared_on,
            section: section.into(),
            url,
            has_recording: None,
        })
    }

    fn field(&self, name: &str) -> Result<&Value, DecodeError> {
        self.0
            .get(name)
            .ok_or_else(|| DecodeError::new(DlqReason::MissingField, format!("{name} is missing")))
    }

    fn string(&self, name: &str) -> Result<&str, DecodeError> {
        match self.field(name)? {
            Value::String(s) => Ok(s),
            other => Err(wrong_type(name, "a string", other)),
        }
    }

    fn boolean(&self, name: &str) -> Result<bool, DecodeError> {
        match self.field(name)? {
            Value::Bool(b) => Ok(*b),
            other => Err(wrong_type(name, "true or false", other)),
        }
    }

    fn bounded(&self, name: &str, max: usize) -> Result<&str, DecodeError> {
        let s = self.string(name)?;
        let chars = s.chars().count();
        if chars > max {
            return Err(DecodeError::new(
                DlqReason::FieldTooLong,
                format!("{name} has {chars} characters, the limit is {max}"),
            ));
        }
        Ok(s)
    }

    fn parsed<T: std::str::FromStr>(
        &self,
        name: &str,
        unknown: DlqReason,
    ) -> Result<T, DecodeError> {
        let s = self.string(name)?;
        s.parse()
            .map_err(|_| DecodeError::new(unknown, format!("{name} {s:?} is not known")))
    }

    fn uuid(&self, name: &str) -> Result<String, DecodeError> {
        let s = self.string(name)?;
        if !is_uuid(s) {
            return Err(DecodeError::new(
                DlqReason::WrongType,
                format!("{name} {s:?} is not a UUID"),
            ));
        }
        Ok(s.to_ascii_lowercase())
    }

    fn hearing_id(&self) -> Result<&str, DecodeError> {
        let s = self.string("hearing_id")?;
        if s.len() > MAX_HEARING_ID {
            return Err(DecodeError::new(
                DlqReason::FieldTooLong,
                format!(
                    "hearing_id has {} characters, the limit is {MAX_HEARING_ID}",
                    s.len()
                ),
            ));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if s.is_empty() || !s.chars().all(allowed) {
            return Err(DecodeError::new(
                DlqReason::WrongType,
                format!("hearing_id {s:?} must be 1-64 of A-Z a-z 0-9 . _ : -"),
            ));
        }
        Ok(s)
    }

    fn instant(&self, name: &str) -> Result<DateTime<Utc>, DecodeError> {
        let s = self.string(name)?;
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Ok(t.with_timezone(&Utc)),
            Err(_) if lacks_offset(s) => Err(DecodeError::new(
                DlqReason::NoOffset,
                format!("{name} {s:?} has no offset (add Z or ±hh:mm)"),
            )),
            Err(e) => Err(DecodeError::new(
                DlqReason::WrongType,
                format!("{name} {s:?} is not an RFC 3339 timestamp: {e}"),
            )),
        }
    }

    fn date(&self, name: &str) -> Result<NaiveDate, DecodeError> {
        let s = self.string(name)?;
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            DecodeError::new(
                DlqReason::WrongType,
                format!("{name} {s:?} is not a YYYY-MM-DD date"),
            )
        })
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> DecodeError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    DecodeError::new(
        DlqReason::WrongType,
        format!("{name} must be {expected}, not {got}"),
    )
}

/// Whether `s` is a timestamp that would be valid RFC 3339 with an offset added.
fn lacks_offset(s: &str) -> bool {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .any(|f| chrono::NaiveDateTime::parse_from_str(s, f).is_ok())
}

/// The value of a UUID written in lowercase hex with hyphens, as a number whose order is
/// the order of the texts; `None` for any other text, uppercase hex included.
pub fn uuid_value(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let mut value = 0u128;
    for (i, &c) in b.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let digit = NIBBLE[usize::from(c)];
        if digit > 15 {
            return None;
        }
        value = value << 4 | u128::from(digit);
    }
    Some(value)
}

/// The value of each lowercase hex digit; 255 for every other byte.
const NIBBLE: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// The text of a UUID value, as [`uuid_value`] reads it.
pub fn uuid_text(value: u128) -> String {
    uuid_bytes(value).iter().map(|&b| b as char).collect()
}

/// The text of a UUID value as ASCII bytes, without allocating.
pub fn uuid_bytes(value: u128) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b'-'; 36];
    for (i, pos) in (0..36)
        .filter(|p| !matches!(p, 8 | 13 | 18 | 23))
        .enumerate()
    {
        text[pos] = HEX[((value >> (124 - 4 * i)) & 0xf) as usize];
    }
    text
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_values_keep_the_order_of_their_texts() {
        let texts = [
            "00000000-0000-4000-8000-000000000001",
            "0f2b43c7-ac30-4770-96df-2bcf24e0c07c",
            "5f2b43c7-ac30-4770-96df-2bcf24e0c07c",
            "5f2b43c7-ac30-4770-96df-2bcf24e0c07d",
            "a0000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ];
        for pair in texts.windows(2) {
            let (a, b) = (uuid_value(pair[0]).unwrap(), uuid_value(pair[1]).unwrap());
            assert!(a < b, "{} < {}", pair[0], pair[1]);
        }
        for text in texts {
            assert_eq!(uuid_text(uuid_value(text).unwrap()), text);
        }
        for not_canonical in [
            "5F2B43C7-AC30-4770-96DF-2BCF24E0C07C",
            "5f2b43c7ac30-4770-96df-2bcf24e0c07c0",
            "5f2b43c7-ac30-4770-96df-2bcf24e0c07",
            "5f2b43c7-ac30-4770-96df-2bcf24e0c0g7",
        ] {
            assert_eq!(uuid_value(not_canonical), None, "{not_canonical}");
        }
    }

    const ANNOUNCEMENT: &str = r#"{"event_id":"6f1c2b8e-1d2a-4c5b-9e7f-0a1b2c3d4e5f",
        "type":"announcement_published","hearing_id":"H-1","region":"KZ-19",
        "form":"open_meeting","occurred_at":"2025-05-05T10:00:00+05:00","source":"ecoportal",
        "channel":"mio_website","declared_on":null,"section":"public_hearings",
        "url":"https://example.kz/a","extra":{"ignored":true}}"#;

    fn with(field: &str, value: Value) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(ANNOUNCEMENT).unwrap();
        v[field] = value;
        serde_json::to_vec(&v).unwrap()
    }

    fn without(field: &str) -> Vec<u8> {
        let mut v: Value = serde_json::from_str(ANNOUNCEMENT).unwrap();
        v.as_object_mut().unwrap().remove(field);
        serde_json::to_vec(&v).unwrap()
    }

    fn reason(bytes: &[u8]) -> DlqReason {
        decode(bytes, None).unwrap_err().reason
    }

    #[test]
    fn a_valid_announcement_decodes_and_ignores_unknown_fields() {
        let e = decode(ANNOUNCEMENT.as_bytes(), Some(b"H-1")).unwrap();
        assert_eq!(e.occurred_at.to_rfc3339(), "2025-05-05T05:00:00+00:00");
        let Body::Published(p) = e.body else {
            panic!("not a publication")
        };
        assert_eq!(
            (p.document, p.channel, p.declared_on),
            (Document::Announcement, Channel::MioWebsite, None)
        );
    }

    #[test]
    fn each_malformation_gets_its_reason() {
        assert_eq!(reason(b"{not json"), DlqReason::InvalidJson);
        assert_eq!(reason(b"[1,2]"), DlqReason::WrongType);
        assert_eq!(reason(&without("source")), DlqReason::MissingField);
        assert_eq!(reason(&without("declared_on")), DlqReason::MissingField);
        assert_eq!(
            reason(&with("section", Value::from(7))),
            DlqReason::WrongType
        );
        assert_eq!(
            reason(&with("type", "poster_published".into())),
            DlqReason::UnknownType
        );
        assert_eq!(
            reason(&with("region", "KZ-99".into())),
            DlqReason::UnknownRegion
        );
        assert_eq!(
            reason(&with("form", "webinar".into())),
            DlqReason::UnknownForm
        );
        assert_eq!(
            reason(&with("channel", "telegram".into())),
            DlqReason::UnknownChannel
        );
        assert_eq!(
            reason(&with("occurred_at", "2025-05-05T10:00:00".into())),
            DlqReason::NoOffset
        );
        assert_eq!(
            reason(&with("occurred_at", "yesterday".into())),
            DlqReason::WrongType
        );
        assert_eq!(reason(&with("event_id", "42".into())), DlqReason::WrongType);
        assert_eq!(
            reason(&with("hearing_id", "has space".into())),
            DlqReason::WrongType
        );
        assert_eq!(
            reason(&with("hearing_id", "x".repeat(65).into())),
            DlqReason::FieldTooLong
        );
        assert_eq!(
            reason(&with("section", "s".repeat(257).into())),
            DlqReason::FieldTooLong
        );
        assert_eq!(
            reason(&with("url", "u".repeat(2049).into())),
            DlqReason::FieldTooLong
        );
        assert_eq!(reason(&with("source", "".into())), DlqReason::WrongType);
        let big = with("padding", "p".repeat(MAX_MESSAGE_BYTES).into());
        assert_eq!(reason(&big), DlqReason::TooLarge);
    }

    #[test]
    fn limits_are_inclusive() {
        assert!(decode(&with("section", "s".repeat(256).into()), None).is_ok());
        assert!(decode(&with("hearing_id", "x".repeat(64).into()), None).is_ok());
        assert!(decode(&with("url", "u".repeat(2048).into()), None).is_ok());
    }

    #[test]
    fn hearing_held_is_only_for_open_meetings() {
        let mut v: Value = serde_json::from_str(ANNOUNCEMENT).unwrap();
        v["type"] = "hearing_held".into();
        v["held_on"] = "2025-05-06".into();
        assert!(decode(&serde_json::to_vec(&v).unwrap(), None).is_ok());
        v["form"] = "public_discussion".into();
        assert_eq!(
            reason(&serde_json::to_vec(&v).unwrap()),
            DlqReason::NotForForm
        );
    }

    #[test]
    fn open_meeting_protocols_need_has_recording() {
        let mut v: Value = serde_json::from_str(ANNOUNCEMENT).unwrap();
        v["type"] = "protocol_published".into();
        assert_eq!(
            reason(&serde_json::to_vec(&v).unwrap()),
            DlqReason::MissingField
        );
        v["form"] = "public_discussion".into();
        assert!(decode(&serde_json::to_vec(&v).unwrap(), None).is_ok());
    }

    #[test]
    fn the_key_must_be_the_hearing_id() {
        let err = decode(ANNOUNCEMENT.as_bytes(), Some(b"H-2")).unwrap_err();
        assert_eq!(err.reason, DlqReason::KeyMismatch);
    }

    mod robustness {
        use super::*;
        use proptest::prelude::*;

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_map(
                    |f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
                ),
                ".{0,80}".prop_map(Value::from),
                Just(Value::from("2025-05-05T10:00:00+05:00")),
                Just(Value::from("2025-05-05")),
                Just(Value::from("KZ-71")),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                    prop::collection::btree_map(".{0,12}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = decode(&bytes, Some(&bytes));
            }

            #[test]
            fn a_valid_event_with_one_field_replaced_decodes_or_names_a_reason(
                field in prop::sample::select(vec![
                    "event_id", "type", "hearing_id", "region", "form", "occurred_at", "source",
                    "channel", "declared_on", "section", "url", "has_recording", "held_on",
                ]),
                value in any_json(),
            ) {
                // Whatever is accepted keeps the contract's limits; whatever is refused says why.
                match decode(&with(field, value), None) {
                    Ok(event) => {
                        prop_assert!((1..=MAX_HEARING_ID).contains(&event.hearing_id.len()));
                        prop_assert!((1..=MAX_SOURCE).contains(&event.source.chars().count()));
                        prop_assert!(is_uuid(&event.event_id));
                        if let Body::Published(p) = &event.body {
                            prop_assert!(p.section.chars().count() <= MAX_SECTION);
                            prop_assert!(p.url.as_ref().is_none_or(|u| u.chars().count() <= MAX_URL));
                        }
                    }
                    Err(e) => prop_assert!(!e.detail.is_empty()),
                }
            }
        }
    }
}
