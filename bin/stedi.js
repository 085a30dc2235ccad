#!/usr/bin/env node
// The installed entry point: runs the compiled CLI (npm ci builds it through the prepare script).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/cli/stedi.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('stedi: the CLI is not built yet: run `npm ci` (or `npm run build`) in the project folder')
  process.exit(1)
}
await import(entry.href)
