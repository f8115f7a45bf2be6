// Start-up benchmark: `unet --version` wall time next to `node -e 0`, same run, medians.
import {spawnSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'

const runs = Number(process.env.RUNS ?? 21)
const bin = fileURLToPath(new URL('../bin/run.js', import.meta.url))

function median(cmd, args) {
  const times = []
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint()
    const r = spawnSync(cmd, args, {stdio: ['ignore', 'pipe', 'pipe']})
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
    times.push(Number(process.hrtime.bigint() - t) / 1e6)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]
}

// Interleave to share whatever load the machine has.
median(process.execPath, ['-e', '0'])
const node = median(process.execPath, ['-e', '0'])
const version = median(process.execPath, [bin, '--version'])
const help = median(process.execPath, [bin, 'config', 'path'])
console.log(`node -e 0            ${node.toFixed(1)} ms (median of ${runs})`)
console.log(`unet --version       ${version.toFixed(1)} ms`)
console.log(`unet config path     ${help.toFixed(1)} ms (full oclif command path, for reference)`)
console.log(`ratio --version/node ${(version / node).toFixed(2)}x (goal <= 1.8x)`)
