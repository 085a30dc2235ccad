// The input rules' SQL judges a field's JSON text by its JSON kind alone: held here against the
// texts DuckDB writes back for every kind of JSON value, at the edges of each rule.
import os from 'node:os'
import t from 'tap'
import { createDuckDbEngine, sqlString } from '../../pipeline/engine/duckdb.js'
import { fieldCheck } from '../../pipeline/landing/validate-sql.js'

const TEXTS = ['"a"', '""', '"1"', '"-1"', '1', '-1', '0', '-0', '1.5', '-0.25', '1.0', '1e3', '1E3', '1.5e-3',
  '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1e400', 'true', 'false', '[1]', '{"a":1}', '[]', '{}']

t.test('integer, number and string checks accept exactly the JSON values of their kind', async (t) => {
  const engine = await createDuckDbEngine({ threads: 1, memoryLimitMb: 100, tempDir: os.tmpdir() })
  t.teardown(() => engine.close())
  const check = async (kind: 'integer' | 'number' | 'string', text: string): Promise<boolean> => {
    const [{ ok }] = await engine.rows<{ ok: boolean }>(`SELECT ${fieldCheck({ name: 'f', kind, required: true }, 't')} AS ok FROM (SELECT ${sqlString(text)} AS t)`)
    return ok
  }
  const isNumber = (text: string): boolean => /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(text) && Number.isFinite(Number(text))
  // an integer: the canonical text of a 64-bit integer (what DuckDB writes for one); 1.0, 1e3 and -0 are not
  const isInteger = (text: string): boolean => /^-?(0|[1-9][0-9]*)$/.test(text) && text !== '-0' && BigInt(text) >= -(2n ** 63n) && BigInt(text) < 2n ** 63n
  for (const text of TEXTS) {
    t.equal(await check('integer', text), isInteger(text), `integer ${text}`)
    t.equal(await check('number', text), isNumber(text), `number ${text}`)
    t.equal(await check('string', text), text.startsWith('"'), `string ${text}`)
  }
  t.equal(await engine.rows(`SELECT ${fieldCheck({ name: 'f', kind: 'integer', required: true }, 'NULL')} AS ok`).then((r) => r[0].ok), false, 'a required field that is absent')
})
