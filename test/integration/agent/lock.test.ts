import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {acquireLock, lockPath, readLock} from '../../../src/agent/lock.js'
import {ExitCode, UnetError} from '../../../src/errors/index.js'
import {exited, firstLine, spawnTs} from './spawn.js'

describe('single-instance agent lock (real processes)', () => {
  it('a second agent is refused with ALREADY_RUNNING naming the pid; after kill -9 the stale lock is taken over', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-lock-'))
    const first = spawnTs('hold-lock.ts', [dataDir])
    const a = JSON.parse(await firstLine(first)) as {locked: boolean; pid: number}
    expect(a).toEqual({locked: true, pid: first.pid})
    expect(readLock(lockPath(dataDir))?.pid).toBe(first.pid)

    const second = spawnTs('hold-lock.ts', [dataDir])
    const b = JSON.parse(await firstLine(second)) as {locked: boolean; exitCode: number; message: string; hint: string}
    expect(b.locked).toBe(false)
    expect(b.exitCode).toBe(ExitCode.ALREADY_RUNNING)
    expect(b.message).toBe(`another unet agent (pid ${first.pid}) is already running on this data dir`)
    expect(b.hint).toContain(`kill ${first.pid}`)
    expect((await exited(second)).code).toBe(ExitCode.ALREADY_RUNNING)

    // in this process too
    expect(() => acquireLock(dataDir, {releaseOnExit: false})).toThrow(UnetError)

    // the holder dies without cleaning up: its lock file stays, but it is stale
    first.kill('SIGKILL')
    await exited(first)
    expect(readLock(lockPath(dataDir))?.pid).toBe(first.pid)
    const third = spawnTs('hold-lock.ts', [dataDir])
    expect(JSON.parse(await firstLine(third))).toEqual({locked: true, pid: third.pid})
    // a clean stop (SIGTERM) releases it
    third.kill('SIGTERM')
    expect((await exited(third)).code).toBe(0)
    expect(readLock(lockPath(dataDir))).toBeUndefined()
  }, 60_000)

  it('two processes racing for a free lock: exactly one wins', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-lock-race-'))
    const children = Array.from({length: 4}, () => spawnTs('hold-lock.ts', [dataDir]))
    const lines = await Promise.all(children.map((c) => firstLine(c).then((l) => JSON.parse(l) as {locked: boolean; pid?: number})))
    expect(lines.filter((l) => l.locked)).toHaveLength(1)
    for (const c of children) c.kill('SIGKILL')
    await Promise.all(children.map(exited))
  }, 60_000)

  it('a lock whose pid was reused by an unrelated process (start time differs) is stale; garbage is stale', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'unet-lock-reuse-'))
    // pid 1 exists, but its start time is not the recorded one
    writeFileSync(lockPath(dataDir), JSON.stringify({pid: 1, startTime: '999999999999', hostname: 'x', acquiredAt: 0}))
    const lock = acquireLock(dataDir, {releaseOnExit: false})
    expect(JSON.parse(readFileSync(lockPath(dataDir), 'utf8')).pid).toBe(process.pid)
    lock.release()
    writeFileSync(lockPath(dataDir), 'not a pid')
    const again = acquireLock(dataDir, {releaseOnExit: false})
    expect(again.info.pid).toBe(process.pid)
    again.release()
  })
})
