import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('verify', "verify attestation evidence (anyone can)")
