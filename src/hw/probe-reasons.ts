import {HardwareUnavailableError} from '../errors/index.js'

/**
 * Why a vendor library (NVML, bmlib, AMD SMI) gave nothing, in one line for Device.reasons: the
 * vendor error's own `reason` when it has one (NvmlError, AmdSmiError: "driver not loaded", ...), else
 * the load failure with the loader's reason, else the error message.
 */
export function libraryReason(error: unknown): string {
  if (error instanceof HardwareUnavailableError) {
    const own = (error as {reason?: unknown}).reason
    if (typeof own === 'string') return own
    const r = error.details?.reason
    return typeof r === 'string' ? `${error.message} (${r.replace(/^Failed to load shared library: /, '')})` : error.message
  }
  return error instanceof Error ? error.message : String(error)
}

/** Runs one probe step; a failure is recorded in `reasons` as "<what>: <reason>" and gives undefined. */
export function attempt<T>(reasons: string[], what: string, fn: () => T): T | undefined {
  try {
    return fn()
  } catch (error) {
    reasons.push(`${what}: ${libraryReason(error)}`)
    return undefined
  }
}

/**
 * The probe reasons that say a device or its driver is broken (the alert rule "device-unhealthy"), as
 * opposed to notes about what it lacks ("not supported by this GPU", "CC devtools mode", "unique_id not
 * exposed"): the driver is gone, the GPU fell off the bus (NVML_ERROR_GPU_IS_LOST), the library and the
 * kernel driver disagree, the vendor library skipped a PCI function, a vendor call failed outright, or
 * the kernel counted fatal PCIe AER errors on the device (sysfs aer_dev_fatal).
 */
const FAULT = /driver not loaded|fell off the bus|not reported by |versions differ|failed: |PCIe AER: /

export function deviceFaults(reasons: readonly string[]): string[] {
  return reasons.filter((r) => FAULT.test(r))
}
