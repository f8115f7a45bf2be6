import {closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'

import {ExitCode, UnetError} from '../errors/index.js'

/**
 * One agent per data dir. The lock is a pid file created with O_EXCL (open 'wx'): the kernel lets
 * exactly one process create it. A lock whose process is gone (kill(pid, 0) → ESRCH), or whose pid
 * now belongs to a different process (Linux: start time in /proc/<pid>/stat differs), is stale and
 * taken over. The holder removes it on release and on process exit.
 */

export interface LockInfo {
  pid: number
  /** Process start time in clock ticks since boot (Linux), to tell a reused pid from the holder. */
  startTime?: string
  hostname: string
  acquiredAt: number
}

export interface AgentLock {
  readonly path: string
  readonly info: LockInfo
  release(): void
}

export function lockPath(dataDir: string): string {
  return join(dataDir, 'agent.lock')
}

/** Start time of a process (field 22 of /proc/<pid>/stat), or undefined where /proc is absent. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // comm (field 2) may contain spaces and parentheses: split after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return rest[19]
  } catch {
    return undefined
  }
}

/** Whether the process recorded in a lock file still runs. */
export function isLockHolderAlive(info: Pick<LockInfo, 'pid' | 'startTime'>): boolean {
  try {
    process.kill(info.pid, 0)
  } catch (error) {
    // EPERM: it exists but belongs to another user — alive.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  if (info.startTime !== undefined) {
    const now = processStartTime(info.pid)
    if (now !== undefined && now !== info.startTime) return false
  }
  return true
}

/** Reads a lock file; undefined when absent, {pid: NaN} when unreadable garbage. */
export function readLock(path: string): LockInfo | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0)
      return {pid: v.pid, startTime: v.startTime, hostname: String(v.hostname ?? ''), acquiredAt: Number(v.acquiredAt ?? 0)}
  } catch {
    // a bare pid (other tools) is accepted too
    const pid = Number(text.trim())
    if (Number.isInteger(pid) && pid > 0) return {pid, hostname: '', acquiredAt: 0}
  }
  return {pid: Number.NaN, hostname: '', acquiredAt: 0}
}

class AlreadyRunningError extends UnetError {
  constructor(pid: number, path: string) {
    super(`another unet agent (pid ${pid}) is already running on this data dir`, ExitCode.ALREADY_RUNNING, {
      hint: `stop it first (e.g. \`systemctl stop unet-heartbeat\` or \`kill ${pid}\`); the lock is ${path}`,
      details: {pid, lock: path},
    })
  }
}

/** Takes the agent lock of `dataDir` or throws AlreadyRunningError naming the holder's pid. */
export function acquireLock(dataDir: string, options: {releaseOnExit?: boolean; path?: string} = {}): AgentLock {
  mkdirSync(dataDir, {recursive: true, mode: 0o700})
  // another lock of the same kind (src/alerts: one alert check at a time) lives beside it
  const path = options.path ?? lockPath(dataDir)
  const info: LockInfo = {pid: process.pid, startTime: processStartTime(process.pid), hostname: hostname(), acquiredAt: Date.now()}
  const body = JSON.stringify(info) + '\n'

  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600)
      try {
        writeSync(fd, body)
      } finally {
        closeSync(fd)
      }
      return makeLock(path, info, options.releaseOnExit ?? true)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = readLock(path)
    if (holder === undefined) continue // released between our open and read: try again
    if (holder.pid === process.pid && holder.startTime === info.startTime) throw new AlreadyRunningError(holder.pid, path)
    if (Number.isInteger(holder.pid) && isLockHolderAlive(holder)) throw new AlreadyRunningError(holder.pid, path)
    removeStale(path, holder)
  }
  throw new UnetError(`could not take the agent lock ${path}`, ExitCode.ALREADY_RUNNING, {hint: `remove ${path} if no unet agent runs`})
}

/**
 * Moves a stale lock aside by rename (atomic), then checks that what it moved is the stale one we
 * judged: if another process took the lock over in between, its fresh lock is put back with link()
 * (which, like O_EXCL, never overwrites) and our next open fails with EEXIST as it should.
 */
function removeStale(path: string, stale: LockInfo): void {
  const aside = `${path}.stale-${process.pid}`
  try {
    renameSync(path, aside)
  } catch {
    return
  }
  const moved = readLock(aside)
  if (moved && moved.pid !== stale.pid && Number.isInteger(moved.pid) && isLockHolderAlive(moved)) {
    try {
      linkSync(aside, path)
    } catch {
      /* someone else holds it now */
    }
  }
  try {
    unlinkSync(aside)
  } catch {
    /* gone */
  }
}

function makeLock(path: string, info: LockInfo, releaseOnExit: boolean): AgentLock {
  let released = false
  const release = () => {
    if (released) return
    released = true
    process.removeListener('exit', release)
    const now = readLock(path)
    if (now?.pid === info.pid && now.startTime === info.startTime) {
      try {
        unlinkSync(path)
      } catch {
        /* gone */
      }
    }
  }
  if (releaseOnExit) process.on('exit', release)
  return {path, info, release}
}
