/**
 * The host monitor's GPU error source: the Xid watch (src/hw/nvidia/xid-watch.ts), opened on the first
 * look that finds a GPU NVML lists and kept for the agent's life, drained at each look into the Xid
 * metric and the ledger whose faults feed "device-unhealthy". Monitoring only: nothing runs on the GPU.
 * Where NVML has no events (not loadable, or no GPU supports them) the watch is given up once, logged.
 */
import type {DeviceMetrics} from '../agent/metrics.js'
import type {AgentLogger} from '../agent/ports.js'
import type {Device} from '../hw/inventory.js'
import type {XidWatch} from '../hw/nvidia/xid-watch.js'
import {GpuErrorLedger, type GpuErrorFault} from './gpu-error-ledger.js'

export interface GpuErrorSource {
  /** Drains the events queued since the last look (seen in `epoch`) and returns the devices still faulty. */
  look(probed: Device[], epoch: bigint, metrics?: DeviceMetrics): Promise<GpuErrorFault[]>
  close(): void
}

export function gpuErrorSource(nvmlPath: string | undefined, clearAfterEpochs: number, logger: AgentLogger): GpuErrorSource {
  const ledger = new GpuErrorLedger(clearAfterEpochs)
  // undefined: not tried yet; null: NVML has no events here (or closed)
  let watch: XidWatch | null | undefined
  // a wait in flight on a koffi worker thread: the set is freed only after it returns
  let polling: Promise<unknown> | undefined

  const open = async (): Promise<XidWatch | null> => {
    const {openXidWatch} = await import('../hw/nvidia/xid-watch.js')
    try {
      const w = await openXidWatch(nvmlPath)
      for (const s of w.skipped) logger.info({device: s.device, reason: s.reason}, `no Xid events from ${s.label}: ${s.reason}`)
      if (w.watched.length > 0) return w
      w.close()
    } catch (error) {
      logger.info({err: (error as Error).message}, `Xid events unavailable: ${(error as Error).message}`)
    }
    return null
  }

  return {
    async look(probed, epoch, metrics) {
      if (watch === undefined && probed.some((d) => d.family === 'nvidia' && d.libraryIndex !== undefined)) watch = await open()
      if (watch) {
        const poll = watch.poll()
        polling = poll
        const {events, error} = await poll.finally(() => (polling = undefined))
        if (error) logger.warn({err: error}, `reading NVML events stopped: ${error}`)
        for (const e of events) {
          if (e.xid !== undefined) metrics?.xid(e.device, e.xid)
          const line = `${e.label}: ${e.xid === undefined ? e.meaning : `Xid ${e.xid} (${e.meaning})`}`
          if (e.unhealthy) logger.warn({device: e.device, xid: e.xid ?? null}, `GPU error on ${line}`)
          else logger.info({device: e.device, xid: e.xid ?? null}, `application Xid on ${line}: the GPU stays healthy`)
        }
        ledger.record(events, epoch)
      }
      return ledger.faults(epoch)
    },
    close() {
      const w = watch
      watch = null
      if (polling) void polling.finally(() => w?.close())
      else w?.close()
    },
  }
}
