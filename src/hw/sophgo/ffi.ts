/**
 * Sophgo bmlib (libbmlib.so) through koffi, loaded lazily (src/hw/ffi-kit.ts): device count, handles,
 * chip id, serial, memory/TPU utilisation, and the chip-key calls the official UtilityNet miner uses
 * (bmcpu_gen_p2_pubkey, bmcpu_gen_sign). Declarations follow bmlib_runtime.h as vendored in
 * utnet-org/uminer (bm_chip/bmlib/include). The stub in native/bmlib-stub implements the same subset.
 */
import {HardwareUnavailableError} from '../../errors/index.js'
import {binder, cString, declareOnce, layoutOf, loadKoffi, openLibrary, type KoffiLibrary} from '../ffi-kit.js'

export const BMLIB_SYMBOLS = [
  'bm_dev_getcount',
  'bm_dev_request',
  'bm_dev_free',
  'bm_get_chipid',
  'bm_get_sn',
  'bm_get_stat',
  'bm_get_misc_info',
  'bmcpu_gen_p2_pubkey',
  'bmcpu_gen_sign',
] as const

const DEFAULT_BMLIB_LIBRARY = 'libbmlib.so'

const BM_STATUS: Record<number, string> = {
  0: 'success',
  1: 'device not ready',
  2: 'failure',
  3: 'timeout',
  4: 'invalid parameter',
  5: 'out of memory',
  6: 'bad data',
  7: 'busy',
  8: 'feature not available',
  9: 'not supported',
}

class BmlibError extends HardwareUnavailableError {
  constructor(
    readonly symbol: string,
    readonly bmStatus: number,
  ) {
    super(`${symbol} failed: ${BM_STATUS[bmStatus] ?? 'unknown error'} (bm_status ${bmStatus})`, {
      details: {symbol, bmStatus},
      hint: symbol === 'bmcpu_gen_sign' ? 'the p2 blob does not belong to this chip, or the chip firmware is not started' : 'check the card with `bm-smi`',
    })
  }
}

export interface BmStat {
  memTotalMiB: number
  memUsedMiB: number
  tpuUtil: number
}

export interface BmMiscInfo {
  chipId: number
  /** e.g. "0.4.8" (bm-smi's Driver Version). */
  driverVersion: string
  /** PCI address as sysfs names it, e.g. 0000:3b:00.1. */
  pciAddress: string
}

export type BmHandle = unknown

export interface Bmlib {
  readonly path: string
  count(): number
  request(devid: number): BmHandle
  free(h: BmHandle): void
  chipId(h: BmHandle): number
  serial(h: BmHandle): string
  stat(h: BmHandle): BmStat
  miscInfo(h: BmHandle): BmMiscInfo
  /** The chip's encrypted key blob (p2) and its PEM public key. */
  p2Pubkey(h: BmHandle): {p2: Uint8Array; publicKeyPem: string}
  /** Signs a digest with the chip key (RSA PKCS#1 v1.5 over a SHA-256 DigestInfo). */
  sign(h: BmHandle, digest: Uint8Array, p2: Uint8Array): Uint8Array
}

const bmlibTypes = declareOnce((k) => {
  const heap = k.struct('bm_heap_stat', {mem_total: 'uint32_t', mem_avail: 'uint32_t', mem_used: 'uint32_t'})
  return {
    handle: k.pointer('bm_handle_t', k.opaque('bm_context')),
    stat: k.struct('bm_dev_stat_t', {mem_total: 'int', mem_used: 'int', tpu_util: 'int', heap_num: 'int', heap_stat: k.array(heap, 4)}),
    misc: k.struct('bm_misc_info', {
      pcie_soc_mode: 'int',
      ddr_ecc_enable: 'int',
      ddr0a_size: 'int64_t',
      ddr0b_size: 'int64_t',
      ddr1_size: 'int64_t',
      ddr2_size: 'int64_t',
      chipid: 'uint32_t',
      chipid_bit_mask: 'unsigned long',
      driver_version: 'uint32_t',
      domain_bdf: 'int',
      board_version: 'int',
      a53_enable: 'int',
    }),
  }
})

export const bmlibLayout = layoutOf(bmlibTypes, (t) => ({bm_dev_stat_t: [t.stat, 'heap_stat'], bm_misc_info: [t.misc, 'driver_version', 'domain_bdf']}))

export async function loadBmlib(path?: string): Promise<Bmlib> {
  const k = await loadKoffi()
  bmlibTypes(k) // before binding: the signatures name these types
  const libPath = path && path.length > 0 ? path : DEFAULT_BMLIB_LIBRARY
  const lib = openLibrary(k, libPath, {message: `bmlib not loadable: ${libPath}`, hint: 'install the Sophgo libsophon runtime (libbmlib.so) or set bmlibPath'})
  return bmlibApi(libPath, bindBmlib(lib, libPath))
}

/** Every function of BMLIB_SYMBOLS, bound (a missing one names the library and the symbol). */
function bindBmlib(lib: KoffiLibrary, path: string) {
  const bind = binder(lib, {name: 'bmlib', path, hint: 'use the libsophon runtime that ships bmcpu_gen_sign'})
  return {
    bm_dev_getcount: bind('int bm_dev_getcount(_Out_ int *count)'),
    bm_dev_request: bind('int bm_dev_request(_Out_ bm_handle_t *handle, int devid)'),
    bm_dev_free: bind('void bm_dev_free(bm_handle_t handle)'),
    bm_get_chipid: bind('int bm_get_chipid(bm_handle_t handle, _Out_ unsigned int *chipid)'),
    bm_get_sn: bind('int bm_get_sn(bm_handle_t handle, _Out_ uint8_t *sn)'),
    bm_get_stat: bind('int bm_get_stat(bm_handle_t handle, _Out_ bm_dev_stat_t *stat)'),
    bm_get_misc_info: bind('int bm_get_misc_info(bm_handle_t handle, _Out_ bm_misc_info *info)'),
    bmcpu_gen_p2_pubkey: bind(
      'int bmcpu_gen_p2_pubkey(bm_handle_t handle, _Out_ uint8_t *p2, _Inout_ unsigned int *size_p2, _Out_ uint8_t *pubkey, _Inout_ unsigned int *size_pubkey)',
    ),
    bmcpu_gen_sign: bind(
      'int bmcpu_gen_sign(bm_handle_t handle, _Out_ uint8_t *signature, _Out_ unsigned int *size_signature, uint8_t *digest, unsigned int size_digest, uint8_t *p2, unsigned int size_p2)',
    ),
  }
}

/** The Bmlib interface over the bound functions. */
function bmlibApi(libPath: string, f: ReturnType<typeof bindBmlib>): Bmlib {
  const check = (symbol: string, code: number) => {
    if (code !== 0) throw new BmlibError(symbol, code)
  }
  return {
    path: libPath,
    count() {
      const n = [0]
      check('bm_dev_getcount', f.bm_dev_getcount(n))
      return n[0]!
    },
    request(devid) {
      const h: unknown[] = [null]
      check('bm_dev_request', f.bm_dev_request(h, devid))
      return h[0]
    },
    free: (h) => void f.bm_dev_free(h),
    chipId(h) {
      const id = [0]
      check('bm_get_chipid', f.bm_get_chipid(h, id))
      return id[0]!
    },
    serial(h) {
      // bmlib copies a short NUL-terminated board serial (17 characters on SC5 cards); 64 bytes is ample.
      const buf = Buffer.alloc(64)
      check('bm_get_sn', f.bm_get_sn(h, buf))
      return cString(buf, 'latin1').trim()
    },
    stat(h) {
      const s: Record<string, number> = {}
      check('bm_get_stat', f.bm_get_stat(h, s))
      return {memTotalMiB: s.mem_total!, memUsedMiB: s.mem_used!, tpuUtil: s.tpu_util!}
    },
    miscInfo(h) {
      const m: Record<string, number> = {}
      check('bm_get_misc_info', f.bm_get_misc_info(h, m))
      const v = m.driver_version! >>> 0
      const bdf = m.domain_bdf! >>> 0
      const hex = (n: number, w: number) => n.toString(16).padStart(w, '0')
      return {
        chipId: m.chipid! >>> 0,
        driverVersion: `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`,
        pciAddress: `${hex(bdf >>> 16, 4)}:${hex((bdf >>> 8) & 0xff, 2)}:${hex((bdf >>> 3) & 0x1f, 2)}.${bdf & 0x7}`,
      }
    },
    p2Pubkey(h) {
      const p2 = Buffer.alloc(0x1000)
      const pub = Buffer.alloc(0x1000)
      const p2Size = [p2.length]
      const pubSize = [pub.length]
      check('bmcpu_gen_p2_pubkey', f.bmcpu_gen_p2_pubkey(h, p2, p2Size, pub, pubSize))
      const pem = pub.subarray(0, Math.min(pubSize[0]!, pub.length)).toString('latin1')
      return {p2: Uint8Array.from(p2.subarray(0, Math.min(p2Size[0]!, p2.length))), publicKeyPem: pem.replace(/\0[\s\S]*$/, '')}
    },
    sign(h, digest, p2) {
      if (digest.length !== 32) throw new HardwareUnavailableError(`chip signing takes a 32-byte SHA-256 digest, got ${digest.length}`)
      if (p2.length === 0 || p2.length > 0x1000) throw new HardwareUnavailableError(`p2 blob must be 1..4096 bytes, got ${p2.length}`)
      // The chip writes a modulus-sized signature; 512 bytes covers RSA-4096.
      const sig = Buffer.alloc(512)
      const size = [0]
      check('bmcpu_gen_sign', f.bmcpu_gen_sign(h, sig, size, Buffer.from(digest), digest.length, Buffer.from(p2), p2.length))
      if (size[0]! <= 0 || size[0]! > sig.length) throw new BmlibError('bmcpu_gen_sign', 6)
      return Uint8Array.from(sig.subarray(0, size[0]))
    },
  }
}
