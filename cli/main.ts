// The command dispatcher of `stedi`. Each subcommand lives in cli/commands/; this file only
// dispatches, prints errors as one line, and maps them to exit codes.
import { isPipelineError } from '../pipeline/errors.js'
import { type Command, UsageError } from './args.js'
import { pipelineCommands } from './commands/pipeline.js'
import { counts, query } from './commands/read.js'
import { demo } from './commands/demo.js'
import { simulateGenerate } from './commands/simulate.js'
import { devicesToken, gateway } from './commands/gateway.js'
import { GatewayError } from '../gateway/errors.js'

const COMMANDS: Command[] = [...pipelineCommands, counts, query, gateway, devicesToken, simulateGenerate, demo]

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
    console.error(`stedi: unknown command "${argv.slice(0, 2).join(' ')}"; stedi --help lists the commands`)
    return EXIT.usage
  }
  try {
    return await command.run(argv.slice(command.name.split(' ').length))
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`stedi ${command.name}: ${err.message} (stedi ${command.name} --help)`)
      return EXIT.usage
    }
    if (err instanceof GatewayError) {
      console.error(`stedi ${command.name}: ${err.message} [${err.code}]`)
      return EXIT.failed
    }
    if (isPipelineError(err)) {
      console.error(`stedi ${command.name}: ${err.message} [${err.code}]`)
      return err.code === 'PIPE_ERR_BUSY' ? EXIT.busy : EXIT.failed
    }
    console.error(`stedi ${command.name}: unexpected error: ${(err as Error).stack ?? String(err)}`)
    return EXIT.failed
  }
}

