import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'

import {writeFileAtomic} from '../../util/files.js'
import {bytesToHex} from '../../util/hex.js'
import type {CertId} from './ocsp-request.js'

/**
 * OCSP answers kept under <cacheDir>/ocsp/, one file per CertID, until their nextUpdate. The raw
 * signed response is stored with the nonce it answered, and is verified again on every read (same
 * code as a fresh answer, at the current time), so an edited cache file yields no status.
 */
export interface CachedAnswer {
  url: string
  nonce: Uint8Array
  response: Uint8Array
}

function entryPath(cacheDir: string, id: CertId): string {
  const key = createHash('sha256').update(id.issuerNameHash).update(id.issuerKeyHash).update(id.serial).digest('hex')
  return join(cacheDir, 'ocsp', `${key}.json`)
}

export function readCachedAnswer(cacheDir: string, id: CertId): CachedAnswer | undefined {
  try {
    const j = JSON.parse(readFileSync(entryPath(cacheDir, id), 'utf8')) as {url?: unknown; nonce?: unknown; response?: unknown}
    if (typeof j.url !== 'string' || typeof j.nonce !== 'string' || typeof j.response !== 'string') return undefined
    return {url: j.url, nonce: new Uint8Array(Buffer.from(j.nonce, 'hex')), response: new Uint8Array(Buffer.from(j.response, 'base64'))}
  } catch {
    return undefined // absent or unreadable: ask the responder
  }
}

export function writeCachedAnswer(cacheDir: string, id: CertId, answer: CachedAnswer): void {
  const body = {url: answer.url, nonce: bytesToHex(answer.nonce, false), response: Buffer.from(answer.response).toString('base64')}
  writeFileAtomic(entryPath(cacheDir, id), JSON.stringify(body) + '\n', 0o600)
}
