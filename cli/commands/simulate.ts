import { GENERATE_DEFAULTS, generateLanding } from '../../simulator/generate.js'
import { type Command, UsageError, parse, wholeNumber } from '../args.js'

const ratio = (flag: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${flag} must be a number from 0 to 1 (got ${value})`)
  return n
}

export const simulateGenerate: Command = {
  name: 'simulate generate',
  usage: `stedi simulate generate --out DIR [--customers N] [--seed S] [--consent-ratio P]
                        [--bad-ratio P] [--duplicate-ratio P]

Writes DIR/customer/landing, DIR/accelerometer/landing and DIR/step_trainer/landing in the
published data's format. The same options give the same files.

  --customers N             how many customers, each with a trainer and a phone (default 100)
  --seed S                  PRNG seed (default ${GENERATE_DEFAULTS.seed})
  --consent-ratio P         share of customers consenting to research (default ${GENERATE_DEFAULTS.consentRatio.toFixed(3)}, as published)
  --bad-ratio P             share of reading lines followed by a malformed line (default 0)
  --duplicate-ratio P       share of reading lines delivered twice (default 0)`,
  run: async (argv) => {
    const { values } = parse(argv, {
      out: { type: 'string' }, customers: { type: 'string' }, seed: { type: 'string' },
      'consent-ratio': { type: 'string' }, 'bad-ratio': { type: 'string' }, 'duplicate-ratio': { type: 'string' }
    })
    if (values.help === true) { console.log(simulateGenerate.usage); return 0 }
    if (values.out === undefined) throw new UsageError('--out DIR is required')
    const summary = await generateLanding(values.out, {
      customers: wholeNumber('--customers', values.customers) ?? 100,
      seed: wholeNumber('--seed', values.seed) ?? GENERATE_DEFAULTS.seed,
      consentRatio: ratio('--consent-ratio', values['consent-ratio'], GENERATE_DEFAULTS.consentRatio),
      badRatio: ratio('--bad-ratio', values['bad-ratio'], 0),
      duplicateRatio: ratio('--duplicate-ratio', values['duplicate-ratio'], 0)
    })
    console.log(`wrote ${values.out}: customer ${summary.lines.customer} lines, accelerometer ${summary.lines.accelerometer} ` +
      `(${summary.badLines.accelerometer} bad), step_trainer ${summary.lines.step_trainer} (${summary.badLines.step_trainer} bad)`)
    return 0
  }
}
