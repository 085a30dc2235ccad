"""A lakehouse and a landing zone in S3, by the protocol the embedded pipeline follows (pipeline/s3/).

Spark reads and writes the table files through Hadoop (s3a:// here, s3:// on Glue); what needs
conditional writes, which hadoop-aws 3.3.4 does not have, goes through boto3 (Glue ships it):
- one run at a time: the lease object `_state/lease.json`, created with If-None-Match: *, renewed
  by a thread with If-Match on the ETag last written, taken over once expired (a killed run's);
- the state `_state/pipeline.sqlite`, downloaded with its ETag and put back with If-Match (or
  If-None-Match: * for a new lakehouse): that put is the commit point;
- a landing object's identity is its key, size and ETag, from the listing.
Connection settings are the AWS ones: the credential chain, AWS_REGION, AWS_ENDPOINT_URL_S3 (an
S3-compatible server, then path-style addressing).
"""
import json
import os
import socket
import threading
import time
import uuid
from datetime import datetime, timezone

from .contracts import STATE_DB, STATE_DIR
from .errors import SparkJobError

LEASE_KEY = f'{STATE_DIR}/lease.json'
DEFAULT_LEASE_SECONDS = 60


def is_s3(uri):
    return uri.startswith('s3://') or uri.startswith('s3a://')


def split_uri(uri):
    """s3://bucket/prefix (or s3a://) -> (bucket, prefix without slashes at either end)."""
    rest = uri.split('://', 1)[1]
    bucket, _, prefix = rest.partition('/')
    return bucket, prefix.strip('/')


def endpoint():
    return os.environ.get('AWS_ENDPOINT_URL_S3') or os.environ.get('AWS_ENDPOINT_URL') or None


def client():
    import boto3
    from botocore.config import Config
    url = endpoint()
    config = Config(s3={'addressing_style': 'path'} if url else {}, retries={'max_attempts': 3}, connect_timeout=3)
    return boto3.session.Session().client('s3', endpoint_url=url,
                                          region_name=os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1',
                                          config=config)


def _status(err):
    return getattr(err, 'response', {}).get('ResponseMetadata', {}).get('HTTPStatusCode')


def _failure(err, bucket, what):
    where = f'S3 at {endpoint() or "AWS S3"}, bucket {bucket}'
    status = _status(err)
    code = getattr(err, 'response', {}).get('Error', {}).get('Code')
    if status == 403:
        return SparkJobError('PIPE_ERR_S3_CREDENTIALS', f'{where} refused the credentials ({code or status}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY')
    if code == 'NoSuchBucket' or (status == 404 and what == 'find the bucket'):
        return SparkJobError('PIPE_ERR_S3_NO_BUCKET', f'{where} does not exist: create the bucket or fix the s3:// URI')
    if status is None:
        return SparkJobError('PIPE_ERR_S3_UNREACHABLE', f'cannot reach {where} ({type(err).__name__}): check AWS_ENDPOINT_URL_S3 and that the server runs')
    return SparkJobError('PIPE_ERR_S3_REQUEST', f'{where}: cannot {what} ({code} {status})')


class Bucket:
    def __init__(self, name):
        self.name = name
        self.s3 = client()

    def call(self, what, fn, *ok_statuses):
        """fn()'s answer; None when S3 answers one of ok_statuses (404 for missing, 412 for a failed condition)."""
        try:
            return fn()
        except Exception as err:  # noqa: BLE001 - botocore's errors have no common base worth naming
            if _status(err) in ok_statuses:
                return None
            raise _failure(err, self.name, what) from err

    def check(self):
        self.call('find the bucket', lambda: self.s3.head_bucket(Bucket=self.name))

    def list(self, prefix):
        out = []
        for page in self.s3.get_paginator('list_objects_v2').paginate(Bucket=self.name, Prefix=prefix, Delimiter='/'):
            out.extend(page.get('Contents', []))
        return out

    def get(self, key):
        answer = self.call(f'read {key}', lambda: self.s3.get_object(Bucket=self.name, Key=key), 404)
        return None if answer is None else (answer['Body'].read(), answer['ETag'])

    def put(self, key, body, if_match=None, if_none_match=None):
        """The new ETag, or None when the condition does not hold (412, or 409 for a racing create)."""
        extra = {}
        if if_match is not None:
            extra['IfMatch'] = if_match
        if if_none_match is not None:
            extra['IfNoneMatch'] = if_none_match
        answer = self.call(f'write {key}', lambda: self.s3.put_object(Bucket=self.name, Key=key, Body=body, **extra), 412, 409)
        return None if answer is None else answer['ETag']


def object_identity(size, etag):
    """What the state records as an S3 landing object's content identity (a local file: its SHA-256)."""
    return f's3:{size}:{etag}'


def list_landing(landing, landing_dir):
    """[(key, rel path, size, mtime ms, identity)] of one dataset's landing objects, sorted by rel path."""
    bucket_name, prefix = split_uri(landing)
    bucket = Bucket(bucket_name)
    bucket.check()
    base = f'{prefix}/{landing_dir}/' if prefix else f'{landing_dir}/'
    out = []
    for o in bucket.call(f'list {base}', lambda: bucket.list(base)):
        name = o['Key'][len(base):]
        if not name.endswith('.json') or name.startswith('.') or name.startswith('_'):
            continue
        out.append((o['Key'], f'{landing_dir}/{name}', o['Size'], float(o['LastModified'].timestamp() * 1000), object_identity(o['Size'], o['ETag'])))
    return sorted(out, key=lambda f: f[1])


class Lease:
    """One run at a time on an S3 lakehouse (pipeline/s3/lease.ts: the same object, the same rules)."""

    def __init__(self, bucket, key, where, seconds):
        self.bucket, self.key, self.where = bucket, key, where
        self.duration_ms = int(seconds * 1000)
        self.body = {'holder': str(uuid.uuid4()), 'pid': os.getpid(), 'host': socket.gethostname(),
                     'since': datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z'), 'expiresAt': 0}
        self.etag = None
        self.lost = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None

    def _now_ms(self):
        return int(time.time() * 1000)

    def acquire(self, wait_seconds):
        deadline = time.monotonic() + wait_seconds
        poll = min(1.0, max(0.05, self.duration_ms / 10000))
        while True:
            self.body['expiresAt'] = self._now_ms() + self.duration_ms
            etag = self.bucket.put(self.key, json.dumps(self.body), if_none_match='*')
            if etag is None:
                found = self.bucket.get(self.key)
                if found is not None:
                    try:
                        other = json.loads(found[0])
                    except ValueError:
                        other = None
                    if other is None or other.get('released') or other.get('expiresAt', 0) < self._now_ms():
                        self.body['expiresAt'] = self._now_ms() + self.duration_ms
                        etag = self.bucket.put(self.key, json.dumps(self.body), if_match=found[1])
                    elif time.monotonic() >= deadline:
                        until = datetime.fromtimestamp(other['expiresAt'] / 1000, timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')
                        raise SparkJobError('PIPE_ERR_BUSY', f"another pipeline run holds {self.where}: process {other.get('pid')} on {other.get('host')} "
                                                             f"(since {other.get('since')}; its lease runs to {until} unless renewed); wait for it, or pass --wait-seconds to queue behind it")
            if etag is not None:
                self.etag = etag
                self._thread = threading.Thread(target=self._renew_loop, daemon=True)
                self._thread.start()
                return self
            time.sleep(poll)

    def _renew_once(self):
        with self._lock:
            if self.lost is not None:
                return
            if self._now_ms() >= self.body['expiresAt']:
                self.lost = 'it expired before a renewal got through'
                return
            body = dict(self.body, expiresAt=self._now_ms() + self.duration_ms)
            try:
                etag = self.bucket.put(self.key, json.dumps(body), if_match=self.etag)
            except SparkJobError:
                return  # S3 unreachable for a moment: the next renewal tries again
            if etag is None:
                self.lost = 'another run took it over'
                return
            self.etag, self.body = etag, body

    def _renew_loop(self):
        while not self._stop.wait(self.duration_ms / 3000):
            self._renew_once()

    def confirm(self):
        """Renews now; fails when the lease is no longer this run's (before the commit and before deleting)."""
        self._renew_once()
        if self.lost is not None:
            raise SparkJobError('PIPE_ERR_LEASE_LOST', f'this run lost its lease on the lakehouse ({self.lost}); nothing was committed: run again')

    def release(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self.lost is None and self.etag is not None:
                try:
                    self.bucket.put(self.key, json.dumps(dict(self.body, expiresAt=0, released=True)), if_match=self.etag)
                except SparkJobError:
                    pass


class S3State:
    """The lakehouse's lease and state through boto3, for a lakehouse Spark reaches through Hadoop."""

    def __init__(self, lakehouse, lease_seconds):
        bucket_name, self.prefix = split_uri(lakehouse)
        self.uri = f's3://{bucket_name}/{self.prefix}' if self.prefix else f's3://{bucket_name}'
        self.bucket = Bucket(bucket_name)
        self.lease_seconds = lease_seconds
        self.lease = None
        self.etag = None

    def key(self, rel):
        return f'{self.prefix}/{rel}' if self.prefix else rel

    def fetch(self, local_dir, wait_seconds, has_other_objects):
        """Takes the lease, then downloads the state (if any) into local_dir."""
        self.bucket.check()
        self.lease = Lease(self.bucket, self.key(LEASE_KEY), self.uri, self.lease_seconds).acquire(wait_seconds)
        found = self.bucket.get(self.key(STATE_DB))
        if found is None:
            if has_other_objects():
                raise SparkJobError('PIPE_ERR_NOT_A_LAKEHOUSE', f'{self.uri} is not a lakehouse (it holds objects and no {STATE_DB}): choose a new or empty prefix')
            return
        os.makedirs(os.path.join(local_dir, STATE_DIR), exist_ok=True)
        with open(os.path.join(local_dir, STATE_DB), 'wb') as f:
            f.write(found[0])
        self.etag = found[1]

    def confirm(self):
        if self.lease is not None:
            self.lease.confirm()

    def put(self, local_dir):
        """The commit point: refused when anyone else committed since this run read the state."""
        self.confirm()
        with open(os.path.join(local_dir, STATE_DB), 'rb') as f:
            body = f.read()
        etag = self.bucket.put(self.key(STATE_DB), body, if_match=self.etag) if self.etag else self.bucket.put(self.key(STATE_DB), body, if_none_match='*')
        if etag is None:
            raise SparkJobError('PIPE_ERR_LEASE_LOST', f'another run committed to {self.uri} while this one ran; this run was not committed: run again')
        self.etag = etag

    def release(self):
        if self.lease is not None:
            self.lease.release()
            self.lease = None
