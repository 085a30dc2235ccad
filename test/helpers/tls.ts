// A certificate authority of the test's own, made with openssl in a temporary folder: the server's
// certificate for 127.0.0.1 and localhost, client certificates (CN = identity, OU = kind), and a
// second CA the gateway does not trust.
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { tempDir } from './index.js'

const run = promisify(execFile)

export interface TestPki {
  dir: string
  /** the CA that signs the server and the trusted clients (PEM file) */
  ca: string
  serverCert: string
  serverKey: string
  /** a client certificate signed by `ca` for (identity, kind): { cert, key } files */
  client: (identity: string, kind: string) => Promise<{ cert: string, key: string }>
  /** a client certificate for the same kind of device, signed by another CA */
  stranger: (identity: string, kind: string) => Promise<{ cert: string, key: string }>
}

async function makeCa (dir: string, name: string): Promise<{ cert: string, key: string }> {
  const cert = path.join(dir, `${name}.pem`)
  const key = path.join(dir, `${name}.key`)
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-keyout', key, '-out', cert])
  return { cert, key }
}

async function sign (dir: string, ca: { cert: string, key: string }, name: string, subject: string, ext: string): Promise<{ cert: string, key: string }> {
  const key = path.join(dir, `${name}.key`)
  const csr = path.join(dir, `${name}.csr`)
  const cert = path.join(dir, `${name}.pem`)
  const extFile = path.join(dir, `${name}.ext`)
  await fs.writeFile(extFile, ext)
  await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-keyout', key, '-out', csr])
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', extFile, '-out', cert])
  return { cert, key }
}

export async function makeTestPki (t: { teardown: (fn: () => Promise<void> | void) => void }): Promise<TestPki> {
  const dir = await tempDir(t)
  const ca = await makeCa(dir, 'ca')
  const other = await makeCa(dir, 'other-ca')
  const server = await sign(dir, ca, 'server', '/CN=localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  let n = 0
  const client = (signer: { cert: string, key: string }) => async (identity: string, kind: string) =>
    await sign(dir, signer, `client-${n++}`, `/CN=${identity}/OU=${kind}`, 'extendedKeyUsage=clientAuth\n')
  return { dir, ca: ca.cert, serverCert: server.cert, serverKey: server.key, client: client(ca), stranger: client(other) }
}
