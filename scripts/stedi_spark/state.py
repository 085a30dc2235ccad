"""The pipeline state (SQLite, `_state/pipeline.sqlite`), as the embedded pipeline keeps it (pipeline/state.ts).

A job holds one write transaction from its start to its commit: SQLite's lock is the "one run per
lakehouse" guard for both engines, and a job killed before its commit leaves no trace.
"""
import json
import os
import sqlite3
import time
from datetime import datetime, timezone

from .contracts import LAKEHOUSE_FORMAT_VERSION, STATE_DB, STATE_DIR
from .errors import SparkJobError
from .privacy import PrivacyKeyError, TombstoneMatcher, key_fingerprint, load_privacy_key


def _statements(script):
    """A SQL script as its statements (executescript would commit the run's open transaction first)."""
    out, buf = [], ''
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ''
    if buf.strip() and not all(l.strip().startswith('--') or not l.strip() for l in buf.splitlines()):
        out.append(buf.strip())
    return out


def _now():
    return datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


class StateStore:
    """The state of a lakehouse in a local folder (the lakehouse itself, or a fetched copy of its state)."""

    def __init__(self, lakehouse, schema_sql):
        self.lakehouse = os.path.abspath(lakehouse)
        self.schema_sql = schema_sql
        self.db_file = os.path.join(self.lakehouse, STATE_DB)
        self.in_run = False
        if not os.path.isfile(self.db_file):
            if os.path.isdir(self.lakehouse) and os.listdir(self.lakehouse):
                raise SparkJobError('PIPE_ERR_NOT_A_LAKEHOUSE',
                                    f'{self.lakehouse} is not a lakehouse (it is not empty and has no {STATE_DB}): choose a new or empty folder')
            os.makedirs(os.path.join(self.lakehouse, STATE_DIR), exist_ok=True)
        try:
            self.db = sqlite3.connect(self.db_file, isolation_level=None, timeout=5)
            self.db.execute('PRAGMA synchronous = FULL')
            has_meta = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            if has_meta is None:
                self.db.execute('PRAGMA journal_mode = WAL')
                self.db.executescript(schema_sql)
                self.db.execute('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', ('format_version', str(LAKEHOUSE_FORMAT_VERSION)))
            row = self.db.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
        except sqlite3.DatabaseError as err:
            raise SparkJobError('PIPE_ERR_STATE_CORRUPT',
                                f'cannot read pipeline state {self.db_file} ({err}): restore it, or point --lakehouse at a new folder to rebuild from landing') from err
        if row is None or row[0] != str(LAKEHOUSE_FORMAT_VERSION):
            self.db.close()
            raise SparkJobError('PIPE_ERR_LAKEHOUSE_VERSION',
                                f'lakehouse {self.lakehouse} has format version {row[0] if row else "none"}, these jobs read version {LAKEHOUSE_FORMAT_VERSION}: use a new --lakehouse folder')

    def _owner_file(self):
        return os.path.join(self.lakehouse, STATE_DIR, 'run-owner.json')

    def begin_run(self, options, wait_seconds):
        """Takes the lakehouse's write lock and opens a run; PIPE_ERR_BUSY names the holder."""
        deadline = time.monotonic() + wait_seconds
        self.db.execute('PRAGMA busy_timeout = 0')
        while True:
            try:
                self.db.execute('BEGIN IMMEDIATE')
                break
            except sqlite3.OperationalError as err:
                if 'locked' not in str(err) and 'busy' not in str(err):
                    raise
                if time.monotonic() >= deadline:
                    raise self._busy_error() from err
                time.sleep(0.1)
        self.db.execute('PRAGMA busy_timeout = 5000')
        self.in_run = True
        # a lakehouse made before erasure existed gains its tables here (every statement is IF NOT EXISTS)
        for statement in _statements(self.schema_sql):
            self.db.execute(statement)
        # an erasure killed after its commit left landing files to rewrite; only the embedded engine
        # rewrites landing files, so these jobs do not read landing until it has
        pending = self.db.execute('SELECT count(*) FROM pending_rewrites').fetchone()[0]
        if pending > 0:
            self.db.execute('ROLLBACK')
            self.in_run = False
            raise SparkJobError('PIPE_ERR_ERASURE_PENDING',
                                f'an interrupted erasure left {pending} landing file(s) of {self.lakehouse} to rewrite: '
                                'run `stedi privacy erase` again (or `stedi pipeline run` with the embedded engine) to finish it, then these jobs')
        started = _now()
        cur = self.db.execute("INSERT INTO runs (started_at, status, options) VALUES (?, 'running', ?)", (started, json.dumps(options)))
        run_id = cur.lastrowid
        tmp = self._owner_file() + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'pid': os.getpid(), 'runId': run_id, 'startedAt': started}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._owner_file())
        return run_id

    def _busy_error(self):
        try:
            with open(self._owner_file()) as f:
                owner = json.load(f)
            who = f"process {owner['pid']} (since {owner['startedAt']})"
        except (OSError, ValueError, KeyError):
            who = 'another process'
        return SparkJobError('PIPE_ERR_BUSY', f'another pipeline run holds {self.lakehouse}: {who}; wait for it, or pass --wait-seconds to queue behind it')

    def retired_count(self, dataset):
        """Landing files of the dataset that --retain-landing deleted (0 when the table does not exist)."""
        if self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'retired_landing_files'").fetchone() is None:
            return 0
        return self.db.execute(
            'SELECT count(*) FROM retired_landing_files r JOIN landing_files l ON l.path = r.path AND l.sha256 = r.sha256 WHERE l.dataset = ?',
            (dataset,)).fetchone()[0]

    def known_files(self, dataset):
        by_path = {}
        identities = set()
        for path, sha, size, mtime in self.db.execute(
                'SELECT path, sha256, size, mtime_ms FROM landing_files WHERE dataset = ? ORDER BY run_id', (dataset,)):
            by_path[path] = (size, mtime)
            identities.add((path, sha))
        return by_path, identities

    def current_versions(self):
        rows = self.db.execute(
            """SELECT v.table_name, v.version, v.run_id, v.rows, v.files FROM table_versions v
               JOIN (SELECT table_name, max(version) AS version FROM table_versions GROUP BY table_name) c
                 ON c.table_name = v.table_name AND c.version = v.version""").fetchall()
        return {t: {'table': t, 'version': v, 'runId': r, 'rows': n, 'files': json.loads(f)} for t, v, r, n, f in rows}

    def retained_files(self, keep):
        files = set()
        for (f,) in self.db.execute(
                """SELECT files FROM (
                     SELECT files, row_number() OVER (PARTITION BY table_name ORDER BY version DESC) AS age FROM table_versions
                   ) WHERE age <= ?""", (keep + 1,)):
            files.update(json.loads(f))
        return files

    def tombstones(self):
        """[(kind, hash, erased_at)] (inside a run: the schema has the table by then)."""
        return self.db.execute('SELECT kind, hash, erased_at FROM tombstones ORDER BY kind, hash').fetchall()

    def erased_counts(self):
        """{dataset: {'records': n, 'quarantined': n}}: records a tombstone covered, so far."""
        return {d: {'records': r, 'quarantined': q} for d, r, q in self.db.execute('SELECT dataset, records, quarantined FROM erased_counts')}

    def get_meta(self, key):
        row = self.db.execute('SELECT value FROM meta WHERE key = ?', (key,)).fetchone()
        return None if row is None else row[0]

    def tombstone_matcher(self, key_file=None):
        """The matcher for this lakehouse's tombstones, or None when it has none (then no key is needed).

        With tombstones the key is required, and it must be the key they were made with.
        """
        tombstones = self.tombstones()
        if not tombstones:
            return None
        try:
            key = load_privacy_key(key_file=key_file)
        except PrivacyKeyError as err:
            raise SparkJobError('PIPE_ERR_PRIVACY_KEY', f'{err}: the lakehouse {self.lakehouse} holds tombstones, which need the privacy key') from err
        if key is None:
            raise SparkJobError('PIPE_ERR_PRIVACY_KEY',
                                f'the lakehouse {self.lakehouse} holds tombstones of erased customers and no privacy key is set: '
                                'set STEDI_PRIVACY_KEY, or STEDI_PRIVACY_KEY_FILE (--privacy-key-file) naming the key file (default var/privacy-key)')
        expected = self.get_meta('privacy_key_fingerprint')
        if expected is not None and key_fingerprint(key) != expected:
            raise SparkJobError('PIPE_ERR_PRIVACY_KEY',
                                f'the privacy key (fingerprint {key_fingerprint(key)}) is not the one the tombstones of {self.lakehouse} were made with '
                                f'(fingerprint {expected}): set STEDI_PRIVACY_KEY or the key file to that key')
        return TombstoneMatcher(key, tombstones)

    def run_started_ms(self, run_id):
        """The run's start (runs.started_at, an ISO instant in ms) in epoch ms, as Date.parse reads it."""
        (started,) = self.db.execute('SELECT started_at FROM runs WHERE id = ?', (run_id,)).fetchone()
        return round(datetime.fromisoformat(started.replace('Z', '+00:00')).timestamp() * 1000)

    def run_options(self, run_id):
        row = self.db.execute('SELECT options FROM runs WHERE id = ?', (run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def commit_run(self, run_id, status, full_refresh_dataset, files, versions, report, erased=None):
        """erased: {dataset: {'records', 'quarantined'}} a tombstone covered in this run, added to the totals."""
        if full_refresh_dataset is not None:
            self.db.execute('DELETE FROM landing_files WHERE dataset = ?', (full_refresh_dataset,))
            self.db.execute('DELETE FROM erased_counts WHERE dataset = ?', (full_refresh_dataset,))
        for dataset, n in (erased or {}).items():
            if n['records'] == 0 and n['quarantined'] == 0:
                continue
            self.db.execute(
                """INSERT INTO erased_counts (dataset, records, quarantined) VALUES (?, ?, ?)
                   ON CONFLICT (dataset) DO UPDATE SET records = records + excluded.records, quarantined = quarantined + excluded.quarantined""",
                (dataset, n['records'], n['quarantined']))
        for f in files:
            self.db.execute(
                """INSERT INTO landing_files (path, sha256, dataset, size, mtime_ms, run_id, records, quarantined)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (path, sha256) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms""",
                (f['path'], f['sha256'], f['dataset'], f['size'], f['mtimeMs'], run_id, f['records'], f['quarantined']))
        for v in versions:
            self.db.execute('INSERT INTO table_versions (table_name, version, run_id, rows, files) VALUES (?, ?, ?, ?, ?)',
                            (v['table'], v['version'], run_id, v['rows'], json.dumps(v['files'])))
        self.db.execute('UPDATE runs SET finished_at = ?, status = ?, report = ? WHERE id = ?', (_now(), status, json.dumps(report), run_id))
        self.db.execute('COMMIT')
        self.in_run = False
        # one self-contained file, for a lakehouse whose state is copied back to where it lives
        self.db.execute('PRAGMA wal_checkpoint(TRUNCATE)')

    def abort_run(self, run_id, options, error):
        if not self.in_run:
            return
        self.db.execute('ROLLBACK')
        self.in_run = False
        try:
            self.db.execute("INSERT INTO runs (id, started_at, finished_at, status, options, error) VALUES (?, ?, ?, 'failed', ?, ?)",
                            (run_id, _now(), _now(), json.dumps(options), error))
        except sqlite3.DatabaseError:
            pass

    def close(self):
        if self.in_run:
            try:
                self.db.execute('ROLLBACK')
            except sqlite3.DatabaseError:
                pass
            self.in_run = False
        self.db.close()
