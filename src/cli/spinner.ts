import type {Style} from './style.js'

/**
 * A command's progress as a few steps. On a terminal each step is an ora spinner that ends in one
 * "✔ result" line; elsewhere (pipes, tests, --json) there is no spinner and a step prints only its
 * result line, plain, so the output stays line-based. Result lines go to stdout (through `write`,
 * which is silent under --json); the spinner draws on stderr.
 */
export interface Steps {
  /** Begins a step (ends the one before it without a line). */
  start(text: string): void
  /** What the current step is doing now (a repeated text changes nothing). */
  update(text: string): void
  /** Ends the current step and prints its result line. */
  succeed(line: string): void
  /** A line of its own (the per-epoch lines), printed above a running spinner, which keeps spinning. */
  line(text: string): void
  /** Ends the current step as failed: ✖ on a terminal, nothing elsewhere (the error path says why). */
  fail(): void
  /** Ends the current step without a line. */
  stop(): void
}

export interface StepsOptions {
  /** Spinners at all (interactiveTerminal()). */
  interactive: boolean
  /** The styling of stdout. */
  style: Style
  /** Prints a line to stdout. */
  write: (line: string) => void
}

export interface TerminalStream {
  isTTY?: boolean
  columns?: number
}

/**
 * Spinners only where a human watches: stdout and stderr both terminals, not --json, TERM not dumb,
 * and a terminal with a width. A pseudo-terminal of 0 columns (`script` without a tty, some container
 * shells) would make ora count lines by dividing by 0 and clear lines forever.
 */
export function interactiveTerminal(stdout: TerminalStream, stderr: TerminalStream, json: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stdout.isTTY && stderr.isTTY) && !json && env.TERM !== 'dumb' && (stderr.columns ?? 0) > 0
}

/** ora is loaded only on a terminal, so pipes and --json never pay for it. */
export async function steps(options: StepsOptions): Promise<Steps> {
  const {write, style} = options
  if (!options.interactive) return {start() {}, update() {}, succeed: (line) => write(line), line: (text) => write(text), fail() {}, stop() {}}
  const {default: ora} = await import('ora')
  // isEnabled decided here (a terminal), not by ora's CI guess; no colour unless stdout has it
  const spinner = ora({stream: process.stderr, isEnabled: true, color: style.color ? 'cyan' : false, discardStdin: false})
  return {
    start: (text) => {
      spinner.start(text)
    },
    update: (text) => {
      if (spinner.text !== text) spinner.text = text
    },
    succeed: (line) => {
      spinner.stop()
      write(`${style.state('pass', '✔')} ${line}`)
    },
    // ora clears its frame before a foreign write and draws it again below it
    line: (text) => write(text),
    fail: () => {
      if (spinner.isSpinning) spinner.stopAndPersist({symbol: style.state('fail', '✖')})
    },
    stop: () => {
      spinner.stop()
    },
  }
}
