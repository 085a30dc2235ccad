// Erasure in a STOPPED gateway's state folder: takes the state lock (a running gateway holds it:
// GW_ERR_STATE_BUSY), opens the outbox as the gateway would (so that everything acknowledged is in
// the ledger before it is scrubbed), applies the tombstones, and lets go. Idempotent: the
// tombstones are stored first, and every step finds what is left to do, so a call killed at any
// point is finished by the next.
import type { Tombstone } from '../../contracts/privacy.js'
import { GATEWAY_DEFAULTS } from '../config.js'
import { GatewayError } from '../errors.js'
import { Outbox } from '../outbox/outbox.js'
import { acquireStateLock } from '../outbox/state-lock.js'
import { type ApplyHooks, applyErasure } from './apply.js'
import { openPrivacyGate } from './gate.js'
import type { ErasureReceipt } from './receipt.js'
import { tombstonesProblem } from './store.js'

export type { ErasureReceipt } from './receipt.js'

export async function eraseGatewayState (stateDir: string, tombstones: readonly Tombstone[], key: Uint8Array, hooks: ApplyHooks = {}): Promise<ErasureReceipt> {
  const problem = tombstonesProblem(tombstones)
  if (problem !== undefined) throw new GatewayError('GW_ERR_PRIVACY_REQUEST', problem)
  const lock = await acquireStateLock(stateDir)
  try {
    const gate = await openPrivacyGate(stateDir, key)
    try {
      const outbox = await Outbox.open(stateDir, { commitWindowMs: GATEWAY_DEFAULTS.commitWindowMs, maxRecords: GATEWAY_DEFAULTS.batch.maxRecords, maxBytes: GATEWAY_DEFAULTS.batch.maxBytes })
      try {
        return await applyErasure(gate, outbox, tombstones, hooks)
      } finally {
        await outbox.release()
      }
    } finally {
      await gate.close()
    }
  } finally {
    await lock.release()
  }
}
