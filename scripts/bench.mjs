#!/usr/bin/env node
/**
 * npm run bench: the agent's four performance goals, each measured in its own process, then one table.
 *
 *   1. agent CPU per heartbeat, 8 devices, TPM/chain waits excluded   (scripts/bench-agent-cpu.mjs)
 *   2. heartbeat wall on anvil + swtpm through FFI + live ports        (scripts/bench-agent-loop.mjs --mode wall)
 *   3. daemon RSS after 10 and after 1000 confirmed heartbeats         (scripts/bench-agent-loop.mjs --mode rss)
 *   4. idle CPU between heartbeats at a 30 s epoch                      (scripts/bench-agent-idle.mjs)
 *
 * The agent code is compiled from src/ into a private temporary dist (tsc, ~10 s) so the benches
 * run what the daemon runs (no tsx loader thread in the RSS/idle figures) and a concurrent rebuild of
 * ./dist cannot race them. Bench 2 runs src/ under tsx (it needs the swtpm test helper).
 * Benches 3 and 4 run side by side to keep the whole run near 4 minutes on 2 cores (4 mostly sleeps).
 *
 * Options: --heartbeats N (bench 3, default 1000), --wall-epochs N (default 20), --cpu-epochs N
 * (default 200), --idle-seconds N (default 30), --json (the raw results as one JSON line at the end).
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync, symlinkSync} from 'node:fs'
import {cpus, loadavg, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const heartbeats = arg('heartbeats', 1000)
const wallEpochs = arg('wall-epochs', 20)
const cpuEpochs = arg('cpu-epochs', 200)
const idleSeconds = arg('idle-seconds', 30)
const started = performance.now()
const log = (m) => process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${m}\n`)

const conditions = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memGiB: +(totalmem() / 2 ** 30).toFixed(1),
  loadavgAtStart: loadavg().map((l) => +l.toFixed(2)),
}
log(`node ${conditions.node}, ${conditions.cores} × ${conditions.cpu}, load ${conditions.loadavgAtStart.join(' ')}`)

// ---------------------------------------------------------------- private build of src/
const build = mkdtempSync(join(tmpdir(), 'unet-bench-'))
const cleanup = () => rmSync(build, {recursive: true, force: true})
process.on('exit', cleanup)
log('compiling src/ (tsc) into a private dist')
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', join(build, 'dist'), '--sourceMap', 'false'],
  {encoding: 'utf8'},
)
if (tsc.status !== 0) {
  // tsc emits even with type errors; only a missing output is fatal
  log(`tsc reported errors (emitted anyway):\n${tsc.stdout.split('\n').slice(0, 10).join('\n')}`)
}
// dist/chain/artifacts.js reads ../../contracts, packages resolve through node_modules, "type": "module" from package.json
for (const name of ['package.json', 'contracts', 'node_modules']) symlinkSync(join(root, name), join(build, name))
const env = {...process.env, UNET_BENCH_DIST: join(build, 'dist')}

// ---------------------------------------------------------------- runner
function runBench(label, args, extraEnv = {}) {
  return new Promise((resolve) => {
    const t = performance.now()
    const child = spawn(process.execPath, args, {cwd: root, env: {...env, ...extraEnv}, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (err += c))
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '))
      const seconds = (performance.now() - t) / 1000
      if (code !== 0 || !line) {
        log(`${label}: FAILED (exit ${code})\n${(err || out).trim().split('\n').slice(-15).join('\n')}`)
        resolve({error: `exit ${code}: ${(err || out).trim().split('\n').at(-1)}`, seconds})
        return
      }
      const result = JSON.parse(line.slice('BENCH_RESULT '.length))
      log(`${label}: done in ${seconds.toFixed(0)} s`)
      resolve({...result, seconds})
    })
  })
}

const script = (name) => join(root, 'scripts', name)

log(`1/4 agent CPU per heartbeat (8 devices, ${cpuEpochs} epochs)`)
const cpu = await runBench('cpu', [script('bench-agent-cpu.mjs'), '--epochs', String(cpuEpochs), '--devices', '8'])

log(`2/4 heartbeat wall on anvil + swtpm (${wallEpochs} epochs)`)
const wall = await runBench('wall', ['--import', 'tsx', script('bench-agent-loop.mjs'), '--mode', 'wall', '--engine', 'tpm2', '--epochs', String(wallEpochs)], {
  UNET_BENCH_FROM: 'src',
})

log(
  `3/4 daemon RSS over ${heartbeats} heartbeats (default V8 flags, and with --max-semi-space-size=2)  +  4/4 idle CPU (${idleSeconds} s at a 30 s epoch), side by side`,
)
const [rss, rssSemi, idle] = await Promise.all([
  runBench('rss', ['--expose-gc', script('bench-agent-loop.mjs'), '--mode', 'rss', '--engine', 'emulator', '--epochs', String(heartbeats)]),
  runBench('rss --max-semi-space-size=2', [
    '--expose-gc',
    '--max-semi-space-size=2',
    script('bench-agent-loop.mjs'),
    '--mode',
    'rss',
    '--engine',
    'emulator',
    '--epochs',
    String(heartbeats),
  ]),
  runBench('idle', [script('bench-agent-idle.mjs'), '--seconds', String(idleSeconds), '--epoch-seconds', '30']),
])

// ---------------------------------------------------------------- table
const f = (v, d = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : 'n/a')
const verdict = (ok) => (ok === undefined ? 'ERROR' : ok ? 'PASS' : 'MISS')
const rssAt = (r, n) => r.rssMB?.[n]
const rssRow = (name, r) => {
  if (r.error) return [name, `error: ${r.error}`, '≤ 90 MB, growth ≤ 2 MB', 'ERROR']
  const a = rssAt(r, 10)
  const b = rssAt(r, heartbeats)
  const ok = r.failed === 0 && b <= 90 && b - a <= 2
  return [name, `${f(a)} → ${f(b)} MB (growth ${f(b - a)}; heap ${f(r.heapMB?.[10])} → ${f(r.heapMB?.[heartbeats])} MB)`, '≤ 90 MB, growth ≤ 2 MB', verdict(ok)]
}
const rows = [
  ['bench', 'measured', 'goal', ''],
  ...(cpu.error
    ? [['1 agent CPU / heartbeat, 8 devices', `error: ${cpu.error}`, '≤ 20 ms', 'ERROR']]
    : [
        // what the goal names: evidence, commitments, qualifying data, self-verify, outbox (chain in memory)
        [
          '1 agent CPU / heartbeat, 8 devices',
          `median ${f(cpu.withoutTxMedianMs, 2)} ms, p95 ${f(cpu.withoutTxP95Ms, 2)} ms (${cpu.epochs} epochs)`,
          '≤ 20 ms',
          verdict(cpu.withoutTxP95Ms <= 20),
        ],
        // stricter: plus the chain port's own CPU (call data, ABI encoding, EIP-1559 signing)
        [
          '  … plus tx build + sign',
          `median ${f(cpu.medianMs, 2)} ms, p95 ${f(cpu.p95Ms, 2)} ms (build + sign ${f(cpu.txBuildSignMedianMs, 2)} ms median)`,
          '≤ 20 ms',
          verdict(cpu.p95Ms <= 20),
        ],
      ]),
  wall.error
    ? ['2 heartbeat wall, devnet + swtpm', `error: ${wall.error}`, '≤ 150 ms', 'ERROR']
    : [
        '2 heartbeat wall, devnet + swtpm',
        `median ${f(wall.medianMs)} ms, p95 ${f(wall.p95Ms)} ms (${wall.epochs} epochs; quote ${f(wall.parts.quoteMedianMs)}, submit ${f(wall.parts.submitMedianMs)} ms)`,
        '≤ 150 ms',
        verdict(wall.failed === 0 && wall.p95Ms <= 150),
      ],
  rssRow(`3 daemon RSS, 10 → ${heartbeats} heartbeats`, rss),
  rssRow('  … node --max-semi-space-size=2', rssSemi),
  idle.error
    ? ['4 idle CPU, 30 s epoch', `error: ${idle.error}`, '≤ 0.5 %', 'ERROR']
    : [
        '4 idle CPU, 30 s epoch',
        `${f(idle.idlePercent, 3)} % of a core over ${f(idle.idleSeconds)} s idle (${f(idle.averagePercentWithHeartbeats, 3)} % with heartbeats)`,
        '≤ 0.5 %',
        verdict(idle.idlePercent <= 0.5),
      ],
]
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
const line = (r) =>
  r
    .map((c, i) => c.padEnd(widths[i]))
    .join('  ')
    .trimEnd()
const total = ((performance.now() - started) / 1000).toFixed(0)
console.log('')
console.log(
  `unet agent benchmarks — node ${conditions.node}, ${conditions.cores} cores (${conditions.cpu}), load at start ${conditions.loadavgAtStart.join(' ')}, ${total} s`,
)
console.log(line(rows[0]))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const r of rows.slice(1)) console.log(line(r))
if (process.argv.includes('--json')) console.log(JSON.stringify({conditions, cpu, wall, rss, rssSemi, idle, seconds: Number(total)}))
