// The five zone jobs, by the seed's names, in the order they run. Each is one SELECT in sql/<name>.sql
// whose result becomes the output table; the Spark scripts in scripts/ run the same files in the same order.
import type { TableName } from './lakehouse.js'

export interface JobSpec {
  readonly name: string
  readonly output: TableName
  readonly inputs: readonly TableName[]
}

export const JOBS: readonly JobSpec[] = Object.freeze([
  { name: 'customer_landing_to_trusted', output: 'customer_trusted', inputs: ['customer_landing'] },
  { name: 'accelerometer_landing_to_trusted_zone', output: 'accelerometer_trusted', inputs: ['accelerometer_landing', 'customer_trusted'] },
  { name: 'customer_trusted_to_curated', output: 'customer_curated', inputs: ['customer_trusted', 'accelerometer_trusted'] },
  { name: 'trainer_landing_to_trusted', output: 'step_trainer_trusted', inputs: ['step_trainer_landing', 'customer_curated'] },
  { name: 'trainer_trusted_to_curated', output: 'machine_learning_curated', inputs: ['step_trainer_trusted', 'accelerometer_trusted', 'customer_curated'] }
] satisfies JobSpec[])

/** Reports computed after the jobs: where every landing record went, and the cross-customer pairs. */
export const ACCOUNTING_QUERIES = Object.freeze({
  customer: 'accounting_customer',
  accelerometer: 'accounting_accelerometer',
  step_trainer: 'accounting_step_trainer'
} as const)
export const CROSS_CUSTOMER_QUERY = 'cross_customer_pairs'
