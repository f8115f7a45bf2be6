import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('quickstart', "run the whole job on a local devnet")
