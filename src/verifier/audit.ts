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
import {credentialChallenges, decisions, latestBlockNumber, registrations, registrationState, type Registration} from '../chain/registrations.js'
import {blockAt} from '../chain/verifier-reads.js'
import {decideRegistration, type VerifierPolicy} from './decide.js'
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

export async function auditDecisions(
  client: ChainClient,
  policy: VerifierPolicy,
  range: {fromBlock: number; toBlock?: number; chunkBlocks?: number},
  /** The facts recorded with each decision, by regId (records.ts readRecordedFacts). */
  recorded: ReadonlyMap<string, RecordedFacts> = new Map(),
): Promise<AuditReport> {
  const toBlock = range.toBlock ?? (await latestBlockNumber(client))
  const chunk = range.chunkBlocks ?? 5000
  const regs = new Map<string, Registration>()
  const onChain = []
  for (let from = range.fromBlock; from <= toBlock; from += chunk) {
    const to = Math.min(toBlock, from + chunk - 1)
    for (const r of await registrations(client, {fromBlock: from, toBlock: to})) regs.set(r.regId, r)
    onChain.push(...(await decisions(client, {fromBlock: from, toBlock: to})))
  }
  const report: AuditReport = {checked: 0, skipped: 0, mismatches: []}
  const rimDir = nvidiaCheckOf(policy).rimDir
  const times = new Map<number, Date>()
  const blockTime = async (n: number): Promise<Date> => {
    let t = times.get(n)
    if (!t) {
      t = new Date(((await blockAt(client, n))?.timestamp ?? 0) * 1000)
      times.set(n, t)
    }
    return t
  }
  for (const d of onChain) {
    const reg = regs.get(d.regId)
    if (!reg) {
      report.skipped++
      continue
    }
    const now = await blockTime(reg.blockNumber)
    const record = recorded.get(reg.regId.toLowerCase()) ?? {}
    // OCSP answers must be bound to this registration (its id and block) and not be asked after the decision
    const facts = await gatherRegistrationFacts(reg, policy, {now, recorded: record, decidedAt: await blockTime(d.blockNumber)})
    const rec = decideRegistration(reg, {...policy, chainId: client.chainId, contract: client.pociAddress!, now}, facts)
    report.checked++
    const mismatch = (problem: string) =>
      report.mismatches.push({
        regId: d.regId,
        deviceId: d.deviceId,
        kind: rec.kind,
        problem,
        onChain: {approved: d.approved, power: d.power?.toString(), ekId: d.ekId, reason: d.reason, txHash: d.txHash, verifier: d.verifier},
        recomputed: {approve: rec.approve, power: rec.power.toString(), model: rec.model, ekId: rec.ekId, chipId: rec.chipId, reasons: rec.reasons},
      })
    // the RIMs recomputed from must be the ones the verifier judged, whatever the verdict
    for (const problem of rimDifferences(record.nvidia?.rims, rec.facts?.nvidia?.rims ?? [], rimDir)) mismatch(problem)
    if (d.approved) {
      if (!rec.approve) mismatch('approved, but the recomputation rejects')
      else if (d.power !== rec.power) mismatch(`power differs: ${d.power} on chain, ${rec.power} recomputed (${rec.powerNote ?? rec.kind})`)
      else if (rec.ekId && d.ekId?.toLowerCase() !== rec.ekId.toLowerCase()) mismatch(`EK id differs: ${d.ekId} on chain, ${rec.ekId} from the evidence`)
      else if (rec.chipId && d.ekId?.toLowerCase() !== rec.chipId.toLowerCase())
        mismatch(`chip id differs: ${d.ekId} on chain, ${rec.chipId} from the evidence`)
      continue
    }
    if (!rec.approve) continue
    if (rec.needsActivation && d.reason?.startsWith(ACTIVATION_TIMEOUT_REASON)) {
      const [posted] = await credentialChallenges(client, {fromBlock: reg.blockNumber, toBlock: d.blockNumber, regId: d.regId})
      if (!posted) mismatch('rejected as an unanswered credential challenge, but no challenge was posted')
      else if ((await registrationState(client, d.regId)).activated) mismatch('rejected as an unanswered credential challenge, but the operator answered it')
      continue
    }
    mismatch('rejected, but the recomputation approves')
  }
  return report
}
