import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('devnet stop', 'stop the embedded local chain')
