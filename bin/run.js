#!/usr/bin/env node
// `unet --version` is what scripts and service managers call most; answer it before loading oclif
// (that import alone costs more than all of Node's start-up). Same text as oclif prints.
const argv = process.argv.slice(2)
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
  const {readFileSync} = await import('node:fs')
  const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`unet/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
} else {
  const {run, flush, handle, Errors} = await import('@oclif/core')
  try {
    await run(argv, import.meta.url)
    await flush()
  } catch (error) {
    // A command printed its own error (BaseCommand.catch) and exits; anything else failed outside a
    // command (unknown command, `unet help nosuch`, a plugin) and is printed the same way.
    if (error instanceof Errors.ExitError) await handle(error)
    else {
      const {printError} = await import('../dist/cli/render-error.js')
      const stack = argv.includes('--debug') || /(^|,)\s*unet/.test(process.env.DEBUG ?? '')
      await handle(new Errors.ExitError(printError(error, {json: argv.includes('--json'), stack})))
    }
  }
}
