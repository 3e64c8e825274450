//! The fixed vocabularies of the domain: regions, hearing forms, documents and channels.
//!
//! Each region carries its ISO 3166-2:KZ code, the name the ministry's report uses, its row
//! in the report and the IANA zone that gives its local dates. Nothing here knows about
//! events or rules; other modules build on these names.

use std::fmt;
use std::str::FromStr;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// One of the 20 regions whose local executive bodies publish hearing documents.
///
/// It serializes as its code (`"KZ-71"`), never as its position, so stored state and
/// JSON outputs stay readable and survive any change of the table's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(u8);

/// Code, report name and zone of each region, in the report's row order.
const REGIONS: [(&str, &str, Tz); 20] = [
    ("KZ-71", "г. Астана", Tz::Asia__Almaty),
    ("KZ-75", "г. Алматы", Tz::Asia__Almaty),
    ("KZ-11", "Акмолинская", Tz::Asia__Almaty),
    ("KZ-15", "Актюбинская", Tz::Asia__Aqtobe),
    ("KZ-19", "Алматинская", Tz::Asia__Almaty),
    ("KZ-23", "Атырауская", Tz::Asia__Atyrau),
    ("KZ-63", "Восточно-Казахстанская", Tz::Asia__Almaty),
    ("KZ-27", "Западно-Казахстанская", Tz::Asia__Oral),
    ("KZ-31", "Жамбылская", Tz::Asia__Almaty),
    ("KZ-35", "Карагандинская", Tz::Asia__Almaty),
    ("KZ-39", "Костанайская", Tz::Asia__Qostanay),
    ("KZ-43", "Кызылординская", Tz::Asia__Qyzylorda),
    ("KZ-47", "Мангистауская", Tz::Asia__Aqtau),
    ("KZ-55", "Павлодарская", Tz::Asia__Almaty),
    ("KZ-59", "Северо-Казахстанская", Tz::Asia__Almaty),
    ("KZ-61", "Туркестанская", Tz::Asia__Almaty),
    ("KZ-79", "г. Шымкент", Tz::Asia__Almaty),
    ("KZ-33", "Жетысу", Tz::Asia__Almaty),
    ("KZ-10", "Абай", Tz::Asia__Almaty),
    ("KZ-62", "Улытау", Tz::Asia__Almaty),
];

impl Region {
    /// All regions in the report's row order.
    pub fn all() -> impl Iterator<Item = Region> {
        (0..REGIONS.len() as u8).map(Region)
    }

    /// The ISO 3166-2:KZ code, such as `KZ-71`.
    pub fn code(self) -> &'static str {
        REGIONS[self.0 as usize].0
    }

    /// The region's name as the ministry's report prints it.
    pub fn name(self) -> &'static str {
        REGIONS[self.0 as usize].1
    }

    /// The IANA zone whose local date counts for this region's deadlines.
    pub fn zone(self) -> Tz {
        REGIONS[self.0 as usize].2
    }

    /// The 1-based row of this region in the report.
    pub fn row(self) -> usize {
        self.0 as usize + 1
    }
}

impl FromStr for Region {
    type Err = ();

    fn from_str(code: &str) -> Result<Self, ()> {
        REGIONS
            .iter()
            .position(|(c, _, _)| *c == code)
            .map(|i| Region(i as u8))
            .ok_or(())
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Region {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Region {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        code.parse()
            .map_err(|()| serde::de::Error::custom(format!("unknown region {code:?}")))
    }
}

/// Defines a closed set of names that appear on the wire as snake_case strings.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used on the wire, in SQL and in metrics.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl FromStr for $name {
            type Err = ();

            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($wire => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// How a hearing is held; each form has its own table in the report.
    Form {
        /// Открытое собрание: a meeting on a date (Table 1).
        OpenMeeting = "open_meeting",
        /// Публичное обсуждение: a discussion that ends on a date (Table 2).
        PublicDiscussion = "public_discussion",
    }
}

wire_enum! {
    /// The two documents published for every hearing.
    Document {
        /// Объявление: announces the hearing.
        Announcement = "announcement",
        /// Протокол: records its outcome.
        Protocol = "protocol",
    }
}

wire_enum! {
    /// Where a document must appear.
    Channel {
        /// The Unified Ecological Portal («Информационная система»).
        InformationSystem = "information_system",
        /// The local executive body's own website («Интернет-ресурс МИО»).
        MioWebsite = "mio_website",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_keep_the_report_order_and_codes() {
        let codes: Vec<_> = Region::all().map(Region::code).collect();
        assert_eq!(codes.len(), 20);
        assert_eq!(codes[0], "KZ-71");
        assert_eq!(codes[19], "KZ-62");
        assert_eq!("KZ-39".parse::<Region>().unwrap().row(), 11);
        assert!("KZ-99".parse::<Region>().is_err());
    }

    #[test]
    fn wire_names_round_trip() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(*c));
        }
        assert!("website".parse::<Channel>().is_err());
    }

    #[test]
    fn a_region_serializes_as_its_code() {
        let region: Region = "KZ-39".parse().unwrap();
        let json = serde_json::to_string(&region).unwrap();
        assert_eq!(json, "\"KZ-39\"");
        assert_eq!(serde_json::from_str::<Region>(&json).unwrap(), region);
        assert!(serde_json::from_str::<Region>("\"KZ-99\"").is_err());
    }
}
