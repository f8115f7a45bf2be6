/**
 * The house rules that lint cannot see: no import circle in src/, every import (static and dynamic
 * `import('...')` alike; eslint's no-restricted-imports sees only static ones) follows the layer table of
 * docs/architecture.md, and that table names exactly the folders under src/.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {describe, expect, it} from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SRC = join(ROOT, 'src')
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

/** file → the src files it imports (relative `.js` specifiers resolved to the `.ts` source). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  for (const file of tsFiles(SRC)) {
    const text = readFileSync(file, 'utf8')
    const targets = [...text.matchAll(SPECIFIER)].map((m) => resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts'))
    graph.set(file, [...new Set(targets)])
  }
  return graph
}

/** Every cycle found by a depth-first search, each as the files along it (first file repeated last). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next])
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of graph.keys()) if (!state.has(file)) visit(file)
  return found
}

/** The layer table of docs/architecture.md: src/ folder → the folders it may import. */
function documentedLayers(): Map<string, Set<string>> {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8')
  const start = doc.indexOf('## Layers')
  const table = doc.slice(start, doc.indexOf('\n## ', start + 1))
  const rows = [...table.matchAll(/^\|[^|]*\|\s*`src\/([a-z0-9-]+)\/[^|]*\|([^|]*)\|$/gm)]
  return new Map(
    rows.map((m) => [
      m[1]!,
      new Set(
        m[2]!
          .split(',')
          .map((l) => l.trim())
          .filter((l) => l && l !== '—'),
      ),
    ]),
  )
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0]!

describe('architecture', () => {
  it('has no import circle in src/', () => {
    const graph = importGraph()
    expect(graph.size).toBeGreaterThan(50)
    const listed = cycles(graph).map((c) => c.map((f) => relative(ROOT, f)).join(' → '))
    expect(listed).toEqual([])
  })

  it("names exactly src/'s folders in docs/architecture.md's layer table", () => {
    const folders = readdirSync(SRC)
      .filter((name) => statSync(join(SRC, name)).isDirectory())
      .sort()
    expect([...documentedLayers().keys()].sort()).toEqual(folders)
  })

  it('imports across layers only where the layer table allows', () => {
    const layers = documentedLayers()
    const wrong: string[] = []
    for (const [file, targets] of importGraph())
      for (const target of targets) {
        const [from, to] = [layerOf(file), layerOf(target)]
        if (from !== to && !layers.get(from)?.has(to)) wrong.push(`${relative(ROOT, file)} → ${relative(ROOT, target)}`)
      }
    expect(wrong).toEqual([])
  })
})
