-- Takt store schema, version 1. Every text column that is compared or ordered by the store
-- uses the "C" collation, so ordering is by bytes, as Go compares strings.

-- records: one row per versioned entity. data is bytea: the store keeps the caller's JSON
-- byte for byte (jsonb would reorder keys and drop duplicates). keys and the index entries
-- are repeated here so that a Get is one row read; record_keys and record_index derive
-- from them and are kept in step by the same statement that writes the row.
CREATE TABLE records (
    kind         text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    site         text COLLATE "C" NOT NULL,
    version      bigint NOT NULL CHECK (version > 0),
    keys         text[] COLLATE "C" NOT NULL,
    index_names  text[] COLLATE "C" NOT NULL,
    index_values text[] COLLATE "C" NOT NULL,
    data         bytea,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_by_site ON records (kind, site, id);

-- record_keys: unique keys per kind; the primary key makes a second holder impossible,
-- even between concurrent transactions.
CREATE TABLE record_keys (
    kind text COLLATE "C" NOT NULL,
    key  text COLLATE "C" NOT NULL,
    id   text COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX record_keys_by_owner ON record_keys (kind, id);

-- record_index: name=value entries for List, ordered by id within (kind, site, name, value).
CREATE TABLE record_index (
    kind  text COLLATE "C" NOT NULL,
    site  text COLLATE "C" NOT NULL,
    name  text COLLATE "C" NOT NULL,
    value text COLLATE "C" NOT NULL,
    id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (kind, site, name, value, id)
);
CREATE INDEX record_index_by_owner ON record_index (kind, id);

-- log_head: the one row every transaction that appends events or audit records updates as
-- its last statement. It holds the last event position and the audit chain head; the row
-- lock serialises those commits, so positions are assigned and become visible in commit
-- order, without gaps, and the chain is sealed in commit order.
CREATE TABLE log_head (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    event_pos  bigint NOT NULL,
    audit_seq  bigint NOT NULL,
    audit_hash text NOT NULL
);
INSERT INTO log_head (event_pos, audit_seq, audit_hash) VALUES (0, 0, '');

-- Times are stored as timestamptz (microseconds) plus the nanoseconds below the
-- microsecond (*_ns, 0..999), so a Go time round-trips exactly: the audit hash covers it.
CREATE TABLE events (
    position bigint PRIMARY KEY,
    type     text NOT NULL,
    site     text NOT NULL,
    subject  text NOT NULL,
    time     timestamptz NOT NULL,
    time_ns  smallint NOT NULL,
    actor    text NOT NULL,
    command  text NOT NULL,
    data     bytea
);

CREATE TABLE audit (
    seq        bigint PRIMARY KEY,
    time       timestamptz NOT NULL,
    time_ns    smallint NOT NULL,
    actor      text NOT NULL,
    actor_kind text NOT NULL,
    action     text NOT NULL,
    site       text NOT NULL,
    object     text NOT NULL,
    "where"    text NOT NULL,
    reason     text NOT NULL,
    command    text NOT NULL,
    changes    jsonb,
    signatures jsonb,
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);

-- edges: the genealogy graph. Nodes are (kind, id); kind 0 with id '' is the outside of the
-- plant. qty is the exact text of a units.Quantity ("50 ea"). seq is the order edges were
-- added; the indexes serve Inputs (backward) and Outputs (forward) in that order.
CREATE TABLE edges (
    seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       smallint NOT NULL,
    from_kind  smallint NOT NULL,
    from_id    text COLLATE "C" NOT NULL,
    to_kind    smallint NOT NULL,
    to_id      text COLLATE "C" NOT NULL,
    qty        text NOT NULL,
    work_order text NOT NULL,
    step       text NOT NULL,
    equipment  text NOT NULL,
    operator   text NOT NULL,
    reason     text NOT NULL,
    at         timestamptz NOT NULL,
    at_ns      smallint NOT NULL
);
CREATE INDEX edges_by_to ON edges (to_kind, to_id, seq);
CREATE INDEX edges_by_from ON edges (from_kind, from_id, seq);
