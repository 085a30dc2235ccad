// A gateway whose state holds tombstones must run with the key that made them: without it an
// erased customer's redelivered readings could not be recognised, and would land again.
import path from 'node:path'
import { keyFingerprint } from '../../contracts/privacy.js'
import { GatewayError } from '../errors.js'
import { PRIVACY_FILE, type PrivacyStore } from './store.js'

export async function checkPrivacyKey (store: PrivacyStore, stateDir: string, key: Uint8Array | undefined): Promise<void> {
  const stored = await store.fingerprint()
  if (stored === undefined) return
  const where = path.join(stateDir, PRIVACY_FILE)
  if (key === undefined) {
    throw new GatewayError('GW_ERR_PRIVACY_KEY', `the gateway state holds erasures (${where}) made with privacy key ${stored}: set STEDI_PRIVACY_KEY or STEDI_PRIVACY_KEY_FILE to that key`)
  }
  const given = keyFingerprint(key)
  if (given !== stored) {
    throw new GatewayError('GW_ERR_PRIVACY_KEY', `the privacy key given (fingerprint ${given}) is not the one the state's erasures were made with (${stored}, ${where}): set STEDI_PRIVACY_KEY or STEDI_PRIVACY_KEY_FILE to that key`)
  }
}
