import {readFileSync} from 'node:fs'

import {InputError} from '../errors/index.js'

/** The bytes of the file a flag names; one that cannot be read is an InputError naming the flag (exit 19). */
export function readFlagFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path)
  } catch {
    throw new InputError(`cannot read ${flag} ${path}`)
  }
}
