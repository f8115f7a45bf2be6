import {cpSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {probeDevices} from '../../../src/hw/inventory.js'
import {aerTotal} from '../../../src/hw/pci/sysfs.js'
import {deviceFaults} from '../../../src/hw/probe-reasons.js'
import {fixture, tempDir} from './stubs.js'

/** An aer_dev_fatal file in the kernel's layout (Documentation/ABI/testing/sysfs-bus-pci-devices-aer: "<name> <count>" lines, then the total). */
function aerFatal(total: number): string {
  const names = ['Undefined', 'DLP', 'SDES', 'TLP', 'FCP', 'CmpltTO', 'CmpltAbrt', 'UnxCmplt', 'RxOF', 'MalfTLP', 'ECRC', 'UnsupReq', 'ACSViol']
  return names.map((n) => `${n} ${n === 'MalfTLP' ? total : 0}`).join('\n') + `\nTOTAL_ERR_FATAL ${total}\n`
}

describe('PCIe AER counters in sysfs (device-unhealthy)', () => {
  it('a device whose link counted fatal errors carries a fault reason; zero or absent counters do not', async () => {
    const root = join(tempDir(), 'sys')
    cpSync(fixture('sysfs/gpu-asic-rig'), root, {recursive: true, verbatimSymlinks: true})
    const dev = (a: string) => join(root, 'bus', 'pci', 'devices', a)
    writeFileSync(join(dev('0000:65:00.0'), 'aer_dev_fatal'), aerFatal(2)) // the RTX 4090
    writeFileSync(join(dev('0000:17:00.0'), 'aer_dev_fatal'), aerFatal(0)) // the H100
    const devices = await probeDevices({sysfsRoot: root, nvmlPath: join(root, 'absent-libnvidia-ml.so.1'), bmlibPath: join(root, 'absent.so')})
    const rtx = devices.find((d) => d.pciAddress === '0000:65:00.0')!
    const h100 = devices.find((d) => d.pciAddress === '0000:17:00.0')!
    expect(rtx.reasons).toContain('PCIe AER: 2 fatal error(s) since boot (aer_dev_fatal)')
    expect(deviceFaults(rtx.reasons)).toContain('PCIe AER: 2 fatal error(s) since boot (aer_dev_fatal)')
    expect(h100.reasons.join()).not.toMatch(/AER/)
    expect(devices.find((d) => d.pciAddress === '0000:41:00.0')?.reasons.join() ?? '').not.toMatch(/AER/)
  })

  it('reads only a well-formed total line', () => {
    expect(aerTotal(aerFatal(7), 'TOTAL_ERR_FATAL')).toBe(7)
    expect(aerTotal(undefined, 'TOTAL_ERR_FATAL')).toBeUndefined()
    expect(aerTotal('TOTAL_ERR_FATAL x\n', 'TOTAL_ERR_FATAL')).toBeUndefined()
    expect(aerTotal('XTOTAL_ERR_FATAL 3\nTOTAL_ERR_NONFATAL 4\n', 'TOTAL_ERR_FATAL')).toBeUndefined()
  })
})
