import type {ChainClient} from '../chain/client.js'
import {deviceState, type DeviceState} from '../chain/device-state.js'
import {realClock, type Clock} from '../agent/backoff.js'

export interface AwaitApprovalOptions {
  waitMs: number
  clock?: Clock
  signal?: AbortSignal
  onProgress?: (message: string) => void
}

/**
 * Polls the chain until none of `pending` is waiting for the verifier any more, or `waitMs` is
 * up. Returns the latest state of each device that was re-read.
 */
export async function awaitApproval(client: ChainClient, pending: string[], options: AwaitApprovalOptions): Promise<Map<string, DeviceState>> {
  const clock = options.clock ?? realClock
  const deadline = clock.now() + options.waitMs
  const states = new Map<string, DeviceState>()
  let waiting = [...pending]
  while (waiting.length > 0 && clock.now() < deadline) {
    options.onProgress?.(`waiting for the verifier to approve ${waiting.length} device(s)`)
    await clock.sleep(500, options.signal)
    for (const id of waiting) states.set(id, await deviceState(client, id))
    waiting = waiting.filter((id) => states.get(id)!.status === 'pending')
  }
  return states
}
