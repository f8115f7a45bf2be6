import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {DeviceKind} from '../../../src/chain/artifacts.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {connect, disconnect, type ChainClient} from '../../../src/chain/client.js'
import {devnetProfile, isAlive} from '../../../src/chain/devnet.js'
import {heartbeat} from '../../../src/chain/heartbeat.js'
import {register, registrationNonce} from '../../../src/chain/register.js'
import {getStatus} from '../../../src/chain/status.js'
import {encodeEvidence, heartbeatChallenge, quoteQualifyingData, registerChallenge} from '../../../src/evidence/index.js'
import {EmulatorEngine} from '../../../src/hw/emulator/engine.js'
import {buildHostEvidence} from '../../../src/hw/engine.js'
import {leftPad, parseSignature} from '../../../src/hw/tpm2/structures.js'
import {concatBytes} from '../../../src/util/hex.js'
import {makeHome, runCli, type Home} from '../../helpers/cli.js'
import {devnetDecisionsWhen} from '../../helpers/decisions.js'
import {freePort} from '../../helpers/swtpm.js'
import {fundedKey, mine, p256Key, p256Sign, rpc} from './helpers.js'

interface StartJson {
  rpcUrl: string
  chainId: number
  contracts: {registry: string; heartbeat: string; rewards: string; token: string}
  pid: number
  epochBlocks: number
}

/** Quote → raw x‖y, attest, r, s as the contract wants them. */
function rawQuote(attest: Uint8Array, signature: Uint8Array) {
  const sig = parseSignature(signature)
  if (sig.alg !== 'ecdsa') throw new Error('expected ECDSA')
  return {attest, r: Uint8Array.from(leftPad(sig.r, 32)), s: Uint8Array.from(leftPad(sig.s, 32))}
}

describe('unet devnet start/status/stop (real anvil binary, subprocess CLI)', () => {
  let home: Home
  let started: StartJson
  let port: number
  let op: ChainClient | undefined
  let operatorAddress: string

  beforeAll(async () => {
    home = makeHome()
    const wallet = await runCli(['wallet', 'create', '--json'], {home, env: {UNET_PASSWORD: 'devnet-test'}})
    expect(wallet.code, wallet.stderr).toBe(0)
    operatorAddress = wallet.json<{address: string}>().address
    port = await freePort()
    const r = await runCli(['devnet', 'start', '--json', '--port', String(port), '--epoch-seconds', '60'], {home, timeoutMs: 90_000})
    expect(r.code, r.stderr + r.stdout).toBe(0)
    started = r.json<StartJson>()
  }, 120_000)

  afterAll(async () => {
    if (op) disconnect(op)
    await runCli(['devnet', 'stop'], {home})
  })

  it('prints rpcUrl/chainId/contracts, every address has code, funds the operator wallet, and writes the devnet profile', async () => {
    expect(started.rpcUrl).toBe(`http://127.0.0.1:${port}`)
    expect(started.chainId).toBe(31337)
    expect(started.epochBlocks).toBe(60)
    for (const address of Object.values(started.contracts))
      expect(((await rpc(started.rpcUrl, 'eth_getCode', [address, 'latest'])) as string).length).toBeGreaterThan(2)
    const config = JSON.parse(readFileSync(join(home.configDir, 'config.json'), 'utf8')) as {
      networks: {devnet: {rpcUrls: string[]; contracts: Record<string, string>}}
    }
    expect(config.networks.devnet.rpcUrls).toEqual([started.rpcUrl])
    expect(config.networks.devnet.contracts).toEqual(started.contracts)
    expect(BigInt((await rpc(started.rpcUrl, 'eth_getBalance', [operatorAddress, 'latest'])) as string)).toBe(1000n * 10n ** 18n)
    const status = await runCli(['devnet', 'status', '--json'], {home})
    expect(status.code).toBe(0)
    expect(status.json()).toMatchObject({
      running: true,
      rpcUrl: started.rpcUrl,
      chainId: 31337,
      contracts: started.contracts,
      pid: started.pid,
      epochBlocks: 60,
      epochSeconds: 60,
    })
    // epochs are counted in blocks from the deployment block: a block a second, 60 blocks an epoch
    const s = status.json<{epoch: number; blocksLeft: number; blockNumber: number}>()
    expect(s.epoch).toBeGreaterThanOrEqual(1)
    expect(s.blocksLeft).toBeGreaterThanOrEqual(0)
    expect(s.blocksLeft).toBeLessThan(60)
  })

  it('a second start reports the running devnet; a start on a taken port fails with DEVNET_ERROR', async () => {
    const again = await runCli(['devnet', 'start', '--json', '--port', String(port)], {home})
    expect(again.code).toBe(0)
    expect(again.json()).toMatchObject({alreadyRunning: true, pid: started.pid})
    const taken = await runCli(['devnet', 'start', '--json', '--port', String(port)], {timeoutMs: 60_000})
    expect(taken.code).toBe(14)
    expect(taken.json<{error: {message: string; hint: string}}>().error.message).toMatch(new RegExp(`port ${port} is already in use`))
  }, 90_000)

  it('refuses a missing anvil binary with a hint to --anvil-path', async () => {
    const r = await runCli(['devnet', 'start', '--json', '--port', String(await freePort()), '--anvil-path', '/nonexistent/anvil'], {timeoutMs: 60_000})
    expect(r.code).toBe(14)
    expect(r.json<{error: {hint: string}}>().error.hint).toMatch(/--anvil-path/)
  }, 90_000)

  it('the automatic verifier approves an emulator host whose evidence verifies, and rejects one without evidence', async () => {
    const key = await fundedKey(started.rpcUrl)
    op = await connect(devnetProfile(started.rpcUrl, started.contracts), {privateKey: key})
    const operator = op.signer!.address
    const contract = started.contracts.registry
    const engine = await EmulatorEngine.open({dataDir: makeHome().dataDir, pcrs: [0, 1]})
    const id = await engine.identity()
    const publicKey = id.publicKey.length === 65 ? id.publicKey.subarray(1) : id.publicKey
    const challengeOf = async (deviceId: string, hostId: string) =>
      registerChallenge({chainId: 31337n, contract, operator, payout: operator, deviceId, hostId, nonce: await registrationNonce(op!, deviceId)})
    const challenge = await challengeOf(id.deviceId, id.deviceId)
    const evidence = await buildHostEvidence(engine, {qualifyingData: challenge, challenge})
    const q = rawQuote(evidence.quote.attest, evidence.quote.signature)
    const reg = await register(op, {
      kind: DeviceKind.HOST_EMULATOR,
      publicKey,
      payout: operator,
      proof: concatBytes(q.attest, q.r, q.s),
      evidence: encodeEvidence(evidence),
    })
    expect(reg.deviceId).toBe(id.deviceId)

    type Decision = {regId: string; deviceId: string; approve: boolean; reasons: string[]}
    // the verifier appends its record after its transaction: wait for it (the file may not exist yet)
    const decided = async (regId: string) =>
      (await devnetDecisionsWhen<Decision>(home.dataDir, (all) => all.some((d) => d.regId === regId), 30_000)).find((d) => d.regId === regId)
    expect(await decided(reg.regId)).toMatchObject({approve: true, reasons: []})

    // devices register under an approved host only; on the devnet (allowEmulator) a P-256 key with a
    // valid proof of possession is approved
    const dev = p256Key()
    const {deviceIdOf} = await import('../../../src/evidence/nonce.js')
    const devId = '0x' + Buffer.from(deviceIdOf(dev.publicKey)).toString('hex')
    const devReg = await register(op, {
      kind: DeviceKind.P256,
      publicKey: dev.publicKey,
      payout: operator,
      hostId: id.deviceId,
      proof: p256Sign(dev, await challengeOf(devId, id.deviceId)).rs,
    })

    // a second emulator host without evidence: rejected
    const bare = p256Key()
    const bareId = '0x' + Buffer.from(deviceIdOf(bare.publicKey)).toString('hex')
    const {emulatorQuote} = await import('./helpers.js')
    const bq = emulatorQuote(bare, await challengeOf(bareId, bareId))
    const bareReg = await register(op, {kind: DeviceKind.HOST_EMULATOR, publicKey: bare.publicKey, payout: operator, proof: concatBytes(bq.attest, bq.r, bq.s)})

    expect(await decided(devReg.regId)).toMatchObject({approve: true})
    const refused = (await decided(bareReg.regId))!
    expect(refused.approve).toBe(false)
    expect(refused.reasons.join(' ')).toMatch(/must carry emulator evidence/)
    const status = await getStatus(op, {operator})
    expect(
      status.devices
        .filter((d) => d.approved)
        .map((d) => d.deviceId)
        .sort(),
    ).toEqual([id.deviceId, devId].sort())

    // and the approved host earns: one heartbeat with the emulator engine
    // Stay clear of an epoch boundary: blocks come every second, so a heartbeat built in an epoch's
    // last blocks could be mined in the next one (WrongEpoch), which is not what this test is about.
    let cb = await challengeBlock(op)
    while (cb.blocksLeft < 8n) {
      await new Promise((r) => setTimeout(r, 1000))
      cb = await challengeBlock(op)
    }
    const devices = [{deviceId: devId, kind: DeviceKind.P256, evidenceDigest: '0x' + '11'.repeat(32)}]
    const devChallenge = heartbeatChallenge({
      chainId: 31337n,
      contract: started.contracts.heartbeat,
      operator,
      hostId: devId,
      epoch: cb.epoch,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
    })
    const hbChallenge = heartbeatChallenge({
      chainId: 31337n,
      contract: started.contracts.heartbeat,
      operator,
      hostId: id.deviceId,
      epoch: cb.epoch,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
    })
    const quote = await engine.quote(quoteQualifyingData(hbChallenge, devices))
    const hq = rawQuote(quote.attest, quote.signature)
    const beat = await heartbeat(op, {
      epoch: cb.epoch,
      blockNumber: cb.blockNumber,
      blockHash: cb.blockHash,
      akPublicKey: publicKey,
      attest: hq.attest,
      signature: {r: hq.r, s: hq.s},
      devices: [{...devices[0]!, proof: concatBytes(dev.publicKey, p256Sign(dev, devChallenge).rs)}],
    })
    expect(beat.reward).toBe(101n * 10n ** 15n)
    engine.close()
  }, 90_000)

  it('stop kills it by pid and removes the pid file; status then says not running', async () => {
    const r = await runCli(['devnet', 'stop', '--json'], {home})
    expect(r.code).toBe(0)
    expect(r.json()).toMatchObject({stopped: true, pid: started.pid})
    expect(isAlive(started.pid)).toBe(false)
    const s = await runCli(['devnet', 'status', '--json'], {home})
    expect(s.json()).toMatchObject({running: false, saved: true})
  })

  it('a saved chain anvil cannot load is refused (DEVNET_ERROR, hint --fresh), never silently replaced; --fresh sets it aside', async () => {
    const stateFile = join(home.dataDir, 'devnet', 'anvil-state.json')
    writeFileSync(stateFile, '{"block": "not a chain"')
    const r = await runCli(['devnet', 'start', '--json', '--port', String(port)], {home, timeoutMs: 90_000})
    expect(r.code, r.stdout + r.stderr).toBe(14)
    const error = r.json<{error: {message: string; hint: string}}>().error
    expect(error.message).toMatch(/^cannot restore the devnet chain from .*anvil-state\.json/)
    expect(error.hint).toMatch(/--fresh/)
    expect(readFileSync(stateFile, 'utf8')).toBe('{"block": "not a chain"')

    const fresh = await runCli(['devnet', 'start', '--fresh', '--json', '--port', String(port)], {home, timeoutMs: 90_000})
    expect(fresh.code, fresh.stderr).toBe(0)
    expect(fresh.json()).toMatchObject({restored: false})
    expect(readFileSync(join(home.dataDir, 'devnet', 'anvil-state.previous.json'), 'utf8')).toBe('{"block": "not a chain"')
    expect((await runCli(['devnet', 'stop'], {home})).code).toBe(0)
  }, 120_000)

  it('a supervisor SIGKILLed (its anvil orphaned): the next start stops the orphan and restores the same chain on the same port', async () => {
    const started = await runCli(['devnet', 'start', '--json', '--port', String(port)], {home, timeoutMs: 90_000})
    expect(started.code, started.stderr).toBe(0)
    const before = await runCli(['devnet', 'status', '--json'], {home})
    const {genesisHash, blockNumber} = before.json<{genesisHash: string; blockNumber: number}>()
    const state = JSON.parse(readFileSync(join(home.dataDir, 'devnet', 'state.json'), 'utf8')) as {pid: number; anvilPid: number}
    process.kill(state.pid, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 3000))
    const died = await runCli(['devnet', 'status', '--json'], {home})
    expect(died.code).toBe(14)

    const again = await runCli(['devnet', 'start', '--json', '--port', String(port)], {home, timeoutMs: 90_000})
    expect(again.code, again.stdout + again.stderr).toBe(0)
    expect(again.json()).toMatchObject({restored: true, genesisHash})
    expect(isAlive(state.anvilPid)).toBe(false)
    const after = (await runCli(['devnet', 'status', '--json'], {home})).json<{restored: boolean; genesisHash: string; blockNumber: number}>()
    expect(after).toMatchObject({restored: true, genesisHash})
    // the orphan was stopped with SIGTERM (it dumps on exit), so no block it had was lost
    expect(after.blockNumber).toBeGreaterThanOrEqual(blockNumber)

    // a chain restored twice is still the same chain (anvil dumps its own new genesis beside the loaded
    // one), and its clock is wall time, not counted on from the genesis
    for (let restart = 0; restart < 2; restart++) {
      expect((await runCli(['devnet', 'stop'], {home})).code).toBe(0)
      const back = await runCli(['devnet', 'start', '--json', '--port', String(port)], {home, timeoutMs: 90_000})
      expect(back.code, back.stdout + back.stderr).toBe(0)
      expect(back.json()).toMatchObject({restored: true, genesisHash})
    }
    const {rpcUrl} = (await runCli(['devnet', 'status', '--json'], {home})).json<{rpcUrl: string}>()
    await mine(rpcUrl)
    const latest = (await rpc(rpcUrl, 'eth_getBlockByNumber', ['latest', false])) as {timestamp: string}
    expect(Math.abs(Number(BigInt(latest.timestamp)) - Date.now() / 1000)).toBeLessThan(30)
    expect((await runCli(['devnet', 'stop'], {home})).code).toBe(0)
  }, 240_000)
})
