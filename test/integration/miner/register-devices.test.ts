/**
 * `registerDevices` paths the CLI flow (devices-flow.test.ts) does not reach: a pending registration
 * resumed, a chip already bound elsewhere, and a chip whose registration fails. Real anvil and Poci,
 * emulator hosts approved under their operators, Sophgo chips behind the stub libbmlib.so (native/),
 * each signing with its own stand-in key listed in a catalogue signed with the DEVNET catalogue key,
 * and the real verifier service deciding the chips' registrations.
 */
import {createPrivateKey, createPublicKey} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {release} from '../../../src/chain/approve.js'
import {DeviceKind} from '../../../src/chain/artifacts.js'
import {deviceState} from '../../../src/chain/device-state.js'
import {registrationNonce} from '../../../src/chain/register.js'
import {registrations} from '../../../src/chain/registrations.js'
import type {ChainClient} from '../../../src/chain/client.js'
import type {ResolvedConfig} from '../../../src/config/index.js'
import {signCatalogue} from '../../../src/hw/sophgo/catalogue.js'
import type {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {registerDevices, type RegisterDevicesOptions} from '../../../src/miner/register-devices.js'
import type {DeviceLocator} from '../../../src/miner/attest-devices.js'
import type {MinerSession} from '../../../src/miner/miner-session.js'
import {buildStubs, fixture, tempDir, writeConfig} from '../accelerators/stubs.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {approveHost, registerDevice, reverted, rpc, rsaDevice, rsaKey, type RsaKey} from '../chain/helpers.js'
import {devnetPolicy, emulatorEngine, registerHostWith, verifierPass} from '../verifier/helpers.js'

const RIG = fixture('sysfs/gpu-asic-rig')
/** The two chip slots of the rig the bmlib stub's chips are matched to (0000:3b:00.0, 0000:5e:00.0). */
const SLOTS = [0x3b << 8, 0x5e << 8]

/** A stand-in chip key: the stub signs with `key`, reports `pub` (PEM files), and the chain knows it as `id`. */
interface ChipKey {
  rsa: RsaKey
  id: string
  pub: string
  key: string
}

describe('registerDevices: resume, bound elsewhere, failure (real anvil, bmlib stub, verifier service)', () => {
  const chain = pociSuite(['op', 'rival', 'broke'])
  const dir = tempDir('unet-regdev-')
  const chips: ChipKey[] = []
  let locator: DeviceLocator
  let policy: ReturnType<typeof devnetPolicy>

  beforeAll(() => {
    locator = {sysfsRoot: RIG, bmlibPath: buildStubs().bmlib, nvmlPath: '/nonexistent/libnvidia-ml.so.1', amdsmiPath: '/nonexistent/libamd_smi.so'}
    writeFileSync(join(dir, 'p2'), Buffer.alloc(1680, 5))
    for (let i = 0; i < 7; i++) {
      const rsa = rsaKey()
      const chip = {rsa, id: rsaDevice(rsa).deviceId, pub: join(dir, `pubkey_${i}`), key: join(dir, `chip${i}.key`)}
      writeFileSync(chip.key, rsa.privateKey.export({type: 'pkcs8', format: 'pem'}))
      writeFileSync(chip.pub, createPublicKey(rsa.privateKey).export({type: 'pkcs1', format: 'pem'}))
      chips.push(chip)
    }
    // every chip key listed as a BM1684 (power 17), so the verifier approves a chip that proves its key
    const catalogue = signCatalogue(
      {version: 1, issuer: 'UNET DEVNET CATALOGUE - register-devices test', issuedAt: 1, chips: chips.map((c) => ({keyId: c.id, model: 'BM1684'}))},
      createPrivateKey(readFileSync(fixture('sophgo-catalogue/devnet-catalogue-key.pem'), 'latin1')),
    )
    policy = devnetPolicy({sophgoCatalogue: catalogue, sophgoCatalogueKeys: [readFileSync(fixture('sophgo-catalogue/devnet-catalogue-pub.pem'), 'latin1')]})
  })

  afterEach(() => {
    delete process.env.UNET_BMLIB_STUB_CONFIG
  })

  let rigs = 0
  /**
   * The stub reports these chips (BM1684s in the rig's slots); `signsWith` gives a chip another chip's
   * private key. A new file each time: the stub rereads its config only when the path changes.
   */
  function rig(...on: Array<{chip: ChipKey; signsWith?: ChipKey}>): void {
    const entries: Record<string, string | number> = {device_count: on.length, driver_version: (0 << 16) | (4 << 8) | 8}
    on.forEach(({chip, signsWith}, i) =>
      Object.assign(entries, {
        [`chip${i}.chipid`]: 0x1684,
        [`chip${i}.sn`]: `REGDEV-${chips.indexOf(chip)}`,
        [`chip${i}.domain_bdf`]: SLOTS[i]!,
        [`chip${i}.mem_total_mb`]: 10694,
        [`chip${i}.p2`]: join(dir, 'p2'),
        [`chip${i}.pubkey`]: chip.pub,
        [`chip${i}.key`]: (signsWith ?? chip).key,
      }),
    )
    process.env.UNET_BMLIB_STUB_CONFIG = writeConfig(dir, `bmlib-${++rigs}.conf`, entries)
  }

  /** An emulator host registered and approved under `op`, and the session the agent would open on it. */
  async function approvedHost(op: ChainClient, engine?: EmulatorEngine): Promise<{session: MinerSession; engine: EmulatorEngine}> {
    const hostEngine = engine ?? (await emulatorEngine())
    const host = await registerHostWith(op, hostEngine)
    await approveHost(chain.verifier, op, host)
    const session: MinerSession = {
      resolved: {} as ResolvedConfig, // not read by registerDevices
      client: op,
      engine: hostEngine,
      identity: await hostEngine.identity(),
      hostId: host.deviceId,
      hostKind: DeviceKind.HOST_EMULATOR,
      operator: op.signer!.address,
      payout: op.signer!.address,
      close: () => undefined,
    }
    return {session, engine: hostEngine}
  }

  const cursorFile = join(dir, 'verifier-cursor.json')
  /** One pass of the verifier service over every registration since the deployment (the cursor carries on). */
  const verify = () => verifierPass(chain.verifier, {policy, cursorFile, fromBlock: chain.deployed.blockNumber})

  /** Every operator's Registered events of `deviceId`. */
  async function registeredOf(deviceId: string, operator?: string) {
    return (await registrations(chain.op, {fromBlock: chain.deployed.blockNumber, operator})).filter((r) => r.deviceId === deviceId)
  }

  /** registerDevices with the progress lines kept; `onLine` sees each as it comes. */
  async function run(session: MinerSession, options: Partial<RegisterDevicesOptions> & {onLine?: (line: string) => void} = {}) {
    const lines: string[] = []
    const result = await registerDevices(session, locator, {
      waitMs: 0,
      ...options,
      onProgress: (m) => {
        lines.push(m)
        options.onLine?.(m)
      },
    })
    return {...result, lines}
  }

  /** Chip `i` alone in the rig, registered (pending) by the rival from its own approved host. */
  async function rivalRegisters(i: number) {
    const chip = chips[i]!
    rig({chip})
    const rivalHost = await approvedHost(chain.rival)
    const theirs = (await run(rivalHost.session)).devices[0]!
    return {chip, rivalHost, theirs}
  }

  it('resumed: a pending registration under this host is waited on, not sent again (one Registered event, nonce 1), and the verifier approves it', async () => {
    const [chip] = chips as [ChipKey]
    rig({chip})
    const {session} = await approvedHost(chain.op)
    const first = await run(session)
    expect(first.devices).toEqual([
      expect.objectContaining({deviceId: chip.id, kind: 'rsa2048', action: 'registered', status: 'pending', approved: false, txHash: expect.any(String)}),
    ])
    const {regId, device} = first.devices[0]!

    // the verifier decides only once the second run has found the pending registration (else it would be bound, not resumed)
    let verifying: Promise<unknown> | undefined
    const again = await run(session, {waitMs: 60_000, onLine: (m) => m.includes('resuming the pending registration') && (verifying = verify())})
    await verifying
    expect(again.devices).toEqual([
      {deviceId: chip.id, regId, kind: 'rsa2048', device, hostId: session.hostId, action: 'resumed', status: 'approved', approved: true, power: '17'},
    ])
    expect(again.lines).toContain(`${device}: resuming the pending registration ${regId}`)
    expect(again.lines.filter((l) => /signing the registration challenge|sending the register transaction/.test(l))).toEqual([])
    expect(await registrationNonce(chain.op, chip.id)).toBe(1n)
    expect((await registeredOf(chip.id)).map((r) => r.regId)).toEqual([regId])
    expect(await deviceState(chain.op, chip.id)).toMatchObject({status: 'approved', operator: chain.op.signer!.address, hostId: session.hostId, regId})
  }, 120_000)

  it("not resumed: another operator's pending registration of the chip, nor ours under an earlier registration of the host (it can never be approved)", async () => {
    // the rival, on its own host, has the chip's registration pending: ours is a new one, not the rival's resumed
    const {chip, theirs} = await rivalRegisters(1)
    expect(theirs).toMatchObject({action: 'registered', status: 'pending'})
    const ours = await approvedHost(chain.op)
    const mine = (await run(ours.session)).devices[0]!
    expect(mine).toMatchObject({action: 'registered', status: 'pending', txHash: expect.any(String)})
    expect(mine.regId).not.toBe(theirs.regId)

    // the host released and registered again: the chip's pending registration names the old host registration
    await release(chain.op, {deviceId: ours.session.hostId})
    await approvedHost(chain.op, ours.engine)
    const afresh = (await run(ours.session)).devices[0]!
    expect(afresh).toMatchObject({action: 'registered', status: 'pending', txHash: expect.any(String)})
    expect(afresh.regId).not.toBe(mine.regId)
    expect(await registrationNonce(chain.op, chip.id)).toBe(3n)
    expect((await registeredOf(chip.id)).map((r) => r.regId)).toEqual([theirs.regId, mine.regId, afresh.regId])
  }, 120_000)

  it('bound to another operator: refused with where it is bound, nothing sent; a direct register with a valid proof reverts AlreadyBound', async () => {
    const {chip, rivalHost, theirs} = await rivalRegisters(2)
    await verify()
    expect(await deviceState(chain.rival, chip.id)).toMatchObject({status: 'approved', operator: chain.rival.signer!.address})

    // the same chip in the attacker's machine, under the attacker's approved host
    const {session} = await approvedHost(chain.op)
    const out = await run(session)
    const rival = chain.rival.signer!.address
    expect(out.devices).toEqual([
      {
        deviceId: chip.id,
        regId: theirs.regId,
        kind: 'rsa2048',
        device: theirs.device,
        hostId: session.hostId,
        action: 'bound-elsewhere',
        status: 'approved',
        approved: false,
        power: '0',
        reason: `bound to operator ${rival} on host ${rivalHost.session.hostId}: release it there first`,
      },
    ])
    expect(out.lines.filter((l) => /signing the registration challenge|sending the register transaction/.test(l))).toEqual([])

    // past the agent: the chip's own key signs the attacker's register challenge; the contract still refuses it
    const stolen = await reverted(registerDevice(chain.op, rsaDevice(chip.rsa), session.hostId))
    expect(stolen).toEqual({name: 'AlreadyBound', args: {deviceId: chip.id, operator: rival}})
    expect(await deviceState(chain.op, chip.id)).toMatchObject({status: 'approved', operator: rival, hostId: rivalHost.session.hostId, regId: theirs.regId})
    expect(await registrationNonce(chain.op, chip.id)).toBe(1n)
    expect(await registeredOf(chip.id, chain.op.signer!.address)).toEqual([])
  }, 120_000)

  it('bound to this operator on another host: bound elsewhere (not approved here), with that host, nothing sent, the binding stays where it is', async () => {
    const chip = chips[3]!
    rig({chip})
    const first = await approvedHost(chain.op)
    const bound = (await run(first.session)).devices[0]!
    await verify()
    const second = await approvedHost(chain.op)
    const out = await run(second.session)
    expect(out.devices).toEqual([
      expect.objectContaining({
        deviceId: chip.id,
        regId: bound.regId,
        hostId: second.session.hostId,
        action: 'bound-elsewhere',
        approved: false,
        power: '0',
        reason: `bound to this operator on host ${first.session.hostId}: release it there first`,
      }),
    ])
    expect(out.devices[0]).not.toHaveProperty('txHash')
    expect(await deviceState(chain.op, chip.id)).toMatchObject({status: 'approved', hostId: first.session.hostId, regId: bound.regId})
    expect(await registrationNonce(chain.op, chip.id)).toBe(1n)
  }, 120_000)

  it('failed: a chip reporting a listed key it cannot sign for is refused before anything is sent, with the reason; the chip after it still registers', async () => {
    const [claimed, honest] = [chips[4]!, chips[5]!]
    // the first chip reports the catalogued key of `claimed` but signs with `honest`'s key (a copied public key file)
    rig({chip: claimed, signsWith: honest}, {chip: honest})
    const {session} = await approvedHost(chain.op)
    const out = await run(session)
    const [bad, good] = out.devices
    expect(out.devices).toHaveLength(2)
    expect(bad).toEqual({
      deviceId: claimed.id,
      kind: 'rsa2048',
      device: bad!.device,
      hostId: session.hostId,
      action: 'failed',
      status: 'none',
      approved: false,
      power: '0',
      // the driver layer (hw/sophgo/attest) checks the signature of chip 0 (its bmlib device id) against its public key file
      reason: 'chip 0 produced a signature its public key does not verify (the pubkey file does not belong to this chip)',
    })
    expect(good).toMatchObject({deviceId: honest.id, action: 'registered', status: 'pending', txHash: expect.any(String)})
    // nothing of the failed chip on chain: no registration, its nonce unused; the host untouched
    expect(await registrationNonce(chain.op, claimed.id)).toBe(0n)
    expect(await registeredOf(claimed.id)).toEqual([])
    expect(await deviceState(chain.op, claimed.id)).toMatchObject({status: 'none'})
    expect(await deviceState(chain.op, session.hostId)).toMatchObject({status: 'approved', operator: chain.op.signer!.address})
  }, 120_000)

  it('failed: the register transaction cannot be paid for; the outcome says why, nothing is on chain, and a funded re-run registers', async () => {
    const chip = chips[6]!
    rig({chip})
    const {session} = await approvedHost(chain.broke)
    const address = chain.broke.signer!.address
    await rpc(chain.url, 'anvil_setBalance', [address, '0x0'])
    const out = await run(session)
    expect(out.devices).toEqual([
      {
        deviceId: chip.id,
        kind: 'rsa2048',
        device: expect.any(String),
        hostId: session.hostId,
        action: 'failed',
        status: 'none',
        approved: false,
        power: '0',
        reason: 'register: the operator account cannot pay for gas (fund the operator address (`unet wallet address`))',
      },
    ])
    expect(await registrationNonce(chain.broke, chip.id)).toBe(0n)
    expect(await registeredOf(chip.id)).toEqual([])
    expect(await deviceState(chain.broke, session.hostId)).toMatchObject({status: 'approved'})

    await rpc(chain.url, 'anvil_setBalance', [address, '0x56bc75e2d63100000'])
    expect((await run(session)).devices[0]).toMatchObject({action: 'registered', status: 'pending', txHash: expect.any(String)})
    expect(await registrationNonce(chain.broke, chip.id)).toBe(1n)
  }, 120_000)
})
