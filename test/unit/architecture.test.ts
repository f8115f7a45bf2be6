/**
 * The house rules: no import circle in src/, every import (static and dynamic `import('...')` alike;
 * eslint's no-restricted-imports sees only static ones) follows the layer table of docs/architecture.md,
 * eslint.config.js enforces every row of that table, and the table names exactly the folders under src/
 * (and only files that exist).
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

import {ESLint} from 'eslint'
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

const ARCHITECTURE_MD = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8')

/** The rows of docs/architecture.md's layer table that describe a src/ folder: [folder, what is in it, may import]. */
function layerRows(): Array<[string, string, string]> {
  const start = ARCHITECTURE_MD.indexOf('## Layers')
  const table = ARCHITECTURE_MD.slice(start, ARCHITECTURE_MD.indexOf('\n## ', start + 1))
  return [...table.matchAll(/^\|[^|]*\|\s*(`src\/([a-z0-9-]+)\/[^|]*)\|([^|]*)\|$/gm)].map((m) => [m[2]!, m[1]!, m[3]!])
}

/** The layer table of docs/architecture.md: src/ folder → the folders it may import. */
function documentedLayers(): Map<string, Set<string>> {
  const names = (list: string) =>
    list
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l && l !== '—')
  return new Map(layerRows().map(([folder, , mayImport]) => [folder, new Set(names(mayImport))]))
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0]!

/** Every folder below `dir`, as paths relative to it. */
function subfolders(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix))
    .filter((name) => statSync(join(dir, prefix, name)).isDirectory())
    .flatMap((name) => [prefix + name, ...subfolders(dir, `${prefix}${name}/`)])
}

const LIBRARIES = ['ethers', 'koffi', '@oclif/core'] as const
const FFI = ['./ffi.js', '../ffi-kit.js']

/** A file of `layer` at `path` (relative to src/) that imports every other layer, every owned library and, in hw, the FFI. */
function lintProbe(layer: string, path: string): {filePath: string; code: string; lines: string[]} {
  const up = '../'.repeat(path.split('/').length - 1)
  const lines = [
    ...[...documentedLayers().keys()].filter((l) => l !== layer).flatMap((l) => [`${up}${l}/x.js`, `${up}${l}/deep/x.js`]),
    ...LIBRARIES,
    ...(layer === 'hw' && path.split('/').length === 3 ? FFI : []),
  ]
  return {filePath: join(SRC, path), code: lines.map((l) => `import '${l}'\n`).join(''), lines}
}

/** What the layer table (and its notes: the one ethers, koffi and oclif importers, pure verifiers) allows that probe. */
function allowedByTable(layer: string, path: string, line: string): boolean {
  const base = path.split('/').pop()!
  const ffiFile = layer === 'hw' && (base === 'ffi.ts' || path === 'hw/ffi-kit.ts')
  if (line === 'ethers') return layer === 'chain'
  if (line === 'koffi') return ffiFile
  if (line === '@oclif/core') return layer === 'commands' || layer === 'cli'
  if (FFI.includes(line)) return !/^verify(-.*)?\.ts$/.test(base)
  return documentedLayers()
    .get(layer)!
    .has(line.replace(/^(\.\.\/)+/, '').split('/')[0]!)
}

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

  it('eslint.config.js enforces every row of the layer table: a probe importing every layer is told off exactly where the table forbids', async () => {
    const eslint = new ESLint({cwd: ROOT})
    const paths = [...documentedLayers().keys()].flatMap((l) => [`${l}/lint-probe.ts`, `${l}/sub/lint-probe.ts`])
    paths.push('hw/ffi-kit.ts', 'hw/tpm2/ffi.ts', 'hw/tpm2/verify.ts', 'hw/nvidia/verify-evidence.ts')
    const wrong: string[] = []
    for (const path of paths) {
      const layer = path.split('/')[0]!
      const probe = lintProbe(layer, path)
      const [result] = await eslint.lintText(probe.code, {filePath: probe.filePath})
      const refused = new Set(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line))
      probe.lines.forEach((line, i) => {
        const allowed = allowedByTable(layer, path, line)
        if (allowed === refused.has(i + 1)) wrong.push(`src/${path}: import '${line}' is ${allowed ? 'refused' : 'let through'}`)
      })
    }
    expect(paths.length).toBeGreaterThan(30)
    expect(wrong).toEqual([])
  })

  it('eslint.config.js keeps commands off stderr (they print through BaseCommand and src/cli)', async () => {
    const eslint = new ESLint({cwd: ROOT})
    const code = "process.stderr.write('x\\n')\n"
    const ruled = async (path: string) =>
      (await eslint.lintText(code, {filePath: join(SRC, path)}))[0]!.messages.filter((m) => m.ruleId === 'no-restricted-syntax').length
    expect(await ruled('commands/lint-probe.ts')).toBe(1)
    expect(await ruled('commands/wallet/lint-probe.ts')).toBe(1)
    expect(await ruled('cli/lint-probe.ts')).toBe(0)
  })

  it("names every folder below src/'s layers in that layer's row, and only files that exist", () => {
    const rows = new Map(layerRows().map(([folder, contents]) => [folder, contents]))
    const missing: string[] = []
    for (const [layer, contents] of rows) {
      for (const sub of subfolders(join(SRC, layer))) if (!contents.includes(`\`${sub}/\``)) missing.push(`src/${layer}/${sub}/ is not named`)
      const files = new Set([...tsFiles(join(SRC, layer))].map((f) => relative(join(SRC, layer), f)))
      const named = [...contents.matchAll(/`([^`<>*\s]+\.ts)`/g)].map((m) => m[1]!)
      for (const name of named) {
        const exists = name.startsWith('src/')
          ? statSync(join(ROOT, name), {throwIfNoEntry: false})
          : [...files].some((f) => f === name || f.endsWith(`/${name}`))
        if (!exists) missing.push(`${name} (row ${layer}) does not exist`)
      }
    }
    expect(missing).toEqual([])
  })

  it('the circle finder and the import reader see what they must (a planted circle, every import form)', () => {
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
          ['d', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c', 'a']])
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', []],
          ['c', ['b']],
        ]),
      ),
    ).toEqual([])
    const forms = "import type {A} from './a.js'\nexport {b} from '../b.js'\nconst c = await import('./c.js')\nimport './d.js'\nimport x from 'ethers'\n"
    expect([...forms.matchAll(SPECIFIER)].map((m) => m[1])).toEqual(['./a.js', '../b.js', './c.js', './d.js'])
  })
})
