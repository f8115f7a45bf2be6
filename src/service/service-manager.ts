import {execFile} from 'node:child_process'

import {LAUNCHD_LABEL, SYSTEMD_UNIT_NAME, WINDOWS_SERVICE_ID, type ServicePlatform} from './service-files.js'

export type ServiceActivity = 'active' | 'inactive' | 'failed' | 'activating' | 'unknown'

export interface ServiceActivityResult {
  state: ServiceActivity
  /** What the service manager said (or why it could not be asked). */
  detail: string
}

function run(cmd: string, args: string[]): Promise<{code: number | null; stdout: string; stderr: string; error?: string}> {
  return new Promise((resolve) => {
    execFile(cmd, args, {timeout: 5000, encoding: 'utf8'}, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? (error as unknown as {code: number}).code : null) : 0
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr),
        error: error && typeof (error as NodeJS.ErrnoException).code === 'string' ? String((error as NodeJS.ErrnoException).code) : undefined,
      })
    })
  })
}

/** Asks the OS service manager whether the heartbeat service runs; 'unknown' when it cannot be asked. */
export async function queryServiceActivity(platform: ServicePlatform): Promise<ServiceActivityResult> {
  if (platform === 'systemd') {
    const r = await run('systemctl', ['is-active', SYSTEMD_UNIT_NAME])
    if (r.error) return {state: 'unknown', detail: `systemctl not available (${r.error})`}
    const word = r.stdout.trim().split('\n')[0] ?? ''
    if (['active', 'inactive', 'failed', 'activating'].includes(word)) return {state: word as ServiceActivity, detail: `systemctl is-active: ${word}`}
    return {state: 'unknown', detail: (r.stderr || r.stdout).trim().split('\n')[0] || `systemctl exited ${r.code}`}
  }
  if (platform === 'launchd') {
    const domain = typeof process.getuid === 'function' && process.getuid() === 0 ? 'system' : `gui/${process.getuid?.() ?? 0}`
    const r = await run('launchctl', ['print', `${domain}/${LAUNCHD_LABEL}`])
    if (r.error) return {state: 'unknown', detail: `launchctl not available (${r.error})`}
    if (r.code !== 0) return {state: 'inactive', detail: 'not loaded in launchd'}
    const m = /state = (\w+)/.exec(r.stdout)
    return {state: m?.[1] === 'running' ? 'active' : 'inactive', detail: `launchd state: ${m?.[1] ?? 'unknown'}`}
  }
  const r = await run('sc.exe', ['query', WINDOWS_SERVICE_ID])
  if (r.error) return {state: 'unknown', detail: `sc.exe not available (${r.error})`}
  if (/RUNNING/.test(r.stdout)) return {state: 'active', detail: 'sc query: RUNNING'}
  if (/STOPPED/.test(r.stdout)) return {state: 'inactive', detail: 'sc query: STOPPED'}
  return {state: 'unknown', detail: r.stdout.trim().split('\n')[0] ?? ''}
}
