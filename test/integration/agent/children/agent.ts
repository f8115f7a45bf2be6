// A real agent process on the in-memory port doubles and the real clock: lock, outbox, metrics,
// signals. Prints the metrics URL, then runs until SIGTERM/SIGINT; prints the result as JSON.
import {realClock} from '../../../../src/agent/backoff.js'
import {runAgent} from '../../../../src/agent/run-agent.js'
import {CHAIN, FakeChain, FakeDevices, FakeEngine, FakeSelfVerify, IDENTITY} from '../../../unit/agent/doubles.js'

const chain = new FakeChain(realClock)
chain.epochMs = 1000
chain.blockMs = 50
const result = await runAgent({
  dataDir: process.argv[2]!,
  chainIdentity: CHAIN,
  metricsListen: '127.0.0.1:0',
  onMetrics: (url) => process.stdout.write(url + '\n'),
  identity: IDENTITY,
  chain,
  engine: new FakeEngine(),
  devices: new FakeDevices(3),
  selfVerify: new FakeSelfVerify(),
  receiptPollMs: 20,
  epochPollMs: 50,
})
process.stdout.write(
  JSON.stringify({
    stopped: result.stopped,
    signal: result.signal,
    credits: [...chain.credits.values()],
    submits: chain.submits,
    reverted: [...chain.mined.values()].filter((r) => r.status === 'reverted').length,
  }) + '\n',
)
