import type {Logger, LevelWithSilent} from 'pino'

export type {Logger}

/** Keys whose values never reach a log line, at any depth we log. */
const REDACTED_KEYS = ['privateKey', 'secretKey', 'password', 'passphrase', 'mnemonic', 'secret', 'keystore', 'seed']

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`])

export interface LoggerOptions {
  pretty?: boolean
  /** Colour in the readable lines (default: on; the command passes off for NO_COLOR and --json). */
  color?: boolean
  /** Where lines go (default stderr, fd 2): stdout stays free for results and --json. */
  destination?: number | NodeJS.WritableStream
}

/**
 * JSON lines when not a TTY (journald keeps them structured); one readable line per event on a TTY.
 * pino is loaded here, lazily, so commands that never log do not pay for it at start-up.
 */
export async function createLogger(level: LevelWithSilent, options: LoggerOptions = {}): Promise<Logger> {
  const {pino} = await import('pino')
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY)
  const base = {level, base: undefined, redact: {paths: redactPaths, censor: '[redacted]'}}
  const destination = options.destination ?? 2
  if (!pretty) return pino(base, typeof destination === 'number' ? pino.destination({fd: destination, sync: true}) : destination)
  const {default: prettyStream} = await import('pino-pretty')
  const colorize = typeof destination === 'number' && (options.color ?? true)
  return pino(base, prettyStream({destination, sync: true, colorize, singleLine: true, ignore: 'pid,hostname'}))
}
