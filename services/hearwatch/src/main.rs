//! `hearwatch`: the command-line entry point.
//!
//! - `cli`: commands and flags; `config`: settings from flags, environment and file.
//! - `replay`, `explain`, `simulate`, `calendar`: commands that need no services.
//! - `processor`: `hearwatch run`, Kafka in and ClickHouse out; `kafka`: clients,
//!   dead letters and `produce`; `warehouse`: ClickHouse schema, rows and queries;
//!   `metrics`: Prometheus metrics and `/metrics`.
//! - `output`: reading inputs and writing outputs whole; `xlsx`: the report as a workbook.
//! - `violations`: `hearwatch violations`, the hearings behind a cell, from ClickHouse.

mod calendar;
mod cli;
mod config;
mod explain;
mod kafka;
mod memory;
mod metrics;
mod output;
mod processor;
mod replay;
mod simulate;
mod snapshots;
mod violations;
mod warehouse;
mod watermarks;
mod xlsx;

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::Parser;
use hearwatch_engine::region::Form;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, MigrateArgs, ReportArgs, ReportFormat, RunArgs};
use crate::config::{load_data, ClickHouseConfig, FileConfig, KafkaConfig};
use crate::output::{parse_known_at, parse_month, parse_recordable, write_output};

fn main() {
    let cli = Cli::parse();
    let (filter, bad_filter) = match EnvFilter::try_new(&cli.log) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new("info"), Some(e)),
    };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    if let Some(e) = bad_filter {
        warn!(
            "--log / HEARWATCH_LOG {:?} is not a log filter ({e}); logging at info",
            cli.log
        );
    }
    // A running processor's end belongs in its log; a command's error is said once, plainly.
    let service = matches!(cli.command, Command::Run(_));
    if let Err(e) = dispatch(cli) {
        if service {
            error!("{e:#}");
        } else {
            eprintln!("hearwatch: {e:#}");
        }
        std::process::exit(1);
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let file = FileConfig::load(cli.config.as_deref())?;
    match &cli.command {
        Command::Replay(args) => replay::run(args, &file),
        Command::Explain(args) => explain::run(args, &file),
        Command::Simulate(args) => simulate::run(args, &file),
        Command::Calendar(args) => calendar::run(args, &file),
        Command::Run(args) => runtime()?.block_on(run(args, &file)),
        Command::Report(args) => runtime()?.block_on(report(args, &file)),
        Command::Violations(args) => runtime()?.block_on(violations::run(args, &file)),
        Command::Produce(args) => runtime()?.block_on(kafka::produce(args, &file)),
        Command::Migrate(args) => runtime()?.block_on(migrate(args, &file)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn run(args: &RunArgs, file: &FileConfig) -> Result<()> {
    let (calendar, packs) = load_data(&args.data, file)?;
    let now = args
        .now
        .as_deref()
        .map(|t| parse_recordable("--now", t))
        .transpose()?;
    let metrics = metrics::Metrics::new();
    let addr = args
        .metrics_addr
        .clone()
        .or_else(|| file.processor.metrics_addr.clone())
        .unwrap_or_else(|| "127.0.0.1:19100".to_string());
    let listener = metrics::bind(&addr).await?;
    let server = {
        let metrics = metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = metrics::serve(listener, metrics).await {
                warn!("the metrics endpoint is down: {e:#}");
            }
        })
    };
    let settings = processor::Settings {
        kafka: KafkaConfig::resolve(&args.kafka, args.group.as_ref(), file),
        clickhouse: ClickHouseConfig::resolve(&args.clickhouse, file)?,
        calendar,
        packs,
        now,
        exit_when_idle: args.exit_when_idle.map(Duration::from_secs),
        snapshot_every: Duration::from_secs(args.snapshot_every),
        instance_id: args
            .instance_id
            .clone()
            .or_else(|| file.processor.instance_id.clone()),
        metrics,
    };
    let result = processor::run(settings, shutdown_signal()).await;
    server.abort();
    result
}

/// Completes on the first SIGTERM or Ctrl-C; a second one exits at once.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            warn!("cannot listen for SIGTERM: {e}");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    info!("signal received: draining (a second signal exits at once)");
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        eprintln!("hearwatch: second signal, exiting without draining");
        std::process::exit(130);
    });
}

async fn report(args: &ReportArgs, file: &FileConfig) -> Result<()> {
    let config = ClickHouseConfig::resolve(&args.clickhouse, file)?;
    let known_at = args.known_at.as_deref().map(parse_known_at).transpose()?;
    let month = parse_month(args.output.month.as_deref(), Utc::now())?;
    if args.output.format == ReportFormat::Ndjson {
        anyhow::bail!("--format ndjson is for replay; use `hearwatch violations` or the `violations` view in ClickHouse");
    }
    replay::check_destination(args.output.format, args.output.output.as_deref())?;
    let client = warehouse::client(&config);
    let rollup = warehouse::rollup(&client, &config.database, month, known_at)
        .await
        .with_context(|| format!("reading the report from {}", config.describe()))?;
    let counted: u64 = Form::ALL
        .iter()
        .map(|&form| rollup.table(form).column_sums().iter().sum::<u64>())
        .sum();
    if counted == 0 {
        warn!(
            month = %month.format("%Y-%m"),
            "ClickHouse holds no placement or violation for this month: the tables are all \
             zeros (check the month, and the processor's clock in processor_clock)"
        );
    }
    let bytes = replay::render_report(&rollup, args.output.format)?;
    write_output(args.output.output.as_deref(), &bytes)
}

async fn migrate(args: &MigrateArgs, file: &FileConfig) -> Result<()> {
    let config = ClickHouseConfig::resolve(&args.clickhouse, file)?;
    if args.print {
        let sql: Vec<String> = warehouse::migration(&config.database)
            .into_iter()
            .map(|s| s + ";\n")
            .collect();
        return write_output(None, sql.concat().as_bytes());
    }
    let client = warehouse::client(&config).with_database("default");
    let n = warehouse::migrate(&client, &config.database)
        .await
        .with_context(|| format!("migrating {}", config.describe()))?;
    info!(statements = n, database = %config.database, url = %config.url, "schema is up to date");
    Ok(())
}
