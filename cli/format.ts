// Result sets as text: an aligned table for people, JSON or CSV for programs.
export type Format = 'table' | 'json' | 'csv'
export const FORMATS: readonly Format[] = ['table', 'json', 'csv']

const cellText = (v: unknown): string => v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)

export function formatRows (columns: string[], rows: unknown[][], format: Format): string {
  switch (format) {
    case 'json':
      return JSON.stringify(rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] ?? null]))))
    case 'csv': {
      const esc = (s: string): string => /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
      return [columns, ...rows.map((r) => r.map(cellText))].map((r) => r.map(esc).join(',')).join('\n')
    }
    case 'table': {
      const text = rows.map((r) => r.map(cellText))
      const widths = columns.map((c, i) => Math.max(c.length, ...text.map((r) => r[i].length)))
      const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join(' | ').trimEnd()
      const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('-+-'), ...text.map(line)]
      out.push(`(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`)
      return out.join('\n')
    }
  }
}
