// Child process for the crash test: rewrites one epoch's outbox entry as fast as it can, forever.
// Each version i carries a payload derived from i, so the parent can tell a whole version from a torn one.
import {Outbox} from '../../../../src/agent/outbox.js'

const dataDir = process.argv[2]!
const outbox = new Outbox(dataDir)
const hash = (i: number) => '0x' + i.toString(16).padStart(64, '0')
outbox.prepare(7n, {number: 1n, hash: hash(1)})
for (let i = 0; ; i++) {
  const payload =
    '0x' +
    i
      .toString(16)
      .padStart(8, '0')
      .repeat(2000 + (i % 500))
  outbox.markSent(7n, {txHash: hash(i + 1), nonce: i, fees: {maxFeePerGas: BigInt(i) * 3n, maxPriorityFeePerGas: BigInt(i)}, data: payload}, BigInt(i))
  outbox.record({epoch: BigInt(i), result: 'confirmed', txHash: hash(i + 1)})
  if (i === 0) process.stdout.write('ready\n')
}
