// Child process for the lock test: takes the agent lock of argv[2] and holds it until killed,
// or reports the refusal as JSON and exits with the error's exit code.
import {acquireLock} from '../../../../src/agent/lock.js'
import {UnetError} from '../../../../src/errors/index.js'

try {
  const lock = acquireLock(process.argv[2]!)
  const stop = () => {
    lock.release()
    process.exit(0)
  }
  // the handler first: the parent may send SIGTERM as soon as it reads the line
  process.on('SIGTERM', stop)
  process.stdout.write(JSON.stringify({locked: true, pid: process.pid}) + '\n')
  setInterval(() => {}, 1 << 30)
} catch (error) {
  const e = error as UnetError
  process.stdout.write(JSON.stringify({locked: false, exitCode: e.exitCode, message: e.message, hint: e.hint}) + '\n')
  process.exit(e.exitCode ?? 1)
}
