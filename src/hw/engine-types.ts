/**
 * The host security engine's interface: what produces the one quote per host per epoch. Two
 * implementations share it and the TPMS_ATTEST wire format, so verifiers (and the contract) treat their
 * quotes the same way: `tpm2` (a real TPM through tpm2-tss) and `emulator` (software, devnet only).
 * Apart from the factory (engine.ts) so the engines can name it without an import circle.
 */
export type EngineKind = 'tpm2' | 'emulator'

export interface EngineIdentity {
  kind: EngineKind
  /** The AK's raw public key: SEC1 uncompressed point (0x04 || X || Y) for P-256. */
  publicKey: Uint8Array
  /** keccak256(publicKey), 0x-hex (see src/evidence/nonce.ts deviceIdOf). */
  deviceId: string
  /** TPM2B_PUBLIC of the AK (wire bytes): the verifier checks its attributes and the quote's signer name. */
  akPublic: Uint8Array
  /** Certificates, PEM, leaf first: the EK certificate (tpm2) or the self-signed emulator root. */
  certChain: string[]
  /** TPM2B_PUBLIC of the EK the certificate is about (tpm2 only). */
  ekPublic?: Uint8Array
}

export interface EngineQuote {
  /** TPMS_ATTEST, exactly the bytes that were signed. */
  attest: Uint8Array
  /** TPMT_SIGNATURE wire bytes. */
  signature: Uint8Array
  /** The quoted bank and the PCR values the quote's pcrDigest commits to. */
  pcrs: {hash: 'sha256'; values: Map<number, Uint8Array>}
}

export interface SecurityEngine {
  readonly kind: EngineKind
  identity(): Promise<EngineIdentity>
  /** Quotes the selected PCRs with TPMS_ATTEST.extraData = qualifyingData (at most 64 bytes). */
  quote(qualifyingData: Uint8Array): Promise<EngineQuote>
  /** Releases the transport; the engine is unusable afterwards. */
  close(): void
}
