/**
 * Terminal charts for humans: one column per epoch. Pure string building, so tests can read them.
 */
import type {Style} from '../style.js'

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█']

export interface EpochPoint {
  epoch: bigint
  /** Earned in this epoch, token smallest unit. */
  earned: bigint
  /** Whether a heartbeat was credited in this epoch. */
  credited: boolean
}

/**
 * Two rows over the same epochs: a bar of earnings (scaled to the window's maximum) and an uptime
 * row (█ credited, · missed), with the first and last epoch numbers underneath.
 */
export function epochChart(points: readonly EpochPoint[], width = 60, style?: Style): string[] {
  if (points.length === 0) return ['(no epochs yet)']
  const shown = points.slice(-width)
  const max = shown.reduce((m, p) => (p.earned > m ? p.earned : m), 0n)
  const bars = shown
    .map((p) => {
      if (p.earned === 0n || max === 0n) return BLOCKS[0]
      const level = Number((p.earned * 8n + max - 1n) / max)
      return BLOCKS[Math.max(1, Math.min(8, level))]
    })
    .join('')
  const uptime = shown.map((p) => (p.credited ? (style?.state('credited', '█') ?? '█') : (style?.state('missed', '·') ?? '·'))).join('')
  const first = String(shown[0]!.epoch)
  const last = String(shown.at(-1)!.epoch)
  const axis = shown.length >= first.length + last.length ? first + ' '.repeat(shown.length - first.length - last.length) + last : first
  return [`earned  ${bars}`, `uptime  ${uptime}`, `epoch   ${axis}`]
}
