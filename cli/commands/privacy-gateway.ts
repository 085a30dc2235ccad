// Erasure's reach into gateways: a stopped gateway's state folder, or a running gateway through its
// HTTP API (it owns its state while it runs). The tombstones travel as keyed hashes.
import type { Tombstone } from '../../contracts/privacy.js'

export const GATEWAY_OPTIONS = {} as const
export const GATEWAY_USAGE = ''

export async function eraseGateways (values: { 'gateway-state'?: string[] }, _key: Uint8Array, _tombstones: Tombstone[]): Promise<Array<Record<string, unknown>>> {
  if ((values['gateway-state'] ?? []).length > 0) throw new Error('gateway erasure is not wired yet')
  return []
}
