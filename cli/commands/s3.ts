// `stedi s3 setup` (what S3 needs, installed into .cache/: DuckDB's httpfs extension and the
// versitygw server), `stedi s3 serve` (a local bucket for a user) and `stedi s3 ddl`. The S3 flags
// the other commands share are in s3-flags.ts (this module loads the AWS SDK).
import crypto from 'node:crypto'
import path from 'node:path'
import { CreateBucketCommand } from '@aws-sdk/client-s3'
import { createS3Client, s3ConnectionFromEnv } from '../../common/s3-connection.js'
import { parseLocation } from '../../common/storage-location.js'
import { VERSITYGW_VERSION, freePort, installVersitygw, installedVersitygw, startVersitygw, versitygwBinary } from '../../common/versitygw.js'
import { HTTPFS_WHEEL, ensureHttpfs, httpfsPath } from '../../pipeline/s3/httpfs.js'
import { loadSqlScript } from '../../pipeline/sql.js'
import { type Command, UsageError, parse, wholeNumber } from '../args.js'

export const s3Setup: Command = {
  name: 's3 setup',
  usage: `stedi s3 setup [--check] [--quiet]

Installs what S3 locations and their tests need into .cache/ in the package, unless installed:
  - DuckDB's httpfs extension: ${HTTPFS_WHEEL} from PyPI (python3 -m pip download; the wheel's
    SHA-256 is pinned), into .cache/duckdb-extensions
  - versitygw ${VERSITYGW_VERSION}, a local S3 server (go install, about 2 minutes), into .cache/bin

  --check     install nothing: exit 1 naming what is missing
  --quiet     print nothing when all is installed`,
  run: async (argv) => {
    const { values } = parse(argv, { check: { type: 'boolean' }, quiet: { type: 'boolean' } })
    if (values.help === true) { console.log(s3Setup.usage); return 0 }
    const say = (line: string): void => { if (values.quiet !== true) console.log(line) }
    const missing: string[] = []
    if (values.check === true) {
      if (!(await import('node:fs')).existsSync(httpfsPath())) missing.push(`DuckDB's httpfs extension (${httpfsPath()})`)
      if (installedVersitygw() !== VERSITYGW_VERSION) missing.push(`versitygw ${VERSITYGW_VERSION} (${versitygwBinary()})`)
      if (missing.length > 0) {
        console.error(`stedi s3 setup: missing ${missing.join(' and ')}: run \`npx stedi s3 setup\` (npm run setup:s3)`)
        return 1
      }
      say('s3 setup: all installed')
      return 0
    }
    const httpfs = ensureHttpfs()
    say(httpfs.installed ? `s3 setup: installed ${HTTPFS_WHEEL} at ${httpfs.path}` : `s3 setup: httpfs extension present (${httpfs.path})`)
    if (installedVersitygw() === VERSITYGW_VERSION) {
      say(`s3 setup: versitygw ${VERSITYGW_VERSION} present (${versitygwBinary()})`)
    } else {
      const started = performance.now()
      console.log(`s3 setup: installing versitygw ${VERSITYGW_VERSION} with go install (about 2 minutes the first time)`)
      try {
        installVersitygw()
      } catch (err) {
        console.error(`stedi s3 setup: ${(err as Error).message}`)
        return 1
      }
      console.log(`s3 setup: versitygw ${VERSITYGW_VERSION} at ${versitygwBinary()} in ${Math.round((performance.now() - started) / 1000)} s`)
    }
    return 0
  }
}

export const s3Serve: Command = {
  name: 's3 serve',
  usage: `stedi s3 serve --dir DIR [--port N] [--bucket NAME] [--host HOST]

A local S3 server (versitygw ${VERSITYGW_VERSION}, installed by \`stedi s3 setup\`) keeping its buckets as
folders in DIR, with one bucket made for you. Prints the endpoint and the environment to use, then
runs until SIGINT or SIGTERM. Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when set
(so that a restart keeps them), otherwise new random ones, printed.

  --dir DIR        where the objects live (required)
  --port N         (default 7070; 0 = any free port)
  --bucket NAME    the bucket to make (default stedi)
  --host HOST      address to listen on (default 127.0.0.1)`,
  run: async (argv) => {
    const { values } = parse(argv, { dir: { type: 'string' }, port: { type: 'string' }, bucket: { type: 'string' }, host: { type: 'string' } })
    if (values.help === true) { console.log(s3Serve.usage); return 0 }
    if (values.dir === undefined) throw new UsageError('--dir DIR is required')
    const bucket = values.bucket ?? 'stedi'
    try { parseLocation(`s3://${bucket}`, '--bucket') } catch (err) { throw new UsageError((err as Error).message) }
    const host = values.host ?? '127.0.0.1'
    let port = wholeNumber('--port', values.port) ?? 7070
    if (port === 0) port = await freePort(host)
    const given = (name: string): string | undefined => (process.env[name] ?? '') === '' ? undefined : process.env[name]
    const accessKey = given('AWS_ACCESS_KEY_ID') ?? `stedi${crypto.randomBytes(6).toString('hex')}`
    const secretKey = given('AWS_SECRET_ACCESS_KEY') ?? crypto.randomBytes(24).toString('base64url')
    let server
    try {
      server = await startVersitygw({ dir: path.resolve(values.dir), host, port, accessKey, secretKey })
    } catch (err) {
      console.error(`stedi s3 serve: ${(err as Error).message}`)
      return 1
    }
    try {
      const connection = s3ConnectionFromEnv({ AWS_REGION: process.env.AWS_REGION }, server.endpoint)
      const client = createS3Client(connection, { accessKeyId: accessKey, secretAccessKey: secretKey })
      await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: { name?: string }) => {
        if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err
      })
      client.destroy()
      console.log([
        `s3 serve: versitygw ${VERSITYGW_VERSION} at ${server.endpoint}, objects in ${path.resolve(values.dir)}, bucket s3://${bucket}`,
        `export AWS_ENDPOINT_URL_S3=${server.endpoint} AWS_ACCESS_KEY_ID=${accessKey} AWS_SECRET_ACCESS_KEY=${secretKey} AWS_REGION=${connection.region}`,
        `e.g. npx stedi pipeline run --landing s3://${bucket}/landing --lakehouse s3://${bucket}/lakehouse`
      ].join('\n'))
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
        server.child.once('exit', resolve)
      })
      return server.child.exitCode === null || server.child.exitCode === 0 ? 0 : 1
    } finally {
      await server.stop()
    }
  }
}

export const s3Ddl: Command = {
  name: 's3 ddl',
  usage: `stedi s3 ddl --lakehouse s3://BUCKET/PREFIX

Prints the Athena / Glue Data Catalog DDL of every zone table of that lakehouse (sql/athena_lakehouse.sql
with the location filled in), to run in Athena's query editor.`,
  run: async (argv) => {
    const { values } = parse(argv, { lakehouse: { type: 'string' } })
    if (values.help === true) { console.log(s3Ddl.usage); return 0 }
    if (values.lakehouse === undefined) throw new UsageError('--lakehouse s3://BUCKET/PREFIX is required')
    let location
    try { location = parseLocation(values.lakehouse, '--lakehouse') } catch (err) { throw new UsageError((err as Error).message) }
    if (location.kind !== 's3') throw new UsageError('--lakehouse must be an s3:// location: Athena reads S3')
    console.log(loadSqlScript('athena_lakehouse').replaceAll('${LAKEHOUSE}', location.uri).trimEnd())
    return 0
  }
}

/** `stedi s3 setup|serve|ddl`: one entry in the command list, three subcommands. */
export const s3: Command = {
  name: 's3',
  usage: `stedi s3 setup|serve|ddl [options]

  setup     install DuckDB's httpfs extension and the versitygw server into .cache/ (stedi s3 setup --help)
  serve     a local S3 server with a bucket, for s3:// locations (stedi s3 serve --help)
  ddl       the Athena / Glue DDL of a lakehouse's zone tables (stedi s3 ddl --help)`,
  run: async (argv) => {
    const sub = { setup: s3Setup, serve: s3Serve, ddl: s3Ddl }[argv[0] ?? '']
    if (sub !== undefined) return await sub.run(argv.slice(1))
    if (argv[0] === '--help' || argv[0] === '-h') { console.log(s3.usage); return 0 }
    throw new UsageError(`give a subcommand: setup, serve or ddl${argv[0] === undefined ? '' : ` (got ${argv[0]})`}`)
  }
}
