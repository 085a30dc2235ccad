// Every error the simulator and the load test raise on purpose, by code: each message says what to
// do, and `stedi` prints it as one line (exit 1; a remote target refused is a usage error, exit 2).
export const SIMULATOR_ERRORS = Object.freeze({
  SIM_ERR_CREDENTIALS_REFUSED: 'the gateway refused the credentials',
  SIM_ERR_UNREACHABLE: 'nothing answered at the gateway URL',
  SIM_ERR_REMOTE_TARGET: 'a target that is not on this machine, without --allow-remote',
  SIM_ERR_GATEWAY: 'the gateway answered with an unexpected status'
} as const)

export type SimulatorErrorCode = keyof typeof SIMULATOR_ERRORS

export class SimulatorError extends Error {
  readonly code: SimulatorErrorCode
  constructor (code: SimulatorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'SimulatorError'
    this.code = code
  }
}
