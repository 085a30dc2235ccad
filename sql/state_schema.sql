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
