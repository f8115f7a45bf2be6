/**
 * Gas of a heartbeat for runway estimates, before a receipt tells the real figure. Measured with
 * `npm run bench:gas`: host quote alone 46.8k, with 8 committed devices 57.6k; an RSA device adds 44k.
 * 80k covers a host with its committed devices and leaves margin. (No ethers here: cheap to import.)
 */
export const HEARTBEAT_GAS_ESTIMATE = 80_000n
