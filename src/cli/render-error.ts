import {ExitCode, UnetError} from '../errors/index.js'

export interface DescribedError {
  message: string
  hint?: string
  exitCode: number
  json: Record<string, unknown>
}

/** Maps any thrown value to what the user sees: one line, a hint, a documented exit code. */
export function describeError(err: unknown): DescribedError {
  if (err instanceof UnetError) {
    return {message: err.message, hint: err.hint, exitCode: err.exitCode, json: err.toJSON()}
  }
  const e = err as Error & {oclif?: {exit?: number}; code?: string}
  // oclif's own parse/usage errors (unknown flag, missing argument) carry exit 2.
  if (e?.oclif !== undefined) {
    const message = firstLine(e.message)
    const hint = 'run the command with --help to see its usage'
    return {message, hint, exitCode: ExitCode.USAGE, json: {code: 'USAGE', exitCode: ExitCode.USAGE, message, hint}}
  }
  const message = `unexpected error: ${firstLine(e?.message ?? String(err))}`
  const hint = 're-run with --debug for the stack trace, and report it if it persists'
  return {message, hint, exitCode: ExitCode.UNEXPECTED, json: {code: 'UNEXPECTED', exitCode: ExitCode.UNEXPECTED, message, hint}}
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((s) => s.trim())
      .find(Boolean) ?? 'unknown error'
  )
}
