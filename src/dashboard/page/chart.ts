/**
 * The earnings chart's geometry (pure, no DOM): one bar per credited epoch, placed by its epoch
 * number so a missed epoch is a gap, heights in proportion to the exact amounts (bigint). app.ts
 * draws it as inline SVG; this module is also served to the browser as /assets/chart.js.
 */

export interface ChartPoint {
  epoch: string
  /** Smallest unit, and as UNC. */
  reward: string
  rewardUnc: string
  date: string
}

export interface ChartBar extends ChartPoint {
  x: number
  y: number
  width: number
  height: number
}

export interface ChartLayout {
  width: number
  height: number
  plot: {left: number; top: number; right: number; bottom: number}
  bars: ChartBar[]
  /** The tallest bar's amount (the y axis' top label) in UNC. */
  maxUnc: string
  /** Epoch labels under the x axis. */
  ticks: Array<{x: number; label: string}>
  /** Credited epochs left out on the left (only the latest maxBars are drawn). */
  hidden: number
}

export interface ChartOptions {
  width?: number
  height?: number
  maxBars?: number
}

export function chartLayout(points: readonly ChartPoint[], o: ChartOptions = {}): ChartLayout {
  const width = o.width ?? 760
  const height = o.height ?? 260
  const maxBars = o.maxBars ?? 120
  const plot = {left: 64, top: 16, right: width - 16, bottom: height - 32}
  const shown = points.slice(-maxBars)
  const hidden = points.length - shown.length
  if (shown.length === 0) return {width, height, plot, bars: [], maxUnc: '0', ticks: [], hidden}
  const first = BigInt(shown[0]!.epoch)
  const last = BigInt(shown.at(-1)!.epoch)
  const slots = Number(last - first) + 1
  const slot = (plot.right - plot.left) / slots
  const barWidth = Math.min(48, Math.max(1, slot * 0.7))
  const top = shown.reduce((m, p) => (BigInt(p.reward) > BigInt(m.reward) ? p : m))
  const max = BigInt(top.reward)
  const plotHeight = plot.bottom - plot.top
  const xOf = (epoch: bigint) => plot.left + Number(epoch - first) * slot + slot / 2
  const bars = shown.map((p) => {
    // parts per million of the tallest bar: exact bigint ratio, then one float step
    const h = max > 0n ? (Number((BigInt(p.reward) * 1_000_000n) / max) / 1_000_000) * plotHeight : 0
    return {...p, x: round(xOf(BigInt(p.epoch)) - barWidth / 2), y: round(plot.bottom - h), width: round(barWidth), height: round(h)}
  })
  const tickEpochs = [...new Set([first, first + (last - first) / 2n, last])]
  return {width, height, plot, bars, maxUnc: top.rewardUnc, ticks: tickEpochs.map((e) => ({x: round(xOf(e)), label: String(e)})), hidden}
}

const round = (v: number) => Math.round(v * 100) / 100
