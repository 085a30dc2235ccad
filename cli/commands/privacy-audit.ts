import { PrivacyKeyError, loadPrivacyKey } from '../../common/privacy-key.js'
import { auditLakehouse, formatAudit } from '../../pipeline/privacy/audit.js'
import { type Command, UsageError, parse, wholeNumber } from '../args.js'
import { DEFAULT_LAKEHOUSE } from '../defaults.js'
import { S3_OPTION, S3_USAGE, storageFlags } from './s3-flags.js'

export const privacyAudit: Command = {
  name: 'privacy audit',
  usage: `stedi privacy audit [--lakehouse DIR] [--landing DIR] [--limit N] [--json]

Proves that the current machine_learning_curated table holds only readings of customers who had
consented to research: each row's phone user (its email) and trainer owner (the customer whose
latest record carries the serial number) must have, in their latest customer record as of the run
that built the table, a shareWithResearchAsOfDate at or before that run's start; when that run's
consent policy was strict, also at or before the reading's time. Consent is judged from the
customer records themselves, not from the trusted or curated tables.
Exit 0 when no row violates; 1 when one does, listing the first violations with their reason
(unknown_customer, no_consent, consent_after_run, before_consent_strict). Customers are named by a
short hashed id (the keyed identity hash when a privacy key is set, else SHA-256), never by email.

  --lakehouse DIR           (default ${DEFAULT_LAKEHOUSE}); or s3://BUCKET/PREFIX
  --landing DIR             read the customer records from the landing files of this local folder
                            (those the state records as read by the run); default: the lakehouse's
                            customer_landing table
  --limit N                 how many violations to list (default 20)
  --json                    one JSON object: the figures and the listed violations
${S3_USAGE}`,
  run: async (argv) => {
    const { values } = parse(argv, { lakehouse: { type: 'string' }, landing: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, ...S3_OPTION })
    if (values.help === true) { console.log(privacyAudit.usage); return 0 }
    const lakehouse = values.lakehouse ?? DEFAULT_LAKEHOUSE
    if (values.landing !== undefined && values.landing.startsWith('s3://')) throw new UsageError('--landing must be a local folder')
    let key
    try {
      key = await loadPrivacyKey()
    } catch (err) {
      if (err instanceof PrivacyKeyError) throw new UsageError(err.message)
      throw err
    }
    const audit = await auditLakehouse(lakehouse, {
      landingDir: values.landing,
      limit: wholeNumber('--limit', values.limit) ?? 20,
      key,
      s3: storageFlags(values, [['--lakehouse', lakehouse]])
    })
    console.log(values.json === true ? JSON.stringify(audit) : formatAudit(audit))
    return audit.ok ? 0 : 1
  }
}
