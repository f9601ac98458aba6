import { describe, expect, it } from 'vitest';
import { checkConfigMapKey, checkDnsLabel, checkDnsSubdomain, checkEnvName, checkLabelValue, checkPortName, checkQualifiedName } from '../../../src/manifest/names.js';

describe('name rules', () => {
  const cases = [
    [checkDnsLabel, 'web', true],
    [checkDnsLabel, 'web-1', true],
    [checkDnsLabel, '1web', true],
    [checkDnsLabel, 'a'.repeat(63), true],
    [checkDnsLabel, 'a'.repeat(64), false],
    [checkDnsLabel, 'Web', false],
    [checkDnsLabel, 'web.1', false],
    [checkDnsLabel, '-web', false],
    [checkDnsLabel, '', false],
    [checkDnsSubdomain, 'web.example', true],
    [checkDnsSubdomain, 'web..example', false],
    [checkDnsSubdomain, 'web_1', false],
    [checkQualifiedName, 'app', true],
    [checkQualifiedName, 'app.kubernetes.io/name', true],
    [checkQualifiedName, 'App_Name.x', true],
    [checkQualifiedName, '/name', false],
    [checkQualifiedName, 'Example.com/name', false],
    [checkQualifiedName, 'a/b/c', false],
    [checkQualifiedName, '-app', false],
    [checkLabelValue, '', true],
    [checkLabelValue, 'v1.2_x-y', true],
    [checkLabelValue, 'a b', false],
    [checkLabelValue, 'x'.repeat(64), false],
    [checkPortName, 'http', true],
    [checkPortName, 'http-metrics', true],
    [checkPortName, 'grpc2', true],
    [checkPortName, '8080', false],
    [checkPortName, 'http--x', false],
    [checkPortName, 'a-very-long-port-name', false],
    [checkEnvName, 'MY_VAR', true],
    [checkEnvName, 'my.var-1', true],
    [checkEnvName, '1VAR', false],
    [checkEnvName, 'A=B', false],
    [checkConfigMapKey, 'app.properties', true],
    [checkConfigMapKey, '..', false],
    [checkConfigMapKey, 'a/b', false],
  ] as const;
  it.each(cases.map(([check, name, valid]) => [`${check.name}(${JSON.stringify(name)}) is ${valid ? 'valid' : 'invalid'}`, check, name, valid] as const))('%s', (_, check, name, valid) => {
    expect(check(name) === undefined).toBe(valid);
  });

  it('says what is wrong and how a good one looks', () => {
    expect(checkDnsLabel('Web_1')).toBe(
      `"Web_1" is not a valid DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. "my-name")`,
    );
  });
});
