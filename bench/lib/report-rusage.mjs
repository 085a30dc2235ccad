// Preloaded into a measured child: on exit, write its peak memory to file descriptor 3.
import fs from 'node:fs'

process.on('exit', () => {
  try { fs.writeSync(3, JSON.stringify({ maxRSS: process.resourceUsage().maxRSS })) } catch {}
})
