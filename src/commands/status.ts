import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('status', "devices online, uptime and earnings")
