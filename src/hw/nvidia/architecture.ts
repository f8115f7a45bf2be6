import type {X509Certificate} from 'node:crypto'

/**
 * Which NVIDIA chip an attestation chain belongs to, read from the chain itself (never from a caller's
 * claim): certificate 1 of every NVIDIA attestation chain is the chip's device identity certificate,
 * provisioned at manufacture, with a common name such as "GH100 A01 GSP BROM" (NVIDIA's attestation SDK
 * reads its hardware model from the same place, X509CertChain::get_hwmodel). The leaf ("… FMC LF") must
 * name the same chip. The architecture decides where the leaf carries its TCG DICE FWID
 * (attestation-sdk src/gpu/evidence.cpp, src/switch/evidence.cpp): Hopper and the LS10 NVSwitch under
 * 2.23.133.5.4.1 (the digest is the extension's last 48 bytes), Blackwell under 2.23.133.5.4.1.1
 * (TCG DiceTcbInfo, first entry of its fwids list).
 */
export type NvidiaArchitectureName = 'hopper' | 'blackwell' | 'ls10'

export interface NvidiaArchitecture {
  name: NvidiaArchitectureName
  /** The chip name in the certificate common names. */
  chip: string
  device: 'gpu' | 'nvswitch'
  fwidOid: string
}

/** TCG DICE FWID extensions: NVIDIA's Hopper-era form and the TCG DiceTcbInfo form. */
export const DICE_FWID_OID = '2.23.133.5.4.1'
export const DICE_TCB_INFO_OID = '2.23.133.5.4.1.1'

export const NVIDIA_ARCHITECTURES: readonly NvidiaArchitecture[] = [
  {name: 'hopper', chip: 'GH100', device: 'gpu', fwidOid: DICE_FWID_OID},
  {name: 'blackwell', chip: 'GB100', device: 'gpu', fwidOid: DICE_TCB_INFO_OID},
  {name: 'ls10', chip: 'LS_10', device: 'nvswitch', fwidOid: DICE_FWID_OID},
]

/** The common name of a certificate (node prints the subject one attribute a line). */
export function commonName(cert: X509Certificate): string | undefined {
  return cert.subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3)
}

/** "GB100 A01 GSP BROM" → chip GB100; the chip is the first word of both names. */
const chipOf = (cn: string | undefined) => cn?.split(' ')[0]

export type ArchitectureResult = {architecture: NvidiaArchitecture; reason?: undefined} | {architecture?: undefined; reason: string}

/** The architecture named by the chain (leaf first): the device identity certificate's chip, which the leaf must repeat. */
export function chainArchitecture(chain: readonly X509Certificate[]): ArchitectureResult {
  const identity = chain[1]
  if (!identity) return {reason: 'the chain has no device identity certificate (certificate 1): the chip architecture is unknown'}
  const identityCn = commonName(identity)
  const chip = chipOf(identityCn)
  const architecture = NVIDIA_ARCHITECTURES.find((a) => a.chip === chip)
  if (!architecture)
    return {
      reason: `device identity certificate "${identityCn ?? identity.subject}" names no known NVIDIA chip (known: ${NVIDIA_ARCHITECTURES.map((a) => a.chip).join(', ')})`,
    }
  const leafChip = chipOf(commonName(chain[0]!))
  if (leafChip !== chip) return {reason: `the leaf certificate names chip ${leafChip ?? '(none)'}, its device identity certificate ${chip}`}
  return {architecture}
}
