import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {X509Certificate} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {beforeAll, describe, expect, it} from 'vitest'

import {checkRimsAgainstReport, reportMeasurements} from '../../../src/hw/nvidia/rim-check.js'
import {verifyRim} from '../../../src/hw/nvidia/rim.js'
import {decodeReportFile} from '../../../src/hw/nvidia/verify.js'

/**
 * The attacker's way past a RIM check: change a golden value and sign the manifest again with a key
 * of their own (xmlsec1 signs, openssl makes the P-384 keys and certificates, so the forgery is made by
 * tools independent of unet). The signature then holds; only the pinned NVIDIA root stops it.
 */
const FX = (p: string) => new URL(`../../../fixtures/${p}`, import.meta.url)
const GENUINE = readFileSync(FX('nvidia/rim/hopper-2023/NV_GPU_DRIVER_GH100_545.00.swidtag'), 'utf8')
const AT = new Date('2024-09-01T00:00:00Z')
const dir = mkdtempSync(join(tmpdir(), 'unet-rim-forge-'))
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, {cwd: dir, stdio: 'pipe'})

let forged: string
let attackerRoot: string
/** The genuine value at index 7 and the one the attacker wants accepted (their firmware's). */
const golden7 = /index="7"[^>]*Hash0="([0-9a-f]{96})"/.exec(GENUINE)![1]!
const evil7 = 'e'.repeat(96)

beforeAll(() => {
  run('openssl', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'ca.key'])
  run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    'ca.key',
    '-subj',
    '/CN=NVIDIA CoRIM signing Root CA',
    '-days',
    '30',
    '-sha384',
    '-out',
    'ca.pem',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ])
  run('openssl', ['ecparam', '-name', 'secp384r1', '-genkey', '-noout', '-out', 'leaf.key'])
  run('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', 'leaf.key', '-out', 'leaf.p8'])
  run('openssl', ['req', '-new', '-key', 'leaf.key', '-subj', '/CN=HCC RIM L4 Signer', '-out', 'leaf.csr'])
  run('openssl', ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-sha384', '-out', 'leaf.pem'])
  const template = GENUINE.replace(golden7, evil7)
    .replace(/<ds:DigestValue>[^<]*<\/ds:DigestValue>/, '<ds:DigestValue></ds:DigestValue>')
    .replace(/<ds:SignatureValue>[^<]*<\/ds:SignatureValue>/, '<ds:SignatureValue></ds:SignatureValue>')
    .replace(/<ds:X509Data>[\s\S]*<\/ds:X509Data>/, '<ds:X509Data></ds:X509Data>')
  writeFileSync(join(dir, 'template.xml'), template)
  run('xmlsec1', ['--sign', '--privkey-pem', 'leaf.p8,leaf.pem,ca.pem', '--output', 'forged.xml', 'template.xml'])
  forged = readFileSync(join(dir, 'forged.xml'), 'utf8')
  attackerRoot = new X509Certificate(readFileSync(join(dir, 'ca.pem'))).fingerprint256
})

describe('a RIM re-signed by an attacker', () => {
  it('its signature holds and its chain is sound, but the root is not the pinned one: invalid', () => {
    expect(forged).toContain(evil7)
    const r = verifyRim(forged, {now: new Date()})
    expect(r.checks).toMatchObject({signature: true, chain: true, validity: true, root: false})
    expect(r.valid).toBe(false)
    expect(r.reasons).toEqual([expect.stringMatching(/RIM chain ends at CN=NVIDIA CoRIM signing Root CA \(.*\), not the pinned NVIDIA CoRIM signing Root CA/)])
  })

  it("NVIDIA's genuine intermediates and root appended to the attacker's signer (KeyInfo is unsigned): the path breaks", () => {
    const nvidia = [...GENUINE.matchAll(/<ds:X509Certificate>[\s\S]*?<\/ds:X509Certificate>/g)].map((m) => m[0]).slice(1)
    const grafted = forged.replace(
      /(<(?:ds:)?X509Data>\s*<(?:ds:)?X509Certificate>[\s\S]*?<\/(?:ds:)?X509Certificate>)[\s\S]*?(<\/(?:ds:)?X509Data>)/,
      `$1${nvidia.join('')}$2`,
    )
    const r = verifyRim(grafted, {now: AT})
    expect(r.chain).toHaveLength(4)
    expect(r.checks).toMatchObject({signature: true, root: true, chain: false})
    expect(r.reasons.join('\n')).toMatch(/certificate 0 \(CN=HCC RIM L4 Signer\) is not signed by certificate 1/)
  })

  it('only a verifier told to trust the attacker root (--rim-root) accepts it: the pin is what decides', () => {
    expect(verifyRim(forged, {now: new Date(), extraRootFingerprints: [attackerRoot]}).valid).toBe(true)
  })

  it('against a report, the forged golden value is never compared: measurements not-checked, invalid', () => {
    const report = reportMeasurements(decodeReportFile(new Uint8Array(readFileSync(FX('nvtrust/hopper-2023-report.hex')))))
    const c = checkRimsAgainstReport(report, [{label: 'forged', xml: forged}], {now: new Date()})
    expect(c.measurements).toBe('not-checked')
    expect(c.valid).toBe(false)
  })
})
