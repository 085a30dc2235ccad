// Every error the gateway raises on purpose, by code. A bad reading is not an error: it is
// rejected, recorded in the ledger with its reason and counted in /metrics.
export const GATEWAY_ERRORS = Object.freeze({
  GW_ERR_CONFIG: 'invalid gateway configuration',
  GW_ERR_NO_SECRET: 'no gateway secret and not --allow-anonymous',
  GW_ERR_LISTEN: 'a listener could not start',
  GW_ERR_TLS: 'the TLS certificate, key or client CA cannot be read or used',
  GW_ERR_STATE: 'the gateway state (outbox) cannot be opened',
  GW_ERR_STATE_BUSY: 'another gateway holds the state folder',
  GW_ERR_LANDING: 'the landing folder is not writable',
  GW_ERR_SINK: 'the sink failed to publish a batch',
  GW_ERR_CLOSED: 'the gateway is shutting down',
  GW_ERR_PRIVACY_KEY: 'the state holds erasures and the privacy key is missing or another one',
  GW_ERR_PRIVACY_REQUEST: 'an erasure request is malformed, or the gateway refused it'
} as const)

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS

export class GatewayError extends Error {
  readonly code: GatewayErrorCode
  constructor (code: GatewayErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'GatewayError'
    this.code = code
  }
}
