import {ConfigError} from '../errors/index.js'
import {NETWORK_KEYS, TOP_LEVEL_KEYS, type KeyRule} from './schema.js'

/** Finds the rule for a dotted key, top-level or `networks.<name>.<key>`. */
export function ruleFor(key: string): KeyRule | undefined {
  const network = /^networks\.([a-z][a-z0-9-]*)\.(.+)$/.exec(key)
  if (network) return NETWORK_KEYS[network[2]!]
  return TOP_LEVEL_KEYS[key]
}

/** Checks one value against its rule; returns a reason, or undefined when it is fine. */
export function checkValue(rule: KeyRule, value: unknown): string | undefined {
  switch (rule.type) {
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'must be true or false'
    case 'integer':
      return checkInteger(rule, value)
    case 'string':
      return checkString(rule, value)
    case 'string[]':
      if (!Array.isArray(value)) return 'must be a list of strings'
      return value.map((v) => checkString(rule, v)).find(Boolean)
    case 'integer[]':
      if (!Array.isArray(value)) return 'must be a list of integers'
      return value.map((v) => checkInteger(rule, v)).find(Boolean)
  }
}

function checkInteger(rule: KeyRule, value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) return 'must be an integer'
  if (rule.min !== undefined && value < rule.min) return `must be at least ${rule.min}`
  if (rule.max !== undefined && value > rule.max) return `must be at most ${rule.max}`
  return undefined
}

function checkString(rule: KeyRule, value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string'
  if (rule.enum && !rule.enum.includes(value)) return `must be one of ${rule.enum.join(', ')}`
  if (rule.pattern && !rule.pattern.test(value)) return `is malformed (${JSON.stringify(value)})`
  return undefined
}

/** Parses a command-line or env string into the rule's type. */
export function parseValue(rule: KeyRule, raw: string): unknown {
  const text = raw.trim()
  switch (rule.type) {
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return true
      if (/^(false|0|no)$/i.test(text)) return false
      return text
    case 'integer':
      return /^-?\d+$/.test(text) ? Number(text) : text
    case 'string':
      return text
    case 'string[]':
      return text.startsWith('[')
        ? safeJson(text)
        : text
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
    case 'integer[]':
      return text.startsWith('[') ? safeJson(text) : text.split(',').map((s) => (/^\d+$/.test(s.trim()) ? Number(s) : s))
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Flattens a nested object into dotted keys, leaves being scalars or arrays. */
export function flatten(obj: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = []
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) out.push(...flatten(v as Record<string, unknown>, key))
    else out.push([key, v])
  }
  return out
}

/** Validates a whole config file's content; the first problem names the file and the key. */
export function validateFileContent(file: string, content: unknown): void {
  if (content === null || typeof content !== 'object' || Array.isArray(content)) throw new ConfigError(`${file}: the top level must be a JSON object`)
  for (const [key, value] of flatten(content as Record<string, unknown>)) {
    const rule = ruleFor(key)
    if (!rule) throw new ConfigError(`${file}: unknown key "${key}"`, {details: {file, key}})
    const reason = checkValue(rule, value)
    if (reason) throw new ConfigError(`${file}: key "${key}" ${reason}`, {details: {file, key}})
  }
}

/** What `unet config list|get` show: a secret's value never reaches the terminal or --json, only that it is set. */
export function displayValue(rule: KeyRule, value: unknown): unknown {
  if (value === undefined || value === null) return null
  return rule.secret ? '[set, hidden]' : value
}
