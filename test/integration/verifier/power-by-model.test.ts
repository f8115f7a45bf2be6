/**
 * Power by model on a real chain (anvil + Poci + the verifier service): three Sophgo chips behind the
 * bmlib stub (native/bmlib-stub), each signing its registration challenge with its own stand-in key,
 * listed in a chip catalogue signed with the DEVNET catalogue key (fixtures/sophgo-catalogue/PROVENANCE.md)
 * as BM1684, BM1684X, and BM1684 again for a chip whose driver reports the BM1684X chip id. The power
 * on chain is the catalogue model's (17, 32, 17): what the driver says is no evidence. The audit
 * recomputes the same.
 */
import {createPrivateKey, generateKeyPairSync} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/chain/artifacts.js'
import {register} from '../../../src/chain/register.js'
import {deviceIdOf, encodeEvidence} from '../../../src/evidence/index.js'
import {toAcceleratorEvidence} from '../../../src/hw/inventory.js'
import {attestSophgo} from '../../../src/hw/sophgo/attest.js'
import {signCatalogue, type SophgoModel} from '../../../src/hw/sophgo/catalogue.js'
import {rsaModulus} from '../../../src/hw/sophgo/verify-evidence.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {auditDecisions} from '../../../src/verifier/audit.js'
import type {DecisionRecord} from '../../../src/verifier/service.js'
import {buildStubs, fixture, writeConfig} from '../accelerators/stubs.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, currentRegisterChallenge} from '../chain/helpers.js'
import {devnetPolicy, emulatorEngine, registerHostWith, tempDir, verifierPass} from './helpers.js'

/** bmlib chip id (the driver's word) and the model the signed catalogue lists. */
const CHIPS: Array<{chipid: number; listed: SophgoModel}> = [
  {chipid: 0x1684, listed: 'BM1684'},
  {chipid: 0x1686, listed: 'BM1684X'},
  {chipid: 0x1686, listed: 'BM1684'},
]

describe('power by model: Sophgo BM1684 vs BM1684X through the bmlib stub (real anvil, verifier service, audit)', () => {
  const chain = pociSuite(['op'])
  let lib: string
  const dir = tempDir('unet-power-')
  const pubs: string[] = []

  beforeAll(async () => {
    lib = buildStubs().bmlib
    const entries: Record<string, string | number> = {device_count: CHIPS.length, driver_version: (0 << 16) | (4 << 8) | 8}
    CHIPS.forEach((c, i) => {
      const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
      writeFileSync(join(dir, `chip${i}.key`), privateKey.export({type: 'pkcs8', format: 'pem'}))
      writeFileSync(join(dir, `pubkey_${i}`), publicKey.export({type: 'pkcs1', format: 'pem'}))
      writeFileSync(join(dir, `p2_${i}`), Buffer.alloc(1680, i + 1))
      pubs.push(readFileSync(join(dir, `pubkey_${i}`), 'latin1'))
      Object.assign(entries, {
        [`chip${i}.chipid`]: c.chipid,
        [`chip${i}.sn`]: `POWER-TEST-${i}`,
        [`chip${i}.domain_bdf`]: (0x3b + i) << 8,
        [`chip${i}.p2`]: join(dir, `p2_${i}`),
        [`chip${i}.pubkey`]: join(dir, `pubkey_${i}`),
        [`chip${i}.key`]: join(dir, `chip${i}.key`),
      })
    })
    process.env.UNET_BMLIB_STUB_CONFIG = writeConfig(dir, 'bmlib.conf', entries)
  }, 120_000)
  afterEach(() => {
    delete process.env.UNET_BMLIB_STUB_CONFIG
  })

  it('approves each chip with the power of its catalogue model (17, 32, and 17 whatever the driver reports), names the model, and the audit agrees', async () => {
    process.env.UNET_BMLIB_STUB_CONFIG = join(dir, 'bmlib.conf')
    const ids = pubs.map((pem) => bytesToHex(deviceIdOf(rsaModulus(pem))))
    const catalogueKey = createPrivateKey(readFileSync(fixture('sophgo-catalogue/devnet-catalogue-key.pem'), 'latin1'))
    const catalogue = signCatalogue(
      {version: 1, issuer: 'UNET DEVNET CATALOGUE - power test', issuedAt: 1, chips: CHIPS.map((c, i) => ({keyId: ids[i]!, model: c.listed}))},
      catalogueKey,
    )
    const policy = devnetPolicy({
      sophgoCatalogue: catalogue,
      sophgoCatalogueKeys: [readFileSync(fixture('sophgo-catalogue/devnet-catalogue-pub.pem'), 'latin1')],
    })

    const host = await registerHostWith(chain.op, await emulatorEngine())
    await approveHost(chain.verifier, chain.op, host)
    const regs = []
    for (const [i] of CHIPS.entries()) {
      const payout = chain.op.signer!.address
      const challenge = await currentRegisterChallenge(chain.op, {payout, deviceId: ids[i]!, hostId: host.deviceId})
      const parts = await attestSophgo(i, challenge, {bmlibPath: lib})
      const evidence = encodeEvidence(await toAcceleratorEvidence(parts, challenge))
      regs.push(
        await register(chain.op, {kind: DeviceKind.RSA2048, publicKey: rsaModulus(pubs[i]!), payout, hostId: host.deviceId, proof: parts.signature, evidence}),
      )
    }

    const records = await verifierPass(chain.verifier, {policy, cursorFile: join(dir, 'cursor.json'), fromBlock: chain.deployed.blockNumber})
    const decisions = records.filter((r): r is DecisionRecord => (r as DecisionRecord).type === 'decision')
    expect(decisions.map((d) => [d.deviceId, d.outcome, d.power, d.model])).toEqual([
      [ids[0], 'approved', '17', 'Sophgo BM1684'],
      [ids[1], 'approved', '32', 'Sophgo BM1684X'],
      [ids[2], 'approved', '17', 'Sophgo BM1684'],
    ])
    expect(decisions.map((d) => d.regId)).toEqual(regs.map((r) => r.regId))
    expect(decisions[1]!.powerNote).toBe('Sophgo BM1684X (chip catalogue): 32 dense INT8 TOPS')
    const onChain = await Promise.all(ids.map(async (id) => ((await chain.op.poci!.getFunction('deviceInfo').staticCall(id)) as unknown[])[3]))
    expect(onChain).toEqual([17n, 32n, 17n])

    const audit = await auditDecisions(chain.op, policy, {fromBlock: chain.deployed.blockNumber})
    expect(audit.mismatches).toEqual([])
    expect(audit.checked).toBe(4)
  })
})
