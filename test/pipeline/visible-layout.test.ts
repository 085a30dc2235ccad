// The order in which a table's folder changes: a reader listing it at any moment sees a whole version.
import t from 'tap'
import { type PublicationStep, publicationSteps, visibleNames } from '../../pipeline/visible-layout.js'

const F = (name: string): string => `trusted/accelerometer_trusted/_files/${name}`
const shownOf = (pairs: Array<[string, string | undefined]>): Map<string, string | undefined> => new Map(pairs)

/** Plays the steps on a folder and returns every state a reader could list, as sets of shown files. */
function statesSeen (shown: Map<string, string | undefined>, steps: PublicationStep[]): string[][] {
  const folder = new Map(shown)
  const states = [[...folder.values()].map(String).sort()]
  for (const s of steps) {
    if (s.action === 'remove') folder.delete(s.name)
    else folder.set(s.name, s.canonical)
    states.push([...folder.values()].map(String).sort())
  }
  return states
}

t.test('a trusted table is data.parquet (its base) and its deltas by name', async (t) => {
  t.same(visibleNames('accelerometer_trusted', [F('v000001-r000001.parquet'), F('delta-v000002-r000002.parquet')]),
    [['data.parquet', F('v000001-r000001.parquet')], ['delta-v000002-r000002.parquet', F('delta-v000002-r000002.parquet')]])
  t.same(visibleNames('accelerometer_landing', ['landing/accelerometer_landing/_files/part-r000001.parquet']),
    [['part-r000001.parquet', 'landing/accelerometer_landing/_files/part-r000001.parquet']])
})

t.test('an appended delta is only placed', async (t) => {
  const base = F('v000001-r000001.parquet')
  const d2 = F('delta-v000002-r000002.parquet')
  const d3 = F('delta-v000003-r000003.parquet')
  const steps = publicationSteps('accelerometer_trusted', [base, d2, d3], shownOf([['data.parquet', base], ['delta-v000002-r000002.parquet', d2]]))
  t.same(steps, [{ action: 'place', name: 'delta-v000003-r000003.parquet', canonical: d3 }])
})

t.test('a new base: the deltas go newest first, then the base is swapped; every state is a whole version', async (t) => {
  const base = F('v000001-r000001.parquet')
  const d = [2, 3, 4].map((v) => F(`delta-v00000${v}-r00000${v}.parquet`))
  const next = F('v000005-r000005.parquet')
  const shown = shownOf([['data.parquet', base], ...d.map((f): [string, string] => [f.split('/').pop()!, f])])
  const steps = publicationSteps('accelerometer_trusted', [next], shown)
  t.same(steps.map((s) => `${s.action} ${s.name}`), [
    'remove delta-v000004-r000004.parquet', 'remove delta-v000003-r000003.parquet', 'remove delta-v000002-r000002.parquet', 'place data.parquet'])
  const versions = [[base], [base, d[0]], [base, ...d.slice(0, 2)], [base, ...d], [next]].map((v) => [...v].sort())
  for (const state of statesSeen(shown, steps)) t.ok(versions.some((v) => JSON.stringify(v) === JSON.stringify(state)), `a whole version: ${state.map((f) => f.split('/').pop()).join(', ')}`)
})

t.test('a base with a delta of its own after a rewrite, stray files, and an unknown data.parquet', async (t) => {
  const base = F('v000007-r000007.parquet')
  const delta = F('delta-v000008-r000008.parquet')
  const steps = publicationSteps('accelerometer_trusted', [base, delta], shownOf([['data.parquet', undefined], ['delta-v000003-r000003.parquet', undefined], ['stray.parquet', undefined]]))
  t.same(steps.map((s) => `${s.action} ${s.name}`), ['remove stray.parquet', 'remove delta-v000003-r000003.parquet', 'place data.parquet', 'place delta-v000008-r000008.parquet'])
})

t.test('landing parts compacted: old parts removed newest first, then the compacted part and the new one added', async (t) => {
  const p = (n: string): string => `landing/accelerometer_landing/_files/${n}`
  const old = ['part-r000001.parquet', 'part-r000002.parquet', 'part-r000003.parquet']
  const steps = publicationSteps('accelerometer_landing', [p('part-r000004-c.parquet'), p('part-r000004.parquet')], shownOf(old.map((n) => [n, p(n)])))
  t.same(steps.map((s) => `${s.action} ${s.name}`), [
    'remove part-r000003.parquet', 'remove part-r000002.parquet', 'remove part-r000001.parquet', 'place part-r000004-c.parquet', 'place part-r000004.parquet'])
})
