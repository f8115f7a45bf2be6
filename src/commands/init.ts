import {readFileSync} from 'node:fs'

import {Flags} from '@oclif/core'

import {BaseCommand} from '../cli/base-command.js'
import {Prompter} from '../cli/prompter.js'
import {
  BUILTIN_PROFILES,
  TOP_LEVEL_KEYS,
  checkValue,
  loadConfig,
  readConfigFile,
  updateConfigFile,
  type NetworkProfile,
  type UnetConfig,
} from '../config/index.js'
import {EmulatorRefusedError, InputError, WalletMissingError} from '../errors/index.js'
import {EMULATOR_IN_USE} from '../hw/engine.js'
import type {Device} from '../hw/pci/device.js'
import {parseAddress, randomSecretKey} from '../keys/address.js'
import {importWallet, type KeySource} from '../keys/import.js'
import {getPassphrase} from '../keys/passphrase.js'
import {storeWallet, walletInfo, type WalletInfo} from '../keys/wallet.js'
import {checkPayoutPolicy} from '../miner/payout-policy.js'
import {renderDevices} from './devices.js'

type EngineChoice = UnetConfig['engine']
type WalletChoice = 'create' | 'import' | 'keep'

export interface InitEngineReport {
  kind: 'tpm2' | 'emulator'
  /** false when init did not try it (the TPM is not touched with --engine emulator). */
  probed: boolean
  available: boolean
  /** The engine `unet heartbeat` will use with these settings. */
  selected: boolean
  /** Where it was reached, or why it is not usable. */
  detail: string
}

export interface InitResult {
  network: string
  payout: string
  engine: EngineChoice
  tcti: string
  wallet: {address: string; action: 'created' | 'imported' | 'kept'; backend: WalletInfo['backend']; path?: string}
  engines: InitEngineReport[]
  devices: Device[]
  /** Config keys (and `wallet`) this run changed; empty when everything was already set. */
  changed: string[]
}

/** The config keys init owns, in the order it asks for them. */
const KEYS = ['network', 'payout', 'engine', 'tcti'] as const

/** The flags, checked: an answer given on the command line is not asked for. */
interface InitFlags {
  network?: string
  payout?: string
  engine?: EngineChoice
  tcti?: string
  wallet?: WalletChoice
  source?: KeySource
}

/** One setting init asks for (`Init.ask`). */
interface Setting<T> {
  /** The value from the command line: when given, nothing is asked. */
  flag: T | undefined
  question: string
  /** Shown in brackets and taken on Enter; undefined: an answer is needed. */
  current: string | undefined
  /** Checks a typed answer (or the current value on Enter); a bad one is asked again. */
  parse: (answer: string) => T
  /** The value with --yes, or when `skip` is set. */
  fallback: T
  /** Keep `fallback` without asking (the TPM transport with the emulator engine). */
  skip?: boolean
}

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'set up this machine as a miner: network, operator wallet, payout, security engine'
  static override description =
    'On a terminal it asks one question per setting, with the current value in brackets (Enter keeps it). ' +
    'With --yes it asks nothing: flags give the answers and everything else keeps its current or default value. ' +
    'It reports the security engines it can reach and the accelerators it finds, writes the config file (mode 0600) ' +
    'and is idempotent: a second run with the same answers changes nothing. An existing wallet is kept unless ' +
    '`--wallet create --force` or an import with --force replaces it (the old keystore is kept as a backup). ' +
    'Passphrases come from UNET_PASSWORD, UNET_PASSWORD_FILE or a prompt, never from the command line.'
  static override examples = [
    '<%= config.bin %> init',
    'UNET_PASSWORD_FILE=~/.unet-pass <%= config.bin %> init --yes --network devnet --wallet create --engine auto',
    '<%= config.bin %> init --yes --network testnet --wallet import --keystore ./operator.json --payout 0x… --engine tpm2 --json',
  ]
  static override flags = {
    yes: Flags.boolean({char: 'y', description: 'ask nothing: take the flags, and the current or default value for the rest'}),
    payout: Flags.string({description: 'payout address that receives rewards (default: the current one, else the operator address)'}),
    engine: Flags.string({description: 'host security engine', options: ['auto', 'tpm2', 'emulator']}),
    tcti: Flags.string({description: 'TPM transport, e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321'}),
    wallet: Flags.string({description: 'operator wallet: create a new one, import one, or keep the existing one', options: ['create', 'import', 'keep']}),
    'key-file': Flags.string({description: 'with --wallet import: file holding the hex private key (mode 0600), or - for stdin', exclusive: ['keystore']}),
    keystore: Flags.string({description: 'with --wallet import: Web3 Secret Storage v3 keystore file', exclusive: ['key-file']}),
    force: Flags.boolean({description: 'let --wallet create / import replace an existing wallet (it is kept as a backup)'}),
    'sysfs-root': Flags.string({description: 'root of sysfs for the device report instead of /sys (fixture trees, containers; not saved)'}),
    'allow-operator-payout': Flags.boolean({
      description: 'outside the devnet: accept payout = the operator address (a stolen operator key would then hold the rewards)',
    }),
  }

  protected override configFlagOverrides() {
    return {sysfsRoot: this.flags['sysfs-root']}
  }

  /** Set on a terminal (without --yes): the questions are asked through it. */
  private prompter?: Prompter

  async run(): Promise<InitResult> {
    const {config, paths} = this.resolved
    this.prompter = this.openPrompter()
    // Flags first, so a bad one fails before anything is written or created.
    const flagged = this.validateFlags()
    const fileContent = readConfigFile(paths.configFile)

    const {network, profile} = await this.askNetwork(flagged)
    const wallet = await this.askWallet(flagged, network)
    const payout = await this.askPayout(flagged, network, wallet.address)
    const {engine, tcti} = await this.askEngine(flagged, profile)
    const changed = this.writeConfig(fileContent, {network, payout, engine, tcti}, wallet)

    const engines = await detectEngines(engine, tcti, config, profile, paths.dataDir)
    const devices = await this.probe(config)
    const result: InitResult = {network, payout, engine, tcti, wallet, engines, devices, changed}
    this.report(result, profile, fileContent)
    return result
  }

  /** A prompter on a terminal; none with --yes; without a terminal and without --yes, init refuses. */
  private openPrompter(): Prompter | undefined {
    if (this.flags.yes) return undefined
    if (!process.stdin.isTTY)
      throw new InputError('unet init has no terminal to ask its questions on', {
        hint: 'pass --yes with the settings as flags, e.g. `unet init --yes --network devnet --wallet create --engine auto`',
      })
    return new Prompter('unet init')
  }

  /** One setting: the flag when given, else the question on a terminal, else (--yes, or `skip`) the fallback. */
  private async ask<T>(s: Setting<T>): Promise<T> {
    if (s.flag !== undefined) return s.flag
    if (!this.prompter || s.skip) return s.fallback
    return this.prompter.ask(s.question, s.current, s.parse)
  }

  private async askNetwork(flagged: InitFlags): Promise<{network: string; profile: NetworkProfile}> {
    const {config} = this.resolved
    const network = await this.ask({
      flag: flagged.network,
      question: `Network (${networkNames(config).join(', ')})`,
      current: config.network,
      fallback: config.network,
      parse: (a) => parseNetwork(a, config),
    })
    const profile = network === this.resolved.profile.name ? this.resolved.profile : this.profileOf(network)
    // Refused before the wallet step, so a refused answer leaves nothing behind.
    if ((flagged.engine ?? (this.prompter ? undefined : config.engine)) === 'emulator' && !profile.allowEmulator) throw new EmulatorRefusedError(profile.name)
    return {network, profile}
  }

  private async askWallet(flagged: InitFlags, network: string): Promise<InitResult['wallet']> {
    const {config, paths} = this.resolved
    const existing = walletInfo(paths.dataDir)
    // Payout = operator outside the devnet, where it is already known: refused before the wallet step too.
    const knownOperator = flagged.wallet === undefined || flagged.wallet === 'keep' ? existing?.address : undefined
    const knownPayout = flagged.payout ?? config.payout ?? (this.prompter ? undefined : knownOperator)
    if (!this.prompter && knownPayout === undefined) this.payoutPolicy(network, '', '')
    if (knownOperator && knownPayout) this.payoutPolicy(network, knownOperator, knownPayout, true)
    const usual: WalletChoice = existing ? 'keep' : 'create'
    const choice = await this.ask({
      flag: flagged.wallet,
      question: `Operator wallet: ${existing ? `keep ${existing.address}, create a new one` : 'create a new one'} or import one`,
      current: usual,
      fallback: usual,
      parse: parseWalletChoice,
    })
    return this.setUpWallet(choice, existing, flagged.source)
  }

  private async askPayout(flagged: InitFlags, network: string, operator: string): Promise<string> {
    const payoutDefault = this.resolved.config.payout ?? operator
    // Outside the devnet the operator address is not offered as the default (it is refused).
    const offered =
      this.flags['allow-operator-payout'] || network === 'devnet' || payoutDefault.toLowerCase() !== operator.toLowerCase() ? payoutDefault : undefined
    const payout = await this.ask({
      flag: flagged.payout,
      question: 'Payout address (receives the rewards)',
      current: offered,
      fallback: payoutDefault,
      parse: (a) => {
        const address = parseAddress(a, 'the payout address')
        this.payoutPolicy(network, operator, address, true)
        return address
      },
    })
    this.payoutPolicy(network, operator, payout)
    return payout
  }

  private async askEngine(flagged: InitFlags, profile: NetworkProfile): Promise<{engine: EngineChoice; tcti: string}> {
    const {config} = this.resolved
    const engine = await this.ask({
      flag: flagged.engine,
      question: 'Security engine: auto (the TPM, else the emulator where allowed), tpm2 or emulator',
      current: config.engine,
      fallback: config.engine,
      parse: (a) => parseEngine(a, profile),
    })
    if (engine === 'emulator' && !profile.allowEmulator) throw new EmulatorRefusedError(profile.name)
    const tcti = await this.ask({
      flag: flagged.tcti,
      question: 'TPM transport (tcti)',
      current: config.tcti,
      fallback: config.tcti,
      parse: (a) => parseTcti(a, 'tcti'),
      skip: engine === 'emulator',
    })
    return {engine, tcti}
  }

  /** Writes the answers that differ from the file; returns what changed (`wallet` first when one was created or imported). */
  private writeConfig(fileContent: Record<string, unknown>, answers: Record<(typeof KEYS)[number], string>, wallet: InitResult['wallet']): string[] {
    const changed: string[] = wallet.action === 'kept' ? [] : ['wallet']
    for (const key of KEYS) {
      if (sameValue(key, fileContent[key], answers[key])) continue
      updateConfigFile(this.resolved.paths.configFile, key, answers[key])
      changed.push(key)
    }
    return changed
  }

  private validateFlags(): InitFlags {
    const f = this.flags
    const source: KeySource | undefined = f.keystore || f['key-file'] ? {keystore: f.keystore, keyFile: f['key-file']} : undefined
    let wallet = f.wallet as WalletChoice | undefined
    if (source && wallet && wallet !== 'import') throw new InputError(`--keystore / --key-file go with --wallet import, not --wallet ${wallet}`)
    if (source) wallet = 'import'
    if (wallet === 'import' && !source && this.flags.yes)
      throw new InputError('--wallet import needs the key to import', {hint: 'add --keystore FILE or --key-file FILE (--key-file - reads stdin)'})
    return {
      // The base --network flag is already checked by the config loader (an unknown name fails there).
      network: f.network ? this.resolved.config.network : undefined,
      payout: f.payout === undefined ? undefined : parseAddress(f.payout, '--payout'),
      engine: f.engine as EngineChoice | undefined,
      tcti: f.tcti === undefined ? undefined : parseTcti(f.tcti, '--tcti'),
      wallet,
      source,
    }
  }

  /**
   * Refuses payout = operator outside the devnet unless --allow-operator-payout (then warns, unless
   * `quiet`: an early check that the final one repeats). An empty operator and payout: none is set yet.
   */
  private payoutPolicy(network: string, operator: string, payout: string, quiet = false): void {
    const allowOperatorPayout = this.flags['allow-operator-payout']
    if (operator === '' && network !== 'devnet' && !allowOperatorPayout) {
      throw new InputError(
        `no payout address is set for network "${network}", and the operator address is refused as payout there: whoever steals the operator key would hold the rewards too`,
        {
          hint: 'pass --payout ADDR (an address whose key is not on this machine), or --allow-operator-payout to accept the risk',
        },
      )
    }
    if (operator === '') return
    const warning = checkPayoutPolicy({network, operator, payout, allowOperatorPayout})
    if (warning && !quiet) this.warning(warning)
  }

  private profileOf(network: string): NetworkProfile {
    const {paths} = this.resolved
    return loadConfig({configDir: paths.configDir, dataDir: paths.dataDir, cacheDir: paths.cacheDir, flags: {network}}).profile
  }

  private async setUpWallet(choice: WalletChoice, existing: WalletInfo | undefined, source: KeySource | undefined): Promise<InitResult['wallet']> {
    const {config, paths} = this.resolved
    const loc = {dataDir: paths.dataDir, backend: config.wallet.backend}
    const kept = (info: WalletInfo) => ({address: info.address, action: 'kept' as const, backend: info.backend, ...(info.path ? {path: info.path} : {})})
    if (choice === 'keep') {
      if (!existing)
        throw new WalletMissingError('there is no operator wallet to keep', {
          hint: 'pass --wallet create, or --wallet import with --keystore FILE / --key-file FILE',
        })
      return kept(existing)
    }
    if (choice === 'create') {
      if (existing && !this.flags.force) {
        this.notice(`keeping the existing operator wallet ${existing.address}; --wallet create --force replaces it (the old keystore is kept as a backup)`)
        return kept(existing)
      }
      const passphrase = await getPassphrase({confirm: true, purpose: 'the new operator keystore'})
      const info = await storeWallet(loc, randomSecretKey(), passphrase, this.flags.force)
      return {address: info.address, action: 'created', backend: info.backend, ...(info.path ? {path: info.path} : {})}
    }
    const from = source ?? (await this.prompter!.ask('Keystore file, or a private-key file (mode 0600)', undefined, sourceOfPath))
    const info = await importWallet(loc, from, {force: this.flags.force, keepIfSame: true})
    if (!info.changed) return kept(info)
    return {address: info.address, action: 'imported', backend: info.backend, ...(info.path ? {path: info.path} : {})}
  }

  private async probe(config: UnetConfig): Promise<Device[]> {
    try {
      const {probeDevices} = await import('../hw/inventory.js')
      return await probeDevices({sysfsRoot: config.sysfsRoot, nvmlPath: config.nvmlPath, bmlibPath: config.bmlibPath, amdsmiPath: config.amdsmiPath})
    } catch (error) {
      this.warning(`the device probe failed: ${(error as Error).message}; \`unet devices\` says more`)
      return []
    }
  }

  private report(r: InitResult, profile: NetworkProfile, before: Record<string, unknown>): void {
    const state = (key: string) => (r.changed.includes(key) ? (before[key] === undefined ? 'set' : `changed from ${String(before[key])}`) : 'already set')
    const selected = r.engines.find((e) => e.selected)
    const tpm = r.engines.find((e) => e.kind === 'tpm2')
    if (r.engine === 'tpm2' && !tpm?.available) this.warning(`engine tpm2 is set but no TPM answered: ${tpm?.detail}`)
    else if (!selected) this.warning(`no usable security engine on network "${profile.name}": \`unet heartbeat\` fails until a TPM is reachable`)
    else if (selected.kind === 'emulator') this.warning(`the heartbeat will be ${EMULATOR_IN_USE}`)
    if (this.jsonEnabled()) return
    const walletLine = `${r.wallet.address} (${r.wallet.action === 'kept' ? 'already set' : r.wallet.action}${r.wallet.action === 'created' && r.wallet.path ? `; keystore ${r.wallet.path}, mode 0600: back it up` : ''})`
    const lines = [
      `network  ${r.network} (${state('network')})`,
      `wallet   ${walletLine}`,
      `payout   ${r.payout} (${state('payout')})`,
      `engine   ${r.engine} (${state('engine')})`,
      `tcti     ${r.tcti} (${state('tcti')})`,
      '',
      'security engines:',
      ...r.engines.map(
        (e) => `  ${e.selected ? '*' : ' '} ${e.kind.padEnd(8)} ${e.available ? 'available  ' : e.probed ? 'unavailable' : 'not probed '}  ${e.detail}`,
      ),
      '',
      'devices:',
      ...renderDevices(r.devices)
        .split('\n')
        .map((l) => `  ${l}`),
      '',
      r.changed.length === 0
        ? `already set: nothing changed (${this.resolved.paths.configFile})`
        : `wrote ${this.resolved.paths.configFile} (mode 0600): ${r.changed.join(', ')}`,
    ]
    const next = profile.name === 'devnet' && !profile.contracts.registry ? ['`unet devnet start`'] : []
    next.push('`unet register`', '`unet service install` (or `unet heartbeat`)', '`unet status`')
    lines.push(`next: ${next.join(', then ')}`)
    this.log(lines.join('\n'))
  }
}

function networkNames(config: UnetConfig): string[] {
  return [...new Set([...Object.keys(BUILTIN_PROFILES), ...Object.keys(config.networks)])]
}

function parseNetwork(answer: string, config: UnetConfig): string {
  const reason = checkValue(TOP_LEVEL_KEYS.network!, answer)
  if (reason || !networkNames(config).includes(answer))
    throw new InputError(`unknown network ${JSON.stringify(answer)}`, {hint: `one of ${networkNames(config).join(', ')}, or define networks.${answer}.* first`})
  return answer
}

function parseWalletChoice(answer: string): WalletChoice {
  const choice = (['create', 'import', 'keep'] as const).find((c) => answer.length > 0 && c.startsWith(answer.toLowerCase()))
  if (!choice) throw new InputError(`answer create, import or keep, not ${JSON.stringify(answer)}`)
  return choice
}

function parseEngine(answer: string, profile: NetworkProfile): EngineChoice {
  const engine = (['auto', 'tpm2', 'emulator'] as const).find((e) => e === answer.toLowerCase())
  if (!engine) throw new InputError(`answer auto, tpm2 or emulator, not ${JSON.stringify(answer)}`)
  if (engine === 'emulator' && !profile.allowEmulator) throw new EmulatorRefusedError(profile.name)
  return engine
}

function parseTcti(answer: string, field: string): string {
  const reason = checkValue(TOP_LEVEL_KEYS.tcti!, answer)
  if (reason) throw new InputError(`${field} ${reason}`, {hint: 'e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321'})
  return answer
}

/** An interactive import path: a JSON keystore, otherwise a file holding the hex key. */
function sourceOfPath(answer: string): KeySource {
  if (answer === '') throw new InputError('give the path of the file to import')
  let text: string
  try {
    text = readFileSync(answer, 'utf8')
  } catch (error) {
    throw new InputError(`cannot read ${answer} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  return text.trimStart().startsWith('{') ? {keystore: answer} : {keyFile: answer}
}

function sameValue(key: string, stored: unknown, value: string): boolean {
  if (typeof stored !== 'string') return false
  return key === 'payout' ? stored.toLowerCase() === value.toLowerCase() : stored === value
}

/** The host TPM (opened and closed, nothing created) and the emulator, and which one the heartbeat will take. */
async function detectEngines(engine: EngineChoice, tcti: string, config: UnetConfig, profile: NetworkProfile, dataDir: string): Promise<InitEngineReport[]> {
  const tpm: InitEngineReport = {kind: 'tpm2', probed: false, available: false, selected: false, detail: 'engine is emulator: the TPM was not touched'}
  if (engine !== 'emulator') {
    tpm.probed = true
    try {
      const {openEngine} = await import('../hw/engine.js')
      const opened = await openEngine({engine: 'tpm2', tcti, dataDir, akHandle: config.akHandle, pcrs: config.pcrs, profile})
      opened.close()
      tpm.available = true
      tpm.detail = `reachable through ${tcti}`
    } catch (error) {
      const e = error as Error & {hint?: string}
      tpm.detail = `${e.message.split('\n')[0]}${e.hint ? ` (${e.hint})` : ''}`
    }
  }
  const emulator: InitEngineReport = {
    kind: 'emulator',
    probed: true,
    available: profile.allowEmulator,
    selected: false,
    detail: profile.allowEmulator ? 'software engine: devnet only, earns nothing on a real network' : `refused on network "${profile.name}"`,
  }
  if (engine === 'tpm2' || (engine === 'auto' && tpm.available)) tpm.selected = tpm.available
  else if (emulator.available) emulator.selected = true
  return [tpm, emulator]
}
