import type {ChainClient} from '../chain/client.js'
import {registrationState, type RegistrationState} from '../chain/registrations.js'
import {realClock, type Clock} from '../agent/backoff.js'

export interface AwaitApprovalOptions {
  /** How long to keep polling (0: read each registration once). */
  waitMs: number
  clock?: Clock
  signal?: AbortSignal
  onProgress?: (message: string) => void
}

export interface AwaitRegistrationsOptions extends AwaitApprovalOptions {
  /**
   * Called on every poll for each registration still pending, before the next sleep: where the miner
   * answers what the verifier asks of it (a TPM host's credential challenge). Its errors end the wait.
   */
  onPending?: (state: RegistrationState) => Promise<void>
}

const POLL_MS = 500

/**
 * Polls registration ids until none is pending any more (each ends approved, rejected or ended) or
 * `waitMs` is up. Returns the latest state of every id.
 */
export async function awaitRegistrations(
  client: ChainClient,
  regIds: readonly string[],
  options: AwaitRegistrationsOptions,
): Promise<Map<string, RegistrationState>> {
  const clock = options.clock ?? realClock
  const deadline = clock.now() + options.waitMs
  const states = new Map<string, RegistrationState>()
  let waiting = [...new Set(regIds)]
  for (;;) {
    for (const id of waiting) states.set(id, await registrationState(client, id))
    waiting = waiting.filter((id) => states.get(id)!.status === 'pending')
    for (const id of waiting) await options.onPending?.(states.get(id)!)
    if (waiting.length === 0 || clock.now() >= deadline) return states
    options.onProgress?.(`waiting for the verifier to decide ${waiting.length} registration(s)`)
    await clock.sleep(Math.min(POLL_MS, Math.max(0, deadline - clock.now())), options.signal)
  }
}
