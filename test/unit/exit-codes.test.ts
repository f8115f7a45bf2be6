import {readFileSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

import {describe, expect, it} from 'vitest'

import {ExitCode} from '../../src/errors/index.js'

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

describe('exit codes', () => {
  const doc = readFileSync(new URL('../../docs/exit-codes.md', import.meta.url), 'utf8')
  const documented = new Map([...doc.matchAll(/^\|\s*(\d+)\s*\|\s*([A-Z_]+)\s*\|/gm)].map((m) => [m[2]!, Number(m[1])]))

  it('every code in the table is documented with the same number', () => {
    for (const [name, value] of Object.entries(ExitCode)) expect(documented.get(name), name).toBe(value)
  })

  it('the docs list no code the table lacks, and numbers are unique', () => {
    for (const [name, value] of documented) expect((ExitCode as Record<string, number>)[name], name).toBe(value)
    expect(new Set(Object.values(ExitCode)).size).toBe(Object.values(ExitCode).length)
  })

  it('every ExitCode.X used in src exists in the table', () => {
    const used = new Set(
      sourceFiles(new URL('../../src', import.meta.url).pathname).flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/ExitCode\.([A-Z_]+)/g)].map((m) => m[1]!),
      ),
    )
    for (const name of used) expect(Object.keys(ExitCode), name).toContain(name)
  })
})
