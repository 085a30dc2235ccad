// One validation contract: whatever the gateway accepts, the pipeline keeps. Hostile customer records
// and device messages (test/contracts/hostile.ts) go through the gateway's validators; every line it
// accepts is written to landing and promoted by the embedded engine, once in a file of accepted
// lines alone (the fast path) and once beside a bad line (the line path). Nothing it accepted may be
// quarantined. test/spark/validation.test.ts holds the Spark jobs to the same.
import t from 'tap'
import { DATASET_NAMES } from '../../contracts/datasets.js'
import { rows, run, tempDir, writeLanding } from '../helpers/index.js'
import { throughGateway } from './hostile.js'

/** Text as printable ASCII, so that a failure's report cannot break the test output. */
const ascii = (text: string): string => text.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)

/** A line no rule accepts: the one quarantined line each second file must have. */
const SENTINEL = '{"not": "closed"'

t.test('every line the gateway accepts passes the pipeline\'s input rules, on both reading paths', async (t) => {
  for (const seed of [1, 2, 3]) {
    const gateway = await throughGateway(seed, 600)
    const landing = await tempDir(t)
    for (const dataset of DATASET_NAMES) {
      await writeLanding(landing, dataset, `${dataset}-1-accepted.json`, gateway.lines[dataset])
      await writeLanding(landing, dataset, `${dataset}-2-beside-a-bad-line.json`, [...gateway.lines[dataset], SENTINEL])
    }
    const lakehouse = await tempDir(t)
    const report = await run({ landingDir: landing, lakehouseDir: lakehouse })
    for (const dataset of DATASET_NAMES) {
      const accepted = gateway.lines[dataset].length
      const quarantined = await rows(lakehouse, `SELECT _file, _line, reason, raw FROM ${dataset}_quarantine WHERE raw <> '${SENTINEL}' LIMIT 5`)
      t.same(quarantined.map((q) => ({ ...q, raw: ascii(String(q.raw)).slice(0, 300) })), [],
        `seed ${seed}, ${dataset}: none of the ${accepted} accepted lines was quarantined`)
      t.same(report.read[dataset], { records: 2 * accepted, quarantined: 1, fastFiles: 1, lineFiles: 1 },
        `seed ${seed}, ${dataset}: every accepted line is a landing record, by the fast path and by the line path`)
    }
    // what the gateway wrote is what the landing table holds, field for field (read back as JSON:
    // DuckDB's Node client drops a byte-order mark that starts a string value)
    const expected = gateway.lines.customer.map((l) => JSON.parse(l) as Record<string, unknown>)
    const landed = await rows(lakehouse, `SELECT CAST(to_json(c) AS VARCHAR) AS j FROM (
      SELECT * EXCLUDE (_run, _file, _line) FROM customer_landing WHERE _file LIKE '%-accepted.json' ORDER BY _line) c`)
    const values = landed.map((r) => Object.fromEntries(Object.entries(JSON.parse(String(r.j)) as Record<string, unknown>).filter(([, v]) => v !== null)))
    t.same(values, expected, `seed ${seed}: customer values survive the fast path`)
    t.ok(gateway.lines.customer.length > 100 && gateway.lines.accelerometer.length > 100 && gateway.lines.step_trainer.length > 100,
      `seed ${seed}: the gateway accepted many records (${DATASET_NAMES.map((d) => `${d} ${gateway.lines[d].length}`).join(', ')})`)
    for (const reason of ['invalid_text', 'out_of_range', 'wrong_type', 'missing_field', 'not_a_reading']) {
      t.ok((gateway.refused[reason] ?? 0) > 0, `seed ${seed}: and refused some as ${reason} (${gateway.refused[reason] ?? 0})`)
    }
  }
})
