import {Command, Flags, Errors, ux, type Interfaces} from '@oclif/core'

import {loadConfig, type ResolvedConfig} from '../config/index.js'
import {getPassphrase, quickstartPassphraseFile} from '../keys/passphrase.js'
import {createLogger, type Logger} from '../util/logger.js'
import {printError} from './render-error.js'
import {interactiveTerminal, steps, type Steps} from './spinner.js'
import {styleFor, type Style} from './style.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type BaseArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every unet command extends this: --json everywhere, the shared flags, the layered config, a
 * logger, and the single error path (one line + hint + documented exit code, stack only on --debug).
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    network: Flags.string({description: 'network profile (devnet, testnet, mainnet, or one you defined)', helpGroup: 'GLOBAL'}),
    'rpc-url': Flags.string({description: 'RPC URL(s), comma-separated; overrides the profile', helpGroup: 'GLOBAL'}),
    'log-level': Flags.string({
      description: 'log level',
      options: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({description: 'show stack traces of errors', helpGroup: 'GLOBAL', hidden: true}),
  }

  protected flags!: BaseFlags<T>
  protected args!: BaseArgs<T>
  private resolvedConfig?: ResolvedConfig
  private loggerInstance?: Logger
  private activeSteps?: Steps

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as BaseArgs<T>
    // A broken config file fails every command up front, with one line naming the file and key.
    if ((this.ctor as unknown as {readsConfig?: boolean}).readsConfig !== false) void this.resolved
  }

  /** The resolved config (defaults < file < env < flags), loaded on first use. */
  protected get resolved(): ResolvedConfig {
    this.resolvedConfig ??= loadConfig({
      configDir: this.config.configDir,
      dataDir: this.config.dataDir,
      cacheDir: this.config.cacheDir,
      flags: {
        network: this.flags.network,
        rpcUrl: this.flags['rpc-url'],
        logLevel: this.flags['log-level'],
        ...this.configFlagOverrides(),
      },
    })
    return this.resolvedConfig
  }

  /** The operator keystore passphrase (env, file, prompt; on the devnet also quickstart's generated file). */
  protected operatorPassphrase(): Promise<string> {
    const {profile, paths} = this.resolved
    return getPassphrase({purpose: 'the operator keystore', fallbackFile: profile.name === 'devnet' ? quickstartPassphraseFile(paths.dataDir) : undefined})
  }

  /** Drops the cached config, e.g. after a step of this command rewrote the config file. */
  protected reloadConfig(): void {
    this.resolvedConfig = undefined
  }

  /** Commands with their own config-backed flags (e.g. --tcti) return them here by config key. */
  protected configFlagOverrides(): Record<string, string | undefined> {
    return {}
  }

  protected async logger(): Promise<Logger> {
    // In --json mode logs still go to stderr, so stdout stays one parseable document.
    this.loggerInstance ??= await createLogger(this.resolved.config.logLevel, {color: this.style('stderr').color})
    return this.loggerInstance
  }

  /** The colours of stdout or stderr: none off a terminal, with NO_COLOR or with --json. */
  protected style(stream: 'stdout' | 'stderr' = 'stdout'): Style {
    return styleFor(stream === 'stdout' ? process.stdout : process.stderr, this.jsonEnabled())
  }

  /** This command's progress steps (src/cli/spinner.ts): spinners on a terminal, result lines only elsewhere. */
  protected async steps(): Promise<Steps> {
    const interactive = interactiveTerminal(process.stdout, process.stderr, this.jsonEnabled())
    this.activeSteps = await steps({interactive, style: this.style('stdout'), write: (line) => this.log(line)})
    return this.activeSteps
  }

  /**
   * "Warning: <message>" on stderr, the one warning style of every command, also with --json (stdout
   * stays one JSON document). Not oclif's `this.warn`: that is silent under --json and re-wraps the
   * line, and a miner must always see e.g. that the software emulator engine is in use.
   */
  protected warning(message: string): void {
    ux.stderr('%s', `${this.style('stderr').label('warning', 'Warning:')} ${message}`)
  }

  /** "Notice: <message>" on stderr, like warning(): something done for the user that they should know. */
  protected notice(message: string): void {
    ux.stderr('%s', `${this.style('stderr').label('notice', 'Notice:')} ${message}`)
  }

  /** One progress line of a long-running command (a service's decisions, "stopped") on stderr, like warning(). */
  protected statusLine(line: string): void {
    ux.stderr('%s', line)
  }

  private showStack(): boolean {
    const debugEnv = process.env.DEBUG ?? ''
    return Boolean(this.flags?.debug) || process.argv.includes('--debug') || /(^|,)\s*unet/.test(debugEnv) || debugEnv === '*'
  }

  /** The single error path of every command: printError's one line + hint + documented exit code. */
  protected override async catch(err: Error & {exitCode?: number}): Promise<never> {
    if (err instanceof Errors.ExitError) throw err
    // the spinner ends as failed above the error line, not drawn again below it
    this.activeSteps?.fail()
    const flags = Object.keys({...this.ctor.baseFlags, ...this.ctor.flags, ...(this.ctor.enableJsonFlag ? {json: true} : {})})
    const exitCode = printError(err, {json: this.jsonEnabled(), stack: this.showStack(), context: {command: this.id?.replaceAll(':', ' '), flags}})
    process.exitCode = exitCode
    Errors.exit(exitCode)
  }

  public override async finally(error: Error | undefined): Promise<void> {
    this.activeSteps?.stop()
    await super.finally(error)
  }

  protected override toSuccessJson(result: unknown): unknown {
    return result
  }
}
