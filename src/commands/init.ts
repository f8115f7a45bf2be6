import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('init', "set up this machine as a miner")
