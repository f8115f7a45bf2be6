/**
 * Benches 2 and 3 of `npm run bench`: the real agent loop (runAgent: lock, outbox, state file) on the
 * live ports (liveChainPort/liveEnginePort/liveSelfVerifyPort, as runMinerAgent wires them) against a
 * real anvil with automine. Epochs are counted in blocks: a side driver mines to the next epoch's
 * first block (anvil_mine) as soon as a heartbeat is confirmed, so epochs pass as fast as the agent can send.
 *
 *   --mode wall --engine tpm2 --epochs 20   heartbeat wall time: Attesting → Confirmed per epoch
 *   --mode rss  --engine emulator --epochs 1000   RSS after heartbeat 10 and after heartbeat N (--expose-gc);
 *       the agent runs in a child process (--child, spawned with the same node flags), this one drives
 *
 * Diagnostics: UNET_BENCH_MEMDETAIL=1 prints process.memoryUsage() at each sample to stderr,
 * UNET_BENCH_HEAPSNAP=/tmp/hs writes /tmp/hs-<n>.heapsnapshot there.
 */
import {fileURLToPath} from 'node:url'

import {FROM, load, openBenchSession, pct, probeLogger, report, setupChain} from './bench-agent-common.mjs'

const {liveChainPort, liveDevicesPort, liveEnginePort, liveSelfVerifyPort} = await load('miner/live-ports.js')
const {runAgent} = await load('agent/run-agent.js')

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : def
}
const mode = arg('mode', 'wall')
const engineKind = arg('engine', mode === 'wall' ? 'tpm2' : 'emulator')
const measured = Number(arg('epochs', mode === 'wall' ? '20' : '1000'))
const warmup = mode === 'wall' ? 3 : 0
// epochs in blocks (automine: one block per heartbeat); the driver mines to the next epoch after each confirmation
const EPOCH_BLOCKS = 200

const child = arg('child', undefined)

if (mode === 'rss' && !child) {
  // The parent: chain, deployment, registration and the side driver. The agent runs in a child
  // process that loads and does only what the `unet heartbeat` daemon does, so the set-up's memory
  // (deploy, register, the driver's fetch) is not in the daemon's RSS.
  const {spawn} = await import('node:child_process')
  const chain = await setupChain({epochBlocks: EPOCH_BLOCKS, engine: engineKind})
  chain.session.close()
  try {
    const spec = {rpcUrl: chain.rpcUrl, contracts: chain.contracts, operatorKey: chain.operatorKey, dataDir: chain.dataDir}
    const agent = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--mode',
        'rss',
        '--engine',
        engineKind,
        '--epochs',
        String(measured),
        '--child',
        JSON.stringify(spec),
      ],
      {stdio: ['ignore', 'pipe', 'inherit']},
    )
    let buffer = ''
    agent.stdout.on('data', (chunk) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line === 'NEXT') void chain.nextEpoch().catch((e) => process.stderr.write(`driver: ${e.message}\n`))
        else process.stdout.write(line + '\n')
      }
    })
    const code = await new Promise((resolve) => agent.on('close', resolve))
    if (code !== 0) process.exitCode = 1
  } finally {
    chain.close()
  }
} else {
  await runLoop()
}

async function runLoop() {
  // the swtpm helper is TypeScript: the tpm2 engine needs UNET_BENCH_FROM=src under tsx
  const swtpm = engineKind === 'tpm2' ? await (await import('../test/helpers/swtpm.ts')).startSwtpm() : undefined
  let chain
  let session
  if (child) {
    const spec = JSON.parse(child)
    session = await openBenchSession({...spec, engine: engineKind})
    // the side driver is the parent: one line on stdout asks it for the next epoch
    chain = {dataDir: spec.dataDir, nextEpoch: async () => void process.stdout.write('NEXT\n'), close: () => session.close()}
  } else {
    chain = await setupChain({epochBlocks: EPOCH_BLOCKS, engine: engineKind, tcti: swtpm?.tcti})
    session = chain.session
  }
  try {
    // The live ports, wrapped only to time where an attempt's wall time goes.
    const parts = {quote: [], submit: [], receipt: []}
    const live = liveChainPort(session.client, session.identity, session.operator)
    const chainPort = {
      ...live,
      async submitHeartbeat(submission, hooks) {
        const t = performance.now()
        try {
          return await live.submitHeartbeat(submission, hooks)
        } finally {
          parts.submit.push(performance.now() - t)
        }
      },
      async receipt(txHash) {
        const t = performance.now()
        const r = await live.receipt(txHash)
        if (r) parts.receipt.push(performance.now() - t)
        return r
      },
    }
    const liveEngine = liveEnginePort(session.engine)
    const enginePort = {
      async quote(q) {
        const t = performance.now()
        try {
          return await liveEngine.quote(q)
        } finally {
          parts.quote.push(performance.now() - t)
        }
      },
    }

    const walls = []
    let attemptStart
    let confirmed = 0
    const rss = {}
    const heap = {}
    const sampleAt = new Set([10, 100, 250, 500, 750, measured])
    const gc = globalThis.gc
    const warnings = []
    const started = performance.now()

    const logger = probeLogger({
      state(to) {
        if (to === 'Attesting' && attemptStart === undefined) attemptStart = performance.now()
        if (to === 'Confirmed' && attemptStart !== undefined) {
          walls.push(performance.now() - attemptStart)
          attemptStart = undefined
        }
      },
      confirmed() {
        confirmed++
        if (mode === 'rss' && sampleAt.has(confirmed)) {
          gc?.()
          const m = process.memoryUsage()
          rss[confirmed] = m.rss
          heap[confirmed] = m.heapUsed
          if (process.env.UNET_BENCH_HEAPSNAP)
            import('node:v8').then((v8) => v8.writeHeapSnapshot(`${process.env.UNET_BENCH_HEAPSNAP}-${confirmed}.heapsnapshot`))
          if (process.env.UNET_BENCH_MEMDETAIL)
            console.error(confirmed, JSON.stringify(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, +(v / 2 ** 20).toFixed(1)]))))
        }
        // the side driver: the next epoch starts now
        void chain.nextEpoch().catch((e) => warnings.push(`driver: ${e.message}`))
      },
      warn(msg) {
        if (warnings.length < 20) warnings.push(msg)
      },
    })

    const run = await runAgent({
      dataDir: chain.dataDir,
      epochs: measured + warmup,
      logger,
      handleSignals: false,
      identity: {chainId: session.client.chainId, contract: session.client.pociAddress, operator: session.operator, hostId: session.hostId},
      chain: chainPort,
      engine: enginePort,
      devices: liveDevicesPort(session.client, session.hostId),
      selfVerify: liveSelfVerifyPort(session.identity, true, 'devnet'),
      // fast loop for the bench: the driver opens the next epoch right after each confirmation
      backoff: {baseMs: 50, maxMs: 1000},
      receiptPollMs: 20,
      epochPollMs: 10,
    })
    const results = run.epochs.map((e) => e.result)
    const failed = results.filter((r) => r !== 'confirmed').length
    const w = walls.slice(warmup)
    const median = (a) => (a.length ? pct(a, 50) : NaN)
    if (mode === 'wall') {
      report({
        bench: 'wall',
        from: FROM,
        engine: engineKind,
        epochs: w.length,
        confirmed,
        failed,
        medianMs: pct(w, 50),
        p95Ms: pct(w, 95),
        maxMs: Math.max(...w),
        parts: {
          quoteMedianMs: median(parts.quote.slice(warmup)),
          submitMedianMs: median(parts.submit.slice(warmup)),
          receiptMedianMs: median(parts.receipt.slice(warmup)),
        },
        warnings,
      })
    } else {
      report({
        bench: 'rss',
        from: FROM,
        engine: engineKind,
        heartbeats: confirmed,
        failed,
        gc: Boolean(gc),
        rssMB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, +(v / 2 ** 20).toFixed(1)])),
        heapMB: Object.fromEntries(Object.entries(heap).map(([k, v]) => [k, +(v / 2 ** 20).toFixed(1)])),
        wallMedianMs: pct(walls, 50),
        seconds: +((performance.now() - started) / 1000).toFixed(1),
        warnings,
      })
    }
  } finally {
    chain.close()
    swtpm?.stop()
  }
}
