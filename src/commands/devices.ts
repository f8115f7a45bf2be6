import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('devices', "list accelerators and security engines in this machine")
