/**
 * What every src/hw/<vendor>/ffi.ts does with koffi, written once: koffi imported lazily (on the first
 * hardware call, so `unet --version` and the pure verifiers never load it), a library opened with an
 * error that says what to install, functions bound with an error naming the library and the symbol,
 * struct declarations made once per process, and their sizeof/offsetof for the layout tests against
 * the C compiler. The only koffi importer besides those ffi.ts files.
 */
import {HardwareUnavailableError} from '../errors/index.js'

export type Koffi = typeof import('koffi').default
export type KoffiLibrary = ReturnType<Koffi['load']>
export type KoffiType = ReturnType<Koffi['struct']>
export type KoffiFunction = ReturnType<KoffiLibrary['func']>

let koffiModule: Koffi | undefined

/** koffi itself, imported on first use. */
export async function loadKoffi(): Promise<Koffi> {
  koffiModule ??= (await import('koffi')).default
  return koffiModule
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message.split('\n')[0]! : String(error))

export interface OpenFailure {
  /** One line, e.g. "NVML library not loadable: libnvidia-ml.so.1". */
  message: string
  /** What to install or configure. */
  hint: string
  /** Default: {path, reason} (koffi's first line). */
  details?: Record<string, unknown>
}

/** koffi.load, or a HardwareUnavailableError with `failure`'s message and hint. */
export function openLibrary(k: Koffi, path: string, failure: OpenFailure): KoffiLibrary {
  try {
    return k.load(path)
  } catch (error) {
    throw new HardwareUnavailableError(failure.message, {cause: error, hint: failure.hint, details: failure.details ?? {path, reason: firstLine(error)}})
  }
}

/** How bind() names a library in its error: e.g. {name: 'NVML library', path, hint: 'update the driver'}. */
export interface LibraryLabel {
  name: string
  path: string
  /** What to do when a symbol is missing (default: install a newer version of the library). */
  hint?: string
}

/** The function name of a C declaration: `int nvmlInit_v2()` → nvmlInit_v2. */
function symbolOf(signature: string): string {
  return /([A-Za-z_]\w*)\s*\(/.exec(signature)?.[1] ?? signature
}

/** lib.func(signature), or a HardwareUnavailableError naming the library and the missing symbol. */
export function bind(lib: KoffiLibrary, signature: string, label: LibraryLabel): KoffiFunction {
  try {
    return lib.func(signature)
  } catch (error) {
    const symbol = symbolOf(signature)
    throw new HardwareUnavailableError(`${label.name} ${label.path} lacks a function unet needs: ${symbol}`, {
      cause: error,
      hint: label.hint ?? `${label.path} is older than unet needs (no ${symbol}): install a newer version`,
      details: {library: label.path, symbol, signature, reason: firstLine(error)},
    })
  }
}

/** `bind` with the library and its label fixed: `const bind = binder(lib, label); bind('int f()')`. */
export function binder(lib: KoffiLibrary, label: LibraryLabel): (signature: string) => KoffiFunction {
  return (signature) => bind(lib, signature, label)
}

/** A table of type declarations made once per process (koffi refuses to declare a named type twice). */
export function declareOnce<T>(define: (k: Koffi) => T): (k: Koffi) => T {
  let types: T | undefined
  return (k) => (types ??= define(k))
}

/**
 * sizeof and offsetof by C name, as the stubs' `unet_stub_layout` answers them: `{T: [type, 'm']}` gives
 * `T` → sizeof(T) and `T.m` → offsetof(T, m).
 */
export function structLayout(k: Koffi, structs: Record<string, [KoffiType, ...string[]]>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, [type, ...members]] of Object.entries(structs)) {
    out[name] = k.sizeof(type)
    for (const member of members) out[`${name}.${member}`] = k.offsetof(type, member)
  }
  return out
}

/**
 * A vendor's layout function for the layout tests: `export const nvmlLayout = layoutOf(nvmlTypes, (t) => ({T: [t.x, 'm']}))`
 * declares the types (once) and gives their structLayout.
 */
export function layoutOf<T>(types: (k: Koffi) => T, structs: (t: T) => Record<string, [KoffiType, ...string[]]>): () => Promise<Record<string, number>> {
  return async () => {
    const k = await loadKoffi()
    return structLayout(k, structs(types(k)))
  }
}

/** Calls `unet_stub_layout` of a stub library for each name (tests only: compares with structLayout). */
export async function stubLayout(path: string, names: string[]): Promise<Record<string, number>> {
  const k = await loadKoffi()
  const lib = k.load(path)
  try {
    const fn = lib.func('unsigned long unet_stub_layout(const char *what)')
    return Object.fromEntries(names.map((n) => [n, Number(fn(n))]))
  } finally {
    lib.unload()
  }
}

/** The bytes of a NUL-terminated C string in `buf` (all of it when there is no NUL). */
export function cString(buf: Buffer, encoding: BufferEncoding = 'utf8'): string {
  const end = buf.indexOf(0)
  return buf.subarray(0, end < 0 ? buf.length : end).toString(encoding)
}
