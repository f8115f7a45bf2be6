import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('devnet start', 'start the embedded local chain')
