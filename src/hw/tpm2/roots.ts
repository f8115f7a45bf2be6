/**
 * Trusted TPM EK roots: the profile's `trustRoots.tpm` (and `--tpm-root`) list PEM/DER files or
 * directories of them (*.pem, *.crt, *.cer, *.der). Vendor roots (Infineon, STMicro, Nuvoton, AMD
 * fTPM, Intel PTT, Google vTPM...) are added the same way; intermediates may sit next to the roots.
 * Which classes of TPM a profile accepts is its EK policy (ekPolicyFor): cloud vTPM chains only where
 * `trustRoots.allowCloudVtpm` is true, which by default is the devnet alone.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'

import type {NetworkProfile} from '../../config/schema.js'
import {InputError} from '../../errors/index.js'
import type {EkPolicy} from './ek-policy.js'

const CERT_FILE = /\.(pem|crt|cer|der)$/i

/** Every certificate in the given files/directories, as PEM text or DER bytes; `hint` names where the paths come from. */
export function loadTrustRoots(paths: readonly string[], hint = 'fix networks.<name>.trustRoots.tpm or --tpm-root'): Array<string | Uint8Array> {
  const out: Array<string | Uint8Array> = []
  for (const path of paths) {
    let files: string[]
    try {
      files = statSync(path).isDirectory()
        ? readdirSync(path)
            .filter((f) => CERT_FILE.test(f))
            .sort()
            .map((f) => join(path, f))
        : [path]
    } catch {
      throw new InputError(`trust root ${path} cannot be read`, {hint})
    }
    for (const file of files) out.push(...certificatesIn(readFileSync(file), file))
  }
  return out
}

export function certificatesIn(data: Buffer, name = 'input'): Array<string | Uint8Array> {
  const text = data.toString('latin1')
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    return blocks.map((b) => b + '\n')
  }
  if (data[0] === 0x30) return [Uint8Array.from(data)]
  throw new InputError(`${name} is neither PEM nor DER certificates`)
}

/** Whether a profile accepts cloud vTPM EKs: `trustRoots.allowCloudVtpm`, by default only on the devnet. */
export function cloudVtpmAllowed(profile: Pick<NetworkProfile, 'name' | 'trustRoots'>): boolean {
  return profile.trustRoots.allowCloudVtpm ?? profile.name === 'devnet'
}

/** The EK policy of a network profile, for checkEkChain / verifyEkChain. */
export function ekPolicyFor(profile: Pick<NetworkProfile, 'name' | 'trustRoots'>): EkPolicy {
  return {allowCloudVtpm: cloudVtpmAllowed(profile)}
}
