#!/usr/bin/env node
/**
 * Builds the stub vendor libraries with the system C compiler (`cc`, or $CC) into native/build/:
 *   native/build/nvml-stub/libnvidia-ml.so.1   (NVML subset, see native/nvml-stub/)
 *   native/build/bmlib-stub/libbmlib.so        (Sophgo bmlib subset, links libcrypto)
 *   native/build/amdsmi-stub/libamd_smi.so     (AMD SMI subset)
 * Each stub is compiled together with native/common/stub_config.c (fixture config, call trace, error
 * injection) and includes native/common/stub_layout.h (the layout probe, header only). Up-to-date
 * outputs are kept; each output is written to a temp name and renamed, so parallel test workers never
 * load a half-written library. Prints the output paths as JSON.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, renameSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const cc = process.env.CC || 'cc'
const common = join(here, 'common')
const commonSources = [join(common, 'stub_config.c')]
const commonInputs = [...commonSources, join(common, 'stub_config.h'), join(common, 'stub_layout.h'), fileURLToPath(import.meta.url)]

export const STUBS = {
  nvml: {src: join(here, 'nvml-stub', 'nvml_stub.c'), out: join(here, 'build', 'nvml-stub', 'libnvidia-ml.so.1'), libs: []},
  bmlib: {src: join(here, 'bmlib-stub', 'bmlib_stub.c'), out: join(here, 'build', 'bmlib-stub', 'libbmlib.so'), libs: ['-lcrypto']},
  amdsmi: {src: join(here, 'amdsmi-stub', 'amdsmi_stub.c'), out: join(here, 'build', 'amdsmi-stub', 'libamd_smi.so'), libs: []},
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs
  } catch {
    return -1
  }
}

export function buildStubs() {
  const out = {}
  for (const [name, s] of Object.entries(STUBS)) {
    const built = mtime(s.out)
    if ([s.src, ...commonInputs].some((input) => built < mtime(input))) {
      mkdirSync(dirname(s.out), {recursive: true})
      const tmp = `${s.out}.${process.pid}.tmp`
      execFileSync(cc, ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Wno-format-truncation', '-I', common, '-o', tmp, s.src, ...commonSources, ...s.libs], {
        stdio: ['ignore', 'inherit', 'inherit'],
      })
      renameSync(tmp, s.out)
    }
    out[name] = s.out
  }
  return out
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(JSON.stringify(buildStubs()) + '\n')
}
