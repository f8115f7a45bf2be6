import {ConfigError} from '../errors/index.js'
import {closest} from '../util/did-you-mean.js'
import {BUILTIN_PROFILES, NETWORK_KEYS, TOP_LEVEL_KEYS, type KeyRule} from './schema.js'

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
  if (rule.enum && !rule.enum.includes(value)) return `must be one of ${rule.enum.join(', ')}, got ${JSON.stringify(value)}`
  if (rule.pattern && !rule.pattern.test(value))
    return rule.expected ? `must be ${rule.expected}, got ${JSON.stringify(value)}` : `is malformed (${JSON.stringify(value)})`
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

/** What is wrong with a config (the first problem found), and the command that gets out of it. */
export interface ConfigProblem {
  key?: string
  message: string
  hint: string
}

/** Every key known, dotted, for did-you-mean: the top-level ones and those of each named network. */
export function knownKeys(networks: Iterable<string> = Object.keys(BUILTIN_PROFILES)): string[] {
  return [...Object.keys(TOP_LEVEL_KEYS), ...[...networks].flatMap((n) => Object.keys(NETWORK_KEYS).map((k) => `networks.${n}.${k}`))]
}

/** "unknown config key" with the key most likely meant, then `fix`. */
export function unknownKeyProblem(key: string, fix = '`unet config list` shows the keys'): ConfigProblem {
  const network = /^networks\.([a-z][a-z0-9-]*)\./.exec(key)?.[1]
  const guess = closest(key, knownKeys(network ? [network] : undefined))
  return {key, message: `unknown config key "${key}"`, hint: guess ? `did you mean ${guess}? ${fix}` : fix}
}

/**
 * The whole config checked as it would be used: every key known and valid, and the network it selects
 * defined (built in, or under networks.<name>). Empty when it is fine.
 */
export function findProblems(content: unknown): ConfigProblem[] {
  if (content === null || typeof content !== 'object' || Array.isArray(content))
    return [{message: 'the top level must be a JSON object', hint: '`unet config reset` starts over (the file is kept as a backup)'}]
  const problems: ConfigProblem[] = []
  for (const [key, value] of flatten(content as Record<string, unknown>)) {
    const rule = ruleFor(key)
    const reason = rule && checkValue(rule, value)
    if (!rule) problems.push(unknownKeyProblem(key, `\`unet config unset ${key}\` removes it`))
    else if (reason) problems.push({key, message: `key "${key}" ${reason}`, hint: setHint(key, rule)})
  }
  const {network, networks} = content as {network?: unknown; networks?: Record<string, unknown>}
  if (typeof network === 'string' && !BUILTIN_PROFILES[network] && Object.keys(networks?.[network] ?? {}).length === 0)
    problems.push(unknownNetworkProblem(network))
  return problems
}

/** A network name that is neither built in nor defined. */
export function unknownNetworkProblem(network: string): ConfigProblem {
  const guess = closest(network, Object.keys(BUILTIN_PROFILES))
  return {
    key: 'network',
    message: `network "${network}" is neither built in (${Object.keys(BUILTIN_PROFILES).join(', ')}) nor defined under networks.${network}`,
    hint: guess
      ? `did you mean ${guess}? \`unet config set network ${guess}\``
      : `\`unet config set network devnet\`, or define it first: \`unet config set networks.${network}.chainId <id>\``,
  }
}

/** What `unet config list|get` show: a secret's value never reaches the terminal or --json, only that it is set. */
export function displayValue(rule: KeyRule, value: unknown): unknown {
  if (value === undefined || value === null) return null
  return rule.secret ? '[set, hidden]' : value
}

/** The command that sets a key right, with a valid example when the schema has one. */
export function setHint(key: string, rule: KeyRule): string {
  if (rule.secret) return `pipe it in: \`unet config set ${key} < file\`, or \`unet config unset ${key}\``
  const example = rule.example ?? rule.enum?.[0]
  return example
    ? `for example \`unet config set ${key} ${example}\`, or \`unet config unset ${key}\``
    : `\`unet config set ${key} <value>\` or \`unet config unset ${key}\``
}

/** Validates a whole config file's content; the first problem names the file and the key. */
export function validateFileContent(file: string, content: unknown): void {
  const problem = findProblems(content)[0]
  if (problem) throw new ConfigError(`${file}: ${problem.message}`, {hint: problem.hint, details: {file, key: problem.key}})
}
