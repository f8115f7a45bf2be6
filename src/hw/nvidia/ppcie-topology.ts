import type {DecodedOpaque} from './opaque.js'

/**
 * The topology check of NVIDIA's PPCIE verifier (protected PCIe: a machine of 8 GPUs, each linked by
 * NVLink to the same 4 NVSwitches), from the signed opaque data of each report only. The facts, from
 * NVIDIA/nvtrust at commit 028173093d43dbf37364bdc39ad7e696bccbce2e:
 *  - guest_tools/ppcie-verifier/ppcie/verifier/src/topology/validate_topology.py: exactly 8 GPU reports
 *    and exactly 4 switch reports; each GPU's switch PDIs, zero PDIs (disabled links) left out, are 4
 *    distinct PDIs, the same 4 for every GPU; each switch's own PDI is one of them; each switch lists 8
 *    distinct GPU PDIs, the same 8 for every switch.
 *  - GPU opaque field 22 (OPAQUE_FIELD_ID_SWITCH_PDI, gpu_verifiers/local_gpu_verifier/src/verifier/
 *    attestation/spdm_msrt_resp_msg.py parse_switch_pdis): one 8-byte PDI per NVLink (18 on Hopper), a
 *    length not a multiple of 8 is a parse error; the topology check reads each PDI little-endian.
 *  - Switch opaque field 22 (OPAQUE_FIELD_ID_DEVICE_PDI) and 26 (OPAQUE_FIELD_ID_SWITCH_GPU_PDIS,
 *    attestation_sdk/src/nv_attestation_sdk/verifiers/nv_switch_verifier/attestation/spdm_msrt_resp_msg.py
 *    parse_pdis): the switch's own 8-byte PDI, compared as its bytes in order (so a GPU's little-endian
 *    PDI matches a switch whose bytes are the GPU's reversed: NVIDIA's test_validate_topology.py pairs
 *    40b9c6b3d748fd90 in a GPU with 90fd48d7b3c6b940 in a switch); field 26 is 8 GPU PDIs of 8 bytes,
 *    then one port byte per port. The GPU PDIs are compared between switches as bytes.
 * unet is stricter where NVIDIA lets a set through: the 4 switch reports must be 4 distinct PDIs (NVIDIA
 * only asks each to be among the GPUs' 4), a missing or malformed field is a reason (not an exception),
 * and an all-zero GPU PDI in a switch's list is no GPU. Limit: a GPU report carries no PDI of its own
 * (NVIDIA defines no such GPU field), so the switches' GPU lists cannot be tied to the GPU reports; the
 * GPUs are tied to the switches by the switch PDIs they sign. Pure; returns the reasons.
 */
export const PPCIE_GPU_COUNT = 8
export const PPCIE_SWITCH_COUNT = 4

const FIELD = {GPU_SWITCH_PDI: 22, SWITCH_DEVICE_PDI: 22, SWITCH_GPU_PDIS: 26} as const
const PDI_SIZE = 8

/** One device of the set: its entry number in the evidence list and its report's signed opaque data. */
export interface PpcieDevice {
  entry: number
  opaque: DecodedOpaque
}

const fieldOf = (d: PpcieDevice, type: number) => d.opaque.fields.find((f) => f.type === type)?.value
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const chunks = (b: Uint8Array, count = b.length / PDI_SIZE) => Array.from({length: count}, (_, i) => b.subarray(i * PDI_SIZE, (i + 1) * PDI_SIZE))
const isZero = (b: Uint8Array) => b.every((x) => x === 0)
const setText = (s: ReadonlySet<string>) => `{${[...s].sort().join(', ')}}`
const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>) => a.size === b.size && [...a].every((x) => b.has(x))

/** The distinct switch PDIs a GPU signs, in the switches' byte order (NVIDIA reads them little-endian), or why none. */
function gpuSwitchPdis(gpu: PpcieDevice): Set<string> | string {
  const field = fieldOf(gpu, FIELD.GPU_SWITCH_PDI)
  if (!field) return `entry ${gpu.entry} (GPU): no signed SWITCH_PDI field (opaque field ${FIELD.GPU_SWITCH_PDI}): no switch link is attested`
  if (field.length === 0 || field.length % PDI_SIZE !== 0)
    return `entry ${gpu.entry} (GPU): SWITCH_PDI field is ${field.length} bytes, not a whole number of ${PDI_SIZE}-byte PDIs`
  return new Set(
    chunks(field)
      .filter((p) => !isZero(p))
      .map((p) => hex(Uint8Array.from(p).reverse())),
  )
}

function checkGpus(gpus: readonly PpcieDevice[], reasons: string[]): Set<string> | undefined {
  let first: {entry: number; pdis: Set<string>} | undefined
  for (const gpu of gpus) {
    const pdis = gpuSwitchPdis(gpu)
    if (typeof pdis === 'string') {
      reasons.push(pdis)
      continue
    }
    if (pdis.size !== PPCIE_SWITCH_COUNT)
      reasons.push(`entry ${gpu.entry} (GPU): links to ${pdis.size} distinct switch(es) ${setText(pdis)}, PPCIE links every GPU to ${PPCIE_SWITCH_COUNT}`)
    if (!first) first = {entry: gpu.entry, pdis}
    else if (!sameSet(first.pdis, pdis))
      reasons.push(
        `entry ${gpu.entry} (GPU): links to switches ${setText(pdis)}, entry ${first.entry} to ${setText(first.pdis)}: every GPU must link to the same switches`,
      )
  }
  return first?.pdis
}

function checkSwitches(switches: readonly PpcieDevice[], gpuSwitches: Set<string> | undefined, reasons: string[]): Set<string> {
  const own = new Map<string, number>()
  let firstGpus: {entry: number; pdis: Set<string>} | undefined
  for (const sw of switches) {
    const pdi = fieldOf(sw, FIELD.SWITCH_DEVICE_PDI)
    if (!pdi || pdi.length !== PDI_SIZE)
      reasons.push(
        `entry ${sw.entry} (NVSwitch): ${pdi ? `DEVICE_PDI field is ${pdi.length} bytes, not ${PDI_SIZE}` : 'no signed DEVICE_PDI field (opaque field 22)'}`,
      )
    else {
      const id = hex(pdi)
      const seen = own.get(id)
      if (seen !== undefined) reasons.push(`entry ${sw.entry} (NVSwitch): PDI ${id} is also entry ${seen}'s: one switch counts once`)
      else own.set(id, sw.entry)
      if (gpuSwitches && !gpuSwitches.has(id)) reasons.push(`entry ${sw.entry} (NVSwitch): PDI ${id} is no switch the GPUs link to ${setText(gpuSwitches)}`)
    }
    const list = fieldOf(sw, FIELD.SWITCH_GPU_PDIS)
    if (!list || list.length < PPCIE_GPU_COUNT * PDI_SIZE) {
      reasons.push(
        `entry ${sw.entry} (NVSwitch): ${list ? `SWITCH_GPU_PDIS field is ${list.length} bytes, under ${PPCIE_GPU_COUNT} PDIs` : 'no signed SWITCH_GPU_PDIS field (opaque field 26)'}`,
      )
      continue
    }
    const gpus = new Set(
      chunks(list, PPCIE_GPU_COUNT)
        .filter((p) => !isZero(p))
        .map(hex),
    )
    if (gpus.size !== PPCIE_GPU_COUNT)
      reasons.push(`entry ${sw.entry} (NVSwitch): lists ${gpus.size} distinct GPU PDI(s) ${setText(gpus)}, PPCIE links every switch to ${PPCIE_GPU_COUNT}`)
    if (!firstGpus) firstGpus = {entry: sw.entry, pdis: gpus}
    else if (!sameSet(firstGpus.pdis, gpus))
      reasons.push(
        `entry ${sw.entry} (NVSwitch): lists GPUs ${setText(gpus)}, entry ${firstGpus.entry} ${setText(firstGpus.pdis)}: every switch must link to the same GPUs`,
      )
  }
  return new Set(own.keys())
}

/** The reasons a PPCIE set's topology fails (empty when it holds), each starting "PPCIE topology:". */
export function checkPpcieTopology(gpus: readonly PpcieDevice[], switches: readonly PpcieDevice[]): string[] {
  const reasons: string[] = []
  if (gpus.length !== PPCIE_GPU_COUNT) reasons.push(`${gpus.length} GPU report(s), a PPCIE machine has ${PPCIE_GPU_COUNT}`)
  if (switches.length !== PPCIE_SWITCH_COUNT) reasons.push(`${switches.length} NVSwitch report(s), a PPCIE machine has ${PPCIE_SWITCH_COUNT}`)
  const gpuSwitches = checkGpus(gpus, reasons)
  const switchPdis = checkSwitches(switches, gpuSwitches, reasons)
  for (const pdi of gpuSwitches ?? []) if (!switchPdis.has(pdi)) reasons.push(`the GPUs link to switch ${pdi}, which no NVSwitch report is`)
  return reasons.map((r) => `PPCIE topology: ${r}`)
}
