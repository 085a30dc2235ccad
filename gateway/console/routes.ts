// The operator console's routes: the page at / and its numbers at GET /v1/console. Open to a
// loopback client without a credential (the operator on the gateway's machine); from elsewhere a
// service credential is required, as a bearer header or ?token= (so that a browser can open it).
// Behind a proxy on the same machine every client is loopback: put the proxy's own check in front.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { DeviceIdentity } from '../credentials.js'
import { CONSOLE_PAGE } from './page.js'
import type { ConsoleView } from './view.js'

export const CONSOLE_PATH = '/v1/console'

export const isLoopback = (address: string | undefined): boolean =>
  address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'))

export interface ConsoleRouteDeps {
  view: () => Promise<ConsoleView>
  /** the caller named by the request's credential (bearer header, or the token given), undefined without a valid one */
  caller: (req: FastifyRequest, token: string | undefined) => DeviceIdentity | undefined
}

const tokenOf = (req: FastifyRequest): string | undefined => {
  const token = (req.query as { token?: unknown } | undefined)?.token
  return typeof token === 'string' && token !== '' ? token : undefined
}

export function registerConsole (app: FastifyInstance, deps: ConsoleRouteDeps): void {
  /** undefined when the caller may see the console; else the refusal sent */
  const refuse = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (isLoopback(req.socket.remoteAddress)) return undefined
    const caller = deps.caller(req, tokenOf(req))
    if (caller?.kind === 'service') return undefined
    return await reply.code(caller === undefined ? 401 : 403).header('connection', 'close')
      .send({ error: 'the console needs a service credential from a client that is not on this machine (Authorization: Bearer ..., or ?token=; stedi devices token NAME --kind service)' })
  }
  app.get('/', { schema: { description: 'the operator console (HTML): loopback clients, or a service credential (?token=)', hide: false } }, async (req, reply) => {
    const refused = await refuse(req, reply)
    if (refused !== undefined) return refused
    return await reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:")
      .header('x-content-type-options', 'nosniff')
      .send(CONSOLE_PAGE)
  })
  app.get(CONSOLE_PATH, { schema: { description: 'every number of the operator console (JSON): loopback clients, or a service credential' } }, async (req, reply) => {
    const refused = await refuse(req, reply)
    if (refused !== undefined) return refused
    return await reply.header('cache-control', 'no-store').send(await deps.view())
  })
}
