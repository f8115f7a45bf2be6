/**
 * Test RIMs: SWID manifests in NVIDIA's form (C14N 1.1, ECDSA-SHA384, enveloped) signed by xmlsec1 with a
 * test RIM PKI (test/helpers/ocsp-responder.ts TestPki), so a test can have RIMs that match its own
 * reports and whose signing chain a real `openssl ocsp` responder speaks for. Trusted only where the
 * test passes the root as an extra RIM root.
 */
import {execFileSync} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import type {TestCert, TestPki} from './ocsp-responder.js'

const SIGNATURE_TEMPLATE =
  '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>' +
  '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2006/12/xml-c14n11"/>' +
  '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"/>' +
  '<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>' +
  '<ds:Transform Algorithm="http://www.w3.org/2006/12/xml-c14n11"/></ds:Transforms>' +
  '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#sha384"/><ds:DigestValue></ds:DigestValue></ds:Reference>' +
  '</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data></ds:X509Data></ds:KeyInfo></ds:Signature>'

export interface TestRimSpec {
  version: string
  /** Active golden values: RIM index (block index - 1) → SHA-384 hex. */
  measurements: Array<{index: number; hex: string}>
}

let serial = 0

/** A RIM signed by `signer`, embedding [signer, ...above] (leaf first) as NVIDIA's do. */
export function signTestRim(pki: TestPki, signer: TestCert, above: TestCert[], spec: TestRimSpec): string {
  const n = ++serial
  const resources = spec.measurements
    .map((m) => `<Resource type="Measurement" index="${m.index}" active="True" alternatives="1" ns2:Hash0="${m.hex}" name="Measurement_${m.index}" size="48"/>`)
    .join('')
  const xml =
    '<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" ' +
    `name="GH100" tagId="unet-test-rim-${n}" version="1.0" tagVersion="0">` +
    `<Meta colloquialVersion="${spec.version}" product="GH100" edition="GPU"/><Payload>${resources}</Payload>${SIGNATURE_TEMPLATE}</SoftwareIdentity>`
  const template = join(pki.dir, `rim-${n}.template.xml`)
  const out = join(pki.dir, `rim-${n}.xml`)
  writeFileSync(template, xml)
  execFileSync('xmlsec1', ['--sign', '--privkey-pem', [signer.keyPath, signer.pemPath, ...above.map((c) => c.pemPath)].join(','), '--output', out, template], {
    cwd: pki.dir,
    stdio: 'pipe',
  })
  return readFileSync(out, 'utf8')
}
