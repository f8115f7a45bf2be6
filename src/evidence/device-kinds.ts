/**
 * Device kinds as the POCI contract numbers them (docs/protocol.md §Kinds), as pure constants so the
 * layers below src/chain (hw, evidence, the verifier's policy) can name them without importing chain.
 * src/chain/artifacts.ts holds the same table; it can re-export this one.
 */
export const DeviceKind = {
  HOST_TPM: 1,
  HOST_EMULATOR: 2,
  P256: 3,
  SECP256K1: 4,
  RSA2048: 5,
  P384: 6,
  EMULATOR: 7,
} as const
export type DeviceKindValue = (typeof DeviceKind)[keyof typeof DeviceKind]

export const DEVICE_KIND_NAMES: Record<number, string> = {
  1: 'host-tpm',
  2: 'host-emulator',
  3: 'p256',
  4: 'secp256k1',
  5: 'rsa2048',
  6: 'p384',
  7: 'emulator',
}
