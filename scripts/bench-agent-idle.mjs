/**
 * Bench 4 of `npm run bench`: idle CPU of the agent between heartbeats at a 30 s epoch.
 *
 * anvil (a block a second; see below), POCI with 30-block epochs (≈ 30 s), the emulator engine, and runMinerAgent exactly
 * as `unet heartbeat` runs it (its polling and backoff derived from the epoch: a currentEpoch poll
 * every tenth of the epoch, 3 s). Idle = from the Confirmed transition of
 * one epoch + 2 s (the heartbeat's tail: post-confirmation gas/rewards reads, its GC) to the first
 * transition of the next epoch; CPU
 * (user + system, process.cpuUsage) over those windows until at least --seconds of idle were seen,
 * as a percentage of one core. Also the average over the whole run, heartbeats included.
 *
 *   node scripts/bench-agent-idle.mjs [--seconds 30] [--epoch-seconds 30]
 */
import {load, FROM, probeLogger, report, setupChain} from './bench-agent-common.mjs'

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const needSeconds = arg('seconds', 30)
const epochSeconds = arg('epoch-seconds', 30)

const {runMinerAgent} = await load('miner/run-miner.js')

// The contract counts epochs in blocks, so the epoch only passes in wall time with a block every second
// (epochSeconds blocks ≈ epochSeconds s, as the devnet profile's blockSeconds 1 says). anvil's own
// output is drained by this process (startAnvil): ~0.2 % of anvil log handling that a real daemon
// (anvil elsewhere) never pays is in the figure.
const chain = await setupChain({epochBlocks: epochSeconds, blockTime: 1, engine: 'emulator'})
const rpcCounts = {}
if (process.env.UNET_BENCH_RPCDETAIL) {
  const provider = chain.session.client.provider
  const send = provider.send.bind(provider)
  provider.send = (method, params) => {
    if (since) rpcCounts[method] = (rpcCounts[method] ?? 0) + 1
    return send(method, params)
  }
}
let idleCpu = 0
let idleWall = 0
let windows = 0
let heartbeats = 0
let since
let tail = 'closed'
const SETTLE_MS = 2000
let runStart
const warnings = []
const done = new AbortController()

const logger = probeLogger({
  state(to) {
    const now = {cpu: process.cpuUsage(), t: performance.now()}
    if (to === 'Confirmed') {
      heartbeats++
      runStart ??= now
      // the heartbeat's own tail (gas/rewards reads, its garbage collected) stays out of the idle window
      const epochConfirmed = heartbeats
      setTimeout(() => {
        if (heartbeats !== epochConfirmed || tail !== 'open') return
        since = {cpu: process.cpuUsage(), t: performance.now()}
        armStop()
      }, SETTLE_MS)
      tail = 'open'
      return
    }
    tail = 'closed'
    if (since) {
      const d = process.cpuUsage(since.cpu)
      idleCpu += (d.user + d.system) / 1000
      idleWall += now.t - since.t
      windows++
      since = undefined
    }
  },
  warn(msg) {
    if (warnings.length < 20) warnings.push(msg)
  },
})

// Stops once enough idle was seen. One timer per idle window, armed for exactly the idle still
// missing (a 1 s ticker would itself add wake-ups to what is measured).
let stopTimer
function armStop() {
  clearTimeout(stopTimer)
  if (!since) return
  stopTimer = setTimeout(
    () => {
      if (!since) return
      const d = process.cpuUsage(since.cpu)
      idleCpu += (d.user + d.system) / 1000
      idleWall += performance.now() - since.t
      windows++
      since = undefined
      done.abort()
    },
    Math.max(0, needSeconds * 1000 - idleWall),
  )
}

const run = runMinerAgent(chain.session, {logger})
await new Promise((resolve) => done.signal.addEventListener('abort', resolve, {once: true}))
clearTimeout(stopTimer)
const total = process.cpuUsage(runStart.cpu)
const totalWall = performance.now() - runStart.t
process.kill(process.pid, 'SIGTERM') // runAgent stops cleanly on SIGTERM
await run.catch(() => undefined)
chain.close()
report({
  bench: 'idle',
  from: FROM,
  epochSeconds,
  heartbeats,
  idleWindows: windows,
  idleSeconds: +(idleWall / 1000).toFixed(1),
  idleCpuMs: +idleCpu.toFixed(1),
  idlePercent: +((100 * idleCpu) / idleWall).toFixed(3),
  averagePercentWithHeartbeats: +((100 * ((total.user + total.system) / 1000)) / totalWall).toFixed(3),
  ...(process.env.UNET_BENCH_RPCDETAIL ? {rpcCounts} : {}),
  warnings,
})
