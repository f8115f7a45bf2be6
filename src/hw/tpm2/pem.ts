/** PEM <-> DER helpers (pure). */
import {InputError} from '../../errors/index.js'

export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`
}

/** Every PEM block with the given label, as DER. */
export function pemToDers(pem: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g')
  const out: Uint8Array[] = []
  for (const m of pem.matchAll(re)) out.push(Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')))
  if (out.length === 0) throw new InputError(`no ${label} PEM block found`)
  return out
}
