/**
 * Where a `device:` TCTI points and whether this user may open it, asked before tss2 opens the TCTI
 * (its own error names neither cause) and by `unet doctor`. Other transports are not files.
 */
import {accessSync, constants, existsSync} from 'node:fs'

const DEFAULT_TPM_DEVICE = '/dev/tpmrm0'

/** The device of a `device[:path]` TCTI (default /dev/tpmrm0); undefined for swtpm, mssim, tabrmd, …. */
export function tctiDevicePath(tcti: string): string | undefined {
  const device = /^device(?::(.*))?$/.exec(tcti)
  return device ? device[1] || DEFAULT_TPM_DEVICE : undefined
}

export type TpmDeviceAccess = 'ok' | 'missing' | 'no-permission'

/** Whether `path` exists and this user may read and write it. */
export function tpmDeviceAccess(path: string): TpmDeviceAccess {
  if (!existsSync(path)) return 'missing'
  try {
    accessSync(path, constants.R_OK | constants.W_OK)
    return 'ok'
  } catch {
    return 'no-permission'
  }
}
