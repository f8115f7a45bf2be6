import tseslint from 'typescript-eslint'

/**
 * Besides the usual checks, this file enforces the dependency direction of docs/architecture.md:
 * arrows only point down, and heavy or privileged libraries stay in the one layer that owns them.
 */
const restrict = (patterns) => ({'no-restricted-imports': ['error', {patterns}]})
const upward = (...layers) => layers.map((l) => ({group: [`**/${l}/*`, `../${l}/*`, `../../${l}/*`], message: `arrows point down: this layer must not import ${l}/`}))
const ethersOnlyInChain = {group: ['ethers', 'ethers/*'], message: 'only src/chain imports ethers'}
const koffiOnlyInFfi = {group: ['koffi'], message: 'only src/hw/*/ffi.ts imports koffi'}
const oclifOnlyInCli = {group: ['@oclif/*'], message: 'only src/cli and src/commands import @oclif/core'}

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'coverage/', 'native/build/', 'oclif.manifest.json', 'fixtures/']},
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {files: ['src/**/*.ts'], ignores: ['src/chain/**', 'src/hw/*/ffi.ts', 'src/cli/**', 'src/commands/**'], ...{rules: restrict([ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli, ...upward('commands', 'cli')])}},
  {files: ['src/chain/**/*.ts'], rules: restrict([koffiOnlyInFfi, oclifOnlyInCli, ...upward('commands', 'cli', 'agent')])},
  {files: ['src/hw/*/ffi.ts'], rules: restrict([ethersOnlyInChain, oclifOnlyInCli, ...upward('commands', 'cli', 'agent', 'chain')])},
  {files: ['src/cli/**/*.ts', 'src/commands/**/*.ts'], rules: restrict([ethersOnlyInChain, koffiOnlyInFfi])},
  {files: ['src/evidence/**/*.ts'], rules: restrict([ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli, ...upward('commands', 'cli', 'agent', 'chain', 'hw', 'keys', 'config')])},
  {files: ['src/hw/**/verify.ts', 'src/hw/**/verify-*.ts'], rules: restrict([ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli, {group: ['./ffi.js', '../*/ffi.js'], message: 'verifiers are pure: no FFI'}, ...upward('commands', 'cli', 'agent', 'chain')])},
  {files: ['src/hw/**/*.ts'], ignores: ['src/hw/*/ffi.ts', 'src/hw/**/verify.ts', 'src/hw/**/verify-*.ts'], rules: restrict([ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli, ...upward('commands', 'cli', 'agent', 'chain')])},
  {files: ['src/errors/**/*.ts', 'src/util/**/*.ts'], rules: restrict([ethersOnlyInChain, koffiOnlyInFfi, oclifOnlyInCli, ...upward('commands', 'cli', 'agent', 'chain', 'hw', 'keys', 'config', 'evidence')])},
)
