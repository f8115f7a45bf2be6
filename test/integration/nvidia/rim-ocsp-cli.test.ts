import {randomBytes} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import type {RevocationResult} from '../../../src/hw/nvidia/ocsp.js'
import {bytesToHex} from '../../../src/util/hex.js'
import {runCli} from '../../helpers/cli.js'
import {nvidiaRimArgs} from '../../helpers/nvidia-cli.js'
import {ocspRouter, relay, TestPki, type TestCert, withRelay} from '../../helpers/ocsp-responder.js'
import {signTestRim} from '../../helpers/test-rim.js'

/**
 * `unet verify nvidia-rim --ocsp` as a subprocess: the RIM signing chain's revocation, asked with the
 * full check's code (full-check.ts askRimChainsRevocation) of real `openssl ocsp` responders on loopback
 * (one per CA behind one URL, as NVIDIA's), for RIMs signed by xmlsec1 under a test RIM root.
 */
interface Verified {
  valid: boolean
  rims: Array<{label: string; ocsp: RevocationResult}>
}
interface Failed {
  error: {details: {reasons: string[]}}
}

describe('unet verify nvidia-rim --ocsp (subprocess, real openssl ocsp)', () => {
  const pki = new TestPki()
  let rimRoot: TestCert
  let router: Awaited<ReturnType<typeof ocspRouter>>
  let goodRim: string
  let revokedRim: string

  beforeAll(async () => {
    rimRoot = pki.root('Test CoRIM signing Root CA')
    const rimCa = pki.issue('Test Reference Value GH100 CA', rimRoot, {ca: true})
    const signer = pki.issue('Test RIM L4 Signer', rimCa)
    const revokedSigner = pki.issue('Test RIM L4 Signer (revoked)', rimCa)
    const serve = (name: string, issuer: TestCert, entries: {good?: TestCert[]; revoked?: TestCert[]}) =>
      pki.responder({index: pki.index(name, entries), ca: issuer, signer: issuer, nextUpdateMinutes: 60})
    router = await ocspRouter([
      {issuer: rimCa, url: await serve('rim-ca', rimCa, {good: [signer], revoked: [revokedSigner]})},
      {issuer: rimRoot, url: await serve('rim-root', rimRoot, {good: [rimCa]})},
    ])
    const rim = (name: string, by: TestCert) => {
      const path = join(pki.dir, name)
      writeFileSync(path, signTestRim(pki, by, [rimCa, rimRoot], {version: '550.54.15', measurements: [{index: 0, hex: bytesToHex(randomBytes(48), false)}]}))
      return path
    }
    goodRim = rim('NV_GPU_DRIVER_GH100_550.54.15.swidtag', signer)
    revokedRim = rim('NV_GPU_DRIVER_GH100_550.54.15-revoked.swidtag', revokedSigner)
  })
  afterAll(async () => {
    await router?.close()
    pki.stop()
  })

  const verify = (rim: string, ...extra: string[]) => runCli(nvidiaRimArgs({rims: [rim]}, '--rim-root', rimRoot.pemPath, '--json', ...extra))

  it('--ocsp enforce: signer and CA good (the pinned root is no OCSP subject): exit 0', async () => {
    const r = await verify(goodRim, '--ocsp', 'enforce', '--ocsp-url', router.url)
    expect(r.code, r.stderr).toBe(0)
    const v = r.json<Verified>()
    expect(v.rims[0]!.ocsp.certs.map((c) => [c.index, c.status])).toEqual([
      [0, 'good'],
      [1, 'good'],
      [2, 'not-checked'],
    ])
  })

  it('a RIM whose signer is revoked: exit 10 with the reason, under warn too', async () => {
    for (const mode of ['enforce', 'warn']) {
      const r = await verify(revokedRim, '--ocsp', mode, '--ocsp-url', router.url)
      expect(r.code, r.stderr).toBe(10)
      expect(r.json<Failed>().error.details.reasons).toEqual([
        expect.stringMatching(
          /^NV_GPU_DRIVER_GH100_550\.54\.15-revoked\.swidtag: certificate 0 \(.*Test RIM L4 Signer \(revoked\)\) OCSP revoked: revoked at /,
        ),
      ])
    }
  })

  it('the responder down: exit 10 under enforce; exit 0 with the warnings under warn', async () => {
    const down = 'http://127.0.0.1:9/'
    const enforced = await verify(goodRim, '--ocsp', 'enforce', '--ocsp-url', down)
    expect(enforced.code).toBe(10)
    expect(enforced.json<Failed>().error.details.reasons).toHaveLength(2)
    const warned = await verify(goodRim, '--ocsp', 'warn', '--ocsp-url', down)
    expect(warned.code, warned.stderr).toBe(0)
    expect(warned.json<Verified>().rims[0]!.ocsp.warnings).toHaveLength(2)
  })

  it('devnet default (nvidia.ocsp off), and a RIM whose chain is not trusted: nothing asked', async () => {
    await withRelay(relay(router.url), async (counting) => {
      const off = await verify(goodRim, '--ocsp-url', counting.url)
      expect(off.code, off.stderr).toBe(0)
      expect(off.json<Verified>().rims[0]!.ocsp.mode).toBe('off')
      // without --rim-root the test root is not trusted: refused offline, its chain never asked about
      const untrusted = await runCli(nvidiaRimArgs({rims: [goodRim]}, '--json', '--ocsp', 'enforce', '--ocsp-url', counting.url))
      expect(untrusted.code).toBe(10)
      expect(counting.count()).toBe(0)
    })
  })
})
