import {createHash, createPublicKey, verify as cryptoVerify, X509Certificate, type KeyLike} from 'node:crypto'

import {DOMParser} from '@xmldom/xmldom'
import {C14nCanonicalization, SignedXml} from 'xml-crypto'

import {InputError} from '../../errors/index.js'
import {parseCertificate} from '../../util/x509.js'

/**
 * XML-DSig verification of an enveloped signature as NVIDIA signs its RIMs, through xml-crypto
 * (canonicalization, references, digests are the library's). Only NVIDIA's profile is accepted:
 * C14N 1.1, ECDSA P-384 / SHA-384, one same-document reference (URI "") with the enveloped-signature
 * and C14N 1.1 transforms, SHA-384 digest. Anything else is refused with a reason, not guessed at.
 *
 * xml-crypto has no C14N 1.1, SHA-384 or ECDSA of its own; they are registered here:
 *  - SHA-384 and ECDSA-SHA384 (RFC 6931: the SignatureValue is r ‖ s) call node:crypto;
 *  - C14N 1.1 is mapped to the library's C14N 1.0. The two differ only in how attributes of the xml:
 *    namespace (xml:id, xml:base, xml:lang, xml:space) are inherited into a document subset, so the
 *    mapping is exact for a document without any xml:* attribute, and such a document is required.
 *    Measured: on all NVIDIA RIMs in fixtures/nvidia/rim the verdict equals that of xmlsec1 1.2.37
 *    (libxml2's own C14N 1.1), valid and invalid alike.
 */

const DSIG = 'http://www.w3.org/2000/09/xmldsig#'
const XML_NS = 'http://www.w3.org/XML/1998/namespace'
export const C14N11 = 'http://www.w3.org/2006/12/xml-c14n11'
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature'
const ECDSA_SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384'
const SHA384 = 'http://www.w3.org/2001/04/xmldsig-more#sha384'

class Sha384 {
  getHash(xml: string): string {
    return createHash('sha384').update(xml, 'utf8').digest('base64')
  }

  getAlgorithmName(): string {
    return SHA384
  }
}

class EcdsaSha384 {
  getSignature(): string {
    throw new Error('signing is not supported')
  }

  verifySignature(material: string, key: KeyLike, signatureValue: string): boolean {
    return cryptoVerify('sha384', Buffer.from(material, 'utf8'), {key: createPublicKey(key), dsaEncoding: 'ieee-p1363'}, Buffer.from(signatureValue, 'base64'))
  }

  getAlgorithmName(): string {
    return ECDSA_SHA384
  }
}

class C14n11AsC14n10 extends C14nCanonicalization {
  override getAlgorithmName(): string {
    return C14N11
  }
}

export interface XmlSignatureResult {
  /** The signature and every reference digest verify with the first embedded certificate's key. */
  valid: boolean
  reason?: string
  /** The canonical XML that the signature covers (the document without its Signature); only when valid. */
  signedXml?: string
  /** The X509Data certificates, in document order (NVIDIA: signer first, root last). */
  certificates: X509Certificate[]
}

type El = Element

function children(parent: El, ns: string, name: string): El[] {
  const out: El[] = []
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as El).namespaceURI === ns && (n as El).localName === name) out.push(n as El)
  return out
}

function only(parent: El, name: string): El | undefined {
  const found = children(parent, DSIG, name)
  return found.length === 1 ? found[0] : undefined
}

/** Parses XML strictly: a syntax error, a DOCTYPE (entities) or no root element is an InputError. */
export function parseXml(xml: string, what: string): Document {
  const fail = (message: string) => {
    throw new InputError(`${what} is not well-formed XML: ${message.split('\n')[0]}`, {hint: 'pass the manifest as NVIDIA publishes it'})
  }
  const doc = new DOMParser({errorHandler: {warning: () => {}, error: fail, fatalError: fail}}).parseFromString(xml, 'text/xml') as unknown as Document
  if (!doc?.documentElement) fail('no root element')
  for (let n = doc.firstChild; n; n = n.nextSibling) if (n.nodeType === 10) fail('a DOCTYPE is not allowed')
  return doc
}

function hasXmlNamespaceAttribute(el: El): boolean {
  for (let i = 0; i < el.attributes.length; i++) if (el.attributes[i]!.namespaceURI === XML_NS) return true
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && hasXmlNamespaceAttribute(n as El)) return true
  return false
}

/** The algorithm profile NVIDIA uses; returns why a signature is outside it, or undefined. */
function profileProblem(signature: El): string | undefined {
  const signedInfo = only(signature, 'SignedInfo')
  if (!signedInfo) return 'Signature has no single SignedInfo'
  const alg = (el: El | undefined) => el?.getAttribute('Algorithm') ?? '(none)'
  const c14n = alg(only(signedInfo, 'CanonicalizationMethod'))
  if (c14n !== C14N11) return `canonicalization ${c14n} is not NVIDIA's C14N 1.1`
  const method = alg(only(signedInfo, 'SignatureMethod'))
  if (method !== ECDSA_SHA384) return `signature method ${method} is not ECDSA-SHA384`
  const refs = children(signedInfo, DSIG, 'Reference')
  if (refs.length !== 1) return `SignedInfo has ${refs.length} references, expected exactly 1`
  const ref = refs[0]!
  if (ref.getAttribute('URI') !== '') return `the reference URI "${ref.getAttribute('URI')}" is not the whole document ("")`
  const transforms = only(ref, 'Transforms')
  const list = transforms ? children(transforms, DSIG, 'Transform').map((t) => alg(t)) : []
  if (list.length !== 2 || list[0] !== ENVELOPED || list[1] !== C14N11)
    return `reference transforms [${list.join(', ')}] are not [enveloped-signature, C14N 1.1]`
  const digest = alg(only(ref, 'DigestMethod'))
  if (digest !== SHA384) return `digest method ${digest} is not SHA-384`
  return undefined
}

function embeddedCertificates(signature: El): X509Certificate[] {
  const keyInfo = only(signature, 'KeyInfo')
  const x509Data = keyInfo ? only(keyInfo, 'X509Data') : undefined
  const certs = x509Data ? children(x509Data, DSIG, 'X509Certificate') : []
  if (certs.length === 0) throw new InputError('the manifest signature carries no X509Data certificate', {hint: 'NVIDIA RIMs embed their signing chain'})
  return certs.map((c, i) => {
    try {
      return parseCertificate(Buffer.from((c.textContent ?? '').replace(/\s+/g, ''), 'base64'))
    } catch (error) {
      throw new InputError(`embedded certificate ${i} of the manifest is not a valid X.509 certificate`, {cause: error})
    }
  })
}

/**
 * Verifies the one enveloped signature of `xml` (a child of the root element) with the key of its
 * first embedded certificate. Malformed structure throws InputError; a signature that does not hold
 * (or is outside the profile) gives `valid: false` with the reason.
 */
export function verifyEnvelopedSignature(xml: string, what = 'manifest'): XmlSignatureResult {
  const doc = parseXml(xml, what)
  const root = doc.documentElement as El
  const signatures = Array.from(doc.getElementsByTagNameNS(DSIG, 'Signature') as unknown as ArrayLike<El>)
  if (signatures.length !== 1) throw new InputError(`${what} has ${signatures.length} XML signatures, expected exactly 1`)
  const signature = signatures[0]!
  if (signature.parentNode !== root) throw new InputError(`${what}'s signature is not a child of the root element (not an enveloped signature)`)
  const certificates = embeddedCertificates(signature)
  const refuse = (reason: string): XmlSignatureResult => ({valid: false, reason, certificates})
  const problem = profileProblem(signature)
  if (problem) return refuse(problem)
  if (hasXmlNamespaceAttribute(root)) return refuse('the document uses xml:* attributes, where C14N 1.1 differs from the C14N 1.0 it is verified with')

  const signer = new SignedXml({publicCert: certificates[0]!.toString()})
  signer.HashAlgorithms[SHA384] = Sha384
  signer.SignatureAlgorithms[ECDSA_SHA384] = EcdsaSha384 as unknown as (typeof signer.SignatureAlgorithms)[string]
  signer.CanonicalizationAlgorithms[C14N11] = C14n11AsC14n10
  signer.loadSignature(signature as unknown as Node)
  let ok: boolean
  try {
    ok = signer.checkSignature(xml)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    if (/signature value .* is incorrect/.test(message)) return refuse('the signature value does not verify with the embedded signing certificate')
    return refuse(`the signature does not verify: ${message}`)
  }
  if (!ok) return refuse('the digest of the signed document does not match: the manifest was changed after signing')
  const signed = signer.getSignedReferences()
  if (signed.length !== 1) return refuse(`the signature covers ${signed.length} references, expected 1`)
  return {valid: true, signedXml: signed[0], certificates}
}
