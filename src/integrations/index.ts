/** Per-user provider credentials (encrypted at rest) and their HTTP routes. */
export { INTEGRATION_ERRORS } from './errors.js';
export { registerIntegrationRoutes } from './routes.js';
export {
  type Credential,
  type CredentialInput,
  type CredentialMetadata,
  CredentialStore,
  credentialStore,
  getCredential,
  PROVIDERS,
  type Provider,
} from './store.js';
