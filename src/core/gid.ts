import { randomBytes } from "node:crypto";

const ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"; // base57, as dtm's shortuuid
const LENGTH = 22;

/** A fresh 22-character base57 global id (the shape of dtm's gids). */
export function newGid(): string {
  let out = "";
  while (out.length < LENGTH) {
    for (const b of randomBytes(32)) {
      // 6 random bits, rejection-sampled so every letter is equally likely
      const v = b & 63;
      if (v < ALPHABET.length && out.length < LENGTH) out += ALPHABET[v];
    }
  }
  return out;
}
