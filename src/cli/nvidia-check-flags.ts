import {Flags} from '@oclif/core'

import type {NetworkProfile} from '../config/schema.js'
import type {NvidiaCheckPolicy} from '../hw/nvidia/full-check.js'
import {atFlag} from './at-flag.js'

/** --ocsp and --ocsp-url: the revocation check of `chains`, by default the profile's. */
export function ocspFlags(chains: string) {
  return {
    ocsp: Flags.string({
      description: `OCSP revocation check of ${chains}: off, warn or enforce (default: the profile's nvidia.ocsp)`,
      options: ['off', 'warn', 'enforce'],
    }),
    'ocsp-url': Flags.string({
      description: "ask this OCSP responder for every certificate (default: the profile's nvidia.ocspUrl, else each certificate's own)",
    }),
  }
}

/** The flags of the NVIDIA full check, shared by `verify nvidia-report` and `verify nvidia-evidence`; each defaults to the profile. */
export const nvidiaCheckFlags = {
  'allow-missing-fwid': Flags.boolean({description: 'accept reports without an FWID field (older GPU firmware, LS10 switches)', default: false}),
  'nvidia-root': Flags.string({description: 'further accepted root certificate (PEM file); adds to the pinned NVIDIA root', multiple: true}),
  ...ocspFlags('the GPU and RIM chains'),
  'require-cc': Flags.boolean({description: "require CC mode on and DevTools off (default: the profile's nvidia.requireCc)", allowNo: true}),
  'rim-dir': Flags.string({
    description:
      "directory of NVIDIA RIMs named by RIM id (NV_GPU_DRIVER_..., NV_GPU_VBIOS_...) to compare the measurements with (default: the profile's nvidia.rimDir)",
  }),
  'rim-root': Flags.string({description: 'further accepted RIM root certificate (PEM file); adds to the pinned NVIDIA CoRIM root', multiple: true}),
  at: atFlag,
}

interface NvidiaCheckFlagValues {
  'allow-missing-fwid': boolean
  'nvidia-root'?: string[]
  ocsp?: string
  'ocsp-url'?: string
  'require-cc'?: boolean
  'rim-dir'?: string
  'rim-root'?: string[]
}

/** The check's policy: the profile's, overridden by the flags given. */
export async function nvidiaCheckPolicyFromFlags(profile: NetworkProfile, f: NvidiaCheckFlagValues): Promise<NvidiaCheckPolicy> {
  const {nvidiaCheckPolicyFor} = await import('../hw/nvidia/check-policy.js')
  return nvidiaCheckPolicyFor(profile, {
    ocsp: f.ocsp as NvidiaCheckPolicy['ocsp'] | undefined,
    ocspUrl: f['ocsp-url'],
    requireCc: f['require-cc'],
    rimDir: f['rim-dir'],
    allowMissingFwid: f['allow-missing-fwid'],
    nvidiaRoots: f['nvidia-root'],
    rimRoots: f['rim-root'],
  })
}
