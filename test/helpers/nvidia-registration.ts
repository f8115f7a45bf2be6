import {DeviceKind} from '../../src/chain/artifacts.js'
import type {ChainClient} from '../../src/chain/client.js'
import {register, type RegisterResult} from '../../src/chain/register.js'
import {encodeEvidence} from '../../src/evidence/index.js'
import {deviceIdOf} from '../../src/evidence/nonce.js'
import {toAcceleratorEvidence} from '../../src/hw/inventory.js'
import {bytesToHex} from '../../src/util/hex.js'
import {currentRegisterChallenge} from '../integration/chain/helpers.js'
import {testReport, type TestFirmware, type TestReportOptions} from './nvidia-pki.js'
import {p384Sign} from './spdm-exchange.js'

export interface NvidiaRegistrationOptions {
  /** What the test firmware's report says (default: testReport's defaults). */
  report?: TestReportOptions
  /** Edits the report body after it is signed (for evidence that must fail the verifier's checks). */
  edit?: (body: Uint8Array) => Uint8Array
}

/**
 * Registers a test NVIDIA firmware's key under `hostId` as the agent does: a P-384 device whose evidence
 * is the firmware's report (and certificate chain) over the register challenge, proven with its key.
 */
export async function registerNvidiaGpu(
  client: ChainClient,
  fw: TestFirmware,
  hostId: string,
  options: NvidiaRegistrationOptions = {},
): Promise<RegisterResult> {
  const payout = client.signer!.address
  const deviceId = bytesToHex(deviceIdOf(fw.key.publicKey))
  const challenge = await currentRegisterChallenge(client, {payout, deviceId, hostId})
  const evidence = await toAcceleratorEvidence(
    {
      kind: 'nvidia-cc',
      uuid: 'GPU-00000000-0000-0000-0000-000000000000',
      nonce: challenge,
      report: testReport(fw, challenge, options.report),
      certChainPem: fw.chainPem,
    },
    challenge,
  )
  const body = options.edit ? options.edit(evidence.report.body) : evidence.report.body
  return register(client, {
    kind: DeviceKind.P384,
    publicKey: fw.key.publicKey,
    payout,
    hostId,
    proof: p384Sign(fw.key, challenge),
    evidence: encodeEvidence({...evidence, report: {...evidence.report, body}} as typeof evidence),
  })
}
