import {readFileSync, readdirSync, statSync, writeFileSync, mkdirSync, chmodSync} from 'node:fs'
import {join} from 'node:path'

import {Wallet} from 'ethers'
import {describe, expect, it} from 'vitest'

import {makeHome, runCli} from '../helpers/cli.js'

describe('unet CLI foundation (subprocess)', () => {
  it('--help lists the miner topics', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    for (const topic of ['register', 'heartbeat', 'status', 'devices', 'verify', 'config', 'wallet'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${topic}\\b`, 'm'))
  })

  it('wallet create writes a 0600 keystore that ethers decrypts to the same address', async () => {
    const home = makeHome()
    const r = await runCli(['wallet', 'create', '--json'], {home, env: {UNET_PASSWORD: 'correct horse'}})
    expect(r.code, r.stderr).toBe(0)
    const {address, path} = r.json<{address: string; path: string}>()
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(join(home.dataDir, 'keys')).mode & 0o777).toBe(0o700)
    const wallet = await Wallet.fromEncryptedJson(readFileSync(path, 'utf8'), 'correct horse')
    expect(wallet.address).toBe(address)
    // the passphrase never reaches output
    expect(r.stdout + r.stderr).not.toContain('correct horse')
  })

  it('a wrong passphrase has its own exit code and keeps the keystore', async () => {
    const home = makeHome()
    const created = await runCli(['wallet', 'create', '--json'], {home, env: {UNET_PASSWORD: 'right'}})
    const before = readFileSync(created.json<{path: string}>().path, 'utf8')
    const r = await runCli(['wallet', 'export-keystore', '--out', join(home.dataDir, 'x.json')], {home, env: {UNET_PASSWORD: 'wrong'}})
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/^Error: wrong passphrase/m)
    expect(readFileSync(created.json<{path: string}>().path, 'utf8')).toBe(before)
  })

  it('refuses a keystore readable by others, with a chmod hint', async () => {
    const home = makeHome()
    const created = await runCli(['wallet', 'create', '--json'], {home, env: {UNET_PASSWORD: 'p'}})
    const {path} = created.json<{path: string}>()
    chmodSync(path, 0o644)
    const r = await runCli(['wallet', 'export-keystore', '--out', join(home.dataDir, 'x.json')], {home, env: {UNET_PASSWORD: 'p'}})
    expect(r.code).toBe(7)
    expect(r.stderr).toContain(`chmod 600 ${path}`)
  })

  it('a broken config file: one line naming the file, documented exit code, no stack', async () => {
    const home = makeHome()
    mkdirSync(home.configDir, {recursive: true})
    writeFileSync(join(home.configDir, 'config.json'), '{"network": "devnet",')
    const r = await runCli(['status'], {home})
    expect(r.code).toBe(3)
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toMatch(/^Error: .*config\.json:1:22: not valid JSON/)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('an invalid key value names the key; --json gives a machine-readable error', async () => {
    const home = makeHome()
    mkdirSync(home.configDir, {recursive: true})
    writeFileSync(join(home.configDir, 'config.json'), JSON.stringify({networks: {devnet: {chainId: 'x'}}}))
    const r = await runCli(['config', 'list', '--json'], {home})
    expect(r.code).toBe(3)
    const {error} = r.json<{error: {code: string; message: string}}>()
    expect(error.code).toBe('CONFIG_INVALID')
    expect(error.message).toContain('"networks.devnet.chainId"')
  })

  it('imports a key from stdin or a 0600 file, never echoing it; --force keeps a backup', async () => {
    const home = makeHome()
    const key = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
    const r = await runCli(['wallet', 'import', '--key-file', '-', '--json', '--log-level', 'trace'], {home, input: key + '\n', env: {UNET_PASSWORD: 'p'}})
    expect(r.code, r.stderr).toBe(0)
    expect(r.json<{address: string}>().address).toBe('0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b')
    expect(r.stdout + r.stderr).not.toContain(key)
    const again = await runCli(['wallet', 'import', '--key-file', '-'], {home, input: key, env: {UNET_PASSWORD: 'p'}})
    expect(again.code).toBe(19)
    expect(again.stderr).toContain('--force')
    const keyFile = join(home.dataDir, 'k.txt')
    writeFileSync(keyFile, key, {mode: 0o644})
    const insecure = await runCli(['wallet', 'import', '--key-file', keyFile, '--force'], {home, env: {UNET_PASSWORD: 'p'}})
    expect(insecure.code).toBe(7)
    const forced = await runCli(['wallet', 'create', '--force', '--json'], {home, env: {UNET_PASSWORD: 'p'}})
    expect(forced.code, forced.stderr).toBe(0)
    expect(readdirSync(join(home.dataDir, 'keys')).some((f) => f.startsWith('operator.json.bak-'))).toBe(true)
  })

  it('imports the Web3 Secret Storage spec vector keystore', async () => {
    const r = await runCli(['wallet', 'import', '--keystore', new URL('../../fixtures/web3-secret-storage/pbkdf2.json', import.meta.url).pathname, '--json'], {
      env: {UNET_PASSWORD: 'testpassword'},
    })
    expect(r.code, r.stderr).toBe(0)
    expect(r.json<{address: string}>().address).toBe('0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b')
  })

  it('without a passphrase source and no TTY, says how to give one', async () => {
    const r = await runCli(['wallet', 'create'])
    expect(r.code).toBe(19)
    expect(r.stderr).toMatch(/Hint: .*UNET_PASSWORD_FILE/)
  })
})
