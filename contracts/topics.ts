// MQTT topics and device kinds: what devices, the gateway and the simulator agree on.
//   stedi/v1/step-trainer/{serialNumber}/readings
//   stedi/v1/accelerometer/{email}/readings
import type { DatasetName } from './datasets.js'

export const DEVICE_KINDS = ['step-trainer', 'accelerometer'] as const
export type DeviceKind = (typeof DEVICE_KINDS)[number]

export const DATASET_OF_KIND: Readonly<Record<DeviceKind, Exclude<DatasetName, 'customer'>>> = Object.freeze({
  'step-trainer': 'step_trainer',
  accelerometer: 'accelerometer'
})

/** The landing field that carries the device's identity, filled from the topic, never from the payload. */
export const IDENTITY_FIELD: Readonly<Record<DeviceKind, string>> = Object.freeze({
  'step-trainer': 'serialNumber',
  accelerometer: 'user'
})

export const TOPIC_PREFIX = 'stedi/v1'

export function readingsTopic (kind: DeviceKind, identity: string): string {
  return `${TOPIC_PREFIX}/${kind}/${identity}/readings`
}

/** A device's own subtree, the only place it may subscribe. */
export function deviceTopicFilter (kind: DeviceKind, identity: string): string {
  return `${TOPIC_PREFIX}/${kind}/${identity}/#`
}

export function parseReadingsTopic (topic: string): { kind: DeviceKind, identity: string } | undefined {
  const parts = topic.split('/')
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_PREFIX || parts[4] !== 'readings') return undefined
  const kind = parts[2] as DeviceKind
  if (!DEVICE_KINDS.includes(kind) || parts[3] === '') return undefined
  return { kind, identity: parts[3] }
}

/** Identities are topic levels: no MQTT wildcards or separators, and a sane length. */
export function isValidIdentity (identity: string): boolean {
  return identity.length > 0 && identity.length <= 254 && !/[/#+\u0000-\u001f]/.test(identity)
}
