import {notBuiltCommand} from '../cli/not-built.js'

export default notBuiltCommand('doctor', "check every prerequisite and say how to fix it")
