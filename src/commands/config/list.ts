import {BaseCommand} from '../../cli/base-command.js'
import {NETWORK_KEYS, TOP_LEVEL_KEYS, displayValue, envVarName, getPath} from '../../config/index.js'

export default class ConfigList extends BaseCommand<typeof ConfigList> {
  static override summary = 'show every setting with its value and where it came from'

  async run() {
    const {config, profile, sources, paths} = this.resolved
    const settings = Object.entries(TOP_LEVEL_KEYS).map(([key, rule]) => ({
      key,
      value: displayValue(rule, getPath(config, key)),
      source: sources[key] ?? 'default',
      env: envVarName(key),
      description: rule.description,
    }))
    const profileKeys = Object.keys(NETWORK_KEYS).map((key) => ({key: `networks.${profile.name}.${key}`, value: getPath(profile, key) ?? null}))
    for (const s of settings) this.log(`${s.key.padEnd(16)} ${format(s.value).padEnd(40)} (${s.source})`)
    this.log(`\nnetwork profile "${profile.name}":`)
    for (const p of profileKeys) this.log(`  ${p.key.replace(`networks.${profile.name}.`, '').padEnd(20)} ${format(p.value)}`)
    this.log(`\nconfig file: ${paths.configFile}`)
    return {settings, profile, paths}
  }
}

function format(value: unknown): string {
  if (value === null || value === undefined) return '-'
  return typeof value === 'string' ? value : JSON.stringify(value)
}
