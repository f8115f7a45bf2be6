import {existsSync, mkdirSync, mkdtempSync, writeFileSync, statSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {loadConfig, requireChainReady, resetConfigFile, updateConfigFile} from '../../src/config/index.js'
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

  it('broken JSON: one line naming the file and the line:column, hint naming a command that works on it', () => {
    const d = dirs('{\n  "network": "devnet",\n  "logLevel": "info"\n  "payout": 1\n}\n')
    const e = thrown(() => loadConfig(d))
    expect(e).toBeInstanceOf(ConfigError)
    expect(e.exitCode).toBe(ExitCode.CONFIG_INVALID)
    expect(e.message).toBe(`${join(d.configDir, 'config.json')}:4:3: not valid JSON (Expected ',' or '}' after property value)`)
    expect(e.hint).toContain('unet config reset')
    const truncated = thrown(() => loadConfig(dirs('{"network": ')))
    expect(truncated.message).toMatch(/config\.json:1:13: not valid JSON \(the text ends early\)$/)
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

  it('an unknown network: a usage error from --network, a config error from the file or UNET_NETWORK; the hint guesses the one meant', () => {
    const flag = thrown(() => loadConfig({...dirs(), flags: {network: 'mainet'}}))
    expect([flag.exitCode, flag.hint]).toEqual([ExitCode.USAGE, 'did you mean mainnet? --network mainnet'])
    const file = thrown(() => loadConfig(dirs({network: 'moonnet'})))
    expect(file.exitCode).toBe(ExitCode.CONFIG_INVALID)
    expect(file.message).toContain('network "moonnet" is neither built in (devnet, testnet, mainnet)')
    const env = thrown(() => loadConfig({...dirs(), env: {UNET_NETWORK: 'moonnet'}}))
    expect([env.exitCode, env.hint]).toEqual([ExitCode.CONFIG_INVALID, 'fix or unset UNET_NETWORK'])
  })

  it('a bad --rpc-url is a usage error that says what a URL looks like', () => {
    const e = thrown(() => loadConfig({...dirs(), flags: {rpcUrl: 'notaurl'}}))
    expect(e.exitCode).toBe(ExitCode.USAGE)
    expect(e.message).toBe('--rpc-url must be an http(s) URL such as http://127.0.0.1:8545 (several: comma-separated), got "notaurl"')
    expect(e.hint).toBe('for example --rpc-url http://127.0.0.1:8545')
    expect(loadConfig({...dirs(), flags: {rpcUrl: 'http://a:1, https://b'}}).profile.rpcUrls).toEqual(['http://a:1', 'https://b'])
  })

  it('a write that would select an undefined network is refused whole, the file unchanged', () => {
    const d = dirs({network: 'devnet'})
    const file = join(d.configDir, 'config.json')
    const before = readFileSync(file, 'utf8')
    const e = thrown(() => updateConfigFile(file, 'network', 'mainnet2'))
    expect([e.exitCode, e.hint]).toEqual([ExitCode.CONFIG_INVALID, 'did you mean mainnet? `unet config set network mainnet`'])
    expect(readFileSync(file, 'utf8')).toBe(before)
    // defined first, then selectable
    updateConfigFile(file, 'networks.mainnet2.chainId', 77)
    expect(updateConfigFile(file, 'network', 'mainnet2').remaining).toBeUndefined()
    expect(loadConfig(d).profile).toMatchObject({name: 'mainnet2', chainId: 77})
    // and removing its last key would leave the selected network undefined: refused
    expect(thrown(() => updateConfigFile(file, 'networks.mainnet2.chainId', undefined)).exitCode).toBe(ExitCode.CONFIG_INVALID)
  })

  it('an invalid file is repaired one key at a time: each write brings in no new problem, the old file is backed up', () => {
    const d = dirs({network: 'mainnet2', bogus: 1})
    const file = join(d.configDir, 'config.json')
    const first = updateConfigFile(file, 'network', 'devnet')
    expect(first.remaining?.message).toBe('unknown config key "bogus"')
    expect(JSON.parse(readFileSync(first.backup!, 'utf8'))).toEqual({network: 'mainnet2', bogus: 1})
    expect(statSync(first.backup!).mode & 0o777).toBe(0o600)
    // a change that brings in a problem of its own is still refused
    expect(thrown(() => updateConfigFile(file, 'logLevel', 'loud')).message).toMatch(/^not written: key "logLevel" must be one of/)
    const second = updateConfigFile(file, 'bogus', undefined)
    expect([second.remaining, JSON.parse(readFileSync(file, 'utf8'))]).toEqual([undefined, {network: 'devnet'}])
    expect(loadConfig(d).config.network).toBe('devnet')
  })

  it('resetConfigFile moves even an unparsable file aside: nothing is lost', () => {
    const d = dirs('{"network": ')
    const file = join(d.configDir, 'config.json')
    expect(thrown(() => updateConfigFile(file, 'network', 'devnet')).hint).toContain('unet config reset')
    const {backup} = resetConfigFile(file)
    expect(readFileSync(backup!, 'utf8')).toBe('{"network": ')
    expect(existsSync(file)).toBe(false)
    expect(loadConfig(d).config.network).toBe('devnet')
    expect(resetConfigFile(file)).toEqual({})
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
