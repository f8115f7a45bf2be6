#!/usr/bin/env node
/**
 * Lists exports of src/ that nothing imports: walks the import specifiers of src/ and test/ (static,
 * `import type`, `export … from`, dynamic `const {a} = await import('…')`, `(await import('…')).a`,
 * `const [{a}, {b}] = await Promise.all([import('…'), import('…')])`,
 * `import('…').T` types) and, for scripts/, counts a name as used when any script mentions it (they
 * load dist/ by computed paths). Default exports of src/commands (oclif loads them) are not listed.
 * "unused" = no other file imports it and its own file does not use it either (delete it);
 * "local" = only its own file uses it (drop the `export`). A heuristic: check each hit before acting.
 *
 *   node scripts/dead-exports.mjs [--json]
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const walk = (dir, ext) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path, ext) : ext.some((e) => path.endsWith(e)) ? [path] : []
  })

const srcFiles = walk(join(ROOT, 'src'), ['.ts'])
const testFiles = walk(join(ROOT, 'test'), ['.ts', '.mjs'])
const scriptText = [...walk(join(ROOT, 'scripts'), ['.ts', '.mjs', '.js']), ...walk(join(ROOT, 'bin'), ['.js'])].map((f) => readFileSync(f, 'utf8')).join('\n')
const text = new Map([...srcFiles, ...testFiles].map((f) => [f, readFileSync(f, 'utf8')]))

/** A relative specifier of `from` → the src .ts file it names (undefined for packages). */
const resolveSpec = (from, spec) => (spec.startsWith('.') ? resolve(dirname(from), spec).replace(/\.js$/, '.ts') : undefined)
const names = (list) =>
  list
    .split(',')
    .map((s) => s.trim().replace(/^type\s+/, ''))
    .filter(Boolean)
    .map((s) => s.split(/\s+as\s+|\s*:\s*/)[0].trim())

/** The elements of a list at bracket depth 0 ("{a, b}, {c}" → ["{a, b}", "{c}"]), trimmed. */
const topLevel = (list) => {
  const out = []
  let depth = 0
  let start = 0
  for (let i = 0; i < list.length; i++) {
    const c = list[i]
    if ('{[('.includes(c)) depth++
    else if ('}])'.includes(c)) depth--
    else if (c === ',' && depth === 0) {
      out.push(list.slice(start, i).trim())
      start = i + 1
    }
  }
  out.push(list.slice(start).trim())
  return out.filter(Boolean)
}

const exportedName = (spec) =>
  spec
    .trim()
    .replace(/^type\s+/, '')
    .split(/\s+as\s+/)
    .pop()
    .trim()

/** file → its exported names; file → [re-exported module, names | '*']. */
const exportsOf = new Map()
const starFrom = new Map()
const DECL = /^export\s+(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|const|let|var|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm
for (const file of srcFiles) {
  const t = text.get(file)
  const set = new Set([...t.matchAll(DECL)].map((m) => m[1]))
  // `export {a, type b as c}` and `export {a} from '…'`: the exported (outer) names
  for (const m of t.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) for (const n of m[1].split(',')) if (n.trim()) set.add(exportedName(n))
  if (/^export\s+default\b/m.test(t)) set.add('default')
  exportsOf.set(file, set)
  starFrom.set(
    file,
    [...t.matchAll(/^export\s+\*\s+from\s*['"]([^'"]+)['"]/gm)].map((m) => resolveSpec(file, m[1])),
  )
}

/** target file → names imported from it by other files ('*' = all). */
const used = new Map()
const use = (target, name) => {
  if (!target) return
  if (!used.has(target)) used.set(target, new Set())
  used.get(target).add(name)
}
for (const [file, t] of text) {
  for (const m of t.matchAll(/\bimport\s+(?:type\s+)?([\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    const target = resolveSpec(file, m[3])
    if (m[1]) use(target, 'default')
    for (const n of names(m[2])) use(target, n)
  }
  for (const m of t.matchAll(/\bimport\s+(?:type\s+)?[\w$]+\s+from\s*['"]([^'"]+)['"]/g)) use(resolveSpec(file, m[1]), 'default')
  for (const m of t.matchAll(/\bimport\s+\*\s+as\s+[\w$]+\s+from\s*['"]([^'"]+)['"]/g)) use(resolveSpec(file, m[1]), '*')
  for (const m of t.matchAll(/\bexport\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) for (const n of names(m[1])) use(resolveSpec(file, m[2]), n)
  for (const m of t.matchAll(/\{([^{}]*)\}\s*=\s*await\s+import\(\s*['"]([^'"]+)['"]\s*\)/g)) for (const n of names(m[1])) use(resolveSpec(file, m[2]), n)
  for (const m of t.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)\)?\.([\w$]+)/g)) use(resolveSpec(file, m[1]), m[2])
  // const [{a}, {b}] = await Promise.all([import('x'), import('y')]): the n-th pattern names the n-th module
  for (const m of t.matchAll(/\[([^\]]*)\]\s*=\s*await\s+Promise\.all\(\[([^\]]*)\]\s*\)/g)) {
    const patterns = topLevel(m[1])
    const specs = topLevel(m[2]).map((e) => /^import\(\s*['"]([^'"]+)['"]\s*\)$/.exec(e)?.[1])
    patterns.forEach((pattern, i) => {
      const object = /^\{([^{}]*)\}$/.exec(pattern)
      if (object && specs[i]) for (const n of names(object[1])) use(resolveSpec(file, specs[i]), n)
    })
  }
  for (const m of t.matchAll(/\b(?:const|let)\s+([\w$]+)\s*=\s*await\s+import\(\s*['"]([^'"]+)['"]\s*\)/g))
    for (const p of t.matchAll(new RegExp(`\\b${m[1]}\\.([\\w$]+)`, 'g'))) use(resolveSpec(file, m[2]), p[1])
}

/** Names used through a barrel (`export * from`) count for the module behind it. */
const usedNames = (file, seen = new Set()) => {
  if (seen.has(file)) return new Set()
  seen.add(file)
  const out = new Set(used.get(file) ?? [])
  for (const [barrel, stars] of starFrom) if (stars.includes(file)) for (const n of usedNames(barrel, seen)) out.add(n)
  return out
}

const report = {unused: [], local: []}
for (const file of srcFiles) {
  const rel = relative(ROOT, file)
  const u = usedNames(file)
  if (u.has('*')) continue
  const own = text.get(file)
  for (const name of exportsOf.get(file)) {
    if (u.has(name)) continue
    if (name === 'default' && rel.startsWith('src/commands/')) continue
    if (name !== 'default' && new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`).test(scriptText)) continue
    const localUses = name === 'default' ? 0 : (own.match(new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g')) ?? []).length - 1
    report[localUses > 0 ? 'local' : 'unused'].push(`${rel}: ${name}`)
  }
}

if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
else {
  process.stdout.write(`unused (${report.unused.length}): nothing imports or uses them\n${report.unused.map((l) => `  ${l}`).join('\n')}\n`)
  process.stdout.write(`local (${report.local.length}): used only in their own file\n${report.local.map((l) => `  ${l}`).join('\n')}\n`)
}
