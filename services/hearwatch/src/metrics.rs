//! The processor's Prometheus metrics and the `/metrics` endpoint.
//!
//! Every metric is named `hearwatch_…` and labelled only by bounded sets (type, reason,
//! rule, region, channel, partition): never by a hearing id.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{debug, info};

/// The processor's metrics, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub events_consumed: IntCounterVec,
    pub events_dead_lettered: IntCounterVec,
    pub duplicates_ignored: IntCounter,
    pub violations_emitted: IntCounterVec,
    pub violations_retracted: IntCounterVec,
    pub open_hearings: IntGauge,
    pub pending_timers: IntGauge,
    pub waiting_for_calendar: IntGauge,
    pub timer_lag: Histogram,
    pub consumer_lag: IntGaugeVec,
    pub clickhouse_insert_seconds: Histogram,
    pub clickhouse_errors: IntCounterVec,
    pub batch_rows: Histogram,
    pub clock_seconds: IntGauge,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
            registry
                .register(Box::new(c.clone()))
                .expect("a unique metric");
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("a valid metric");
            registry
                .register(Box::new(g.clone()))
                .expect("a unique metric");
            g
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("a valid metric");
            registry
                .register(Box::new(h.clone()))
                .expect("a unique metric");
            h
        };
        let finding_labels = &["rule", "region", "channel"];
        let metrics = Metrics {
            events_consumed: counter_vec(
                "hearwatch_events_consumed_total",
                "Valid events consumed, by type.",
                &["type"],
            ),
            events_dead_lettered: counter_vec(
                "hearwatch_events_dead_lettered_total",
                "Messages sent to the dead-letter topic, by reason.",
                &["reason"],
            ),
            duplicates_ignored: {
                let c = IntCounter::new(
                    "hearwatch_duplicates_ignored_total",
                    "Repeated events ignored.",
                )
                .expect("a valid metric");
                registry
                    .register(Box::new(c.clone()))
                    .expect("a unique metric");
                c
            },
            violations_emitted: counter_vec(
                "hearwatch_violations_emitted_total",
                "Violations that became active.",
                finding_labels,
            ),
            violations_retracted: counter_vec(
                "hearwatch_violations_retracted_total",
                "Violations retracted.",
                finding_labels,
            ),
            open_hearings: gauge(
                "hearwatch_open_hearings",
                "Hearings whose state the processor keeps.",
            ),
            pending_timers: gauge(
                "hearwatch_pending_timers",
                "Hearings waiting for a deadline or a future-stamped event.",
            ),
            waiting_for_calendar: gauge(
                "hearwatch_waiting_for_calendar",
                "Hearings with a deadline in a year that has no calendar data.",
            ),
            timer_lag: histogram(
                "hearwatch_timer_lag_seconds",
                "Seconds between a deadline instant and the firing of its timer.",
                exponential_buckets(0.01, 4.0, 10).expect("valid buckets"),
            ),
            consumer_lag: {
                let g = IntGaugeVec::new(
                    Opts::new(
                        "hearwatch_consumer_lag_messages",
                        "Messages behind the end of a partition.",
                    ),
                    &["partition"],
                )
                .expect("a valid metric");
                registry
                    .register(Box::new(g.clone()))
                    .expect("a unique metric");
                g
            },
            clickhouse_insert_seconds: histogram(
                "hearwatch_clickhouse_insert_seconds",
                "Latency of ClickHouse inserts that succeeded.",
                exponential_buckets(0.001, 4.0, 10).expect("valid buckets"),
            ),
            clickhouse_errors: counter_vec(
                "hearwatch_clickhouse_errors_total",
                "Failed ClickHouse writes, by kind (retryable or permanent).",
                &["kind"],
            ),
            batch_rows: histogram(
                "hearwatch_clickhouse_batch_rows",
                "Rows per ClickHouse insert.",
                exponential_buckets(1.0, 4.0, 10).expect("valid buckets"),
            ),
            clock_seconds: gauge(
                "hearwatch_clock_seconds",
                "The engine's event-time clock, as a Unix time.",
            ),
            registry,
        };
        let build = IntGaugeVec::new(
            Opts::new(
                "hearwatch_build_info",
                "Always 1; the labels name the build.",
            ),
            &["version"],
        )
        .expect("a valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        metrics
            .registry
            .register(Box::new(build))
            .expect("a unique metric");
        metrics
    }

    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding");
        String::from_utf8(buffer).expect("UTF-8 metrics")
    }
}

/// Serves `GET /metrics` on `addr` until the task is dropped.
pub async fn serve(addr: &str, metrics: Metrics) -> Result<()> {
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("metrics address {addr:?} is not HOST:PORT"))?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for /metrics"))?;
    info!("metrics on http://{}/metrics", listener.local_addr()?);
    loop {
        let (mut stream, peer) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut request = [0u8; 1024];
            let n = stream.read(&mut request).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..n]);
            let (status, body) = if head.starts_with("GET /metrics") {
                ("200 OK", metrics.render())
            } else {
                (
                    "404 Not Found",
                    "only /metrics is served here\n".to_string(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            if let Err(e) = stream.write_all(response.as_bytes()).await {
                debug!(%peer, "metrics response not sent: {e}");
            }
        });
    }
}
