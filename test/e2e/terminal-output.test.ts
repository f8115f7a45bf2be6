import {describe, expect, it} from 'vitest'

import {runCli} from '../helpers/cli.js'
import {devnetSuite} from '../helpers/devnet-suite.js'
import {runCliInPty} from '../helpers/pty.js'

const SPINNER_FRAME = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/
const COLOUR = /\x1b\[3\dm/
const ANY_ESCAPE = /\x1b/
const EPOCH_LINE = /^epoch (\d+): (\S+)/

/** The per-epoch lines of some output, in order, as [epoch, result]. */
const epochLines = (lines: string[]) => lines.flatMap((l) => (EPOCH_LINE.test(l) ? [EPOCH_LINE.exec(l)!.slice(1, 3) as [string, string]] : []))

/** The same CLI as a person at a terminal sees it and as pipes (tests, journald, `| grep`) get it. */
describe('terminal output: spinner steps and colour on a TTY, plain lines elsewhere (real pty, real devnet)', () => {
  const devnet = devnetSuite()
  const home = devnet.home

  it('quickstart on a terminal: a few ✔ steps in order, one emulator warning, one line per epoch, colour', async () => {
    const r = await runCliInPty(['quickstart', '--epochs', '2', '--epoch-seconds', '3', '--port', String(devnet.port)], {home, timeoutMs: 240_000})
    const screen = r.screen()
    expect(r.code, r.raw).toBe(0)
    expect(r.raw).toMatch(SPINNER_FRAME)
    expect(r.raw).toMatch(COLOUR)

    const steps = screen.filter((l) => l.startsWith('✔ '))
    expect(steps.map((l) => l.split(' ').slice(1, 3).join(' '))).toEqual(['operator wallet', 'devnet started', expect.stringMatching(/^host 0x/)])
    const warnings = screen.filter((l) => /warning/i.test(l))
    expect(warnings).toEqual([expect.stringMatching(/^Warning: no TPM reachable .*software EMULATOR engine: devnet only/)])
    const epochs = epochLines(screen)
    expect(epochs).toHaveLength(2)
    expect(epochs.map(([, result]) => result)).toEqual(['confirmed', 'confirmed'])
    expect(Number(epochs[1]![0])).toBe(Number(epochs[0]![0]) + 1)

    // the order a newcomer reads: wallet (the devnet funds it) → devnet → engine warning → host → epochs → rewards → next
    const at = (re: RegExp) => screen.findIndex((l) => re.test(l))
    const order = [/^✔ operator wallet/, /^✔ devnet started/, /^Warning:/, /^✔ host/, EPOCH_LINE, /^accrued \S+ UNC/, /^next: `unet status`/].map(at)
    expect(
      order.every((i) => i >= 0),
      screen.join('\n'),
    ).toBe(true)
    expect([...order].sort((a, b) => a - b)).toEqual(order)
    // nothing twice, no agent log lines, no "devices: 0", no other unit than UNC for rewards
    const nonEmpty = screen.filter((l) => l !== '')
    expect(new Set(nonEmpty).size, screen.join('\n')).toBe(nonEmpty.length)
    expect(screen.join('\n')).not.toMatch(/devices: 0|"devices"|INFO|heartbeat sent|ETH|native/)
    expect(nonEmpty.length, screen.join('\n')).toBeLessThanOrEqual(9)
  })

  it('status on a terminal: states in colour, gas in a named unit, --explain does not claim everything earns without an agent', async () => {
    const r = await runCliInPty(['status', '--explain'], {home})
    expect(r.code, r.raw).toBe(0)
    expect(r.raw).toMatch(COLOUR)
    const screen = r.screen()
    expect(screen.find((l) => l.startsWith('gas '))).toMatch(/^gas +[\d.]+ ETH /)
    expect(screen.find((l) => l.startsWith('agent '))).toMatch(/not running/)
    expect(screen.join('\n')).not.toMatch(/every device is earning/)
    expect(screen).toContainEqual(expect.stringMatching(/^why: the heartbeat agent is not running on this machine/))
  })

  it('NO_COLOR on a terminal, --json on a terminal: no colour at all', async () => {
    const noColor = await runCliInPty(['status', '--explain'], {home, env: {NO_COLOR: '1'}})
    expect(noColor.code, noColor.raw).toBe(0)
    expect(noColor.raw).not.toMatch(COLOUR)
    expect(noColor.screen()).toContainEqual(expect.stringMatching(/^○ offline|^● online/))
    const json = await runCliInPty(['status', '--json'], {home})
    expect(json.code, json.raw).toBe(0)
    expect(json.raw).not.toMatch(ANY_ESCAPE)
  })

  it('off a terminal (pipes): no spinner, no colour; quickstart prints plain result lines, one per epoch', async () => {
    const qs = await runCli(['quickstart', '--epochs', '2', '--port', String(devnet.port)], {home, timeoutMs: 240_000})
    expect(qs.code, qs.stderr).toBe(0)
    expect(qs.stdout + qs.stderr).not.toMatch(ANY_ESCAPE)
    const lines = qs.stdout.trimEnd().split('\n')
    expect(lines.map((l) => l.split(':')[0]!.split(' ').slice(0, 2).join(' '))).toEqual([
      'operator wallet',
      'devnet already',
      expect.stringMatching(/^host 0x/),
      expect.stringMatching(/^epoch \d+$/),
      expect.stringMatching(/^epoch \d+$/),
      expect.stringMatching(/^accrued /),
      'next',
    ])
    expect(epochLines(lines).map(([, result]) => result)).toEqual(['confirmed', 'confirmed'])
    expect(qs.stderr.split('\n').filter((l) => l.startsWith('Warning:'))).toHaveLength(1)

    const status = await runCli(['status', '--explain'], {home})
    expect(status.code, status.stderr).toBe(0)
    expect(status.stdout).not.toMatch(ANY_ESCAPE)
  })
})
