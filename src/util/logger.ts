import {pino, type Logger, type LevelWithSilent} from 'pino'

export type {Logger}

/** Keys whose values never reach a log line, at any depth we log. */
export const REDACTED_KEYS = ['privateKey', 'password', 'passphrase', 'mnemonic', 'secret', 'keystore', 'seed']

const redactPaths = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`])

/**
 * JSON lines on stderr when not a TTY (journald keeps them structured); a readable line on a TTY.
 * stdout stays free for command results and --json.
 */
export async function createLogger(level: LevelWithSilent, options: {pretty?: boolean} = {}): Promise<Logger> {
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY)
  const base = {level, base: undefined, redact: {paths: redactPaths, censor: '[redacted]'}}
  if (!pretty) return pino(base, pino.destination({fd: 2, sync: true}))
  const {default: prettyStream} = await import('pino-pretty')
  return pino(base, prettyStream({destination: 2, sync: true, colorize: true, ignore: 'pid,hostname'}))
}

/** A logger that drops everything, for library calls made without one. */
export const silentLogger: Logger = pino({level: 'silent'})
