#!/usr/bin/env node
import { Command, Option } from 'commander';
import { BerthError, messageOf } from '../errors.js';
import { runValidate } from './validate.js';
import { OUTPUT_FORMATS } from './format.js';
import { runGet, type GetFlags } from './get.js';
import { runEvents, runHistory, type HistoryFlags } from './history.js';
import { runStatus } from './status.js';
import type { ReadFlags } from './connect.js';
import { runComponent, runUp, type ConnectionFlags, type UpFlags } from './up.js';

const program = new Command('berth')
  .description('GitOps reconciler for containers: git push → etcd → scheduler → node agents → Docker')
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

const connection = (cmd: Command): Command =>
  cmd
    .option('--etcd <urls>', 'etcd endpoints, comma-separated (`berth up` starts its own etcd without it)')
    .option('--prefix <prefix>', 'etcd key prefix', '/berth')
    .option('--docker <socket|url>', 'Docker engine (default: DOCKER_HOST, then /var/run/docker.sock)')
    .option('--log-level <level>', 'log level: debug, info, warn, error', 'info');

const source = (cmd: Command): Command =>
  cmd
    .requiredOption('--repo <url|path>', 'Git repository: an http(s) URL or a local path')
    .option('--branch <branch>', 'branch to follow', 'main')
    .option('--path <dir>', 'folder of the repository holding the manifests', '.')
    .option('--source <name>', 'name of this source in etcd', 'default')
    .option('--interval <duration>', 'poll interval (local repositories are also watched)', '30s')
    .option('--skip-kind <kind...>', 'kinds to leave alone on purpose (e.g. Service, for a repository that also feeds Kubernetes)', [])
    .addOption(new Option('--status <reporter>', 'where commit statuses go: git notes (refs/notes/berth, pushed to a remote) or nowhere').choices(['git-notes', 'none']).default('git-notes'))
    .option('--data-dir <dir>', 'where berth keeps its etcd and repository mirrors', '.berth');

const agent = (cmd: Command): Command =>
  cmd
    .option('--node <name>', 'node name of this agent (default: the hostname)')
    .option('--host-ip <ip>', 'address that hostPorts bind to', '0.0.0.0')
    .option('--label <key=value>', 'a label of this node, for nodeSelector (repeat for more; shown by `berth get nodes`)', (v: string, all: string[]) => [...all, v], [] as string[]);

connection(agent(source(program.command('up').description('run every component in one process: sync, controller, scheduler, agent'))))
  .action((flags: UpFlags) => runUp(flags));

connection(source(program.command('sync').description('run the Git sync of one source'))).action((flags: UpFlags) => runComponent('sync', flags));
connection(program.command('controller').description('run the controller: deployments → pods')).action((flags: ConnectionFlags) =>
  runComponent('controller', flags),
);
connection(program.command('scheduler').description('run the scheduler: pods → nodes')).action((flags: ConnectionFlags) =>
  runComponent('scheduler', flags),
);
connection(agent(program.command('agent').description('run the node agent: bindings → Docker containers'))).action((flags: UpFlags) =>
  runComponent('agent', flags),
);

program
  .command('validate')
  .description('validate manifest files or folders; exit 0 if valid, 1 with file:line:col: message lines if not')
  .argument('<paths...>', 'files or folders')
  .option('--skip-kind <kind...>', 'kinds to leave alone on purpose', [])
  .addOption(new Option('-q, --quiet', 'print errors only'))
  .action(async (paths: string[], flags: { quiet?: boolean; skipKind: string[] }) => {
    process.exitCode = await runValidate(paths, flags);
  });

// The read commands: kubectl's shape, against the etcd that the components write.
const reading = (cmd: Command): Command =>
  cmd
    .option('--etcd <urls>', 'etcd endpoints, comma-separated (default: the etcd of `berth up` under --data-dir, else http://127.0.0.1:2379)')
    .option('--data-dir <dir>', 'data dir of a `berth up` on this machine, to find its etcd', '.berth')
    .option('--prefix <prefix>', 'etcd key prefix', '/berth')
    .option('--log-level <level>', 'log level: debug, info, warn, error (error hides warnings about unreadable records)', 'info')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'));

reading(
  program
    .command('get')
    .description('list pods, deployments or nodes (or show one by NAME), across every namespace unless -n is given')
    .argument('<kind>', 'pods (po), deployments (deploy) or nodes (no)')
    .argument('[name]', 'show only this one; exit 1 if it does not exist')
    .option('-n, --namespace <namespace>', 'only this namespace (and no NAMESPACE column)')
    .option('-A, --all-namespaces', 'every namespace (the default: berth has no current namespace); wins over -n')
    .addHelpText(
      'after',
      '\nberth has no current context, so unlike kubectl, `get` lists every namespace\n' +
        'by default, with a NAMESPACE column; -n filters. -o json|yaml prints\n' +
        '{items: [...]}, or the object itself for one NAME.\n' +
        'Deployments: READY is ready pods/replicas, UP-TO-DATE the pods on the current\n' +
        'template, AVAILABLE the ready ones among those (berth has no minReadySeconds).',
    ),
).action((kind: string, name: string | undefined, flags: GetFlags) => runGet(kind, name, flags));

reading(
  program
    .command('history')
    .description('every commit sync looked at (applied, rejected, unchanged), oldest first, newest last')
    .option('--source <name>', 'only this source')
    .option('--limit <n>', 'only the newest n')
    .addHelpText('after', "\nThe table counts a rejected commit's errors; -o json|yaml lists them\n(file:line:col: message)."),
).action((flags: HistoryFlags) => runHistory(flags));

reading(program.command('events').description('recent events (scheduled, started, drifted, healed, failed), oldest first')).action((flags: ReadFlags) =>
  runEvents(flags),
);

reading(
  program.command('status').description('per source: the commit in force (and a newer rejected one), then its deployments and their readiness'),
).action((flags: ReadFlags) => runStatus(flags));

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`berth: ${messageOf(err)}\n`);
  if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  process.exit(err instanceof BerthError ? 1 : 70);
}
