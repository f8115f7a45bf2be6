import {existsSync, readdirSync, readFileSync, readlinkSync} from 'node:fs'
import {basename, join} from 'node:path'

/**
 * Reading sysfs is separate from interpreting it (node_exporter habit): `readPciDevices(root)` takes
 * the sysfs root as a parameter, so fixture trees (fixtures/sysfs/<tree>) stand in for /sys.
 * A missing file is `undefined`, never an exception: sysfs differs between kernels and drivers.
 */

export interface PciDevice {
  /** e.g. 0000:17:00.0 */
  address: string
  vendorId: number
  deviceId: number
  /** 24-bit class code: base << 16 | sub << 8 | prog-if */
  classCode: number
  subsystemVendorId?: number
  subsystemDeviceId?: number
  /** Name of the bound kernel driver (basename of the `driver` link); undefined when none is bound. */
  driver?: string
  /** The device directory, for vendor probes that read more attributes. */
  path: string
  /** PCIe AER: fatal uncorrectable errors since boot (aer_dev_fatal's TOTAL_ERR_FATAL); undefined where the kernel has no AER counters. */
  aerFatalErrors?: number
}

export function readAttr(dir: string, name: string): string | undefined {
  try {
    return readFileSync(join(dir, name), 'utf8').trim()
  } catch {
    return undefined
  }
}

function readHexAttr(dir: string, name: string): number | undefined {
  const v = readAttr(dir, name)
  if (v === undefined || !/^0x[0-9a-fA-F]+$/.test(v)) return undefined
  return Number.parseInt(v.slice(2), 16)
}

export function readIntAttr(dir: string, name: string): number | undefined {
  const v = readAttr(dir, name)
  if (v === undefined || !/^\d+$/.test(v)) return undefined
  return Number(v)
}

function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path))
  } catch {
    return undefined
  }
}

/**
 * A total line of an AER counter file (Documentation/ABI/testing/sysfs-bus-pci-devices-aer): one
 * "<ErrorName> <count>" per line, ending with e.g. "TOTAL_ERR_FATAL <count>".
 */
export function aerTotal(text: string | undefined, total: string): number | undefined {
  const m = text === undefined ? null : new RegExp(`^${total} (\\d+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

const PCI_ADDRESS = /^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/

export function readPciDevices(sysfsRoot: string): PciDevice[] {
  const base = join(sysfsRoot, 'bus', 'pci', 'devices')
  let names: string[]
  try {
    names = readdirSync(base)
  } catch {
    return []
  }
  const out: PciDevice[] = []
  for (const address of names.filter((n) => PCI_ADDRESS.test(n)).sort()) {
    const dir = join(base, address)
    const vendorId = readHexAttr(dir, 'vendor')
    const deviceId = readHexAttr(dir, 'device')
    const classCode = readHexAttr(dir, 'class')
    if (vendorId === undefined || deviceId === undefined || classCode === undefined) continue
    out.push({
      address,
      vendorId,
      deviceId,
      classCode,
      subsystemVendorId: readHexAttr(dir, 'subsystem_vendor'),
      subsystemDeviceId: readHexAttr(dir, 'subsystem_device'),
      driver: linkName(join(dir, 'driver')),
      path: dir,
      aerFatalErrors: aerTotal(readAttr(dir, 'aer_dev_fatal'), 'TOTAL_ERR_FATAL'),
    })
  }
  return out
}

/** Version of a loaded kernel module (<sysfs>/module/<name>/version), e.g. the NVIDIA driver. */
export function moduleVersion(sysfsRoot: string, module: string): string | undefined {
  return readAttr(join(sysfsRoot, 'module', module), 'version')
}

/** The host TPM as the kernel sees it: <sysfs>/class/tpm/tpm0 (and /dev/tpmrm0 on the real root). */
export interface HostTpm {
  name: string
  versionMajor?: number
  description?: string
  devicePath?: string
}

export function readHostTpm(sysfsRoot: string, devRoot?: string): HostTpm | undefined {
  const cls = join(sysfsRoot, 'class', 'tpm')
  let names: string[] = []
  try {
    names = readdirSync(cls)
      .filter((n) => /^tpm\d+$/.test(n))
      .sort()
  } catch {
    names = []
  }
  const dev = devRoot ? ['tpmrm0', 'tpm0'].map((d) => join(devRoot, d)).find((p) => existsSync(p)) : undefined
  if (names.length === 0 && !dev) return undefined
  const name = names[0] ?? 'tpm0'
  const dir = join(cls, name)
  return {
    name,
    versionMajor: readIntAttr(dir, 'tpm_version_major'),
    description: readAttr(join(dir, 'device'), 'description') ?? readAttr(join(dir, 'device'), 'firmware_node/description'),
    devicePath: dev,
  }
}
