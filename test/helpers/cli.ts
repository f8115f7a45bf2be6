import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface Home {
  configDir: string
  dataDir: string
  cacheDir: string
  env: Record<string, string>
}

/** A private config/data/cache dir set, so each test is a fresh machine. */
export function makeHome(): Home {
  const root = mkdtempSync(join(tmpdir(), 'unet-home-'))
  const home = {configDir: join(root, 'config'), dataDir: join(root, 'data'), cacheDir: join(root, 'cache')}
  return {...home, env: {UNET_CONFIG_DIR: home.configDir, UNET_DATA_DIR: home.dataDir, UNET_CACHE_DIR: home.cacheDir}}
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  json<T = Record<string, unknown>>(): T
}

export interface RunOptions {
  home?: Home
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
}

/** Runs `bin/run.js` as a real subprocess, as a user would. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  const home = options.home ?? makeHome()
  const env: Record<string, string | undefined> = {PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C', ...home.env, ...options.env}
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout,
        stderr,
        json<T>() {
          try {
            return JSON.parse(stdout) as T
          } catch {
            throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\nstderr:\n${stderr}`)
          }
        },
      })
    })
    child.stdin.end(options.input ?? '')
  })
}
