/**
 * NVML's event calls through koffi against the stub libnvidia-ml.so.1: the Xid watch registers what
 * each GPU supports, drains queued Xid/ECC events (a line appended to the stub's `events` file is an
 * event the driver raised), classifies them, and never holds the event loop while it waits.
 */
import {appendFileSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterEach, beforeAll, describe, expect, it} from 'vitest'

import {probeDevices} from '../../../src/hw/inventory.js'
import {NVML_EVENT} from '../../../src/hw/nvidia/ffi.js'
import {openXidWatch, XID_POLL_TIMEOUT_MS, type XidWatch} from '../../../src/hw/nvidia/xid-watch.js'
import {GpuErrorLedger} from '../../../src/miner/gpu-error-ledger.js'
import {buildStubs, fixture, rigNvml, tempDir, writeConfig} from './stubs.js'

const H100 = 'GPU-11111111-2222-3333-4444-555555555555/1654922001234'
const RTX = 'GPU-a5b0c4d2-7e61-4b3f-9c1e-0d2f6a8b9c10'
const XID = Number(NVML_EVENT.XID_CRITICAL)
const DBE = Number(NVML_EVENT.DOUBLE_BIT_ECC)

let lib: string
let watch: XidWatch | undefined

beforeAll(() => {
  lib = buildStubs().nvml
})

afterEach(() => {
  watch?.close()
  watch = undefined
  delete process.env.UNET_NVML_STUB_CONFIG
  delete process.env.UNET_NVML_STUB_TRACE
})

/**
 * The rig's two GPUs with these supported event masks (undefined: the key is absent, so the stub answers
 * NOT_SUPPORTED) and an empty events queue.
 */
function useRig(
  types: [string | undefined, string | undefined] = ['0xb', '0xb'],
  extra: Record<string, string | number> = {},
): {events: string; trace: string} {
  const dir = tempDir()
  const events = join(dir, 'events')
  writeFileSync(events, '# <gpu index> <event type> <event data>\n')
  const masks = Object.fromEntries(types.flatMap((t, i) => (t === undefined ? [] : [[`gpu${i}.event_types`, t]])))
  process.env.UNET_NVML_STUB_CONFIG = writeConfig(dir, 'nvml.conf', rigNvml({...masks, events, ...extra}))
  process.env.UNET_NVML_STUB_TRACE = join(dir, 'trace')
  return {events, trace: join(dir, 'trace')}
}

const raise = (events: string, ...lines: string[]) => appendFileSync(events, lines.map((l) => l + '\n').join(''))

describe('NVML events (Xid, double-bit ECC) through koffi against the stub', () => {
  it('a queued Xid 79 is delivered once, for the GPU it names, as a device fault', async () => {
    const {events, trace} = useRig()
    raise(events, `1 ${XID} 79`)
    watch = await openXidWatch(lib)
    expect(watch.watched).toEqual([
      {device: H100, label: 'NVIDIA NVIDIA H100 80GB HBM3 0000:17:00.0', events: NVML_EVENT.XID_CRITICAL | NVML_EVENT.DOUBLE_BIT_ECC},
      {device: RTX, label: 'NVIDIA NVIDIA GeForce RTX 4090 0000:65:00.0', events: NVML_EVENT.XID_CRITICAL | NVML_EVENT.DOUBLE_BIT_ECC},
    ])
    const first = await watch.poll()
    expect(first).toEqual({
      events: [{device: RTX, label: expect.stringContaining('RTX 4090') as string, xid: 79, meaning: 'GPU has fallen off the bus', unhealthy: true}],
    })
    const ledger = new GpuErrorLedger(3)
    ledger.record(first.events, 7n)
    expect(ledger.faults(7n)).toEqual([
      {device: RTX, label: expect.any(String) as string, faults: ['Xid 79 (GPU has fallen off the bus) in epoch 7'], xids: [79]},
    ])
    expect(await watch.poll()).toEqual({events: []}) // delivered once
    const calls = readFileSync(trace, 'utf8').trim().split('\n')
    expect(calls.filter((c) => c === 'nvmlDeviceRegisterEvents')).toHaveLength(2)
    // read-only: no call that sets anything or runs work on a GPU
    expect(calls.filter((c) => !/^nvml(Init_v2|Shutdown|ErrorString|DeviceGet\w+|DeviceRegisterEvents|EventSet(Create|Wait_v2))$/.test(c))).toEqual([])
  })

  it('an application Xid (13) is counted but is no device fault; nothing queued: nothing', async () => {
    const {events} = useRig()
    watch = await openXidWatch(lib)
    expect(await watch.poll()).toEqual({events: []})
    raise(events, `0 ${XID} 13`)
    const {events: got} = await watch.poll()
    expect(got).toEqual([{device: H100, label: expect.any(String) as string, xid: 13, meaning: 'graphics engine exception', unhealthy: false}])
    const ledger = new GpuErrorLedger(3)
    ledger.record(got, 1n)
    expect(ledger.faults(1n)).toEqual([])
  })

  it('double-bit ECC events are faults; an event type a GPU did not register is not delivered', async () => {
    const {events} = useRig(['0x8', '0xb']) // the H100 here offers Xid events only
    watch = await openXidWatch(lib)
    expect(watch.watched.map((w) => [w.device, w.events])).toEqual([
      [H100, NVML_EVENT.XID_CRITICAL],
      [RTX, NVML_EVENT.XID_CRITICAL | NVML_EVENT.DOUBLE_BIT_ECC],
    ])
    raise(events, `0 ${DBE} 0`, `1 ${DBE} 0`, `1 ${XID} 48`)
    expect((await watch.poll()).events.map((e) => [e.device, e.xid, e.meaning, e.unhealthy])).toEqual([
      [RTX, undefined, 'double-bit ECC error event', true],
      [RTX, 48, 'double-bit ECC error (DBE)', true],
    ])
  })

  it('GPUs without Xid/DBE events are skipped with the reason: unsupported, single-bit ECC only, or registration refused', async () => {
    useRig(['0xb', undefined])
    watch = await openXidWatch(lib)
    expect(watch.watched.map((w) => w.device)).toEqual([H100])
    expect(watch.skipped).toEqual([{device: RTX, label: expect.stringContaining('RTX 4090') as string, reason: 'not supported by this GPU or driver'}])
    watch.close()

    useRig(['0x0', '0x1']) // single-bit ECC alone is not watched: corrected by the hardware
    watch = await openXidWatch(lib)
    expect(watch.watched).toEqual([])
    expect(watch.skipped.map((s) => s.reason)).toEqual(['no Xid or ECC events on this GPU', 'no Xid or ECC events on this GPU'])
    expect(await watch.poll()).toEqual({events: []}) // nothing registered: nothing delivered, nothing thrown
    watch.close()

    useRig(['0xb', '0xb'], {'error.nvmlDeviceRegisterEvents': 3})
    watch = await openXidWatch(lib)
    expect(watch.skipped.map((s) => s.reason)).toEqual(['not supported by this GPU or driver', 'not supported by this GPU or driver'])
  })

  it('a wait that fails (GPU_IS_LOST) ends the poll with the reason instead of throwing', async () => {
    const {events} = useRig()
    watch = await openXidWatch(lib)
    raise(events, `1 ${XID} 79`)
    expect((await watch.poll()).events).toHaveLength(1)
    // the same GPUs and queue, now with nvmlEventSetWait_v2 failing (the stub rereads a config named anew)
    process.env.UNET_NVML_STUB_CONFIG = writeConfig(
      tempDir(),
      'nvml.conf',
      rigNvml({'gpu0.event_types': '0xb', 'gpu1.event_types': '0xb', events, 'error.nvmlEventSetWait_v2': 15}),
    )
    expect(await watch.poll()).toEqual({events: [], error: 'GPU fell off the bus'})
  })

  it('the watch keeps its NVML init while probes open and close theirs (NVML counts inits)', async () => {
    const {events} = useRig()
    watch = await openXidWatch(lib)
    await probeDevices({sysfsRoot: fixture('sysfs/gpu-asic-rig'), nvmlPath: lib, bmlibPath: join(tempDir(), 'absent.so')})
    raise(events, `0 ${XID} 95`)
    expect((await watch.poll()).events.map((e) => [e.device, e.xid, e.unhealthy])).toEqual([[H100, 95, true]])
  })

  it('an idle poll waits one short timeout on a worker thread: the event loop keeps running meanwhile', async () => {
    useRig()
    watch = await openXidWatch(lib, {timeoutMs: 300})
    let last = performance.now()
    let worstGap = 0
    let ticks = 0
    const timer = setInterval(() => {
      const now = performance.now()
      worstGap = Math.max(worstGap, now - last)
      last = now
      ticks++
    }, 5)
    const start = performance.now()
    const r = await watch.poll()
    const took = performance.now() - start
    clearInterval(timer)
    expect(r).toEqual({events: []})
    expect(took).toBeGreaterThanOrEqual(295) // the stub sleeps the whole timeout, as NVML does with nothing queued
    expect(ticks).toBeGreaterThan(10)
    expect(worstGap).toBeLessThan(150) // a blocking call would stall the loop for the full 300 ms
    expect(XID_POLL_TIMEOUT_MS).toBeLessThanOrEqual(100)
  })
})
