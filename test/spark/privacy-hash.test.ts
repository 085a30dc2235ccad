// scripts/stedi_spark/privacy.py against contracts/privacy.ts and common/privacy-key.ts: the same
// hashes, fingerprints, string literals, matches and key, value for value. A Spark job and the
// embedded engine must drop exactly the same records for the same tombstones.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { ERASURE_FIELDS, TombstoneMatcher, identityHash, keyFingerprint, stringLiterals, type Tombstone } from '../../contracts/privacy.js'
import { loadPrivacyKey } from '../../common/privacy-key.js'
import { sparkPython } from '../../pipeline/engine/spark.js'
import { ROOT, tempDir } from '../helpers/index.js'

const exec = promisify(execFile)

/** Runs code with `inp` (the JSON on stdin) in the Spark environment's Python; returns its printed JSON. */
async function python (code: string, input: unknown, env: NodeJS.ProcessEnv = process.env, cwd = path.join(ROOT, 'scripts')): Promise<any> {
  const child = exec(sparkPython(), ['-c', `import json, sys\nsys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts'))})\ninp = json.load(sys.stdin)\n${code}`], { cwd, env })
  child.child.stdin!.end(JSON.stringify(input))
  return JSON.parse((await child).stdout)
}

const KEYS = ['0123456789abcdef-test-key', 'clé privée, ünïcödé ✓ 🔑 long enough']
const VALUES = [
  'ann@test.com', 'ANN@test.com', ' ann@test.com', 'ann.bob@test.com', 'bob@test.com', '', 'serial-0001',
  'zoë@exämple.org', '名前@例え.jp', '😀@emoji.io', 'quote"in@test.com', 'back\\slash@test.com', 'tab\tin@test.com',
  'lone\ud800surrogate', 'nul\u0000byte'
]

// quarantined lines: escapes, quotes, unicode, a name inside a longer one, broken strings
const RAWS = [
  '{"user":"bob@test.com","timestamp":"x"}',
  '{"user":"ann.bob@test.com","timestamp":1}',
  '{"email":"b\\u006fb@test.com"}',
  '{"email":"bob\\u0040test.com", "note":"say \\"hi\\""}',
  '{"a":"\\ud83d\\ude00@emoji.io","b":"\\ud800"}',
  '{"a":"esc\\qape","b":"tab\tliteral","c":"tab\\tescaped\tand literal"}',
  '{"a":"unterminated',
  '"only a string"',
  '["bob@test.com" , "zoë@exämple.org"]',
  '{"user":"bob@test.com\\"}',
  '{"x":"line\\\u2028sep","y":"bob@test.com"}',
  '{"x":"cr\\\rin","y":"serial-0001"}',
  'not json at all bob@test.com',
  '{"user":"名前@例え.jp","timestamp":',
  '{"user":"bob@test.com",}',
  '{"k":"\\\\","bob@test.com":1}',
  '',
  '"""',
  '{"e":"\\u0000","f":"\\/slash"}'
]

const ERASED_AT = 1_655_600_000_000
const TOMBSTONE_VALUES: Array<[Tombstone['kind'], string]> = [['email', 'bob@test.com'], ['serial', 'serial-0001'], ['email', '名前@例え.jp'], ['email', '😀@emoji.io'], ['email', 'nodate@test.com']]

const RECORDS = {
  customer: [
    { email: 'bob@test.com', lastUpdateDate: ERASED_AT }, { email: 'bob@test.com', lastUpdateDate: ERASED_AT + 1 },
    { email: 'bob@test.com', lastUpdateDate: null }, { email: 'bob@test.com' }, { email: 'ann.bob@test.com', lastUpdateDate: 1 },
    { email: 'serial-0001', lastUpdateDate: 1 }, { email: 'nodate@test.com', lastUpdateDate: 1.5 }, { serialNumber: 'serial-0001' }
  ],
  accelerometer: [
    { user: 'bob@test.com', timestamp: ERASED_AT - 1 }, { user: 'bob@test.com', timestamp: ERASED_AT + 1 }, { user: '😀@emoji.io', timestamp: 1 },
    { user: 'BOB@test.com', timestamp: 1 }, { user: 'bob@test.com', timestamp: 'x' }, { user: 7, timestamp: 1 }
  ],
  step_trainer: [
    { serialNumber: 'serial-0001', sensorReadingTime: ERASED_AT }, { serialNumber: 'serial-0001', sensorReadingTime: ERASED_AT + 1 },
    { serialNumber: 'bob@test.com', sensorReadingTime: 1 }, { serialNumber: 'serial-00011', sensorReadingTime: 1 }
  ]
}

t.test('identity hashes, key fingerprints and string literals are the same in both languages', async (t) => {
  const py = await python(`
from stedi_spark.privacy import identity_hash, key_fingerprint, string_literals
keys = [k.encode('utf-8') for k in inp['keys']]
print(json.dumps({
  'hashes': [[identity_hash(k, kind, v) for kind in ('email', 'serial') for v in inp['values']] for k in keys],
  'fingerprints': [key_fingerprint(k) for k in keys],
  'literals': [string_literals(r) for r in inp['raws']],
}))`, { keys: KEYS, values: VALUES, raws: RAWS })
  const keys = KEYS.map((k) => Buffer.from(k, 'utf8'))
  t.same(py.hashes, keys.map((k) => (['email', 'serial'] as const).flatMap((kind) => VALUES.map((v) => identityHash(k, kind, v)))), 'identity hashes')
  t.same(py.fingerprints, keys.map(keyFingerprint), 'key fingerprints')
  // a lone surrogate is compared as Node encodes it (U+FFFD): what gets hashed
  const norm = (v: string): string => Buffer.from(v, 'utf8').toString('utf8')
  t.same(py.literals.map((l: string[]) => l.map(norm)), RAWS.map((r) => stringLiterals(r).map(norm)), 'string literals')
  t.same(stringLiterals('{"user":"ann.bob@test.com"}'), ['user', 'ann.bob@test.com'], 'exact values only')
})

t.test('a matcher covers the same records and quarantined lines in both languages', async (t) => {
  const key = Buffer.from(KEYS[1], 'utf8')
  const tombstones: Tombstone[] = TOMBSTONE_VALUES.map(([kind, v], i) => ({ kind, hash: identityHash(key, kind, v), erasedAt: ERASED_AT - (i === 4 ? ERASED_AT : 0) }))
  // an older erasure of the same identity: the latest one counts
  tombstones.push({ kind: 'email', hash: identityHash(key, 'email', 'bob@test.com'), erasedAt: 5 })
  const matcher = new TombstoneMatcher(key, tombstones)
  const py = await python(`
from stedi_spark.privacy import TombstoneMatcher, ERASURE_FIELDS
m = TombstoneMatcher(inp['key'].encode('utf-8'), [(x['kind'], x['hash'], x['erasedAt']) for x in inp['tombstones']])
print(json.dumps({
  'records': {d: [m.covers_record(d, r) for r in rs] for d, rs in inp['records'].items()},
  'raws': [m.covers_raw(r) for r in inp['raws']],
  'fields': {d: {'match': [list(p) for p in s['match']], 'time': s['time']} for d, s in ERASURE_FIELDS.items()},
}))`, { key: KEYS[1], tombstones, records: RECORDS, raws: RAWS })
  const expected = Object.fromEntries(Object.entries(RECORDS).map(([d, rs]) => [d, rs.map((r) => matcher.coversRecord(d as keyof typeof RECORDS, r))]))
  t.same(py.records, expected, 'records covered')
  t.same(expected.customer, [true, false, true, true, false, false, false, false], 'the TypeScript matcher as the contract says')
  t.same(py.raws, RAWS.map((r) => matcher.coversRaw(r)), 'quarantined lines covered')
  t.equal(matcher.coversRaw(RAWS[1]), false, 'an email inside a longer email does not match')
  t.equal(matcher.coversRaw(RAWS[2]), true, 'an escaped email matches')
  t.same(py.fields, JSON.parse(JSON.stringify(ERASURE_FIELDS)), 'the fields that identify and date a record')
})

t.test('the privacy key comes from the same places, trimmed and checked alike', async (t) => {
  const dir = await tempDir(t)
  await fs.mkdir(path.join(dir, 'var'))
  const base = { PATH: process.env.PATH }
  const cases: Array<{ name: string, env: NodeJS.ProcessEnv, file?: string, named?: string }> = [
    { name: 'env', env: { STEDI_PRIVACY_KEY: '  spaced env key, not trimmed  ' } },
    { name: 'env wins over file', env: { STEDI_PRIVACY_KEY: 'from-the-environment!' }, file: 'from-the-default-file' },
    { name: 'default file, trimmed', env: {}, file: '\ufeff\u00a0 from-the-default-file \n\u2028' },
    { name: 'empty env means the file', env: { STEDI_PRIVACY_KEY: '' }, file: 'from-the-default-file' },
    { name: 'named file', env: { STEDI_PRIVACY_KEY_FILE: 'secret/key.txt' }, named: 'ünïcödé-key-in-a-named-file\r\n' },
    { name: 'none', env: {} },
    { name: 'too short', env: { STEDI_PRIVACY_KEY: 'short' } },
    { name: 'too short in UTF-16 units', env: { STEDI_PRIVACY_KEY: '🔑🔑🔑🔑🔑🔑🔑' } },
    { name: 'long enough in UTF-16 units', env: { STEDI_PRIVACY_KEY: '🔑🔑🔑🔑🔑🔑🔑🔑' } },
    { name: 'the key file is a folder', env: { STEDI_PRIVACY_KEY_FILE: 'var' } }
  ]
  for (const c of cases) {
    await fs.rm(path.join(dir, 'var/privacy-key'), { force: true })
    if (c.file !== undefined) await fs.writeFile(path.join(dir, 'var/privacy-key'), c.file)
    if (c.named !== undefined) {
      await fs.mkdir(path.join(dir, 'secret'), { recursive: true })
      await fs.writeFile(path.join(dir, 'secret/key.txt'), c.named)
    }
    const ts = await loadPrivacyKey({ env: c.env, cwd: dir }).then((k) => ({ key: k === undefined ? null : k.toString('hex') }), (err: Error) => ({ error: err.message }))
    const py = await python(`
from stedi_spark.privacy import load_privacy_key, PrivacyKeyError
try:
    k = load_privacy_key()
    print(json.dumps({'key': None if k is None else k.hex()}))
except PrivacyKeyError as err:
    print(json.dumps({'error': str(err)}))`, null, { ...base, ...c.env }, dir)
    t.same(py, ts, c.name)
  }
})
