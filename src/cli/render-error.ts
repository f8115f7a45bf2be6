import {ExitCode, UnetError} from '../errors/index.js'
import {closest} from '../util/did-you-mean.js'

export interface DescribedError {
  message: string
  hint?: string
  exitCode: number
  json: Record<string, unknown>
}

/** Where the error happened, so a usage error can name the command and guess the flag meant. */
export interface ErrorContext {
  /** The command's id with spaces ("config set"); absent outside a command. */
  command?: string
  /** The command's flag names, without dashes. */
  flags?: string[]
}

/** Maps any thrown value to what the user sees: one line, a hint, a documented exit code. */
export function describeError(err: unknown, context: ErrorContext = {}): DescribedError {
  if (err instanceof UnetError) {
    return {message: err.message, hint: err.hint, exitCode: err.exitCode, json: err.toJSON()}
  }
  const e = err as Error & {oclif?: {exit?: number}; flags?: string[]}
  // oclif's own parse/usage errors (unknown flag, missing argument, bad flag value) carry exit 2.
  if (e?.oclif !== undefined) return described(ExitCode.USAGE, 'USAGE', usageMessage(e.message ?? ''), usageHint(e, context))
  const message = `unexpected error: ${firstLine(e?.message ?? String(err))}`
  return described(ExitCode.UNEXPECTED, 'UNEXPECTED', message, 're-run with --debug for the stack trace, and report it if it persists')
}

/**
 * The one printer of errors, for BaseCommand.catch and for failures outside any command (bin/run.js):
 * `{"error": …}` on stdout with --json, else "Error: …" and "Hint: …" on stderr; the stack only when asked.
 */
export function printError(err: unknown, options: {json: boolean; stack: boolean; context?: ErrorContext}): number {
  const d = describeError(err, options.context)
  if (options.json) process.stdout.write(JSON.stringify({error: d.json}, null, 2) + '\n')
  else process.stderr.write(`Error: ${d.message}\n${d.hint ? `Hint: ${d.hint}\n` : ''}`)
  if (options.stack && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n')
  return d.exitCode
}

function described(exitCode: number, code: string, message: string, hint: string): DescribedError {
  return {message, hint, exitCode, json: {code, exitCode, message, hint}}
}

/** oclif's multi-line parse messages as one line that says what was expected and what came. */
function usageMessage(text: string): string {
  const lines = text
    .split('\n')
    .map((s) => s.trim())
    .filter((l) => l && !/^See more help with/.test(l) && !/^The following errors? occurred:$/.test(l))
  const parsing = /^Parsing (--[\w-]+)$/.exec(lines[0] ?? '')
  if (parsing && lines[1]) return `${parsing[1]} ${expectation(lines[1])}`
  const option = /^Expected (--[\w-]+)=(.*) to be one of: (.*)$/.exec(lines[0] ?? '')
  if (option) return `${option[1]} must be one of ${option[3]}, got ${option[2]}`
  const missing = /^Missing \d+ required args?:$/.exec(lines[0] ?? '')
  if (missing)
    return `missing argument: ${lines
      .slice(1)
      .map((l) => l.replace(/\s{2,}/, ' (') + ')')
      .join(', ')}`
  const unknown = /^Nonexistent flags?: (.*)$/.exec(lines[0] ?? '')
  if (unknown) return `unknown flag ${unknown[1]}`
  return lines.join('; ') || 'bad command line'
}

function expectation(detail: string): string {
  const atLeast = /^Expected an integer greater than or equal to (-?\d+) but received: (.*)$/.exec(detail)
  if (atLeast) return `must be an integer ≥ ${atLeast[1]}, got ${atLeast[2]}`
  const atMost = /^Expected an integer less than or equal to (-?\d+) but received: (.*)$/.exec(detail)
  if (atMost) return `must be an integer ≤ ${atMost[1]}, got ${atMost[2]}`
  const integer = /^Expected an integer but received: (.*)$/.exec(detail)
  if (integer) return `must be an integer, got ${integer[1]}`
  return `is invalid: ${detail}`
}

function usageHint(e: {flags?: string[]}, context: ErrorContext): string {
  const help = context.command ? `\`unet ${context.command} --help\`` : '`unet --help`'
  const typo = e.flags?.[0]?.replace(/^-+/, '').split('=')[0]
  const guess = typo && context.flags ? closest(typo, context.flags) : undefined
  return guess ? `did you mean --${guess}? ${help} lists the flags` : `${help} shows the usage`
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((s) => s.trim())
      .find(Boolean) ?? 'unknown error'
  )
}
