import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import type {Device} from '../hw/pci/device.js'

export default class Devices extends BaseCommand<typeof Devices> {
  static override summary = 'list accelerators and security engines in this machine'
  static override description =
    'Lists GPUs and AI ASICs (NVIDIA via NVML, AMD via sysfs, Sophgo via bmlib, others by PCI id or class 0x12) and the host TPM: ' +
    'vendor, model, stable id, PCI address, memory, driver, busy state, whether the device attests with its own key, ' +
    "and the power the verifier's power table gives its model (docs/protocol.md §Power; the verifier rates what the evidence proves). " +
    'A device whose driver or library is missing is still listed, with the reason. Network, storage and bridge devices are never listed.'
  static override examples = [
    '<%= config.bin %> devices',
    '<%= config.bin %> devices --json',
    '<%= config.bin %> devices --sysfs-root fixtures/sysfs/gpu-asic-rig --json',
  ]
  static override flags = {
    'sysfs-root': Flags.string({description: 'root of sysfs instead of /sys (fixture trees, containers)'}),
    'nvml-path': Flags.string({description: 'path of libnvidia-ml.so.1 (config nvmlPath)'}),
    'bmlib-path': Flags.string({description: 'path of libbmlib.so (config bmlibPath)'}),
    'amdsmi-path': Flags.string({description: 'path of libamd_smi.so (config amdsmiPath)'}),
  }

  protected override configFlagOverrides() {
    return {sysfsRoot: this.flags['sysfs-root'], nvmlPath: this.flags['nvml-path'], bmlibPath: this.flags['bmlib-path'], amdsmiPath: this.flags['amdsmi-path']}
  }

  async run(): Promise<{devices: Device[]}> {
    const {config} = this.resolved
    const {probeDevices} = await import('../hw/inventory.js')
    const devices = await probeDevices({sysfsRoot: config.sysfsRoot, nvmlPath: config.nvmlPath, bmlibPath: config.bmlibPath, amdsmiPath: config.amdsmiPath})
    if (!this.jsonEnabled()) this.log(renderDevices(devices))
    return {devices}
  }
}

function gib(bytes?: number): string {
  return bytes === undefined ? '-' : `${(bytes / 2 ** 30).toFixed(1)} GiB`
}

export function renderDevices(devices: Device[]): string {
  if (devices.length === 0) return 'no accelerators or security engines found'
  const rows = devices.map((d) => [
    d.kind,
    d.model.toLowerCase().startsWith(d.vendor.toLowerCase()) ? d.model : `${d.vendor} ${d.model}`,
    d.pciAddress ?? '-',
    d.stableId,
    gib(d.memoryBytes),
    [d.driver?.name, d.driver?.version].filter(Boolean).join(' ') || '-',
    d.busy.state +
      (d.busy.utilisationPercent !== undefined ? ` ${d.busy.utilisationPercent}%` : '') +
      (d.busy.processes?.length ? ` ${d.busy.processes.length} proc` : ''),
    d.attestation.support + (d.attestation.ccMode ? ` (CC ${d.attestation.ccMode})` : ''),
    d.expectedPower?.power ?? '-',
  ])
  const head = ['KIND', 'DEVICE', 'PCI', 'STABLE ID', 'MEMORY', 'DRIVER', 'BUSY', 'ATTESTATION', 'POWER']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const out = [line(head), ...rows.map(line)]
  for (const d of devices) {
    const why = [...d.reasons, ...(d.attestation.reason ? [d.attestation.reason] : [])]
    if (why.length > 0) out.push(`  ${d.pciAddress ?? d.stableId}: ${[...new Set(why)].join('; ')}`)
    // a floor means the verifier cannot name the SKU: the operator should know before registering
    if (d.expectedPower?.basis === 'floor') out.push(`  ${d.pciAddress ?? d.stableId}: power ${d.expectedPower.note}`)
  }
  return out.join('\n')
}
