// dockerode as the agent loads it: docker-modem's SSH transport left unloaded until used.
// NOTE: the first import, before dockerode's: its side effect must run before docker-modem loads.
import './lazy-ssh.js';
import Docker from 'dockerode';

/** dockerode's client class (see lazy-ssh.ts for what is left unloaded). */
export default Docker;
