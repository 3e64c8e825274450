//! Settings resolved from flags, environment and the configuration file.
//!
//! The file is optional TOML with the sections `[kafka]`, `[kafka.properties]` (passed to
//! librdkafka as they are: TLS and SASL settings go there), `[clickhouse]`, `[processor]`
//! and `[data]`. A flag or its environment twin wins over the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use hearwatch_engine::calendar::Calendar;
use hearwatch_engine::rule::RulePacks;
use serde::Deserialize;

use crate::cli::{ClickHouseArgs, DataArgs, KafkaArgs};

/// The configuration file's contents.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub kafka: KafkaFile,
    #[serde(default)]
    pub clickhouse: ClickHouseFile,
    #[serde(default)]
    pub processor: ProcessorFile,
    #[serde(default)]
    pub data: DataFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaFile {
    pub brokers: Option<String>,
    pub topic: Option<String>,
    pub dlq_topic: Option<String>,
    pub group: Option<String>,
    /// librdkafka settings, such as `security.protocol` or `sasl.mechanism`.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseFile {
    pub url: Option<String>,
    pub database: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    /// A file whose first line is the password, so the config itself holds no secret.
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorFile {
    pub group: Option<String>,
    pub instance_id: Option<String>,
    pub metrics_addr: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    pub calendar_dir: Option<PathBuf>,
    pub rules_dir: Option<PathBuf>,
}

impl FileConfig {
    /// Reads the file, or the defaults when there is none.
    pub fn load(path: Option<&Path>) -> Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
    }
}

/// Where Kafka is and what to read and write there.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    pub topic: String,
    pub dlq_topic: String,
    pub group: String,
    pub properties: BTreeMap<String, String>,
}

impl KafkaConfig {
    pub fn resolve(args: &KafkaArgs, group: Option<&String>, file: &FileConfig) -> KafkaConfig {
        let f = &file.kafka;
        KafkaConfig {
            brokers: pick(&args.brokers, &f.brokers, "127.0.0.1:19092"),
            topic: pick(&args.topic, &f.topic, "hearings.events.v1"),
            dlq_topic: pick(&args.dlq_topic, &f.dlq_topic, "hearings.events.dlq.v1"),
            group: pick(
                &group.cloned(),
                &f.group.clone().or(file.processor.group.clone()),
                "hearwatch",
            ),
            properties: f.properties.clone(),
        }
    }
}

/// Where ClickHouse is and who hearwatch is there.
#[derive(Debug, Clone)]
pub struct ClickHouseConfig {
    pub url: String,
    pub database: String,
    pub user: String,
    pub password: String,
}

impl ClickHouseConfig {
    /// Where this configuration points, for error messages.
    pub fn describe(&self) -> String {
        format!(
            "ClickHouse at {} (database {}, user {})",
            self.url, self.database, self.user
        )
    }

    pub fn resolve(args: &ClickHouseArgs, file: &FileConfig) -> Result<ClickHouseConfig> {
        let f = &file.clickhouse;
        let from_file = match (&f.password, &f.password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(path)) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| {
                        format!("cannot read clickhouse.password_file {}", path.display())
                    })?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
            ),
            (None, None) => None,
        };
        let database = pick(&args.clickhouse_database, &f.database, "hearwatch");
        anyhow::ensure!(
            !database.is_empty()
                && database
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "the ClickHouse database name {database:?} must be letters, digits and _ only"
        );
        Ok(ClickHouseConfig {
            url: pick(&args.clickhouse_url, &f.url, "http://127.0.0.1:18123"),
            database,
            user: pick(&args.clickhouse_user, &f.user, "default"),
            password: pick(&args.clickhouse_password, &from_file, ""),
        })
    }
}

/// The calendar and rule packs: the built-in ones, extended from the configured folders.
pub fn load_data(args: &DataArgs, file: &FileConfig) -> Result<(Arc<Calendar>, Arc<RulePacks>)> {
    let mut calendar = Calendar::builtin();
    if let Some(dir) = args
        .calendar_dir
        .as_ref()
        .or(file.data.calendar_dir.as_ref())
    {
        calendar = calendar
            .with_dir(dir)
            .context("loading the calendar folder")?;
    }
    let mut packs = RulePacks::builtin();
    if let Some(dir) = args.rules_dir.as_ref().or(file.data.rules_dir.as_ref()) {
        packs = packs
            .with_dir(dir)
            .context("loading the rule pack folder")?;
    }
    Ok((Arc::new(calendar), Arc::new(packs)))
}

fn pick(flag: &Option<String>, file: &Option<String>, default: &str) -> String {
    flag.clone()
        .or_else(|| file.clone())
        .unwrap_or_else(|| default.to_string())
}
