import {spawn} from 'node:child_process'

import type {DeliveryResult} from './webhook.js'

export interface CommandHookOptions {
  /** argv: the program and its fixed arguments, from the config file. Never run through a shell. */
  argv: string[]
  /** Kill it after this long (default 30 s). */
  timeoutMs?: number
  /** Extra environment (trusted values only: the event and rule names). */
  env?: Record<string, string>
  /** Names of variables not passed on (the webhook secret). */
  withhold?: string[]
}

/**
 * Runs the local hook with the message JSON on stdin. No shell: nothing of the message (which holds
 * chain data anyone can write) is ever interpolated into a command line; the hook reads it as data.
 * Exit 0 is delivered; anything else is a failure retried at the next check.
 */
export function runCommandHook(body: string, o: CommandHookOptions): Promise<DeliveryResult> {
  const [program, ...args] = o.argv
  if (!program) return Promise.resolve({ok: false, attempts: 1, error: 'alerts.command is empty'})
  const env: NodeJS.ProcessEnv = {...process.env, ...o.env}
  for (const name of o.withhold ?? []) delete env[name]
  return new Promise((resolve) => {
    const child = spawn(program, args, {shell: false, stdio: ['pipe', 'ignore', 'pipe'], env, timeout: o.timeoutMs ?? 30_000, killSignal: 'SIGKILL'})
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 2000) stderr += c.toString()
    })
    child.on('error', (e: NodeJS.ErrnoException) => resolve({ok: false, attempts: 1, error: `cannot run ${program}: ${e.code ?? e.message}`}))
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ok: true, attempts: 1})
      const last = stderr.trim().split('\n').at(-1)
      resolve({ok: false, attempts: 1, error: `${program} exited ${signal ? `on ${signal}` : code}${last ? `: ${last.slice(0, 200)}` : ''}`})
    })
    // a hook that does not read stdin must not crash us with EPIPE
    child.stdin.on('error', () => undefined)
    child.stdin.end(body)
  })
}
