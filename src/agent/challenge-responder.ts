import {isAborted, raceAbort} from './backoff.js'
import {
  noopMetrics,
  silentAgentLogger,
  type AgentLogger,
  type AgentMetrics,
  type ChallengeCursorStore,
  type ChallengePort,
  type HostChallenge,
} from './ports.js'

/**
 * The agent's side of the challenge game (docs/protocol.md §6): each epoch it reads the challenges
 * opened against its host and answers every open one whose committed evidence this machine kept. An
 * unanswered challenge slashes the host after its deadline, so nothing here is fatal: a failed answer
 * is retried at the next step, and the scan never moves past a challenge that is still open.
 *
 * The scan is cheap: it starts at a persisted cursor, and never further back than the oldest block an
 * answerable challenge can have been opened in (head − answer window), however old the cursor.
 */
export interface ChallengeResponderOptions {
  port: ChallengePort
  /** The latest block number. */
  head: () => Promise<bigint>
  cursor?: ChallengeCursorStore
  logger?: AgentLogger
  metrics?: AgentMetrics
  signal?: AbortSignal
  /** Blocks re-read behind the cursor and before the window (a short reorg, a node a block behind); default 2. */
  marginBlocks?: bigint
}

export interface ChallengeStepResult {
  head: bigint
  /** Open on chain after this step (answerable or not). */
  open: HostChallenge[]
  answered: string[]
  failed: string[]
  unanswerable: string[]
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))
const short = (id: string) => `${id.slice(0, 10)}…`

export class ChallengeResponder {
  private window?: bigint
  /** What was already said about each challenge, so a step logs news only. */
  private readonly told = new Map<string, 'seen' | 'unanswerable' | 'expired'>()
  private readonly log: AgentLogger
  private readonly metrics: AgentMetrics
  private readonly margin: bigint

  constructor(private readonly o: ChallengeResponderOptions) {
    this.log = o.logger ?? silentAgentLogger
    this.metrics = o.metrics ?? noopMetrics
    this.margin = o.marginBlocks ?? 2n
  }

  async step(): Promise<ChallengeStepResult> {
    const {port, signal} = this.o
    const head = await raceAbort(this.o.head(), signal)
    this.window ??= await raceAbort(port.answerWindowBlocks(), signal)
    const window = this.window
    const oldest = head > window + this.margin ? head - window - this.margin : 0n
    const stored = this.o.cursor?.read()
    const from = stored !== undefined && stored > oldest ? stored : oldest
    const seen = await raceAbort(port.challengesSince(from), signal)

    const result: ChallengeStepResult = {head, open: [], answered: [], failed: [], unanswerable: []}
    for (const c of seen) {
      if (c.status !== 'open') {
        this.told.delete(c.challengeId)
        continue
      }
      const fields = {challengeId: c.challengeId, deviceId: c.deviceId, epoch: c.epoch.toString(), deadline: c.deadline.toString()}
      if (!this.told.has(c.challengeId)) {
        this.told.set(c.challengeId, 'seen')
        this.log.warn(fields, `challenge ${short(c.challengeId)} against device ${short(c.deviceId)} for epoch ${c.epoch}: answer by block ${c.deadline}`)
      }
      // the answer lands in a later block than the head; the contract accepts it up to the deadline
      if (c.deadline <= head) {
        result.open.push(c)
        if (this.told.get(c.challengeId) !== 'expired') {
          this.told.set(c.challengeId, 'expired')
          this.metrics.challenge('unanswerable')
          this.log.error(fields, `challenge ${short(c.challengeId)} was not answered by block ${c.deadline}: the host can be slashed`)
        }
        continue
      }
      if (await this.answer(c, fields)) result.answered.push(c.challengeId)
      else {
        result.open.push(c)
        ;(this.told.get(c.challengeId) === 'unanswerable' ? result.unanswerable : result.failed).push(c.challengeId)
      }
    }
    this.metrics.challengesOpen(result.open.length)
    // next time: from the oldest challenge still open (its opening block is deadline − window), else just behind the head
    let next = head + 1n > this.margin ? head + 1n - this.margin : 0n
    for (const c of result.open) if (c.deadline - window < next) next = c.deadline - window
    this.o.cursor?.write(next)
    return result
  }

  /** true once answered on chain; false when no answer is kept here or sending it failed (retried next step). */
  private async answer(c: HostChallenge, fields: Record<string, string>): Promise<boolean> {
    const {port, signal} = this.o
    try {
      const kept = await raceAbort(port.keptAnswer(c), signal)
      if (!kept) {
        if (this.told.get(c.challengeId) !== 'unanswerable') {
          this.told.set(c.challengeId, 'unanswerable')
          this.metrics.challenge('unanswerable')
          this.log.error(
            fields,
            `challenge ${short(c.challengeId)}: no kept evidence of device ${short(c.deviceId)} for epoch ${c.epoch} matches the committed digest; unanswerable, the host is slashed after block ${c.deadline}`,
          )
        }
        return false
      }
      const sent = await raceAbort(port.sendAnswer(c, kept), signal)
      this.told.delete(c.challengeId)
      this.metrics.challenge('answered')
      this.log.info(
        {...fields, tx: sent.txHash, block: sent.blockNumber.toString()},
        `challenge ${short(c.challengeId)} answered in block ${sent.blockNumber} (deadline ${c.deadline})`,
      )
      return true
    } catch (error) {
      if (isAborted(error)) throw error
      this.metrics.challenge('failed')
      this.log.error(
        {...fields, err: errorText(error)},
        `answering challenge ${short(c.challengeId)} failed, retrying next epoch (deadline block ${c.deadline}): ${errorText(error)}`,
      )
      return false
    }
  }
}
