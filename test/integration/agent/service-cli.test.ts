import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {BIN, makeHome, runCli} from '../../helpers/cli.js'

/** `unet service …` as a subprocess (needs `npm run build`). */
describe('unet service (subprocess)', () => {
  it('install --print --platform systemd writes a unit that passes systemd-analyze verify', async () => {
    const home = makeHome()
    const r = await runCli(['service', 'install', '--print', '--platform', 'systemd'], {home})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`ExecStart=${process.execPath} --max-semi-space-size=2 ${BIN} heartbeat --network devnet`)
    expect(r.stdout).toContain(`ReadWritePaths=${home.dataDir} ${home.configDir}`)
    const dir = mkdtempSync(join(tmpdir(), 'unet-print-'))
    const path = join(dir, 'unet-heartbeat.service')
    writeFileSync(path, r.stdout)
    const v = spawnSync('/usr/bin/systemd-analyze', ['verify', path], {encoding: 'utf8'})
    expect((v.stdout + v.stderr).trim()).toBe('')
    expect(v.status).toBe(0)
  })

  it('install → status → uninstall with --dir, and --json results', async () => {
    const home = makeHome()
    const dir = join(home.dataDir, 'units')
    const i = await runCli(['service', 'install', '--platform', 'systemd', '--dir', dir, '--json'], {home})
    expect(i.code, i.stderr).toBe(0)
    const installed = i.json<{path: string; status: string; nextSteps: string[]; warnings: string[]}>()
    expect(installed.status).toBe('created')
    expect(installed.nextSteps[0]).toContain('systemctl daemon-reload && sudo systemctl enable --now unet-heartbeat.service')
    expect(installed.warnings[0]).toMatch(/keystore-password does not exist/)
    expect(readFileSync(installed.path, 'utf8')).toContain('LoadCredential=unet-password:')

    const s = await runCli(['service', 'status', '--platform', 'systemd', '--dir', dir, '--json'], {home})
    expect(s.code, s.stderr).toBe(0)
    expect(s.json()).toMatchObject({installed: true, upToDate: true, agent: {running: false}})

    const human = await runCli(['service', 'status', '--platform', 'systemd', '--dir', dir], {home})
    expect(human.stdout).toMatch(/^service file: installed at .*unet-heartbeat\.service$/m)

    const u = await runCli(['service', 'uninstall', '--platform', 'systemd', '--dir', dir, '--json'], {home})
    expect(u.code, u.stderr).toBe(0)
    expect(u.json()).toMatchObject({removed: true})
    expect(existsSync(installed.path)).toBe(false)
  })

  it('launchd and windows print parseable files; a bad --platform is a usage error', async () => {
    const home = makeHome()
    const p = await runCli(['service', 'install', '--print', '--platform', 'launchd', '--json'], {home})
    expect(p.json<{name: string; content: string}>().name).toBe('net.utilitynet.unet.heartbeat.plist')
    const parsed = spawnSync('python3', ['-c', 'import plistlib,sys; d=plistlib.loads(sys.stdin.buffer.read()); print(d["Label"], d["KeepAlive"])'], {
      input: p.json<{content: string}>().content,
      encoding: 'utf8',
    })
    expect(parsed.stdout.trim()).toBe('net.utilitynet.unet.heartbeat True')
    const bad = await runCli(['service', 'install', '--print', '--platform', 'upstart'], {home})
    expect(bad.code).toBe(2)
  })
})
