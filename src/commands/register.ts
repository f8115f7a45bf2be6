import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('register', "bind each device's hardware key to the miner on chain")
