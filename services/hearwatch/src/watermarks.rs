//! The input topic's end offsets, for the consumer-lag gauge.
//!
//! Asking the broker for a partition's end offset takes as long as the broker needs to
//! answer, up to a fetch long-poll when the topic is quiet. The processor's loop also
//! fires timers and writes rows, so the question is asked here, on a thread of its own
//! with a client of its own, and the loop only reads the latest answers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use tracing::debug;

use crate::config::KafkaConfig;
use crate::kafka::client_config;

/// How often the end offsets are asked for.
const EVERY: Duration = Duration::from_secs(5);
/// How long one question may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The latest end offset of every partition of the input topic, kept up to date in the
/// background until dropped.
pub struct Watermarks {
    ends: Arc<Mutex<HashMap<i32, i64>>>,
    stop: Arc<AtomicBool>,
}

impl Watermarks {
    /// Starts asking. The client joins no group: it only reads metadata and offsets.
    pub fn start(kafka: &KafkaConfig) -> Result<Watermarks> {
        let mut config = client_config(kafka);
        config.set("group.id", format!("{}.watermarks", kafka.group));
        let consumer: BaseConsumer = config
            .create()
            .context("cannot create the Kafka client that reads end offsets")?;
        let ends = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let topic = kafka.topic.clone();
        let (shared, stopped) = (Arc::clone(&ends), Arc::clone(&stop));
        thread::Builder::new()
            .name("watermarks".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    ask(&consumer, &topic, &shared);
                    let mut waited = Duration::ZERO;
                    while waited < EVERY && !stopped.load(Ordering::Relaxed) {
                        thread::sleep(Duration::from_millis(100));
                        waited += Duration::from_millis(100);
                    }
                }
            })
            .context("cannot start the thread that reads end offsets")?;
        Ok(Watermarks { ends, stop })
    }

    /// How many partitions the topic has, once the broker has said.
    pub fn partition_count(&self) -> Option<usize> {
        let ends = self.ends.lock().expect("not poisoned");
        (!ends.is_empty()).then(|| ends.len())
    }

    /// The latest known end offset of `partition`.
    pub fn end_of(&self, partition: i32) -> Option<i64> {
        self.ends
            .lock()
            .expect("not poisoned")
            .get(&partition)
            .copied()
    }
}

impl Drop for Watermarks {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One round: every partition's end offset; what the broker does not answer keeps its
/// last value.
fn ask(consumer: &BaseConsumer, topic: &str, ends: &Mutex<HashMap<i32, i64>>) {
    let partitions: Vec<i32> = match consumer.fetch_metadata(Some(topic), TIMEOUT) {
        Ok(metadata) => metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect(),
        Err(e) => {
            debug!("end offsets: no metadata for {topic}: {e}");
            return;
        }
    };
    for p in partitions {
        match consumer.fetch_watermarks(topic, p, TIMEOUT) {
            Ok((_, high)) => {
                ends.lock().expect("not poisoned").insert(p, high);
            }
            Err(e) => debug!(partition = p, "end offset unknown: {e}"),
        }
    }
}
