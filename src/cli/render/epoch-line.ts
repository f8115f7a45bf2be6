import type {Style} from '../style.js'

export interface EpochOutcome {
  epoch: bigint | string
  /** confirmed, missed, failed, skipped (the agent journal's results). */
  result: string
  txHash?: string
  reason?: string
  /** The receipt was already on chain (sent before a restart): nothing was sent again. */
  recovered?: boolean
}

/** The one line a human sees per heartbeat epoch (quickstart, heartbeat): result in its colour, then tx and reason. */
export function epochLine(e: EpochOutcome, style: Style): string {
  const tx = e.txHash ? ' ' + style.dim(`tx ${e.txHash}`) : ''
  const recovered = e.recovered ? ' (sent before a restart)' : ''
  return `epoch ${e.epoch}: ${style.state(e.result)}${recovered}${tx}${e.reason ? ` — ${e.reason}` : ''}`
}
