//! The rules a hearing can break, and the rule packs that parametrise them.
//!
//! A [`RulePack`] holds the numbers of the deadline rules and which rule applies to which
//! form; packs are dated data (`data/rules/*.toml`), so a change of the law is a new file.
//! This module does not evaluate anything: `hearing` applies the pack to a hearing's events.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::region::{Document, Form};

/// A rule whose breach is a violation, by its code in the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    SectionMismatch,
    AnnouncementMissing,
    AnnouncementLate,
    AnnouncementShortNotice,
    AnnouncementBackdated,
    AnnouncementUndated,
    ProtocolMissing,
    ProtocolLate,
    ProtocolBackdated,
    ProtocolUndated,
    ProtocolNoRecording,
}

impl Rule {
    /// Every rule, in the design's order.
    pub const ALL: [Rule; 11] = [
        Rule::SectionMismatch,
        Rule::AnnouncementMissing,
        Rule::AnnouncementLate,
        Rule::AnnouncementShortNotice,
        Rule::AnnouncementBackdated,
        Rule::AnnouncementUndated,
        Rule::ProtocolMissing,
        Rule::ProtocolLate,
        Rule::ProtocolBackdated,
        Rule::ProtocolUndated,
        Rule::ProtocolNoRecording,
    ];

    /// The rule's code, as in SQL, metrics and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::SectionMismatch => "section_mismatch",
            Rule::AnnouncementMissing => "announcement_missing",
            Rule::AnnouncementLate => "announcement_late",
            Rule::AnnouncementShortNotice => "announcement_short_notice",
            Rule::AnnouncementBackdated => "announcement_backdated",
            Rule::AnnouncementUndated => "announcement_undated",
            Rule::ProtocolMissing => "protocol_missing",
            Rule::ProtocolLate => "protocol_late",
            Rule::ProtocolBackdated => "protocol_backdated",
            Rule::ProtocolUndated => "protocol_undated",
            Rule::ProtocolNoRecording => "protocol_no_recording",
        }
    }

    /// The deadline rules' pair for a document: (missing, late).
    pub fn deadline_rules(document: Document) -> (Rule, Rule) {
        match document {
            Document::Announcement => (Rule::AnnouncementMissing, Rule::AnnouncementLate),
            Document::Protocol => (Rule::ProtocolMissing, Rule::ProtocolLate),
        }
    }

    /// The dating rules' pair for a document: (backdated, undated).
    pub fn dating_rules(document: Document) -> (Rule, Rule) {
        match document {
            Document::Announcement => (Rule::AnnouncementBackdated, Rule::AnnouncementUndated),
            Document::Protocol => (Rule::ProtocolBackdated, Rule::ProtocolUndated),
        }
    }
}

impl FromStr for Rule {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version of the rules, in force from a date.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulePack {
    pub applies_from: NaiveDate,
    pub source: String,
    pub announcement_working_days: u32,
    pub protocol_working_days: u32,
    pub short_notice_calendar_days: i64,
    forms: BTreeMap<Rule, BTreeSet<Form>>,
}

impl RulePack {
    /// Whether `rule` applies to hearings of `form` under this pack.
    pub fn applies(&self, rule: Rule, form: Form) -> bool {
        self.forms
            .get(&rule)
            .is_some_and(|forms| forms.contains(&form))
    }
}

/// A rule pack file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RulePackError {
    /// Permanent: the file must be fixed.
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    /// Permanent: the folder cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Every known rule pack, by the date from which it applies.
#[derive(Debug, Clone)]
pub struct RulePacks {
    packs: BTreeMap<NaiveDate, RulePack>,
    /// The `(file name, TOML text)` each pack came from.
    files: BTreeMap<NaiveDate, (String, String)>,
}

const BUILTIN: &[(&str, &str)] = &[(
    "data/rules/2021-08-03.toml",
    include_str!("../../../data/rules/2021-08-03.toml"),
)];

impl RulePacks {
    /// The packs shipped with this build.
    pub fn builtin() -> RulePacks {
        let files: Vec<_> = BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        RulePacks::from_files(&files).expect("the shipped rule packs are valid")
    }

    /// Packs from `(file name, TOML text)` pairs; the name is used in error messages.
    pub fn from_files(files: &[(String, String)]) -> Result<RulePacks, RulePackError> {
        let mut packs = RulePacks {
            packs: BTreeMap::new(),
            files: BTreeMap::new(),
        };
        for (file, text) in files {
            packs.add(file, text)?;
        }
        Ok(packs)
    }

    /// These packs plus every `*.toml` in `dir`; a file with the same `applies_from`
    /// replaces the shipped pack.
    pub fn with_dir(mut self, dir: &Path) -> Result<RulePacks, RulePackError> {
        for (file, text) in read_toml_dir(dir)? {
            self.add(&file, &text)?;
        }
        Ok(self)
    }

    fn add(&mut self, file: &str, text: &str) -> Result<(), RulePackError> {
        let pack = parse_pack(file, text)?;
        let from = pack.applies_from;
        self.packs.insert(from, pack);
        self.files
            .insert(from, (file.to_string(), text.to_string()));
        Ok(())
    }

    /// The `(file name, TOML text)` of every pack, by date: the input of
    /// [`RulePacks::from_files`] that gives these packs again.
    pub fn files(&self) -> Vec<(String, String)> {
        self.files.values().cloned().collect()
    }

    /// The pack in force on `date`; dates before the first pack use the first one.
    pub fn in_force(&self, date: NaiveDate) -> &RulePack {
        self.packs
            .range(..=date)
            .next_back()
            .or_else(|| self.packs.iter().next())
            .map(|(_, p)| p)
            .expect("at least one rule pack")
    }
}

fn parse_pack(file: &str, text: &str) -> Result<RulePack, RulePackError> {
    let invalid = |message: String| RulePackError::Invalid {
        file: file.to_string(),
        message,
    };
    let pack: RulePack = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    for rule in Rule::ALL {
        if !pack.forms.contains_key(&rule) {
            return Err(invalid(format!("[forms] has no entry for {rule}")));
        }
    }
    Ok(pack)
}

/// Every `*.toml` file of a folder as (path, text), sorted by name.
pub(crate) fn read_toml_dir(dir: &Path) -> Result<Vec<(String, String)>, RulePackError> {
    let io = |path: &Path, source| RulePackError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_pack_has_the_numbers_of_order_286() {
        let packs = RulePacks::builtin();
        let pack = packs.in_force(NaiveDate::from_ymd_opt(2025, 5, 1).unwrap());
        assert_eq!(pack.announcement_working_days, 1);
        assert_eq!(pack.protocol_working_days, 4);
        assert_eq!(pack.short_notice_calendar_days, 30);
        assert!(pack.applies(Rule::ProtocolMissing, Form::PublicDiscussion));
        assert!(!pack.applies(Rule::AnnouncementMissing, Form::PublicDiscussion));
        assert!(!pack.applies(Rule::ProtocolNoRecording, Form::PublicDiscussion));
    }

    #[test]
    fn a_later_pack_applies_from_its_date() {
        let base = include_str!("../../../data/rules/2021-08-03.toml");
        let later = base
            .replace("2021-08-03", "2026-01-01")
            .replace("protocol_working_days = 4", "protocol_working_days = 5");
        let packs =
            RulePacks::from_files(&[("a.toml".into(), base.into()), ("b.toml".into(), later)])
                .unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(packs.in_force(day(2025, 12, 31)).protocol_working_days, 4);
        assert_eq!(packs.in_force(day(2026, 1, 1)).protocol_working_days, 5);
    }

    #[test]
    fn a_pack_missing_a_rule_names_the_file_and_rule() {
        let base = include_str!("../../../data/rules/2021-08-03.toml");
        let broken = base.replace("protocol_no_recording = [\"open_meeting\"]\n", "");
        let err = RulePacks::from_files(&[("x.toml".into(), broken)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml: [forms] has no entry for protocol_no_recording"
        );
    }
}
