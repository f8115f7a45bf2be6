import {describe, expect, it} from 'vitest'

import {epochLine} from '../../../src/cli/render/epoch-line.js'
import {interactiveTerminal} from '../../../src/cli/spinner.js'
import {colorEnabled, styleFor} from '../../../src/cli/style.js'

const tty = {isTTY: true, columns: 120}
const pipe = {isTTY: false}
const ESC = '\x1b['

describe('colour and spinners only for a person at a terminal', () => {
  it('colour: a terminal only; never with NO_COLOR (any non-empty value), TERM=dumb or --json', () => {
    expect(colorEnabled(tty, false, {})).toBe(true)
    expect(colorEnabled(pipe, false, {})).toBe(false)
    expect(colorEnabled(tty, true, {})).toBe(false)
    expect(colorEnabled(tty, false, {NO_COLOR: '1'})).toBe(false)
    expect(colorEnabled(tty, false, {NO_COLOR: 'false'})).toBe(false)
    // no-color.org: an empty NO_COLOR does not count
    expect(colorEnabled(tty, false, {NO_COLOR: ''})).toBe(true)
    expect(colorEnabled(tty, false, {TERM: 'dumb'})).toBe(false)
  })

  it('states get their colour on a terminal and stay plain text elsewhere', () => {
    const on = styleFor(tty, false, {})
    expect(on.state('credited')).toBe(`${ESC}32mcredited${ESC}39m`)
    expect(on.state('missed')).toBe(`${ESC}31mmissed${ESC}39m`)
    expect(on.state('pending')).toBe(`${ESC}33mpending${ESC}39m`)
    expect(on.state('offline', '○ offline')).toBe(`${ESC}31m○ offline${ESC}39m`)
    // a word that is not a state is never painted
    expect(on.state('approved-ish')).toBe('approved-ish')
    const off = styleFor(pipe, false, {})
    for (const s of ['credited', 'missed', 'pending', 'online', 'offline']) expect(off.state(s)).toBe(s)
    expect(off.label('warning', 'Warning:')).toBe('Warning:')
  })

  it('spinners: both streams terminals with a width, not --json, TERM not dumb', () => {
    expect(interactiveTerminal(tty, tty, false, {})).toBe(true)
    expect(interactiveTerminal(pipe, tty, false, {})).toBe(false)
    expect(interactiveTerminal(tty, pipe, false, {})).toBe(false)
    expect(interactiveTerminal(tty, tty, true, {})).toBe(false)
    expect(interactiveTerminal(tty, tty, false, {TERM: 'dumb'})).toBe(false)
    // a pty without a size: ora would divide by 0 columns and clear lines forever
    expect(interactiveTerminal(tty, {isTTY: true, columns: 0}, false, {})).toBe(false)
    expect(interactiveTerminal(tty, {isTTY: true}, false, {})).toBe(false)
  })

  it('one line per epoch: result, tx, reason; plain off a terminal', () => {
    const plain = styleFor(pipe, false, {})
    expect(epochLine({epoch: 7n, result: 'confirmed', txHash: '0xab'}, plain)).toBe('epoch 7: confirmed tx 0xab')
    expect(epochLine({epoch: '8', result: 'missed', reason: 'epoch ended before a heartbeat was confirmed'}, plain)).toBe(
      'epoch 8: missed — epoch ended before a heartbeat was confirmed',
    )
    expect(epochLine({epoch: 9n, result: 'confirmed', txHash: '0xcd', recovered: true}, plain)).toBe('epoch 9: confirmed (sent before a restart) tx 0xcd')
    const line = epochLine({epoch: 7n, result: 'confirmed', txHash: '0xab'}, styleFor(tty, false, {}))
    expect(line).toContain(`${ESC}32mconfirmed${ESC}39m`)
    expect(line.split('\n')).toHaveLength(1)
  })
})
