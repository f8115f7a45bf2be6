/**
 * A test PPCIE machine (8 Hopper GPUs each linked to the same 4 LS10 NVSwitches) under one test root, and
 * its evidence in NVIDIA's serialised form, every report really signed by its device's firmware key
 * (nvidia-pki.ts). NVIDIA publishes no complete PPCIE sample; the opaque layout follows NVIDIA's parsers
 * (src/hw/nvidia/ppcie-topology.ts): a GPU signs 18 NVLink switch PDIs (field 22), each little-endian;
 * a switch signs its own PDI (field 22) and 8 GPU PDIs then one port byte per port (field 26).
 */
import {randomBytes} from 'node:crypto'

import {concatBytes} from '../../src/util/hex.js'
import {testFirmware, testNvidiaChip, testReport, type TestFirmware} from './nvidia-pki.js'
import {ca, type Issued} from './x509.js'

export interface TestPpcieMachine {
  root: Issued
  gpus: TestFirmware[]
  switches: TestFirmware[]
  /** Each switch's own PDI, in the byte order the switch signs it. */
  switchPdis: Uint8Array[]
  gpuPdis: Uint8Array[]
}

/** One device's evidence before signing: tests change `opaque` to lie about the topology. */
export interface PpcieDeviceEvidence {
  arch: 'HOPPER' | 'LS10'
  fw: TestFirmware
  opaque: Record<number, Uint8Array>
}

const NVLINKS = 18
const pdi = () => Uint8Array.from(randomBytes(8))
const times = <T>(n: number, f: () => T) => Array.from({length: n}, f)

export function testPpcieMachine(root: Issued = ca('NVIDIA Device Identity CA (TEST)')): TestPpcieMachine {
  return {
    root,
    gpus: times(8, () => testFirmware(testNvidiaChip('GH100', root))),
    switches: times(4, () => testFirmware(testNvidiaChip('LS_10', root))),
    switchPdis: times(4, pdi),
    gpuPdis: times(8, pdi),
  }
}

/** A GPU's NVLink switch PDIs: each switch on several links, little-endian, the last two links disabled (zero). */
export function gpuLinks(switchPdis: readonly Uint8Array[]): Uint8Array {
  const links = times(NVLINKS - 2, () => new Uint8Array(8)).map((_, i) => Uint8Array.from(switchPdis[i % switchPdis.length]!).reverse())
  return concatBytes(...links, new Uint8Array(16))
}

/** A switch's GPU PDIs, then its port map (one byte a port). */
export const switchGpuList = (gpuPdis: readonly Uint8Array[]) => concatBytes(...gpuPdis, Uint8Array.from(times(64, () => 0xff)))

/** GPU opaque: PPCIE mode (FEATURE_FLAG 2, PROTECTED_PCIE_STATUS 0xAA, opaque data version 1) and its switch links. */
export const ppcieGpuOpaque = (links: Uint8Array): Record<number, Uint8Array> => ({
  21: Uint8Array.of(0xaa),
  22: links,
  34: Uint8Array.of(1, 0),
  36: Uint8Array.of(2, 0),
})

/** The machine's devices as a consistent machine reports them. */
export function ppcieDevices(m: TestPpcieMachine): {gpus: PpcieDeviceEvidence[]; switches: PpcieDeviceEvidence[]} {
  return {
    gpus: m.gpus.map((fw) => ({arch: 'HOPPER', fw, opaque: ppcieGpuOpaque(gpuLinks(m.switchPdis))})),
    switches: m.switches.map((fw, i) => ({arch: 'LS10', fw, opaque: {22: m.switchPdis[i]!, 26: switchGpuList(m.gpuPdis)}})),
  }
}

/** NVIDIA's serialised evidence list (JSON) of the devices, each report signed over `nonce`. */
export function ppcieEvidenceJson(devices: readonly PpcieDeviceEvidence[], nonce: Uint8Array): string {
  const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64')
  return JSON.stringify(
    devices.map((d) => ({
      arch: d.arch,
      nonce: Buffer.from(nonce).toString('hex'),
      evidence: b64(testReport(d.fw, nonce, {opaque: d.opaque})),
      certificate: b64(d.fw.chainPem),
    })),
  )
}
