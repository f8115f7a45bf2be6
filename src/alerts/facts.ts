/**
 * Everything the alert rules look at, as plain data: gathered from the chain, the local agent's files
 * and the device probes by src/miner/alert-facts.ts, so the rules themselves are pure and tested
 * without a chain.
 */

export interface HostFacts {
  hostId: string
  /** The last epoch a heartbeat of this host was credited in (undefined: never). */
  lastCreditedEpoch?: bigint
}

export interface AlertFacts {
  network: string
  operator?: string
  /** Unix seconds, local clock. */
  now: number
  currentEpoch: bigint
  /** Wall-time estimate of one epoch. */
  epochSeconds: number
  /** Approved hosts of this operator. */
  hosts: HostFacts[]
  /** Devices registered on chain (any status) for this operator: without any there is no agent to expect. */
  registeredDevices: number
  /** The local agent (lock holder and agent/state.json); undefined where the check runs inside the agent itself. */
  agent?: {running: boolean; pid?: number; updatedAt?: number; state?: string; lastError?: string}
  /** Operator gas balance and what a heartbeat costs (recent receipts, else the estimate). */
  gas?: {balance: bigint; costPerEpoch: bigint; source: 'recent' | 'estimate'}
  /** Approved accelerators (own key) the local probe no longer finds. */
  lostDevices: Array<{deviceId: string; kind: string}>
  /**
   * Local accelerators whose probe reports faults (vendor library errors, driver gone, fatal PCIe AER
   * errors) or, inside the agent, whose NVML events reported a critical Xid recently (`xids`).
   */
  unhealthyDevices: Array<{id: string; label: string; faults: string[]; xids?: number[]}>
  /** Latest registration of a device that the verifier rejected. */
  rejectedRegistrations: Array<{regId: string; deviceId: string; reason?: string}>
  /** Challenges open against this operator's hosts. */
  openChallenges: Array<{challengeId: string; deviceId: string; epoch: bigint; deadline: bigint}>
}
