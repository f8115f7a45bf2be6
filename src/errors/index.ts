export * from './exit-codes.js'
export * from './unet-error.js'
