/**
 * Signed actors, compatible with wasmCloud's claims (wascap): nkeys, the JWT, the module's
 * claims sections, the trust policy and capabilities, and the development issuer.
 */
export {
  readClaims,
  signModule,
  nowSeconds,
  WASCAP_REVISION,
  type ActorClaims,
  type ClaimsReport,
  type ClaimsVerdict,
  type SignOptions,
} from './actor-claims.js';
export {
  generateKey,
  accountKeyPair,
  moduleKeyFromSeed,
  isAccountKey,
  isModuleKey,
  checkAccountKey,
  seedFromText,
  type KeyKind,
  type NamedKey,
} from './keys.js';
export {
  admitActor,
  checkCapability,
  claimsRecord,
  recordedCaps,
  parseTrustedIssuers,
  ACTOR_CONTRACT,
  type RefusalReason,
} from './policy.js';
export { moduleHash, readSections, stripClaims, CLAIMS_SECTIONS } from './wasm-sections.js';
export { devIssuerPath, devIssuerSeed, devIssuerPublicKey } from './dev-issuer.js';
