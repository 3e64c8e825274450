//! The command line: every command, flag and environment variable of `hearwatch`.
//!
//! Every flag that configures a service has an environment twin (`HEARWATCH_…`) and a key
//! in the configuration file; a flag wins over its variable, which wins over the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Watches whether Kazakhstan's local executive bodies publish the announcements and
/// protocols of environmental public hearings on time.
#[derive(Debug, Parser)]
#[command(name = "hearwatch", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML); see `deploy/hearwatch.example.toml`.
    #[arg(long, global = true, env = "HEARWATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log filter, such as `info` or `hearwatch=debug` (logs go to standard error).
    #[arg(
        long,
        global = true,
        env = "HEARWATCH_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    pub log: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The streaming processor: events from Kafka, violations to ClickHouse, /metrics.
    Run(RunArgs),
    /// The engine in-process over an NDJSON file of events; no services needed.
    Replay(ReplayArgs),
    /// One hearing's timeline, deadlines and verdicts, explained, from a file of events.
    Explain(ExplainArgs),
    /// The monthly report read back from ClickHouse.
    Report(ReportArgs),
    /// The hearings behind a cell of the report, with their evidence, from ClickHouse.
    Violations(ViolationsArgs),
    /// Working days and days off of a year, with the reason for each day off.
    Calendar(CalendarArgs),
    /// Writes a scenario's events as NDJSON.
    Simulate(SimulateArgs),
    /// Publishes an NDJSON file of events to the input topic, keyed by hearing.
    Produce(ProduceArgs),
    /// Creates or upgrades the ClickHouse schema.
    Migrate(MigrateArgs),
}

/// Where the calendar and the rule packs come from.
#[derive(Debug, Args, Clone, Default)]
pub struct DataArgs {
    /// Folder of calendar year files (`YYYY.toml`) that add to or replace the built-in years.
    #[arg(long, env = "HEARWATCH_CALENDAR_DIR", value_name = "DIR")]
    pub calendar_dir: Option<PathBuf>,

    /// Folder of rule pack files that add to or replace the built-in packs.
    #[arg(long, env = "HEARWATCH_RULES_DIR", value_name = "DIR")]
    pub rules_dir: Option<PathBuf>,
}

/// How to reach Kafka.
#[derive(Debug, Args, Clone, Default)]
pub struct KafkaArgs {
    /// Bootstrap brokers, comma-separated [default: 127.0.0.1:19092].
    #[arg(long, env = "HEARWATCH_KAFKA_BROKERS", value_name = "HOST:PORT,...")]
    pub brokers: Option<String>,

    /// The input topic [default: hearings.events.v1].
    #[arg(long, env = "HEARWATCH_TOPIC", value_name = "TOPIC")]
    pub topic: Option<String>,

    /// The dead-letter topic [default: hearings.events.dlq.v1].
    #[arg(long, env = "HEARWATCH_DLQ_TOPIC", value_name = "TOPIC")]
    pub dlq_topic: Option<String>,
}

/// How to reach ClickHouse.
#[derive(Debug, Args, Clone, Default)]
pub struct ClickHouseArgs {
    /// ClickHouse HTTP endpoint [default: http://127.0.0.1:18123].
    #[arg(long, env = "HEARWATCH_CLICKHOUSE_URL", value_name = "URL")]
    pub clickhouse_url: Option<String>,

    /// The database hearwatch writes and reads [default: hearwatch].
    #[arg(long, env = "HEARWATCH_CLICKHOUSE_DATABASE", value_name = "NAME")]
    pub clickhouse_database: Option<String>,

    /// ClickHouse user [default: default].
    #[arg(long, env = "HEARWATCH_CLICKHOUSE_USER", value_name = "USER")]
    pub clickhouse_user: Option<String>,

    /// ClickHouse password (prefer the environment variable or the config file).
    #[arg(
        long,
        env = "HEARWATCH_CLICKHOUSE_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub clickhouse_password: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub clickhouse: ClickHouseArgs,
    #[command(flatten)]
    pub data: DataArgs,

    /// Consumer group [default: hearwatch].
    #[arg(long, env = "HEARWATCH_GROUP", value_name = "GROUP")]
    pub group: Option<String>,

    /// A name for this processor that stays the same across its restarts (Kafka's static
    /// group membership): a restarted processor takes its partitions back at once instead
    /// of waiting for its old session to time out. Give every processor of a group its
    /// own, such as the host or pod name [default: none].
    #[arg(long, env = "HEARWATCH_INSTANCE_ID", value_name = "NAME")]
    pub instance_id: Option<String>,

    /// Address of the /metrics endpoint [default: 127.0.0.1:19100].
    #[arg(long, env = "HEARWATCH_METRICS_ADDR", value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,

    /// Start the engine's clock at this instant (RFC 3339) instead of the wall clock; it
    /// then advances in real time. For tests, backfills and benchmarks.
    #[arg(long, env = "HEARWATCH_NOW", value_name = "T")]
    pub now: Option<String>,

    /// Exit once every assigned partition is caught up, every change is written and no
    /// timer is due, after this many seconds without new events.
    #[arg(long, value_name = "SECONDS")]
    pub exit_when_idle: Option<u64>,

    /// Least seconds between two snapshots of a partition's state (kept in ClickHouse,
    /// so a restart reads on from the snapshot instead of from the beginning).
    #[arg(
        long,
        env = "HEARWATCH_SNAPSHOT_EVERY",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub snapshot_every: u64,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Both tables and the text, for a terminal.
    Table,
    /// The design's JSON object.
    Json,
    /// One line per region row, both tables.
    Csv,
    /// Markdown tables and text.
    Markdown,
    /// One self-contained HTML page with both tables and the text.
    Html,
    /// An Excel workbook: a sheet per table and one with the text (needs --output).
    Xlsx,
    /// Every active violation, one JSON object per line (replay only).
    Ndjson,
}

/// Options shared by the commands that print a report.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// The month, YYYY-MM [default: the month before the current one].
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// NDJSON file of events (`-` for standard input).
    #[arg(long, value_name = "FILE")]
    pub events: PathBuf,

    /// Event time: the engine's clock stands here; only events that occurred by then count
    /// (RFC 3339) [default: now].
    #[arg(long, value_name = "T")]
    pub as_of: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Knowledge time: the report as the pipeline knew it at this instant (RFC 3339).
    #[arg(long, value_name = "K")]
    pub known_at: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub clickhouse: ClickHouseArgs,
}

#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// The year.
    #[arg(long)]
    pub year: i32,

    /// Show the region's time zone beside the days (the calendar itself is national).
    #[arg(long, value_name = "CODE")]
    pub region: Option<String>,

    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The scenario: `may-2025` reproduces the seed report's tables; `national` is a
    /// seeded national-scale year (about five events per hearing) for load and fault tests.
    #[arg(long, value_name = "NAME")]
    pub scenario: String,

    /// Hearings of the `national` scenario [default: 10000].
    #[arg(long, value_name = "N")]
    pub hearings: Option<u32>,

    /// Seed of the scenario's random choices (ids, minutes).
    #[arg(long, default_value_t = 2025)]
    pub seed: u64,

    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    /// NDJSON file of events (`-` for standard input); each line is sent as it is.
    #[arg(long, value_name = "FILE")]
    pub events: PathBuf,

    #[command(flatten)]
    pub kafka: KafkaArgs,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Print the SQL instead of running it.
    #[arg(long)]
    pub print: bool,

    #[command(flatten)]
    pub clickhouse: ClickHouseArgs,
}

/// Formats of a list of violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for a terminal.
    Table,
    /// A JSON array of objects.
    Json,
    /// A header line, then one line per violation.
    Csv,
}

#[derive(Debug, Args)]
pub struct ViolationsArgs {
    /// The month the violations count in, YYYY-MM.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,

    /// Only this region, by code (KZ-71 ... KZ-62).
    #[arg(long, value_name = "CODE")]
    pub region: Option<String>,

    /// Only this rule (`protocol_missing`), or a violation column of the report
    /// (`protocol_missing_mio_website`: the rule on one channel).
    #[arg(long, value_name = "RULE")]
    pub rule: Option<String>,

    /// Only this form: `open_meeting` (Table 1) or `public_discussion` (Table 2).
    #[arg(long, value_name = "FORM")]
    pub form: Option<String>,

    /// Knowledge time: the violations as the pipeline knew them at this instant (RFC 3339).
    #[arg(long, value_name = "K")]
    pub known_at: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// Write to this file (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[command(flatten)]
    pub clickhouse: ClickHouseArgs,
}

/// Formats of an explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// Sentences and lists for a terminal.
    Text,
    /// The explanation as one JSON object.
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// NDJSON file of events (`-` for standard input); only the hearing's are used.
    #[arg(long, value_name = "FILE")]
    pub events: PathBuf,

    /// The hearing's id.
    #[arg(long, value_name = "ID")]
    pub hearing: String,

    /// Event time: the engine's clock stands here; only events that occurred by then count
    /// (RFC 3339) [default: now].
    #[arg(long, value_name = "T")]
    pub as_of: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,

    #[command(flatten)]
    pub data: DataArgs,
}
