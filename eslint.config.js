import tseslint from 'typescript-eslint'

/**
 * Besides the usual checks, this file enforces the dependency direction of docs/architecture.md's layer
 * table: LAYERS below is that table, row by row, and every folder a row does not name is a forbidden
 * import for that row (arrows only point down). Heavy or privileged libraries stay in the one layer that
 * owns them. test/unit/architecture.test.ts checks that LAYERS and the document say the same, lints a probe
 * import from every layer into every other to prove each row is enforced, and checks dynamic import()s.
 */
export const LAYERS = {
  commands: ['cli', 'dashboard', 'miner', 'service', 'verifier', 'alerts', 'agent', 'insight', 'chain', 'hw', 'evidence', 'keys', 'config', 'errors', 'util'],
  cli: ['miner', 'service', 'verifier', 'alerts', 'agent', 'insight', 'chain', 'hw', 'evidence', 'keys', 'config', 'errors', 'util'],
  dashboard: ['miner', 'alerts', 'insight', 'chain', 'config', 'errors', 'util'],
  miner: ['verifier', 'alerts', 'agent', 'insight', 'chain', 'hw', 'evidence', 'keys', 'config', 'errors', 'util'],
  service: ['agent', 'config', 'errors', 'util'],
  insight: ['chain', 'evidence', 'config', 'errors', 'util'],
  verifier: ['chain', 'hw', 'evidence', 'config', 'errors', 'util'],
  alerts: ['agent', 'config', 'errors', 'util'],
  agent: ['evidence', 'errors', 'util'],
  chain: ['evidence', 'config', 'errors', 'util'],
  hw: ['evidence', 'config', 'errors', 'util'],
  evidence: ['errors', 'util'],
  keys: ['errors', 'util'],
  config: ['errors', 'util'],
  util: ['errors'],
  errors: [],
}

const restrict = (patterns) => ({'no-restricted-imports': ['error', {patterns}]})
/** The folders `layer` must not import: every other row of LAYERS that it does not name. */
const upward = (layer) =>
  Object.keys(LAYERS)
    .filter((l) => l !== layer && !LAYERS[layer].includes(l))
    .map((l) => ({group: [`**/${l}/*`, `../${l}/*`, `../../${l}/*`], message: `arrows point down: src/${layer} must not import ${l}/`}))
const ethersOnlyInChain = {group: ['ethers', 'ethers/*'], message: 'only src/chain imports ethers'}
const koffiOnlyInFfi = {group: ['koffi'], message: 'only src/hw/ffi-kit.ts and src/hw/*/ffi.ts import koffi'}
const oclifOnlyInCli = {group: ['@oclif/*'], message: 'only src/cli and src/commands import @oclif/core'}
const noFfiInVerifiers = {group: ['./ffi.js', '../*/ffi.js', '../ffi-kit.js'], message: 'verifiers are pure: no FFI'}
/** The libraries each layer may not import (besides the folders above it). */
const libraries = (layer) => {
  if (layer === 'commands' || layer === 'cli') return [ethersOnlyInChain, koffiOnlyInFfi]
  if (layer === 'chain') return [koffiOnlyInFfi, oclifOnlyInCli]
  return [ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli]
}
const HW_FFI = ['src/hw/ffi-kit.ts', 'src/hw/*/ffi.ts']
const HW_VERIFY = ['src/hw/**/verify.ts', 'src/hw/**/verify-*.ts']
/** Commands print through BaseCommand (log, warning, notice, statusLine) or the cli's prompts, never on stderr themselves. */
const noStderrInCommands = {
  'no-restricted-syntax': [
    'error',
    {selector: "MemberExpression[object.name='process'][property.name='stderr']", message: 'commands write to stderr through BaseCommand or src/cli'},
  ],
}

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'coverage/', 'native/build/', 'oclif.manifest.json', 'fixtures/']},
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/no-non-null-assertion': 'off',
      // prettier's printWidth, for what prettier cannot wrap (comments); a string or a URL may run longer
      'max-len': ['error', {code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true}],
    },
  },
  ...Object.keys(LAYERS)
    .filter((layer) => layer !== 'hw')
    .map((layer) => ({files: [`src/${layer}/**/*.ts`], rules: restrict([...libraries(layer), ...upward(layer)])})),
  {files: ['src/commands/**/*.ts'], rules: noStderrInCommands},
  // hw, in three parts: only the FFI files may import koffi, and the pure verifiers no FFI at all
  {files: HW_FFI, rules: restrict([ethersOnlyInChain, oclifOnlyInCli, ...upward('hw')])},
  {files: HW_VERIFY, rules: restrict([...libraries('hw'), noFfiInVerifiers, ...upward('hw')])},
  {files: ['src/hw/**/*.ts'], ignores: [...HW_FFI, ...HW_VERIFY], rules: restrict([...libraries('hw'), ...upward('hw')])},
)
