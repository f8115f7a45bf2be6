import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('service install', 'install the heartbeat OS service')
