// Preloaded into a measured child: on exit, write its peak memory and CPU time to file descriptor 3.
import fs from 'node:fs'

process.on('exit', () => {
  const { maxRSS, userCPUTime, systemCPUTime } = process.resourceUsage()
  try { fs.writeSync(3, JSON.stringify({ maxRSS, userCPUTime, systemCPUTime })) } catch {}
})
