/** `unet verify nvidia-evidence` (subprocess) on a really signed PPCIE machine: 8 GPUs + 4 NVSwitches pass, a GPU linked elsewhere fails. */
import {randomBytes} from 'node:crypto'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {makeHome, runCli} from '../../helpers/cli.js'
import {nvidiaEvidenceArgs} from '../../helpers/nvidia-cli.js'
import {gpuLinks, ppcieDevices, ppcieEvidenceJson, ppcieGpuOpaque, testPpcieMachine} from '../../helpers/ppcie-machine.js'

describe('unet verify nvidia-evidence: PPCIE topology', () => {
  it('the consistent machine: exit 0, 12 lines; a GPU linked to another switch: exit 10 naming it', async () => {
    const m = testPpcieMachine()
    const nonce = Uint8Array.from(randomBytes(32))
    // the test root is trusted through the profile, as a deployment adds an NVIDIA root
    const home = makeHome()
    mkdirSync(home.configDir, {recursive: true})
    const rootPem = join(home.configDir, 'gpu-root.pem')
    writeFileSync(rootPem, m.root.pem)
    writeFileSync(join(home.configDir, 'config.json'), JSON.stringify({networks: {devnet: {trustRoots: {nvidia: [rootPem]}}}}), {mode: 0o600})
    const verify = async (name: string, devices: ReturnType<typeof ppcieDevices>) => {
      const file = join(home.configDir, name)
      writeFileSync(file, ppcieEvidenceJson([...devices.gpus, ...devices.switches], nonce))
      return runCli(nvidiaEvidenceArgs({evidence: file, nonce: Buffer.from(nonce).toString('hex')}), {home})
    }

    const good = await verify('good.json', ppcieDevices(m))
    expect(good.code, good.stderr).toBe(0)
    expect(
      good.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('  ')[0]),
    ).toEqual([...Array.from({length: 8}, (_, i) => `entry ${i}: valid hopper`), ...Array.from({length: 4}, (_, i) => `entry ${i + 8}: valid ls10`)])

    const bad = ppcieDevices(m)
    bad.gpus[6]!.opaque = ppcieGpuOpaque(gpuLinks([...m.switchPdis.slice(0, 3), Uint8Array.from(randomBytes(8))]))
    const r = await verify('bad.json', bad)
    expect(r.code).toBe(10)
    expect(r.stderr).toMatch(/PPCIE topology: entry 6 \(GPU\): links to switches \{.*\}, entry 0 to \{.*\}: every GPU must link to the same switches/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
