// docker-modem loads ssh2 at its own load, for `ssh://` Docker hosts, which berth never dials (a
// `--docker` is a socket or tcp://). ssh2 brings a WebAssembly module with 16 MiB of memory, crypto
// code and their sources: about 2.5 MB of a berth agent's resident memory (bench/agent-rss.ts), on
// every node. Its module is put into the CommonJS cache here as a stand-in that loads the real one
// on first use, so nothing changes but when ssh2 is loaded.
import Module, { createRequire } from 'node:module';

const fromDockerode = createRequire(createRequire(import.meta.url).resolve('dockerode'));
const sshPath = createRequire(fromDockerode.resolve('docker-modem')).resolve('./ssh.js');

if (fromDockerode.cache[sshPath] === undefined) {
  const lazy = new Module(sshPath);
  lazy.filename = sshPath;
  lazy.loaded = true;
  lazy.exports = function ssh(this: unknown, ...args: unknown[]): unknown {
    // The first SSH connection: drop the stand-in and load docker-modem's own transport (and ssh2).
    Reflect.deleteProperty(fromDockerode.cache, sshPath);
    const real = fromDockerode(sshPath) as (...a: unknown[]) => unknown;
    return real.apply(this, args);
  };
  fromDockerode.cache[sshPath] = lazy;
}
