// Acknowledgements over time: readings per second and latency percentiles, per second, for any
// window, and overall.
export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]

export interface SecondStats { t: number, rate: number, p50: number, p95: number, p99: number, errors: number }

export class Recorder {
  private readonly started = performance.now()
  private readonly at: number[] = []
  private readonly readings: number[] = []
  private readonly latency: number[] = []
  private readonly errors: number[] = []

  ack (readings: number, latencyMs: number): void {
    this.at.push(performance.now() - this.started)
    this.readings.push(readings)
    this.latency.push(latencyMs)
  }

  error (): void { this.errors.push(performance.now() - this.started) }

  /** acknowledgements between fromMs (inclusive) and toMs (exclusive) of the run */
  window (fromMs: number, toMs: number): { readings: number, p50: number, p99: number, errors: number, messages: number } {
    const lat: number[] = []
    let readings = 0
    for (let i = 0; i < this.at.length; i++) {
      if (this.at[i] >= fromMs && this.at[i] < toMs) { lat.push(this.latency[i]); readings += this.readings[i] }
    }
    lat.sort((a, b) => a - b)
    const errors = this.errors.filter((e) => e >= fromMs && e < toMs).length
    return { readings, p50: percentile(lat, 50), p99: percentile(lat, 99), errors, messages: lat.length }
  }

  overall (): { p50: number, p95: number, p99: number, max: number, messages: number } {
    const s = [...this.latency].sort((a, b) => a - b)
    return { p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: s.at(-1) ?? 0, messages: s.length }
  }

  series (): SecondStats[] {
    const seconds = Math.ceil(Math.max(0, ...this.at, ...this.errors) / 1000)
    return Array.from({ length: seconds }, (_, t) => {
      const lat: number[] = []
      let rate = 0
      for (let i = 0; i < this.at.length; i++) if (Math.floor(this.at[i] / 1000) === t) { lat.push(this.latency[i]); rate += this.readings[i] }
      lat.sort((a, b) => a - b)
      return { t, rate, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), errors: this.errors.filter((e) => Math.floor(e / 1000) === t).length }
    })
  }
}
