import {readFileSync} from 'node:fs'

import type {FleetSelectors} from '../insight/fleet.js'
import {InputError, UsageError} from '../errors/index.js'
import {parseAddress} from '../keys/address.js'

export interface FleetSelectorInput {
  operator?: readonly string[]
  payout?: readonly string[]
  /** A list of addresses, one a line; `#` starts a comment, blank lines are skipped. */
  file?: string
}

/**
 * --operator / --payout / --file into lower-case, de-duplicated addresses (the dashboard takes the same
 * flags). At least one address is needed: a fleet view of nobody is a usage error, not an empty table.
 */
export function parseFleetSelectors(input: FleetSelectorInput): FleetSelectors {
  const operators = unique((input.operator ?? []).map((a) => parseAddress(a, '--operator')))
  const payouts = unique((input.payout ?? []).map((a) => parseAddress(a, '--payout')))
  const addresses = input.file === undefined ? [] : unique(parseAddressList(readList(input.file), input.file))
  if (operators.length + payouts.length + addresses.length === 0)
    throw new UsageError(
      input.file === undefined ? 'no hosts selected: give --operator, --payout or --file' : `no hosts selected: ${input.file} lists no address`,
      {hint: 'e.g. `unet fleet status --payout 0xPAYOUT --operator 0xOPERATOR`, or --file hosts.txt with one address a line'},
    )
  return {operators, payouts, addresses}
}

/** The addresses of a list's text: one a line, `#` to the end of a line is a comment; `where` names it in errors. */
export function parseAddressList(text: string, where: string): string[] {
  const out: string[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim()
    if (line !== '') out.push(parseAddress(line, `${where}:${i + 1}`))
  })
  return out
}

function readList(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    throw new InputError(`cannot read --file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, {
      hint: 'a text file with one operator or payout address a line',
    })
  }
}

function unique(addresses: string[]): string[] {
  return [...new Set(addresses.map((a) => a.toLowerCase()))]
}
