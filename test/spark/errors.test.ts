// The Spark jobs refuse what the embedded engine refuses, with the same codes, before Spark starts.
import fs from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { cli, tempDir } from '../helpers/index.js'
import { sparkScript } from '../helpers/spark.js'

t.test('a wrong landing or lakehouse is named, with its code, and nothing is written', async (t) => {
  const empty = await tempDir(t)
  const lakehouse = path.join(await tempDir(t), 'lake')
  const missing = await sparkScript('customer_landing_to_trusted', ['--landing', path.join(empty, 'nope'), '--lakehouse', lakehouse])
  t.equal(missing.code, 1)
  t.match(missing.stderr, /PIPE_ERR_LANDING_MISSING: landing folder .*nope does not exist/)
  const layout = await sparkScript('customer_landing_to_trusted', ['--landing', empty, '--lakehouse', lakehouse])
  t.equal(layout.code, 1)
  t.match(layout.stderr, /PIPE_ERR_LANDING_EMPTY_LAYOUT: landing folder .* has none of customer\/landing/)
  await fs.mkdir(path.join(empty, 'customer/landing'), { recursive: true })
  const notLake = await tempDir(t)
  await fs.writeFile(path.join(notLake, 'precious.txt'), 'not a lakehouse')
  const refused = await sparkScript('customer_landing_to_trusted', ['--landing', empty, '--lakehouse', notLake])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /PIPE_ERR_NOT_A_LAKEHOUSE/)
  t.same(await fs.readdir(notLake), ['precious.txt'], 'nothing was written into a folder that is not a lakehouse')
  const option = await sparkScript('customer_landing_to_trusted', ['--landing', empty, '--lakehouse', lakehouse, '--consent-policy', 'lenient'])
  t.equal(option.code, 2)
  t.match(option.stderr, /argument --consent-policy\/--consent_policy: invalid choice: 'lenient' \(choose from 'seed', 'strict'\)/)
  await t.rejects(fs.access(lakehouse), 'no lakehouse was made for a refused run')
})

t.test('--engine spark without a Spark environment says how to make one', async (t) => {
  const landing = await tempDir(t)
  await fs.mkdir(path.join(landing, 'customer/landing'), { recursive: true })
  const res = await cli(['pipeline', 'run', '--engine', 'spark', '--landing', landing, '--lakehouse', path.join(await tempDir(t), 'lake')],
    { env: { STEDI_SPARK_PYTHON: '/nonexistent/python' } })
  t.equal(res.code, 1)
  t.match(res.stderr, /no Python environment for Spark at \/nonexistent\/python: run `npm run setup:spark`.*\[PIPE_ERR_SPARK_UNAVAILABLE\]/)
  const usage = await cli(['pipeline', 'run', '--spark-master', 'local[1]', '--landing', landing])
  t.equal(usage.code, 2)
  t.match(usage.stderr, /--spark-master needs --engine spark/)
})
