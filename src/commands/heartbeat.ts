import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('heartbeat', "run the liveness loop: attest every epoch and send signed heartbeats")
