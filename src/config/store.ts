import {chmodSync, copyFileSync, existsSync, readFileSync, renameSync} from 'node:fs'
import {join} from 'node:path'

import {ConfigError} from '../errors/index.js'
import {writeFileAtomic} from '../util/files.js'
import {parseJsonText} from '../util/json-text.js'
import {findProblems, validateFileContent, type ConfigProblem} from './validate.js'

export type ConfigFileContent = Record<string, unknown>

export function configFilePath(configDir: string): string {
  return join(configDir, 'config.json')
}

/** How to get out of a config file that cannot be parsed at all. */
const RESET_HINT = 'fix it in an editor, or `unet config reset` to start over (the broken file is kept as a backup)'

/** The file as it is on disk: absent, not JSON (the syntax error), or parsed (maybe with a problem). */
type FileState = {kind: 'absent'} | {kind: 'unparsable'; error: ConfigError} | {kind: 'parsed'; content: unknown; problems: ConfigProblem[]}

function inspectConfigFile(file: string): FileState {
  if (!existsSync(file)) return {kind: 'absent'}
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {hint: `check the permissions of ${file}`})
  }
  if (text.trim() === '') return {kind: 'parsed', content: {}, problems: []}
  const parsed = parseJsonText(text)
  if ('problem' in parsed) {
    const {line, column, reason} = parsed.problem
    return {
      kind: 'unparsable',
      error: new ConfigError(`${file}:${line}:${column}: not valid JSON (${reason})`, {hint: RESET_HINT, details: {file, line, column}}),
    }
  }
  return {kind: 'parsed', content: parsed.value, problems: findProblems(parsed.value)}
}

/** Reads and validates the user's config file; a missing file is an empty config. */
export function readConfigFile(file: string): ConfigFileContent {
  const state = inspectConfigFile(file)
  if (state.kind === 'absent') return {}
  if (state.kind === 'unparsable') throw state.error
  validateFileContent(file, state.content)
  return state.content as ConfigFileContent
}

export interface ConfigChange {
  content: ConfigFileContent
  /** Where the previous file went when it was invalid (it is replaced, never lost). */
  backup?: string
  /** A problem the file had before and still has (the change fixed another one, or none). */
  remaining?: ConfigProblem
}

/**
 * Sets (value !== undefined) or removes a dotted key. The result is validated as a whole (every key,
 * and the network it selects) before anything is written: a change that brings in a problem is
 * refused and the file stays as it was. On a file that is invalid today a change that brings in no new
 * problem is written (one key at a time is how a bad config is repaired), the old file backed up.
 */
export function updateConfigFile(file: string, key: string, value: unknown): ConfigChange {
  const state = inspectConfigFile(file)
  if (state.kind === 'unparsable') throw state.error
  const before = state.kind === 'parsed' && isObject(state.content) ? state.content : {}
  const content = structuredClone(before)
  const parts = key.split('.')
  let node: Record<string, unknown> = content
  for (const part of parts.slice(0, -1)) {
    if (!isObject(node[part])) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  const leaf = parts.at(-1)!
  if (value === undefined) delete node[leaf]
  else node[leaf] = value
  pruneEmpty(content)
  const had = state.kind === 'parsed' ? state.problems : []
  const after = findProblems(content)
  const introduced = after.find((p) => !had.some((h) => h.message === p.message))
  if (introduced) throw new ConfigError(`not written: ${introduced.message}`, {hint: introduced.hint, details: {file, key: introduced.key}})
  const backup = had.length > 0 ? backupConfigFile(file, 'copy') : undefined
  writeFileAtomic(file, JSON.stringify(content, null, 2) + '\n', 0o600)
  return {content, backup, remaining: after[0]}
}

/** Moves the config file aside (kept as a timestamped backup, 0600 like the file): back to the built-in defaults. */
export function resetConfigFile(file: string): {backup?: string} {
  return existsSync(file) ? {backup: backupConfigFile(file, 'move')} : {}
}

function backupConfigFile(file: string, how: 'copy' | 'move'): string {
  const backup = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, '-')}`
  if (how === 'move') renameSync(file, backup)
  else copyFileSync(file, backup)
  chmodSync(backup, 0o600)
  return backup
}

/** An `unset` leaves no empty `{}` behind (an empty networks.<name> would define a network of nothing). */
function pruneEmpty(node: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(node))
    if (isObject(v)) {
      pruneEmpty(v)
      if (Object.keys(v).length === 0) delete node[k]
    }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}
