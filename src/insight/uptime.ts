/** Epochs the uptime percentage looks back over (`unet status`, `unet fleet status`, the dashboard). */
export const UPTIME_WINDOW = 24

export interface Uptime {
  /** Credited epochs / epochs in the window, one decimal. */
  percent: number
  /** Epochs counted (the current one included). */
  window: number
  credited: number
}

/**
 * Uptime over the last `window` epochs up to `current`. The window never reaches back before
 * `since` (the epoch the host was approved in, when the caller knows it) or else the first credited
 * epoch: a new miner is not penalised for the time before it existed.
 */
export function uptimeOf(creditedEpochs: readonly bigint[], current: bigint, window = UPTIME_WINDOW, since?: bigint): Uptime {
  const windowStart = current > BigInt(window) ? current - BigInt(window) + 1n : 1n
  const first = since ?? (creditedEpochs.length > 0 ? creditedEpochs.reduce((m, e) => (e < m ? e : m)) : undefined)
  const from = first !== undefined && first > windowStart ? first : windowStart
  const span = current >= from ? Number(current - from + 1n) : 0
  const credited = new Set(creditedEpochs.filter((e) => e >= from && e <= current)).size
  return {percent: span === 0 ? 0 : Math.round((credited / span) * 1000) / 10, window: span, credited}
}
