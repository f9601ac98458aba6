// Values test/support/global-setup.ts provides to integration tests via `inject(...)`.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** etcd client URL, e.g. `http://127.0.0.1:40123`. */
    etcdEndpoint: string;
    /** DOCKER_HOST form: `unix:///…/docker.sock` or `tcp://host:port`. */
    dockerHost: string;
    /** A local busybox image (`berth-test/busybox:1`) with every applet, httpd included. */
    testImage: string;
    /** Directory of the bare repositories the git server serves (see repo.ts createRepo). */
    gitRoot: string;
    /** `http://127.0.0.1:<port>`: `<gitBaseUrl>/<name>.git` serves `<gitRoot>/<name>.git`. */
    gitBaseUrl: string;
    /** `127.0.0.1:<port>` of a Docker registry (registry.ts): push with pushImage, then pull `<registry>/<repo>:<tag>`. */
    registry: string;
  }
}
