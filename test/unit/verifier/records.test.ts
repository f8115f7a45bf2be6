import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../../src/errors/index.js'
import {readRecordedFacts} from '../../../src/verifier/records.js'

/** The facts `unet verifier audit --decisions` reads back from a verifier's decisions log. */
describe('readRecordedFacts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unet-records-'))
  const log = (name: string, lines: string[]) => {
    const file = join(dir, name)
    writeFileSync(file, lines.join('\n') + '\n')
    return file
  }
  const answer = (index: number) => ({index, askedAt: '2026-12-01T00:00:00.000Z', error: 'no answer'})

  it('keys the facts of each decision by regId (lower-case); the last decision of a registration wins; other records are skipped', () => {
    const file = log('decisions.jsonl', [
      JSON.stringify({type: 'decision', regId: '0xAB', facts: {nvidia: {ocsp: {gpu: [answer(1)]}, rims: []}}}),
      JSON.stringify({type: 'spot-check', regId: '0xab', facts: {nvidia: {ocsp: {gpu: [answer(9)]}, rims: []}}}),
      '',
      JSON.stringify({type: 'decision', regId: '0xab', facts: {nvidia: {ocsp: {gpu: [answer(2)]}, rims: []}}}),
      JSON.stringify({type: 'decision', regId: '0xcd'}),
    ])
    const facts = readRecordedFacts(file)
    expect([...facts.keys()]).toEqual(['0xab', '0xcd'])
    expect(facts.get('0xab')!.nvidia!.ocsp.gpu).toEqual([answer(2)])
    // a decision recorded without facts (a host) recomputes with none
    expect(facts.get('0xcd')).toEqual({})
  })

  it('a missing log is empty; a line that is not JSON is one input error naming the file and line', () => {
    expect(readRecordedFacts(join(dir, 'absent.jsonl')).size).toBe(0)
    const file = log('cut.jsonl', [JSON.stringify({type: 'decision', regId: '0x01'}), '{"type":"decision","regId":'])
    expect(() => readRecordedFacts(file)).toThrow(
      expect.objectContaining({exitCode: ExitCode.INPUT_INVALID, message: `decisions log ${file} line 2 is not JSON`}),
    )
  })
})
