import {notBuiltCommand} from '../../cli/not-built.js'

export default notBuiltCommand('rewards claim', 'claim accrued rewards to the payout address')
