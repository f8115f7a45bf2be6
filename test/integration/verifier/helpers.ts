import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {DeviceKind, type DeviceKindValue} from '../../../src/chain/artifacts.js'
import type {ChainClient} from '../../../src/chain/client.js'
import {register, type RegisterResult} from '../../../src/chain/register.js'
import {encodeEvidence, type HostEvidence} from '../../../src/evidence/index.js'
import type {SecurityEngine} from '../../../src/hw/engine-types.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {leftPad, parseSignature} from '../../../src/hw/tpm2/structures.js'
import {concatBytes} from '../../../src/util/hex.js'
import type {VerifierPolicy} from '../../../src/verifier/decide.js'
import {runVerifier, type RunVerifierOptions, type VerifierRecord} from '../../../src/verifier/service.js'
import {currentRegisterChallenge} from '../chain/helpers.js'

export const tempDir = (prefix = 'unet-verifier-') => mkdtempSync(join(tmpdir(), prefix))

/** A fresh emulator host engine (its own key). */
export function emulatorEngine(): Promise<EmulatorEngine> {
  return EmulatorEngine.open({dataDir: tempDir('unet-emu-'), pcrs: [0, 1]})
}

/**
 * Registers a host as the agent does: evidence from `engine` over the v2 registration challenge, the
 * quote as proof. `edit` may rewrite the evidence before it goes on chain (attacks).
 */
export async function registerHostWith(
  op: ChainClient,
  engine: SecurityEngine,
  kind: DeviceKindValue = DeviceKind.HOST_EMULATOR,
  edit: (e: HostEvidence) => HostEvidence = (e) => e,
): Promise<RegisterResult & {evidence: HostEvidence}> {
  const id = await engine.identity()
  const operator = op.signer!.address
  const challenge = await currentRegisterChallenge(op, {payout: operator, deviceId: id.deviceId})
  const evidence = edit(await buildHostEvidence(engine, {qualifyingData: challenge, challenge}))
  const sig = parseSignature(evidence.quote.signature)
  if (sig.alg !== 'ecdsa') throw new Error('expected an ECDSA quote')
  const proof = concatBytes(evidence.quote.attest, leftPad(sig.r, 32), leftPad(sig.s, 32))
  const reg = await register(op, {kind, publicKey: id.publicKey, payout: operator, proof, evidence: encodeEvidence(evidence)})
  return {...reg, evidence}
}

/** One pass of the verifier service over `client`'s contract; returns the records it wrote. */
export async function verifierPass(
  client: ChainClient,
  options: {policy: VerifierPolicy; cursorFile: string; fromBlock: number} & Partial<RunVerifierOptions>,
): Promise<VerifierRecord[]> {
  const records: VerifierRecord[] = []
  const errors: Error[] = []
  await runVerifier(client, {pollMs: 50, ...options, once: true, onRecord: (r) => records.push(r), onError: (e) => errors.push(e)})
  if (errors.length > 0) throw new Error(`verifier errors: ${errors.map((e) => e.message).join('; ')}`)
  return records
}

/** The devnet's policy: emulators allowed, the NVIDIA check offline (OCSP off, CC not required) as the built-in devnet profile says. */
export const devnetPolicy = (extra: Partial<VerifierPolicy> = {}): VerifierPolicy => ({
  network: 'devnet',
  allowEmulator: true,
  tpmRoots: [],
  nvidia: {ocsp: 'off', requireCc: false},
  ...extra,
})
