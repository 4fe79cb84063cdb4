/**
 * The keys identity signs access tokens with, and the public JWKS it publishes for verifiers.
 *
 * Keys are asymmetric (ES256 or EdDSA): verifiers hold only public keys, so no service but identity can mint
 * a token. Every key has a `kid`; a token names the key that signed it, so keys rotate without restarts:
 * publish the new key next to the old one, sign with the new one, drop the old one once its tokens expired.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from "node:crypto";

export type SigningAlgorithm = "ES256" | "EdDSA";

/** A public key as published in the JWKS: no private member can appear in it (it is built from the public half). */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y?: string;
  kid: string;
  alg: SigningAlgorithm;
  use: "sig";
}

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  publicJwk: PublicJwk;
}

function algorithmOf(key: KeyObject): SigningAlgorithm | undefined {
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") return "ES256";
  return undefined;
}

function toSigningKey(privateKey: KeyObject, kid: string): SigningKey {
  const alg = algorithmOf(privateKey);
  if (alg === undefined)
    throw new Error(`key ${kid}: only EC P-256 (ES256) and Ed25519 (EdDSA) keys are supported`);
  // Exported from the public half only, so `d` and every other private member are absent by construction.
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: "jwk" });
  if (!kty || !crv || !x) throw new Error(`key ${kid}: could not export its public half`);
  return { kid, alg, privateKey, publicJwk: { kty, crv, x, ...(y ? { y } : {}), kid, alg, use: "sig" } };
}

/**
 * Reads JWT_SIGNING_KEYS: a JSON array of private JWKs, each with a `kid`. The first signs; all are
 * published. Error messages name the key by position and kid, never by its contents.
 */
export function parseSigningKeys(json: string): SigningKey[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error("must be a JSON array of private JWKs");
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new Error("must be a non-empty JSON array of private JWKs");
  const keys = parsed.map((jwk: unknown, index) => {
    const kid = (jwk as { kid?: unknown } | null)?.kid;
    if (typeof kid !== "string" || kid.length === 0) throw new Error(`key ${index + 1}: "kid" is required`);
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: "jwk" });
    } catch {
      throw new Error(`key ${kid}: not a private JWK`);
    }
    const declared = (jwk as { alg?: unknown }).alg;
    const key = toSigningKey(privateKey, kid);
    if (declared !== undefined && declared !== key.alg)
      throw new Error(`key ${kid}: "alg" ${String(declared)} does not fit the key`);
    return key;
  });
  const kids = keys.map((key) => key.kid);
  const repeated = kids.find((kid, index) => kids.indexOf(kid) !== index);
  if (repeated !== undefined) throw new Error(`kid ${repeated} is used twice`);
  return keys;
}

/** A fresh ES256 key, named by its RFC 7638 thumbprint: for local runs without configured keys. */
export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const { crv, kty, x, y } = createPublicKey(privateKey).export({ format: "jwk" });
  const thumbprint = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url");
  return toSigningKey(privateKey, thumbprint);
}

/** The JWKS document: the public half of every key. */
export function publicJwks(keys: readonly SigningKey[]): { keys: PublicJwk[] } {
  return { keys: keys.map((key) => key.publicJwk) };
}
