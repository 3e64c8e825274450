//! Durable engine state: snapshots of a partition's engine, kept in ClickHouse.
//!
//! A snapshot is the engine's own bytes ([`hearwatch_engine::engine::Engine::snapshot`])
//! for one input partition, tied to the input offset it has read up to, split into chunks
//! so that no single row is large. ClickHouse is already the store that must be reachable
//! for the processor to make progress, and it is shared by every processor of the group,
//! so a partition that moves to another processor finds its state there.

use clickhouse::{Client, Row};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The largest chunk of a snapshot, in bytes.
const CHUNK: usize = 4 << 20;

/// One chunk of a snapshot, as `engine_snapshots` stores it.
#[derive(Debug, Row, Serialize, Deserialize)]
struct SnapshotRow {
    topic: String,
    partition: i32,
    input_offset: i64,
    taken_at: u32,
    snapshot_id: String,
    format: u16,
    chunk: u32,
    chunks: u32,
    data: ByteBuf,
}

/// Where a snapshot belongs: an input partition and the offset it has read up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub input_offset: i64,
}

/// Writes a snapshot in one insert; once this returns, ClickHouse has all of it.
pub async fn save(
    client: &Client,
    at: Position<'_>,
    format: u16,
    taken_at: u32,
    bytes: &[u8],
) -> clickhouse::error::Result<()> {
    let snapshot_id = format!(
        "{}-{}-{}-{taken_at}",
        at.topic, at.partition, at.input_offset
    );
    let chunks = bytes.chunks(CHUNK).count().max(1) as u32;
    let mut insert = client.insert::<SnapshotRow>("engine_snapshots").await?;
    let pieces: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[]]
    } else {
        bytes.chunks(CHUNK).collect()
    };
    for (chunk, piece) in pieces.into_iter().enumerate() {
        let row = SnapshotRow {
            topic: at.topic.to_string(),
            partition: at.partition,
            input_offset: at.input_offset,
            taken_at,
            snapshot_id: snapshot_id.clone(),
            format,
            chunk: chunk as u32,
            chunks,
            data: ByteBuf::from(piece.to_vec()),
        };
        insert.write(&row).await?;
    }
    insert.end().await
}

/// The newest complete snapshot taken exactly at `at`, as bytes with their format.
pub async fn load(
    client: &Client,
    at: Position<'_>,
) -> clickhouse::error::Result<Option<(u16, Vec<u8>)>> {
    #[derive(Debug, Row, Deserialize)]
    struct Complete {
        snapshot_id: String,
    }
    let newest = client
        .query(
            "SELECT snapshot_id FROM engine_snapshots \
             WHERE topic = ? AND partition = ? AND input_offset = ? \
             GROUP BY snapshot_id HAVING uniqExact(chunk) = any(chunks) \
             ORDER BY max(taken_at) DESC, snapshot_id DESC LIMIT 1",
        )
        .bind(at.topic)
        .bind(at.partition)
        .bind(at.input_offset)
        .fetch_all::<Complete>()
        .await?;
    let Some(Complete { snapshot_id }) = newest.into_iter().next() else {
        return Ok(None);
    };
    let rows = client
        .query("SELECT ?fields FROM engine_snapshots WHERE snapshot_id = ? ORDER BY chunk")
        .bind(&snapshot_id)
        .fetch_all::<SnapshotRow>()
        .await?;
    let format = rows.first().map_or(0, |r| r.format);
    let mut bytes = Vec::with_capacity(rows.iter().map(|r| r.data.len()).sum());
    let mut seen = std::collections::BTreeSet::new();
    for row in rows {
        if seen.insert(row.chunk) {
            bytes.extend_from_slice(&row.data);
        }
    }
    Ok(Some((format, bytes)))
}

/// Deletes a partition's snapshots older than the one at `keep`: they will not be read.
pub async fn prune(client: &Client, keep: Position<'_>) -> clickhouse::error::Result<()> {
    client
        .query("ALTER TABLE engine_snapshots DELETE WHERE topic = ? AND partition = ? AND input_offset < ?")
        .bind(keep.topic)
        .bind(keep.partition)
        .bind(keep.input_offset)
        .execute()
        .await
}
