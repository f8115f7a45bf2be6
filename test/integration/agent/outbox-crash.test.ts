import {existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {Outbox} from '../../../src/agent/outbox.js'
import {exited, firstLine, spawnTs} from './spawn.js'

describe('outbox survives SIGKILL mid-write (real child processes, real files)', () => {
  it('after each kill -9 the entry and the journal are a whole old or new version, never torn', async () => {
    const rounds = 8
    const seen = new Set<number>()
    let midWrite = 0
    for (let round = 0; round < rounds; round++) {
      const dataDir = mkdtempSync(join(tmpdir(), 'unet-crash-'))
      const child = spawnTs('outbox-writer.ts', [dataDir])
      expect(await firstLine(child)).toBe('ready')
      // let it rewrite for a varying while, then kill it with no chance to clean up
      await new Promise((r) => setTimeout(r, 40 + round * 37))
      child.kill('SIGKILL')
      expect((await exited(child)).signal).toBe('SIGKILL')

      const tmpLeft = [join(dataDir, 'agent', 'outbox'), join(dataDir, 'agent')].flatMap((d) => readdirSync(d).filter((n) => n.endsWith('.tmp')))
      if (tmpLeft.length > 0) midWrite++
      const warnings: string[] = []
      const logger = {debug() {}, info() {}, error() {}, warn: (_o: object, m?: string) => void warnings.push(m ?? '')}
      const outbox = new Outbox(dataDir, {logger})
      const entry = outbox.get(7n)
      expect(warnings, 'no file was corrupt').toEqual([])
      expect(entry?.state).toBe('sent')
      const tx = entry!.txs.at(-1)!
      const i = tx.nonce
      // every field belongs to the same version i
      expect(tx.txHash).toBe('0x' + (i + 1).toString(16).padStart(64, '0'))
      expect(tx.fees).toEqual({maxFeePerGas: BigInt(i) * 3n, maxPriorityFeePerGas: BigInt(i)})
      expect(tx.data).toBe(
        '0x' +
          i
            .toString(16)
            .padStart(8, '0')
            .repeat(2000 + (i % 500)),
      )
      expect(entry!.sentBlock).toBe(BigInt(i))
      const journal = outbox.journal()
      expect(journal.length).toBeGreaterThan(0)
      expect(journal.at(-1)!.epoch).toBeGreaterThanOrEqual(BigInt(i) - 1n)
      // the new Outbox removed any temp file the kill left behind
      for (const dir of [outbox.dir, join(dataDir, 'agent')]) expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([])
      seen.add(i)
    }
    // the kills landed at different versions (the writer really was mid-stream)
    expect(seen.size).toBeGreaterThan(1)
    // and at least one kill landed inside a write (a temp file was left half-written)
    expect(midWrite).toBeGreaterThan(0)
  }, 120_000)

  it('a corrupt entry is moved aside with a warning and the loop goes on', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-corrupt-'))
    const outbox = new Outbox(dataDir)
    outbox.prepare(3n, {number: 10n, hash: '0x' + 'ab'.repeat(32)})
    const path = outbox.pathOf(3n)
    writeFileSync(path, '{"version":1,"epoch":"3","sta')
    const warnings: string[] = []
    const o2 = new Outbox(dataDir, {logger: {debug() {}, info() {}, error() {}, warn: (_o: object, m?: string) => void warnings.push(m ?? '')}})
    expect(o2.get(3n)).toBeUndefined()
    expect(warnings).toEqual(['corrupt agent state file moved aside: not valid JSON'])
    expect(existsSync(path)).toBe(false)
    const aside = readdirSync(o2.dir).filter((n) => n.includes('.corrupt-'))
    expect(aside).toHaveLength(1)
    expect(readFileSync(join(o2.dir, aside[0]!), 'utf8')).toContain('"sta')
    // and the epoch can be prepared afresh
    expect(o2.prepare(3n, {number: 11n, hash: '0x' + 'cd'.repeat(32)}).attempts).toBe(1)
  })
})
