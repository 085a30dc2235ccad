// `stedi`: the platform's one command-line tool (see cli/main.ts).
import { main } from './main.js'

process.exitCode = await main(process.argv.slice(2))
