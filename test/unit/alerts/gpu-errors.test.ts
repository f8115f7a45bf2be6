import {describe, expect, it} from 'vitest'

import type {GpuErrorEvent} from '../../../src/hw/nvidia/xid-watch.js'
import {classifyXid, UNHEALTHY_XIDS, UNKNOWN_XID} from '../../../src/hw/nvidia/xid.js'
import {GpuErrorLedger} from '../../../src/miner/gpu-error-ledger.js'

const at = {device: 'GPU-1', label: 'NVIDIA RTX 4090 0000:65:00.0'}
const xid = (n: number): GpuErrorEvent => ({...at, ...classifyXid(n)})

describe('Xid classification (NVIDIA Xid catalogue)', () => {
  it('device faults: DBE, row remapping, NVLink, off the bus, ECC rate, contained/uncontained ECC, GSP', () => {
    expect(UNHEALTHY_XIDS).toEqual([48, 63, 64, 74, 79, 92, 94, 95, 119, 120])
    for (const n of UNHEALTHY_XIDS) expect(classifyXid(n).unhealthy).toBe(true)
    expect(classifyXid(79)).toEqual({xid: 79, meaning: 'GPU has fallen off the bus', unhealthy: true})
  })

  it('application faults and unknown Xids leave the GPU healthy', () => {
    for (const n of [13, 31, 43, 45, 68]) expect(classifyXid(n).unhealthy).toBe(false)
    expect(classifyXid(13).meaning).toBe('graphics engine exception')
    expect(classifyXid(UNKNOWN_XID)).toEqual({xid: 999, meaning: 'an Xid NVML does not know', unhealthy: false})
    expect(classifyXid(154).unhealthy).toBe(false)
  })
})

describe('GPU error ledger: faulty until N whole epochs pass without a new critical error', () => {
  it('a critical Xid is a fault in its epoch and the N after, then forgotten', () => {
    const l = new GpuErrorLedger(3)
    l.record([xid(79)], 10n)
    expect(l.faults(10n)).toEqual([{...at, faults: ['Xid 79 (GPU has fallen off the bus) in epoch 10'], xids: [79]}])
    expect(l.faults(13n)).toHaveLength(1) // epochs 11, 12, 13: not yet three whole epochs over
    expect(l.faults(14n)).toEqual([])
    expect(l.faults(10n)).toEqual([]) // forgotten, not just hidden
  })

  it('a new one restarts the window; repeats are counted; an application Xid never counts', () => {
    const l = new GpuErrorLedger(1)
    l.record([xid(13), xid(31)], 5n)
    expect(l.faults(5n)).toEqual([])
    l.record([xid(94)], 5n)
    l.record([xid(94), {...at, meaning: 'double-bit ECC error event', unhealthy: true}], 6n)
    expect(l.faults(7n)).toEqual([
      {...at, faults: ['Xid 94 (contained ECC error), 2× since epoch 5, last in epoch 6', 'double-bit ECC error event in epoch 6'], xids: [94]},
    ])
    expect(l.faults(8n)).toEqual([])
  })
})
