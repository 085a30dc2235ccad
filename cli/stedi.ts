// `stedi`: the platform's one command-line tool (see cli/main.ts).
import { main } from './main.js'

process.exitCode = await main(process.argv.slice(2))
// Every command has finished its work and printed its result when main returns (the long-running
// ones return on SIGTERM, after closing). A socket or timer some library left open must not keep
// a finished command from exiting: this timer does not hold the process, it only ends a stuck one.
setTimeout(() => process.exit(), 3000).unref()
