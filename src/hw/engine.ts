/**
 * Opens the host security engine (engine-types.ts): `tpm2` or `emulator` from the config, and
 * builds the host evidence of one quote. The engines are loaded lazily, so they may import the
 * interfaces without an import circle.
 */
import type {ResolvedConfig} from '../config/index.js'
import {EmulatorRefusedError, HardwareUnavailableError, InputError} from '../errors/index.js'
import type {SecurityEngine} from './engine-types.js'

export type {EngineIdentity, SecurityEngine} from './engine-types.js'

export interface OpenEngineOptions {
  engine: 'auto' | 'tpm2' | 'emulator'
  /** TCTI configuration string, e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321. */
  tcti: string
  /** unet's data directory: the emulator keeps its key under <dataDir>/emulator. */
  dataDir: string
  /** Persistent handle of the AK, e.g. "0x81010002". */
  akHandle: string | number
  /** sha256 PCRs to quote. */
  pcrs: number[]
  profile: {name: string; allowEmulator: boolean}
  /** Called with one line when `auto` falls back to the emulator. */
  onNotice?: (message: string) => void
}

/** The one wording of the emulator warning (engine fallback, init's report): a miner must not mistake it for hardware. */
export const EMULATOR_IN_USE = 'using the software EMULATOR engine: devnet only, it earns nothing on a real network'

/** The engine options a resolved config implies (engine, TCTI, AK handle, PCRs, data dir, profile). */
export function engineOptionsFrom(resolved: ResolvedConfig, onNotice?: (message: string) => void): OpenEngineOptions {
  const {config, paths, profile} = resolved
  return {engine: config.engine, tcti: config.tcti, dataDir: paths.dataDir, akHandle: config.akHandle, pcrs: config.pcrs, profile, onNotice}
}

/** Parses "0x81010002" (or a number) into a persistent handle; refuses anything outside 0x81xxxxxx. */
export function parseHandle(value: string | number): number {
  const n = typeof value === 'number' ? value : /^0x[0-9a-fA-F]{1,8}$/.test(value) ? Number.parseInt(value.slice(2), 16) : Number.NaN
  if (!Number.isInteger(n) || n >>> 24 !== 0x81) throw new InputError(`AK handle ${String(value)} is not a persistent handle (0x81000000..0x81ffffff)`)
  return n >>> 0
}

/**
 * Opens the host security engine. `auto` takes the TPM when it answers and otherwise the emulator
 * (announced through onNotice). The emulator is refused where the profile forbids it.
 */
export async function openEngine(options: OpenEngineOptions): Promise<SecurityEngine> {
  const openEmulator = async () => {
    if (!options.profile.allowEmulator) throw new EmulatorRefusedError(options.profile.name)
    const {EmulatorEngine} = await import('./emulator/engine.js')
    return EmulatorEngine.open({dataDir: options.dataDir, pcrs: options.pcrs})
  }
  const openTpm = async () => {
    const {Tpm2Engine} = await import('./tpm2/engine.js')
    return Tpm2Engine.open({tcti: options.tcti, akHandle: parseHandle(options.akHandle), pcrs: options.pcrs})
  }
  if (options.engine === 'emulator') return openEmulator()
  if (options.engine === 'tpm2') return openTpm()
  try {
    return await openTpm()
  } catch (error) {
    if (!(error instanceof HardwareUnavailableError)) throw error
    if (!options.profile.allowEmulator)
      throw new HardwareUnavailableError(`no TPM reachable (${error.message}) and network "${options.profile.name}" refuses the emulator`, {
        hint: error.hint,
        details: error.details,
        cause: error,
      })
    options.onNotice?.(`no TPM reachable (${error.message}); ${EMULATOR_IN_USE}`)
    return openEmulator()
  }
}

/**
 * Quotes with the engine and packs evidence v1. nonce.qualifyingData is what the quote binds; pass
 * challenge/devices too when it was derived from them (quoteQualifyingData), so verifiers can redo it.
 */
export async function buildHostEvidence(
  engine: SecurityEngine,
  nonce: import('../evidence/format.js').NonceInputs,
  producedAt = Math.floor(Date.now() / 1000),
): Promise<import('../evidence/format.js').HostEvidence> {
  const id = await engine.identity()
  const q = await engine.quote(nonce.qualifyingData)
  const certChain = id.certChain.map((pem) => Uint8Array.from(Buffer.from(pem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64')))
  return {
    v: 1,
    kind: engine.kind,
    device: {publicKey: id.publicKey, certChain, akPublic: id.akPublic, ...(id.ekPublic ? {ekPublic: id.ekPublic} : {})},
    nonce,
    producedAt,
    quote: {attest: q.attest, signature: q.signature, pcrs: q.pcrs},
  }
}
