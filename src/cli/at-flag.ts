import {Flags} from '@oclif/core'

import {InputError} from '../errors/index.js'

/** `--at`: the time certificate validity is checked at, for re-checking archived evidence. */
export const atFlag = Flags.string({description: 'check certificate validity at this ISO 8601 time instead of now (re-checking archived evidence)'})

/** Parses `--at`; anything but an ISO 8601 instant is an InputError. Undefined means now. */
export function parseAt(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined
  const at = new Date(value)
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(at.getTime()))
    throw new InputError(`--at ${value} is not an ISO 8601 time`, {hint: 'e.g. 2024-09-01T00:00:00Z'})
  return at
}
