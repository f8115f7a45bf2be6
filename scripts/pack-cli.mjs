// Packs the built CLI (dist/, the oclif manifest, contract artifacts; `npm ci` or `npm run build` first)
// into unet-<version>.tgz with its production dependencies inside (bundleDependencies), pinned by
// package-lock.json. `npm install -g` of that file then needs no registry: it works offline from what
// `npm ci` put in the npm cache, and on a miner's machine the one file is all there is to copy.
//
//   node scripts/pack-cli.mjs [--out DIR] [--offline]      (npm run pack:cli)
//
// Nothing in the project tree is changed: the package is staged in a temporary directory.
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const outIndex = args.indexOf('--out')
const out = resolve(outIndex >= 0 ? args[outIndex + 1] : process.cwd())
const offline = args.includes('--offline')

for (const built of ['dist/commands', 'oclif.manifest.json'])
  if (!existsSync(join(root, built))) {
    console.error(`pack-cli: ${built} is missing; run \`npm ci\` (or \`npm run build\`) first`)
    process.exit(2)
  }

const npm = (cwd, ...npmArgs) => execFileSync('npm', npmArgs, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
const stage = mkdtempSync(join(tmpdir(), 'unet-pack-'))
try {
  // the package exactly as `files` in package.json selects it; no build scripts run
  const [{filename}] = JSON.parse(npm(root, 'pack', '--ignore-scripts', '--json', '--pack-destination', stage))
  execFileSync('tar', ['-xzf', join(stage, filename), '-C', stage])
  const pkgDir = join(stage, 'package')
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  // an installed copy never builds itself (its dev tools are not there)
  delete manifest.scripts?.prepare
  manifest.bundleDependencies = Object.keys(manifest.dependencies ?? {}).sort()
  writeFileSync(join(pkgDir, 'package.json'), JSON.stringify(manifest, null, 2) + '\n')
  copyFileSync(join(root, 'package-lock.json'), join(pkgDir, 'package-lock.json'))
  npm(pkgDir, 'ci', '--omit=dev', offline ? '--offline' : '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error')
  const [packed] = JSON.parse(npm(pkgDir, 'pack', '--ignore-scripts', '--json', '--pack-destination', out))
  console.log(join(out, packed.filename))
} finally {
  rmSync(stage, {recursive: true, force: true})
}
