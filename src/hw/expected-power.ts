/**
 * The power a probed device would earn (`unet devices`), from the same table the verifier approves with
 * (src/evidence/power-table.ts): NVIDIA and Sophgo by PCI device id, a Sophgo chip without a PCI match by
 * the chip id bmlib reports, the host TPM its baseline. The verifier itself rates what the evidence
 * proves (NVIDIA: the signed chip SKU; Sophgo: the catalogue), so this is an expectation, not a promise.
 */
import {DeviceKind} from '../evidence/device-kinds.js'
import {kindPower, probedPower, sophgoPower, type PowerRating} from '../evidence/power-table.js'
import type {Device} from './pci/device.js'

/** undefined: the table has no row for it (a device without a vendor key earns no power of its own). */
export function expectedPower(device: Device): PowerRating | undefined {
  if (device.family === 'tpm') return kindPower(DeviceKind.HOST_TPM)
  const vendor = Number(device.pci?.vendorId)
  const id = Number(device.pci?.deviceId)
  const byPci = Number.isInteger(vendor) && Number.isInteger(id) ? probedPower(vendor, id) : undefined
  if (byPci || device.family !== 'sophgo') return byPci
  const rating = sophgoPower(device.model, 'bmlib chip id')
  return rating.basis === 'model' ? rating : undefined
}
