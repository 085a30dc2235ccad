// The lakehouse layout: which zone tables exist, under which names, in which folders.
// The pipeline writes it; `stedi counts`/`stedi query` and the Spark jobs read the same names.
import type { DatasetName } from './datasets.js'

export const LAKEHOUSE_FORMAT_VERSION = 1

export type Zone = 'landing' | 'trusted' | 'curated' | 'quarantine'

export interface TableSpec {
  readonly name: string
  readonly zone: Zone
  /** landing and quarantine tables grow by appended parts; the others are rebuilt whole each run */
  readonly appendOnly: boolean
  readonly dataset?: DatasetName
}

const t = (name: string, zone: Zone, dataset?: DatasetName): TableSpec =>
  Object.freeze({ name, zone, appendOnly: zone === 'landing' || zone === 'quarantine', dataset })

export const TABLES = Object.freeze({
  customer_landing: t('customer_landing', 'landing', 'customer'),
  accelerometer_landing: t('accelerometer_landing', 'landing', 'accelerometer'),
  step_trainer_landing: t('step_trainer_landing', 'landing', 'step_trainer'),
  customer_quarantine: t('customer_quarantine', 'quarantine', 'customer'),
  accelerometer_quarantine: t('accelerometer_quarantine', 'quarantine', 'accelerometer'),
  step_trainer_quarantine: t('step_trainer_quarantine', 'quarantine', 'step_trainer'),
  customer_trusted: t('customer_trusted', 'trusted', 'customer'),
  accelerometer_trusted: t('accelerometer_trusted', 'trusted', 'accelerometer'),
  step_trainer_trusted: t('step_trainer_trusted', 'trusted', 'step_trainer'),
  customer_curated: t('customer_curated', 'curated', 'customer'),
  machine_learning_curated: t('machine_learning_curated', 'curated')
} satisfies Record<string, TableSpec>)

export type TableName = keyof typeof TABLES
export const TABLE_NAMES = Object.freeze(Object.keys(TABLES)) as readonly TableName[]

export const landingTableOf = (dataset: DatasetName): TableName => `${dataset}_landing` as TableName
export const quarantineTableOf = (dataset: DatasetName): TableName => `${dataset}_quarantine` as TableName

/**
 * Lineage columns a landing table carries beside the seed's fields (never copied to trusted): the
 * run that read the record and its landing file; customer records also keep their line, because
 * "the later record wins" needs arrival order inside a file.
 */
export function lineageColumns (dataset: DatasetName): ReadonlyArray<[string, 'BIGINT' | 'VARCHAR']> {
  return dataset === 'customer'
    ? [['_run', 'BIGINT'], ['_file', 'VARCHAR'], ['_line', 'BIGINT']]
    : [['_run', 'BIGINT'], ['_file', 'VARCHAR']]
}

/** Columns of every quarantine table: the run, where the line was, why, and the line itself. */
export const QUARANTINE_COLUMNS: ReadonlyArray<[string, 'BIGINT' | 'VARCHAR']> = Object.freeze([
  ['_run', 'BIGINT'], ['_file', 'VARCHAR'], ['_line', 'BIGINT'], ['reason', 'VARCHAR'], ['raw', 'VARCHAR']
])

/** Folder, relative to the lakehouse root, of a table's visible files. */
export const tableDir = (table: TableName): string => `${TABLES[table].zone}/${table}`

/** Pipeline state (SQLite); the leading underscore hides it from Spark, Athena and pyarrow. */
export const STATE_DIR = '_state'
export const STATE_DB = '_state/pipeline.sqlite'

export const CONSENT_POLICIES = ['seed', 'strict'] as const
export type ConsentPolicy = (typeof CONSENT_POLICIES)[number]
export const ML_JOINS = ['seed', 'same-customer'] as const
export type MlJoin = (typeof ML_JOINS)[number]
