// The command dispatcher of `stedi`. Each subcommand lives in cli/commands/; this file only
// dispatches, prints errors as one line, and maps them to exit codes.
import { packageVersion } from '../common/package-root.js'
import { type Command, UsageError } from './args.js'
import { suggestCommand } from './suggest.js'

// Commands load on use: `stedi pipeline run` should not pay for the broker, the web server and the
// AWS SDK, nor `stedi gateway` for DuckDB.
interface Entry { name: string, summary: string, load: () => Promise<Command> }

const COMMANDS: Entry[] = [
  { name: 'pipeline run', summary: 'promote landing -> trusted -> curated once and print the row-count table', load: async () => (await import('./commands/pipeline.js')).pipelineCommands[0] },
  { name: 'pipeline schedule', summary: 'run the pipeline every interval (logs one JSON line per run)', load: async () => (await import('./commands/pipeline.js')).pipelineCommands[1] },
  { name: 'pipeline verify', summary: 'recompute the tables from landing and compare every row with the current ones (exit 0: equal)', load: async () => (await import('./commands/pipeline-verify.js')).pipelineVerify },
  { name: 'pipeline history', summary: 'list recent runs with their status, counts and timings', load: async () => (await import('./commands/pipeline.js')).pipelineCommands[2] },
  { name: 'spark setup', summary: 'create the Python environment of the Spark jobs (scripts/requirements.txt)', load: async () => (await import('./commands/spark.js')).sparkSetup },
  { name: 'spark package', summary: 'write the files a Glue deployment of the Spark jobs uploads (scripts, stedi_spark.zip, sql)', load: async () => (await import('./commands/spark.js')).sparkPackage },
  { name: 's3', summary: 'S3: setup (httpfs extension, versitygw), serve (a local bucket), ddl (Athena tables of a lakehouse)', load: async () => (await import('./commands/s3.js')).s3 },
  { name: 'privacy erase', summary: 'erase customers from landing, lakehouse and gateway state, and keep tombstones', load: async () => (await import('./commands/privacy.js')).privacyErase },
  { name: 'privacy verify', summary: 'scan every stored byte for a customer\'s email and serial numbers (exit 0: none left)', load: async () => (await import('./commands/privacy.js')).privacyVerify },
  { name: 'privacy report', summary: 'where a customer\'s data is, by zone, table and file, and under which consent', load: async () => (await import('./commands/privacy.js')).privacyReport },
  { name: 'counts', summary: 'print the row counts of the current table versions', load: async () => (await import('./commands/read.js')).counts },
  { name: 'query', summary: 'read-only SQL over the zone tables by their seed names', load: async () => (await import('./commands/read.js')).query },
  { name: 'privacy audit', summary: 'prove that the machine-learning table holds only customers who consented to research', load: async () => (await import('./commands/privacy-audit.js')).privacyAudit },
  { name: 'gateway', summary: 'run the device gateway: MQTT broker and HTTP API writing landing files', load: async () => (await import('./commands/gateway.js')).gateway },
  { name: 'devices token', summary: 'print the credential of a device (or a service) for the gateway secret', load: async () => (await import('./commands/gateway.js')).devicesToken },
  { name: 'devices revoke', summary: 'revoke a device\'s credentials (every gateway following the revocation list disconnects it)', load: async () => (await import('./commands/gateway.js')).devicesRevoke },
  { name: 'simulate generate', summary: 'write a deterministic landing dataset (customers, phone and trainer readings)', load: async () => (await import('./commands/simulate.js')).simulateGenerate },
  { name: 'simulate fleet', summary: 'run a fleet of emulated trainers and phones against a gateway', load: async () => (await import('./commands/simulate.js')).simulateFleet },
  { name: 'simulate replay', summary: 'send a landing dataset through a gateway as its devices and the website would', load: async () => (await import('./commands/simulate.js')).simulateReplay },
  { name: 'load-test', summary: 'load scenarios against a gateway with exact loss reconciliation and an HTML report', load: async () => (await import('./commands/load-test.js')).loadTest },
  { name: 'start', summary: 'the platform in one process: gateway and scheduled promotion, data under ./var', load: async () => (await import('./commands/platform.js')).start },
  { name: 'demo', summary: 'gateway, a simulated fleet for 30 s, a promotion, and the row-count table', load: async () => (await import('./commands/platform.js')).demo }
]

/** The error types of the components, recognised by their coded shape rather than imported. */
function codedError (err: unknown): { code: string, message: string } | undefined {
  const e = err as { name?: unknown, code?: unknown, message?: unknown } | null
  return (e?.name === 'PipelineError' || e?.name === 'GatewayError' || e?.name === 'PrivacyKeyError' || e?.name === 'SimulatorError') && typeof e.code === 'string' ? { code: e.code, message: String(e.message) } : undefined
}

export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, busy: 3 })

function help (): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    'stedi: the STEDI edge-to-lakehouse platform',
    '',
    'usage: stedi <command> [options]     (stedi <command> --help for its options)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
  ].join('\n')
}

export async function main (argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    console.log(help())
    return argv.length === 0 ? EXIT.usage : EXIT.ok
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    console.log(`stedi ${packageVersion()}`)
    return EXIT.ok
  }
  // the longest command name that prefixes argv wins: "pipeline run" before "pipeline"
  const command = COMMANDS
    .filter((c) => { const words = c.name.split(' '); return words.every((w, i) => argv[i] === w) })
    .sort((a, b) => b.name.length - a.name.length)[0]
  if (command === undefined) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${argv[0]} `))
    if (group.length > 0 && (argv.length === 1 || argv[1] === '--help')) {
      console.log(group.map((c) => `  ${c.name}  ${c.summary}`).join('\n'))
      return argv.length === 1 ? EXIT.usage : EXIT.ok
    }
    const groups = [...new Set(COMMANDS.map((c) => c.name.split(' ')[0]))]
    const suggestion = suggestCommand(argv, COMMANDS.map((c) => c.name)) ?? suggestCommand(argv, groups)
    console.error(`stedi: unknown command "${argv.slice(0, 2).join(' ')}"; ` +
      (suggestion !== undefined ? `did you mean: stedi ${suggestion}? ` : '') + '(stedi --help lists the commands)')
    return EXIT.usage
  }
  try {
    return await (await command.load()).run(argv.slice(command.name.split(' ').length))
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`stedi ${command.name}: ${err.message} (stedi ${command.name} --help)`)
      return EXIT.usage
    }
    const coded = codedError(err)
    if (coded !== undefined) {
      console.error(`stedi ${command.name}: ${coded.message} [${coded.code}]`)
      if (coded.code === 'SIM_ERR_REMOTE_TARGET') return EXIT.usage
      return coded.code === 'PIPE_ERR_BUSY' || coded.code === 'GW_ERR_STATE_BUSY' ? EXIT.busy : EXIT.failed
    }
    // an error nobody coded still ends in one line; the stack is for whoever asks for it
    const message = err instanceof Error ? err.message : String(err)
    console.error(`stedi ${command.name}: unexpected error: ${message.split('\n')[0]} (STEDI_DEBUG=1 prints the stack trace)`)
    if (process.env.STEDI_DEBUG === '1') console.error((err as Error).stack)
    return EXIT.failed
  }
}

