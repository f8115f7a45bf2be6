/**
 * The tpm2 security engine: provisioning (EK, EK certificate, persisted AK) and quotes on a real TPM
 * (or swtpm) through tpm2-tss. The AK is a restricted ECC P-256 ECDSA-SHA256 signing key, a primary
 * of the endorsement hierarchy, persisted at the configured handle and reused across runs.
 */
import {ExitCode, UnetError} from '../../errors/index.js'
import {deviceIdOf} from '../../evidence/nonce.js'
import {bytesToHex, equalBytes} from '../../util/hex.js'
import type {EngineIdentity, EngineQuote, SecurityEngine} from '../engine-types.js'
import {ESYS_TR} from './ffi.js'
import {derToPem} from './pem.js'
import {parseTpm2bPublic, rawPublicKey, type TpmPublic} from './structures.js'
import {Tpm} from './tpm.js'
import {akTemplateEccP256, AK_REQUIRED_ATTRIBUTES, ekTemplateEccP256, ekTemplateRsa2048, TPM2_ALG, TPM2_ECC} from './wire.js'

/** NV indices of EK certificates (TCG EK Credential Profile). */
const EK_CERT_INDEX = {rsa2048: 0x01c00002, eccP256: 0x01c0000a, eccP384: 0x01c00016} as const

export interface Tpm2EngineOptions {
  tcti: string
  akHandle: number
  pcrs: number[]
}

export interface EkInfo {
  type: 'rsa2048' | 'eccP256'
  /** TPM2B_PUBLIC of the EK. */
  publicArea: Uint8Array
  /** DER of the EK certificate read from NV, trailing padding removed; undefined when none. */
  certificate?: Uint8Array
}

export class Tpm2Engine implements SecurityEngine {
  readonly kind = 'tpm2' as const
  private akTr?: number
  private akPublic?: Uint8Array

  private constructor(
    readonly tpm: Tpm,
    readonly options: Tpm2EngineOptions,
  ) {}

  static async open(options: Tpm2EngineOptions): Promise<Tpm2Engine> {
    for (const p of options.pcrs) if (!Number.isInteger(p) || p < 0 || p > 23) throw new UnetError(`PCR ${p} is out of range 0..23`, ExitCode.INPUT_INVALID)
    return new Tpm2Engine(await Tpm.open(options.tcti), options)
  }

  close(): void {
    if (this.akTr !== undefined) this.tpm.closeTr(this.akTr)
    this.akTr = undefined
    this.tpm.close()
  }

  /** The AK's ESYS_TR: loads the persisted one, or creates, persists and flushes a new one. */
  ensureAk(): {handle: number; publicArea: Uint8Array} {
    if (this.akTr !== undefined && this.akPublic) return {handle: this.akTr, publicArea: this.akPublic}
    const handle = this.options.akHandle
    let tr = this.tpm.persistent(handle)
    if (tr === undefined) {
      const created = this.tpm.createPrimary(ESYS_TR.RH_ENDORSEMENT, akTemplateEccP256())
      try {
        tr = this.tpm.evict(created.handle, handle)
      } finally {
        this.tpm.flush(created.handle)
      }
    }
    const {publicArea} = this.tpm.readPublic(tr)
    const pub = parseTpm2bPublic(publicArea)
    if (!isUnetAk(pub)) {
      this.tpm.closeTr(tr)
      throw new UnetError(`the key at 0x${handle.toString(16)} is not a restricted ECC P-256 ECDSA signing key`, ExitCode.TPM_ERROR, {
        hint: `choose a free handle (unet config set akHandle 0x81010003) or evict it: tpm2_evictcontrol -C o -c 0x${handle.toString(16)}`,
      })
    }
    this.akTr = tr
    this.akPublic = publicArea
    return {handle: tr, publicArea}
  }

  /** Creates the EK (ECC P-256 when the TPM has a P-256 EK certificate, RSA 2048 otherwise), reads its cert, flushes it. */
  endorsementKey(): EkInfo {
    const eccCert = this.readCert(EK_CERT_INDEX.eccP256)
    const type = eccCert ? 'eccP256' : 'rsa2048'
    const created = this.tpm.createPrimary(ESYS_TR.RH_ENDORSEMENT, type === 'eccP256' ? ekTemplateEccP256() : ekTemplateRsa2048())
    this.tpm.flush(created.handle)
    return {type, publicArea: created.publicArea, certificate: eccCert ?? this.readCert(EK_CERT_INDEX.rsa2048)}
  }

  /** Every EK certificate the TPM holds in the TCG NV indices (RSA 2048, ECC P-256, ECC P-384), DER. */
  ekCertificates(): Partial<Record<keyof typeof EK_CERT_INDEX, Uint8Array>> {
    const out: Partial<Record<keyof typeof EK_CERT_INDEX, Uint8Array>> = {}
    for (const [type, index] of Object.entries(EK_CERT_INDEX) as Array<[keyof typeof EK_CERT_INDEX, number]>) {
      const cert = this.readCert(index)
      if (cert) out[type] = cert
    }
    return out
  }

  /** An EK certificate from NV as DER, with any padding after the DER SEQUENCE removed. */
  readCert(index: number): Uint8Array | undefined {
    const raw = this.tpm.nvRead(index)
    return raw ? trimDer(raw) : undefined
  }

  async identity(): Promise<EngineIdentity> {
    const ak = this.ensureAk()
    const pub = parseTpm2bPublic(ak.publicArea)
    const publicKey = rawPublicKey(pub)
    const ek = this.endorsementKey()
    return {
      kind: 'tpm2',
      publicKey,
      deviceId: bytesToHex(deviceIdOf(publicKey)),
      akPublic: ak.publicArea,
      ekPublic: ek.publicArea,
      certChain: ek.certificate ? [derToPem(ek.certificate)] : [],
    }
  }

  async quote(qualifyingData: Uint8Array): Promise<EngineQuote> {
    const ak = this.ensureAk()
    const q = this.tpm.quote(ak.handle, qualifyingData, {hash: TPM2_ALG.SHA256, pcrs: this.options.pcrs})
    return {attest: q.attest, signature: q.signature, pcrs: {hash: 'sha256', values: q.pcrs}}
  }

  /**
   * Credential activation (the agent's half): ActivateCredential(AK, EK) on a freshly created EK,
   * flushed afterwards. With `expectedEk` (the TPM2B_PUBLIC the challenge was made for) a different EK
   * is refused before the TPM is asked. The verifier's half is makeCredential() in credential.ts; the
   * agent's entry point is activateCredential() in activation.ts.
   */
  async activateCredential(credentialBlob: Uint8Array, secret: Uint8Array, ekType?: 'rsa2048' | 'eccP256', expectedEk?: Uint8Array): Promise<Uint8Array> {
    const ak = this.ensureAk()
    const type = ekType ?? (this.readCert(EK_CERT_INDEX.eccP256) ? 'eccP256' : 'rsa2048')
    const ek = this.tpm.createPrimary(ESYS_TR.RH_ENDORSEMENT, type === 'eccP256' ? ekTemplateEccP256() : ekTemplateRsa2048())
    try {
      if (expectedEk && !equalBytes(ek.publicArea, expectedEk))
        throw new UnetError(`this TPM's ${type} EK is not the EK the credential challenge was made for`, ExitCode.TPM_ERROR, {
          hint: 'the registration names another TPM (or another EK type): register from the machine whose TPM it is',
        })
      return this.tpm.activateCredential(ak.handle, ek.handle, credentialBlob, secret)
    } finally {
      this.tpm.flush(ek.handle)
    }
  }

  /** The EK public area of a given type (for tests and the verifier's MakeCredential). */
  ekPublic(type: 'rsa2048' | 'eccP256'): Uint8Array {
    const ek = this.tpm.createPrimary(ESYS_TR.RH_ENDORSEMENT, type === 'eccP256' ? ekTemplateEccP256() : ekTemplateRsa2048())
    this.tpm.flush(ek.handle)
    return ek.publicArea
  }
}

function isUnetAk(pub: TpmPublic): boolean {
  return (
    pub.type === 'ecc' &&
    pub.curve === TPM2_ECC.NIST_P256 &&
    pub.scheme === TPM2_ALG.ECDSA &&
    pub.schemeHash === TPM2_ALG.SHA256 &&
    (pub.attributes & AK_REQUIRED_ATTRIBUTES) === AK_REQUIRED_ATTRIBUTES
  )
}

/** NV EK certs are often padded to the index size: keep exactly the DER SEQUENCE. */
export function trimDer(raw: Uint8Array): Uint8Array {
  if (raw.length < 2 || raw[0] !== 0x30) return raw
  const first = raw[1]!
  let len: number
  let header: number
  if (first < 0x80) {
    len = first
    header = 2
  } else {
    const n = first & 0x7f
    if (n < 1 || n > 3 || raw.length < 2 + n) return raw
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + raw[2 + i]!
    header = 2 + n
  }
  return header + len <= raw.length ? raw.subarray(0, header + len) : raw
}
