// Erasure's reach into gateways: a stopped gateway's state folder (--gateway-state), or a running
// gateway through its HTTP API (--gateway URL: it owns its state while it runs). Tombstones travel
// as keyed hashes with the key's fingerprint, never as emails.
import { type Tombstone, keyFingerprint } from '../../contracts/privacy.js'
import { issueCredential } from '../../gateway/credentials.js'
import { eraseOnGateway } from '../../gateway/privacy/client.js'
import { eraseGatewayState } from '../../gateway/privacy/erase-state.js'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { UsageError } from '../args.js'
import { findGatewaySecret } from '../gateway-secret.js'

export const GATEWAY_OPTIONS = {
  gateway: { type: 'string', multiple: true },
  'gateway-token': { type: 'string' }
} as const

export const GATEWAY_USAGE = `  --gateway URL             a running gateway's HTTP address (repeatable: every gateway of a site);
                            its erasure endpoint takes a service credential: --gateway-token,
                            STEDI_SERVICE_TOKEN, or one made from STEDI_GATEWAY_SECRET
                            (or var/gateway-secret, made by stedi start)
  --gateway-token TOKEN     a service credential (stedi devices token NAME --kind service)`

/** True when the erasure reaches gateways: the landing is then checked once more afterwards. */
export const reachesGateways = (values: { 'gateway-state'?: string[], gateway?: string[] }): boolean =>
  (values['gateway-state'] ?? []).length > 0 || (values.gateway ?? []).length > 0

async function serviceCredential (values: { 'gateway-token'?: string }, env: NodeJS.ProcessEnv): Promise<string> {
  const token = values['gateway-token'] ?? env.STEDI_SERVICE_TOKEN
  if (token !== undefined && token !== '') return token
  // the secret of STEDI_GATEWAY_SECRET, or the one `stedi start` keeps in var/ (an error says where it looked)
  const { secret } = await findGatewaySecret('var', env)
  return issueCredential(secret, 'service', 'privacy-erasure')
}

/** A mistyped folder must not become a new, empty gateway state erased "successfully": checked before anything is erased. */
export function checkGatewayStates (values: { 'gateway-state'?: string[] }): void {
  for (const dir of values['gateway-state'] ?? []) {
    if (!existsSync(path.join(dir, 'gateway.sqlite'))) throw new UsageError(`--gateway-state ${dir} is not a gateway's state folder (it has no gateway.sqlite)`)
  }
}

export async function eraseGateways (
  values: { 'gateway-state'?: string[], gateway?: string[], 'gateway-token'?: string }, key: Uint8Array, tombstones: Tombstone[], env = process.env
): Promise<Array<Record<string, unknown>>> {
  const receipts: Array<Record<string, unknown>> = []
  checkGatewayStates(values)
  for (const dir of values['gateway-state'] ?? []) {
    receipts.push({ place: `gateway-state ${dir}`, receipt: await eraseGatewayState(dir, tombstones, key) })
  }
  const urls = values.gateway ?? []
  if (urls.length > 0) {
    const credential = await serviceCredential(values, env)
    for (const url of urls) {
      receipts.push({ place: `gateway ${url}`, receipt: await eraseOnGateway(url, credential, { keyFingerprint: keyFingerprint(key), tombstones }) })
    }
  }
  return receipts
}
