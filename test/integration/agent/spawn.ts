import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {fileURLToPath} from 'node:url'

/** Runs a TypeScript child under tsx, as a real separate process. */
export function spawnTs(script: string, args: string[]): ChildProcessWithoutNullStreams {
  const path = fileURLToPath(new URL(`./children/${script}`, import.meta.url))
  return spawn(process.execPath, ['--import', 'tsx', path, ...args], {stdio: ['pipe', 'pipe', 'pipe']})
}

/** Resolves with the first stdout line. */
export function firstLine(child: ChildProcessWithoutNullStreams, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`no output from child in ${timeoutMs} ms; stderr: ${err}`)), timeoutMs)
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString()
      const nl = buf.indexOf('\n')
      if (nl >= 0) {
        clearTimeout(timer)
        resolve(buf.slice(0, nl))
      }
    })
    child.on('exit', (code) => {
      if (!buf.includes('\n')) {
        clearTimeout(timer)
        reject(new Error(`child exited ${code} before a line; stderr: ${err}`))
      }
    })
  })
}

export function exited(child: ChildProcessWithoutNullStreams): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({code: child.exitCode, signal: child.signalCode})
    child.on('exit', (code, signal) => resolve({code, signal}))
  })
}
