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
  {situation: 'help for no such command', args: ['help', 'nosuch'], code: ExitCode.USAGE, message: /nosuch not found/, hint: /help/},
]

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
