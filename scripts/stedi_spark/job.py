"""One zone job on Spark: read the new landing files it owns, run its sql/ file, commit the versions.

Each of the seed's five jobs is one run in the lakehouse state (one SQLite transaction, as an
embedded run is), so the jobs may run as five separate Glue jobs or one after the other in a
single session. A job reads its inputs at the versions current when it starts.
"""
import os
import shutil
import tempfile
import time
import uuid

from .contracts import (ACCOUNTING_QUERIES, CROSS_CUSTOMER_QUERY, DATASETS, JOBS, STATE_DIR, TABLE_NAMES,
                        landing_table_of, lineage_columns, quarantine_table_of, table_columns)
from .errors import SparkJobError
from .landing_rules import read_landing_file, sha256_hex
from .privacy import ERASURE_FIELDS, IDENTITY_KINDS, string_literals
from .s3 import is_s3, list_landing
from .state import StateStore
from .storage import new_table_file, open_files, prepare_table_dirs, reconcile

# Scratch belongs to the lock holder alone: a job refused for a busy lakehouse must not take the
# running job's half-written table files from under it. Each job writes in a folder of its own and
# empties the scratch root only while it holds the lock (leftovers of killed jobs go then too).
SCRATCH_ROOT = f'{STATE_DIR}/spark-tmp'

SPARK_TYPES = {'BIGINT': 'bigint', 'VARCHAR': 'string', 'DOUBLE': 'double'}
_KIND_TYPES = {'string': 'string', 'integer': 'bigint', 'number': 'double'}


def table_ddl(columns):
    """Spark's schema string for contract columns (SQL types as DuckDB names them)."""
    return ', '.join(f'`{name}` {SPARK_TYPES[t]}' for name, t in columns)


def spark_ddl(columns):
    """Spark's schema string for columns already in Spark's types."""
    return ', '.join(f'`{name}` {t}' for name, t in columns)


def read_sql_file(spark, sql_dir, name):
    """A sql/ file as it is; sql_dir may be a local folder or a Hadoop URI (s3://...)."""
    path = f'{sql_dir.rstrip("/")}/{name}.sql'
    if '://' in sql_dir:
        return spark.sparkContext.wholeTextFiles(path).collect()[0][1]
    with open(path, encoding='utf-8') as f:
        return f.read()


def load_sql(spark, sql_dir, name):
    """A job's or report's sql/ file as one statement."""
    return read_sql_file(spark, sql_dir, name).strip().removesuffix(';').rstrip()


# --- landing ---------------------------------------------------------------------------------

def _union_columns(dataset, literals=False):
    """What the ingest step emits per file (F), record (R) and quarantined line (Q), in one schema.

    A file row's __reason is 'known' when the file was read before (same path and content hash).
    With literals (the lakehouse has tombstones), a quarantined line also carries its JSON string literals.
    """
    meta = [('__kind', 'string'), ('__file', 'string'), ('__line', 'bigint'), ('__reason', 'string'), ('__raw', 'string'),
            ('__sha256', 'string'), ('__size', 'bigint'), ('__mtime_ms', 'double'), ('__records', 'bigint'), ('__quarantined', 'bigint')]
    return (meta + [(name, _KIND_TYPES[kind]) for name, kind, _, _ in DATASETS[dataset]['fields']]
            + ([('__literals', 'array<string>')] if literals else []))


def _ingest_batches(dataset, landing_dir, known, identity_of, literals=False):
    """The mapInArrow function: landing files (path, content, length, mtime) in, classified lines out.

    identity_of: rel path -> content identity where the listing gave one (S3: key, size, ETag);
    other files are identified by their SHA-256. literals: see _union_columns.
    """
    fields = [name for name, _, _, _ in DATASETS[dataset]['fields']]

    def run(batches):
        import pyarrow as pa
        types = {'string': pa.string(), 'bigint': pa.int64(), 'double': pa.float64(), 'array<string>': pa.list_(pa.string())}
        schema = pa.schema([(name, types[t]) for name, t in _union_columns(dataset, literals)])
        for batch in batches:
            data = batch.to_pydict()
            for path, content, size, mtime in zip(data['path'], data['content'], data['length'], data['mtime_ms']):
                rel = f'{landing_dir}/{path.rsplit("/", 1)[-1]}'
                sha = identity_of.get(rel) or sha256_hex(content)
                seen = (rel, sha) in known
                rec_lines, rec_values, q_lines, q_reasons, q_raws = [], [], [], [], []
                if not seen:
                    for number, reason, values, raw in read_landing_file(dataset, content):
                        if reason is None:
                            rec_lines.append(number)
                            rec_values.append(values)
                        else:
                            q_lines.append(number)
                            q_reasons.append(reason)
                            q_raws.append(raw)
                # one batch per file, built column by column: records, then quarantined lines, then the file row
                nr, nq = len(rec_lines), len(q_lines)
                lines = nr + nq
                file_only = [None] * lines
                cols = {
                    '__kind': ['R'] * nr + ['Q'] * nq + ['F'],
                    '__file': [rel] * (lines + 1),
                    '__line': rec_lines + q_lines + [None],
                    '__reason': [None] * nr + q_reasons + ['known' if seen else None],
                    '__raw': [None] * nr + q_raws + [None],
                    '__sha256': file_only + [sha],
                    '__size': file_only + [size],
                    '__mtime_ms': file_only + [mtime],
                    '__records': file_only + [nr],
                    '__quarantined': file_only + [nq],
                }
                by_field = list(zip(*rec_values)) if nr else [()] * len(fields)
                tail = [None] * (nq + 1)
                for i, name in enumerate(fields):
                    cols[name] = list(by_field[i]) + tail
                if literals:
                    cols['__literals'] = [None] * nr + [string_literals(raw) for raw in q_raws] + [None]
                yield pa.RecordBatch.from_pydict(cols, schema=schema)
    return run


def _list_landing(spark, landing, dataset):
    """Landing files of one dataset: [(uri, rel path, size, mtime ms, identity or None)], sorted by rel path."""
    from pyspark.sql.utils import AnalysisException
    landing_dir = DATASETS[dataset]['landing_dir']
    if is_s3(landing):
        # the listing has each object's identity (key, size, ETag): no read to find what is new
        bucket = landing.split('://', 1)[1].split('/', 1)[0]
        return [(f's3://{bucket}/{key}', rel, size, mtime, identity) for key, rel, size, mtime, identity in list_landing(landing, landing_dir)]
    directory = f'{landing.rstrip("/")}/{landing_dir}'
    try:
        rows = (spark.read.format('binaryFile').option('pathGlobFilter', '*.json').load(directory)
                .selectExpr('path', 'length', 'CAST(unix_millis(modificationTime) AS DOUBLE) AS mtime_ms').collect())
    except AnalysisException as err:
        if 'PATH_NOT_FOUND' in str(err) or 'Path does not exist' in str(err):
            return None
        raise
    files = [(r.path, f'{landing_dir}/{r.path.rsplit("/", 1)[-1]}', r.length, r.mtime_ms, None) for r in rows]
    return sorted(files, key=lambda f: f[1])


def _erasure_filters(union, dataset, matcher, log, has_records=True, has_quarantined=True):
    """(covered record, covered quarantined line) conditions for the new lines, or None when nothing new is covered.

    A dataset has few distinct identities: they are collected here, hashed once each, and the
    covered ones go back to the workers as a literal map (value -> erasure time) and a literal array.
    """
    from pyspark.sql import functions as F
    spec = ERASURE_FIELDS[dataset]
    records = union.filter("__kind = 'R'")
    covered_r = None
    for field, kind in (spec['match'] if has_records else []):
        values = [r[0] for r in records.select(F.col(f'`{field}`')).distinct().collect() if r[0] is not None]
        covered = {v: at for v in values if (at := matcher.erased_at(kind, v)) is not None}
        log(f'{dataset}: {len(values)} distinct {field} values in the new records, {len(covered)} erased')
        if not covered:
            continue
        at = F.create_map(*[x for v, t in covered.items() for x in (F.lit(v), F.lit(t).cast('bigint'))])[F.col(f'`{field}`')]
        time = F.col(f'`{spec["time"]}`')
        # a record with no date is covered; one dated after its identity's erasure is not
        cond = at.isNotNull() & (time.isNull() | (time <= at))
        covered_r = cond if covered_r is None else covered_r | cond
    literals = [r[0] for r in union.filter("__kind = 'Q'").select(F.explode('__literals')).distinct().collect()] if has_quarantined else []
    named = [v for v in literals if any(matcher.erased_at(k, v) is not None for k in IDENTITY_KINDS)]
    covered_q = F.arrays_overlap(F.col('__literals'), F.array(*[F.lit(v) for v in named])) if named else None
    if covered_r is None and covered_q is None:
        return None
    false = F.lit(False)
    return (false if covered_r is None else F.coalesce(covered_r, false)), (false if covered_q is None else F.coalesce(covered_q, false))


def ingest(spark, ctx, dataset, run_id, current, versions):
    """Reads the dataset's new landing files into one landing part and one quarantine part.

    With tombstones (ctx.matcher), records and quarantined lines they cover are dropped and counted
    (the returned erased counts); without, none of that work is done.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    listed = _list_landing(spark, ctx.landing, dataset)
    ctx.lap('list')
    if listed is None:
        listed = []
        ctx.log(f'{dataset}: no {DATASETS[dataset]["landing_dir"]} under {ctx.landing}')
    if ctx.full_refresh:
        retired = ctx.state.retired_count(dataset)
        if retired > 0:
            # the rows of files --retain-landing deleted live only in the lakehouse (the embedded engine carries them)
            raise SparkJobError('PIPE_ERR_RETIRED_FULL_REFRESH',
                                f'{ctx.lakehouse} holds the rows of {retired} {dataset} landing files deleted by --retain-landing: a Spark full refresh '
                                'rebuilds landing from the files present and would lose them; run the full refresh with --engine duckdb, which keeps them')
    known_paths, identities = ({}, set()) if ctx.full_refresh else ctx.state.known_files(dataset)
    # an S3 object is new when its identity is; a local file, when its size or mtime changed (then hashed)
    changed = [f for f in listed if ((f[1], f[4]) not in identities if f[4] is not None else known_paths.get(f[1]) != (f[2], f[3]))]
    ctx.log(f'{dataset}: {len(listed)} landing files, {len(changed)} new or changed')
    registry = []
    records = quarantined = new_files = 0
    erased = {'records': 0, 'quarantined': 0}
    matcher = ctx.matcher
    landing_table, quarantine_table = landing_table_of(dataset), quarantine_table_of(dataset)
    landing_part = new_table_file(landing_table, run_id, ctx.next_version(current, landing_table))
    quarantine_part = new_table_file(quarantine_table, run_id, ctx.next_version(current, quarantine_table))
    if changed:
        total = sum(f[2] for f in changed)
        # small landing files are packed into splits; aim for two splits per core so all cores read
        split = max(1 << 20, total // max(1, 2 * spark.sparkContext.defaultParallelism))
        saved = {key: spark.conf.get(key) for key in ('spark.sql.files.maxPartitionBytes', 'spark.sql.files.openCostInBytes')}
        spark.conf.set('spark.sql.files.maxPartitionBytes', str(split))
        spark.conf.set('spark.sql.files.openCostInBytes', str(min(split, 1 << 16)))
        source = (spark.read.format('binaryFile').load([f[0] for f in changed])
                  .selectExpr('path', 'content', 'length', 'CAST(unix_millis(modificationTime) AS DOUBLE) AS mtime_ms'))
        literals = matcher is not None
        union = source.mapInArrow(_ingest_batches(dataset, DATASETS[dataset]['landing_dir'], identities, {f[1]: f[4] for f in changed if f[4] is not None}, literals),
                                  spark_ddl(_union_columns(dataset, literals))).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            for r in union.filter("__kind = 'F'").select('__file', '__sha256', '__size', '__mtime_ms', '__records', '__quarantined', '__reason').collect():
                fresh = r['__reason'] != 'known'
                new_files += 1 if fresh else 0
                records += r['__records']
                quarantined += r['__quarantined']
                registry.append({'path': r['__file'], 'sha256': r['__sha256'], 'dataset': dataset, 'size': r['__size'],
                                 'mtimeMs': r['__mtime_ms'], 'records': r['__records'], 'quarantined': r['__quarantined']})
            ctx.lap('read')
            filters = (_erasure_filters(union, dataset, matcher, ctx.log, records > 0, quarantined > 0)
                       if matcher is not None and records + quarantined > 0 else None)
            covered_r, covered_q = filters if filters is not None else (None, None)
            if filters is not None:
                # per file: a file's records and quarantined lines are those that reached the tables
                by_file = {}
                for r in (union.filter((F.col('__kind') == 'R') & covered_r | (F.col('__kind') == 'Q') & covered_q)
                          .groupBy('__file', '__kind').count().collect()):
                    by_file.setdefault(r['__file'], {})[r['__kind']] = r['count']
                for f in registry:
                    n = by_file.get(f['path'], {})
                    f['records'] -= n.get('R', 0)
                    f['quarantined'] -= n.get('Q', 0)
                    erased['records'] += n.get('R', 0)
                    erased['quarantined'] += n.get('Q', 0)
                records -= erased['records']
                quarantined -= erased['quarantined']
                ctx.log(f'{dataset}: {erased["records"]} records and {erased["quarantined"]} quarantined lines covered by tombstones, dropped')
                ctx.lap('erasure')
            lineage = [F.lit(run_id).cast('bigint').alias('_run'), F.col('__file').alias('_file')]
            if any(name == '_line' for name, _ in lineage_columns(dataset)):
                lineage.append(F.col('__line').alias('_line'))
            fields = [F.col(f'`{name}`') for name, _, _, _ in DATASETS[dataset]['fields']]
            if records > 0:
                new_records = union.filter("__kind = 'R'")
                if covered_r is not None:
                    new_records = new_records.filter(~covered_r)
                ctx.write_single(new_records.select(*fields, *lineage), landing_part)
                ctx.lap('write_landing')
            if quarantined > 0:
                new_lines = union.filter("__kind = 'Q'")
                if covered_q is not None:
                    new_lines = new_lines.filter(~covered_q)
                ctx.write_single(new_lines.select(
                    F.lit(run_id).cast('bigint').alias('_run'), F.col('__file').alias('_file'), F.col('__line').alias('_line'),
                    F.col('__reason').alias('reason'), F.col('__raw').alias('raw')), quarantine_part)
                ctx.lap('write_quarantine')
        finally:
            union.unpersist()
            for key, value in saved.items():
                spark.conf.set(key, value)
    for table, part, rows in ((landing_table, landing_part, records), (quarantine_table, quarantine_part, quarantined)):
        base = None if ctx.full_refresh else current.get(table)
        if rows > 0 or base is None:
            versions[table] = {
                'table': table, 'version': ctx.next_version(current, table), 'runId': run_id,
                'rows': (base['rows'] if base else 0) + rows,
                'files': (base['files'] if base else []) + ([part] if rows > 0 else []),
            }
    read = {'newFiles': new_files, 'records': records, 'quarantined': quarantined}
    if erased['records'] + erased['quarantined'] > 0:
        read['erased'] = erased['records'] + erased['quarantined']
    return registry, read, erased


# --- the job ---------------------------------------------------------------------------------

class JobContext:
    def __init__(self, spark, name, args, log):
        self.spark = spark
        self.job = name
        self.landing = args.landing
        self.consent_policy = args.consent_policy
        self.ml_join = args.ml_join
        self.full_refresh = args.full_refresh
        self.keep_versions = args.keep_versions
        self.wait_seconds = args.wait_seconds
        self.sql_dir = args.sql_dir
        self.privacy_key_file = getattr(args, 'privacy_key_file', None)
        self.log = log
        self.files = open_files(spark, args.lakehouse, args.lease_seconds)
        self.lakehouse = self.files.uri()
        # set once the job holds the lock (see run_job)
        self.scratch = None
        self.state = None
        # the tombstones' matcher once the job holds the lock, None when the lakehouse has none
        self.matcher = None
        self.written = []
        self.timings = {}
        self._mark = time.monotonic()

    def lap(self, name):
        """Records the time since the last lap under name (the report's timingsMs)."""
        now = time.monotonic()
        self.timings[name] = round((now - self._mark) * 1000)
        self._mark = now

    def abs(self, rel):
        return self.files.uri(rel)

    @staticmethod
    def next_version(current, table):
        return current.get(table, {}).get('version', 0) + 1

    def write_single(self, df, rel):
        """Writes a DataFrame as one Parquet file at rel (an immutable file under `_files/`)."""
        tmp = f'{self.scratch}/{uuid.uuid4().hex}'
        df.coalesce(1).write.mode('errorifexists').parquet(self.files.uri(tmp))
        _pause(self.job, 'written', self.log)
        parts = [n for n in self.files.list(tmp) if n.startswith('part-') and n.endswith('.parquet')]
        if len(parts) != 1:
            raise SparkJobError('PIPE_ERR_ENGINE', f'Spark wrote {len(parts)} files for {rel}, expected one')
        self.files.move(f'{tmp}/{parts[0]}', rel)
        self.files.remove_tree(tmp)
        self.written.append(rel)

    def view(self, table, files):
        reader = self.spark.read.schema(table_ddl(table_columns(table)))
        df = reader.parquet(*[self.abs(f) for f in files]) if files else self.spark.createDataFrame([], table_ddl(table_columns(table)))
        df.select(*[f'`{name}`' for name, _ in table_columns(table)]).createOrReplaceTempView(table)

    def rows_of(self, file):
        return self.spark.read.parquet(self.abs(file)).count()


def _account(spark, ctx, dataset, effective_rows, erased_records=0):
    """Where every valid landing record of the dataset went; refuses a run that does not balance.

    erased_records: valid records a tombstone covered, in all (never in the landing table): landing
    counts them, filtered out as `erased`.
    """
    by_reason = {r['reason']: int(r['records']) for r in spark.sql(load_sql(spark, ctx.sql_dir, ACCOUNTING_QUERIES[dataset])).collect()}
    landing = effective_rows(landing_table_of(dataset))
    trusted = effective_rows(f'{dataset}_trusted')
    if dataset == 'customer':
        filtered = {k: v for k, v in by_reason.items() if k != 'trusted'}
    else:
        # rows that passed every rule but are not in trusted are the extra copies of exact duplicates
        kept = by_reason.pop('kept', 0)
        filtered = {**by_reason, 'duplicate': kept - trusted}
    if erased_records > 0:
        filtered['erased'] = erased_records
        landing += erased_records
    if trusted + sum(filtered.values()) != landing or any(v < 0 for v in filtered.values()):
        raise SparkJobError('PIPE_ERR_ACCOUNTING',
                            f'{dataset}: landing {landing} != trusted {trusted} + filtered {filtered}; the tables were not committed')
    return {'landing': landing, 'trusted': trusted, 'filtered': filtered, 'quarantined': effective_rows(quarantine_table_of(dataset))}


def _pause(job, point, log):
    """Test hook: STEDI_SPARK_PAUSE=<job>:<point> stops there until the process is killed.

    Points: written (a table file in scratch, not yet moved), before-commit, after-commit.
    """
    if os.environ.get('STEDI_SPARK_PAUSE') == f'{job}:{point}':
        log(f'{job}: paused {point}')
        while True:
            time.sleep(3600)


def _unchanged(state, current, versions, job, options):
    """True when the job's output is newer than all its inputs and was written with the same options."""
    out = current.get(job['output'])
    if out is None:
        return False
    for table in job['inputs']:
        v = versions.get(table) or current.get(table)
        if v is None or v['runId'] > out['runId']:
            return False
    options_then = state.run_options(out['runId'])
    return options_then is not None and all(options_then.get(k) == options[k] for k in ('consentPolicy', 'mlJoin'))


def counts_from_rows(rows):
    n = lambda t: rows.get(t, 0)  # noqa: E731
    return {
        'landing': {'customer': n('customer_landing'), 'accelerometer': n('accelerometer_landing'), 'step_trainer': n('step_trainer_landing')},
        'trusted': {'customer': n('customer_trusted'), 'accelerometer': n('accelerometer_trusted'), 'step_trainer': n('step_trainer_trusted')},
        'curated': {'customer': n('customer_curated'), 'machine_learning': n('machine_learning_curated')},
        'quarantined': {'customer': n('customer_quarantine'), 'accelerometer': n('accelerometer_quarantine'), 'step_trainer': n('step_trainer_quarantine')},
    }


def run_job(spark, name, args, log):
    """Runs one of the five jobs as one committed run; returns its report."""
    job = next((j for j in JOBS if j['name'] == name), None)
    if job is None:
        raise SparkJobError('PIPE_ERR_BAD_OPTION', f'no job named {name}')
    started = time.monotonic()
    ctx = JobContext(spark, name, args, log)
    options = {'consentPolicy': ctx.consent_policy, 'mlJoin': ctx.ml_join, 'fullRefresh': ctx.full_refresh, 'engine': 'spark', 'job': name}
    files = ctx.files
    # a remote lakehouse's state is worked on in a local copy and put back at the commit
    state_dir = tempfile.mkdtemp(prefix='stedi-state-') if files.remote else files.uri()
    run_id = 0
    state = None
    try:
        if files.remote:
            files.fetch_state(state_dir, ctx.wait_seconds)
        ctx.state = state = StateStore(state_dir, read_sql_file(spark, ctx.sql_dir, 'state_schema'))
        run_id = state.begin_run(options, ctx.wait_seconds)
        log(f'{name}: run {run_id}')
        ctx.matcher = state.tombstone_matcher(ctx.privacy_key_file)
        if ctx.matcher is not None:
            log(f'{name}: {len(ctx.matcher)} tombstones')
        current = state.current_versions()
        # repairs whatever a killed run left: unpublished versions, orphan files, scratch
        files.confirm_lock()
        reconcile(files, current, state.retained_files(ctx.keep_versions))
        files.remove_tree(SCRATCH_ROOT)
        prepare_table_dirs(files)
        ctx.scratch = f'{SCRATCH_ROOT}/run-{run_id}-{uuid.uuid4().hex[:8]}'
        files.makedirs(ctx.scratch)
        versions = {}
        registry, read, erased = [], None, {}
        if job['ingests'] is not None:
            registry, read, erased_now = ingest(spark, ctx, job['ingests'], run_id, current, versions)
            erased = {job['ingests']: erased_now}

        def effective(table):
            return versions.get(table) or current.get(table)

        for inp in job['inputs']:
            if effective(inp) is None:
                raise SparkJobError('PIPE_ERR_SPARK_ORDER', f'{name} reads {inp}, which no job has written yet: run the jobs in order ({", ".join(j["name"] for j in JOBS)})')
        for table in TABLE_NAMES:
            if effective(table) is not None:
                ctx.view(table, effective(table)['files'])
        # run_started_ms: the run's start as the state records it (consent must be dated no later; pipeline/run.ts)
        spark.sql(f"SELECT '{ctx.consent_policy}' AS consent_policy, '{ctx.ml_join}' AS ml_join, "
                  f"CAST({state.run_started_ms(run_id)} AS BIGINT) AS run_started_ms").createOrReplaceTempView('pipeline_options')

        output = job['output']

        def effective_rows(table):
            v = effective(table)
            return v['rows'] if v else 0

        dataset = {'customer_trusted': 'customer', 'accelerometer_trusted': 'accelerometer', 'step_trainer_trusted': 'step_trainer'}.get(output)
        if not ctx.full_refresh and _unchanged(state, current, versions, job, options):
            # nothing the job reads has changed since it last wrote its output with these options
            log(f'{name}: {output} unchanged')
        else:
            version = ctx.next_version(current, output)
            file = new_table_file(output, run_id, version)
            ctx.lap('start')
            ctx.write_single(spark.sql(load_sql(spark, ctx.sql_dir, name)), file)
            ctx.lap('job')
            versions[output] = {'table': output, 'version': version, 'runId': run_id, 'rows': ctx.rows_of(file), 'files': [file]}
            ctx.view(output, [file])
            log(f'{name}: {output} {versions[output]["rows"]} rows')
        # the accounting reads more than the job (customer_landing, for no_matching_customer): always recomputed
        accounting, warnings = {}, {}
        if dataset is not None:
            # a full refresh counts again from nothing (commit_run resets the dataset's total)
            before = 0 if ctx.full_refresh else state.erased_counts().get(dataset, {}).get('records', 0)
            accounting[dataset] = _account(spark, ctx, dataset, effective_rows, before + erased.get(dataset, {}).get('records', 0))
        if output == 'machine_learning_curated':
            warnings['crossCustomerPairs'] = int(spark.sql(load_sql(spark, ctx.sql_dir, CROSS_CUSTOMER_QUERY)).collect()[0]['pairs'])

        ctx.lap('accounting')
        files.durable(ctx.written)
        report = {
            'runId': run_id, 'status': 'ok' if versions else 'unchanged', 'engine': 'spark', 'job': name, 'lakehouse': ctx.lakehouse, 'options': options,
            'read': {job['ingests']: read} if read else {},
            'counts': counts_from_rows({t: effective_rows(t) for t in TABLE_NAMES}),
            'accounting': accounting, 'warnings': warnings,
            'durationMs': round((time.monotonic() - started) * 1000), 'timingsMs': ctx.timings,
        }
        _pause(name, 'before-commit', log)
        # the commit releases the lock: scratch goes first, while it is still this job's
        files.remove_tree(SCRATCH_ROOT)
        state.commit_run(run_id, report['status'], job['ingests'] if ctx.full_refresh else None,
                         registry, list(versions.values()), report, erased)
        if files.remote:
            files.put_state(state_dir)
        _pause(name, 'after-commit', log)
        reconcile(files, state.current_versions(), state.retained_files(ctx.keep_versions))
        ctx.lap('commit')
        log(f'{name}: timings {ctx.timings}')
        return report
    except Exception as err:
        if state is not None and state.in_run:
            files.remove_tree(SCRATCH_ROOT)
        if run_id > 0:
            state.abort_run(run_id, options, str(err))
        raise
    finally:
        if state is not None:
            state.close()
        files.release()
        if files.remote:
            shutil.rmtree(state_dir, ignore_errors=True)
