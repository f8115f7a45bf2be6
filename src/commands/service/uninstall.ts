import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('service uninstall', 'uninstall the heartbeat OS service')
