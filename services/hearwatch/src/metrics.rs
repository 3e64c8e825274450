//! The processor's Prometheus metrics and the `/metrics` endpoint.
//!
//! Every metric is named `hearwatch_…` and labelled only by bounded sets (type, reason,
//! rule, region, channel, phase, partition, kind): never by a hearing id. The alert rules
//! in `deploy/prometheus/rules/` and the dashboards in `deploy/grafana/dashboards/` read
//! these names; renaming one breaks them (their tests say which).
//!
//! Counters whose label values are known in advance are created at zero when the
//! processor starts, so that `rate()` and `increase()` see the first event after a start
//! and a dashboard shows a zero instead of "no data" for a reason or rule that never
//! happened. This module owns the names and labels; when to count is the processor's call.

use std::collections::HashMap;
use std::net::SocketAddr;

use anyhow::{Context, Result};
use hearwatch_engine::event::DlqReason;
use hearwatch_engine::region::{Channel, Region};
use hearwatch_engine::rule::Rule;
use hearwatch_engine::verdict::Violation;
use prometheus::{
    exponential_buckets, Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing::{debug, info};

/// The event types of the input contract (`schemas/event-v1.schema.json`), for the zeros
/// of `hearwatch_events_consumed_total`.
pub const EVENT_TYPES: [&str; 6] = [
    "application_received",
    "announcement_published",
    "protocol_published",
    "hearing_rescheduled",
    "hearing_cancelled",
    "hearing_held",
];

/// The kinds of failed ClickHouse writes: whether retrying can help.
pub const CLICKHOUSE_ERROR_KINDS: [&str; 2] = ["retryable", "permanent"];

/// Where a counted change comes from.
///
/// At every start, and for every partition it is assigned, the processor reads the
/// partition's backlog (from its snapshot, or from the beginning without one) and
/// evaluates it at once: the verdicts and dead letters that come out are mostly ones an
/// earlier run already had. Counting them apart keeps a restart from looking like a
/// burst of new violations or bad input to the alerts, while dashboards can still sum
/// both phases to see the work done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Read before the partition reached the end offset it had when assigned.
    Backlog,
    /// Everything after: new events and deadlines passing on the clock.
    Live,
}

impl Phase {
    /// The phase of work on a partition whose engine is (or is not) still holding.
    pub fn of(holding: bool) -> Phase {
        if holding {
            Phase::Backlog
        } else {
            Phase::Live
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Backlog => "backlog",
            Phase::Live => "live",
        }
    }
}

/// The bounds of `hearwatch_timer_lag_seconds`: fine around the 1 s a timer may take (the
/// processor fires timers every half second), coarse up to the better part of an hour.
/// They include every bound of the powers of 4 from 0.01 s that earlier builds used, so
/// queries and alert tests written against those still match.
const TIMER_LAG_BUCKETS: [f64; 18] = [
    0.01, 0.04, 0.1, 0.16, 0.25, 0.5, 0.64, 0.75, 1.0, 1.5, 2.0, 2.56, 5.0, 10.24, 40.96, 163.84,
    655.36, 2621.44,
];

/// The processor's metrics, registered in their own registry.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub events_consumed: IntCounterVec,
    pub events_dead_lettered: IntCounterVec,
    pub duplicates_ignored: IntCounter,
    pub violations_emitted: IntCounterVec,
    pub violations_retracted: IntCounterVec,
    pub active_violations: IntGaugeVec,
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

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let register = |collector: Box<dyn prometheus::core::Collector>| {
            registry.register(collector).expect("a unique metric");
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("a valid metric");
            register(Box::new(c.clone()));
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("a valid metric");
            register(Box::new(g.clone()));
            g
        };
        let histogram = |name: &str, help: &str, buckets: Vec<f64>| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
                .expect("a valid metric");
            register(Box::new(h.clone()));
            h
        };
        let duplicates_ignored = IntCounter::new(
            "hearwatch_duplicates_ignored_total",
            "Repeated events ignored.",
        )
        .expect("a valid metric");
        register(Box::new(duplicates_ignored.clone()));
        let consumer_lag = IntGaugeVec::new(
            Opts::new(
                "hearwatch_consumer_lag_messages",
                "Messages behind the end of a partition.",
            ),
            &["partition"],
        )
        .expect("a valid metric");
        register(Box::new(consumer_lag.clone()));
        // Unlike the counters, this survives a restart: the restored or rebuilt state gives
        // the same numbers, so it shows what the processor holds even when it did no work.
        let active_violations = IntGaugeVec::new(
            Opts::new(
                "hearwatch_active_violations",
                "Violations in force in the processor's state, every month, by rule and region.",
            ),
            &["rule", "region"],
        )
        .expect("a valid metric");
        register(Box::new(active_violations.clone()));
        let build = IntGaugeVec::new(
            Opts::new(
                "hearwatch_build_info",
                "Always 1; the labels name the build.",
            ),
            &["version"],
        )
        .expect("a valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        register(Box::new(build));

        let finding_labels = &["rule", "region", "channel", "phase"];
        let metrics = Metrics {
            events_consumed: counter_vec(
                "hearwatch_events_consumed_total",
                "Valid events consumed, by type (repeats not included).",
                &["type"],
            ),
            events_dead_lettered: counter_vec(
                "hearwatch_events_dead_lettered_total",
                "Messages sent to the dead-letter topic, by reason; phase=backlog while a \
                 partition's backlog is read again after a start.",
                &["reason", "phase"],
            ),
            duplicates_ignored,
            violations_emitted: counter_vec(
                "hearwatch_violations_emitted_total",
                "Violations that became active; phase=backlog when evaluated from a \
                 partition's backlog after a start.",
                finding_labels,
            ),
            violations_retracted: counter_vec(
                "hearwatch_violations_retracted_total",
                "Violations retracted; phase as for hearwatch_violations_emitted_total.",
                finding_labels,
            ),
            active_violations,
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
            // Since 2024 all of a day's deadlines fall at the same local midnight, so this
            // measures how fast such a burst drains: milliseconds to tens of minutes.
            timer_lag: histogram(
                "hearwatch_timer_lag_seconds",
                "Seconds between a deadline instant and the firing of its timer.",
                TIMER_LAG_BUCKETS.to_vec(),
            ),
            consumer_lag,
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
        metrics.start_at_zero();
        metrics
    }

    /// Creates every counter series whose labels are known in advance, at zero.
    ///
    /// Violations are created for the live phase only: that is what the alerts read, and
    /// backlog series appear with the backlog. 11 rules × 20 regions × 2 channels makes
    /// 440 series per counter, a bounded cost paid once.
    fn start_at_zero(&self) {
        for event_type in EVENT_TYPES {
            self.events_consumed.with_label_values(&[event_type]);
        }
        for reason in DlqReason::ALL {
            for phase in [Phase::Backlog, Phase::Live] {
                self.events_dead_lettered
                    .with_label_values(&[reason.as_str(), phase.as_str()]);
            }
        }
        for rule in Rule::ALL {
            for region in Region::all() {
                self.active_violations
                    .with_label_values(&[rule.as_str(), region.code()]);
                for channel in Channel::ALL {
                    let labels = [
                        rule.as_str(),
                        region.code(),
                        channel.as_str(),
                        Phase::Live.as_str(),
                    ];
                    self.violations_emitted.with_label_values(&labels);
                    self.violations_retracted.with_label_values(&labels);
                }
            }
        }
        for kind in CLICKHOUSE_ERROR_KINDS {
            self.clickhouse_errors.with_label_values(&[kind]);
        }
    }

    /// Counts a violation that became active (`active`) or was retracted.
    pub fn count_violation(&self, violation: &Violation, active: bool, phase: Phase) {
        let labels = [
            violation.rule.as_str(),
            violation.region.code(),
            violation.channel.as_str(),
            phase.as_str(),
        ];
        let counter = if active {
            &self.violations_emitted
        } else {
            &self.violations_retracted
        };
        counter.with_label_values(&labels).inc();
    }

    /// Sets `hearwatch_active_violations` from the counts of every engine (which keeps
    /// them with its state, so a restored snapshot restores them too).
    ///
    /// Set from the engines at every flush rather than from the changes the processor
    /// writes, so that a revoked partition or a reconciliation cannot leave it wrong.
    pub fn set_active_violations(&self, counts: impl Iterator<Item = (Rule, Region, u64)>) {
        let mut summed: HashMap<(Rule, &str), i64> = HashMap::new();
        for (rule, region, count) in counts {
            *summed.entry((rule, region.code())).or_default() += count as i64;
        }
        let counts = summed;
        for rule in Rule::ALL {
            for region in Region::all() {
                let count = counts.get(&(rule, region.code())).copied().unwrap_or(0);
                self.active_violations
                    .with_label_values(&[rule.as_str(), region.code()])
                    .set(count);
            }
        }
    }

    /// Counts a message sent to the dead-letter topic.
    pub fn count_dead_letter(&self, reason: DlqReason, phase: Phase) {
        self.events_dead_lettered
            .with_label_values(&[reason.as_str(), phase.as_str()])
            .inc();
    }

    /// Counts a failed ClickHouse write.
    pub fn count_clickhouse_error(&self, permanent: bool) {
        let kind = CLICKHOUSE_ERROR_KINDS[usize::from(permanent)];
        self.clickhouse_errors.with_label_values(&[kind]).inc();
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

/// Listens on `addr` for [`serve`]. A processor that cannot be watched must not run
/// unseen, so the caller stops on an error.
pub async fn bind(addr: &str) -> Result<TcpListener> {
    let parsed: SocketAddr = addr.parse().with_context(|| {
        format!("the metrics address {addr:?} (--metrics-addr, HEARWATCH_METRICS_ADDR or [processor] metrics_addr) is not HOST:PORT")
    })?;
    let listener = TcpListener::bind(parsed).await.with_context(|| {
        format!("cannot listen on {parsed} for /metrics (is another processor running there?)")
    })?;
    info!("metrics on http://{}/metrics", listener.local_addr()?);
    Ok(listener)
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Metrics) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The lines of the text format that carry a value, without comments.
    fn samples(metrics: &Metrics) -> Vec<String> {
        metrics
            .render()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_event_types_are_those_of_the_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/event-v1.schema.json"))
                .expect("the schema is JSON");
        let in_schema: BTreeSet<&str> = schema["properties"]["type"]["enum"]
            .as_array()
            .expect("the schema lists the types")
            .iter()
            .map(|t| t.as_str().expect("a type is a string"))
            .collect();
        assert_eq!(in_schema, EVENT_TYPES.into_iter().collect());
    }

    #[test]
    fn known_label_values_start_at_zero() {
        let metrics = Metrics::new();
        let lines = samples(&metrics);
        let has = |prefix: &str, parts: &[&str]| {
            lines
                .iter()
                .any(|l| l.starts_with(prefix) && parts.iter().all(|p| l.contains(p)))
        };
        for reason in DlqReason::ALL {
            let reason = format!("reason=\"{}\"", reason.as_str());
            assert!(has(
                "hearwatch_events_dead_lettered_total{",
                &[&reason, "live"]
            ));
        }
        for t in EVENT_TYPES {
            let t = format!("type=\"{t}\"");
            assert!(has("hearwatch_events_consumed_total{", &[&t]));
        }
        let emitted = lines
            .iter()
            .filter(|l| l.starts_with("hearwatch_violations_emitted_total{"))
            .count();
        assert_eq!(emitted, Rule::ALL.len() * 20 * Channel::ALL.len());
        assert!(has(
            "hearwatch_violations_retracted_total{",
            &[
                "rule=\"protocol_late\"",
                "region=\"KZ-62\"",
                "phase=\"live\""
            ]
        ));
        assert!(has(
            "hearwatch_clickhouse_errors_total{",
            &["kind=\"permanent\""]
        ));
        assert!(lines
            .iter()
            .filter(|l| l.starts_with("hearwatch_") && l.contains("_total"))
            .all(|l| l.ends_with(" 0")));
    }

    #[test]
    fn every_name_has_the_prefix_and_no_label_names_a_hearing() {
        let metrics = Metrics::new();
        metrics.consumer_lag.with_label_values(&["0"]).set(1);
        for family in metrics.registry.gather() {
            assert!(family.name().starts_with("hearwatch_"), "{}", family.name());
            for metric in family.get_metric() {
                for label in metric.get_label() {
                    assert!(
                        !label.name().contains("hearing") && label.name() != "id",
                        "{} has label {}",
                        family.name(),
                        label.name()
                    );
                }
            }
        }
    }

    fn violation(hearing: &str, region: &str, rule: Rule) -> Violation {
        Violation {
            hearing_id: hearing.into(),
            region: region.parse().expect("a region"),
            form: hearwatch_engine::region::Form::OpenMeeting,
            rule,
            document: hearwatch_engine::region::Document::Announcement,
            channel: Channel::MioWebsite,
            month: chrono::NaiveDate::from_ymd_opt(2025, 5, 1).expect("a date"),
            deadline_on: None,
            deadline_at: None,
            published: None,
            hearing_on: None,
        }
    }

    #[test]
    fn active_violations_are_set_from_the_engines_counts() {
        let metrics = Metrics::new();
        let kz19: Region = "KZ-19".parse().expect("a region");
        let counts = [
            (Rule::ProtocolMissing, kz19, 1),
            (Rule::ProtocolMissing, kz19, 1),
        ];
        let active = |metrics: &Metrics| {
            metrics
                .active_violations
                .with_label_values(&["protocol_missing", "KZ-19"])
                .get()
        };
        metrics.set_active_violations(counts.into_iter());
        assert_eq!(active(&metrics), 2);
        metrics.set_active_violations(counts[..1].iter().copied());
        assert_eq!(active(&metrics), 1);
        metrics.set_active_violations(std::iter::empty());
        assert_eq!(active(&metrics), 0);
    }

    #[test]
    fn a_backlog_violation_is_counted_apart_from_live_ones() {
        let metrics = Metrics::new();
        let violation = violation("H-1", "KZ-39", Rule::AnnouncementMissing);
        metrics.count_violation(&violation, true, Phase::Backlog);
        metrics.count_violation(&violation, true, Phase::Live);
        metrics.count_violation(&violation, false, Phase::Live);
        let labels = |phase: Phase| {
            [
                "announcement_missing",
                "KZ-39",
                "mio_website",
                phase.as_str(),
            ]
        };
        let emitted = &metrics.violations_emitted;
        assert_eq!(emitted.with_label_values(&labels(Phase::Backlog)).get(), 1);
        assert_eq!(emitted.with_label_values(&labels(Phase::Live)).get(), 1);
        let retracted = &metrics.violations_retracted;
        assert_eq!(retracted.with_label_values(&labels(Phase::Live)).get(), 1);
        assert!(!metrics.render().contains("H-1"));
    }
}
