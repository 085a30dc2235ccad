// `stedi pipeline verify` recomputes as the run that built the tables did: with its consent policy
// and machine-learning join, and judging consent as of its start, not as of now.
import path from 'node:path'
import t from 'tap'
import { PUBLISHED, T0, cli, customer, rows, tempDir, writeLanding } from '../helpers/index.js'
import { tableOf as table, verify } from '../helpers/verify.js'

t.test('the options and the consent time of the run that built the tables', async (t) => {
  const dir = await tempDir(t)
  const places = ['--landing', PUBLISHED, '--lakehouse', path.join(dir, 'lake')]
  t.equal((await cli(['pipeline', 'run', ...places, '--consent-policy', 'strict', '--ml-join', 'same-customer'])).code, 0)
  const strict = await verify(places)
  t.equal(strict.code, 0, strict.stderr)
  t.match(strict.report?.source, { consentPolicy: 'strict', mlJoin: 'same-customer' })
  t.equal(table(strict.report, 'accelerometer_trusted')?.current, 32025, 'the strict policy\'s table')
  t.equal((await cli(['pipeline', 'run', ...places])).code, 0)
  const seed = await verify(places)
  t.equal(seed.code, 0, seed.stderr)
  t.match(seed.report?.source, { consentPolicy: 'seed', mlJoin: 'seed' })

  // a consent dated after the run's start was not given then: verify judges as that run did, not as of now
  const landing = path.join(dir, 'landing')
  const own = ['--landing', landing, '--lakehouse', path.join(dir, 'own')]
  const soon = Date.now() + 5000
  await writeLanding(landing, 'customer', 'customer-1.json', [
    customer('now@test.com', 'sn-now', { shareWithResearchAsOfDate: T0 }),
    customer('soon@test.com', 'sn-soon', { shareWithResearchAsOfDate: soon })
  ])
  await writeLanding(landing, 'accelerometer', 'accelerometer-1.json', [{ user: 'now@test.com', timestamp: T0, x: 0, y: 0, z: 0 }, { user: 'soon@test.com', timestamp: T0, x: 1, y: 0, z: 0 }])
  t.equal((await cli(['pipeline', 'run', ...own])).code, 0)
  t.equal((await rows(path.join(dir, 'own'), 'SELECT count(*) AS n FROM customer_trusted'))[0].n, 1)
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, soon - Date.now() + 100)))
  const judged = await verify(own)
  t.equal(judged.code, 0, judged.stderr)
  const history = JSON.parse((await cli(['pipeline', 'history', '--lakehouse', path.join(dir, 'own'), '--json'])).stdout) as Array<{ id: number, startedAt: string }>
  t.equal(judged.report?.source.startedAt, history[0].startedAt, 'consent judged at the start of the run that built customer_trusted')
  t.equal((await cli(['pipeline', 'run', ...own, '--full-refresh'])).code, 0)
  t.equal((await rows(path.join(dir, 'own'), 'SELECT count(*) AS n FROM customer_trusted'))[0].n, 2, 'judged now, the later consent counts')
  t.equal((await verify(own)).code, 0)
})
