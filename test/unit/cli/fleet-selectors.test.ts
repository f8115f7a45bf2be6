import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {parseAddressList, parseFleetSelectors} from '../../../src/cli/fleet-selectors.js'
import {ExitCode, UnetError} from '../../../src/errors/index.js'

const A = '0x8ba1f109551bD432803012645Ac136ddd64DBA72'
const B = '0x00000000000000000000000000000000000000b1'

function thrown(f: () => unknown): UnetError {
  try {
    f()
  } catch (error) {
    expect(error).toBeInstanceOf(UnetError)
    return error as UnetError
  }
  throw new Error('did not throw')
}

describe('parseFleetSelectors', () => {
  it('repeatable --operator and --payout, lower-cased and de-duplicated', () => {
    expect(parseFleetSelectors({operator: [A, A.toLowerCase()], payout: [B]})).toEqual({operators: [A.toLowerCase()], payouts: [B], addresses: []})
  })

  it('--file: one address a line, # comments and blank lines skipped, CRLF accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unet-fleet-'))
    const file = join(dir, 'hosts.txt')
    writeFileSync(file, `# my fleet\r\n${A}   # rack 1\r\n\r\n  ${B}\n# ${'0x' + 'f'.repeat(40)} retired\n`)
    expect(parseFleetSelectors({file})).toEqual({operators: [], payouts: [], addresses: [A.toLowerCase(), B]})
  })

  it('no selector at all: a usage error (exit 2) with a hint', () => {
    const e = thrown(() => parseFleetSelectors({}))
    expect(e.exitCode).toBe(ExitCode.USAGE)
    expect(e.message).toBe('no hosts selected: give --operator, --payout or --file')
    expect(e.hint).toMatch(/--payout 0xPAYOUT/)
    expect(thrown(() => parseFleetSelectors({operator: [], payout: []})).exitCode).toBe(ExitCode.USAGE)
  })

  it('a file of comments only selects nobody: the same usage error, naming the file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'unet-fleet-')), 'empty.txt')
    writeFileSync(file, '# nothing yet\n\n')
    const e = thrown(() => parseFleetSelectors({file}))
    expect(e.exitCode).toBe(ExitCode.USAGE)
    expect(e.message).toBe(`no hosts selected: ${file} lists no address`)
  })

  it('bad addresses: one line naming the flag or the file line (exit 19)', () => {
    const op = thrown(() => parseFleetSelectors({operator: ['0x1234']}))
    expect(op.exitCode).toBe(ExitCode.INPUT_INVALID)
    expect(op.message).toBe('--operator is not an address: "0x1234"')
    const pay = thrown(() => parseFleetSelectors({operator: [A], payout: ['payout.eth']}))
    expect(pay.message).toBe('--payout is not an address: "payout.eth"')
    // a mixed-case address must carry its checksum
    const sum = thrown(() => parseFleetSelectors({payout: [A.replace('b', 'B')]}))
    expect(sum.message).toMatch(/^--payout has a bad EIP-55 checksum/)
    const line = thrown(() => parseAddressList(`${A}\n# ok\n0xnothex\n`, 'hosts.txt'))
    expect(line.exitCode).toBe(ExitCode.INPUT_INVALID)
    expect(line.message).toBe('hosts.txt:3 is not an address: "0xnothex"')
    expect(line.message).not.toMatch(/\n/)
  })

  it('a file that cannot be read: exit 19 with the reason', () => {
    const e = thrown(() => parseFleetSelectors({file: '/nonexistent/hosts.txt'}))
    expect(e.exitCode).toBe(ExitCode.INPUT_INVALID)
    expect(e.message).toBe('cannot read --file /nonexistent/hosts.txt (ENOENT)')
  })
})
