import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('attest', "produce attestation evidence for a nonce")
