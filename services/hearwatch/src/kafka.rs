//! Kafka clients: their settings, the dead-letter topic, and `hearwatch produce`.

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::ClientConfig;
use tracing::info;

use crate::cli::ProduceArgs;
use crate::config::{FileConfig, KafkaConfig};
use crate::output::{for_each_line, open_input};

/// Client settings: the brokers, then the configured librdkafka properties (TLS, SASL).
pub fn client_config(config: &KafkaConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &config.brokers);
    for (key, value) in &config.properties {
        client.set(key, value);
    }
    client
}

/// A producer that waits for all in-sync replicas and never writes a message twice.
pub fn producer(config: &KafkaConfig) -> Result<FutureProducer> {
    let mut client = client_config(config);
    client
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("message.max.bytes", "1048576");
    client.create().context("cannot create a Kafka producer")
}

/// Where a dead-lettered message came from and why it was rejected.
pub struct DeadLetter<'a> {
    pub payload: &'a [u8],
    pub key: Option<&'a [u8]>,
    pub reason: &'a str,
    pub detail: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
}

/// Sends a message to the dead-letter topic: the original bytes and key, and headers
/// `hearwatch.reason`, `hearwatch.detail`, `hearwatch.source.topic`,
/// `hearwatch.source.partition` and `hearwatch.source.offset`.
pub fn send_dead_letter(
    producer: &FutureProducer,
    dlq_topic: &str,
    letter: &DeadLetter<'_>,
) -> Result<DeliveryFuture> {
    let partition = letter.partition.to_string();
    let offset = letter.offset.to_string();
    let headers = OwnedHeaders::new()
        .insert(Header {
            key: "hearwatch.reason",
            value: Some(letter.reason),
        })
        .insert(Header {
            key: "hearwatch.detail",
            value: Some(letter.detail),
        })
        .insert(Header {
            key: "hearwatch.source.topic",
            value: Some(letter.topic),
        })
        .insert(Header {
            key: "hearwatch.source.partition",
            value: Some(&partition),
        })
        .insert(Header {
            key: "hearwatch.source.offset",
            value: Some(&offset),
        });
    let mut record = FutureRecord::<[u8], [u8]>::to(dlq_topic)
        .payload(letter.payload)
        .headers(headers);
    if let Some(key) = letter.key {
        record = record.key(key);
    }
    producer
        .send_result(record)
        .map_err(|(e, _)| anyhow::anyhow!("cannot queue a dead letter: {e}"))
}

/// Most deliveries `produce` waits on at once.
const IN_FLIGHT: usize = 20_000;

/// `hearwatch produce`: every line of the file to the input topic, keyed by its
/// `hearing_id`. Lines are sent as they are; a line without a readable `hearing_id` goes
/// without a key, and the processor dead-letters it.
pub async fn produce(args: &ProduceArgs, file: &FileConfig) -> Result<()> {
    let config = KafkaConfig::resolve(&args.kafka, None, file);
    let producer = producer(&config)?;
    check_topic_exists(&producer, &config)?;
    let mut in_flight: VecDeque<DeliveryFuture> = VecDeque::new();
    let mut input = open_input(&args.events)?;
    let mut sent = 0usize;
    let mut lines = Vec::new();
    for_each_line(&mut *input, |_, bytes| {
        lines.push(bytes.to_vec());
        Ok(())
    })?;
    for bytes in &lines {
        let key = hearing_key(bytes);
        let mut record = FutureRecord::<[u8], [u8]>::to(&config.topic).payload(bytes);
        if let Some(key) = key.as_deref() {
            record = record.key(key.as_bytes());
        }
        let delivery = loop {
            match producer.send_result(record) {
                Ok(d) => break d,
                Err((e, back)) => {
                    if in_flight.is_empty() {
                        anyhow::bail!("cannot queue an event for {}: {e}", config.topic);
                    }
                    record = back;
                    wait(in_flight.pop_front(), &config.topic).await?;
                }
            }
        };
        in_flight.push_back(delivery);
        if in_flight.len() >= IN_FLIGHT {
            wait(in_flight.pop_front(), &config.topic).await?;
        }
        sent += 1;
        if sent.is_multiple_of(100_000) {
            info!(sent, total = lines.len(), "producing");
        }
    }
    while let Some(d) = in_flight.pop_front() {
        wait(Some(d), &config.topic).await?;
    }
    producer
        .flush(Duration::from_secs(30))
        .context("flushing the producer")?;
    info!(sent, topic = %config.topic, brokers = %config.brokers, "events produced");
    Ok(())
}

/// A command that produces fails at once, naming what is wrong, when the brokers do not
/// answer or say the topic does not exist (a processor instead waits for them).
fn check_topic_exists(producer: &FutureProducer, config: &KafkaConfig) -> Result<()> {
    let timeout = Duration::from_secs(10);
    let metadata = tokio::task::block_in_place(|| {
        producer
            .client()
            .fetch_metadata(Some(&config.topic), timeout)
    })
    .with_context(|| {
        format!(
            "Kafka at {} did not answer within {} s (is it running? deploy/stack.sh status)",
            config.brokers,
            timeout.as_secs()
        )
    })?;
    let missing = metadata.topics().iter().any(|t| {
        t.name() == config.topic
            && t.error() == Some(RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
    });
    if missing {
        anyhow::bail!(
            "the topic {} does not exist on {} (create it, or fix --topic / HEARWATCH_TOPIC)",
            config.topic,
            config.brokers
        );
    }
    Ok(())
}

async fn wait(delivery: Option<DeliveryFuture>, topic: &str) -> Result<()> {
    let Some(delivery) = delivery else {
        return Ok(());
    };
    match delivery.await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(anyhow::anyhow!(
            "Kafka did not take an event for {topic}: {e}"
        )),
        Err(_) => Err(anyhow::anyhow!(
            "the producer stopped before a delivery was confirmed"
        )),
    }
}

/// The `hearing_id` of a JSON line, if it has a string one.
fn hearing_key(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Keyed {
        hearing_id: String,
    }
    serde_json::from_slice::<Keyed>(bytes)
        .ok()
        .map(|k| k.hearing_id)
}
