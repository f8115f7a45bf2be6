import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {EvidenceInvalidError, HardwareUnavailableError} from '../../errors/index.js'
import {openBmlib} from './probe.js'
import {verifySophgoSignature} from './verify.js'

/** Evidence parts of one Sophgo chip: its RSA signature over the challenge and its public key. */
export interface SophgoEvidenceParts {
  kind: 'sophgo'
  /** The signed message (the POCI challenge bytes); the chip signs SHA-256 of all of it. */
  message: Uint8Array
  signature: Uint8Array
  publicKeyPem: string
  serial?: string
  devid: number
}

export interface SophgoAttestOptions {
  bmlibPath?: string
  /**
   * Directory with the miner's key files p2_<devid> and pubkey_<devid> (as utnet-org/uminer stores
   * them). When absent or missing a file, the blob and key are read from the chip (bmcpu_gen_p2_pubkey).
   */
  keyDir?: string
}

function readKeyFiles(dir: string | undefined, devid: number): {p2: Uint8Array; publicKeyPem: string} | undefined {
  if (!dir) return undefined
  try {
    return {p2: new Uint8Array(readFileSync(join(dir, `p2_${devid}`))), publicKeyPem: readFileSync(join(dir, `pubkey_${devid}`), 'latin1')}
  } catch {
    return undefined
  }
}

/**
 * Producer: the chip signs SHA-256(message) with its EFUSE-derived RSA-2048 key via bmcpu_gen_sign
 * (unlike the official miner's C++ path, which hashed only 7 bytes of the message: see
 * fixtures/uminer/PROVENANCE.md). The result is checked with the pure verifier before it is returned.
 */
export async function attestSophgo(devid: number, message: Uint8Array, options: SophgoAttestOptions = {}): Promise<SophgoEvidenceParts> {
  const bm = await openBmlib(options.bmlibPath)
  const h = bm.request(devid)
  try {
    const keys = readKeyFiles(options.keyDir, devid) ?? bm.p2Pubkey(h)
    const digest = new Uint8Array(createHash('sha256').update(message).digest())
    const signature = bm.sign(h, digest, keys.p2)
    let serial: string | undefined
    try {
      serial = bm.serial(h)
    } catch {
      serial = undefined
    }
    const check = verifySophgoSignature(keys.publicKeyPem, message, signature)
    if (!check.valid)
      throw new EvidenceInvalidError(`chip ${devid} produced a signature its public key does not verify`, check.reasons, {
        hint: 'the pubkey file does not belong to this chip',
      })
    return {kind: 'sophgo', message: Uint8Array.from(message), signature, publicKeyPem: keys.publicKeyPem, serial, devid}
  } catch (error) {
    if (error instanceof EvidenceInvalidError || error instanceof HardwareUnavailableError) throw error
    throw new HardwareUnavailableError(`Sophgo chip ${devid} could not sign`, {cause: error})
  } finally {
    bm.free(h)
  }
}
