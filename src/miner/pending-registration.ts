/**
 * Re-running `unet register` while a registration is still pending resumes waiting on it instead of
 * registering again (a second registration would cost a second deposit and race the first one).
 */
import type {ChainClient} from '../chain/client.js'
import {registrations, registrationState, type Registration, type RegistrationState} from '../chain/registrations.js'

export interface PendingRegistration {
  registration: Registration
  state: RegistrationState
}

/** The operator's Registered events, oldest first: read once per run and shared by host and devices. */
export async function operatorRegistrations(client: ChainClient, operator: string): Promise<Registration[]> {
  return registrations(client, {fromBlock: 0, operator})
}

/**
 * The operator's latest registration of `deviceId` if it is still pending and `accept` takes it (a
 * device: under the host's current registration, else it can never be approved).
 */
export async function pendingRegistrationOf(
  client: ChainClient,
  mine: readonly Registration[],
  deviceId: string,
  accept: (state: RegistrationState) => boolean = () => true,
): Promise<PendingRegistration | undefined> {
  const registration = mine.filter((r) => r.deviceId.toLowerCase() === deviceId.toLowerCase()).at(-1)
  if (!registration) return undefined
  const state = await registrationState(client, registration.regId)
  return state.status === 'pending' && accept(state) ? {registration, state} : undefined
}
