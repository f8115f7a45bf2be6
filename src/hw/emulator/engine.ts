/**
 * The emulator security engine: a software stand-in for the TPM on devnets. It has the same
 * interface and produces the same wire structures as the tpm2 engine: a real TPMS_ATTEST (magic
 * 0xff544347, type 0x8018, extraData = qualifying data) signed with ECDSA P-256/SHA-256 as a
 * TPMT_SIGNATURE, so one verifier checks both. Its key lives 0600 in <dataDir>/emulator; its identity
 * is a self-signed root named "UNET EMULATOR - NOT FOR PRODUCTION". Verifiers refuse it wherever
 * the network profile has allowEmulator=false.
 */
import {createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {ExitCode, UnetError} from '../../errors/index.js'
import {deviceIdOf} from '../../evidence/nonce.js'
import {assertPrivateFile, writeFileAtomic} from '../../util/files.js'
import {bytesToHex} from '../../util/hex.js'
import type {EngineIdentity, EngineQuote, SecurityEngine} from '../engine-types.js'
import {derToPem} from '../tpm2/pem.js'
import {encodeEcdsaSignature, objectName, parseTpmtPublic, primaryQualifiedName, rawPublicKey, TPM_RH} from '../tpm2/structures.js'
import {akTemplateEccP256, encodePcrSelection, TPM2_ALG, TPM_GENERATED_VALUE, TPM2_ST_ATTEST_QUOTE, Writer, tpm2b} from '../tpm2/wire.js'
import {selfSignedRoot} from './x509.js'

/** firmwareVersion the emulator reports: ASCII "UNETEMU1". */
const EMULATOR_FIRMWARE = 0x554e4554454d5531n

export interface EmulatorOptions {
  dataDir: string
  pcrs: number[]
  /** Clock source in ms (tests inject one). */
  now?: () => number
}

interface State {
  createdAt: number
  resetCount: number
}

export class EmulatorEngine implements SecurityEngine {
  readonly kind = 'emulator' as const
  private readonly publicKey: KeyObject
  private readonly tpmt: Uint8Array
  private readonly name: Uint8Array

  private constructor(
    private readonly privateKey: KeyObject,
    private readonly rootPem: string,
    private readonly state: State,
    private readonly options: EmulatorOptions,
  ) {
    this.publicKey = createPublicKey(privateKey)
    const jwk = this.publicKey.export({format: 'jwk'})
    this.tpmt = emulatorAkTpmt(Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url'))
    // like a TPM AK that is a primary of the endorsement hierarchy: qualifiedSigner is its qualified name
    this.name = primaryQualifiedName(objectName(parseTpmtPublic(this.tpmt)), TPM2_ALG.SHA256, TPM_RH.ENDORSEMENT)
  }

  static async open(options: EmulatorOptions): Promise<EmulatorEngine> {
    for (const p of options.pcrs) if (!Number.isInteger(p) || p < 0 || p > 23) throw new UnetError(`PCR ${p} is out of range 0..23`, ExitCode.INPUT_INVALID)
    const now = options.now ?? Date.now
    const dir = join(options.dataDir, 'emulator')
    const keyPath = join(dir, 'key.pem')
    const rootPath = join(dir, 'root.pem')
    const statePath = join(dir, 'state.json')
    let privateKey: KeyObject
    let rootPem: string
    let state: State
    if (existsSync(keyPath)) {
      assertPrivateFile(keyPath)
      privateKey = createPrivateKey(readFileSync(keyPath, 'utf8'))
      rootPem = readFileSync(rootPath, 'utf8')
      state = JSON.parse(readFileSync(statePath, 'utf8')) as State
      if (!new X509Certificate(rootPem).publicKey.equals(createPublicKey(privateKey)))
        throw new UnetError(`${rootPath} does not belong to ${keyPath}`, ExitCode.CONFIG_INVALID, {hint: `delete ${dir} to create a new emulator identity`})
    } else {
      const pair = generateKeyPairSync('ec', {namedCurve: 'P-256'})
      privateKey = pair.privateKey
      rootPem = derToPem(selfSignedRoot(pair.privateKey, pair.publicKey, randomBytes(16), new Date(now() - 3600_000)))
      state = {createdAt: now(), resetCount: 0}
      writeFileAtomic(keyPath, pair.privateKey.export({type: 'pkcs8', format: 'pem'}) as string, 0o600)
      writeFileAtomic(rootPath, rootPem, 0o644)
      writeFileAtomic(statePath, JSON.stringify(state) + '\n', 0o600)
    }
    return new EmulatorEngine(privateKey, rootPem, state, options)
  }

  close(): void {}

  async identity(): Promise<EngineIdentity> {
    const akPublic = tpm2b(this.tpmt)
    const publicKey = rawPublicKey(parseTpmtPublic(this.tpmt))
    return {kind: 'emulator', publicKey, deviceId: bytesToHex(deviceIdOf(publicKey)), akPublic, certChain: [this.rootPem]}
  }

  async quote(qualifyingData: Uint8Array): Promise<EngineQuote> {
    if (qualifyingData.length > 64) throw new UnetError(`qualifying data is ${qualifyingData.length} bytes, at most 64`, ExitCode.INPUT_INVALID)
    const pcrs = [...new Set(this.options.pcrs)].sort((a, b) => a - b)
    const values = new Map<number, Uint8Array>(pcrs.map((p) => [p, new Uint8Array(32)]))
    const pcrDigest = createHash('sha256')
      .update(Buffer.concat([...values.values()]))
      .digest()
    const clock = BigInt(Math.max(0, Math.floor((this.options.now ?? Date.now)() - this.state.createdAt)))
    const attest = new Writer()
      .u32(TPM_GENERATED_VALUE)
      .u16(TPM2_ST_ATTEST_QUOTE)
      .tpm2b(this.name)
      .tpm2b(qualifyingData)
      .u64(clock)
      .u32(this.state.resetCount)
      .u32(0)
      .u8(1)
      .u64(EMULATOR_FIRMWARE)
      .raw(encodePcrSelection([{hash: TPM2_ALG.SHA256, pcrs}]))
      .tpm2b(pcrDigest)
      .bytes()
    const der = sign('sha256', attest, {key: this.privateKey, dsaEncoding: 'ieee-p1363'})
    const signature = encodeEcdsaSignature(TPM2_ALG.SHA256, der.subarray(0, 32), der.subarray(32))
    return {attest, signature, pcrs: {hash: 'sha256', values}}
  }
}

/** The TPMT_PUBLIC the emulator presents: the same template as a TPM AK, with its point as unique. */
export function emulatorAkTpmt(x: Uint8Array, y: Uint8Array): Uint8Array {
  return akTemplateEccP256(x, y)
}
