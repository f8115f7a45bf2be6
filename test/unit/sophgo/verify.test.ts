import {createPublicKey, publicDecrypt, constants, createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'

import {describe, expect, it} from 'vitest'

import {ExitCode, InputError} from '../../../src/errors/index.js'
import {assertSophgoSignature, parseSophgoPublicKey, verifySophgoSignature} from '../../../src/hw/sophgo/verify.js'

const F = new URL('../../../fixtures/uminer/', import.meta.url)
const PUB = readFileSync(new URL('pubkey_6.pem', F), 'latin1')
const SIG = readFileSync(new URL('utility.sig.hex', F), 'latin1').trim()
const MSG = new Uint8Array(readFileSync(new URL('utility.msg', F)))

describe('Sophgo chip signature verifier with the official UtilityNet miner vector', () => {
  it('uminer chip signature over "utility" verifies with pubkey_6 (PKCS#1 "RSA PUBLIC KEY")', () => {
    expect(Buffer.from(MSG).toString()).toBe('utility')
    const r = verifySophgoSignature(PUB, MSG, SIG)
    expect(r.reasons).toEqual([])
    expect(r.valid).toBe(true)
    expect(r.modulusBits).toBe(2048)
    expect(r.digest).toBe(createHash('sha256').update('utility').digest('hex'))
  })

  it('the same key as SPKI PEM verifies too', () => {
    const spki = createPublicKey({key: PUB, format: 'pem', type: 'pkcs1'}).export({type: 'spki', format: 'pem'}).toString()
    expect(spki).toContain('BEGIN PUBLIC KEY')
    expect(verifySophgoSignature(spki, MSG, SIG).valid).toBe(true)
    expect(verifySophgoSignature(spki, MSG, SIG).keyId).toBe(verifySophgoSignature(PUB, MSG, SIG).keyId)
  })

  it('the scheme is plain EMSA-PKCS1-v1_5 with a SHA-256 DigestInfo over the whole message', () => {
    const em = publicDecrypt({key: parseSophgoPublicKey(PUB), padding: constants.RSA_NO_PADDING}, Buffer.from(SIG, 'hex'))
    const digestInfo = '3031300d060960864801650304020105000420' + createHash('sha256').update('utility').digest('hex')
    expect(em.toString('hex')).toBe('0001' + 'ff'.repeat(256 - 3 - digestInfo.length / 2) + '00' + digestInfo)
  })

  it('a different message, a flipped signature bit or a short signature fail', () => {
    expect(verifySophgoSignature(PUB, new Uint8Array(Buffer.from('utilitx')), SIG).valid).toBe(false)
    // uminer's C++ signer hashed only 7 bytes; unet hashes the whole message, so a longer one differs
    expect(verifySophgoSignature(PUB, new Uint8Array(Buffer.from('utility and more')), SIG).valid).toBe(false)
    const flipped = Buffer.from(SIG, 'hex')
    flipped[100]! ^= 1
    expect(verifySophgoSignature(PUB, MSG, new Uint8Array(flipped)).valid).toBe(false)
    const short = verifySophgoSignature(PUB, MSG, SIG.slice(2))
    expect(short.valid).toBe(false)
    expect(short.reasons[0]).toMatch(/255 bytes, expected 256/)
    expect(() => assertSophgoSignature(PUB, new Uint8Array(Buffer.from('x')), SIG)).toThrow(expect.objectContaining({exitCode: ExitCode.EVIDENCE_INVALID}))
  })

  it('malformed key or signature hex are InputErrors (exit 19)', () => {
    expect(() => verifySophgoSignature('not a key', MSG, SIG)).toThrow(InputError)
    expect(() => verifySophgoSignature(PUB.replace(/MIIB/, 'MIIZ'), MSG, SIG)).toThrow(InputError)
    expect(() => verifySophgoSignature(PUB, MSG, 'zz')).toThrow(InputError)
    expect(() => verifySophgoSignature(PUB, MSG, SIG + '0')).toThrow(InputError)
  })
})
