// The client of a running gateway's erasure endpoint (the CLI's `stedi privacy erase --gateway`).
// Hashes travel, never emails: the caller hashes with identityHash under the shared privacy key.
import type { Tombstone } from '../../contracts/privacy.js'
import { GatewayError } from '../errors.js'
import type { ErasureReceipt } from './receipt.js'

export type { ErasureReceipt } from './receipt.js'

export interface ErasureRequest { keyFingerprint: string, tombstones: readonly Tombstone[] }

export const ERASURES_PATH = '/v1/privacy/erasures'

/** POSTs the tombstones to the gateway at url (its HTTP base URL) with a service credential; resolves with the receipt. */
export async function eraseOnGateway (url: string, credential: string, body: ErasureRequest, options: { timeoutMs?: number } = {}): Promise<ErasureReceipt> {
  let res: Response
  try {
    res = await fetch(new URL(ERASURES_PATH, url), {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 600_000)
    })
  } catch (err) {
    throw new GatewayError('GW_ERR_PRIVACY_REQUEST', `cannot reach the gateway at ${url}: ${(err as Error).message}`, { cause: err })
  }
  const text = await res.text()
  if (res.status !== 200) {
    let message = text
    try { message = (JSON.parse(text) as { message?: string, error?: string }).message ?? (JSON.parse(text) as { error?: string }).error ?? text } catch { /* the text as it came */ }
    throw Object.assign(new GatewayError('GW_ERR_PRIVACY_REQUEST', `the gateway at ${url} refused the erasure (${res.status}): ${message}`), { status: res.status })
  }
  return JSON.parse(text) as ErasureReceipt
}
