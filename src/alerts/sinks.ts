import {readFileSync} from 'node:fs'

import type {AlertsConfig, Source} from '../config/index.js'
import {envVarName} from '../config/index.js'
import {ConfigError} from '../errors/index.js'
import {assertPrivateFile} from '../util/files.js'
import {runCommandHook} from './command-hook.js'
import type {AlertMessage} from './types.js'
import {postWebhook, type DeliveryResult, type WebhookOptions} from './webhook.js'

/** Where alerts go: the webhook and/or the local command hook (config keys alerts.webhook.*, alerts.command). */
export interface AlertSink {
  name: 'webhook' | 'command'
  deliver(message: AlertMessage): Promise<DeliveryResult>
}

export interface SinkContext {
  alerts: AlertsConfig
  /** Which layer set alerts.webhook.secret (a config file holding it must be 0600). */
  secretSource?: Source
  configFile: string
  /** Webhook tuning for tests (backoff); production uses the defaults. */
  webhook?: Pick<WebhookOptions, 'backoff' | 'timeoutMs' | 'clock'>
}

const SECRET_ENV = envVarName('alerts.webhook.secret')

/** The webhook secret: from UNET_ALERTS_WEBHOOK_SECRET, the 0600 config file, or a 0600 secretFile. */
function webhookSecret(c: SinkContext): string {
  const w = c.alerts.webhook ?? {}
  if (w.secret) {
    if (c.secretSource === 'file') assertPrivateFile(c.configFile)
    return w.secret
  }
  if (w.secretFile) {
    assertPrivateFile(w.secretFile)
    let text: string
    try {
      text = readFileSync(w.secretFile, 'utf8')
    } catch (error) {
      throw new ConfigError(`alerts.webhook.secretFile ${w.secretFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    const secret = text.trim()
    if (secret) return secret
    throw new ConfigError(`alerts.webhook.secretFile ${w.secretFile} is empty`)
  }
  throw new ConfigError('alerts.webhook.url is set but no webhook secret is: alerts are always signed', {
    hint: `set ${SECRET_ENV}, or alerts.webhook.secretFile (a 0600 file), or pipe it to \`unet config set alerts.webhook.secret\``,
  })
}

/** The configured sinks; none configured is an empty list (the check still evaluates and records). */
export function alertSinks(c: SinkContext): AlertSink[] {
  const sinks: AlertSink[] = []
  const url = c.alerts.webhook?.url
  if (url) {
    const secret = webhookSecret(c)
    sinks.push({name: 'webhook', deliver: (m) => postWebhook(JSON.stringify(m), {url, secret, retries: c.alerts.webhook?.retries, ...c.webhook})})
  }
  const argv = c.alerts.command
  if (argv && argv.length > 0)
    sinks.push({
      name: 'command',
      deliver: (m) =>
        runCommandHook(JSON.stringify(m), {
          argv,
          env: {UNET_ALERT_EVENT: m.event, UNET_ALERT_RULE: m.rule},
          withhold: [SECRET_ENV],
        }),
    })
  return sinks
}
