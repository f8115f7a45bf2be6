/**
 * Colour for humans, and only for them: on a terminal, never with NO_COLOR (https://no-color.org),
 * TERM=dumb, --json, or when the stream is a pipe or a file (tests, journald, `| grep`).
 */
export interface Style {
  readonly color: boolean
  /** `text` in the colour of a state word (credited, missed, pending, online, offline…); unknown states stay plain. */
  state(state: string, text?: string): string
  /** The "Warning:" / "Notice:" label of a stderr line. */
  label(kind: 'warning' | 'notice', text: string): string
  /** Secondary detail (tx hashes, addresses). */
  dim(text: string): string
}

type Tone = 'green' | 'red' | 'yellow'

/** The state words the CLI prints, by how a miner should read them. */
const TONES: Record<string, Tone> = {
  credited: 'green',
  confirmed: 'green',
  online: 'green',
  approved: 'green',
  pass: 'green',
  missed: 'red',
  failed: 'red',
  offline: 'red',
  rejected: 'red',
  revoked: 'red',
  fail: 'red',
  pending: 'yellow',
  skipped: 'yellow',
  warn: 'yellow',
}

const SGR: Record<Tone | 'dim' | 'bold', [number, number]> = {green: [32, 39], red: [31, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22]}

export interface TerminalLike {
  isTTY?: boolean
}

/** Whether `stream` gets colour: a terminal, not --json, no NO_COLOR (any non-empty value), TERM not dumb. */
export function colorEnabled(stream: TerminalLike, json: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (json || !stream.isTTY) return false
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return env.TERM !== 'dumb'
}

/** The styling for one output stream (stdout and stderr decide apart: either may be piped). */
export function styleFor(stream: TerminalLike, json: boolean, env: NodeJS.ProcessEnv = process.env): Style {
  const color = colorEnabled(stream, json, env)
  const paint = (code: keyof typeof SGR, text: string) => (color ? `\x1b[${SGR[code][0]}m${text}\x1b[${SGR[code][1]}m` : text)
  return {
    color,
    state: (state, text = state) => {
      const tone = TONES[state]
      return tone ? paint(tone, text) : text
    },
    label: (kind, text) => paint(kind === 'warning' ? 'yellow' : 'bold', text),
    dim: (text) => paint('dim', text),
  }
}
