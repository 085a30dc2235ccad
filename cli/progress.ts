// A one-line progress display on a terminal (stderr), silent when stderr is not a terminal.
export interface Progress {
  update: (message: string) => void
  done: () => void
}

export function createProgress (stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY !== true) return { update: () => {}, done: () => {} }
  const started = Date.now()
  let shown = false
  return {
    update: (message) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      stream.write(`\r\x1b[K${seconds}s ${message}`.slice(0, (stream.columns ?? 100) + 8))
      shown = true
    },
    done: () => { if (shown) stream.write('\r\x1b[K') }
  }
}
