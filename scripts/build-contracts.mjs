#!/usr/bin/env node
// Compiles contracts/src/*.sol with solc-js (the npm `solc` package, pinned in package-lock) into
// contracts/artifacts/<Name>.json. `--check` compiles in memory and fails if the committed artifacts
// differ from a fresh compile (test/integration/chain/artifacts.test.ts runs the same comparison).
import {readFileSync, readdirSync, writeFileSync, mkdirSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {join} from 'node:path'

const root = fileURLToPath(new URL('..', import.meta.url))
const srcDir = join(root, 'contracts', 'src')
const outDir = join(root, 'contracts', 'artifacts')

export const SETTINGS = {
  optimizer: {enabled: true, runs: 10_000},
  viaIR: true,
  evmVersion: 'cancun',
  metadata: {bytecodeHash: 'none', appendCBOR: false},
  outputSelection: {'*': {'*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object']}},
}

export async function compile() {
  const solc = (await import('solc')).default
  const sources = {}
  for (const file of readdirSync(srcDir)
    .filter((f) => f.endsWith('.sol'))
    .sort())
    sources[file] = {content: readFileSync(join(srcDir, file), 'utf8')}
  const input = {language: 'Solidity', sources, settings: SETTINGS}
  const output = JSON.parse(solc.compile(JSON.stringify(input)))
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const artifacts = {}
  for (const [file, contracts] of Object.entries(output.contracts)) {
    for (const [name, c] of Object.entries(contracts)) {
      if (c.evm.bytecode.object === '') continue // interfaces: nothing to deploy
      artifacts[name] = {
        contractName: name,
        sourceName: `contracts/src/${file}`,
        compiler: {name: 'solc-js', version: solc.version(), settings: {...SETTINGS, outputSelection: undefined}},
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
      }
    }
  }
  return artifacts
}

export function serialize(artifact) {
  return JSON.stringify(artifact, null, 2) + '\n'
}

async function main() {
  const check = process.argv.includes('--check')
  const artifacts = await compile()
  const stale = []
  for (const [name, artifact] of Object.entries(artifacts)) {
    const path = join(outDir, `${name}.json`)
    const text = serialize(artifact)
    if (check) {
      let committed = ''
      try {
        committed = readFileSync(path, 'utf8')
      } catch {
        // missing counts as stale
      }
      if (committed !== text) stale.push(name)
    } else {
      mkdirSync(outDir, {recursive: true})
      writeFileSync(path, text)
      console.log(`wrote contracts/artifacts/${name}.json (${(artifact.deployedBytecode.length - 2) / 2} bytes runtime)`)
    }
  }
  if (check && stale.length > 0) {
    console.error(`stale artifacts: ${stale.join(', ')}; run \`npm run build:contracts\``)
    process.exit(1)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
