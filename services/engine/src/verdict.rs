//! What evaluating a hearing yields: violations and placements, with their identities.
//!
//! A [`Finding`] is either a [`Violation`] or a [`Placement`] (a document's first
//! appearance on a channel, which the report counts). Each has a key that is unique within
//! its hearing, so the same finding computed twice is the same row, and a change of verdict
//! is a retraction of one key and an emission of another.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::region::{Channel, Document, Form, Region};
use crate::rule::Rule;

/// A breach of one rule by one hearing, for one document on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub hearing_id: Arc<str>,
    pub region: Region,
    pub form: Form,
    pub rule: Rule,
    pub document: Document,
    pub channel: Channel,
    /// First day of the month the violation counts in.
    pub month: NaiveDate,
    /// Evidence: the last working day of the deadline, for deadline rules.
    pub deadline_on: Option<NaiveDate>,
    /// Evidence: the instant the deadline passed, for deadline rules.
    pub deadline_at: Option<DateTime<Utc>>,
    /// Evidence: the publication the verdict is about, when there is one.
    pub published: Option<PublicationEvidence>,
    /// Evidence: the hearing date the rule measured against, where one applies.
    pub hearing_on: Option<NaiveDate>,
}

/// What a violation says about the publication behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicationEvidence {
    pub event_id: Arc<str>,
    pub published_at: DateTime<Utc>,
    /// The local date of `published_at` in the region's zone.
    pub published_on: NaiveDate,
    pub declared_on: Option<NaiveDate>,
    pub section: Arc<str>,
    pub url: Option<Arc<str>>,
}

/// A document's first appearance on a channel, counted by the report's placement columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    pub hearing_id: Arc<str>,
    pub region: Region,
    pub form: Form,
    pub document: Document,
    pub channel: Channel,
    /// First day of the month of the publication date.
    pub month: NaiveDate,
    pub published: PublicationEvidence,
}

/// A violation or a placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Finding {
    Violation(Violation),
    Placement(Placement),
}

/// The identity of a finding within its hearing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FindingKey {
    Violation {
        rule: Rule,
        document: Document,
        channel: Channel,
    },
    Placement {
        document: Document,
        channel: Channel,
    },
}

impl Finding {
    /// The finding's identity within its hearing.
    pub fn key(&self) -> FindingKey {
        match self {
            Finding::Violation(v) => FindingKey::Violation {
                rule: v.rule,
                document: v.document,
                channel: v.channel,
            },
            Finding::Placement(p) => FindingKey::Placement {
                document: p.document,
                channel: p.channel,
            },
        }
    }

    /// The hearing the finding belongs to.
    pub fn hearing_id(&self) -> &Arc<str> {
        match self {
            Finding::Violation(v) => &v.hearing_id,
            Finding::Placement(p) => &p.hearing_id,
        }
    }

    /// A stable identity across the whole system: `hearing/kind/document/channel`.
    pub fn id(&self) -> String {
        match self.key() {
            FindingKey::Violation {
                rule,
                document,
                channel,
            } => {
                format!("{}/{rule}/{document}/{channel}", self.hearing_id())
            }
            FindingKey::Placement { document, channel } => {
                format!("{}/placement/{document}/{channel}", self.hearing_id())
            }
        }
    }
}

/// A finding that became active or stopped being active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub finding: Finding,
    /// `false` when the finding is retracted.
    pub active: bool,
}

/// The first day of the month of `date`.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists in every month")
}
