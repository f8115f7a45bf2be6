/**
 * What an alert is: a condition a rule found open (keyed, so one open condition is one alert), and
 * the message sinks receive when it opens ("firing"), when it clears ("resolved"), or on demand ("test").
 */

export {ALERT_RULE_NAMES as ALERT_RULES} from '../config/schema.js'
import type {ALERT_RULE_NAMES} from '../config/schema.js'
export type AlertRule = (typeof ALERT_RULE_NAMES)[number]

export type AlertSeverity = 'warning' | 'critical'

export type AlertDetails = Record<string, string | number | boolean | null>

export interface AlertCondition {
  /** Stable identity of the condition: "<rule>:<subject>" (the host, device, registration or challenge id). */
  key: string
  rule: AlertRule
  severity: AlertSeverity
  summary: string
  details: AlertDetails
}

export type AlertEvent = 'firing' | 'resolved' | 'test'

/** The JSON body a webhook receives and a command hook reads on stdin (docs/alerts.md). */
export interface AlertMessage {
  version: 1
  /** Same for the firing and the resolved message of one occurrence: receivers can pair and dedupe them. */
  id: string
  event: AlertEvent
  rule: AlertRule | 'test'
  key: string
  severity: AlertSeverity
  summary: string
  details: AlertDetails
  network: string
  operator: string | null
  /** ISO time the condition was first seen open. */
  since: string
  /** ISO time this message was made (receivers may refuse old ones). */
  at: string
}
