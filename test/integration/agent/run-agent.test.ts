import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {readLocalAgentStatus} from '../../../src/agent/agent-status.js'
import {lockPath} from '../../../src/agent/lock.js'
import {readJournal} from '../../../src/agent/outbox.js'
import {exited, firstLine, spawnTs} from './spawn.js'

describe('runAgent in a real process (port doubles, real clock, lock, metrics, signals)', () => {
  it('heartbeats every epoch, serves metrics, and a SIGTERM ends it cleanly with the lock released', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-agent-proc-'))
    const child = spawnTs('agent.ts', [dataDir])
    const url = await firstLine(child)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
    let out = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))

    // wait for two confirmed epochs on the metrics endpoint
    let body = ''
    for (let i = 0; i < 100; i++) {
      body = await (await fetch(url)).text()
      if (/unet_heartbeats_total\{result="confirmed"\} [2-9]/.test(body)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(body).toMatch(/unet_heartbeats_total\{result="confirmed"\} [2-9]/)
    expect(body).toContain('unet_devices_online 3')
    const status = readLocalAgentStatus(dataDir)
    expect(status.running).toBe(true)
    expect(status.pid).toBe(child.pid)
    expect(status.snapshot?.lastSuccessEpoch).toBeDefined()

    child.kill('SIGTERM')
    const {code, signal} = await exited(child)
    expect({code, signal, stderr}).toEqual({code: 0, signal: null, stderr: ''})
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as {stopped: string; signal: string; credits: number[]; submits: number; reverted: number}
    expect(result.stopped).toBe('aborted')
    expect(result.signal).toBe('SIGTERM')
    // never two credits for one epoch; every credit is journaled as confirmed
    expect(result.credits.every((c) => c === 1)).toBe(true)
    expect(readJournal(dataDir).filter((r) => r.result === 'confirmed')).toHaveLength(result.credits.length)
    // a submit beyond the credits is one that reverted at an epoch boundary (real clock, loaded CI) or one still
    // in flight when SIGTERM came; never a duplicate
    expect(result.submits - result.credits.length - result.reverted).toBeGreaterThanOrEqual(0)
    expect(result.submits - result.credits.length - result.reverted).toBeLessThanOrEqual(1)
    expect(existsSync(lockPath(dataDir))).toBe(false)
    expect(JSON.parse(readFileSync(join(dataDir, 'agent', 'state.json'), 'utf8')).state).toBe('Stopped')
    expect(readLocalAgentStatus(dataDir).running).toBe(false)
    expect(readJournal(dataDir).filter((r) => r.result === 'confirmed').length).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
