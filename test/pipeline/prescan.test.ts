// The prescan pool gives what the in-place prescan gives, and reports an unreadable file the same way.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { prescanFiles } from '../../pipeline/landing/prescan-pool.js'
import { listLandingFiles } from '../../pipeline/landing/scan.js'
import { PUBLISHED, tempDir, writeLanding } from '../helpers/index.js'

t.test('worker threads and the main thread agree', async (t) => {
  const files = await listLandingFiles(PUBLISHED)
  const scratch = await tempDir(t)
  const inPlace = await prescanFiles(files, scratch, 1)
  const pooled = await prescanFiles(files, scratch, 2, undefined, 0)
  t.same(pooled, inPlace)
  t.equal(inPlace.reduce((a, f) => a + f.nonBlankLines, 0), 956 + 81273 + 28680)
  t.ok(inPlace.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.fastPath !== null))
})

t.test('an unreadable file read by a worker is reported with its path', async (t) => {
  const landing = await tempDir(t)
  await writeLanding(landing, 'customer', 'customer-1.json', [{ email: 'a@test.com', serialNumber: 's' }])
  const files = await listLandingFiles(landing)
  await fs.rm(path.join(landing, 'customer/landing/customer-1.json'))
  await t.rejects(prescanFiles(files, await tempDir(t), 2, undefined, 0), { code: 'PIPE_ERR_LANDING_UNREADABLE', message: /customer-1\.json \(ENOENT\)/ })
})

t.test('numbering lines for the fast reader keeps every line, and JSON', async (t) => {
  const { numberLines } = await import('../../pipeline/landing/prescan.js')
  const input = '{"a":1}\r\n\n  { }\n[1]\n{"_line": 9}\n{\t"b":2}'
  const out = numberLines(Buffer.from(input)).toString()
  t.equal(out, '{"_line":1,"a":1}\r\n\n  {"_line":3 }\n[1]\n{"_line":5,"_line": 9}\n{"_line":6,\t"b":2}')
  t.same(JSON.parse(out.split('\n')[0]), { _line: 1, a: 1 })
  t.same(JSON.parse(out.split('\n')[2]), { _line: 3 })
})

t.test('customer line numbers are the same through the fast reader and line by line', async (t) => {
  const { run, rows } = await import('../helpers/index.js')
  const lines = [{ email: 'a@test.com', serialNumber: 's1' }, '', { email: 'b@test.com', serialNumber: 's2' }, { email: 'c@test.com', serialNumber: 's3' }]
  const fast = await tempDir(t)
  await writeLanding(fast, 'customer', 'customer-1.json', lines)
  const slow = await tempDir(t)
  const file = await writeLanding(slow, 'customer', 'customer-1.json', lines)
  await fs.writeFile(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), await fs.readFile(file)]))
  const a = await tempDir(t)
  const b = await tempDir(t)
  t.equal((await run({ landingDir: fast, lakehouseDir: a })).read.customer.fastFiles, 1)
  t.equal((await run({ landingDir: slow, lakehouseDir: b })).read.customer.lineFiles, 1)
  const sql = 'SELECT email, _line FROM customer_landing ORDER BY email'
  t.same(await rows(a, sql), [{ email: 'a@test.com', _line: 1 }, { email: 'b@test.com', _line: 3 }, { email: 'c@test.com', _line: 4 }])
  t.same(await rows(a, sql), await rows(b, sql))
})

t.test('a file read in chunks gives what the whole file gives: hash, checks, counts and copies', async (t) => {
  const { countNonBlankLines, markInvalidLines, numberLines, prescanFile } = await import('../../pipeline/landing/prescan.js')
  const { createHash } = await import('node:crypto')
  const { isUtf8 } = await import('node:buffer')
  const long = `{"email": "${'é'.repeat(40)}@test.com", "serialNumber": "😀"}`
  const bytes = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p) : Buffer.from(p)))
  const contents: Record<string, Buffer> = {
    crlf: bytes('{"email": "a@test.com"}\r\n\r\n  { }\r\n', long, '\r\n\t \n[1]\n{"_line": 9}\n{\t"b":2}'),
    'trailing-lf': bytes(long, '\n', long, '\n\n'),
    bom: bytes([0xef, 0xbb, 0xbf], '{"a":1}\n{"b":2}\n'),
    'bad-utf8': bytes('{"a":"', [0xc3], '"}\n{"b":"', [0xff, 0xfe], '"}\n', long, '\n{"c":"', [0xe2, 0x82], '\n'),
    'blank-only': bytes(' \n\t\r\n\n'),
    empty: bytes(),
    tiny: bytes('{'),
    'no-lf': bytes(long)
  }
  const landing = await tempDir(t)
  for (const [name, content] of Object.entries(contents)) {
    for (const dataset of ['customer', 'accelerometer'] as const) {
      const file = await writeLanding(landing, dataset, `${dataset}-${name}.json`, [])
      await fs.writeFile(file, content)
      const [listed] = (await listLandingFiles(landing)).filter((f) => f.absPath === file)
      const utf8 = isUtf8(content)
      const bom = content.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))
      const expected = {
        sha256: createHash('sha256').update(content).digest('hex'),
        nonBlankLines: countNonBlankLines(content),
        fast: utf8 && !bom,
        fastReads: !(utf8 && !bom) ? null : dataset === 'customer' ? numberLines(content).toString('latin1') : 'the file itself',
        lineReads: (utf8 ? content : markInvalidLines(content)).toString('latin1'),
        partialCopies: []
      }
      for (const chunkBytes of [1, 2, 3, 5, 8, 13, 64, 1 << 20]) {
        const scratch = await tempDir(t)
        const got = prescanFile(listed, scratch, chunkBytes)
        t.same({
          sha256: got.sha256,
          nonBlankLines: got.nonBlankLines,
          fast: got.fastPath !== null,
          fastReads: got.fastPath === null ? null : got.fastPath === file ? 'the file itself' : (await fs.readFile(got.fastPath)).toString('latin1'),
          lineReads: (await fs.readFile(got.readPath)).toString('latin1'),
          partialCopies: (await fs.readdir(scratch)).filter((n) => n.startsWith('.'))
        }, expected, `${dataset} ${name} in chunks of ${chunkBytes}`)
      }
    }
  }
})
