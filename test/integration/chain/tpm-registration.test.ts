import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {decideRegistration} from '../../../src/verifier/decide.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {disconnect, type ChainClient} from '../../../src/chain/client.js'
import {register} from '../../../src/chain/register.js'
import {registrations} from '../../../src/chain/registrations.js'
import {encodeEvidence, registerChallenge} from '../../../src/evidence/index.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {Tpm2Engine} from '../../../src/hw/tpm2/engine.js'
import {leftPad, parseSignature} from '../../../src/hw/tpm2/structures.js'
import {concatBytes} from '../../../src/util/hex.js'
import {anvilUrl} from '../../helpers/env.js'
import {startSwtpm, type SwtpmHandle} from '../../helpers/swtpm.js'
import {clientFor, deployFresh, type Deployment} from './helpers.js'

/**
 * A host registered with unet's own TPM engine (tpm2-tss through koffi) on a private swtpm: the contract
 * accepts its quote over the register challenge, and the verifier's decision, recomputed from the
 * Registered event alone, approves it with the swtpm CA as trust root and refuses it without.
 */
describe('TPM host registration end to end (unet FFI + swtpm + contract + verifier)', () => {
  let tpm: SwtpmHandle
  let dep: Deployment
  let op: ChainClient

  beforeAll(async () => {
    tpm = await startSwtpm()
    dep = await deployFresh(anvilUrl(), {allowEmulator: false})
    op = await clientFor(anvilUrl(), dep.deployed.poci)
  })
  afterAll(() => {
    if (op) disconnect(op)
    if (dep) disconnect(dep.verifier)
    tpm?.stop()
  })

  it('registers on chain and is approved only under the right trust roots', async () => {
    const engine = await Tpm2Engine.open({tcti: tpm.tcti, akHandle: 0x81010002, pcrs: [0, 1, 2, 3]})
    try {
      const id = await engine.identity()
      const operator = op.signer!.address
      const challenge = registerChallenge({chainId: 31337n, contract: dep.deployed.poci, operator, payout: operator, deviceId: id.deviceId})
      const evidence = await buildHostEvidence(engine, {qualifyingData: challenge, challenge})
      const sig = parseSignature(evidence.quote.signature)
      if (sig.alg !== 'ecdsa') throw new Error('expected an ECDSA AK')
      const proof = concatBytes(evidence.quote.attest, leftPad(sig.r, 32), leftPad(sig.s, 32))
      const reg = await register(op, {kind: DeviceKind.HOST_TPM, publicKey: id.publicKey, payout: operator, proof, evidence: encodeEvidence(evidence)})
      expect(reg.deviceId).toBe(id.deviceId)

      const [event] = await registrations(op, {fromBlock: reg.blockNumber, toBlock: reg.blockNumber})
      const ctx = {chainId: 31337n, contract: dep.deployed.poci, allowEmulator: false, now: new Date()}
      const trusted = decideRegistration(event!, {...ctx, tpmRoots: loadTrustRoots([tpm.caRootPath, tpm.caIssuerPath])})
      expect(trusted.reasons).toEqual([])
      expect(trusted).toMatchObject({approve: true, kind: 'host-tpm', power: 10n})
      const untrusted = decideRegistration(event!, {...ctx, tpmRoots: []})
      expect(untrusted.approve).toBe(false)
      expect(untrusted.reasons.length).toBeGreaterThan(0)
    } finally {
      engine.close()
    }
  })
})
