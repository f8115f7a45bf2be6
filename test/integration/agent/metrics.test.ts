import {describe, expect, it} from 'vitest'

import {parseListen, startMetricsServer} from '../../../src/agent/metrics.js'
import {UnetError} from '../../../src/errors/index.js'

function sample(body: string, name: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(name + ' '))
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}

describe('Prometheus endpoint (real HTTP on loopback)', () => {
  it('serves the agent metrics in the text exposition format', async () => {
    const server = await startMetricsServer('127.0.0.1:0')
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      const m = server.metrics
      m.heartbeat('confirmed')
      m.heartbeat('confirmed')
      m.heartbeat('missed')
      m.heartbeat('retry')
      m.lastSuccess(1_764_000_000)
      m.devicesOnline(8)
      m.accruedRewards(12n * 10n ** 18n + 5n * 10n ** 17n)
      m.gasBalance(3n * 10n ** 17n)
      m.quoteSeconds(0.04)
      m.quoteSeconds(0.2)
      m.feeBump()
      m.challengesOpen(2)
      m.challenge('answered')
      m.challenge('failed')
      m.challenge('failed')

      const res = await fetch(server.url)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
      const body = await res.text()
      expect(body).toContain('unet_heartbeats_total{result="confirmed"} 2')
      expect(body).toContain('unet_heartbeats_total{result="missed"} 1')
      expect(body).toContain('unet_heartbeats_total{result="failed"} 0')
      expect(body).toContain('unet_heartbeats_total{result="retry"} 1')
      expect(sample(body, 'unet_last_success_timestamp_seconds')).toBe(1_764_000_000)
      expect(sample(body, 'unet_devices_online')).toBe(8)
      expect(sample(body, 'unet_rewards_accrued_unc')).toBe(12.5)
      expect(sample(body, 'unet_gas_balance_native')).toBe(0.3)
      expect(sample(body, 'unet_quote_seconds_count')).toBe(2)
      expect(body).toContain('unet_quote_seconds_bucket{le="0.05"} 1')
      expect(sample(body, 'unet_fee_bumps_total')).toBe(1)
      expect(sample(body, 'unet_challenges_open')).toBe(2)
      expect(body).toContain('unet_challenges_total{result="answered"} 1')
      expect(body).toContain('unet_challenges_total{result="failed"} 2')
      expect(body).toContain('unet_challenges_total{result="unanswerable"} 0')
      // process metrics come along (RSS for the bench)
      expect(sample(body, 'unet_process_resident_memory_bytes')).toBeGreaterThan(1e6)
      expect((await fetch(server.url.replace('/metrics', '/nope'))).status).toBe(404)
    } finally {
      await server.close()
    }
  })

  it('per-device series: each look replaces the set, a device that is gone is no longer exported, an absent sensor has no series', async () => {
    const server = await startMetricsServer('127.0.0.1:0')
    try {
      const gpu = {device: 'GPU-1', vendor: 'NVIDIA', model: 'H100', healthy: true, temperatureCelsius: 40, utilisationPercent: 3}
      server.devices.chain(12n, [
        {deviceId: '0xaa', kind: 'host-tpm', power: 10, online: true, lastCreditedEpoch: 12},
        {deviceId: '0xbb', kind: 'p384', power: 0, online: false},
      ])
      server.devices.local([gpu, {device: 'pci:0000:83:00.0', vendor: 'x', model: 'y', healthy: false}])
      server.devices.alertsOpen({'device-unhealthy': 1})
      let body = await (await fetch(server.url)).text()
      expect(sample(body, 'unet_current_epoch')).toBe(12)
      expect(body).toContain('unet_device_online{device_id="0xaa",kind="host-tpm"} 1')
      expect(body).toContain('unet_device_online{device_id="0xbb",kind="p384"} 0')
      expect(body).toContain('unet_device_last_credited_epoch{device_id="0xaa",kind="host-tpm"} 12')
      expect(body).not.toContain('unet_device_last_credited_epoch{device_id="0xbb"')
      expect(body).toContain('unet_device_temperature_celsius{device="GPU-1",vendor="NVIDIA",model="H100"} 40')
      expect(body).toContain('unet_device_healthy{device="pci:0000:83:00.0",vendor="x",model="y"} 0')
      expect(body).not.toMatch(/unet_device_temperature_celsius\{device="pci/)
      expect(body).toContain('unet_alerts_open{rule="device-unhealthy"} 1')

      server.devices.chain(13n, [{deviceId: '0xaa', kind: 'host-tpm', power: 10, online: true, lastCreditedEpoch: 13}])
      server.devices.local([{...gpu, temperatureCelsius: 41}])
      server.devices.alertsOpen({})
      body = await (await fetch(server.url)).text()
      expect(body).not.toContain('0xbb')
      expect(body).not.toContain('pci:0000:83:00.0')
      expect(body).toContain('unet_device_temperature_celsius{device="GPU-1",vendor="NVIDIA",model="H100"} 41')
      expect(body).not.toMatch(/^unet_alerts_open\{/m)
    } finally {
      await server.close()
    }
  })

  it('a busy port is a one-line error; listen specs are parsed strictly', async () => {
    const a = await startMetricsServer('127.0.0.1:0')
    try {
      await expect(startMetricsServer({host: '127.0.0.1', port: a.address.port})).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/)
    } finally {
      await a.close()
    }
    expect(parseListen('127.0.0.1:9464')).toEqual({host: '127.0.0.1', port: 9464})
    expect(parseListen('[::1]:9464')).toEqual({host: '::1', port: 9464})
    expect(parseListen(':9464')).toEqual({host: '127.0.0.1', port: 9464})
    for (const bad of ['9464', 'host:', 'a:99999', 'http://x:1']) expect(() => parseListen(bad)).toThrow(UnetError)
  })
})
