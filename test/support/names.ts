import { randomBytes } from 'node:crypto';

/**
 * A short unique DNS-1123 label, e.g. `uniqueName('sync')` → `sync-k3f9x2a7`:
 * lowercase letters, digits and '-', starting with a letter, at most 30
 * characters. Tests use it for their own etcd key prefix, node names and
 * Docker label values, so parallel files and reruns never collide.
 */
export function uniqueName(prefix = 't'): string {
  let head = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 20)
    .replace(/-+$/, '');
  if (head === '') head = 't';
  return `${head}-${suffix()}`;
}

// 8 characters of base 36 from 6 random bytes: ~41 bits, collisions negligible.
function suffix(): string {
  return BigInt(`0x${randomBytes(6).toString('hex')}`).toString(36).padStart(8, '0').slice(-8);
}
