import {execFile} from 'node:child_process'
import {mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {makeHome} from '../helpers/cli.js'

const run = promisify(execFile)
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version

/**
 * README's install, for real: pack the built CLI (npm run pack:cli), `npm install -g` the tarball into
 * a temporary prefix with --offline (only what `npm ci` already put in the npm cache), and run `unet`
 * from PATH in another directory, as the CLI's own messages ("run `unet status`") assume.
 */
describe('install: the packed tarball puts `unet` on PATH (npm install -g, offline)', () => {
  const work = mkdtempSync(join(tmpdir(), 'unet-install-'))
  const prefix = join(work, 'prefix')
  const elsewhere = mkdtempSync(join(tmpdir(), 'unet-elsewhere-'))
  const home = makeHome()
  let tarball: string
  let files: string[]
  const env = {PATH: `${join(prefix, 'bin')}:/usr/bin:/bin`, HOME: process.env.HOME, LANG: 'C', ...home.env}
  const unet = (...args: string[]) => run('unet', args, {cwd: elsewhere, env, timeout: 60_000}).catch((e: {code: number; stdout: string; stderr: string}) => e)

  beforeAll(async () => {
    const packed = await run(process.execPath, [join(ROOT, 'scripts', 'pack-cli.mjs'), '--out', work, '--offline'], {cwd: ROOT, timeout: 300_000})
    tarball = packed.stdout.trim().split('\n').at(-1)!
    files = (await run('tar', ['-tzf', tarball], {maxBuffer: 64 * 1024 * 1024})).stdout.split('\n').filter(Boolean)
    await run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', tarball], {cwd: work, timeout: 300_000})
  }, 600_000)

  afterAll(() => {
    rmSync(work, {recursive: true, force: true})
    rmSync(elsewhere, {recursive: true, force: true})
  })

  it('the tarball holds what the CLI reads at run time and nothing secret, no tests, no dev tools', () => {
    for (const needed of [
      'package/bin/run.js',
      'package/dist/commands/status.js',
      'package/oclif.manifest.json',
      'package/contracts/artifacts/Poci.json',
      'package/fixtures/sophgo-catalogue/devnet-catalogue.json',
      'package/fixtures/sophgo-catalogue/devnet-catalogue-pub.pem',
      'package/node_modules/@oclif/core/package.json',
      'package/node_modules/@foundry-rs/anvil-linux-amd64/package.json',
    ])
      expect(files).toContain(needed)
    const own = files.filter((f) => !f.startsWith('package/node_modules/'))
    // the devnet catalogue's signing key and the sample chip key are test material, never shipped
    const data = own.filter((f) => !f.startsWith('package/dist/'))
    expect(data.filter((f) => /\.key$|-key\.pem$|\.env$|passphrase|password|keystore.*\.json$/i.test(f))).toEqual([])
    expect(own.filter((f) => /^package\/(test|src|scripts|\.ci|native\/build)\//.test(f))).toEqual([])
    expect(files.filter((f) => /^package\/node_modules\/(vitest|typescript|eslint|oclif|tsx)\//.test(f))).toEqual([])
  })

  it('`unet` is on PATH and answers from another directory: --version, devices --json, help', async () => {
    const which = await run('sh', ['-c', 'command -v unet'], {cwd: elsewhere, env})
    expect(realpathSync(which.stdout.trim())).toBe(realpathSync(join(prefix, 'lib', 'node_modules', 'unet', 'bin', 'run.js')))
    const version = await unet('--version')
    expect(version.stdout).toMatch(new RegExp(`^unet/${VERSION.replace(/\./g, '\\.')} `))
    const devices = await unet('devices', '--json')
    expect(devices.stderr).toBe('')
    expect(Array.isArray(JSON.parse(devices.stdout).devices)).toBe(true)
    const help = await unet('help', 'status')
    expect(help.stdout).toMatch(/USAGE\s+\$ unet status/)
  })

  it('what the CLI tells a newcomer to run exists: `unet status` before a devnet says to start one, naming `unet`', async () => {
    const status = await unet('status')
    expect('code' in status ? status.code : 0).not.toBe(0)
    expect(status.stderr).toMatch(/^Error: .*\nHint: .*`unet devnet start`/m)
    const devnetHelp = await unet('devnet', 'start', '--help')
    expect(devnetHelp.stdout).toMatch(/USAGE\s+\$ unet devnet start/)
  })
})
