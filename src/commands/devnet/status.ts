import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('devnet status', 'status the embedded local chain')
