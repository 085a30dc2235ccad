"""Where table files live and how a version becomes visible, as pipeline/storage.ts does it.

Each table's files are immutable, in `<zone>/<table>/_files/`; the state names those of the current
version. The visible layout is made after the state commits (pipeline/visible-layout.ts): a part's
own name for append-only tables, `data.parquet` and the deltas' names for the others, changed in an
order that keeps a reader whole. `reconcile` makes the visible layout match
the state and removes files no retained version names.

Two kinds of lakehouse: a local folder (LocalFiles: hard links, fsync, the state used in place,
SQLite's lock is the lock), or any Hadoop file system URI such as s3:// (HadoopFiles: visible files
are copies, each written whole; the state is fetched, changed, and put back only if nobody else put
it meanwhile). In S3 the lock is a lease and the put a conditional write, through boto3 (s3.py),
the protocol the embedded pipeline follows, so that either engine can take over the other's.
"""
import os
import shutil

from .contracts import DATA_FILE, FILES_DIR, STATE_DB, TABLE_NAMES, is_append_only, table_dir
from .errors import SparkJobError
from .s3 import DEFAULT_LEASE_SECONDS, S3State, is_s3


def new_table_file(table, run_id, version):
    name = f'part-r{run_id:06d}.parquet' if is_append_only(table) else f'v{version:06d}-r{run_id:06d}.parquet'
    return f'{table_dir(table)}/{FILES_DIR}/{name}'


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalFiles:
    remote = False

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def uri(self, rel=''):
        return os.path.join(self.root, rel) if rel else self.root

    def list(self, rel=''):
        try:
            return os.listdir(self.uri(rel))
        except FileNotFoundError:
            return []

    def makedirs(self, rel):
        os.makedirs(self.uri(rel), exist_ok=True)

    def remove(self, rel):
        if os.path.lexists(self.uri(rel)):
            os.remove(self.uri(rel))

    def remove_tree(self, rel):
        shutil.rmtree(self.uri(rel), ignore_errors=True)

    def move(self, src_rel, dst_rel):
        os.replace(self.uri(src_rel), self.uri(dst_rel))

    def is_published(self, canonical_rel, visible_rel):
        try:
            a, b = os.stat(self.uri(canonical_rel)), os.stat(self.uri(visible_rel))
        except FileNotFoundError:
            return False
        return (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)

    def publish(self, canonical_rel, visible_rel):
        """A hard link, swapped in by one rename: a reader sees the old file or the new one."""
        tmp = self.uri(visible_rel) + '.tmp'
        if os.path.lexists(tmp):
            os.remove(tmp)
        os.link(self.uri(canonical_rel), tmp)
        os.replace(tmp, self.uri(visible_rel))

    def durable(self, rels):
        for rel in rels:
            _fsync(self.uri(rel))
        for directory in {os.path.dirname(self.uri(rel)) for rel in rels}:
            _fsync(directory)

    def sync_dir(self, rel):
        _fsync(self.uri(rel))

    def confirm_lock(self):
        pass  # SQLite's lock is held by this process until it commits or dies

    def release(self):
        pass


class HadoopFiles:
    """A lakehouse on a Hadoop file system (s3:// on Glue; file:// here, to exercise the same code)."""
    remote = True

    def __init__(self, spark, root, lease_seconds=DEFAULT_LEASE_SECONDS):
        self.root = root.rstrip('/')
        # S3 has conditional writes, which the lease and the commit need (hadoop-aws has none)
        self.s3 = S3State(self.root, lease_seconds) if is_s3(self.root) else None
        jvm = spark.sparkContext._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        self._FileUtil = jvm.org.apache.hadoop.fs.FileUtil
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()
        self.fs = self._Path(self.root).getFileSystem(self._conf)
        # a checksummed local file system writes .crc files beside every file; they are not ours
        self.fs.setWriteChecksum(False)
        self.fs.setVerifyChecksum(False)
        self._state_seen = None

    def uri(self, rel=''):
        return f'{self.root}/{rel}' if rel else self.root

    def _p(self, rel):
        return self._Path(self.uri(rel))

    def list(self, rel=''):
        if not self.fs.exists(self._p(rel)):
            return []
        return [s.getPath().getName() for s in self.fs.listStatus(self._p(rel))]

    def makedirs(self, rel):
        self.fs.mkdirs(self._p(rel))

    def remove(self, rel):
        self.fs.delete(self._p(rel), False)

    def remove_tree(self, rel):
        self.fs.delete(self._p(rel), True)

    def move(self, src_rel, dst_rel):
        if not self.fs.rename(self._p(src_rel), self._p(dst_rel)):
            raise SparkJobError('PIPE_ERR_ENGINE', f'cannot move {self.uri(src_rel)} to {self.uri(dst_rel)}')

    def is_published(self, canonical_rel, visible_rel):
        # a copy is current when it is at least as new as the immutable file it copies
        if not self.fs.exists(self._p(visible_rel)):
            return False
        a, b = self.fs.getFileStatus(self._p(canonical_rel)), self.fs.getFileStatus(self._p(visible_rel))
        return a.getLen() == b.getLen() and b.getModificationTime() >= a.getModificationTime()

    def publish(self, canonical_rel, visible_rel):
        """A copy (object stores have no links); an object store writes it whole or not at all."""
        self._FileUtil.copy(self.fs, self._p(canonical_rel), self.fs, self._p(visible_rel), False, True, self._conf)

    def durable(self, rels):
        pass  # a Hadoop file system has made a file durable when its stream closed

    def sync_dir(self, rel):
        pass

    # the state: fetched into a local folder, put back after the commit unless it changed meanwhile

    def _state_stamp(self):
        if not self.fs.exists(self._p(STATE_DB)):
            return None
        s = self.fs.getFileStatus(self._p(STATE_DB))
        return (s.getLen(), s.getModificationTime())

    def confirm_lock(self):
        """Fails when this run no longer holds the lakehouse (before it deletes or commits)."""
        if self.s3 is not None:
            self.s3.confirm()

    def release(self):
        if self.s3 is not None:
            self.s3.release()

    def fetch_state(self, local_dir, wait_seconds=0):
        if self.s3 is not None:
            self.s3.fetch(local_dir, wait_seconds, lambda: any(n != '_state' for n in self.list('')))
            return
        self._state_seen = self._state_stamp()
        if self._state_seen is None:
            if self.list(''):
                raise SparkJobError('PIPE_ERR_NOT_A_LAKEHOUSE',
                                    f'{self.root} is not a lakehouse (it is not empty and has no {STATE_DB}): choose a new or empty folder')
            return
        os.makedirs(os.path.join(local_dir, os.path.dirname(STATE_DB)), exist_ok=True)
        self.fs.copyToLocalFile(False, self._p(STATE_DB), self._Path(f'file://{os.path.join(local_dir, STATE_DB)}'), True)

    def put_state(self, local_dir):
        if self.s3 is not None:
            self.s3.put(local_dir)
            return
        if self._state_stamp() != self._state_seen:
            raise SparkJobError('PIPE_ERR_BUSY', f'another run committed to {self.root} while this one ran; this run was not committed')
        tmp = f'{STATE_DB}.tmp'
        self.fs.copyFromLocalFile(False, True, self._Path(f'file://{os.path.join(local_dir, STATE_DB)}'), self._p(tmp))
        self.move_over(tmp, STATE_DB)
        self._state_seen = self._state_stamp()

    def move_over(self, src_rel, dst_rel):
        if self.fs.exists(self._p(dst_rel)):
            self.fs.delete(self._p(dst_rel), False)
        self.move(src_rel, dst_rel)


def open_files(spark, lakehouse, lease_seconds=DEFAULT_LEASE_SECONDS):
    """A plain path is a local folder; a URI (s3://, file://, hdfs://) goes through Hadoop."""
    return HadoopFiles(spark, lakehouse, lease_seconds) if '://' in lakehouse else LocalFiles(lakehouse)


def prepare_table_dirs(files):
    for table in TABLE_NAMES:
        files.makedirs(f'{table_dir(table)}/{FILES_DIR}')


def visible_names(table, files):
    """The visible name of each file of a version (pipeline/visible-layout.ts): a part's own name; a
    trusted or curated table's base is data.parquet and its deltas keep their names."""
    if is_append_only(table):
        return [(f.rsplit('/', 1)[-1], f) for f in files]
    return [(DATA_FILE if i == 0 else f.rsplit('/', 1)[-1], f) for i, f in enumerate(files)]


def publication_steps(table, files, shown):
    """The changes that make a folder show the version's files, in the order that keeps a reader
    whole (pipeline/visible-layout.ts): stale names newest first, then the base, then additions
    oldest first. `shown` maps each visible name to the file it shows (None: not known)."""
    desired = dict(visible_names(table, files))
    stale = [n for n in shown if n not in desired or (n != DATA_FILE and shown[n] != desired[n])]
    steps = [('remove', n, None) for n in sorted(stale, reverse=True)]
    base = desired.get(DATA_FILE)
    if base is not None and shown.get(DATA_FILE) != base:
        steps.append(('place', DATA_FILE, base))
    added = sorted((n, c) for n, c in desired.items() if n != DATA_FILE and (n in stale or shown.get(n) != c))
    steps.extend(('place', n, c) for n, c in added)
    return steps


def reconcile(files, current, retained):
    for table in TABLE_NAMES:
        directory = table_dir(table)
        files_dir = f'{directory}/{FILES_DIR}'
        files.makedirs(files_dir)
        version_files = current.get(table, {}).get('files', [])
        desired = dict(visible_names(table, version_files))
        shown = {}
        for name in files.list(directory):
            if name == FILES_DIR:
                continue
            if name.endswith('.tmp'):
                files.remove(f'{directory}/{name}')
            elif name.endswith('.parquet'):
                canonical = desired.get(name)
                shown[name] = canonical if canonical is not None and files.is_published(canonical, f'{directory}/{name}') else None
        for action, name, canonical in publication_steps(table, version_files, shown):
            if action == 'remove':
                files.remove(f'{directory}/{name}')
            else:
                files.publish(canonical, f'{directory}/{name}')
        for name in files.list(files_dir):
            if f'{files_dir}/{name}' not in retained:
                files.remove(f'{files_dir}/{name}')
        files.sync_dir(directory)
