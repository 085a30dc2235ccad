// Where the commands that make credentials find the gateway's secret: STEDI_GATEWAY_SECRET, or the
// one `stedi start` made and keeps in <var>/gateway-secret. Either is held to the gateway's own rule
// (gateway/credentials.ts secretProblem): a credential made under a secret the gateway refuses
// would never be accepted.
import fs from 'node:fs/promises'
import path from 'node:path'
import { secretProblem } from '../gateway/credentials.js'
import { GatewayError } from '../gateway/errors.js'

/** The file `stedi start` keeps its secret in, under its --var folder. */
export const SECRET_FILE_NAME = 'gateway-secret'

/** The gateway's secrets from the environment: the current one first, the previous one during a rotation. */
export function secretsFromEnv (env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.STEDI_GATEWAY_SECRET, env.STEDI_GATEWAY_SECRET_PREVIOUS].filter((s): s is string => s !== undefined && s !== '')
}

/** The secret that issues credentials: the environment's, else <varDir>/gateway-secret; an error says where it looked. */
export async function findGatewaySecret (varDir = 'var', env: NodeJS.ProcessEnv = process.env): Promise<{ secret: string, from: string }> {
  const [fromEnv] = secretsFromEnv(env)
  const file = path.resolve(varDir, SECRET_FILE_NAME)
  const found = fromEnv !== undefined
    ? { secret: fromEnv, from: 'STEDI_GATEWAY_SECRET' }
    : await fs.readFile(file, 'utf8').then((s) => ({ secret: s.trim(), from: file }), () => undefined)
  if (found === undefined) {
    throw new GatewayError('GW_ERR_NO_SECRET', `no gateway secret: set STEDI_GATEWAY_SECRET to the gateway's secret, or run where \`stedi start\` keeps one (${file} does not exist)`)
  }
  const problem = secretProblem(found.secret)
  if (problem !== undefined) throw new GatewayError('GW_ERR_CONFIG', `${found.from}: ${problem}; the gateway would refuse it, and every credential made with it`)
  return found
}
