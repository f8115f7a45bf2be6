import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors/index.js'
import {makeHome, runCli, type Home} from '../helpers/cli.js'

/**
 * One table, every command × every situation a user runs into: each row is a real subprocess of
 * bin/run.js and must end with the exit code docs/exit-codes.md gives that situation, one "Error:"
 * line that says what is wrong, one "Hint:" line that says what to do, and no stack trace.
 */
interface Situation {
  situation: string
  args: string[]
  code: number
  message: RegExp
  hint: RegExp
  /** Prepares the fresh home (files, wallets, a chain) and may return extra environment. */
  setup?: (home: Home) => Promise<Record<string, string> | void> | Record<string, string> | void
  env?: Record<string, string>
}

const SITUATIONS: Situation[] = [
  // bad command line: USAGE, saying what was expected
  {
    situation: 'flag below its minimum',
    args: ['quickstart', '--epochs', '0'],
    code: ExitCode.USAGE,
    message: /^--epochs must be an integer ≥ 1, got 0$/,
    hint: /`unet quickstart --help`/,
  },
  {
    situation: 'flag not a number',
    args: ['heartbeat', '--epochs', 'two'],
    code: ExitCode.USAGE,
    message: /^--epochs must be an integer, got two$/,
    hint: /--help/,
  },
  {
    situation: 'unknown flag, near a real one',
    args: ['quickstart', '--epochz', '3'],
    code: ExitCode.USAGE,
    message: /^unknown flag --epochz$/,
    hint: /did you mean --epochs\?/,
  },
  {
    situation: 'flag value not among its options',
    args: ['status', '--log-level', 'loud'],
    code: ExitCode.USAGE,
    message: /^--log-level must be one of fatal, .*, got loud$/,
    hint: /`unet status --help`/,
  },
  {
    situation: 'flags that exclude each other',
    args: ['heartbeat', '--once', '--epochs', '2'],
    code: ExitCode.USAGE,
    message: /--epochs=2 cannot also be provided when using --once/,
    hint: /--help/,
  },
  {
    situation: 'missing argument',
    args: ['config', 'get'],
    code: ExitCode.USAGE,
    message: /^missing argument: key \(dotted key/,
    hint: /`unet config get --help`/,
  },
  {
    situation: 'mistyped command',
    args: ['stauts'],
    code: ExitCode.USAGE,
    message: /^`stauts` is not a unet command$/,
    hint: /did you mean `unet status`\?/,
  },
  {
    situation: 'mistyped subcommand',
    args: ['wallet', 'adress'],
    code: ExitCode.USAGE,
    message: /is not a unet command$/,
    hint: /did you mean `unet wallet address`\?/,
  },
  {
    situation: 'flag that is not a URL',
    args: ['status', '--rpc-url', 'notaurl'],
    code: ExitCode.USAGE,
    message: /^--rpc-url must be an http\(s\) URL such as http:\/\/127\.0\.0\.1:8545 .*, got "notaurl"$/,
    hint: /^for example --rpc-url http:\/\/127\.0\.0\.1:8545$/,
  },
  {
    situation: 'network flag naming no network',
    args: ['rewards', 'claim', '--network', 'mainet'],
    code: ExitCode.USAGE,
    message: /^--network: network "mainet" is neither built in/,
    hint: /did you mean mainnet\? --network mainnet/,
  },
  {situation: 'help for no such command', args: ['help', 'nosuch'], code: ExitCode.USAGE, message: /nosuch not found/, hint: /help/},
  // bad config: CONFIG_INVALID naming file, line:column or key, and a command that works on it
  ...(['status', 'heartbeat --once', 'config list', 'rewards claim'] as const).map((command) => ({
    situation: 'config file not valid JSON',
    args: command.split(' '),
    code: ExitCode.CONFIG_INVALID,
    message: /config\.json:3:3: not valid JSON \(Expected ',' or '}' after property value\)$/,
    hint: /`unet config reset`/,
    setup: (home: Home) => writeConfig(home, '{\n  "network": "devnet"\n  "logLevel": "info"\n}\n'),
  })),
  {
    situation: 'config file with a mistyped key',
    args: ['register'],
    code: ExitCode.CONFIG_INVALID,
    message: /config\.json: unknown config key "rpcurl"$/,
    hint: /did you mean rpcUrl\? `unet config unset rpcurl` removes it/,
    setup: (home) => writeConfig(home, JSON.stringify({rpcurl: 'http://127.0.0.1:8545'})),
  },
  {
    situation: 'config set of a network that does not exist',
    args: ['config', 'set', 'network', 'mainnet2'],
    code: ExitCode.CONFIG_INVALID,
    message: /^not written: network "mainnet2" is neither built in/,
    hint: /did you mean mainnet\?/,
  },
  {
    situation: 'config get of a mistyped key',
    args: ['config', 'get', 'paypout'],
    code: ExitCode.INPUT_INVALID,
    message: /^unknown config key "paypout"$/,
    hint: /did you mean payout\?/,
  },
  {
    situation: 'UNET_* variable invalid',
    args: ['status'],
    env: {UNET_LOG_LEVEL: 'loud'},
    code: ExitCode.CONFIG_INVALID,
    message: /^environment variable UNET_LOG_LEVEL must be one of/,
    hint: /^fix or unset UNET_LOG_LEVEL$/,
  },
]

function writeConfig(home: Home, text: string): void {
  mkdirSync(home.configDir, {recursive: true})
  writeFileSync(join(home.configDir, 'config.json'), text, {mode: 0o600})
}

describe('every command × every situation: documented exit code, one-line error and hint, no stack', () => {
  it.each(SITUATIONS)('$situation: unet $args → $code', async ({args, code, message, hint, setup, env}) => {
    const home = makeHome()
    const extra = (await setup?.(home)) ?? {}
    const r = await runCli(args, {home, env: {...env, ...extra}, timeoutMs: 120_000})
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error: '))
    const hints = r.stderr.split('\n').filter((l) => l.startsWith('Hint: '))
    expect({code: r.code, errors: errors.length, hints: hints.length}, r.stderr).toEqual({code, errors: 1, hints: 1})
    expect(errors[0]!.slice('Error: '.length)).toMatch(message)
    expect(hints[0]!.slice('Hint: '.length)).toMatch(hint)
    expect(r.stderr).not.toMatch(/\n\s+at |›/)
  })

  it('the same error is one JSON document on stdout with --json', async () => {
    const r = await runCli(['stauts', '--json'])
    expect(r.code).toBe(ExitCode.USAGE)
    expect(r.json()).toEqual({error: {code: 'USAGE', exitCode: 2, message: '`stauts` is not a unet command', hint: expect.stringMatching(/unet status/)}})
  })
})

describe('the way out of a bad config, from the command line', () => {
  it('config set network mainnet2 fails and leaves the file as it was', async () => {
    const home = makeHome()
    expect((await runCli(['config', 'set', 'network', 'testnet'], {home})).code).toBe(0)
    const file = join(home.configDir, 'config.json')
    const before = readFileSync(file, 'utf8')
    expect((await runCli(['config', 'set', 'network', 'mainnet2'], {home})).code).toBe(ExitCode.CONFIG_INVALID)
    expect(readFileSync(file, 'utf8')).toBe(before)
    expect((await runCli(['config', 'list'], {home})).code).toBe(0)
  })

  it('an invalid file: unset/set repair it key by key, the old file kept; an unparsable one: reset moves it aside', async () => {
    const home = makeHome()
    writeConfig(home, JSON.stringify({network: 'mainnet2', bogus: 1}))
    expect((await runCli(['status'], {home})).code).toBe(ExitCode.CONFIG_INVALID)
    const unset = await runCli(['config', 'unset', 'bogus'], {home})
    expect(unset.code, unset.stderr).toBe(0)
    expect(unset.stderr).toMatch(/^Notice: the previous config file was invalid; kept as .*config\.json\.bak-/m)
    expect(unset.stderr).toMatch(/^Warning: .* is still invalid: network "mainnet2"/m)
    expect((await runCli(['config', 'set', 'network', 'devnet'], {home})).code).toBe(0)
    expect((await runCli(['config', 'get', 'network'], {home})).stdout).toBe('devnet\n')

    writeConfig(home, '{"network": ')
    const set = await runCli(['config', 'set', 'network', 'devnet'], {home})
    expect(set.code).toBe(ExitCode.CONFIG_INVALID)
    expect(set.stderr).toMatch(/^Hint: .*`unet config reset`/m)
    const reset = await runCli(['config', 'reset', '--json'], {home})
    expect(reset.code, reset.stderr).toBe(0)
    expect(readFileSync(reset.json<{backup: string}>().backup, 'utf8')).toBe('{"network": ')
    expect((await runCli(['config', 'list'], {home})).code).toBe(0)
    expect(readdirSync(home.configDir).filter((f) => f.includes('.bak-'))).toHaveLength(3)
  })
})

describe("oclif's help", () => {
  it('`unet -h` and `unet help status` print help, exit 0', async () => {
    const short = await runCli(['-h'])
    expect(short.code, short.stderr).toBe(0)
    expect(short.stdout).toMatch(/^\s+status\s/m)
    const topic = await runCli(['help', 'status'])
    expect(topic.code, topic.stderr).toBe(0)
    expect(topic.stdout).toMatch(/\$ unet status/)
  })

  it('`unet autocomplete` explains the shell set-up, offline', async () => {
    const r = await runCli(['autocomplete', 'bash'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/unet autocomplete/)
  })
})
