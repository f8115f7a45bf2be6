import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadConfig, nvidiaPolicy} from '../../src/config/index.js'
import {ExitCode} from '../../src/errors/index.js'
import {nvidiaCheckPolicyFor} from '../../src/hw/nvidia/check-policy.js'

/** The NVIDIA verification policy of each network profile (docs/nvidia-attestation.md) and how a config file changes it. */
function load(file?: unknown) {
  const root = mkdtempSync(join(tmpdir(), 'unet-cfg-nv-'))
  const configDir = join(root, 'config')
  mkdirSync(configDir, {recursive: true})
  if (file) writeFileSync(join(configDir, 'config.json'), JSON.stringify(file))
  return loadConfig({configDir, dataDir: join(root, 'data'), cacheDir: join(root, 'cache'), env: {}})
}

describe('NVIDIA policy per network profile', () => {
  it('devnet: OCSP off, CC not required; testnet: warn + CC; mainnet and a profile of its own: enforce + CC', () => {
    expect(nvidiaPolicy(load().profile)).toEqual({ocsp: 'off', requireCc: false})
    expect(nvidiaPolicy(load({network: 'testnet'}).profile)).toEqual({ocsp: 'warn', requireCc: true})
    expect(nvidiaPolicy(load({network: 'mainnet'}).profile)).toEqual({ocsp: 'enforce', requireCc: true})
    expect(nvidiaPolicy(load({network: 'mine', networks: {mine: {chainId: 7}}}).profile)).toEqual({ocsp: 'enforce', requireCc: true})
  })

  it('a config file overrides one key and keeps the others', () => {
    const p = load({networks: {devnet: {nvidia: {ocsp: 'enforce', ocspUrl: 'http://127.0.0.1:1/'}}}}).profile
    expect(nvidiaPolicy(p)).toEqual({ocsp: 'enforce', ocspUrl: 'http://127.0.0.1:1/', requireCc: false})
  })

  it('nvidia.rimDir and nvidia.rimRoots reach the full-check policy the verifier and the commands use', () => {
    const root = mkdtempSync(join(tmpdir(), 'unet-cfg-rim-'))
    const p = load({network: 'testnet', networks: {testnet: {nvidia: {rimDir: root}}}}).profile
    expect(nvidiaPolicy(p)).toEqual({ocsp: 'warn', requireCc: true, rimDir: root})
    expect(nvidiaCheckPolicyFor(p)).toMatchObject({ocsp: 'warn', requireCc: true, rimDir: root, rimRootFingerprints: []})
    expect(nvidiaCheckPolicyFor(p, {ocsp: 'off', rimDir: undefined})).toMatchObject({ocsp: 'off', rimDir: root})
    expect(() => load({networks: {testnet: {nvidia: {rimRoots: 'one.pem'}}}})).toThrow(expect.objectContaining({exitCode: ExitCode.CONFIG_INVALID}))
    // a root file that cannot be read is one clear error, not a crash
    expect(() => nvidiaCheckPolicyFor(load({networks: {devnet: {nvidia: {rimRoots: [join(root, 'absent.pem')]}}}}).profile)).toThrow(/cannot be read/)
  })

  it('a mode that does not exist is a config error', () => {
    expect(() => load({networks: {mainnet: {nvidia: {ocsp: 'sometimes'}}}})).toThrow(expect.objectContaining({exitCode: ExitCode.CONFIG_INVALID}))
  })
})
