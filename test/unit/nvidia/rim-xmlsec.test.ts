import {execFileSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {verifyRim} from '../../../src/hw/nvidia/rim.js'

/**
 * Differential check of the one mapping unet makes for xml-crypto (C14N 1.1 verified with the library's
 * C14N 1.0, exact for documents without xml:* attributes): on every NVIDIA RIM in fixtures, the XML
 * signature verdict equals that of xmlsec1 (libxml2's own C14N 1.1). xmlsec1 is installed by .ci/run.
 */
const DIR = fileURLToPath(new URL('../../../fixtures/nvidia/rim/', import.meta.url))
const files = ['hopper-2023', 'samples'].flatMap((d) =>
  readdirSync(DIR + d)
    .filter((f) => /\.(xml|swidtag)$/.test(f))
    .map((f) => `${d}/${f}`),
)

function xmlsecVerdict(path: string): boolean {
  try {
    // --insecure: the signature with the embedded key only; unet checks the chain itself
    execFileSync('xmlsec1', ['--verify', '--insecure', path], {stdio: 'pipe'})
    return true
  } catch (error) {
    const stderr = String((error as {stderr?: Buffer}).stderr ?? '')
    if (!/FAIL/.test(stderr)) throw error
    return false
  }
}

describe('RIM XML signatures: unet (xml-crypto) agrees with xmlsec1', () => {
  it('there are valid and invalid samples among the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(9)
  })

  it.each(files)('%s', (file) => {
    const ours = verifyRim(readFileSync(DIR + file, 'utf8')).checks.signature
    expect(ours).toBe(xmlsecVerdict(DIR + file))
  })

  it('both valid and invalid verdicts occur', () => {
    const verdicts = new Set(files.map((f) => xmlsecVerdict(DIR + f)))
    expect([...verdicts].sort()).toEqual([false, true])
  })
})
