/**
 * TPM operations unet needs, on top of the FFI bindings: primary keys, persistence, quotes, PCR reads,
 * NV reads (EK certificates) and credential activation. Every transient handle and session created
 * here is flushed before the function returns, success or not (swtpm has no resource manager).
 */
import {ExitCode, UnetError} from '../../errors/index.js'
import {ESYS_TR, TpmError, Tss2Context, type Ptr} from './ffi.js'
import {encodePcrSelection, Reader, tpm2b, TPM2_ALG, type PcrSelection, Writer} from './wire.js'

const EMPTY_SENSITIVE = Uint8Array.from([0, 4, 0, 0, 0, 0])
const EMPTY_2B = Uint8Array.from([0, 0])
const NO_PCRS = Uint8Array.from([0, 0, 0, 0])
const TPM2_RC_HANDLE = 0x08b
/** The three session slots of an ESYS call: an empty-password session for the one authorized handle, no others. */
const PASSWORD_SESSION = [ESYS_TR.PASSWORD, ESYS_TR.NONE, ESYS_TR.NONE] as const
/** The three session slots of an ESYS call that authorizes nothing. */
const NO_SESSIONS = [ESYS_TR.NONE, ESYS_TR.NONE, ESYS_TR.NONE] as const

export interface RawQuote {
  /** TPMS_ATTEST (the body of TPM2B_ATTEST). */
  attest: Uint8Array
  /** TPMT_SIGNATURE wire bytes. */
  signature: Uint8Array
  /** PCR index → value, in the quoted bank. */
  pcrs: Map<number, Uint8Array>
  hash: number
}

export class Tpm {
  private constructor(readonly t: Tss2Context) {}

  static async open(tcti: string): Promise<Tpm> {
    return new Tpm(await Tss2Context.open(tcti))
  }

  close(): void {
    this.t.close()
  }

  /** CreatePrimary under a hierarchy; returns the transient ESYS_TR and its TPM2B_PUBLIC. */
  createPrimary(hierarchy: number, templ: Uint8Array): {handle: number; publicArea: Uint8Array} {
    const t = this.t
    const handle = [0]
    const outPublic: Ptr[] = [null]
    const creationData: Ptr[] = [null]
    const creationHash: Ptr[] = [null]
    const creationTicket: Ptr[] = [null]
    t.call(
      'Esys_CreatePrimary',
      hierarchy,
      ...PASSWORD_SESSION,
      t.toStruct('TPM2B_SENSITIVE_CREATE', EMPTY_SENSITIVE),
      t.toStruct('TPM2B_PUBLIC', tpm2b(templ)),
      t.toStruct('TPM2B_DATA', EMPTY_2B),
      t.toStruct('TPML_PCR_SELECTION', NO_PCRS),
      handle,
      outPublic,
      creationData,
      creationHash,
      creationTicket,
    )
    t.free(creationData[0]!)
    t.free(creationHash[0]!)
    t.free(creationTicket[0]!)
    return {handle: handle[0]!, publicArea: t.fromStruct('TPM2B_PUBLIC', outPublic[0]!)}
  }

  /** ESYS_TR of a persistent handle, or undefined when nothing is persisted there. */
  persistent(tpmHandle: number): number | undefined {
    const out = [0]
    const rc = this.t.tss.fn.Esys_TR_FromTPMPublic(this.t.ctx, tpmHandle >>> 0, ...NO_SESSIONS, out) as number
    if (rc === 0) return out[0]!
    if ((rc & 0xfff & ~0x0c0) === TPM2_RC_HANDLE || (rc & 0xff) === 0x8b) return undefined
    throw new TpmError('Esys_TR_FromTPMPublic', rc, String(this.t.tss.fn.Tss2_RC_Decode(rc)))
  }

  /** Releases the ESYS metadata of a persistent handle (does not evict it). */
  closeTr(handle: number): void {
    this.t.tss.fn.Esys_TR_Close(this.t.ctx, [handle])
  }

  readPublic(handle: number): {publicArea: Uint8Array; name: Uint8Array} {
    const t = this.t
    const pub: Ptr[] = [null]
    const name: Ptr[] = [null]
    const qname: Ptr[] = [null]
    t.call('Esys_ReadPublic', handle, ...NO_SESSIONS, pub, name, qname)
    t.free(qname[0]!)
    return {publicArea: t.fromStruct('TPM2B_PUBLIC', pub[0]!), name: unwrap2b(t.fromStruct('TPM2B_NAME', name[0]!))}
  }

  /** Persists a transient object at a persistent handle (owner authorization, empty password). */
  evict(handle: number, persistentHandle: number): number {
    const out = [0]
    this.t.call('Esys_EvictControl', ESYS_TR.RH_OWNER, handle, ...PASSWORD_SESSION, persistentHandle >>> 0, out)
    return out[0]!
  }

  flush(handle: number): void {
    this.t.flush(handle)
  }

  quote(signHandle: number, qualifyingData: Uint8Array, selection: PcrSelection): RawQuote {
    if (qualifyingData.length > 64) throw new UnetError(`qualifying data is ${qualifyingData.length} bytes, at most 64`, ExitCode.INPUT_INVALID)
    const t = this.t
    const quoted: Ptr[] = [null]
    const sig: Ptr[] = [null]
    t.call(
      'Esys_Quote',
      signHandle,
      ...PASSWORD_SESSION,
      t.toStruct('TPM2B_DATA', tpm2b(qualifyingData)),
      t.toStruct('TPMT_SIG_SCHEME', new Writer().u16(TPM2_ALG.NULL).bytes()),
      t.toStruct('TPML_PCR_SELECTION', encodePcrSelection([selection])),
      quoted,
      sig,
    )
    let attest: Uint8Array
    try {
      attest = unwrap2b(t.fromStruct('TPM2B_ATTEST', quoted[0]!))
    } catch (error) {
      t.free(sig[0]!)
      throw error
    }
    const signature = t.fromStruct('TPMT_SIGNATURE', sig[0]!)
    return {attest, signature, pcrs: this.pcrRead(selection), hash: selection.hash}
  }

  /** Reads PCR values, eight per call (the TPM's TPML_DIGEST limit). */
  pcrRead(selection: PcrSelection): Map<number, Uint8Array> {
    const t = this.t
    const out = new Map<number, Uint8Array>()
    const sorted = [...new Set(selection.pcrs)].sort((a, b) => a - b)
    for (let i = 0; i < sorted.length; i += 8) {
      const chunk = sorted.slice(i, i + 8)
      const counter = [0]
      const selOut: Ptr[] = [null]
      const values: Ptr[] = [null]
      t.call(
        'Esys_PCR_Read',
        ...NO_SESSIONS,
        t.toStruct('TPML_PCR_SELECTION', encodePcrSelection([{hash: selection.hash, pcrs: chunk}])),
        counter,
        selOut,
        values,
      )
      t.free(selOut[0]!)
      const r = new Reader(t.fromStruct('TPML_DIGEST', values[0]!), 'TPML_DIGEST')
      const count = r.u32()
      if (count !== chunk.length) throw new UnetError(`PCR_Read returned ${count} of ${chunk.length} PCRs (is the bank allocated?)`, ExitCode.TPM_ERROR)
      for (const pcr of chunk) out.set(pcr, Uint8Array.from(r.tpm2b('digest', 64)))
    }
    return out
  }

  /** Reads a whole NV index (EK certificates), or undefined when it is not defined. */
  nvRead(index: number): Uint8Array | undefined {
    const t = this.t
    const nv = this.persistent(index)
    if (nv === undefined) return undefined
    try {
      const pub: Ptr[] = [null]
      const name: Ptr[] = [null]
      t.call('Esys_NV_ReadPublic', nv, ...NO_SESSIONS, pub, name)
      t.free(name[0]!)
      const r = new Reader(t.fromStruct('TPM2B_NV_PUBLIC', pub[0]!), 'TPM2B_NV_PUBLIC')
      r.u16() // size
      r.u32() // nvIndex
      r.u16() // nameAlg
      r.u32() // attributes
      r.tpm2b('authPolicy')
      const size = r.u16()
      const chunks: Uint8Array[] = []
      for (let offset = 0; offset < size; offset += 512) {
        const data: Ptr[] = [null]
        t.call('Esys_NV_Read', nv, nv, ...PASSWORD_SESSION, Math.min(512, size - offset), offset, data)
        chunks.push(unwrap2b(t.fromStruct('TPM2B_MAX_NV_BUFFER', data[0]!)))
      }
      return Uint8Array.from(Buffer.concat(chunks))
    } finally {
      this.closeTr(nv)
    }
  }

  /**
   * Loads only a public area into the NULL hierarchy (LoadExternal without a sensitive part): the
   * object then has a name but no private key. Used to show that such a key cannot stand in for a
   * TPM-resident AK in ActivateCredential.
   */
  loadExternalPublic(publicArea: Uint8Array): number {
    const handle = [0]
    this.t.call('Esys_LoadExternal', ...NO_SESSIONS, null, this.t.toStruct('TPM2B_PUBLIC', publicArea), ESYS_TR.RH_NULL, handle)
    return handle[0]!
  }

  /**
   * ActivateCredential(AK, EK): the EK needs PolicySecret(TPM_RH_ENDORSEMENT) in a policy session,
   * the AK a password session. Returns the decrypted credential.
   */
  activateCredential(akHandle: number, ekHandle: number, credentialBlob: Uint8Array, secret: Uint8Array): Uint8Array {
    const t = this.t
    const session = [0]
    t.call(
      'Esys_StartAuthSession',
      ESYS_TR.NONE, // tpmKey: unsalted
      ESYS_TR.NONE, // bind: unbound
      ...NO_SESSIONS,
      null,
      0x01, // TPM2_SE_POLICY
      t.toStruct('TPMT_SYM_DEF', new Writer().u16(TPM2_ALG.NULL).bytes()),
      TPM2_ALG.SHA256,
      session,
    )
    try {
      const timeout: Ptr[] = [null]
      const ticket: Ptr[] = [null]
      t.call(
        'Esys_PolicySecret',
        ESYS_TR.RH_ENDORSEMENT,
        session[0],
        ...PASSWORD_SESSION,
        t.toStruct('TPM2B_NONCE', EMPTY_2B),
        t.toStruct('TPM2B_DIGEST', EMPTY_2B),
        t.toStruct('TPM2B_NONCE', EMPTY_2B),
        0,
        timeout,
        ticket,
      )
      t.free(timeout[0]!)
      t.free(ticket[0]!)
      const certInfo: Ptr[] = [null]
      t.call(
        'Esys_ActivateCredential',
        akHandle,
        ekHandle,
        ESYS_TR.PASSWORD,
        session[0],
        ESYS_TR.NONE,
        t.toStruct('TPM2B_ID_OBJECT', tpm2b(credentialBlob)),
        t.toStruct('TPM2B_ENCRYPTED_SECRET', tpm2b(secret)),
        certInfo,
      )
      return unwrap2b(t.fromStruct('TPM2B_DIGEST', certInfo[0]!))
    } finally {
      // a policy session that authorized a command stays loaded unless flushed (continueSession is set by ESYS)
      t.flush(session[0]!)
    }
  }
}

function unwrap2b(bytes: Uint8Array): Uint8Array {
  const r = new Reader(bytes, 'TPM2B')
  const body = r.tpm2b('buffer')
  r.end()
  return Uint8Array.from(body)
}
