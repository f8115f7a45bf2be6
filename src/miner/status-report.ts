/**
 * `unet status`: the chain is the source of truth for devices, heartbeats and rewards; the local
 * agent's state file and journal add what only this machine knows (is it running, why it failed).
 * buildStatusReport is pure, so the JSON shape (docs/status.schema.json) and every explanation are
 * tested without a chain; gatherStatus does the reading.
 */
import {HEARTBEAT_GAS_ESTIMATE} from '../chain/gas.js'
import {UPTIME_WINDOW, uptimeOf} from '../insight/uptime.js'
import type {ChallengeState} from '../chain/challenge.js'
import type {ChainStatus, DeviceStatusView} from '../chain/status.js'
import type {HeartbeatRecord} from '../chain/history.js'
import type {NetworkProfile} from '../config/schema.js'
import type {LocalAgentStatus} from '../agent/agent-status.js'
import type {JournalEntry} from '../agent/outbox.js'
import {GAS_COIN, REWARD_TOKEN} from '../util/units.js'

/** Epochs the uptime percentage and the chart look back over. */
export {UPTIME_WINDOW}
/** A local clock this far from the chain's makes challenge blocks and epochs misleading. */
const MAX_CLOCK_SKEW_SECONDS = 30

export interface StatusInputs {
  profile: NetworkProfile
  operator?: string
  payout?: string
  chain: ChainStatus
  /** Heartbeat records per hostId. */
  history: Map<string, HeartbeatRecord[]>
  gas?: {balance: bigint; maxFeePerGas: bigint; latestTimestamp: number}
  local: LocalAgentStatus
  journal: JournalEntry[]
  /** Challenges against the operator's hosts opened within the answer window (any state). */
  challenges: ChallengeState[]
  /** Local wall clock, unix seconds. */
  now: number
  /** Per deviceId (lowercase): the power this unet's power table gives its latest registration (expectedPowers). */
  expected?: Map<string, ExpectedPower>
}

/** What the verifier's code in this unet decides for a registration: its power and the model it rated. */
export interface ExpectedPower {
  power: bigint
  model?: string
  /** Why this power, or why none (the recomputed reasons). */
  note: string
}

export interface ChallengeReport {
  challengeId: string
  hostId: string
  deviceId: string
  epoch: string
  challenger: string
  /** Last block an answer is accepted in, and its estimated unix time. */
  deadline: string
  deadlineAt: number
}

export interface DeviceReport {
  deviceId: string
  kind: string
  status: string
  online: boolean
  power: string
  /** The power table's power for what the registration's evidence proves (this unet's verifier code); null: not recomputed. */
  expected: {power: string; model: string | null; note: string} | null
  hostId?: string
  lastHeartbeat: {epoch: string; time: number | null; tx: string} | null
  uptime: {percent: number; window: number; credited: number}
}

export interface StatusReport {
  network: string
  chainId: string
  contract: string
  operator: string | null
  payout: string | null
  /** The contract counts epochs in blocks; seconds and endsAt are estimates from the profile's blockSeconds. */
  epoch: {current: string; blocks: string; endsAtBlock: string; seconds: number; endsAt: number}
  devices: DeviceReport[]
  /** Open challenges against the operator's hosts: the agent must answer each by its deadline. */
  challenges: ChallengeReport[]
  rewards: {
    accrued: string
    claimable: string
    claimed: string
    symbol: string
    decimals: number
    formatted: {accrued: string; claimable: string; claimed: string}
  }
  gas: {balance: string; formatted: string; symbol: string; costPerHeartbeat: string; runwayEpochs: number | null} | null
  agent: {running: boolean; pid: number | null; state: string | null; lastError: string | null; lastSuccessEpoch: string | null}
  history: Array<{epoch: string; credited: boolean; earned: string}>
  explain: string[]
}

export function buildStatusReport(i: StatusInputs, formatUnits: (v: bigint, d: number) => string): StatusReport {
  const current = i.chain.currentEpoch
  const hosts = hostViews(i.chain.devices)
  const devices = i.chain.devices.map((d) => deviceReport(d, i.history.get(d.hostId ?? d.deviceId) ?? [], current, i.expected?.get(d.deviceId.toLowerCase())))
  const report: StatusReport = {
    network: i.profile.name,
    chainId: i.chain.chainId.toString(),
    contract: i.chain.contract,
    operator: i.operator ?? null,
    payout: i.payout ?? null,
    epoch: {
      current: current.toString(),
      blocks: i.chain.epochBlocks.toString(),
      endsAtBlock: i.chain.epochEndBlock.toString(),
      seconds: Number(i.chain.epochSeconds),
      endsAt: Number(i.chain.epochEndsAt),
    },
    devices,
    challenges: i.challenges.filter((c) => c.status === 'open').map((c) => challengeReport(c, i.chain)),
    rewards: rewardsReport(hosts, formatUnits),
    gas: i.gas ? gasReport(i.gas, formatUnits) : null,
    agent: {
      running: i.local.running,
      pid: i.local.pid ?? null,
      state: i.local.snapshot?.state ?? null,
      lastError: i.local.snapshot?.lastError ?? null,
      lastSuccessEpoch: i.local.snapshot?.lastSuccessEpoch ?? null,
    },
    history: epochHistory(i.chain, hosts, i.history),
    explain: [],
  }
  report.explain = explain(i, report)
  return report
}

/** One view per host for the host-level amounts: an approved device's (a pending one reads 0 claimable/claimed). */
function hostViews(devices: DeviceStatusView[]): Map<string, DeviceStatusView> {
  const hosts = new Map<string, DeviceStatusView>()
  for (const d of devices) if (d.hostId && (!hosts.has(d.hostId) || (d.approved && !hosts.get(d.hostId)!.approved))) hosts.set(d.hostId, d)
  return hosts
}

/** The hosts' amounts added up; accrued is what was ever credited: claimable now plus claimed. */
function rewardsReport(hosts: Map<string, DeviceStatusView>, formatUnits: (v: bigint, d: number) => string): StatusReport['rewards'] {
  let claimable = 0n
  let claimed = 0n
  for (const h of hosts.values()) {
    claimable += h.claimable
    claimed += h.claimed
  }
  const accrued = claimable + claimed
  return {
    accrued: accrued.toString(),
    claimable: claimable.toString(),
    claimed: claimed.toString(),
    symbol: REWARD_TOKEN.symbol,
    decimals: REWARD_TOKEN.decimals,
    formatted: {
      accrued: formatUnits(accrued, REWARD_TOKEN.decimals),
      claimable: formatUnits(claimable, REWARD_TOKEN.decimals),
      claimed: formatUnits(claimed, REWARD_TOKEN.decimals),
    },
  }
}

/** The operator's gas and how many heartbeats it pays for at the current fee (null runway: no fee to divide by). */
function gasReport(gas: NonNullable<StatusInputs['gas']>, formatUnits: (v: bigint, d: number) => string): NonNullable<StatusReport['gas']> {
  const costPerHeartbeat = HEARTBEAT_GAS_ESTIMATE * gas.maxFeePerGas
  return {
    balance: gas.balance.toString(),
    formatted: formatUnits(gas.balance, GAS_COIN.decimals),
    symbol: GAS_COIN.symbol,
    costPerHeartbeat: costPerHeartbeat.toString(),
    runwayEpochs: costPerHeartbeat > 0n ? Number(gas.balance / costPerHeartbeat) : null,
  }
}

/** Estimated unix time of block `n`: the epoch's end estimate moved by whole blocks (epochSeconds / epochBlocks each). */
function blockTimeEstimate(chain: Pick<ChainStatus, 'epochBlocks' | 'epochEndBlock' | 'epochSeconds' | 'epochEndsAt'>, n: bigint): number {
  const blockSeconds = chain.epochBlocks > 0n ? Number(chain.epochSeconds) / Number(chain.epochBlocks) : 0
  return Math.round(Number(chain.epochEndsAt) + Number(n - chain.epochEndBlock) * blockSeconds)
}

function challengeReport(c: ChallengeState, chain: ChainStatus): ChallengeReport {
  return {
    challengeId: c.challengeId,
    hostId: c.hostId,
    deviceId: c.deviceId,
    epoch: c.epoch.toString(),
    challenger: c.challenger,
    deadline: c.deadline.toString(),
    deadlineAt: blockTimeEstimate(chain, c.deadline),
  }
}

function deviceReport(d: DeviceStatusView, beats: HeartbeatRecord[], current: bigint, expected: ExpectedPower | undefined): DeviceReport {
  const last = d.lastHeartbeatEpoch
  return {
    deviceId: d.deviceId,
    kind: d.kind,
    status: d.status,
    online: d.approved && last !== undefined && last + 1n >= current,
    power: d.power.toString(),
    expected: expected ? {power: expected.power.toString(), model: expected.model ?? null, note: expected.note} : null,
    hostId: d.hostId,
    lastHeartbeat: last === undefined ? null : {epoch: last.toString(), time: d.lastHeartbeatTime ?? null, tx: d.lastHeartbeatTx ?? ''},
    uptime: uptimeOf(
      beats.map((b) => b.epoch),
      current,
    ),
  }
}

function epochHistory(chain: ChainStatus, hosts: Map<string, DeviceStatusView>, history: Map<string, HeartbeatRecord[]>): StatusReport['history'] {
  const current = chain.currentEpoch
  const from = current > BigInt(UPTIME_WINDOW) ? current - BigInt(UPTIME_WINDOW) + 1n : 1n
  const earned = new Map<bigint, bigint>()
  for (const [hostId, host] of hosts) {
    const hostPower = [...chainDevicesOf(chain, hostId)].reduce((sum, d) => sum + (d.approved ? d.power : 0n), 0n) || host.power
    for (const b of history.get(hostId) ?? []) earned.set(b.epoch, (earned.get(b.epoch) ?? 0n) + hostPower * chain.rewardPerPowerEpoch)
  }
  if (hosts.size === 0) return []
  const rows: StatusReport['history'] = []
  for (let e = from; e <= current; e++) rows.push({epoch: e.toString(), credited: earned.has(e), earned: (earned.get(e) ?? 0n).toString()})
  return rows
}

function* chainDevicesOf(chain: ChainStatus, hostId: string): Iterable<DeviceStatusView> {
  for (const d of chain.devices) if (d.hostId === hostId) yield d
}

/** Why a device is not earning, most fundamental first; empty when everything earns. */
function explain(i: StatusInputs, r: StatusReport): string[] {
  const out: string[] = []
  if (!i.operator) out.push('no operator wallet on this machine: run `unet wallet create` (or import one)')
  if (r.devices.length === 0) {
    out.push('no device is registered for this operator: run `unet register`')
    return out
  }
  for (const d of r.devices) {
    const id = `${d.kind} ${d.deviceId.slice(0, 10)}…`
    if (d.status === 'pending') out.push(`${id}: waiting for the verifier to approve the registration`)
    else if (d.status !== 'approved') out.push(`${id}: not approved (status ${d.status}); run \`unet register\` again`)
    else if (!d.online) {
      const missed = d.lastHeartbeat ? `last credited epoch ${d.lastHeartbeat.epoch}, now ${r.epoch.current}` : 'never credited'
      const journaled = i.journal.filter((j) => j.result !== 'confirmed').at(-1)
      out.push(`${id}: offline (${missed})${journaled?.reason ? `; last journaled failure in epoch ${journaled.epoch}: ${journaled.reason}` : ''}`)
    }
    // the chain's power is what the verifier approved; another table (an older or newer unet) gives another
    if (d.status === 'approved' && d.expected && d.expected.power !== d.power)
      out.push(`${id}: approved with power ${d.power}, this unet's power table gives ${d.expected.power} (${d.expected.note})`)
    if ((d.kind === 'host-emulator' || d.kind === 'emulator') && !i.profile.allowEmulator)
      out.push(`${id}: emulator devices earn nothing on network "${i.profile.name}"`)
  }
  // the head lies in the current epoch: a deadline before the epoch's first block has passed
  const epochStart = i.chain.epochEndBlock - i.chain.epochBlocks
  for (const c of r.challenges) {
    const what = `challenge ${c.challengeId.slice(0, 10)}… against device ${c.deviceId.slice(0, 10)}… (epoch ${c.epoch})`
    const when = `block ${c.deadline} (~${new Date(c.deadlineAt * 1000).toISOString()})`
    if (BigInt(c.deadline) < epochStart) out.push(`${what}: unanswered past its deadline ${when}; the host can be slashed`)
    else out.push(`${what}: open, the agent must answer it by ${when}${r.agent.running ? '' : '; the agent is not running on this machine, so nobody will'}`)
  }
  // also when every device is online now: online means credited this or last epoch, and without the agent nothing is credited next
  if (!r.agent.running && (r.devices.some((d) => d.status === 'approved') || r.challenges.length > 0))
    out.push(
      r.devices.some((d) => d.online)
        ? 'the heartbeat agent is not running on this machine: the devices online now earn no further epoch; start `unet heartbeat` or install the service (`unet service install`)'
        : 'the heartbeat agent is not running on this machine: start `unet heartbeat` or install the service (`unet service install`)',
    )
  if (r.agent.lastError) out.push(`the agent's last error: ${r.agent.lastError}`)
  if (r.gas && r.gas.runwayEpochs !== null && r.gas.runwayEpochs < 1) out.push(`gas empty: the operator ${i.operator} cannot pay for a heartbeat; fund it`)
  else if (r.gas && r.gas.runwayEpochs !== null && r.gas.runwayEpochs < 48) out.push(`gas low: about ${r.gas.runwayEpochs} heartbeats left; fund ${i.operator}`)
  // A chain ahead of us is always skew; one behind may just be idle (a devnet mines on demand).
  const skew = i.gas && i.gas.latestTimestamp > 0 ? i.now - i.gas.latestTimestamp : 0
  if (skew < -MAX_CLOCK_SKEW_SECONDS || (skew > MAX_CLOCK_SKEW_SECONDS && i.profile.name !== 'devnet'))
    out.push(`clock skew: this machine's clock is ${skew} s off the chain's latest block; fix NTP`)
  return out
}

/** Reads everything the report needs: chain views and events, gas, the local agent files. */
export async function gatherStatus(
  resolved: import('../config/index.js').ResolvedConfig,
  operator: string | undefined,
  payout: string | undefined,
): Promise<StatusInputs> {
  const {connect, disconnect} = await import('../chain/client.js')
  const {getStatus} = await import('../chain/status.js')
  const {heartbeatHistory, gasSnapshot} = await import('../chain/history.js')
  const {readLocalAgentStatus} = await import('../agent/agent-status.js')
  const {readJournal} = await import('../agent/outbox.js')
  const {stateIsOf} = await import('../agent/chain-state.js')
  const {readChainIdentity} = await import('../chain/chain-identity.js')
  const {challengesOf} = await import('../chain/challenge.js')
  const {answerWindowBlocks} = await import('./answer-window.js')
  const {requireChainReady} = await import('../config/index.js')
  const profile = requireChainReady(resolved.profile)
  const client = await connect(profile)
  try {
    const chain = await getStatus(client, {operator: operator ?? '0x0000000000000000000000000000000000000000'})
    const history = new Map<string, HeartbeatRecord[]>()
    const challenges: ChallengeState[] = []
    const hostIds = new Set(chain.devices.map((d) => d.hostId).filter((h): h is string => Boolean(h)))
    // an answerable challenge was opened at most the answer window ago; one more epoch shows those just missed
    const back = hostIds.size > 0 ? (await answerWindowBlocks(client)) + chain.epochBlocks * 2n : 0n
    const fromBlock = chain.epochEndBlock > back ? Number(chain.epochEndBlock - back) : 0
    // the agent's files of another chain (it has not run since a fresh devnet) say nothing about this one
    const ofThisChain = stateIsOf(resolved.paths.dataDir, await readChainIdentity(client))
    const local = readLocalAgentStatus(resolved.paths.dataDir)
    for (const hostId of hostIds) {
      history.set(hostId, await heartbeatHistory(client, hostId))
      challenges.push(...(await challengesOf(client, hostId, fromBlock)))
    }
    const expected = operator ? await expectedPowers(client, profile, operator) : undefined
    return {
      profile,
      operator,
      payout,
      chain,
      history,
      gas: operator ? await gasSnapshot(client, operator) : undefined,
      local: ofThisChain ? local : {running: local.running, pid: local.pid},
      journal: ofThisChain ? readJournal(resolved.paths.dataDir, 50) : [],
      challenges,
      now: Math.floor(Date.now() / 1000),
      ...(expected ? {expected} : {}),
    }
  } finally {
    disconnect(client)
  }
}

/**
 * The verifier's decision for each device's latest registration, recomputed from chain data with the
 * profile's policy (what `unet verifier audit` does): the power this unet's table gives it. A profile
 * whose trust files cannot be read leaves the expectation out rather than failing the status.
 */
async function expectedPowers(
  client: import('../chain/client.js').ChainClient,
  profile: NetworkProfile,
  operator: string,
): Promise<Map<string, ExpectedPower> | undefined> {
  const {registrations} = await import('../chain/registrations.js')
  const {blockAt} = await import('../chain/verifier-reads.js')
  const {decideRegistration} = await import('../verifier/decide.js')
  const {policyFromProfile} = await import('../verifier/policy.js')
  let policy: import('../verifier/decide.js').VerifierPolicy
  try {
    policy = policyFromProfile(profile)
  } catch {
    return undefined
  }
  const latest = new Map<string, import('../chain/registrations.js').Registration>()
  for (const reg of await registrations(client, {fromBlock: 0, operator})) latest.set(reg.deviceId.toLowerCase(), reg)
  const out = new Map<string, ExpectedPower>()
  for (const [deviceId, reg] of latest) {
    const now = new Date(((await blockAt(client, reg.blockNumber))?.timestamp ?? 0) * 1000)
    const d = decideRegistration(reg, {...policy, chainId: client.chainId, contract: client.pociAddress!, now})
    out.set(deviceId, d.approve ? {power: d.power, model: d.model, note: d.powerNote ?? d.kind} : {power: 0n, model: d.model, note: d.reasons.join('; ')})
  }
  return out
}
