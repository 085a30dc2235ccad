// Failed logins, MQTT and HTTP alike: each is counted in /metrics by reason and transport, and
// logged, at most one line per reason every intervalMs with the count since the last line, so that
// a fleet with a wrong credential (or a scan) cannot flood the log. Identities are emails: a log line
// carries 12 hex digits of a keyed hash (HMAC-SHA256 under the gateway secret), enough to match a
// device's own report, and not reversible from a list of emails as a plain SHA-256 would be.
import { createHash, createHmac } from 'node:crypto'
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

/** The identity's name in failed-login lines: HMAC-SHA256(key, "login:" + identity), first 12 hex (unkeyed: SHA-256, for tests). */
export const hashIdentity = (identity: string, key?: string | Uint8Array): string =>
  (key === undefined ? createHash('sha256').update(identity) : createHmac('sha256', key).update(`login:${identity}`)).digest('hex').slice(0, 12)

export interface AuthFailures {
  record: (reason: AuthFailureReason, transport: 'mqtt' | 'ws' | 'http', identity?: string) => void
}

export function createAuthFailures (options: { logger: Logger, counter: Counter, intervalMs?: number, now?: () => number, key?: string | Uint8Array }): AuthFailures {
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
      logger.warn({ reason, transport, count, ...(identity === undefined ? {} : { identity: hashIdentity(identity, options.key) }) }, 'login refused')
    }
  }
}
