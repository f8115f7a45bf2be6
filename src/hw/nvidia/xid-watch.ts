/**
 * The agent's watch on NVIDIA GPU errors: one NVML event set for the agent's life, with Xid critical
 * errors and double-bit ECC errors registered on every GPU that supports them, drained once per look
 * (src/miner/host-monitor.ts). This is read-only monitoring: registering for events starts nothing on
 * the GPU (no context, no kernel, no clock or mode change); the agent never runs work on an accelerator.
 *
 * NVML delivers only the events raised after registration, so the set is created once and kept; each
 * poll takes what queued since the last one. nvmlEventSetWait_v2 blocks its thread, so every wait runs
 * on a koffi worker thread (Nvml.eventSetWait) with a short timeout: a poll with nothing queued costs
 * one timeout of latency to the look and none to the event loop.
 */
import {libraryReason} from '../probe-reasons.js'
import {NVML_EVENT, type Nvml, type NvmlDevice, type NvmlEvent, type NvmlEventSet} from './ffi.js'
import {normalizeBusId, nvidiaStableId, openNvml} from './probe.js'
import {classifyXid} from './xid.js'

/** What is registered per GPU (those of these it supports). */
const WATCHED = NVML_EVENT.XID_CRITICAL | NVML_EVENT.DOUBLE_BIT_ECC
/** One wait with nothing queued returns after this long (the cost of an idle poll). */
export const XID_POLL_TIMEOUT_MS = 50
/** At most this many events per poll (an application's Xid storm must not hold the look); the rest wait for the next. */
const MAX_EVENTS_PER_POLL = 1000

export interface WatchedGpu {
  /** Device.stableId, as the probe names this GPU. */
  device: string
  /** "NVIDIA <name> <PCI address>", as the alert facts label a device. */
  label: string
  /** The NVML_EVENT bits registered. */
  events: bigint
}

/** A GPU error NVML reported. */
export interface GpuErrorEvent {
  device: string
  label: string
  /** The Xid of an Xid event; undefined for a double-bit ECC event. */
  xid?: number
  meaning: string
  /** The device is lost or unhealthy (src/hw/nvidia/xid.ts), not an application's fault. */
  unhealthy: boolean
}

export interface GpuErrorPoll {
  events: GpuErrorEvent[]
  /** Why the drain stopped early (e.g. "GPU fell off the bus"): the events before it are kept. */
  error?: string
}

export interface XidWatch {
  watched: WatchedGpu[]
  /** GPUs whose events could not be registered, and why (e.g. not supported by this GPU or driver). */
  skipped: Array<{device: string; label: string; reason: string}>
  poll(): Promise<GpuErrorPoll>
  close(): void
}

interface Registered extends WatchedGpu {
  handle: NvmlDevice
}

/** NVML init, one event set, each GPU registered for what it supports of WATCHED. Throws when NVML does not load or init. */
export async function openXidWatch(nvmlPath?: string, options: {timeoutMs?: number} = {}): Promise<XidWatch> {
  const nvml = await openNvml(nvmlPath)
  const registered: Registered[] = []
  const skipped: XidWatch['skipped'] = []
  let set: NvmlEventSet | undefined
  try {
    set = nvml.eventSetCreate()
    for (let i = 0, n = nvml.count(); i < n; i++) {
      const gpu = identify(nvml, i)
      if (!gpu) continue
      try {
        const events = nvml.supportedEventTypes(gpu.handle) & WATCHED
        if (events === 0n) throw new Error('no Xid or ECC events on this GPU')
        nvml.registerEvents(gpu.handle, events, set)
        registered.push({...gpu, events})
      } catch (error) {
        skipped.push({device: gpu.device, label: gpu.label, reason: libraryReason(error)})
      }
    }
  } catch (error) {
    release(nvml, set)
    throw error
  }
  const timeoutMs = options.timeoutMs ?? XID_POLL_TIMEOUT_MS
  let closed = false
  return {
    watched: registered.map(({device, label, events}) => ({device, label, events})),
    skipped,
    poll: () => drain(nvml, set, registered, timeoutMs),
    close() {
      if (closed) return
      closed = true
      release(nvml, set)
    },
  }
}

/** Frees the set and ends this watch's NVML init (best effort: the agent is stopping or giving up on the watch). */
function release(nvml: Nvml, set: NvmlEventSet | undefined): void {
  for (const step of [() => set !== undefined && nvml.eventSetFree(set), () => nvml.shutdown()])
    try {
      step()
    } catch {
      // nothing more to do about a library that fails to let go
    }
}

/** GPU i's handle and names, or undefined when NVML cannot give its handle. */
function identify(nvml: Nvml, index: number): Omit<Registered, 'events'> | undefined {
  let handle: NvmlDevice
  try {
    handle = nvml.handle(index)
  } catch {
    return undefined
  }
  const optional = <T>(read: () => T): T | undefined => {
    try {
      return read()
    } catch {
      return undefined
    }
  }
  const address = optional(() => normalizeBusId(nvml.pciInfo(handle).busId))
  const {stableId} = nvidiaStableId({uuid: optional(() => nvml.uuid(handle)), serial: optional(() => nvml.serial(handle)), address, index})
  const name = optional(() => nvml.name(handle)) ?? 'NVIDIA GPU'
  return {handle, device: stableId, label: `NVIDIA ${name} ${address ?? stableId}`}
}

async function drain(nvml: Nvml, set: NvmlEventSet, gpus: Registered[], timeoutMs: number): Promise<GpuErrorPoll> {
  const events: GpuErrorEvent[] = []
  try {
    while (events.length < MAX_EVENTS_PER_POLL) {
      const e = await nvml.eventSetWait(set, timeoutMs)
      if (!e) break
      const known = describe(e, gpus)
      if (known) events.push(known)
    }
    return {events}
  } catch (error) {
    return {events, error: libraryReason(error)}
  }
}

/** An event of a registered GPU as unet names it; undefined for another device or event type. */
function describe(e: NvmlEvent, gpus: Registered[]): GpuErrorEvent | undefined {
  const gpu = gpus.find((g) => g.handle === e.device)
  if (!gpu) return undefined
  const at = {device: gpu.device, label: gpu.label}
  if (e.eventType === NVML_EVENT.XID_CRITICAL) {
    const c = classifyXid(Number(e.eventData))
    return {...at, xid: c.xid, meaning: c.meaning, unhealthy: c.unhealthy}
  }
  if (e.eventType === NVML_EVENT.DOUBLE_BIT_ECC) return {...at, meaning: 'double-bit ECC error event', unhealthy: true}
  return undefined
}
