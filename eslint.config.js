import tseslint from 'typescript-eslint'

/**
 * Besides the usual checks, this file enforces the dependency direction of docs/architecture.md's layer
 * table (one block per row): arrows only point down, and heavy or privileged libraries stay in the one
 * layer that owns them. test/unit/architecture.test.ts checks the same table for dynamic import()s.
 */
const restrict = (patterns) => ({'no-restricted-imports': ['error', {patterns}]})
const upward = (...layers) =>
  layers.map((l) => ({group: [`**/${l}/*`, `../${l}/*`, `../../${l}/*`], message: `arrows point down: this layer must not import ${l}/`}))
const ethersOnlyInChain = {group: ['ethers', 'ethers/*'], message: 'only src/chain imports ethers'}
const koffiOnlyInFfi = {group: ['koffi'], message: 'only src/hw/ffi-kit.ts and src/hw/*/ffi.ts import koffi'}
const oclifOnlyInCli = {group: ['@oclif/*'], message: 'only src/cli and src/commands import @oclif/core'}
const common = [ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli]
/** The actor layers: nothing below them may import them. */
const above = ['commands', 'cli', 'miner', 'service', 'verifier', 'alerts', 'agent']

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'coverage/', 'native/build/', 'oclif.manifest.json', 'fixtures/']},
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {files: ['src/commands/**/*.ts', 'src/cli/**/*.ts'], rules: restrict([ethersOnlyInChain, koffiOnlyInFfi])},
  {files: ['src/miner/**/*.ts'], rules: restrict([...common, ...upward('commands', 'cli', 'service')])},
  {
    files: ['src/service/**/*.ts'],
    rules: restrict([...common, ...upward('commands', 'cli', 'miner', 'verifier', 'alerts', 'chain', 'hw', 'keys', 'evidence')]),
  },
  {files: ['src/verifier/**/*.ts'], rules: restrict([...common, ...upward('commands', 'cli', 'miner', 'service', 'alerts', 'agent', 'keys')])},
  {
    files: ['src/alerts/**/*.ts'],
    rules: restrict([...common, ...upward('commands', 'cli', 'miner', 'service', 'verifier', 'chain', 'hw', 'keys', 'evidence')]),
  },
  {files: ['src/insight/**/*.ts'], rules: restrict([...common, ...upward(...above, 'hw', 'keys')])},
  {
    files: ['src/agent/**/*.ts'],
    rules: restrict([...common, ...upward('commands', 'cli', 'miner', 'service', 'verifier', 'alerts', 'chain', 'hw', 'keys', 'config')]),
  },
  {files: ['src/chain/**/*.ts'], rules: restrict([koffiOnlyInFfi, oclifOnlyInCli, ...upward(...above, 'insight', 'hw', 'keys')])},
  {files: ['src/hw/ffi-kit.ts', 'src/hw/*/ffi.ts'], rules: restrict([ethersOnlyInChain, oclifOnlyInCli, ...upward(...above, 'chain', 'keys')])},
  {
    files: ['src/hw/**/verify.ts', 'src/hw/**/verify-*.ts'],
    rules: restrict([
      ...common,
      {group: ['./ffi.js', '../*/ffi.js', '../ffi-kit.js'], message: 'verifiers are pure: no FFI'},
      ...upward(...above, 'chain', 'keys'),
    ]),
  },
  {
    files: ['src/hw/**/*.ts'],
    ignores: ['src/hw/ffi-kit.ts', 'src/hw/*/ffi.ts', 'src/hw/**/verify.ts', 'src/hw/**/verify-*.ts'],
    rules: restrict([...common, ...upward(...above, 'chain', 'keys')]),
  },
  {files: ['src/evidence/**/*.ts'], rules: restrict([...common, ...upward(...above, 'chain', 'hw', 'keys', 'config')])},
  {files: ['src/keys/**/*.ts'], rules: restrict([...common, ...upward(...above, 'chain', 'hw', 'evidence', 'config')])},
  {files: ['src/config/**/*.ts'], rules: restrict([...common, ...upward(...above, 'chain', 'hw', 'evidence', 'keys')])},
  {files: ['src/util/**/*.ts'], rules: restrict([...common, ...upward(...above, 'chain', 'hw', 'keys', 'config', 'evidence')])},
  {files: ['src/errors/**/*.ts'], rules: restrict([...common, ...upward(...above, 'chain', 'hw', 'keys', 'config', 'evidence', 'util')])},
)
