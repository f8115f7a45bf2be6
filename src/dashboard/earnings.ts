import {exactUnc, type HistoryResult} from '../insight/reward-history.js'

/** One bar of the earnings chart: everything credited in one epoch (the host and its devices together). */
export interface EpochEarning {
  epoch: string
  /** UNC smallest unit, and as UNC with every digit. */
  reward: string
  rewardUnc: string
  /** ISO time of the epoch's first credited heartbeat block. */
  date: string
}

/** The history's rows summed per epoch, oldest first (pure): what /api/earnings serves and the chart draws. */
export function earningsPerEpoch(history: Pick<HistoryResult, 'rows'>): EpochEarning[] {
  const byEpoch = new Map<string, {reward: bigint; date: string}>()
  for (const r of history.rows) {
    const e = byEpoch.get(r.epoch)
    if (e) e.reward += BigInt(r.reward)
    else byEpoch.set(r.epoch, {reward: BigInt(r.reward), date: r.date})
  }
  return [...byEpoch]
    .sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0))
    .map(([epoch, e]) => ({epoch, reward: e.reward.toString(), rewardUnc: exactUnc(e.reward), date: e.date}))
}
