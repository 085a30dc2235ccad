// Failed logins, MQTT and HTTP alike: each is counted in /metrics by reason and transport, and
// logged, at most one line per reason every intervalMs with the count since the last line, so that
// a fleet with a wrong credential (or a scan) cannot flood the log. Identities are emails: a log line
// carries the first 12 hex digits of their SHA-256, enough to match a device's own report.
import { createHash } from 'node:crypto'
import type { Logger } from '../common/logger.js'
import type { Counter } from './metrics.js'

export const AUTH_FAILURE_REASONS = [
  /** no password and no client certificate (or no bearer token) */
  'credential_required',
  /** a credential no configured secret made, or malformed */
  'credential_not_valid',
  /** a good credential presented under another username, or beside another device's certificate */
  'identity_mismatch',
  /** the credential's generation is below the revocation list's */
  'revoked',
  /** a client certificate from another CA, or one that names no device (CN, OU) */
  'certificate_not_valid'
] as const
export type AuthFailureReason = typeof AUTH_FAILURE_REASONS[number]

export const hashIdentity = (identity: string): string => createHash('sha256').update(identity).digest('hex').slice(0, 12)

export interface AuthFailures {
  record: (reason: AuthFailureReason, transport: 'mqtt' | 'ws' | 'http', identity?: string) => void
}

export function createAuthFailures (options: { logger: Logger, counter: Counter, intervalMs?: number, now?: () => number }): AuthFailures {
  const intervalMs = options.intervalMs ?? 5_000
  const now = options.now ?? Date.now
  const logger = options.logger.child({ component: 'auth' })
  const last = new Map<AuthFailureReason, { at: number, count: number }>()
  return {
    record: (reason, transport, identity) => {
      options.counter.inc({ reason, transport })
      const t = now()
      const seen = last.get(reason)
      if (seen !== undefined && t - seen.at < intervalMs) { seen.count++; return }
      // the count covers this failure and those not logged since the reason's last line
      const count = (seen?.count ?? 0) + 1
      last.set(reason, { at: t, count: 0 })
      logger.warn({ reason, transport, count, ...(identity === undefined ? {} : { identity: hashIdentity(identity) }) }, 'login refused')
    }
  }
}
