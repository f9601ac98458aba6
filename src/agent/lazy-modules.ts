// Parts of dockerode that berth never uses, left unloaded until something calls them: they cost a
// berth agent memory on every node (bench/agent-rss.ts).
// - docker-modem loads ssh2 at its own load, for `ssh://` Docker hosts, which berth never dials (a
//   `--docker` is a socket or tcp://). ssh2 brings a WebAssembly module with 16 MiB of memory, crypto
//   code and their sources: about 2.5 MB of resident memory.
// - dockerode loads its BuildKit session (lib/session.js) at its own load, for `buildImage` with a
//   session, which berth never calls: it brings @grpc/grpc-js, @grpc/proto-loader and protobufjs
//   (about 1 MB of their sources, and what V8 makes of them).
// Each module is put into the CommonJS cache as a stand-in function that loads the real one on its
// first call, so nothing changes but when the module is loaded.
import Module, { createRequire } from 'node:module';

const fromDockerode = createRequire(createRequire(import.meta.url).resolve('dockerode'));

/** Put a stand-in for the module at `file` (which exports one function) into `req`'s cache. */
function defer(req: NodeJS.Require, file: string): void {
  if (req.cache[file] !== undefined) return;
  const lazy = new Module(file);
  lazy.filename = file;
  lazy.loaded = true;
  lazy.exports = function deferred(this: unknown, ...args: unknown[]): unknown {
    // The first call: drop the stand-in and load the module itself.
    Reflect.deleteProperty(req.cache, file);
    const real = req(file) as (...a: unknown[]) => unknown;
    return real.apply(this, args);
  };
  req.cache[file] = lazy;
}

defer(fromDockerode, createRequire(fromDockerode.resolve('docker-modem')).resolve('./ssh.js'));
defer(fromDockerode, fromDockerode.resolve('./session.js'));
