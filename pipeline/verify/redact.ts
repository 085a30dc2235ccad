// Example rows as verify prints them: by default, no value that names or describes a customer.
// Emails and serial numbers become the short hashed id the privacy audit prints (keyed with the
// privacy key, else SHA-256), so that the two outputs can be matched; names, phone numbers,
// birthdays and quarantined lines (raw text, which may hold any of them) a keyed hash, or nothing
// without a key (their values are few enough to guess from an unkeyed hash).
import { createHmac } from 'node:crypto'
import { IDENTITY_COLUMNS } from '../../contracts/privacy.js'
import type { Row } from '../engine/duckdb.js'
import { shortId } from '../privacy/audit.js'

const IDENTITY_KIND = new Map(IDENTITY_COLUMNS)
const PERSONAL_COLUMNS = new Set(['customerName', 'phone', 'birthDay', 'raw'])

export function redactRow (row: Row, key: Uint8Array | undefined): Row {
  const out: Row = {}
  for (const [column, value] of Object.entries(row)) {
    const kind = IDENTITY_KIND.get(column)
    if (value === null || value === undefined || (kind === undefined && !PERSONAL_COLUMNS.has(column))) out[column] = value
    else if (kind !== undefined) out[column] = `${kind}:${shortId(kind, String(value), key)}`
    else out[column] = key === undefined ? 'hidden' : `hash:${createHmac('sha256', key).update(`${column}:${String(value)}`, 'utf8').digest('hex').slice(0, 12)}`
  }
  return out
}
