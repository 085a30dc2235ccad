"""Erasure's keyed identity hash and tombstone matching, as contracts/privacy.ts has them (a test holds
the two to the same output), and the privacy key from the sources common/privacy-key.ts reads.

A tombstone holds HMAC-SHA256(key, "<kind>:<value>") of an erased email or serial number, never the
value; it covers that identity's records dated at or before its erasure, and records with no date.
"""
import hashlib
import hmac
import json
import os
import re

IDENTITY_KINDS = ('email', 'serial')

# per dataset: (field, kind) pairs whose exact value identifies a customer, and the field that dates a record
ERASURE_FIELDS = {
    'customer': {'match': [('email', 'email')], 'time': 'lastUpdateDate'},
    'accelerometer': {'match': [('user', 'email')], 'time': 'timestamp'},
    'step_trainer': {'match': [('serialNumber', 'serial')], 'time': 'sensorReadingTime'},
}

DEFAULT_PRIVACY_KEY_FILE = 'var/privacy-key'
MIN_KEY_CHARS = 16

# what JavaScript's String.prototype.trim removes (Python's str.strip has another set)
_JS_WHITESPACE = ('\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a'
                  '\u2028\u2029\u202f\u205f\u3000\ufeff')
# JavaScript's /"((?:[^"\\]|\\.)*)"/g: its `.` is any UTF-16 unit but a line terminator
_STRING_LITERAL = re.compile('"((?:[^"\\\\]|\\\\[^\\n\\r\\u2028\\u2029])*)"')
_SURROGATE = re.compile('[\ud800-\udfff]')


class PrivacyKeyError(Exception):
    code = 'PRIVACY_ERR_KEY'


def _utf8(text):
    """UTF-8 as Node encodes a JavaScript string: a lone surrogate becomes U+FFFD."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub('\ufffd', text)
    return text.encode('utf-8')


def identity_hash(key, kind, value):
    """HMAC-SHA256(key, "<kind>:<value>"), lowercase hex (contracts/privacy.ts identityHash)."""
    return hmac.new(key, _utf8(f'{kind}:{value}'), hashlib.sha256).hexdigest()


def key_fingerprint(key):
    """Names the key without revealing it (stored beside the tombstones as meta privacy_key_fingerprint)."""
    return hmac.new(key, b'stedi-privacy-key-fingerprint', hashlib.sha256).hexdigest()[:16]


def string_literals(raw):
    """Every JSON string literal of a line, unescaped where it can be (else kept as written)."""
    out = []
    for m in _STRING_LITERAL.finditer(raw):
        value = m.group(1)
        if '\\' in value:
            try:
                value = json.loads(f'"{value}"')
            except ValueError:
                pass
        out.append(value)
    return out


class TombstoneMatcher:
    """Matches values against tombstones [(kind, hash, erased_at)]: one hash per value and kind, cached."""

    def __init__(self, key, tombstones):
        self.key = key
        self.by_key = {}
        for kind, digest, erased_at in tombstones:
            k = (kind, digest)
            self.by_key[k] = max(self.by_key.get(k, erased_at), erased_at)
        self._cache = {}

    def __len__(self):
        return len(self.by_key)

    def erased_at(self, kind, value):
        """The erasure time covering this identity, or None."""
        if not self.by_key:
            return None
        c = (kind, value)
        if c not in self._cache:
            self._cache[c] = self.by_key.get((kind, identity_hash(self.key, kind, value)))
        return self._cache[c]

    def covers_record(self, dataset, record):
        """Whether a record of the dataset (a dict of its fields) is covered by a tombstone."""
        spec = ERASURE_FIELDS[dataset]
        for field, kind in spec['match']:
            value = record.get(field)
            if not isinstance(value, str):
                continue
            at = self.erased_at(kind, value)
            if at is None:
                continue
            time = record.get(spec['time'])
            # a JavaScript number: an int or a float, never a bool
            if not isinstance(time, (int, float)) or isinstance(time, bool) or time <= at:
                return True
        return False

    def covers_raw(self, raw):
        """Whether a line that is not a readable record names an erased identity (any string literal, as either kind)."""
        if not self.by_key:
            return False
        return any(self.erased_at(k, v) is not None for v in string_literals(raw) for k in IDENTITY_KINDS)


def privacy_key_file(env=None, cwd=None, override=None):
    env = os.environ if env is None else env
    name = override if override is not None else env.get('STEDI_PRIVACY_KEY_FILE', DEFAULT_PRIVACY_KEY_FILE)
    if '://' in name:
        return name
    return os.path.abspath(os.path.join(cwd or os.getcwd(), name))


def _read_key_file(file):
    """The key file's text, or None when it does not exist; s3://bucket/key through boto3 (Glue)."""
    from .s3 import is_s3
    if is_s3(file):
        from .s3 import client, split_uri
        bucket, key = split_uri(file)
        try:
            body = client().get_object(Bucket=bucket, Key=key)['Body'].read()
        except Exception as err:  # noqa: BLE001 - botocore's errors, by their code
            code = getattr(err, 'response', {}).get('Error', {}).get('Code')
            if code in ('NoSuchKey', '404'):
                return None
            raise PrivacyKeyError(f'cannot read the privacy key {file}: {code or err}') from err
        return body.decode('utf-8', errors='replace')
    try:
        with open(file, encoding='utf-8', errors='replace', newline='') as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as err:
        import errno
        raise PrivacyKeyError(f'cannot read the privacy key {file}: {errno.errorcode.get(err.errno, str(err))}') from err


def load_privacy_key(env=None, cwd=None, key_file=None):
    """The key's bytes, or None when none is set: STEDI_PRIVACY_KEY, else the key file
    (key_file, i.e. --privacy-key-file, else STEDI_PRIVACY_KEY_FILE, else var/privacy-key under cwd), trimmed."""
    env = os.environ if env is None else env
    text = env.get('STEDI_PRIVACY_KEY')
    if text is None or text == '':
        text = _read_key_file(privacy_key_file(env, cwd, key_file))
        if text is None:
            return None
        text = text.strip(_JS_WHITESPACE)
    # JavaScript counts UTF-16 units
    if len(text.encode('utf-16-le')) // 2 < MIN_KEY_CHARS:
        raise PrivacyKeyError(f'the privacy key must be at least {MIN_KEY_CHARS} characters')
    return _utf8(text)
