/**
 * Password hashing with scrypt from node:crypto.
 *
 * Why scrypt: it is memory-hard (guessing at scale costs memory, not just compute, which blunts GPUs and
 * ASICs), it ships with Node (no native add-on to build or audit), and it runs on libuv's thread pool, so a
 * sign-in never blocks the event loop. The parameters N=2^14, r=8, p=5 are one of OWASP's equal-strength
 * scrypt settings (as strong as N=2^17, p=1) and the one with the least memory per hash (16 MiB), which
 * matters when several sign-ins hash at once in a service meant to stay under 150 MB. A hash takes about
 * 0.2 s on the 2-core reference machine.
 *
 * The stored string is self-describing, PHC style: `$scrypt$ln=14,r=8,p=5$<salt>$<hash>` (base64, no
 * padding). Each user has their own random salt, and because the parameters travel with the hash they can
 * be raised later without invalidating the hashes already stored.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

interface ScryptParameters {
  /** log2 of N, the CPU/memory cost. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelisation (run one after the other by Node, so it multiplies the time, not the memory). */
  p: number;
}

const CURRENT: ScryptParameters = { ln: 14, r: 8, p: 5 };
const SALT_BYTES = 16;
const HASH_BYTES = 32;

const storedFormat = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function derive(
  password: string,
  salt: Buffer,
  { ln, r, p }: ScryptParameters,
  length = HASH_BYTES,
): Promise<Buffer> {
  // scrypt needs about 128·N·r bytes; Node refuses anything above maxmem (32 MiB by default).
  const options: ScryptOptions = { N: 2 ** ln, r, p, maxmem: 2 * 128 * 2 ** ln * r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, length, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}

const base64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");

/** Hashes a password with a fresh random salt and the current parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, CURRENT);
  const { ln, r, p } = CURRENT;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${base64(salt)}$${base64(hash)}`;
}

/**
 * Whether `password` matches a stored hash, with the salt and parameters the hash was made with. The
 * comparison takes the same time wherever the bytes differ. A stored string that is not a hash we made
 * is a data fault, not a wrong password: it throws.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = storedFormat.exec(stored);
  const [ln, r, p] = [match?.[1], match?.[2], match?.[3]].map(Number) as [number, number, number];
  if (!match?.[4] || !match[5] || !(ln >= 1 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) {
    throw new Error("stored password hash is malformed");
  }
  const expected = Buffer.from(match[5], "base64");
  if (expected.length < SALT_BYTES) throw new Error("stored password hash is malformed");
  const actual = await derive(password, Buffer.from(match[4], "base64"), { ln, r, p }, expected.length);
  return timingSafeEqual(actual, expected);
}
