import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {devnetDecisionsWhen} from '../helpers/decisions.js'
import {runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'
import {startSwtpm, type SwtpmHandle} from '../helpers/swtpm.js'

interface RegisterJson {
  devices: Array<{deviceId: string; regId: string; kind: string; engine: string; action: string; status: string; approved: boolean; power: string}>
}

/**
 * An honest TPM host on a real swtpm (EK certificate from its own local CA, which the devnet profile is
 * told to trust) through the real CLI against a real devnet: `unet register` sends the registration,
 * the devnet supervisor's verifier service posts MakeCredential(EK, AK name) on chain, register answers
 * it with TPM2_ActivateCredential on the swtpm, and the verifier approves with the EK id. Then it earns.
 */
describe('TPM host registration through credential activation (subprocess CLI, real devnet verifier, real swtpm)', () => {
  const devnet = devnetSuite()
  const home = devnet.home
  const env = {UNET_PASSWORD: 'register-tpm'}
  let tpm: SwtpmHandle
  let engine: string[]

  beforeAll(async () => {
    tpm = await startSwtpm()
    engine = ['--engine', 'tpm2', '--tcti', tpm.tcti]
    mkdirSync(home.configDir, {recursive: true})
    writeFileSync(join(home.configDir, 'config.json'), JSON.stringify({networks: {devnet: {trustRoots: {tpm: [tpm.caRootPath, tpm.caIssuerPath]}}}}), {
      mode: 0o600,
    })
    const wallet = await runCli(['wallet', 'create', '--json'], {home, env})
    expect(wallet.code, wallet.stderr).toBe(0)
    const started = await runCli(['devnet', 'start', '--port', String(devnet.port), '--json'], {home, env, timeoutMs: 120_000})
    expect(started.code, started.stdout + started.stderr).toBe(0)
  }, 180_000)

  afterAll(async () => {
    tpm?.stop()
  })

  it('register answers the credential challenge and is approved with the EK id; re-running reports it and sends nothing; the host earns', async () => {
    const r = await runCli(['register', ...engine, '--json', '--wait', '60'], {home, env, timeoutMs: 120_000})
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const [host] = r.json<RegisterJson>().devices
    expect(host).toMatchObject({kind: 'host-tpm', engine: 'tpm2', action: 'registered', status: 'approved', approved: true, power: '10'})

    // the verifier's records: the credential challenge first, then the approval with the EK id
    type Record = {regId?: string; outcome: string; ekId?: string}
    const records = await devnetDecisionsWhen<Record>(home.dataDir, (all) => all.some((d) => d.regId === host!.regId && d.outcome === 'approved'))
    const mine = records.filter((d) => d.regId === host!.regId)
    expect(mine.map((d) => d.outcome)).toEqual(['challenged', 'approved'])
    expect(mine[1]!.ekId).toMatch(/^0x[0-9a-f]{64}$/)

    const again = await runCli(['register', ...engine, '--json'], {home, env, timeoutMs: 60_000})
    expect(again.code, again.stderr).toBe(0)
    expect(again.json<RegisterJson>().devices[0]).toMatchObject({action: 'already-registered', approved: true, regId: host!.regId})

    // --once, retried once if the epoch ended under the first try (a normal `missed`)
    let hb = await runCli(['heartbeat', ...engine, '--once', '--json'], {home, env, timeoutMs: 120_000})
    if (hb.code !== 0 && /epoch ended before a heartbeat was confirmed/.test(hb.stdout))
      hb = await runCli(['heartbeat', ...engine, '--once', '--json'], {home, env, timeoutMs: 120_000})
    expect(hb.code, hb.stdout + hb.stderr).toBe(0)
    expect(hb.json<{epochs: Array<{result: string}>}>().epochs.map((e) => e.result)).toEqual(['confirmed'])
  }, 300_000)

  it('wallet set-payout: the current payout key (here the devnet default, the operator keystore) moves the payout; after that the operator key cannot', async () => {
    const hostId = (await runCli(['register', ...engine, '--json'], {home, env})).json<RegisterJson>().devices[0]!.deviceId
    const keystore = join(home.dataDir, 'keys', 'operator.json')
    const payoutEnv = {UNET_PAYOUT_PASSWORD: env.UNET_PASSWORD}
    const NEW_PAYOUT = '0x00000000000000000000000000000000000000a1'
    const moved = await runCli(['wallet', 'set-payout', '--host', hostId, '--payout', NEW_PAYOUT, '--keystore', keystore, '--json'], {home, env: payoutEnv})
    expect(moved.code, moved.stdout + moved.stderr).toBe(0)
    const m = moved.json<{payout: string; txHash: string}>()
    expect(m.payout.toLowerCase()).toBe(NEW_PAYOUT)
    expect(m.txHash).toMatch(/^0x[0-9a-f]{64}$/)
    const after = await runCli(['register', ...engine, '--json'], {home, env})
    expect(after.json<{devices: Array<{payout: string}>}>().devices[0]!.payout.toLowerCase()).toBe(NEW_PAYOUT)

    // the operator keystore is no longer the payout key: refused before any passphrase or transaction
    const again = await runCli(['wallet', 'set-payout', '--host', hostId, '--payout', NEW_PAYOUT.replace('a1', 'b2'), '--keystore', keystore], {home})
    expect(again.code, again.stderr).toBe(15)
    expect(again.stderr).toMatch(
      new RegExp(`^Error: the keystore holds 0x[0-9a-fA-F]{40}, but only the current payout address ${NEW_PAYOUT} may change the payout$`, 'mi'),
    )
  }, 120_000)
})
