// dockerode as the agent loads it: docker-modem's SSH transport left unloaded until used.
// NOTE: the first import, before dockerode's: its side effect must run before docker-modem loads.
import './lazy-modules.js';
import Docker from 'dockerode';
import type { DockerHost } from './docker-host.js';

/** dockerode's client class (see lazy-modules.ts for what is left unloaded). */
export default Docker;

/**
 * A client of the engine at `host`. NOTE: dockerode merges DOCKER_HOST into its defaults; every
 * connection key is set here so the resolved host wins. No `version`: dockerode does not negotiate
 * and a pin above 1.41 breaks 20.10.
 */
export function dockerClient(host: DockerHost): Docker {
  return new Docker(
    host.kind === 'socket'
      ? { socketPath: host.socketPath, host: undefined, port: undefined, protocol: 'http' }
      : { socketPath: undefined, host: host.host, port: host.port, protocol: 'http' },
  );
}
