// Durations on the command line: a unit is required (a bare number is refused, never read as
// milliseconds), in every flag that takes one.
import t from 'tap'
import { DurationError, parseDuration, parseDurationMs } from '../../common/duration.js'
import { cli, tempDir } from '../helpers/index.js'
import { SECRET } from '../helpers/gateway.js'

t.test('units ms, s, m, h, d; a bare number names the unit to add', async (t) => {
  t.same(['500ms', '30s', '5m', '1h', '2d', '1.5s'].map(parseDuration), [500, 30_000, 300_000, 3_600_000, 172_800_000, 1500])
  t.throws(() => parseDuration('5'), new DurationError('DURATION_ERR_NO_UNIT', '5: add a unit, such as 5s or 5m'))
  for (const bad of ['', 's', '5x', '-5s', '0s', '5 s s']) t.throws(() => parseDuration(bad), { code: 'DURATION_ERR_INVALID' }, bad)
  t.equal(parseDurationMs('5'), undefined)
  t.equal(parseDurationMs('1d'), 86_400_000)
})

// every command flag that takes a duration, with the other flags it needs to get that far
const FLAGS: Array<[string[], string]> = [
  [['pipeline', 'schedule', '--max-runs', '1'], '--every'],
  [['pipeline', 'run'], '--wait'],
  [['pipeline', 'run'], '--lease'],
  [['start', '--var', '/nonexistent-stedi-var'], '--every'],
  [['demo'], '--duration'],
  [['simulate', 'fleet', '--mqtt', 'mqtt://127.0.0.1:1', '--http', 'http://127.0.0.1:1'], '--duration'],
  [['load-test', '--mqtt', 'mqtt://127.0.0.1:1', '--http', 'http://127.0.0.1:1', '--scenario', 'steady'], '--duration'],
  [['privacy', 'erase', '--email', 'a@b.c'], '--wait'],
  [['gateway', '--landing', '/nonexistent-stedi-l', '--state', '/nonexistent-stedi-s'], '--max-batch-age'],
  [['gateway', '--landing', '/nonexistent-stedi-l', '--state', '/nonexistent-stedi-s'], '--shutdown-grace']
]

t.test('every duration flag refuses a bare number with exit 2 and one line', async (t) => {
  const cwd = await tempDir(t)
  for (const [args, flag] of FLAGS) {
    const r = await cli([...args, flag, '5'], { cwd, env: { STEDI_GATEWAY_SECRET: SECRET } })
    t.equal(r.code, 2, `${args.join(' ')} ${flag} 5: ${r.stderr}`)
    t.match(r.stderr, `${flag} 5: add a unit, such as 5s or 5m`, `${args[0]} ${flag}`)
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  }
})
