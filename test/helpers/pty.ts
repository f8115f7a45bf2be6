import {spawn} from 'node:child_process'

import {BIN, makeHome, type Home} from './cli.js'

/**
 * Runs `bin/run.js` on a real pseudo-terminal: util-linux `script` allocates it, so stdin, stdout and
 * stderr are all the same tty, as in a miner's shell. `script` copies what the terminal shows to its
 * own stdout; `screen()` replays those bytes to the lines a person would see at the end.
 */
export interface PtyResult {
  code: number | null
  /** Everything written to the terminal, escape sequences included. */
  raw: string
  /** The terminal's final lines, without colour (spinner frames overwritten as on a real screen). */
  screen(): string[]
}

export interface PtyOptions {
  home?: Home
  env?: Record<string, string | undefined>
  /** Terminal width (default 200: no line wraps). 0 leaves the pty without a size. */
  columns?: number
  timeoutMs?: number
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export function runCliInPty(args: string[], options: PtyOptions = {}): Promise<PtyResult> {
  const home = options.home ?? makeHome()
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C.UTF-8',
    TERM: 'xterm-256color',
    ...home.env,
    ...options.env,
  }
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
  const columns = options.columns ?? 200
  const size = columns > 0 ? `stty cols ${columns} rows 60; ` : ''
  const command = `${size}exec ${[process.execPath, BIN, ...args].map(quote).join(' ')}`
  return new Promise((resolve, reject) => {
    // -q: no banner, -f: flush at once, -e: exit with the command's status; the log file is not needed
    const child = spawn('script', ['-qfec', command, '/dev/null'], {env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe']})
    let raw = ''
    child.stdout.on('data', (c: Buffer) => (raw += c.toString('utf8')))
    child.stderr.on('data', (c: Buffer) => (raw += c.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, raw, screen: () => replayTerminal(raw)})
    })
  })
}

/**
 * A small terminal: enough of ECMA-48 for what ora and the CLI write (CR, LF, cursor column/up/down,
 * erase in line); colour (SGR) and private modes are dropped. Lines are not wrapped.
 */
export function replayTerminal(raw: string): string[] {
  const rows: string[][] = [[]]
  let row = 0
  let col = 0
  const line = () => (rows[row] ??= [])
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!
    if (ch === '\x1b') {
      const m = /^\x1b\[([?]?)([0-9;]*)([A-Za-z])/.exec(raw.slice(i, i + 32))
      if (!m) continue
      i += m[0].length - 1
      if (m[1] === '?') continue
      const n = m[2] === '' ? undefined : Number(m[2]!.split(';')[0])
      switch (m[3]) {
        case 'G':
          col = Math.max(0, (n ?? 1) - 1)
          break
        case 'A':
          row = Math.max(0, row - (n ?? 1))
          break
        case 'B':
          row += n ?? 1
          break
        case 'C':
          col += n ?? 1
          break
        case 'K':
          if ((n ?? 0) === 0) line().length = Math.min(line().length, col)
          else if (n === 2) rows[row] = []
          break
      }
      continue
    }
    if (ch === '\r') col = 0
    else if (ch === '\n') {
      row++
      col = 0
    } else {
      const l = line()
      while (l.length < col) l.push(' ')
      l[col++] = ch
    }
  }
  for (let r = 0; r < rows.length; r++) rows[r] ??= []
  const lines = rows.map((r) => r.join('').trimEnd())
  while (lines.length > 0 && lines.at(-1) === '') lines.pop()
  return lines
}
