/**
 * Which NVIDIA Xid errors say the GPU itself is lost or unhealthy (alert rule "device-unhealthy"),
 * as opposed to an application's fault that leaves the GPU healthy. Meanings follow NVIDIA's Xid
 * catalogue (https://docs.nvidia.com/deploy/xid-errors/analyzing-xid-catalog.html); the application
 * Xids are the ones NVIDIA's own k8s-device-plugin skips as "the GPU should still be healthy"
 * (github.com/NVIDIA/k8s-device-plugin, internal/rm/health.go). docs/devices.md lists both tables.
 */

export interface XidClass {
  xid: number
  /** NVIDIA's description, short. */
  meaning: string
  /** true: the device is lost or unhealthy; false: an application fault (the GPU stays healthy). */
  unhealthy: boolean
}

/** Xids that mean the GPU, its memory or its links are failing: each opens "device-unhealthy". */
const UNHEALTHY: Record<number, string> = {
  48: 'double-bit ECC error (DBE)',
  63: 'ECC page retirement or row remapping recorded',
  64: 'ECC page retirement or row remapping failed',
  74: 'NVLink error',
  79: 'GPU has fallen off the bus',
  92: 'high single-bit ECC error rate',
  94: 'contained ECC error',
  95: 'uncontained ECC error',
  119: 'GSP RPC timeout',
  120: 'GSP error',
}

/** Xids an application causes (bad address, exception, killed work): counted, never a device fault. */
const APPLICATION: Record<number, string> = {
  13: 'graphics engine exception',
  31: 'GPU memory page fault',
  43: 'GPU stopped processing',
  45: 'preemptive cleanup, due to previous errors',
  68: 'video processor exception',
}

/** NVML reports an Xid it does not know as 999 (nvml.h, nvmlEventData_t.eventData). */
export const UNKNOWN_XID = 999

export function classifyXid(xid: number): XidClass {
  if (UNHEALTHY[xid]) return {xid, meaning: UNHEALTHY[xid], unhealthy: true}
  if (APPLICATION[xid]) return {xid, meaning: APPLICATION[xid], unhealthy: false}
  return {xid, meaning: xid === UNKNOWN_XID ? 'an Xid NVML does not know' : 'not in the Xid table of unet', unhealthy: false}
}

/** The Xids that are device faults, for docs and tests. */
export const UNHEALTHY_XIDS: readonly number[] = Object.keys(UNHEALTHY).map(Number)
