"""The landing input rules, line by line, in plain Python (no Spark): the reference the Spark jobs apply.

They are the embedded pipeline's rules (pipeline/landing/), which take their JSON grammar from
DuckDB's reader: besides RFC 8259 it accepts one trailing comma before } or ] and the literals
nan/inf/infinity in any case with an optional minus. Those literals never satisfy a field, so
they matter only in places the contract does not read. Python's json module parses the common
line; a line it refuses is read again with those two allowances before it is called invalid.
"""
import hashlib
import json
import math
import re
import sys

from .contracts import DATASETS

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


# Python's own number parsing already says what the contract needs: an integer literal becomes an
# int (so -0 is 0, as DuckDB reads it), anything with a fraction or exponent a float, NaN and
# Infinity floats. Objects become lists of (key, value) pairs (the C parser calls `list` itself),
# which keeps a duplicate key visible; an array is a list too, told apart by the line's first character.
_decoder = json.JSONDecoder(object_pairs_hook=list)
# the contract bounds integers to 64 bits; a longer literal must still parse, to be refused as a field
sys.set_int_max_str_digits(0)

_SPECIAL_WORDS = {'nan': 'NaN', 'inf': 'Infinity', 'infinity': 'Infinity'}
_WS = ' \t\n\r'
_SURROGATE_ESCAPE = re.compile(r'\\u[dD][89a-fA-F]')


def _lenient_text(text):
    """The line rewritten so that Python's parser reads what DuckDB's reader accepts, or None."""
    out = []
    last = ''  # the last character written that is not whitespace
    i = 0
    n = len(text)
    changed = False
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            last = '"'
            i = j + 1
            continue
        if c == ',':
            j = i + 1
            while j < n and text[j] in _WS:
                j += 1
            if j < n and text[j] in '}]' and last not in ('', '{', '[', ','):
                changed = True
                i += 1
                continue
        if c.isalpha():
            j = i
            while j < n and text[j].isalpha():
                j += 1
            word = text[i:j]
            special = _SPECIAL_WORDS.get(word.lower())
            if special == 'NaN' and last == '-' and out and out[-1] == '-':
                out.pop()
                changed = True
            if special is not None and word != special:
                changed = True
                word = special
            out.append(word)
            last = word[-1]
            i = j
            continue
        out.append(c)
        if c not in _WS:
            last = c
        i += 1
    return ''.join(out) if changed else None


def _has_lone_surrogate(value):
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if any('\ud800' <= ch <= '\udfff' for ch in v):
                return True
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
    return False


_INVALID = object()


def parse_json(text):
    """The parsed line, or _INVALID when it is not JSON by the pipeline's grammar."""
    try:
        value = _decoder.decode(text)
    except RecursionError:
        return _INVALID
    except ValueError:
        lenient = _lenient_text(text)
        if lenient is None:
            return _INVALID
        try:
            value = _decoder.decode(lenient)
        except (ValueError, RecursionError):
            return _INVALID
    # an unpaired \ud800-\udfff escape is not a character: DuckDB refuses the line
    if '\\u' in text and _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        return _INVALID
    return value


def _field_value(kind, non_empty, v):
    """(ok, typed value) for a present field."""
    t = type(v)
    if kind == 'string':
        return (t is str and (not non_empty or v != '')), v
    if kind == 'integer':
        return (t is int and INT64_MIN <= v <= INT64_MAX), v
    if t is int:
        try:
            v = float(v)
        except OverflowError:
            return False, None
    elif t is not float:
        return False, None
    return math.isfinite(v), v


def classify(fields, text, ranges=None):
    """(reason, values) for one cleaned, non-blank line: reason None and the typed values, or the first rule it breaks.

    ranges: {field: (min, max)} for integers that must also lie in [min, max).
    """
    value = parse_json(text)
    if value is _INVALID:
        return 'invalid_json', None
    # objects and arrays both decode to lists: the line's first character tells them apart
    if type(value) is not list or text.lstrip(' \t\n\r')[:1] != '{':
        return 'not_an_object', None
    obj = dict(value)
    if len(obj) != len(value):
        return 'duplicate_key', None
    values = []
    for name, kind, required, non_empty in fields:
        v = obj.get(name)
        if v is None:
            if required:
                return f'missing_field:{name}', None
            values.append(None)
            continue
        ok, typed = _field_value(kind, non_empty, v)
        if not ok:
            return f'wrong_type:{name}', None
        if ranges and name in ranges and not ranges[name][0] <= typed < ranges[name][1]:
            return f'out_of_range:{name}', None
        values.append(typed)
    return None, values


def read_landing_file(dataset, content):
    """Every line of one landing file: yields (line number, reason, values, raw).

    A record has reason None; a quarantined line has its values None and keeps its raw text (a line
    that is not UTF-8 as latin-1, one character per byte). Blank lines are neither.
    """
    fields = DATASETS[dataset]['fields']
    ranges = DATASETS[dataset]['ranges']
    for index, line in enumerate(content.split(b'\n')):
        number = index + 1
        try:
            text = line.decode('utf-8')
        except UnicodeDecodeError:
            yield number, 'invalid_utf8', None, line.decode('latin-1').rstrip('\r')
            continue
        text = text.rstrip('\r')
        if number == 1:
            text = text.lstrip('\ufeff')
        if text.strip(' \t') == '':
            continue
        reason, values = classify(fields, text, ranges)
        yield number, reason, values, text


def sha256_hex(content):
    return hashlib.sha256(content).hexdigest()
