import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

import {ExitCode, UnetError} from '../errors/index.js'

export interface AnvilOptions {
  /** 0 picks a free port. */
  port?: number
  host?: string
  blockTime?: number
  anvilPath?: string
  extraArgs?: string[]
}

export interface AnvilHandle {
  pid: number
  port: number
  rpcUrl: string
  child: ChildProcess
  stop(): void
}

/**
 * The anvil binary shipped by npm's @foundry-rs/anvil-<platform> package. We spawn it directly:
 * the JS wrapper adds a Node process per chain and hides the real pid we need to manage.
 */
function findAnvilBinary(explicit?: string): string {
  if (explicit) {
    if (!existsSync(explicit)) throw anvilMissing(`anvil binary not found at ${explicit}`)
    return explicit
  }
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  try {
    const require = createRequire(import.meta.url)
    const path = join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
    if (existsSync(path)) return path
  } catch {
    // fall through to the error below
  }
  throw anvilMissing(`no anvil binary for ${process.platform}-${process.arch} (npm package ${pkg} is not installed)`)
}

function anvilMissing(message: string): UnetError {
  return new UnetError(message, ExitCode.DEVNET_ERROR, {hint: 'install Foundry and pass --anvil-path /path/to/anvil'})
}

/** Starts anvil and resolves once it listens; rejects with a clear error if it dies first. */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilHandle> {
  const binary = findAnvilBinary(options.anvilPath)
  const host = options.host ?? '127.0.0.1'
  const child = spawn(binary, anvilArgs(host, options), {stdio: ['ignore', 'pipe', 'pipe']})
  const port = await listeningPort(child, options.port)
  // Keep draining output so anvil never blocks on a full pipe.
  child.stdout!.resume()
  child.stderr!.resume()
  return anvilHandle(child, host, port)
}

function anvilArgs(host: string, options: AnvilOptions): string[] {
  return [
    '--host',
    host,
    '--port',
    String(options.port ?? 0),
    ...(options.blockTime ? ['--block-time', String(options.blockTime)] : []),
    ...(options.extraArgs ?? []),
  ]
}

/**
 * The port anvil says it listens on (its "Listening on" line, on stdout or stderr). Rejects when it
 * exits or cannot be spawned first; the listeners are removed either way.
 */
function listeningPort(child: ChildProcess, requestedPort: number | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /Listening on [\d.:[\]a-f]+:(\d+)/.exec(output)
      if (match) {
        cleanup()
        resolve(Number(match[1]))
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(exitedBeforeListening(code, output, requestedPort))
    }
    const onError = (error: Error) => {
      cleanup()
      reject(new UnetError(`cannot start anvil: ${error.message}`, ExitCode.DEVNET_ERROR, {hint: 'check --anvil-path'}))
    }
    const cleanup = () => {
      child.stdout!.off('data', onData)
      child.stderr!.off('data', onData)
      child.off('exit', onExit)
      child.off('error', onError)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', onExit)
    child.once('error', onError)
  })
}

/** Why anvil exited before listening: a taken port (its output says so), else its exit code and last output. */
function exitedBeforeListening(code: number | null, output: string, requestedPort: number | undefined): UnetError {
  const taken = /address already in use|Address in use/i.test(output)
  return new UnetError(taken ? `port ${requestedPort} is already in use` : `anvil exited (code ${code}) before listening`, ExitCode.DEVNET_ERROR, {
    hint: taken ? 'pick another port with --port, or stop what uses it' : 'run anvil by hand to see its output',
    details: {output: output.slice(-2000)},
  })
}

function anvilHandle(child: ChildProcess, host: string, port: number): AnvilHandle {
  return {
    pid: child.pid!,
    port,
    rpcUrl: `http://${host}:${port}`,
    child,
    stop: () => {
      try {
        process.kill(child.pid!, 'SIGTERM')
      } catch {
        // already gone
      }
    },
  }
}
