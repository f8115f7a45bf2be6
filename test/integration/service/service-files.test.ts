import {execFileSync, spawnSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

import {renderServiceFile, systemdWord, windowsArg, type ServiceSpec} from '../../../src/service/service-files.js'
import {installService, serviceStatus, serviceSpecFor, uninstallService} from '../../../src/service/service-install.js'
import {ExitCode} from '../../../src/errors/index.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '')

function spec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  const base = mkdtempSync(join(tmpdir(), 'unet-svc-'))
  return {
    ...serviceSpecFor({root: ROOT, dataDir: join(base, 'data'), configDir: join(base, 'config'), network: 'devnet', user: 'miner', metrics: '127.0.0.1:9464'}),
    ...overrides,
  }
}

/** systemd-analyze verify: exit 0 AND no warning (it exits 0 on ignored bad lines). */
function verifyUnit(content: string): {code: number | null; out: string} {
  const dir = mkdtempSync(join(tmpdir(), 'unet-unit-'))
  const path = join(dir, 'unet-heartbeat.service')
  writeFileSync(path, content)
  const r = spawnSync('/usr/bin/systemd-analyze', ['verify', path], {encoding: 'utf8'})
  return {code: r.status, out: (r.stdout + r.stderr).trim()}
}

function python(code: string, input: string): string {
  return execFileSync('python3', ['-c', code], {input, encoding: 'utf8'})
}

describe('service definitions', () => {
  it('the systemd unit passes systemd-analyze verify with no warning (real node and bin/run.js paths)', () => {
    const file = renderServiceFile('systemd', spec())
    const r = verifyUnit(file.content)
    expect(r.out).toBe('')
    expect(r.code).toBe(0)
  })

  it('…and verify really checks: a missing ExecStart binary or a bad directive is reported', () => {
    const bad = verifyUnit(renderServiceFile('systemd', spec({nodePath: '/nonexistent/node'})).content)
    expect(bad.code).not.toBe(0)
    expect(bad.out).toMatch(/not executable/)
    const ignored = verifyUnit(renderServiceFile('systemd', spec()).content.replace('ProtectSystem=strict', 'ProtectSystem=bogus'))
    expect(ignored.out).toMatch(/protect system value/)
  })

  it('the unit is hardened and keeps the passphrase off argv', () => {
    const s = spec({passwordFile: '/etc/unet/password'})
    const unit = renderServiceFile('systemd', s).content
    const directives = unit.split('\n').filter((l) => /^[A-Z]/.test(l))
    for (const d of [
      'Restart=always',
      'SuccessExitStatus=130',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'DeviceAllow=/dev/tpmrm0 rw',
      'DeviceAllow=/dev/nvidiactl rw',
      'DeviceAllow=char-nvidia-frontend rw',
      'SupplementaryGroups=tss',
      'User=miner',
      'LoadCredential=unet-password:/etc/unet/password',
      'Environment=UNET_PASSWORD_FILE=%d/unet-password',
      `ReadWritePaths=${s.dataDir} ${s.configDir}`,
      'CapabilityBoundingSet=',
    ])
      expect(directives).toContain(d)
    const exec = directives.find((d) => d.startsWith('ExecStart='))!
    expect(exec).toBe(`ExecStart=${process.execPath} --max-semi-space-size=2 ${ROOT}/bin/run.js heartbeat --network devnet --metrics 127.0.0.1:9464`)
    expect(unit).not.toMatch(/UNET_PASSWORD=/)
    expect(exec).not.toMatch(/password/i)
  })

  it('paths with spaces, % and $ are quoted/escaped so systemd reads them back verbatim', () => {
    const base = mkdtempSync(join(tmpdir(), 'unet svc %h $HOME '))
    const s = spec({dataDir: join(base, 'da ta'), configDir: join(base, 'con%fig')})
    const unit = renderServiceFile('systemd', s).content
    const r = verifyUnit(unit)
    expect(r.out).toBe('')
    expect(systemdWord('a b')).toBe('"a b"')
    expect(systemdWord('50%')).toBe('50%%')
    expect(systemdWord('$X')).toBe('$$X')
    expect(windowsArg('C:\\Program Files\\unet\\')).toBe('"C:\\Program Files\\unet\\\\"')
    expect(windowsArg('say "hi"')).toBe('"say \\"hi\\""')
  })

  it('the launchd plist parses (plistlib) to the expected program, env and keep-alive', () => {
    const s = spec({dataDir: '/Users/m & co/unet'})
    const plist = renderServiceFile('launchd', s).content
    const parsed = JSON.parse(python('import plistlib,sys,json; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))', plist)) as Record<string, unknown>
    expect(parsed).toMatchObject({
      Label: 'net.utilitynet.unet.heartbeat',
      ProgramArguments: [process.execPath, '--max-semi-space-size=2', `${ROOT}/bin/run.js`, 'heartbeat', '--network', 'devnet', '--metrics', '127.0.0.1:9464'],
      EnvironmentVariables: {UNET_DATA_DIR: '/Users/m & co/unet', UNET_PASSWORD_FILE: s.passwordFile},
      RunAtLoad: true,
      KeepAlive: true,
      StandardErrorPath: '/Users/m & co/unet/logs/heartbeat.err.log',
    })
  })

  it('the Windows (WinSW) definition is well-formed XML with the service, command and env', () => {
    const s = spec({
      nodePath: 'C:\\Program Files\\nodejs\\node.exe',
      binPath: 'C:\\unet\\bin\\run.js',
      dataDir: 'C:\\ProgramData\\unet',
      configDir: 'C:\\ProgramData\\unet\\config',
      passwordFile: 'C:\\ProgramData\\unet\\pw',
    })
    const xml = renderServiceFile('windows', s).content
    const out = python(
      "import sys,json,xml.etree.ElementTree as E; r=E.fromstring(sys.stdin.read()); print(json.dumps({'id':r.findtext('id'),'exe':r.findtext('executable'),'args':r.findtext('arguments'),'env':{e.get('name'):e.get('value') for e in r.findall('env')},'onfailure':r.find('onfailure').get('action')}))",
      xml,
    )
    expect(JSON.parse(out)).toEqual({
      id: 'unet-heartbeat',
      exe: 'C:\\Program Files\\nodejs\\node.exe',
      args: '--max-semi-space-size=2 C:\\unet\\bin\\run.js heartbeat --network devnet --metrics 127.0.0.1:9464',
      env: {UNET_DATA_DIR: 'C:\\ProgramData\\unet', UNET_CONFIG_DIR: 'C:\\ProgramData\\unet\\config', UNET_PASSWORD_FILE: 'C:\\ProgramData\\unet\\pw'},
      onfailure: 'restart',
    })
  })

  it('install is idempotent, warns about a missing/open passphrase file, status sees it, uninstall removes it', async () => {
    const s = spec()
    const dir = mkdtempSync(join(tmpdir(), 'unet-unitdir-'))
    const first = installService('systemd', s, dir)
    expect(first).toMatchObject({status: 'created', path: join(dir, 'unet-heartbeat.service')})
    expect(first.nextSteps[0]).toBe('sudo systemctl daemon-reload && sudo systemctl enable --now unet-heartbeat.service')
    expect(first.warnings.join('\n')).toMatch(/does not exist: create it \(chmod 600\)/)
    expect(verifyUnit(readFileSync(first.path, 'utf8')).out).toBe('')

    mkdirSync(s.configDir, {recursive: true})
    writeFileSync(s.passwordFile, 'pw\n')
    chmodSync(s.passwordFile, 0o644)
    const again = installService('systemd', s, dir)
    expect(again.status).toBe('unchanged')
    expect(again.warnings).toEqual([`the passphrase file ${s.passwordFile} is readable by others: chmod 600 ${s.passwordFile}`])
    chmodSync(s.passwordFile, 0o600)
    expect(installService('systemd', s, dir).warnings).toEqual([])
    expect(installService('systemd', {...s, heartbeatArgs: ['--network', 'testnet']}, dir).status).toBe('updated')

    const st = await serviceStatus('systemd', s, dir)
    expect(st).toMatchObject({installed: true, upToDate: false, agent: {running: false}})
    expect(['unknown', 'inactive']).toContain(st.activity.state) // no systemd as PID 1 in this container
    installService('systemd', s, dir)
    expect((await serviceStatus('systemd', s, dir)).upToDate).toBe(true)

    const un = await uninstallService('systemd', dir)
    expect(un).toMatchObject({removed: true, nextSteps: ['sudo systemctl daemon-reload']})
    expect(existsSync(first.path)).toBe(false)
    expect((await uninstallService('systemd', dir)).removed).toBe(false)
    expect((await serviceStatus('systemd', s, dir)).installed).toBe(false)
  })

  it('a directory it cannot write is SERVICE_ERROR with a sudo / --print hint; a bad path says so', () => {
    // /sys refuses new files even to root (EACCES), unlike a chmod-ed dir
    expect(() => installService('systemd', spec(), '/sys')).toThrow(
      expect.objectContaining({
        exitCode: ExitCode.SERVICE_ERROR,
        message: 'cannot write /sys/unet-heartbeat.service (EACCES)',
        hint: expect.stringContaining('--print'),
      }),
    )
    const file = join(mkdtempSync(join(tmpdir(), 'unet-notdir-')), 'plain-file')
    writeFileSync(file, '')
    expect(() => installService('systemd', spec(), file)).toThrow(expect.objectContaining({exitCode: ExitCode.SERVICE_ERROR, hint: 'check the path (--dir)'}))
  })
})
