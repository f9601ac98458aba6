import { isScalar } from 'yaml';
import { quote } from './text.js';
import { describe, sourceOf, type Schema } from './schema.js';
// Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource): a decimal number, then a
// binary suffix (Ki…Ei), a decimal suffix (m, k, M…E) or an exponent (e6, E-3). Arithmetic is
// exact (BigInt), and reading rounds up as Kubernetes' MilliValue()/Value() do: memory "100m" is
// 0.1 byte, which Kubernetes reads as 1.

const NUMBER = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(.*)$/;

const DECIMAL: Readonly<Record<string, number>> = { m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// Beyond this a quantity is nonsense for cpu or memory, and BigInt powers would only waste time.
const MAX_EXPONENT = 400;

/** A quantity read at a scale: `cpu` in millicores, `memory` in bytes; or what is wrong with the text. */
export type QuantityReading = { ok: true; value: number } | { ok: false; message: string };

/** Reads a quantity the way Kubernetes does: cpu as millicores ("100m" → 100, "0.5" → 500), memory as bytes ("64Mi" → 67108864). */
export function readQuantity(text: string, resource: 'cpu' | 'memory'): QuantityReading {
  const example = resource === 'cpu' ? '"100m", "0.5" or "2"' : '"64Mi", "1G" or "129e6"';
  const invalid = { ok: false, message: `${quote(text)} is not a valid quantity (e.g. ${example})` } as const;
  // Kubernetes trims surrounding spaces when it decodes a quantity.
  const match = NUMBER.exec(text.trim());
  if (match === null) return invalid;
  const [, sign = '', number = '', suffix = ''] = match;
  const exponent = suffixExponent(suffix);
  if (exponent === undefined) return invalid;
  if (sign === '-' && /[1-9]/.test(number)) return { ok: false, message: `${quote(text)} must not be negative` };

  const [whole = '', fraction = ''] = number.split('.');
  const mantissa = BigInt(`${whole}${fraction}` || '0');
  const exp10 = exponent.ten - fraction.length + (resource === 'cpu' ? 3 : 0);
  const tooLarge = { ok: false, message: `${quote(text)} is too large` } as const;
  if (mantissa === 0n) return { ok: true, value: 0 };
  if (exp10 > MAX_EXPONENT) return tooLarge;
  if (exp10 < -MAX_EXPONENT) return { ok: true, value: 1 }; // a sliver above zero rounds up to one unit
  const scaled = mantissa * 2n ** BigInt(exponent.two);
  const value = exp10 >= 0 ? scaled * 10n ** BigInt(exp10) : ceilDivide(scaled, 10n ** BigInt(-exp10));
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return tooLarge;
  return { ok: true, value: Number(value) };
}

function ceilDivide(n: bigint, d: bigint): bigint {
  return (n + d - 1n) / d;
}

function suffixExponent(suffix: string): { ten: number; two: number } | undefined {
  if (Object.hasOwn(DECIMAL, suffix)) return { ten: DECIMAL[suffix] ?? 0, two: 0 };
  if (Object.hasOwn(BINARY, suffix)) return { ten: 0, two: BINARY[suffix] ?? 0 };
  // A lone "E" is exa (above); "e3", "E-3" are exponents.
  const exp = /^[eE]([+-]?[0-9]+)$/.exec(suffix);
  if (exp === null) return undefined;
  return { ten: Number(exp[1]), two: 0 };
}

/** A quantity, read from its text (YAML numbers included: `cpu: 0.5`, `memory: 129e6`). */
export function quantity(resource: 'cpu' | 'memory'): Schema<number> {
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) {
      cx.report(node, `must be a quantity such as ${resource === 'cpu' ? '"100m"' : '"64Mi"'}, not ${describe(node)}`);
      return undefined;
    }
    // A number is read from its text, as Kubernetes reads a JSON number: no float rounding on the way.
    const reading = readQuantity(typeof node.value === 'string' ? node.value : sourceOf(node), resource);
    if (reading.ok) return reading.value;
    cx.report(node, reading.message);
    return undefined;
  };
}

