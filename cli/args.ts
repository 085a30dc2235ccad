// Command-line parsing shared by the subcommands: node's parseArgs, strict, with errors that say
// which flag was wrong and how to get help.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { parseDurationMs } from '../common/duration.js'

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

export function durationFlag (flag: string, value: string | undefined, example = '30s or 2m'): number | undefined {
  if (value === undefined) return undefined
  const ms = parseDurationMs(value)
  if (ms === undefined) throw new UsageError(`${flag} takes a duration such as ${example} (got ${value})`)
  return ms
}
