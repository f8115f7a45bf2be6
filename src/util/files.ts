import {randomBytes} from 'node:crypto'
import {chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, writeSync} from 'node:fs'
import {dirname} from 'node:path'

import {InsecurePermissionsError} from '../errors/index.js'

/**
 * Writes a file atomically (temp file + fsync + rename), so a crash leaves the old or the new
 * content, never half of one. `mode` applies from creation: a secret is never world-readable.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  mkdirSync(dirname(path), {recursive: true, mode: mode & 0o077 ? 0o755 : 0o700})
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(tmp, 'wx', mode)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}

/** Refuses a secret file that group or others can read or write. */
export function assertPrivateFile(path: string): void {
  const {mode} = statSync(path)
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) throw new InsecurePermissionsError(path, mode)
}
