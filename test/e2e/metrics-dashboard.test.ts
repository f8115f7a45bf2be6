import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, describe, expect, it} from 'vitest'

import type {AlertMessage} from '../../src/alerts/types.js'
import {buildStubs, fixture, REPO, rigNvml, tempDir, writeConfig} from '../integration/accelerators/stubs.js'
import {BIN, runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'
import {freePort} from '../helpers/swtpm.js'
import {until} from '../helpers/until.js'

interface Dashboard {
  panels: Array<{type: string; title: string; targets?: Array<{expr: string}>}>
  templating: {list: Array<{query: {query: string} | string}>}
}

const DASHBOARD = join(REPO, 'deploy', 'grafana', 'unet.json')

/** Every unet_* metric name a dashboard's queries use (panel targets and template variables). */
function queriedMetrics(d: Dashboard): string[] {
  const exprs = [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
    ...d.templating.list.map((v) => (typeof v.query === 'string' ? v.query : v.query.query)),
  ]
  return [...new Set(exprs.flatMap((e) => e.match(/\bunet_[a-z0-9_]+/g) ?? []))].sort()
}

/** The names a Prometheus text exposition declares (# TYPE), histograms with their _bucket/_sum/_count series. */
function exportedMetrics(body: string): Set<string> {
  const names = new Set<string>()
  for (const m of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!)
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1]! + s)
  }
  return names
}

function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of body.split('\n')) {
    if (!line.startsWith(name + '{')) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

/**
 * The agent's real endpoint, scraped while it runs on the devnet with the NVML stub standing in for two
 * GPUs (fixtures/sysfs/gpu-asic-rig): per-device series exist with the driver's values, and every metric
 * the shipped Grafana dashboard queries is one the agent really exports. The agent also runs the alert
 * rules itself and tells the command hook.
 */
describe('per-device metrics and the Grafana dashboard (devnet, real agent endpoint)', () => {
  const devnet = devnetSuite()
  const home = devnet.home
  let agent: ChildProcess | undefined

  afterAll(async () => {
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM')
      await new Promise((r) => agent!.once('close', r))
    }
  })

  it('the dashboard checker catches a metric the agent does not export', () => {
    const d = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard
    const bogus = structuredClone(d)
    bogus.panels.push({type: 'stat', title: 'typo', targets: [{expr: 'sum(unet_device_temprature_celsius)'}]})
    const exported = exportedMetrics('# TYPE unet_current_epoch gauge\n')
    expect(queriedMetrics(bogus).filter((m) => !exported.has(m))).toContain('unet_device_temprature_celsius')
  })

  it('scrapes per-device power, online, last credited epoch, temperature, utilisation; the dashboard queries only what is exported', async () => {
    const qs = await runCli(['quickstart', '--epochs', '1', '--port', String(devnet.port), '--epoch-seconds', '8', '--json'], {home, timeoutMs: 180_000})
    expect(qs.code, qs.stderr).toBe(0)
    const dir = tempDir()
    const events = join(dir, 'nvml-events')
    writeFileSync(events, '1 8 13\n') // <gpu index> <nvmlEventTypeXidCriticalError> <Xid>
    const hookOut = join(dir, 'alerts.jsonl')
    const stubs = buildStubs()
    const env = {
      UNET_NVML_PATH: stubs.nvml,
      UNET_BMLIB_PATH: join(dir, 'absent-libbmlib.so'),
      UNET_SYSFS_ROOT: fixture('sysfs/gpu-asic-rig'),
      // the RTX reports an application Xid (13): counted in unet_device_xid_total, no device fault
      UNET_NVML_STUB_CONFIG: writeConfig(
        dir,
        'nvml.conf',
        rigNvml({
          'gpu1.temperature': 71,
          'gpu1.power_usage_mw': 398500,
          'gpu0.temperature': 34,
          'gpu0.event_types': '0xb',
          'gpu1.event_types': '0xb',
          events,
        }),
      ),
      // the agent's own alert check: a runway threshold no operator meets opens gas-runway-low
      UNET_ALERTS_COMMAND: JSON.stringify([
        process.execPath,
        '-e',
        `require('fs').appendFileSync(${JSON.stringify(hookOut)}, require('fs').readFileSync(0, 'utf8') + '\\n')`,
      ]),
      UNET_ALERTS_GAS_RUNWAY_EPOCHS: String(10 ** 15),
    }
    const metricsPort = await freePort()
    agent = spawn(process.execPath, [BIN, 'heartbeat', '--metrics', `127.0.0.1:${metricsPort}`], {
      env: {...process.env, ...home.env, ...env},
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let log = ''
    agent.stderr!.on('data', (c: Buffer) => (log += c.toString()))

    const url = `http://127.0.0.1:${metricsPort}/metrics`
    let last = ''
    const body = await until(
      () => `the per-device series:\n${last.slice(0, 3000)}\n${log.slice(-3000)}`,
      async () => {
        last = await fetch(url).then(
          (r) => r.text(),
          () => '',
        )
        // two credits: three looks at least (epoch starts, credits), so a duplicate delivery would have happened
        return /^unet_device_online\{[^}]*\} 1$/m.test(last) &&
          /^unet_alerts_open\{/m.test(last) &&
          /^unet_heartbeats_total\{result="confirmed"\} [2-9]/m.test(last)
          ? last
          : undefined
      },
      {timeoutMs: 90_000, everyMs: 500},
    )

    const status = (await runCli(['status', '--json'], {home})).json<{devices: Array<{deviceId: string; kind: string; power: string}>}>()
    const host = status.devices[0]!
    const chainLabels = {device_id: host.deviceId, kind: host.kind}
    expect(sample(body, 'unet_device_online', chainLabels)).toBe(1)
    expect(sample(body, 'unet_device_power', chainLabels)).toBe(Number(host.power))
    expect(sample(body, 'unet_device_last_credited_epoch', chainLabels)).toBeGreaterThan(0)
    expect(Number(/^unet_current_epoch (\d+)$/m.exec(body)?.[1])).toBeGreaterThanOrEqual(sample(body, 'unet_device_last_credited_epoch', chainLabels)!)

    const rtx = {device: 'GPU-a5b0c4d2-7e61-4b3f-9c1e-0d2f6a8b9c10', model: 'NVIDIA GeForce RTX 4090'}
    expect(sample(body, 'unet_device_temperature_celsius', rtx)).toBe(71)
    expect(sample(body, 'unet_device_utilisation_percent', rtx)).toBe(87)
    expect(sample(body, 'unet_device_power_draw_watts', rtx)).toBe(398.5)
    expect(sample(body, 'unet_device_memory_used_bytes', rtx)).toBe(8589934592)
    expect(sample(body, 'unet_device_healthy', rtx)).toBe(1)
    expect(sample(body, 'unet_device_xid_total', {device: rtx.device, xid: '13'})).toBe(1)
    expect(sample(body, 'unet_device_temperature_celsius', {model: 'NVIDIA H100 80GB HBM3'})).toBe(34)
    // the H100 gives no power reading: no series rather than a made-up 0
    expect(sample(body, 'unet_device_power_draw_watts', {model: 'NVIDIA H100 80GB HBM3'})).toBeUndefined()
    expect(sample(body, 'unet_alerts_open', {rule: 'gas-runway-low'})).toBe(1)

    const exported = exportedMetrics(body)
    const queried = queriedMetrics(JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard)
    expect(queried.length).toBeGreaterThanOrEqual(15)
    expect(queried.filter((m) => !exported.has(m))).toEqual([])

    // the rig's driverless class-0x12 function (0x19e5:0xd500) is a fault the probe reports
    const driverless = {model: 'processing accelerator 0x19e5:0xd500'}
    expect(sample(body, 'unet_device_healthy', driverless)).toBe(0)
    expect(sample(body, 'unet_alerts_open', {rule: 'device-unhealthy'})).toBe(1)

    // the agent told the command hook once per condition, from its own checks (one per epoch start and credit)
    const told = readFileSync(hookOut, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AlertMessage)
    expect(told.map((m) => [m.event, m.rule]).sort()).toEqual([
      ['firing', 'device-unhealthy'],
      ['firing', 'gas-runway-low'],
    ])
    expect(told.find((m) => m.rule === 'device-unhealthy')!.summary).toMatch(/0x19e5:0xd500 .*driver not loaded/)
  }, 420_000)
})
