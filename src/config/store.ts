import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

import {ConfigError} from '../errors/index.js'
import {writeFileAtomic} from '../util/files.js'
import {validateFileContent} from './validate.js'

export type ConfigFileContent = Record<string, unknown>

export function configFilePath(configDir: string): string {
  return join(configDir, 'config.json')
}

/** Reads and validates the user's config file; a missing file is an empty config. */
export function readConfigFile(file: string): ConfigFileContent {
  if (!existsSync(file)) return {}
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  let content: unknown
  try {
    content = text.trim() === '' ? {} : JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message.split('\n')[0]})`, {details: {file}})
  }
  validateFileContent(file, content)
  return content as ConfigFileContent
}

/** Sets (value !== undefined) or removes a dotted key, validating the result before writing it. */
export function updateConfigFile(file: string, key: string, value: unknown): ConfigFileContent {
  const content = structuredClone(readConfigFile(file))
  const parts = key.split('.')
  let node: Record<string, unknown> = content
  for (const part of parts.slice(0, -1)) {
    const next = node[part]
    if (next === undefined || next === null || typeof next !== 'object') node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  const leaf = parts.at(-1)!
  if (value === undefined) delete node[leaf]
  else node[leaf] = value
  validateFileContent(file, content)
  writeFileAtomic(file, JSON.stringify(content, null, 2) + '\n', 0o600)
  return content
}
