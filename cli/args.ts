// Command-line parsing shared by the subcommands: node's parseArgs, strict, with errors that say
// which flag was wrong and how to get help.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { DurationError, parseDuration } from '../common/duration.js'
import { LOG_LEVELS } from '../common/logger.js'

export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export interface Command {
  name: string
  usage: string
  run: (argv: string[]) => Promise<number>
}

type Options = NonNullable<ParseArgsConfig['options']>

export function parse<O extends Options> (argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function oneOf<T extends string> (flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got ${value})`)
  return value as T
}

export function wholeNumber (flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number (got ${value})`)
  return n
}

/** A duration flag (30s, 5m, ...): a bare number is refused with the unit to add, never read as ms. */
export function durationFlag (flag: string, value: string | undefined, example = '30s, 5m or 1h'): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseDuration(value)
  } catch (err) {
    if (err instanceof DurationError) {
      throw new UsageError(err.code === 'DURATION_ERR_NO_UNIT' ? `${flag} ${err.message}` : `${flag} takes a duration such as ${example} (got ${value})`)
    }
    throw err
  }
}

/** The level of the long-running commands' logs, from STEDI_LOG_LEVEL (default info). */
export function logLevelFromEnv (env: NodeJS.ProcessEnv = process.env): string {
  const level = env.STEDI_LOG_LEVEL ?? ''
  if (level === '') return 'info'
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`STEDI_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got ${level})`)
  return level
}
