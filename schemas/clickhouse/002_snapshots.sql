-- Durable engine state. `{db}` is replaced by the configured database name.

-- Snapshots of one input partition's engine (its hearings, findings and timers), each
-- tied to the input offset it has read up to: a processor that takes the partition on
-- restores the snapshot and reads on from `input_offset`, instead of from the beginning.
-- A snapshot is written only after ClickHouse confirmed every finding it contains, and
-- the consumer group's offset moves to `input_offset` only after the snapshot is written.
-- Large snapshots are split into chunks; a snapshot counts once all its chunks are here.
CREATE TABLE IF NOT EXISTS {db}.engine_snapshots (
    topic String,
    partition Int32,
    input_offset Int64,       -- the first input offset the snapshot has not read
    taken_at DateTime,
    snapshot_id String,
    format UInt16,            -- the engine's snapshot format version
    chunk UInt32,
    chunks UInt32,
    data String               -- binary
) ENGINE = MergeTree()
ORDER BY (topic, partition, input_offset, snapshot_id, chunk);
