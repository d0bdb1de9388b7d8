-- Events are sealed into a hash chain like the audit records (store.SealEvent): each event
-- carries the hash of the one before it and its own; log_head keeps the last hash. Events
-- written before this migration have empty hashes; a chain verified from position 1 then
-- reports the first of them, so apply it to a new store or accept that history as unsealed.
ALTER TABLE events ADD COLUMN prev_hash text NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN hash text NOT NULL DEFAULT '';
ALTER TABLE log_head ADD COLUMN event_hash text NOT NULL DEFAULT '';
