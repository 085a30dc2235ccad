// The one root logger (pino, NDJSON). Components take children with their bindings:
// logger.child({ component: 'scheduler' }). Log counts and outcomes, never each reading.
import { pino, type Logger } from 'pino'

export type { Logger }

/** pino's levels, most to least severe; silent logs nothing */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export function createLogger (options: { level?: string, destination?: NodeJS.WritableStream } = {}): Logger {
  return pino({ level: options.level ?? 'info', base: { pid: process.pid } },
    (options.destination ?? process.stdout) as pino.DestinationStream)
}
