import {mkdirSync, mkdtempSync, writeFileSync, statSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadConfig, requireChainReady, updateConfigFile} from '../../src/config/index.js'
import {ConfigError, ExitCode, UnetError} from '../../src/errors/index.js'

function dirs(fileContent?: unknown) {
  const root = mkdtempSync(join(tmpdir(), 'unet-cfg-'))
  const configDir = join(root, 'config')
  mkdirSync(configDir)
  if (fileContent !== undefined) writeFileSync(join(configDir, 'config.json'), typeof fileContent === 'string' ? fileContent : JSON.stringify(fileContent))
  return {configDir, dataDir: join(root, 'data'), cacheDir: join(root, 'cache')}
}

function thrown(fn: () => unknown): UnetError {
  try {
    fn()
  } catch (error) {
    return error as UnetError
  }
  throw new Error('expected an error')
}

describe('layered config', () => {
  it('defaults < file < env < flags, with the source of each key', () => {
    const d = dirs({logLevel: 'warn', tcti: 'mssim:host=localhost', pcrs: [0, 7]})
    const r = loadConfig({...d, env: {UNET_LOG_LEVEL: 'error', UNET_TCTI: 'swtpm:port=2321'}, flags: {logLevel: 'debug', network: undefined}})
    expect(r.config.logLevel).toBe('debug')
    expect(r.sources.logLevel).toBe('flag')
    expect(r.config.tcti).toBe('swtpm:port=2321')
    expect(r.sources.tcti).toBe('env')
    expect(r.config.pcrs).toEqual([0, 7])
    expect(r.sources.pcrs).toBe('file')
    expect(r.config.network).toBe('devnet')
    expect(r.sources.network).toBe('default')
  })

  it('nested env keys use SCREAMING_SNAKE (wallet.backend → UNET_WALLET_BACKEND)', () => {
    const r = loadConfig({...dirs(), env: {UNET_WALLET_BACKEND: 'keystore', UNET_PCRS: '0,1,2'}})
    expect(r.config.wallet.backend).toBe('keystore')
    expect(r.config.pcrs).toEqual([0, 1, 2])
  })

  it('a file profile override merges into the built-in profile; --rpc-url replaces its URLs', () => {
    const d = dirs({networks: {devnet: {contracts: {registry: '0x' + '11'.repeat(20)}}}})
    const r = loadConfig({...d, flags: {rpcUrl: 'http://127.0.0.1:1,http://127.0.0.1:2'}})
    expect(r.profile.chainId).toBe(31337)
    expect(r.profile.allowEmulator).toBe(true)
    expect(r.profile.contracts.registry).toBe('0x' + '11'.repeat(20))
    expect(r.profile.rpcUrls).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2'])
  })

  it('broken JSON: one line naming the file', () => {
    const d = dirs('{"network": ')
    const e = thrown(() => loadConfig(d))
    expect(e).toBeInstanceOf(ConfigError)
    expect(e.exitCode).toBe(ExitCode.CONFIG_INVALID)
    expect(e.message).toContain(join(d.configDir, 'config.json'))
    expect(e.message).not.toContain('\n')
  })

  it.each([
    [{networks: {devnet: {chainId: -1}}}, 'networks.devnet.chainId'],
    [{logLevel: 'loud'}, 'logLevel'],
    [{payout: '0x123'}, 'payout'],
    [{pcrs: [0, 99]}, 'pcrs'],
    [{typo: 1}, 'typo'],
    [{networks: {mainnet: {allowEmulator: 'yes'}}}, 'networks.mainnet.allowEmulator'],
  ])('invalid value %j names key %s', (content, key) => {
    const e = thrown(() => loadConfig(dirs(content)))
    expect(e.exitCode).toBe(ExitCode.CONFIG_INVALID)
    expect(e.message).toContain(`"${key}"`)
  })

  it('a bad UNET_* value names the variable', () => {
    const e = thrown(() => loadConfig({...dirs(), env: {UNET_LOG_LEVEL: 'loud'}}))
    expect(e.message).toContain('UNET_LOG_LEVEL')
  })

  it('testnet and mainnet refuse to run until configured', () => {
    for (const network of ['testnet', 'mainnet']) {
      const r = loadConfig({...dirs(), flags: {network}})
      expect(r.profile.allowEmulator).toBe(false)
      const e = thrown(() => requireChainReady(r.profile))
      expect(e.exitCode).toBe(ExitCode.NETWORK_NOT_CONFIGURED)
      expect(e.message).toMatch(/chainId.*rpcUrls/)
    }
  })

  it('an unknown network is a config error with the known ones in the hint', () => {
    const e = thrown(() => loadConfig({...dirs(), flags: {network: 'moonnet'}}))
    expect(e.exitCode).toBe(ExitCode.CONFIG_INVALID)
    expect(e.hint).toContain('devnet')
  })

  it('updateConfigFile validates before writing, writes 0600, and never half-writes', () => {
    const d = dirs({network: 'devnet'})
    const file = join(d.configDir, 'config.json')
    updateConfigFile(file, 'networks.testnet.chainId', 8899)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({network: 'devnet', networks: {testnet: {chainId: 8899}}})
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const before = readFileSync(file, 'utf8')
    expect(() => updateConfigFile(file, 'networks.testnet.chainId', 'x')).toThrow(ConfigError)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })
})
