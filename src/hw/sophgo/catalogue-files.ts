/**
 * Reads a profile's Sophgo trust: the catalogue file (`sophgoCatalogue`) and the pinned catalogue
 * keys (`trustRoots.sophgoCatalogueKeys`, PEM files that may hold several public keys each). The
 * verifier loads them once at start; devicePolicy (src/hw/device-policy.ts) judges with the result.
 */
import {readFileSync} from 'node:fs'

import {InputError} from '../../errors/index.js'
import {parseCatalogue, type SophgoCatalogue} from './catalogue.js'

export interface SophgoTrust {
  catalogue?: SophgoCatalogue
  /** Pinned catalogue keys, PEM text (one public key each). */
  keys: string[]
}

export interface SophgoTrustPaths {
  sophgoCatalogue?: string
  trustRoots: {sophgoCatalogueKeys?: readonly string[]}
}

function read(path: string, key: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new InputError(`${path} cannot be read`, {cause: error, hint: `fix networks.<name>.${key}`})
  }
}

export function loadSophgoTrust(profile: SophgoTrustPaths): SophgoTrust {
  const keys: string[] = []
  for (const path of profile.trustRoots.sophgoCatalogueKeys ?? []) {
    const blocks = read(path, 'trustRoots.sophgoCatalogueKeys')
      .toString('latin1')
      .match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g)
    if (!blocks) throw new InputError(`${path} holds no PEM "PUBLIC KEY"`, {hint: 'a catalogue key is an SPKI PEM public key (EC P-256)'})
    keys.push(...blocks.map((b) => b + '\n'))
  }
  if (!profile.sophgoCatalogue) return {keys}
  return {catalogue: parseCatalogue(read(profile.sophgoCatalogue, 'sophgoCatalogue')), keys}
}
