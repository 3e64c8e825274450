-- hearwatch's tables. `{db}` is replaced by the configured database name.
-- Runs on ClickHouse 18.16 and on current ClickHouse: no Nullable, LowCardinality,
-- DateTime64 or TTL. A date or instant that does not apply is stored as 0 (1970-01-01).

CREATE DATABASE IF NOT EXISTS {db};

-- Every change of every finding, appended, never updated: the knowledge-time log.
-- A finding is a violation or a placement (a document's first appearance on a channel),
-- identified by `finding_id` = hearing/rule-or-"placement"/document/channel. Its current
-- state is the row with the highest `version`; `active` = 0 means retracted. Writing the
-- same row twice changes nothing, since readers take one row per finding.
CREATE TABLE IF NOT EXISTS {db}.findings_log (
    finding_id String,
    hearing_id String,
    kind String,              -- 'violation' or 'placement'
    region String,            -- ISO 3166-2:KZ code
    form String,              -- 'open_meeting' or 'public_discussion'
    rule String,              -- the rule code; '' for placements
    document String,          -- 'announcement' or 'protocol'
    channel String,           -- 'information_system' or 'mio_website'
    month Date,               -- first day of the month the finding counts in (local dates)
    active UInt8,             -- 1: in force; 0: retracted
    version UInt64,           -- grows with every change of a finding; the highest wins
    known_at DateTime,        -- when the processor wrote the row (knowledge time)
    clock DateTime,           -- the processor's event-time clock when it computed the row
    deadline_on Date,         -- last working day of the deadline (deadline rules)
    deadline_at DateTime,     -- instant the deadline passed (deadline rules)
    hearing_on Date,          -- the hearing date the rule measured against
    published_at DateTime,    -- the publication behind the finding
    published_on Date,        -- its local date
    declared_on Date,         -- the date printed on it
    section String,
    url String,
    event_id String,          -- the publication's event id
    source_partition Int32    -- the input partition of the hearing
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(month)
ORDER BY (region, hearing_id, finding_id, version);

-- The processor's event-time clock and backlog, written with every flush.
CREATE TABLE IF NOT EXISTS {db}.processor_clock (
    processor String,
    known_at DateTime,
    clock DateTime,
    lag UInt64,               -- messages behind the end of the assigned partitions
    pending_timers UInt64
) ENGINE = MergeTree()
ORDER BY (processor, known_at);
