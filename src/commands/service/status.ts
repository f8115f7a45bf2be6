import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('service status', 'status the heartbeat OS service')
