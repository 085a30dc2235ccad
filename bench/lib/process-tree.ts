// Peak memory of a process and everything it starts (the Spark engine is python -> JVM -> python
// workers, so one process's maxRSS says little): the sum of resident memory over the tree, sampled
// from /proc. Linux only; sampling every 100 ms can miss a shorter peak.
import fs from 'node:fs/promises'

async function treeRssKb (root: number): Promise<number> {
  const children = new Map<number, number[]>()
  const rss = new Map<number, number>()
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8')
      // the command name may contain spaces: fields start after its closing parenthesis
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const pid = Number(name)
      const ppid = Number(fields[1])
      rss.set(pid, Number(fields[21]) * 4)
      children.set(ppid, [...(children.get(ppid) ?? []), pid])
    } catch { /* the process ended while we looked */ }
  }
  let total = 0
  const stack = [root]
  while (stack.length > 0) {
    const pid = stack.pop()!
    total += rss.get(pid) ?? 0
    stack.push(...(children.get(pid) ?? []))
  }
  return total
}

/** Samples the tree under pid until stop() is called; resolves to the peak in MB. */
export function sampleTree (pid: number, everyMs = 100): { stop: () => Promise<number> } {
  let peakKb = 0
  let running = true
  const loop = (async () => {
    while (running) {
      peakKb = Math.max(peakKb, await treeRssKb(pid))
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  return { stop: async () => { running = false; await loop; return peakKb / 1024 } }
}
