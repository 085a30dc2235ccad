-- The pipeline state (SQLite, <lakehouse>/_state/pipeline.sqlite), created by whichever engine
-- opens a lakehouse first: the embedded pipeline (pipeline/state.ts) or a Spark job
-- (scripts/stedi_spark/state.py). Not a job: several statements, run once.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  status TEXT NOT NULL,
  options TEXT NOT NULL,
  report TEXT,
  error TEXT
);
CREATE TABLE IF NOT EXISTS landing_files (
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  dataset TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  run_id INTEGER NOT NULL,
  records INTEGER NOT NULL,
  quarantined INTEGER NOT NULL,
  PRIMARY KEY (path, sha256)
);
CREATE TABLE IF NOT EXISTS table_versions (
  table_name TEXT NOT NULL,
  version INTEGER NOT NULL,
  run_id INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  files TEXT NOT NULL,
  PRIMARY KEY (table_name, version)
);
-- Erasure (stedi privacy erase). A tombstone holds the keyed hash of an erased email or serial number
-- (contracts/privacy.ts), never the value; it covers records dated at or before erased_at (epoch ms).
-- Lakehouses made before erasure existed gain these tables at their next run (CREATE IF NOT EXISTS).
CREATE TABLE IF NOT EXISTS tombstones (
  kind TEXT NOT NULL,
  hash TEXT NOT NULL,
  erased_at INTEGER NOT NULL,
  PRIMARY KEY (kind, hash)
);
-- Records dropped because a tombstone covers them (by an erasure, or at ingestion), per dataset:
-- valid records count as filtered out with the reason `erased` (landing = trusted + filtered).
CREATE TABLE IF NOT EXISTS erased_counts (
  dataset TEXT PRIMARY KEY,
  records INTEGER NOT NULL,
  quarantined INTEGER NOT NULL
);
-- Landing files an erasure committed to rewrite and has not yet replaced: the next run or erasure
-- rewrites them again (the rewrite is a function of the content and the tombstones).
CREATE TABLE IF NOT EXISTS pending_rewrites (
  path TEXT PRIMARY KEY,
  identity TEXT NOT NULL
);
-- Retention (--retain-landing): landing files deleted after their rows were promoted, by identity
-- (path and content hash, or s3:size:ETag). Their landing_files rows stay, so that a redelivery of
-- the same content is known; a full refresh keeps their rows (their files are gone) and their
-- landing_files rows. Recorded in the commit of the run that retires them, deleted after it.
CREATE TABLE IF NOT EXISTS retired_landing_files (
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  retired_at TEXT NOT NULL,
  PRIMARY KEY (path, sha256)
);
