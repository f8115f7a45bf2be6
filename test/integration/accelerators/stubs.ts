import {execFileSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO = fileURLToPath(new URL('../../../', import.meta.url))
export const fixture = (p: string) => join(REPO, 'fixtures', p)

/** Builds the stub libraries with cc (native/build.mjs) and returns their paths. */
export function buildStubs(): {nvml: string; bmlib: string; amdsmi: string} {
  const out = execFileSync(process.execPath, [join(REPO, 'native', 'build.mjs')], {encoding: 'utf8'})
  return JSON.parse(out.trim().split('\n').pop()!) as {nvml: string; bmlib: string; amdsmi: string}
}

export function tempDir(prefix = 'unet-accel-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function writeConfig(dir: string, name: string, entries: Record<string, string | number>): string {
  const path = join(dir, name)
  writeFileSync(
    path,
    Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  )
  return path
}

/** The NVML view of fixtures/sysfs/gpu-asic-rig with absolute fixture paths. */
export function rigNvml(extra: Record<string, string | number> = {}): Record<string, string | number> {
  return {
    driver_version: '550.90.07',
    'cc.environment': 2,
    'cc.feature': 1,
    'cc.devtools': 0,
    device_count: 2,
    'gpu0.name': 'NVIDIA H100 80GB HBM3',
    'gpu0.uuid': 'GPU-11111111-2222-3333-4444-555555555555',
    'gpu0.serial': '1654922001234',
    'gpu0.pci.bus_id': '00000000:17:00.0',
    'gpu0.pci.bus': '0x17',
    'gpu0.pci.device_id': '0x233010de',
    'gpu0.memory.total': '85520809984',
    'gpu0.memory.used': '566231040',
    'gpu0.utilization.gpu': 0,
    'gpu0.attestation_report': fixture('nvtrust/hopper-report.hex'),
    'gpu0.attestation_cert_chain': fixture('nvtrust/hopper-cert-chain.pem'),
    'gpu1.name': 'NVIDIA GeForce RTX 4090',
    'gpu1.uuid': 'GPU-a5b0c4d2-7e61-4b3f-9c1e-0d2f6a8b9c10',
    'gpu1.pci.bus_id': '00000000:65:00.0',
    'gpu1.pci.device_id': '0x268410de',
    'gpu1.memory.total': '25757220864',
    'gpu1.memory.used': '8589934592',
    'gpu1.utilization.gpu': 87,
    'gpu1.processes': '4242:8388608000,4243:1048576',
    ...extra,
  }
}
