/**
 * Hand-written SVG charts (no plotting dependency): horizontal bars of the cost over bare on a log
 * scale, grouped by framework, and a line of resident memory over time for the soak.
 *
 * @module
 */

/** One bar group: a (library, store) on a framework, with one value per series. */
export interface ChartRow {
  group: string
  label: string
  highlight: boolean
  values: number[]
}

const COLORS = ['#2f6fdb', '#f29d38']
const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/**
 * Horizontal bars, log scale from 1 µs; a value under 1 (within the noise of bare) is drawn at 1
 * and labelled with its real value.
 *
 * @example
 * ```ts
 * writeFileSync('chart.svg', renderChart(rows, ['/counter', '/read'], 'µs over bare'))
 * ```
 */
export function renderChart(rows: readonly ChartRow[], series: readonly string[], title: string): string {
  const barHeight = 9
  const rowHeight = barHeight * series.length + 6
  const left = 260
  const width = 900
  const plotWidth = width - left - 70
  const max = Math.max(10, ...rows.flatMap((r) => r.values.filter(Number.isFinite)))
  const decades = Math.ceil(Math.log10(max))
  const x = (value: number) => left + (Math.log10(Math.max(1, value)) / decades) * plotWidth
  const parts: string[] = []
  let y = 50
  let lastGroup = ''
  for (const row of rows) {
    if (row.group !== lastGroup) {
      y += 14
      parts.push(`<text x="8" y="${y}" font-weight="bold">${escape(row.group)}</text>`)
      y += 6
      lastGroup = row.group
    }
    parts.push(`<text x="${left - 6}" y="${y + rowHeight / 2 + 3}" text-anchor="end"${row.highlight ? ' font-weight="bold"' : ''}>${escape(row.label)}</text>`)
    row.values.forEach((value, i) => {
      const top = y + i * barHeight
      if (!Number.isFinite(value)) return
      parts.push(`<rect x="${left}" y="${top}" width="${Math.max(1, x(value) - left).toFixed(1)}" height="${barHeight - 1}" fill="${COLORS[i % COLORS.length]}"${row.highlight ? '' : ' fill-opacity="0.55"'}/>`)
      parts.push(`<text x="${(x(value) + 4).toFixed(1)}" y="${top + barHeight - 1}" font-size="9">${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}</text>`)
    })
    y += rowHeight
  }
  const height = y + 30
  const axis: string[] = []
  for (let d = 0; d <= decades; d++) {
    const at = left + (d / decades) * plotWidth
    axis.push(`<line x1="${at}" y1="40" x2="${at}" y2="${y}" stroke="#ddd"/>`, `<text x="${at}" y="${y + 14}" text-anchor="middle">${10 ** d} µs</text>`)
  }
  const legend = series
    .map((name, i) => `<rect x="${left + i * 110}" y="26" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + i * 110 + 14}" y="35">${escape(name)}</text>`)
    .join('')
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${escape(title)}</text>`,
    legend,
    ...axis,
    ...parts,
    '</svg>',
    '',
  ].join('\n')
}

/**
 * A line chart of points (x in seconds, y in MiB) with a dashed horizontal limit line.
 *
 * @example
 * ```ts
 * writeFileSync('soak.svg', renderLine([[0, 60], [10, 90]], 'RSS (MiB)', 128, 'store bound'))
 * ```
 */
export function renderLine(points: ReadonlyArray<readonly [number, number]>, title: string, limit?: number, limitLabel?: string): string {
  const width = 720
  const height = 320
  const left = 60
  const bottom = height - 40
  const top = 40
  const maxX = Math.max(1, ...points.map((p) => p[0]))
  const maxY = Math.max(limit ?? 0, ...points.map((p) => p[1])) * 1.1
  const x = (v: number) => left + (v / maxX) * (width - left - 20)
  const y = (v: number) => bottom - (v / maxY) * (bottom - top)
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ')
  const ticks: string[] = []
  for (let i = 0; i <= 4; i++) {
    const v = (maxY / 4) * i
    ticks.push(`<line x1="${left}" y1="${y(v)}" x2="${width - 20}" y2="${y(v)}" stroke="#eee"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`)
    const t = (maxX / 4) * i
    ticks.push(`<text x="${x(t)}" y="${bottom + 16}" text-anchor="middle">${t.toFixed(0)} s</text>`)
  }
  const limitLine =
    limit === undefined
      ? ''
      : `<line x1="${left}" y1="${y(limit)}" x2="${width - 20}" y2="${y(limit)}" stroke="#c33" stroke-dasharray="5,4"/><text x="${width - 22}" y="${y(limit) - 4}" text-anchor="end" fill="#c33">${escape(limitLabel ?? '')}</text>`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="8" y="18" font-size="13" font-weight="bold">${escape(title)}</text>`,
    ...ticks,
    limitLine,
    `<path d="${path}" fill="none" stroke="#2f6fdb" stroke-width="2"/>`,
    '</svg>',
    '',
  ].join('\n')
}
