// The pipeline's options: one schema with defaults and units, validated once and frozen.
// The defaults reproduce the seed's tables.
import os from 'node:os'
import { CONSENT_POLICIES, type ConsentPolicy, ML_JOINS, type MlJoin } from '../contracts/lakehouse.js'
import type { S3ConnectionConfig } from '../common/s3-connection.js'
import { LocationError, type StorageLocation, locationText, parseLocation } from '../common/storage-location.js'
import { PipelineError } from './errors.js'
import { DEFAULT_LEASE_MS } from './s3/lease.js'

export const PAUSE_POINTS = ['ingest', 'jobs', 'commit'] as const
export type PausePoint = (typeof PAUSE_POINTS)[number]

export interface PipelineConfig {
  /** the landing root as text: an absolute folder, or s3://bucket/prefix */
  readonly landingDir: string
  readonly lakehouseDir: string
  readonly landing: StorageLocation
  readonly lakehouse: StorageLocation
  /** how to reach S3, for s3:// locations (the AWS conventions, resolved by the caller) */
  readonly s3?: S3ConnectionConfig
  /** an S3 lakehouse's lease: a killed run's lakehouse is free again after this (ms) */
  readonly leaseMs: number
  /** seed: consent read from the customer's latest record; strict: also drop readings taken before it */
  readonly consentPolicy: ConsentPolicy
  /** seed: trainer and phone readings joined on timestamp alone; same-customer: also on the owner */
  readonly mlJoin: MlJoin
  /** re-read every landing file and rebuild every table */
  readonly fullRefresh: boolean
  /** how long to wait for another run's lock; 0 = fail at once */
  readonly waitMs: number
  /** DuckDB worker threads (default: the machine's cores) */
  readonly threads: number
  /** DuckDB memory limit in MB; larger joins spill to <lakehouse>/_state/tmp */
  readonly memoryLimitMb: number
  /** table versions kept after they stop being current, for readers that started before (count) */
  readonly keepVersions: number
  /**
   * the privacy key (common/privacy-key.ts): needed once the lakehouse holds tombstones, to know
   * which new landing records they cover
   */
  readonly privacyKey?: Uint8Array
  /**
   * Retention: after a successful run, landing files already read by a committed run and last
   * modified longer ago than this are deleted (ms; undefined = landing is kept for ever)
   */
  readonly retainLandingMs?: number
  /**
   * The instant consent is judged at (epoch ms; pipeline_options.run_started_ms): a research consent
   * dated later is not given yet. Default: this run's start. `stedi pipeline verify` recomputes with
   * the start of the run that built the tables it checks.
   */
  readonly runStartedMs?: number
  /**
   * Test hook: stop after a phase and wait for a signal, so that tests can kill a run at a known
   * point (ingest: parts written; jobs: versions written; commit: committed, not yet published).
   */
  readonly pauseAfter?: PausePoint
}

export type PipelineConfigInput = Partial<Omit<PipelineConfig, 'landing' | 'lakehouse'>> & Pick<PipelineConfig, 'landingDir' | 'lakehouseDir'>

export function createPipelineConfig (input: PipelineConfigInput): PipelineConfig {
  const landing = location(input.landingDir, '--landing')
  const lakehouse = location(input.lakehouseDir, '--lakehouse')
  const config: PipelineConfig = {
    landingDir: locationText(landing),
    lakehouseDir: locationText(lakehouse),
    landing,
    lakehouse,
    s3: input.s3,
    leaseMs: input.leaseMs ?? DEFAULT_LEASE_MS,
    consentPolicy: input.consentPolicy ?? 'seed',
    mlJoin: input.mlJoin ?? 'seed',
    fullRefresh: input.fullRefresh ?? false,
    waitMs: input.waitMs ?? 0,
    threads: input.threads ?? Math.max(1, os.availableParallelism()),
    memoryLimitMb: input.memoryLimitMb ?? 600,
    keepVersions: input.keepVersions ?? 2,
    privacyKey: input.privacyKey,
    retainLandingMs: input.retainLandingMs,
    runStartedMs: input.runStartedMs,
    pauseAfter: input.pauseAfter
  }
  if (!CONSENT_POLICIES.includes(config.consentPolicy)) bad(`--consent-policy must be one of ${CONSENT_POLICIES.join(', ')}, not ${String(config.consentPolicy)}`)
  if (!ML_JOINS.includes(config.mlJoin)) bad(`--ml-join must be one of ${ML_JOINS.join(', ')}, not ${String(config.mlJoin)}`)
  if (!Number.isInteger(config.threads) || config.threads < 1) bad('threads must be a whole number of at least 1')
  if (!Number.isInteger(config.memoryLimitMb) || config.memoryLimitMb < 64) bad('memory limit must be at least 64 MB')
  if (!Number.isInteger(config.keepVersions) || config.keepVersions < 0) bad('keepVersions must be 0 or more')
  if (!Number.isFinite(config.waitMs) || config.waitMs < 0) bad('wait must be 0 or more milliseconds')
  if (config.retainLandingMs !== undefined && (!Number.isFinite(config.retainLandingMs) || config.retainLandingMs <= 0)) bad('--retain-landing must be a positive duration such as 30d')
  if (config.runStartedMs !== undefined && !Number.isSafeInteger(config.runStartedMs)) bad('runStartedMs must be a whole number of epoch milliseconds')
  if (config.pauseAfter !== undefined && !PAUSE_POINTS.includes(config.pauseAfter)) bad(`pauseAfter must be one of ${PAUSE_POINTS.join(', ')}`)
  if (config.landingDir === config.lakehouseDir) bad('--landing and --lakehouse must be different folders')
  if ((landing.kind === 's3' || lakehouse.kind === 's3') && config.s3 === undefined) bad('s3:// locations need the S3 connection settings')
  if (!Number.isInteger(config.leaseMs) || config.leaseMs < 1000) bad('the lease must last at least 1000 ms')
  return Object.freeze(config)
}

function location (value: string, flag: string): StorageLocation {
  try {
    return parseLocation(value, flag)
  } catch (err) {
    if (err instanceof LocationError) bad(err.message)
    throw err
  }
}

function bad (message: string): never {
  throw new PipelineError('PIPE_ERR_BAD_OPTION', message)
}

/** The options a table version depends on: a change of these rebuilds trusted and curated. */
export function transformOptions (config: PipelineConfig): { consentPolicy: ConsentPolicy, mlJoin: MlJoin } {
  return { consentPolicy: config.consentPolicy, mlJoin: config.mlJoin }
}
