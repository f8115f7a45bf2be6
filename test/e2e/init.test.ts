import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {BIN, makeHome, runCli, type Home} from '../helpers/cli.js'
import {swtpm} from '../helpers/env.js'

interface InitJson {
  network: string
  payout: string
  engine: string
  tcti: string
  wallet: {address: string; action: string; backend: string; path?: string}
  engines: Array<{kind: string; probed: boolean; available: boolean; selected: boolean; detail: string}>
  devices: Array<{kind: string; stableId: string}>
  changed: string[]
}

const NO_DEVICES = ['--sysfs-root', 'fixtures/sysfs/no-accelerators']
const KEY = '7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const KEY_ADDRESS = '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786b'
const PAYOUT = '0x1111111111111111111111111111111111111111'

const configFile = (home: Home) => join(home.configDir, 'config.json')
const readConfig = (home: Home) => JSON.parse(readFileSync(configFile(home), 'utf8')) as Record<string, unknown>

describe('unet init (subprocess)', () => {
  it('--yes creates the wallet and a 0600 config; a second run changes nothing and says so', async () => {
    const home = makeHome()
    const env = {UNET_PASSWORD: 'init pass'}
    const first = await runCli(['init', '--yes', '--engine', 'emulator', ...NO_DEVICES, '--json'], {home, env})
    expect(first.code, first.stderr).toBe(0)
    const r = first.json<InitJson>()
    expect(r.wallet.action).toBe('created')
    expect(r.wallet.address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect(statSync(r.wallet.path!).mode & 0o777).toBe(0o600)
    expect(r).toMatchObject({network: 'devnet', payout: r.wallet.address, engine: 'emulator', tcti: 'device:/dev/tpmrm0', devices: []})
    expect(r.changed).toEqual(['wallet', 'network', 'payout', 'engine', 'tcti'])
    // the TPM is not touched with --engine emulator, and the emulator is what the heartbeat will use
    expect(r.engines).toEqual([
      expect.objectContaining({kind: 'tpm2', probed: false, selected: false}),
      expect.objectContaining({kind: 'emulator', available: true, selected: true}),
    ])
    expect(first.stderr).toMatch(/EMULATOR/)
    expect(statSync(configFile(home)).mode & 0o777).toBe(0o600)
    expect(readConfig(home)).toEqual({network: 'devnet', payout: r.wallet.address, engine: 'emulator', tcti: 'device:/dev/tpmrm0'})
    expect(first.stdout + first.stderr).not.toContain('init pass')

    const configBefore = readFileSync(configFile(home), 'utf8')
    const keystoreBefore = readFileSync(r.wallet.path!, 'utf8')
    const again = await runCli(['init', '--yes', '--engine', 'emulator', ...NO_DEVICES, '--json'], {home, env})
    expect(again.code, again.stderr).toBe(0)
    expect(again.json<InitJson>()).toMatchObject({changed: [], wallet: {address: r.wallet.address, action: 'kept'}, payout: r.wallet.address})
    expect(readFileSync(configFile(home), 'utf8')).toBe(configBefore)
    expect(readFileSync(r.wallet.path!, 'utf8')).toBe(keystoreBefore)

    // human output, and no passphrase needed when the wallet is kept
    const human = await runCli(['init', '--yes', ...NO_DEVICES], {home})
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toMatch(/already set: nothing changed/)
    expect(human.stdout).toMatch(new RegExp(`^wallet +${r.wallet.address} \\(already set\\)`, 'm'))
  })

  it('without a terminal and without --yes: exit 19 with a hint to pass --yes, nothing written', async () => {
    const home = makeHome()
    const r = await runCli(['init', '--engine', 'emulator'], {home, env: {UNET_PASSWORD: 'p'}})
    expect(r.code).toBe(19)
    expect(r.stderr).toMatch(/^Error: .*terminal/m)
    expect(r.stderr).toMatch(/^Hint: .*--yes/m)
    expect(existsSync(configFile(home))).toBe(false)
    expect(existsSync(join(home.dataDir, 'keys'))).toBe(false)
  })

  it('a bad payout fails in one line before any wallet or config is written', async () => {
    const home = makeHome()
    const r = await runCli(['init', '--yes', '--engine', 'emulator', '--payout', '0x1234', ...NO_DEVICES], {home, env: {UNET_PASSWORD: 'p'}})
    expect([3, 19]).toContain(r.code)
    const lines = r.stderr.trim().split('\n')
    expect(lines[0]).toMatch(/^Error: --payout is not an address: "0x1234"$/)
    expect(lines.slice(1).every((l) => l.startsWith('Hint: '))).toBe(true)
    expect(existsSync(configFile(home))).toBe(false)
    expect(existsSync(join(home.dataDir, 'keys'))).toBe(false)
    // a bad checksum is caught too
    const mixed = await runCli(['init', '--yes', '--payout', '0x008AeEda4D805471dF9b2A5B0f38A0C3bCBA786B', ...NO_DEVICES], {home, env: {UNET_PASSWORD: 'p'}})
    expect(mixed.code).toBe(19)
    expect(mixed.stderr).toMatch(/checksum/)
  })

  it('imports a 0600 key file, keeps it on re-import, changes only what differs, replaces only with --force', async () => {
    const home = makeHome()
    const env = {UNET_PASSWORD: 'p'}
    const keyFile = join(mkdtempSync(join(tmpdir(), 'unet-key-')), 'operator.key')
    writeFileSync(keyFile, KEY + '\n', {mode: 0o600})
    const args = ['init', '--yes', '--engine', 'emulator', '--wallet', 'import', '--key-file', keyFile, '--payout', PAYOUT, ...NO_DEVICES, '--json']
    const first = await runCli(args, {home, env})
    expect(first.code, first.stderr).toBe(0)
    expect(first.json<InitJson>()).toMatchObject({wallet: {address: KEY_ADDRESS, action: 'imported'}, payout: PAYOUT})
    expect(first.stdout + first.stderr).not.toContain(KEY)

    const same = await runCli(args, {home, env})
    expect(same.code, same.stderr).toBe(0)
    expect(same.json<InitJson>()).toMatchObject({wallet: {address: KEY_ADDRESS, action: 'kept'}, changed: []})

    // one answer differs: only that key changes (a lower-case payout is the same address)
    const changed = await runCli(['init', '--yes', '--engine', 'auto', '--payout', PAYOUT.toLowerCase(), ...NO_DEVICES, '--json'], {home, env})
    expect(changed.code, changed.stderr).toBe(0)
    expect(changed.json<InitJson>().changed).toEqual(['engine'])
    expect(readConfig(home)).toMatchObject({engine: 'auto', payout: PAYOUT})

    // create without --force keeps the wallet (idempotent); with --force it replaces it and keeps a backup
    const keep = await runCli(['init', '--yes', '--wallet', 'create', ...NO_DEVICES, '--json'], {home, env})
    expect(keep.code, keep.stderr).toBe(0)
    expect(keep.json<InitJson>()).toMatchObject({wallet: {address: KEY_ADDRESS, action: 'kept'}, changed: []})
    expect(keep.stderr).toMatch(/--force/)
    const forced = await runCli(['init', '--yes', '--wallet', 'create', '--force', ...NO_DEVICES, '--json'], {home, env})
    expect(forced.code, forced.stderr).toBe(0)
    const replaced = forced.json<InitJson>()
    expect(replaced.wallet.action).toBe('created')
    expect(replaced.wallet.address).not.toBe(KEY_ADDRESS)
    expect(replaced.changed).toEqual(['wallet']) // the payout stays the one configured
    expect(readdirSync(join(home.dataDir, 'keys')).some((f) => f.startsWith('operator.json.bak-'))).toBe(true)

    // importing a different key over it needs --force
    const refused = await runCli(args, {home, env})
    expect(refused.code).toBe(19)
    expect(refused.json<{error: {code: string; hint: string}}>().error).toMatchObject({code: 'INPUT_INVALID', hint: expect.stringMatching(/--force/)})
  })

  it('--wallet import without a key source, --wallet keep without a wallet, the emulator on mainnet: each refused', async () => {
    const home = makeHome()
    const noSource = await runCli(['init', '--yes', '--wallet', 'import', ...NO_DEVICES], {home})
    expect(noSource.code).toBe(19)
    expect(noSource.stderr).toMatch(/^Hint: .*--key-file/m)
    const keep = await runCli(['init', '--yes', '--wallet', 'keep', ...NO_DEVICES], {home})
    expect(keep.code).toBe(5)
    const emulator = await runCli(['init', '--yes', '--network', 'mainnet', '--engine', 'emulator', ...NO_DEVICES], {home, env: {UNET_PASSWORD: 'p'}})
    expect(emulator.code).toBe(11)
    const unknown = await runCli(['init', '--yes', '--network', 'nonet', ...NO_DEVICES], {home})
    expect(unknown.code).toBe(2) // a --network naming no network is a usage error
    expect(existsSync(configFile(home))).toBe(false)
    expect(existsSync(join(home.dataDir, 'keys'))).toBe(false)
  })

  it('outside the devnet, payout = operator is refused with a hint, unless --allow-operator-payout (then a warning)', async () => {
    const home = makeHome()
    const env = {UNET_PASSWORD: 'p'}
    const keyFile = join(mkdtempSync(join(tmpdir(), 'unet-key-')), 'operator.key')
    writeFileSync(keyFile, KEY + '\n', {mode: 0o600})
    const testnet = ['init', '--yes', '--network', 'testnet', '--engine', 'auto', '--tcti', 'device:/nonexistent/tpmrm0', ...NO_DEVICES]

    // no payout at all: the default would be the new operator address; refused before any wallet is made
    const none = await runCli([...testnet, '--wallet', 'create'], {home, env})
    expect(none.code, none.stderr).toBe(19)
    expect(none.stderr).toMatch(/^Error: no payout address is set for network "testnet".*steals the operator key/m)
    expect(none.stderr).toMatch(/^Hint: .*--payout ADDR.*--allow-operator-payout/m)
    expect(existsSync(configFile(home))).toBe(false)
    expect(existsSync(join(home.dataDir, 'keys'))).toBe(false)

    // the operator's own address given as payout: refused, one line and the hint
    const same = await runCli([...testnet, '--wallet', 'import', '--key-file', keyFile, '--payout', KEY_ADDRESS], {home, env})
    expect(same.code, same.stderr).toBe(19)
    const lines = same.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('Error: ') || l.startsWith('Hint: '))
    expect(lines).toEqual([
      `Error: payout ${KEY_ADDRESS} is the operator address on network "testnet": whoever steals the operator key would hold the rewards too`,
      expect.stringMatching(/^Hint: .*--allow-operator-payout to accept the risk$/),
    ])
    expect(existsSync(configFile(home))).toBe(false)

    // forced: accepted with a warning and written
    const forced = await runCli([...testnet, '--wallet', 'import', '--key-file', keyFile, '--payout', KEY_ADDRESS, '--allow-operator-payout', '--json'], {
      home,
      env,
    })
    expect(forced.code, forced.stderr).toBe(0)
    expect(forced.json<InitJson>()).toMatchObject({network: 'testnet', payout: KEY_ADDRESS})
    expect(forced.stderr).toMatch(/^Warning: payout is the operator address on network "testnet" \(--allow-operator-payout\)/m)
    expect(readConfig(home)).toMatchObject({network: 'testnet', payout: KEY_ADDRESS})

    // a payout of its own needs no flag; the devnet keeps the operator default (first test)
    const own = await runCli([...testnet, '--payout', PAYOUT, '--json'], {home, env})
    expect(own.code, own.stderr).toBe(0)
    expect(own.stderr).not.toMatch(/Warning: payout/)
    expect(readConfig(home)).toMatchObject({payout: PAYOUT})
  })

  it('reports a reachable TPM (real swtpm) as the selected engine, and says why an absent one is not', async () => {
    const home = makeHome()
    const env = {UNET_PASSWORD: 'p'}
    const r = await runCli(['init', '--yes', '--engine', 'tpm2', '--tcti', swtpm().tcti, ...NO_DEVICES, '--json'], {home, env})
    expect(r.code, r.stderr).toBe(0)
    const tpm = r.json<InitJson>().engines.find((e) => e.kind === 'tpm2')!
    expect(tpm).toMatchObject({probed: true, available: true, selected: true})
    expect(tpm.detail).toContain(swtpm().tcti)
    expect(readConfig(home)).toMatchObject({engine: 'tpm2', tcti: swtpm().tcti})

    // auto with no TPM at that transport: the reason is given and the emulator takes over on the devnet
    const absent = await runCli(['init', '--yes', '--engine', 'auto', '--tcti', 'device:/nonexistent/tpmrm0', ...NO_DEVICES, '--json'], {home, env})
    expect(absent.code, absent.stderr).toBe(0)
    const out = absent.json<InitJson>()
    expect(out.changed).toEqual(['engine', 'tcti'])
    expect(out.engines[0]).toMatchObject({kind: 'tpm2', probed: true, available: false, selected: false})
    expect(out.engines[0]!.detail).toMatch(/\/nonexistent\/tpmrm0/)
    expect(out.engines[1]).toMatchObject({kind: 'emulator', selected: true})
  })

  it('lists the accelerators it finds (fixture sysfs tree)', async () => {
    const home = makeHome()
    const r = await runCli(['init', '--yes', '--engine', 'emulator', '--sysfs-root', 'fixtures/sysfs/gpu-asic-rig', '--json'], {
      home,
      env: {UNET_PASSWORD: 'p'},
    })
    expect(r.code, r.stderr).toBe(0)
    const {devices} = r.json<InitJson>()
    expect(devices.filter((d) => d.kind !== 'tpm')).toHaveLength(10)
    expect(devices.some((d) => d.kind === 'tpm')).toBe(true)
    // --sysfs-root is not saved
    expect(readConfig(home)).not.toHaveProperty('sysfsRoot')
  })

  it('on a terminal: one question per setting with the current value in brackets, re-asks a bad answer, passphrase not echoed', async () => {
    const home = makeHome()
    const answers: Array<[RegExp, string]> = [
      [/Network \(devnet, testnet, mainnet\) \[devnet\]: /, 'nonet'],
      [/unknown network "nonet"[\s\S]*Network .*\[devnet\]: /, ''],
      [/Operator wallet: create a new one or import one \[create\]: /, 'c'],
      [/Passphrase for the new operator keystore: /, 'tty secret'],
      [/Repeat passphrase: /, 'tty secret'],
      [/Payout address \(receives the rewards\) \[0x[0-9a-fA-F]{40}\]: /, PAYOUT],
      [/Security engine: .*\[auto\]: /, 'emulator'],
    ]
    const {code, output} = await onTerminal(['init', ...NO_DEVICES], home, answers)
    expect(code, output).toBe(0)
    expect(answers).toEqual([]) // every question was asked, in order
    expect(output).not.toContain('tty secret')
    expect(output).toMatch(/^engine +emulator \(set\)/m)
    // the TPM transport is not asked for the emulator
    expect(output).not.toMatch(/tcti\) \[/)
    expect(readConfig(home)).toEqual({network: 'devnet', payout: PAYOUT, engine: 'emulator', tcti: 'device:/dev/tpmrm0'})

    // run again, Enter everywhere: nothing changes
    const enter: Array<[RegExp, string]> = [
      [/Network .*\[devnet\]: /, ''],
      [/Operator wallet: keep 0x[0-9a-fA-F]{40}, create a new one or import one \[keep\]: /, ''],
      [new RegExp(`Payout address .*\\[${PAYOUT}\\]: `), ''],
      [/Security engine: .*\[emulator\]: /, ''],
    ]
    const second = await onTerminal(['init', ...NO_DEVICES], home, enter)
    expect(second.code, second.output).toBe(0)
    expect(second.output).toMatch(/already set: nothing changed/)
  })
})

/** Runs unet under a pseudo-terminal (util-linux `script`), answering each prompt once it appears. */
function onTerminal(args: string[], home: Home, answers: Array<[RegExp, string]>): Promise<{code: number | null; output: string}> {
  const env = {PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C', ...home.env}
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')
  const child = spawn('script', ['-qfec', command, '/dev/null'], {env, stdio: ['pipe', 'pipe', 'pipe']})
  let output = ''
  let from = 0
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString().replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      const next = answers[0]
      if (next && next[0].test(output.slice(from))) {
        answers.shift()
        from = output.length
        child.stdin.write(next[1] + '\r')
      }
    })
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, output})
    })
  })
}
