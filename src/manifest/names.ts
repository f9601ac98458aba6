import { quote } from './text.js';
// Name rules as Kubernetes validates them (k8s.io/apimachinery/pkg/util/validation). Each check
// returns what is wrong, or undefined: the caller adds the field path and position.

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** A DNS-1123 label (namespaces, container names): `my-name`, at most 63 characters. */
export function checkDnsLabel(s: string): string | undefined {
  if (s.length <= 63 && LABEL.test(s)) return undefined;
  return `${quote(s)} is not a valid DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "my-name")`;
}

/** A DNS-1123 subdomain (object names): labels joined by '.', at most 253 characters. */
export function checkDnsSubdomain(s: string): string | undefined {
  if (s.length <= 253 && SUBDOMAIN.test(s)) return undefined;
  return `${quote(s)} is not a valid DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. "example.com")`;
}

/** A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain, the name up to 63 characters. */
export function checkQualifiedName(s: string): string | undefined {
  const slash = s.indexOf('/');
  const prefix = slash === -1 ? undefined : s.slice(0, slash);
  const name = slash === -1 ? s : s.slice(slash + 1);
  if (prefix !== undefined && (prefix.length === 0 || checkDnsSubdomain(prefix) !== undefined)) {
    return `${quote(s)} is not a valid key: the prefix before '/' must be a DNS-1123 subdomain (e.g. "example.com/name")`;
  }
  if (name.length <= 63 && QUALIFIED.test(name)) return undefined;
  return `${quote(s)} is not a valid key: the name must be at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (e.g. "app.kubernetes.io/name")`;
}

/** A label value: empty, or up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit. */
export function checkLabelValue(s: string): string | undefined {
  if (s === '' || (s.length <= 63 && QUALIFIED.test(s))) return undefined;
  return `${quote(s)} is not a valid label value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
}

/** A port name (IANA service name): up to 15 lowercase letters, digits and '-', with a letter, no '--', no '-' at the ends. */
export function checkPortName(s: string): string | undefined {
  const ok = s.length >= 1 && s.length <= 15 && /^[-a-z0-9]+$/.test(s) && /[a-z]/.test(s) && !s.includes('--') && !s.startsWith('-') && !s.endsWith('-');
  if (ok) return undefined;
  return `${quote(s)} is not a valid port name: at most 15 lowercase letters, digits and '-', with at least one letter, no '--', not starting or ending with '-' (e.g. "http")`;
}

/** An environment variable name: letters, digits, '_', '-' and '.', not starting with a digit. */
export function checkEnvName(s: string): string | undefined {
  if (ENV_NAME.test(s)) return undefined;
  return `${quote(s)} is not a valid environment variable name: letters, digits, '_', '-' and '.', not starting with a digit (e.g. "MY_VAR")`;
}

/** A ConfigMap key: letters, digits, '-', '_' and '.', at most 253 characters, not "." or "..". */
export function checkConfigMapKey(s: string): string | undefined {
  if (s.length <= 253 && CONFIG_KEY.test(s) && s !== '.' && s !== '..') return undefined;
  return `${quote(s)} is not a valid ConfigMap key: at most 253 letters, digits, '-', '_' and '.' (e.g. "app.properties")`;
}
