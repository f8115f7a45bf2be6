/**
 * `unet verifier audit`: recomputes every on-chain decision from chain data (the Registered event, the
 * registration block's timestamp, the profile's policy and roots) plus the facts the verifier recorded
 * with it (p384: the OCSP answers, judged again at the time each was asked, refused unless their nonce is
 * bound to the registration's id and block and they were asked before the decision's block
 * time plus the skew (facts.ts registrationBinding); the RIMs are read from the
 * profile's nvidia.rimDir and must have the SHA-256 the verifier recorded for them), and lists where the
 * verifier's Approved/Rejected events disagree with the recomputation, and each RIM that differs. No
 * responder is asked: an answer that was not recorded counts as none. A host-tpm rejection for an unanswered
 * credential challenge is consistent only when a challenge was posted and the registration never activated.
 */
import type {ChainClient} from '../chain/client.js'
import {
  credentialChallenges,
  decisions,
  latestBlockNumber,
  registrations,
  registrationState,
  type DecisionEvent,
  type Registration,
} from '../chain/registrations.js'
import {blockAt} from '../chain/verifier-reads.js'
import {decideRegistration, type VerifierDecision, type VerifierPolicy} from './decide.js'
import {rimDifferences} from '../hw/nvidia/full-check.js'
import {gatherRegistrationFacts, nvidiaCheckOf, type RecordedFacts} from './facts.js'
import {ACTIVATION_TIMEOUT_REASON} from './service.js'

export interface AuditMismatch {
  regId: string
  deviceId: string
  kind: string
  problem: string
  onChain: {approved: boolean; power?: string; ekId?: string; reason?: string; txHash: string; verifier: string}
  recomputed: {approve: boolean; power: string; model?: string; ekId?: string; chipId?: string; reasons: string[]}
}

export interface AuditReport {
  /** On-chain decisions compared with a recomputation. */
  checked: number
  /** Decisions whose registration lies before fromBlock (not recomputable from the scanned range). */
  skipped: number
  mismatches: AuditMismatch[]
}

/** The blocks audited: fromBlock to toBlock (default: the latest), read chunkBlocks (default 5000) at a time. */
export interface AuditRange {
  fromBlock: number
  toBlock?: number
  chunkBlocks?: number
}

export async function auditDecisions(
  client: ChainClient,
  policy: VerifierPolicy,
  range: AuditRange,
  /** The facts recorded with each decision, by regId (records.ts readRecordedFacts). */
  recorded: ReadonlyMap<string, RecordedFacts> = new Map(),
): Promise<AuditReport> {
  const {regs, onChain} = await scanRange(client, range)
  const report: AuditReport = {checked: 0, skipped: 0, mismatches: []}
  const rimDir = nvidiaCheckOf(policy).rimDir
  const blockTime = blockTimes(client)
  for (const d of onChain) {
    const reg = regs.get(d.regId)
    if (!reg) {
      report.skipped++
      continue
    }
    const record = recorded.get(reg.regId.toLowerCase()) ?? {}
    const rec = await recompute(client, policy, reg, d, record, blockTime)
    report.checked++
    for (const problem of await decisionProblems(client, reg, d, rec, record, rimDir)) report.mismatches.push(mismatchOf(d, rec, problem))
  }
  return report
}

/** The registrations and the decisions of the range, read chunk by chunk (a node caps the blocks one log query may span). */
async function scanRange(client: ChainClient, range: AuditRange): Promise<{regs: Map<string, Registration>; onChain: DecisionEvent[]}> {
  const toBlock = range.toBlock ?? (await latestBlockNumber(client))
  const chunk = range.chunkBlocks ?? 5000
  const regs = new Map<string, Registration>()
  const onChain: DecisionEvent[] = []
  for (let from = range.fromBlock; from <= toBlock; from += chunk) {
    const to = Math.min(toBlock, from + chunk - 1)
    for (const r of await registrations(client, {fromBlock: from, toBlock: to})) regs.set(r.regId, r)
    onChain.push(...(await decisions(client, {fromBlock: from, toBlock: to})))
  }
  return {regs, onChain}
}

/** A block's time, each block read once (registrations and decisions share blocks). */
function blockTimes(client: ChainClient): (n: number) => Promise<Date> {
  const times = new Map<number, Date>()
  return async (n) => {
    let t = times.get(n)
    if (!t) {
      t = new Date(((await blockAt(client, n))?.timestamp ?? 0) * 1000)
      times.set(n, t)
    }
    return t
  }
}

/** The decision the verifier should have made, judged at the registration block's time from the facts it recorded. */
async function recompute(
  client: ChainClient,
  policy: VerifierPolicy,
  reg: Registration,
  d: DecisionEvent,
  record: RecordedFacts,
  blockTime: (n: number) => Promise<Date>,
): Promise<VerifierDecision> {
  const now = await blockTime(reg.blockNumber)
  // OCSP answers must be bound to this registration (its id and block) and not be asked after the decision
  const facts = await gatherRegistrationFacts(reg, policy, {now, recorded: record, decidedAt: await blockTime(d.blockNumber)})
  return decideRegistration(reg, {...policy, chainId: client.chainId, contract: client.pociAddress!, now}, facts)
}

/** Where the on-chain decision d and its recomputation rec disagree, the RIM differences first. */
async function decisionProblems(
  client: ChainClient,
  reg: Registration,
  d: DecisionEvent,
  rec: VerifierDecision,
  record: RecordedFacts,
  rimDir: string | undefined,
): Promise<string[]> {
  // the RIMs recomputed from must be the ones the verifier judged, whatever the verdict
  const problems = rimDifferences(record.nvidia?.rims, rec.facts?.nvidia?.rims ?? [], rimDir)
  const verdict = d.approved ? approvalProblem(d, rec) : await rejectionProblem(client, reg, d, rec)
  return verdict ? [...problems, verdict] : problems
}

/** An approval must be recomputed as one, with the same power and the identity (EK or chip id) the evidence proves. */
function approvalProblem(d: DecisionEvent, rec: VerifierDecision): string | undefined {
  if (!rec.approve) return 'approved, but the recomputation rejects'
  if (d.power !== rec.power) return `power differs: ${d.power} on chain, ${rec.power} recomputed (${rec.powerNote ?? rec.kind})`
  if (rec.ekId && d.ekId?.toLowerCase() !== rec.ekId.toLowerCase()) return `EK id differs: ${d.ekId} on chain, ${rec.ekId} from the evidence`
  if (rec.chipId && d.ekId?.toLowerCase() !== rec.chipId.toLowerCase()) return `chip id differs: ${d.ekId} on chain, ${rec.chipId} from the evidence`
  return undefined
}

/** A rejection of what the recomputation approves is consistent only as a credential challenge left unanswered. */
async function rejectionProblem(client: ChainClient, reg: Registration, d: DecisionEvent, rec: VerifierDecision): Promise<string | undefined> {
  if (!rec.approve) return undefined
  if (rec.needsActivation && d.reason?.startsWith(ACTIVATION_TIMEOUT_REASON)) return activationTimeoutProblem(client, reg, d)
  return 'rejected, but the recomputation approves'
}

/** An activation timeout needs a challenge posted between the registration and the rejection, and no answer to it. */
async function activationTimeoutProblem(client: ChainClient, reg: Registration, d: DecisionEvent): Promise<string | undefined> {
  const [posted] = await credentialChallenges(client, {fromBlock: reg.blockNumber, toBlock: d.blockNumber, regId: d.regId})
  if (!posted) return 'rejected as an unanswered credential challenge, but no challenge was posted'
  if ((await registrationState(client, d.regId)).activated) return 'rejected as an unanswered credential challenge, but the operator answered it'
  return undefined
}

/** One row of the report: the on-chain decision beside its recomputation, and what is wrong. */
function mismatchOf(d: DecisionEvent, rec: VerifierDecision, problem: string): AuditMismatch {
  return {
    regId: d.regId,
    deviceId: d.deviceId,
    kind: rec.kind,
    problem,
    onChain: {approved: d.approved, power: d.power?.toString(), ekId: d.ekId, reason: d.reason, txHash: d.txHash, verifier: d.verifier},
    recomputed: {approve: rec.approve, power: rec.power.toString(), model: rec.model, ekId: rec.ekId, chipId: rec.chipId, reasons: rec.reasons},
  }
}
