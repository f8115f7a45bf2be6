export * from './load.js'
export * from './schema.js'
export * from './store.js'
export {ruleFor, parseValue, checkValue, displayValue, setHint, unknownKeyProblem, unknownNetworkProblem} from './validate.js'
