import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {certificatesIn, loadTrustRoots} from '../../../src/hw/tpm2/roots.js'
import {verifyCertPath, verifyEkChain} from '../../../src/hw/tpm2/verify.js'

/**
 * The vendor EK root mechanism on real vendor certificates (fixtures/tpm-ca-certificates/PROVENANCE.md):
 * a profile's trustRoots.tpm points at PEM bundles; every vendor intermediate CA (Infineon, STMicro,
 * Nuvoton, AMD fTPM/Pluton, Intel PTT, Nationz, Microsoft) chains to the vendor roots.
 */
const dir = fileURLToPath(new URL('../../../fixtures/tpm-ca-certificates/', import.meta.url))
const AT = new Date('2026-04-11T00:00:00Z') // the bundle's date

function intermediatesByOwner(): Array<{owner: string; cert: string | Uint8Array}> {
  const text = readFileSync(dir + 'intermediates.pem', 'utf8')
  return text
    .split(/\n(?=#\n# Certificate:)/)
    .filter((b) => b.includes('BEGIN CERTIFICATE'))
    .map((b) => ({owner: /# Owner: (\S+)/.exec(b)![1]!, cert: certificatesIn(Buffer.from(b))[0]!}))
}

describe('vendor TPM EK roots (tpm-ca-certificates bundle)', () => {
  const roots = loadTrustRoots([dir + 'roots.pem'])
  const intermediates = intermediatesByOwner()

  it('loads the 26 vendor roots', () => {
    expect(roots).toHaveLength(26)
    const owners = new Set(intermediates.map((i) => i.owner))
    for (const vendor of ['IFX', 'STM', 'NTC', 'AMD', 'INTC']) expect(owners.has(vendor)).toBe(true)
  })

  it('every vendor intermediate chains to a trusted root (roots + intermediates as the trust store)', () => {
    const trusted = [...roots, ...intermediates.map((i) => i.cert)]
    let checked = 0
    for (const {owner, cert} of intermediates) {
      // the certificate is its own leaf here: it must chain through the bundle to a root, not to itself,
      // with every CA above it a CA whose pathLenConstraint and key usage allow it
      const others = trusted.filter((t) => t !== cert)
      expect(verifyCertPath({chain: [cert], trusted: others, now: AT}), owner).toEqual([])
      checked++
    }
    expect(checked).toBeGreaterThan(100)
  })

  it('with the roots alone, all but the Pluton-policy-issued AMD intermediates chain directly', () => {
    const direct = intermediates.filter(({cert}) => verifyCertPath({chain: [cert], trusted: roots, now: AT}).length === 0)
    const indirect = intermediates.filter((i) => !direct.includes(i))
    expect(indirect.every((i) => i.owner === 'AMD')).toBe(true)
    expect(direct.length).toBeGreaterThan(130)
  })

  it("Google's vTPM root is not among them: a GCE intermediate does not chain to the vendor bundle", () => {
    const gce = loadTrustRoots([fileURLToPath(new URL('../../../fixtures/go-tpm-tools/tpm_ek_intermediate_3.crt', import.meta.url))])[0]!
    expect(verifyEkChain({chain: [gce], trusted: roots, now: AT}).join()).toMatch(/does not chain/)
  })

  it('an intermediate is a CA certificate, never an EK certificate', () => {
    const {cert} = intermediates[0]!
    expect(verifyEkChain({chain: [cert], trusted: roots, now: AT}).join()).toMatch(/EK certificate is a CA certificate/)
  })
})
