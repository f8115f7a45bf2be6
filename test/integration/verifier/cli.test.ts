import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {approve} from '../../../src/chain/approve.js'
import {registrationState} from '../../../src/chain/registrations.js'
import {ExitCode} from '../../../src/errors/index.js'
import {encryptKeystore} from '../../../src/keys/keystore.js'
import {hexToBytes} from '../../../src/util/hex.js'
import {BIN, makeHome, runCli, type Home} from '../../helpers/cli.js'
import {decisionRecords} from '../../helpers/decisions.js'
import {pociSuite} from '../../helpers/poci-suite.js'
import {until} from '../../helpers/until.js'
import {emulatorHost, p256Device, registerDevice, registerHost} from '../chain/helpers.js'
import {emulatorEngine, registerHostWith} from './helpers.js'

interface Line {
  type: string
  regId: string
  outcome: string
}

/** `unet verifier run` as a real subprocess; resolves `exited` with its exit code. */
function startVerifier(home: Home, args: string[]): {child: ChildProcess; stderr: () => string; exited: Promise<number | null>} {
  const child = spawn(process.execPath, [BIN, 'verifier', 'run', ...args], {
    env: {PATH: process.env.PATH, HOME: process.env.HOME, ...home.env, UNET_PASSWORD: 'verifier-pass'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  child.stdout!.resume()
  return {child, stderr: () => stderr, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code)))}
}

describe('unet verifier run / audit (subprocess CLI, real anvil)', () => {
  const chain = pociSuite(['op'])
  let home: Home
  let decisionsFile: string
  let args: string[]

  const lines = (): Line[] => decisionRecords<Line>(decisionsFile)

  beforeAll(async () => {
    home = makeHome()
    const poci = chain.deployed.poci
    mkdirSync(home.configDir, {recursive: true})
    writeFileSync(
      join(home.configDir, 'config.json'),
      JSON.stringify({
        networks: {devnet: {rpcUrls: [chain.url], chainId: 31337, contracts: {registry: poci, heartbeat: poci, rewards: poci, token: chain.deployed.token}}},
      }),
      {mode: 0o600},
    )
    const keystore = join(home.configDir, 'verifier.json')
    writeFileSync(keystore, JSON.stringify(encryptKeystore(hexToBytes(chain.keys.verifier), 'verifier-pass')), {mode: 0o600})
    decisionsFile = join(home.dataDir, 'decisions.jsonl')
    args = [
      '--keystore',
      keystore,
      '--from-block',
      String(chain.deployed.blockNumber),
      '--decisions',
      decisionsFile,
      '--poll-ms',
      '200',
      '--spot-check-rate',
      '0',
    ]
  })

  it('decides, serves metrics, stops on SIGTERM with exit 0, and after a restart decides only what is new', async () => {
    const host = await registerHostWith(chain.op, await emulatorEngine())
    const bare = await registerHost(chain.op, emulatorHost())
    const run = startVerifier(home, [...args, '--metrics', '127.0.0.1:0'])
    await until('two decisions', () => (lines().length >= 2 ? true : undefined))
    const metricsUrl = await until('the metrics URL', () => /metrics at (\S+)/.exec(run.stderr())?.[1])
    const metrics = await (await fetch(metricsUrl)).text()
    expect(metrics).toMatch(/unet_verifier_decisions_total\{outcome="approved"\} 1/)
    expect(metrics).toMatch(/unet_verifier_decisions_total\{outcome="rejected"\} 1/)
    expect(metrics).toMatch(/unet_verifier_last_scanned_block \d+/)
    run.child.kill('SIGTERM')
    expect(await run.exited, run.stderr()).toBe(0)
    expect(existsSync(join(home.dataDir, 'verifier', 'cursor.json'))).toBe(true)

    const device = await registerDevice(chain.op, p256Device(), host.deviceId)
    const again = startVerifier(home, args)
    await until('the third decision', () => (lines().length >= 3 ? true : undefined))
    // give it a few more polls: nothing already decided comes back
    await new Promise((r) => setTimeout(r, 1000))
    again.child.kill('SIGTERM')
    expect(await again.exited, again.stderr()).toBe(0)

    expect(lines().map((l) => [l.regId, l.outcome])).toEqual([
      [host.regId, 'approved'],
      [bare.regId, 'rejected'],
      [device.regId, 'approved'],
    ])
    expect((await registrationState(chain.op, device.regId)).status).toBe('approved')
  }, 90_000)

  it(`audit --json: 0 mismatches after the service's decisions; a forged approval exits ${ExitCode.AUDIT_MISMATCH} and is listed`, async () => {
    const clean = await runCli(['verifier', 'audit', '--json', '--from-block', String(chain.deployed.blockNumber)], {home})
    expect(clean.code, clean.stderr).toBe(0)
    expect(clean.json()).toMatchObject({checked: 3, mismatches: []})

    const forged = await registerHost(chain.op, emulatorHost())
    await approve(chain.verifier, {regId: forged.regId, power: 1n})
    const dirty = await runCli(['verifier', 'audit', '--json', '--from-block', String(chain.deployed.blockNumber)], {home})
    expect(dirty.code, dirty.stderr).toBe(ExitCode.AUDIT_MISMATCH)
    const report = dirty.json<{checked: number; mismatches: Array<{regId: string; problem: string}>}>()
    expect(report.checked).toBe(4)
    expect(report.mismatches).toEqual([expect.objectContaining({regId: forged.regId, problem: 'approved, but the recomputation rejects'})])
  }, 60_000)
})
