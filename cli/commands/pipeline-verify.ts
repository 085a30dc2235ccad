import { loadPrivacyKey } from '../../common/privacy-key.js'
import { PipelineError } from '../../pipeline/errors.js'
import { VERIFY_PAUSE_POINTS, formatVerify, verifyLakehouse } from '../../pipeline/verify/verify.js'
import { type Command, oneOf, parse, wholeNumber } from '../args.js'
import { DEFAULT_LAKEHOUSE, DEFAULT_LANDING } from '../defaults.js'
import { createProgress } from '../progress.js'
import { S3_OPTION, S3_USAGE, storageFlags } from './s3-flags.js'

export const pipelineVerify: Command = {
  name: 'pipeline verify',
  usage: `stedi pipeline verify [--lakehouse DIR] [--landing DIR] [--json]

Recomputes the zone tables from landing and compares every row of the eleven current tables with the
recomputation (a hash of every row; the lineage columns _run and _line are left out). The
recomputation is a full refresh into a scratch folder, with the options and the consent time of the
run that built the current tables, over the landing files they were built from; erased customers stay
out (their tombstones; the privacy key is needed), and the rows of landing files --retain-landing
deleted are taken from the lakehouse. Verify takes no lock: runs go on meanwhile, and it compares the
versions current when it started. Example rows name customers by short hashed ids.
Exit 0 when every table is equal; 1 when one differs (PIPE_ERR_VERIFY_DRIFT, naming the tables) or
verify cannot tell.

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE}); or s3://BUCKET/PREFIX
  --landing DIR             the landing root the lakehouse was promoted from (default ${DEFAULT_LANDING});
                            or s3://BUCKET/PREFIX
${S3_USAGE}
  --threads N               engine threads (default: all cores)
  --memory-limit-mb N       engine memory before it spills to disk (default 600)
  --scratch DIR             where the recomputation is written, in a folder of its own removed at
                            the end; it needs about the lakehouse's size (default: the system's
                            temporary folder)
  --examples N              rows listed per differing table and side (default 3)
  --show-identities         list example rows as they are, emails, names and serial numbers included
  --json                    one JSON object: every table's verdict and counts, the run and the
                            landing files recomputed`,
  run: async (argv) => {
    const { values } = parse(argv, {
      lakehouse: { type: 'string' },
      landing: { type: 'string' },
      threads: { type: 'string' },
      'memory-limit-mb': { type: 'string' },
      scratch: { type: 'string' },
      examples: { type: 'string' },
      'show-identities': { type: 'boolean' },
      json: { type: 'boolean' },
      'pause-after': { type: 'string' },
      ...S3_OPTION
    })
    if (values.help === true) { console.log(pipelineVerify.usage); return 0 }
    const lakehouse = values.lakehouse ?? DEFAULT_LAKEHOUSE
    const landing = values.landing ?? DEFAULT_LANDING
    const progress = createProgress()
    const report = await verifyLakehouse({
      lakehouseDir: lakehouse,
      landingDir: landing,
      s3: storageFlags(values, [['--landing', landing], ['--lakehouse', lakehouse]]),
      privacyKey: await loadPrivacyKey(),
      threads: wholeNumber('--threads', values.threads),
      memoryLimitMb: wholeNumber('--memory-limit-mb', values['memory-limit-mb']),
      scratchDir: values.scratch,
      examples: wholeNumber('--examples', values.examples),
      showIdentities: values['show-identities'] === true,
      pauseAfter: oneOf('--pause-after', values['pause-after'], VERIFY_PAUSE_POINTS),
      onProgress: progress.update
    }).finally(progress.done)
    console.log(values.json === true ? JSON.stringify(report) : formatVerify(report))
    if (!report.ok) {
      throw new PipelineError('PIPE_ERR_VERIFY_DRIFT',
        `drift in ${report.drift.join(', ')}: the current tables are not what a recomputation from landing gives (listed above); ` +
        'find the cause, then rebuild them with `stedi pipeline run --full-refresh`')
    }
    return 0
  }
}
