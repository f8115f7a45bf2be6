/**
 * The agent's host monitor with NVML events (real anvil, the NVML stub standing in for the rig's two GPUs,
 * a real command hook and a real metrics endpoint): a GPU that reports Xid 79 opens "device-unhealthy"
 * with the Xid in its details, an application Xid on the other GPU is counted but opens nothing, and the
 * alert resolves once alerts.xidClearEpochs whole epochs pass without a new critical Xid.
 */
import {appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import {startMetricsServer, type MetricsServer} from '../../../src/agent/metrics.js'
import type {AlertMessage} from '../../../src/alerts/types.js'
import {challengeBlock} from '../../../src/chain/block.js'
import {disconnect} from '../../../src/chain/client.js'
import {loadConfig} from '../../../src/config/index.js'
import {NVML_EVENT} from '../../../src/hw/nvidia/ffi.js'
import {startHostMonitor, type HostMonitor} from '../../../src/miner/host-monitor.js'
import {buildStubs, rigNvml, tempDir, writeConfig} from '../accelerators/stubs.js'
import {clientFor, deployFresh, nextEpoch} from '../chain/helpers.js'
import {anvilUrl} from '../../helpers/env.js'
import {freePort} from '../../helpers/swtpm.js'
import {RecordingLogger} from '../../unit/agent/doubles.js'

const H100 = 'GPU-11111111-2222-3333-4444-555555555555/1654922001234'
const RTX = 'GPU-a5b0c4d2-7e61-4b3f-9c1e-0d2f6a8b9c10'
const XID = Number(NVML_EVENT.XID_CRITICAL)

describe('host monitor: NVML Xid events open and resolve device-unhealthy (real anvil, NVML stub)', () => {
  let monitor: HostMonitor | undefined
  let server: MetricsServer | undefined

  afterAll(async () => {
    await monitor?.close()
    await server?.close()
    delete process.env.UNET_NVML_STUB_CONFIG
  })

  it('Xid 79 fires with its number and meaning, Xid 13 does not; both are counted; resolved after the clearing window', async () => {
    const url = anvilUrl()
    const dep = await deployFresh(url, {epochBlocks: 12})
    const chain = await clientFor(url, dep.deployed.poci)
    const dir = tempDir('unet-xid-monitor-')
    const events = join(dir, 'events')
    writeFileSync(events, `0 ${XID} 13\n1 ${XID} 79\n`)
    process.env.UNET_NVML_STUB_CONFIG = writeConfig(dir, 'nvml.conf', rigNvml({'gpu0.event_types': '0xb', 'gpu1.event_types': '0xb', events}))
    const hookOut = join(dir, 'alerts.jsonl')
    const configDir = join(dir, 'config')
    mkdirSync(configDir)
    writeFileSync(
      join(configDir, 'config.json'),
      JSON.stringify({
        network: 'xidtest',
        networks: {
          xidtest: {
            chainId: 31337,
            rpcUrls: [url],
            contracts: {registry: dep.deployed.poci, heartbeat: dep.deployed.poci, rewards: dep.deployed.poci, token: dep.deployed.token},
            allowEmulator: true,
            blockSeconds: 1,
          },
        },
        nvmlPath: buildStubs().nvml,
        bmlibPath: join(dir, 'absent-libbmlib.so'),
        amdsmiPath: join(dir, 'absent-libamd_smi.so'),
        sysfsRoot: join(dir, 'no-sysfs'), // NVML alone lists the GPUs: no other device or fault
        alerts: {
          command: [process.execPath, '-e', `require('fs').appendFileSync(${JSON.stringify(hookOut)}, require('fs').readFileSync(0, 'utf8') + '\\n')`],
          xidClearEpochs: 1,
          rules: ['device-unhealthy'],
        },
      }),
    )
    const resolved = loadConfig({configDir, dataDir: join(dir, 'data'), cacheDir: join(dir, 'cache'), env: {}})
    const logger = new RecordingLogger()
    monitor = startHostMonitor(resolved, chain.signer!.address, logger)
    server = await startMetricsServer(`127.0.0.1:${await freePort()}`)
    monitor.attachMetrics(server)
    const told = () =>
      existsSync(hookOut)
        ? readFileSync(hookOut, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as AlertMessage)
        : []

    const look = async () => {
      monitor!.onTransition('Registered')
      await monitor!.idle()
    }

    const epoch = (await challengeBlock(chain)).epoch
    await look()
    expect(told().map((m) => [m.event, m.key])).toEqual([['firing', `device-unhealthy:${RTX}`]])
    const firing = told()[0]!
    expect(firing.details).toMatchObject({device: RTX, xid: '79'})
    expect(firing.summary).toBe(`device NVIDIA NVIDIA GeForce RTX 4090 0000:65:00.0 is unhealthy: Xid 79 (GPU has fallen off the bus) in epoch ${epoch}`)
    const body = await fetch(server.url).then((r) => r.text())
    expect(body).toContain(`unet_device_xid_total{device="${RTX}",xid="79"} 1`)
    expect(body).toContain(`unet_device_xid_total{device="${H100}",xid="13"} 1`)
    expect(body).toContain(`unet_device_healthy{device="${RTX}",vendor="NVIDIA",model="NVIDIA GeForce RTX 4090"} 0`)
    expect(body).toContain(`unet_device_healthy{device="${H100}",vendor="NVIDIA",model="NVIDIA H100 80GB HBM3"} 1`)
    expect(logger.lines.filter((l) => /^(GPU error|application Xid) on /.test(l.msg ?? '')).map((l) => [l.level, l.msg])).toEqual([
      ['info', 'application Xid on NVIDIA NVIDIA H100 80GB HBM3 0000:17:00.0: Xid 13 (graphics engine exception): the GPU stays healthy'],
      ['warn', 'GPU error on NVIDIA NVIDIA GeForce RTX 4090 0000:65:00.0: Xid 79 (GPU has fallen off the bus)'],
    ])

    // alerts.xidClearEpochs = 1: open through the next whole epoch, resolved in the one after; meanwhile
    // the GPU is gone from NVML's list (as after Xid 79), and the alert stays open under the watch's label
    const nvmlConf = process.env.UNET_NVML_STUB_CONFIG
    process.env.UNET_NVML_STUB_CONFIG = writeConfig(dir, 'nvml-one-gpu.conf', rigNvml({device_count: 1, 'gpu0.event_types': '0xb', events}))
    expect(await nextEpoch(url, chain)).toBe(epoch + 1n)
    await look()
    expect(told()).toHaveLength(1)
    expect(await fetch(server.url).then((r) => r.text())).not.toContain(`unet_device_healthy{device="${RTX}"`)
    process.env.UNET_NVML_STUB_CONFIG = nvmlConf
    expect(await nextEpoch(url, chain)).toBe(epoch + 2n)
    await look()
    expect(told().map((m) => [m.event, m.key, m.id])).toEqual([
      ['firing', `device-unhealthy:${RTX}`, firing.id],
      ['resolved', `device-unhealthy:${RTX}`, firing.id],
    ])
    expect(await fetch(server.url).then((r) => r.text())).toContain(`unet_device_healthy{device="${RTX}",vendor="NVIDIA",model="NVIDIA GeForce RTX 4090"} 1`)

    // the same event set, still registered: a new Xid is a new occurrence
    appendFileSync(events, `1 ${XID} 95\n`)
    await look()
    const again = told().at(-1)!
    expect([again.event, again.details.xid, again.id === firing.id]).toEqual(['firing', '95', false])
    disconnect(chain)
  }, 120_000)
})
