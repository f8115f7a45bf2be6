/**
 * tpm2-tss through koffi 3 (pointers are BigInt), loaded lazily with src/hw/ffi-kit.ts; what is bound
 * is one table (TSS_FUNCTIONS) plus a marshal/unmarshal pair per MU_TYPES entry. Struct layouts stay
 * out of JS: inputs are marshalled to TPM wire bytes in TS (wire.ts) and unmarshalled by Tss2_MU_*
 * into opaque buffers; outputs that ESYS allocates are marshalled back to wire bytes by Tss2_MU_* and
 * freed with Esys_Free. See native/tpm2/README.md for the C signatures used.
 */
import {ExitCode, HardwareUnavailableError, UnetError} from '../../errors/index.js'
import {bind, loadKoffi, openLibrary as openLibraryWith, type Koffi, type KoffiLibrary} from '../ffi-kit.js'
import {tctiDevicePath, tpmDeviceAccess} from './device.js'

type Fn = (...args: unknown[]) => unknown
export type Ptr = bigint | null

/** Debian/Ubuntu packages that ship each soname. */
export const TSS_PACKAGES: Record<string, string> = {
  'libtss2-esys.so.0': 'libtss2-esys-3.0.2-0',
  'libtss2-tctildr.so.0': 'libtss2-tctildr0',
  'libtss2-mu.so.0': 'libtss2-mu0',
  'libtss2-rc.so.0': 'libtss2-rc0',
}

const TSS_LIBRARIES = {esys: 'libtss2-esys.so.0', tctildr: 'libtss2-tctildr.so.0', mu: 'libtss2-mu.so.0', rc: 'libtss2-rc.so.0'} as const
type TssLibrary = keyof typeof TSS_LIBRARIES

/** Every tss2 function unet calls: name → [library, C declaration]; bound in one loop by loadTss2. */
const TSS_FUNCTIONS = {
  Tss2_TctiLdr_Initialize: ['tctildr', 'uint32_t Tss2_TctiLdr_Initialize(const char *nameConf, _Out_ void **tctiContext)'],
  Tss2_TctiLdr_Finalize: ['tctildr', 'void Tss2_TctiLdr_Finalize(_Inout_ void **tctiContext)'],
  Tss2_RC_Decode: ['rc', 'const char *Tss2_RC_Decode(uint32_t rc)'],
  Esys_Initialize: ['esys', 'uint32_t Esys_Initialize(_Out_ void **esysContext, void *tcti, void *abiVersion)'],
  Esys_Finalize: ['esys', 'void Esys_Finalize(_Inout_ void **esysContext)'],
  Esys_Free: ['esys', 'void Esys_Free(void *ptr)'],
  Esys_FlushContext: ['esys', 'uint32_t Esys_FlushContext(void *ctx, uint32_t flushHandle)'],
  Esys_TR_FromTPMPublic: [
    'esys',
    'uint32_t Esys_TR_FromTPMPublic(void *ctx, uint32_t tpmHandle, uint32_t s1, uint32_t s2, uint32_t s3, _Out_ uint32_t *object)',
  ],
  Esys_TR_Close: ['esys', 'uint32_t Esys_TR_Close(void *ctx, _Inout_ uint32_t *object)'],
  Esys_CreatePrimary: [
    'esys',
    'uint32_t Esys_CreatePrimary(void *ctx, uint32_t primaryHandle, uint32_t s1, uint32_t s2, uint32_t s3, void *inSensitive, void *inPublic, void *outsideInfo, void *creationPCR, _Out_ uint32_t *objectHandle, _Out_ void **outPublic, _Out_ void **creationData, _Out_ void **creationHash, _Out_ void **creationTicket)',
  ],
  Esys_ReadPublic: [
    'esys',
    'uint32_t Esys_ReadPublic(void *ctx, uint32_t objectHandle, uint32_t s1, uint32_t s2, uint32_t s3, _Out_ void **outPublic, _Out_ void **name, _Out_ void **qualifiedName)',
  ],
  Esys_EvictControl: [
    'esys',
    'uint32_t Esys_EvictControl(void *ctx, uint32_t auth, uint32_t objectHandle, uint32_t s1, uint32_t s2, uint32_t s3, uint32_t persistentHandle, _Out_ uint32_t *newObjectHandle)',
  ],
  Esys_Quote: [
    'esys',
    'uint32_t Esys_Quote(void *ctx, uint32_t signHandle, uint32_t s1, uint32_t s2, uint32_t s3, void *qualifyingData, void *inScheme, void *pcrSelect, _Out_ void **quoted, _Out_ void **signature)',
  ],
  Esys_PCR_Read: [
    'esys',
    'uint32_t Esys_PCR_Read(void *ctx, uint32_t s1, uint32_t s2, uint32_t s3, void *pcrSelectionIn, _Out_ uint32_t *pcrUpdateCounter, _Out_ void **pcrSelectionOut, _Out_ void **pcrValues)',
  ],
  Esys_NV_ReadPublic: [
    'esys',
    'uint32_t Esys_NV_ReadPublic(void *ctx, uint32_t nvIndex, uint32_t s1, uint32_t s2, uint32_t s3, _Out_ void **nvPublic, _Out_ void **nvName)',
  ],
  Esys_NV_Read: [
    'esys',
    'uint32_t Esys_NV_Read(void *ctx, uint32_t authHandle, uint32_t nvIndex, uint32_t s1, uint32_t s2, uint32_t s3, uint16_t size, uint16_t offset, _Out_ void **data)',
  ],
  Esys_StartAuthSession: [
    'esys',
    'uint32_t Esys_StartAuthSession(void *ctx, uint32_t tpmKey, uint32_t bind, uint32_t s1, uint32_t s2, uint32_t s3, void *nonceCaller, uint8_t sessionType, void *symmetric, uint16_t authHash, _Out_ uint32_t *sessionHandle)',
  ],
  Esys_PolicySecret: [
    'esys',
    'uint32_t Esys_PolicySecret(void *ctx, uint32_t authHandle, uint32_t policySession, uint32_t s1, uint32_t s2, uint32_t s3, void *nonceTPM, void *cpHashA, void *policyRef, int32_t expiration, _Out_ void **timeout, _Out_ void **policyTicket)',
  ],
  Esys_LoadExternal: [
    'esys',
    'uint32_t Esys_LoadExternal(void *ctx, uint32_t s1, uint32_t s2, uint32_t s3, void *inPrivate, void *inPublic, uint32_t hierarchy, _Out_ uint32_t *objectHandle)',
  ],
  Esys_ActivateCredential: [
    'esys',
    'uint32_t Esys_ActivateCredential(void *ctx, uint32_t activateHandle, uint32_t keyHandle, uint32_t s1, uint32_t s2, uint32_t s3, void *credentialBlob, void *secret, _Out_ void **certInfo)',
  ],
} as const satisfies Record<string, readonly [TssLibrary, string]>

export type TssFunction = keyof typeof TSS_FUNCTIONS

/** Size of the opaque buffers Tss2_MU_*_Unmarshal writes structs into (every TPM2 struct we use is smaller). */
const OPAQUE_SIZE = 16384

/** Types with MU marshal/unmarshal pairs we use. */
const MU_TYPES = [
  'TPM2B_PUBLIC',
  'TPM2B_SENSITIVE_CREATE',
  'TPM2B_DATA',
  'TPM2B_DIGEST',
  'TPM2B_NONCE',
  'TPM2B_ATTEST',
  'TPM2B_NAME',
  'TPM2B_ID_OBJECT',
  'TPM2B_ENCRYPTED_SECRET',
  'TPM2B_MAX_NV_BUFFER',
  'TPM2B_NV_PUBLIC',
  'TPML_PCR_SELECTION',
  'TPML_DIGEST',
  'TPMT_SIGNATURE',
  'TPMT_SIG_SCHEME',
  'TPMT_SYM_DEF',
] as const
export type MuType = (typeof MU_TYPES)[number]

export interface Tss2 {
  fn: Record<TssFunction, Fn>
  marshal: Record<MuType, Fn>
  unmarshal: Record<MuType, Fn>
}

let loaded: Promise<Tss2> | undefined

/** Loads the four libraries once (lazily: `unet --version` never pays for it). */
function loadTss2(): Promise<Tss2> {
  loaded ??= doLoad().catch((error: unknown) => {
    loaded = undefined
    throw error
  })
  return loaded
}

async function doLoad(): Promise<Tss2> {
  const koffi = await loadKoffi()
  // tpm2-tss logs every TPM error response to stderr; unet decodes and reports them itself.
  process.env.TSS2_LOG ??= 'all+NONE'
  const libs = {} as Record<TssLibrary, KoffiLibrary>
  for (const [key, soname] of Object.entries(TSS_LIBRARIES) as [TssLibrary, string][]) libs[key] = openLibrary(koffi, soname)
  const bindIn = (library: TssLibrary, signature: string) => bind(libs[library], signature, {name: 'tpm2-tss', path: TSS_LIBRARIES[library]})

  const fn = {} as Record<TssFunction, Fn>
  for (const [name, [library, signature]] of Object.entries(TSS_FUNCTIONS) as [TssFunction, readonly [TssLibrary, string]][])
    fn[name] = bindIn(library, signature)
  const marshal = {} as Record<MuType, Fn>
  const unmarshal = {} as Record<MuType, Fn>
  for (const t of MU_TYPES) {
    marshal[t] = bindIn('mu', `uint32_t Tss2_MU_${t}_Marshal(void *src, _Out_ uint8_t *buffer, size_t bufferSize, _Inout_ size_t *offset)`)
    unmarshal[t] = bindIn('mu', `uint32_t Tss2_MU_${t}_Unmarshal(const uint8_t *buffer, size_t bufferSize, _Inout_ size_t *offset, _Out_ uint8_t *dest)`)
  }
  return {fn, marshal, unmarshal}
}

const tssHint = (soname: string): string => {
  const pkg = TSS_PACKAGES[soname] ?? 'tpm2-tss'
  return `install it: sudo apt-get install ${pkg} (all of tpm2-tss: ${Object.values(TSS_PACKAGES).join(' ')})`
}

/** koffi.load with a one-line error naming the Debian package that ships the library. */
export function openLibrary(koffi: Koffi, soname: string): KoffiLibrary {
  return openLibraryWith(koffi, soname, {
    message: `cannot load ${soname} (tpm2-tss is not installed)`,
    hint: tssHint(soname),
    details: {library: soname, package: TSS_PACKAGES[soname] ?? 'tpm2-tss'},
  })
}

/** The TPM response code layer/format decoded to one line, e.g. "tpm:warn(2.0): out of memory for object contexts". */
function decodeRc(tss: Tss2, rc: number): string {
  return String(tss.fn.Tss2_RC_Decode(rc >>> 0))
}

/** Base error of every failed tss2 call. */
export class TpmError extends UnetError {
  readonly rc: number
  constructor(call: string, rc: number, decoded: string, hint?: string) {
    super(`${call} failed: ${decoded} (0x${(rc >>> 0).toString(16)})`, ExitCode.TPM_ERROR, {
      hint: hint ?? hintFor(rc),
      details: {call, rc: rc >>> 0, decoded},
    })
    this.rc = rc >>> 0
  }
}

function hintFor(rc: number): string {
  const base = rc & 0xfff
  if (base === 0x902 || base === 0x903)
    return 'the TPM is out of object/session memory: transient handles were not flushed (run `tpm2_flushcontext -t -s`) and retry'
  if (base === 0x908 || base === 0x922) return 'the TPM is busy; retry in a moment'
  if ((rc & 0xffff0000) === 0xa0000) return 'the TPM transport failed: check --tcti and that the TPM (or swtpm) is running'
  return 'see `tpm2_rc_decode` for the code; run with --debug for details'
}

/** Opens the TCTI; decodes the typical failures (no device, no permission) into hardware errors. */
export class Tss2Context {
  private constructor(
    readonly tss: Tss2,
    private tcti: Ptr,
    private esys: Ptr,
    readonly tctiConf: string,
  ) {}

  static async open(tctiConf: string): Promise<Tss2Context> {
    const tss = await loadTss2()
    const path = tctiDevicePath(tctiConf)
    const access = path === undefined ? 'ok' : tpmDeviceAccess(path)
    if (access === 'missing')
      throw new HardwareUnavailableError(`no TPM at ${path}`, {
        hint: 'enable the TPM (fTPM/PTT) in the firmware setup, or use --engine emulator on a devnet',
        details: {tcti: tctiConf},
      })
    if (access === 'no-permission')
      throw new HardwareUnavailableError(`no permission to open ${path}`, {
        hint: `add your user to the tss group: sudo usermod -aG tss $USER (then log in again)`,
        details: {tcti: tctiConf},
      })
    const tctiOut: Ptr[] = [null]
    const rc1 = tss.fn.Tss2_TctiLdr_Initialize(tctiConf, tctiOut) as number
    if (rc1 !== 0)
      throw new HardwareUnavailableError(`cannot open the TPM transport "${tctiConf}": ${decodeRc(tss, rc1)}`, {
        hint: /^(swtpm|mssim)/.test(tctiConf)
          ? 'start swtpm (or the simulator) on that host/port, or fix --tcti; libtss2-tcti-swtpm0 / libtss2-tcti-mssim0 must be installed'
          : 'check --tcti (device:/dev/tpmrm0, swtpm:host=H,port=P, mssim:host=H,port=P)',
        details: {tcti: tctiConf, rc: rc1 >>> 0},
      })
    const esysOut: Ptr[] = [null]
    const rc2 = tss.fn.Esys_Initialize(esysOut, tctiOut[0], null) as number
    if (rc2 !== 0) {
      tss.fn.Tss2_TctiLdr_Finalize(tctiOut)
      throw new TpmError('Esys_Initialize', rc2, decodeRc(tss, rc2))
    }
    return new Tss2Context(tss, tctiOut[0]!, esysOut[0]!, tctiConf)
  }

  get ctx(): bigint {
    if (this.esys === null) throw new UnetError('the TPM context is closed', ExitCode.UNEXPECTED)
    return this.esys
  }

  check(call: string, rc: number): void {
    if (rc !== 0) throw new TpmError(call, rc, decodeRc(this.tss, rc))
  }

  /** Calls an ESYS function and throws a TpmError (with the decoded rc) when it fails. */
  call(name: TssFunction, ...args: unknown[]): void {
    this.check(name, this.tss.fn[name](this.ctx, ...args) as number)
  }

  /** Wire bytes → opaque struct buffer, ready to pass as `const T *`. */
  toStruct(type: MuType, wire: Uint8Array): Buffer {
    const dest = Buffer.alloc(OPAQUE_SIZE)
    const offset = [0]
    const rc = this.tss.unmarshal[type](wire, wire.length, offset, dest) as number
    this.check(`Tss2_MU_${type}_Unmarshal`, rc)
    if (offset[0] !== wire.length) throw new UnetError(`Tss2_MU_${type}_Unmarshal consumed ${offset[0]} of ${wire.length} bytes`, ExitCode.TPM_ERROR)
    return dest
  }

  /** ESYS-allocated struct pointer → wire bytes; frees the pointer. */
  fromStruct(type: MuType, ptr: Ptr): Uint8Array {
    if (ptr === null || ptr === 0n) throw new UnetError(`tpm2-tss returned no ${type}`, ExitCode.TPM_ERROR)
    try {
      const out = Buffer.alloc(OPAQUE_SIZE)
      const offset = [0]
      const rc = this.tss.marshal[type](ptr, out, out.length, offset) as number
      this.check(`Tss2_MU_${type}_Marshal`, rc)
      return Uint8Array.from(out.subarray(0, offset[0]))
    } finally {
      this.free(ptr)
    }
  }

  free(ptr: Ptr): void {
    if (ptr !== null && ptr !== 0n) this.tss.fn.Esys_Free(ptr)
  }

  /** Flushes a transient object or session; never throws (used in finally blocks). */
  flush(handle: number): void {
    if (this.esys === null) return
    this.tss.fn.Esys_FlushContext(this.esys, handle)
  }

  close(): void {
    if (this.esys !== null) {
      this.tss.fn.Esys_Finalize([this.esys])
      this.esys = null
    }
    if (this.tcti !== null) {
      this.tss.fn.Tss2_TctiLdr_Finalize([this.tcti])
      this.tcti = null
    }
  }
}

export const ESYS_TR = {
  NONE: 0xfff,
  PASSWORD: 0x0ff,
  RH_OWNER: 0x101,
  RH_NULL: 0x107,
  RH_ENDORSEMENT: 0x10b,
} as const
