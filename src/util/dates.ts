import {InputError} from '../errors/index.js'

/**
 * A --since / --until value as unix seconds: an ISO date (2026-12-01, midnight UTC) or an ISO date
 * and time with a zone (2026-12-01T18:00:00Z). `endOfDay` makes a bare date mean the end of that
 * day, so `--until 2026-12-01` includes the whole day.
 */
export function parseDateBound(value: string, flag: string, endOfDay = false): number {
  const bare = /^\d{4}-\d{2}-\d{2}$/.test(value)
  const timed = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
  const ms = bare || timed ? Date.parse(bare ? `${value}T00:00:00Z` : value) : Number.NaN
  // Date.parse rolls 2026-02-30 over into March: a date that does not print back as given is refused
  if (!Number.isFinite(ms) || (bare && new Date(ms).toISOString().slice(0, 10) !== value))
    throw new InputError(`${flag} is not a date: ${JSON.stringify(value)}`, {hint: `e.g. ${flag} 2026-12-01 or ${flag} 2026-12-01T18:00:00Z`})
  return Math.floor(ms / 1000) + (bare && endOfDay ? 86_400 : 0)
}
