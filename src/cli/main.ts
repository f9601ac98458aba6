#!/usr/bin/env node
import { berthVersion } from '../version.js';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BerthError, UsageError, messageOf } from '../errors.js';
import { DEFAULT_SERVER, GET_FORMATS, OUTPUT_FORMATS } from './choices.js';
import type { GetFlags } from './get.js';
import type { HistoryFlags } from './history.js';
import { DEFAULT_RETENTION } from '../events/retention.js';
import { DEFAULT_HISTORY_LIMIT } from '../sync/retention.js';
import { DEFAULT_LIMITS, formatBytes } from '../manifest/limits.js';
import type { ReadFlags } from './connect.js';
import type * as UpModule from './up.js';
import type { ConnectionFlags, ControllerFlags, UpFlags } from './up.js';
import type { ValidateFlags } from './validate.js';
import type { ApiFlags } from './api.js';
import { LOG_FORMATS, LOG_LEVELS } from '../log.js';
import { ALLOW_RULES } from '../agent/policy.js';
import type { RollbackFlags, VerbFlags } from './verbs.js';
import type { ExecFlags } from './exec.js';
import type { LogsFlags } from './logs.js';
import type { DiffFlags } from './diff.js';
import type { DescribeFlags } from './describe.js';

// Each command imports what it runs when it runs: `berth validate` (in CI) loads no etcd, Docker
// or Git client, and starts in a fraction of the time.
const up = (): Promise<typeof UpModule> => import('./up.js');

// `berth … | head -1` closes the pipe early: that ends the output, it is no error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const REPORTERS = ['git-notes', 'github', 'gitea', 'gitlab', 'none'];
const DEFAULT_REPORTERS = ['git-notes'];
/** `--status`, repeatable: the first one given replaces the default. */
const reporters = (value: string, all: string[]): string[] => {
  if (!REPORTERS.includes(value)) throw new InvalidArgumentError(`Allowed choices are ${REPORTERS.join(', ')}.`);
  return [...(all === DEFAULT_REPORTERS ? [] : all), value];
};

/** Repeatable, and comma-separated: `--skip-kind Service --skip-kind Ingress,Secret`. Never swallows the paths after it. */
const kinds = (value: string, all: string[]): string[] => [...all, ...value.split(',').map((k) => k.trim()).filter((k) => k !== '')];


const program = new Command('berth')
  .description('GitOps reconciler for containers: git push → etcd → scheduler → node agents → Docker')
  .version(berthVersion(), '-V, --version', 'print the version of berth')
  .showHelpAfterError()
  .exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });

/** TLS and user/password auth to etcd, on every command that opens it (README: Securing etcd). */
const etcdSecurity = (cmd: Command): Command =>
  cmd
    .option('--etcd-ca <file>', "CA certificate (PEM) that signed etcd's: talk TLS to https:// --etcd endpoints")
    .option('--etcd-cert <file>', 'client certificate (PEM) for an etcd run with --client-cert-auth (with --etcd-key)')
    .option('--etcd-key <file>', 'private key (PEM, mode 0600) of --etcd-cert')
    .option('--etcd-user <name>', 'etcd user, for an etcd with auth enabled (with --etcd-password-file)')
    .option('--etcd-password-file <file>', 'password of --etcd-user (mode 0600)');

/** The flags to reach etcd (and Docker, for the commands that run an agent): each command offers only what it uses. */
const connection = (cmd: Command, uses: { docker: boolean; ownEtcd?: boolean }): Command => {
  cmd
    .option('--etcd <urls>', uses.ownEtcd ? 'etcd endpoints, comma-separated (without it, berth up starts its own etcd under --data-dir)' : 'etcd endpoints, comma-separated (default: http://127.0.0.1:2379)')
    .option('--prefix <prefix>', 'etcd key prefix', '/berth');
  etcdSecurity(cmd);
  if (uses.docker) cmd.option('--docker <socket|url>', 'Docker engine (default: DOCKER_HOST, then /var/run/docker.sock)');
  return cmd
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines as JSON, or pretty for a person; auto: pretty when stderr is a terminal').choices(LOG_FORMATS).default('auto'));
};

/** `--metrics-listen`: the components run alone serve their own /metrics (an API server shows those of its process). */
const metrics = (cmd: Command): Command =>
  cmd.option('--metrics-listen <host:port>', "serve this process's Prometheus metrics on http://host:port/metrics (no token: keep it on loopback or a private network); off when absent");

/** How much of a repository berth reads (src/manifest/limits.ts); sync and validate take the same. */
const sizes = (cmd: Command): Command =>
  cmd
    .option('--max-file-size <size>', `most bytes of one manifest file, a quantity such as 2Mi (default ${formatBytes(DEFAULT_LIMITS.fileBytes)})`)
    .option('--max-commit-size <size>', `most bytes of the manifest files of a commit together, a quantity such as 50M (default ${formatBytes(DEFAULT_LIMITS.commitBytes)})`);

const source = (cmd: Command, keeps = 'its repository mirrors'): Command =>
  sizes(cmd)
    .option('--repo <url|path>', 'Git repository: an http(s) URL or a local path (or --config)')
    .option('--config <file>', 'several sources from a YAML file (README: Several sources) instead of --repo and the flags of one source')
    .option('--branch <branch>', 'branch to follow', 'main')
    .option('--history-limit <n>', "history records kept in etcd per source (each commit sync looked at), with their commits' statuses; older ones are pruned (the commit in force stays)", String(DEFAULT_HISTORY_LIMIT))
    .option('--path <dir>', 'folder of the repository holding the manifests', '.')
    .option('--repo-credentials-file <file>', 'user name and password or token for an http(s) --repo (mode 0600; format in the README); else the URL\'s own or BERTH_REPO_USERNAME/BERTH_REPO_PASSWORD or BERTH_REPO_TOKEN')
    .option('--verify-commits <keyring>', 'apply only a head signed by a key of this file: armored OpenPGP public keys and/or SSH allowed-signers lines (README: Signed commits)')
    .option('--source <name>', 'name of this source in etcd', 'default')
    .option('--interval <duration>', 'poll interval (local repositories are also watched)', '30s')
    .option('--skip-kind <kind>', 'a kind to leave alone on purpose (e.g. Service, for a repository that also feeds Kubernetes); repeat it or separate kinds with commas', kinds, [] as string[])
    .option('--allow-plain-secrets', 'apply Secrets that are not encrypted with sops (their values then sit in plain text in etcd, as in the repository); default: such a commit is refused at the Secret\'s line')
    .option('--status <reporter>', `where commit statuses go: git notes (refs/notes/berth, pushed to a remote), a forge's commit statuses, or nowhere; one of ${REPORTERS.join(', ')}; repeat it for notes and a forge`, reporters, DEFAULT_REPORTERS)
    .option('--forge-url <url>', 'the forge API\'s base URL (default: api.github.com for github.com, else <host>/api/v3, /api/v1 for Gitea, /api/v4 for GitLab)')
    .option('--forge-token-file <file>', 'API token that may write commit statuses (mode 0600), for --status github|gitea|gitlab')
    .option('--public-url <url>', 'where people reach berth\'s API: each forge status links to its commit\'s story there')
    .option('--status-context-suffix <suffix>', 'forge status contexts become berth/sync/<suffix> and berth/health/<suffix> (several berths on one repository)')
    .option('--auto-revert', 'when the commit in force fails its health for a reason its rollout caused (crash loop, image pull failure, progress deadline), push a revert commit of it as `berth rollback` would (README: Automatic revert)')
    .option('--data-dir <dir>', `where berth keeps ${keeps}`, '.berth');

/** The flags given on the command line, by long name (--config refuses the source flags beside it). */
const given = (cmd: Command): string[] => cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long ?? '');

const agent = (cmd: Command): Command =>
  cmd
    .option('--node <name>', 'node name of this agent (default: the hostname)')
    .option('--host-ip <ip>', 'address that hostPorts bind to', '0.0.0.0')
    .option('--pod-network <name>', 'Docker bridge network of the pods (made when missing, with a subnet whose upper half holds the static addresses of pods of one container; agents on one engine may share it)', 'berth')
    .option('--sandbox-image <image>', 'image of the pod sandboxes, which hold each pod\'s network (build the default with scripts/build-image.sh --sandbox berth/sandbox:1)', 'berth/sandbox:1')
    .option('--service-image <image>', 'image of the Service stubs on --pod-network (built on the node from its own iptables and busybox when missing)', 'berth/service-proxy:1')
    .option('--address <ip>', "this node's address for other nodes, reported as the node's ADDRESS and each pod's hostIP (default: the first IPv4 of an interface that is neither loopback nor a Docker bridge)")
    .option('--label <key=value>', 'a label of this node, for nodeSelector (repeat for more; shown by `berth get nodes`)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--allow <rules>', `what only this node's operator may let pods do, comma-separated or repeated: ${ALLOW_RULES.join(', ')} (a pod asking for more is refused, its status naming the rule)`, (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--age-key-file <file>', "age identities (age-keygen's file, mode 0600) that decrypt the sops-encrypted Secrets of this node's pods; a pod whose Secret it cannot open gets CreateContainerConfigError")
    .option('--registry-auth-file <file>', 'Docker config.json with registry credentials for pulls (default: $DOCKER_CONFIG/config.json, then ~/.docker/config.json of the agent\'s user; read again when it changes)')
    .option('--node-lease-ttl <duration>', 'TTL of the node\'s lease in etcd, whole seconds: this long after the agent dies its node is NotReady (stretched in clusters of more than 50 nodes)', '4s')
    .option('--node-lease-renew <duration>', 'how often the agent renews its node\'s lease (shorter than --node-lease-ttl)', '1s')
    .option('--no-self-fence', 'keep this node\'s pods running when its lease expires (etcd unreachable); by default the agent stops them then, as they may be made again on other nodes');

/** The controller's flags (`berth controller`, and inside `berth up`). */
const controlling = (cmd: Command): Command =>
  cmd.option('--node-grace <duration>', 'how long a node may be NotReady (its lease expired) before its pods are deleted and made again on other nodes', '5s');

/** Where the API server is, for the commands that talk to it. */
const server = (cmd: Command): Command =>
  cmd
    .option('--server <url>', `the API server (default: BERTH_SERVER, else the one a \`berth up\` in --data-dir names, else ${DEFAULT_SERVER})`)
    .option('--token-file <file>', 'the API token (default: BERTH_TOKEN, else api-token in --data-dir when the server is that of --data-dir)');

/** The API server's flags (`berth api`, and inside `berth up`). */
const serving = (cmd: Command): Command =>
  cmd
    .option('--listen <host:port>', 'where the API server listens (/api/v1, /healthz, /readyz, /metrics)', '127.0.0.1:7420')
    .option('--token-file <file>', 'bearer token for writes and for reads from other machines (default: api-token in --data-dir; generated with mode 0600 if absent)');

connection(controlling(serving(agent(source(program.command('up').description('run every component in one process: sync, controller, scheduler, agent, API server'), 'its etcd, repository mirrors and pod volumes')))), { docker: true, ownEtcd: true })
  .option('--webhook-secret-file <file>', 'serve POST /hooks/github|gitea|gitlab|generic on --listen, checked against this secret (mode 0600): a push syncs its sources at once')
  .action(async (flags: UpFlags, cmd: Command) => (await up()).runUp({ ...flags, given: given(cmd) }));

// `berth sync --repo …` runs the component; `berth sync SOURCE` asks the API server for a sync now.
const syncCmd = program.command('sync').description('run the Git sync of one source, or of several (--config); or ask the API server to sync SOURCE now');
connection(metrics(server(source(syncCmd.argument('[source]', 'a source to sync now, through the API server')))), { docker: false })
  .addHelpText('after', '\nExamples:\n  berth sync --repo https://git.example.org/ops.git --etcd http://10.0.0.5:2379\n  berth sync default          # look at the branch of source "default" now')
  .action(async (name: string | undefined, flags: UpFlags & VerbFlags, cmd: Command) => {
    if (name !== undefined) return (await import('./verbs.js')).runSyncNow(name, { ...flags, output: 'table' });
    return (await up()).runComponent('sync', { ...flags, given: given(cmd) });
  });
connection(metrics(controlling(program.command('controller').description('run the controller: deployments → pods, endpoints, health, node lifecycle'))), { docker: false }).action(async (flags: ConnectionFlags & ControllerFlags) =>
  (await up()).runComponent('controller', flags),
);
connection(metrics(program.command('scheduler').description('run the scheduler: pods → nodes')), { docker: false }).action(async (flags: ConnectionFlags) =>
  (await up()).runComponent('scheduler', flags),
);
connection(agent(program.command('agent').description('run the node agent: bindings → Docker containers')), { docker: true })
  .option('--data-dir <dir>', "where the agent keeps its pods' volumes (ConfigMap files, emptyDirs) under pods/<node>/; Docker must see the same path", '.berth')
  .option('--listen <host:port>', "serve this node's pods' logs and exec here, for the API server to proxy `berth logs` and `berth exec` to (e.g. 0.0.0.0:10250, reached at --address); off when absent")
  .option('--token-file <file>', "with --listen: the API server's token, which every request must carry (default: api-token in --data-dir; copy it from the API server)")
  .addHelpText('after', '\nExample:\n  berth agent --etcd http://10.0.0.5:2379 --node web-1 --listen 0.0.0.0:10250 --token-file /etc/berth/api-token')
  .action(async (flags: Omit<UpFlags, 'listen'> & { listen?: string }) => (await import('./node-agent.js')).runAgent(flags));

connection(serving(program.command('api').description('run the API server: JSON reads, watches, a sync trigger and metrics over etcd')), { docker: false })
  .option('--data-dir <dir>', 'where the API token is kept (unless --token-file)', '.berth')
  .option('--webhook-secret-file <file>', 'serve POST /hooks/github|gitea|gitlab|generic on --listen, checked against this secret (mode 0600): a push syncs the sources following its repository and branch at once')
  .action(async (flags: ConnectionFlags & ApiFlags) => (await up()).runComponent('api', flags));

sizes(program
  .command('validate'))
  .description('validate manifest files or folders (or a commit, with --rev) as sync would; exit 0 if valid, 1 with file:line:col: message lines if not')
  .argument('[paths...]', 'files or folders (with --rev: one folder of the repository, default its root)')
  .option('--rev <commit>', 'check this commit (branch, tag, HEAD or id) of the repository instead of the working tree, exactly as sync reads it')
  .option('--repo <path>', 'the local repository of --rev (default: the current folder)')
  .option('--skip-kind <kind>', 'a kind to leave alone on purpose; repeat it or separate kinds with commas', kinds, [] as string[])
  .option('--allow-plain-secrets', 'accept Secrets that are not encrypted with sops, as a source with --allow-plain-secrets does')
  .addOption(new Option('-q, --quiet', 'print errors only'))
  .addHelpText(
    'after',
    '\nErrors go to stdout as file:line:col: message (at most 100, then "… and N more errors");\n' +
      'skipped links, special files and kinds, and warnings (YAML 1.1 spellings such as yes, on\n' +
      'or 010 that Kubernetes reads differently) go to stderr. Symbolic links are never followed,\n' +
      'only regular files are read, and a file is at most 1 MiB (a commit 10 MiB) unless\n' +
      '--max-file-size and --max-commit-size say otherwise.\n' +
      'Exit 0: valid. Exit 1: invalid, or no manifest file found (as `kubectl apply` refuses\n' +
      'an empty folder). Exit 2: usage (a path or revision that does not exist).',
  )
  .action(async (paths: string[], flags: ValidateFlags) => {
    const { runValidate } = await import('./validate.js');
    process.exitCode = await runValidate(paths, flags);
  });

// The read commands: kubectl's shape, through the API server (or etcd directly, with --etcd).
const reading = (cmd: Command, formats: readonly string[] = OUTPUT_FORMATS): Command =>
  etcdSecurity(server(cmd)
    .option('--etcd <urls>', 'read etcd directly, without an API server: endpoints, comma-separated'))
    .option('--data-dir <dir>', 'data dir of a `berth up` on this machine, to find its API server (or its etcd) and token', '.berth')
    .option('--prefix <prefix>', 'etcd key prefix (with --etcd)', '/berth')
    .addOption(new Option('--log-level <level>', 'log level (error hides warnings about unreadable records)').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(formats).default('table'));

reading(
  program
    .command('get')
    .description('list pods, deployments, services, endpoints or nodes (or show one by NAME), across every namespace unless -n is given')
    .argument('<kind>', 'pods (po), deployments (deploy), services (svc), endpoints (ep) or nodes (no)')
    .argument('[name]', 'show only this one; exit 1 if it does not exist')
    .option('-n, --namespace <namespace>', 'only this namespace (and no NAMESPACE column)')
    .option('-A, --all-namespaces', 'every namespace (the default: berth has no current namespace); wins over -n')
    .option('-w, --watch', 'after the list, print each row that changes (through the API server\'s event stream) until Ctrl-C')
    .addHelpText(
      'after',
      '\nberth has no current context, so unlike kubectl, `get` lists every namespace\n' +
        'by default, with a NAMESPACE column; -n filters. -o json|yaml prints\n' +
        '{items: [...]}, or the object itself for one NAME.\n' +
        'Deployments: READY is ready pods/replicas, UP-TO-DATE the pods on the current\n' +
        'template, AVAILABLE the ready ones among those (berth has no minReadySeconds).\n' +
        'Pods: -o wide adds the IP column (the pod\'s address on its node\'s pod network).\n' +
        'Services: PORT(S) as port[:nodePort]/TCP, ENDPOINTS the ready pods; endpoints: their podIP:port.',
    ),
  GET_FORMATS,
).action(async (kind: string, name: string | undefined, flags: GetFlags) => (await import('./get.js')).runGet(kind, name, flags));

reading(
  program
    .command('describe')
    .description('show one deployment, pod, node or source whole, as kubectl describe: conditions, the commit in force and its statuses, containers (state, last state, restarts, probes), capacity, pods and events')
    .argument('<kind>', 'deployment (deploy), pod (po), node (no) or source')
    .argument('<name>', 'its name; exit 1 if it does not exist')
    .option('-n, --namespace <namespace>', 'its namespace, for a deployment or pod (default: the one namespace with that name)'),
).action(async (kind: string, name: string, flags: DescribeFlags) => (await import('./describe.js')).runDescribe(kind, name, flags));

reading(
  program
    .command('history')
    .description('every commit sync looked at, applied (with its counts, zero when nothing changed) or rejected (with its errors), oldest first, newest last')
    .option('--source <name>', 'only this source')
    .option('--limit <n>', 'only the newest n')
    .addHelpText('after', "\nThe table counts a rejected commit's errors; -o json|yaml lists them\n(file:line:col: message)."),
).action(async (flags: HistoryFlags) => (await import('./history.js')).runHistory(flags));

reading(
  program
    .command('events')
    .description('what happened to pods and sources, kubectl-style, by the time it last happened, oldest first')
    .addHelpText(
      'after',
      '\nReasons: Scheduled (with the node), FailedScheduling (with the scheduler\'s reason),\n' +
        'Pulling, Pulled, Created, Started, Killing, BackOff, Failed, ErrImageNeverPull,\n' +
        'Drifted, Healed; from sync, Rejected (a commit it could not apply), Repaired\n' +
        '(desired state changed by hand, put back), AutoReverted and AutoRevertFailed\n' +
        '(--auto-revert). A repeat adds to the count of the\n' +
        'same event: LAST SEEN reads "10s (x4 over 5m)". Events are\n' +
        `kept for ${DEFAULT_RETENTION.maxAgeMs / 60_000} minutes after they last happened, at most ${DEFAULT_RETENTION.maxPerObject} per object and\n` +
        `${DEFAULT_RETENTION.maxTotal} in all.`,
    ),
).action(async (flags: ReadFlags) => (await import('./history.js')).runEvents(flags));

reading(
  program.command('status').description('per source: the commit in force (and a newer rejected one), then its deployments and their readiness'),
).action(async (flags: ReadFlags) => (await import('./status.js')).runStatus(flags));

const diffCmd = sizes(server(program
  .command('diff')
  .description("what applying the branch head (or --rev) would change in a source's desired state, as unified diffs of the objects (kubectl diff's shape); exit 0 no change, 1 changes, 2 error")))
  .option('--source <name>', 'the source whose desired state is compared', 'default')
  .option('--repo <url|path>', 'the repository: a local path or an http(s) URL (fetched into --data-dir)', '.')
  .option('--branch <branch>', 'the branch whose head is compared (unless --rev)', 'main')
  .option('--path <dir>', 'folder of the repository holding the manifests, as the source has it', '.')
  .option('--rev <commit>', 'compare this commit (branch, tag, HEAD or id) instead of the branch head')
  .option('--repo-credentials-file <file>', 'user name and password or token for an http(s) --repo (mode 0600; README: Private repositories)')
  .option('--skip-kind <kind>', 'kinds the source leaves alone (as its --skip-kind); repeat it or separate kinds with commas', kinds, [] as string[])
  .option('--allow-plain-secrets', 'accept Secrets that are not encrypted with sops (as the source\'s --allow-plain-secrets)')
  .option('--etcd <urls>', 'read etcd directly, without an API server: endpoints, comma-separated');
etcdSecurity(diffCmd)
  .option('--data-dir <dir>', 'data dir of a `berth up` on this machine, to find its API server (or its etcd) and token; mirrors of a remote --repo go there', '.berth')
  .option('--prefix <prefix>', 'etcd key prefix (with --etcd)', '/berth')
  .addOption(new Option('--log-level <level>', 'log level (error hides warnings about unreadable records)').choices(LOG_LEVELS).default('info'))
  .addHelpText(
    'after',
    '\nThe commit is read and checked exactly as sync reads it; the objects are compared in their\n' +
      'normalized form (defaults filled in), so the diff is what desired state would become.\n' +
      'A commit sync would reject prints its errors and exits 2.\n\nExample:\n  berth diff --rev HEAD~1 --source shop',
  )
  .action(async (flags: DiffFlags) => {
    process.exitCode = await (await import('./diff.js')).runDiff(flags);
  });

// The verbs: writes through the API server (they need its token).
const verb = (name: string, description: string, example: string): Command =>
  server(program.command(name).description(description))
    .option('--data-dir <dir>', 'data dir of a `berth up` on this machine, to find its API server and token', '.berth')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .addHelpText('after', `\nExample:\n  ${example}`);

verb('suspend', 'stop applying new commits of SOURCE (the commit in force stays, and keeps being healed) until `berth resume`; with --at, go back to an earlier applied commit and stay there', 'berth suspend default --at 3f2a9c1')
  .argument('<source>', 'the source')
  .option('--at <commit>', 'a commit the source applied (see `berth history`; its id or first 4+ digits): applied again and kept until `berth resume`; nothing is written to the branch')
  .action(async (name: string, flags: VerbFlags & { at?: string }) => (await import('./verbs.js')).runSuspend(name, flags));
verb('resume', 'apply the branch head of SOURCE again, after `berth suspend`', 'berth resume default')
  .argument('<source>', 'the source')
  .action(async (name: string, flags: VerbFlags) => (await import('./verbs.js')).runResume(name, flags));
verb('rollback', "push a commit to the source's branch that reverts COMMIT (git revert: a three-way revert with Git's own message), or with --to one that brings back the files of an earlier commit; sync applies it like any push", 'berth rollback 3f2a9c1')
  .argument('[commit]', 'the commit to revert: its id or first 4+ digits')
  .option('--to <commit>', 'instead, commit the files (the tree) of this earlier commit on top of the branch, undoing everything since')
  .option('--source <name>', 'the source whose branch it goes to (pushed with its credentials)', 'default')
  .addHelpText('after', '\nA revert that conflicts with later changes is refused, naming the files. A plain\n`git revert` and push does the same: either way the reverted commit\'s history and\nnote say `rolled back by <sha>`. `berth suspend --at` goes back without a commit.')
  .action(async (commit: string | undefined, flags: RollbackFlags) => (await import('./verbs.js')).runRollback(commit, flags));

verb('cordon', 'mark NODE unschedulable: no new pod goes there; what runs there stays', 'berth cordon node-2')
  .argument('<node>', 'the node (see `berth get nodes`)')
  .action(async (node: string, flags: VerbFlags) => (await import('./node-verbs.js')).runCordon(node, flags));
verb('uncordon', 'let pods be scheduled on NODE again (stops a drain)', 'berth uncordon node-2')
  .argument('<node>', 'the node')
  .action(async (node: string, flags: VerbFlags) => (await import('./node-verbs.js')).runUncordon(node, flags));
verb('drain', "cordon NODE and move its pods to other nodes, never leaving a Deployment with fewer than replicas − maxUnavailable ready pods; waits until the node is empty", 'berth drain node-2 --timeout 10m')
  .argument('<node>', 'the node')
  .option('--timeout <duration>', 'give up waiting after this long (the drain itself goes on until `berth uncordon`)', '5m')
  .action(async (node: string, flags: VerbFlags & { timeout: string }) => (await import('./node-verbs.js')).runDrain(node, flags));

server(program.command('logs').description("print a pod's container logs (stdout and stderr) of its current run, read by the agent of its node through the API server"))
  .argument('<pod>', 'the pod')
  .option('-n, --namespace <namespace>', 'its namespace (default: the one namespace with a pod of that name)')
  .option('-c, --container <name>', 'the container (needed when the pod has several)')
  .option('-f, --follow', 'keep printing new lines until Ctrl-C')
  .option('--tail <n>', 'only the last n lines')
  .option('--since <duration>', 'only lines newer than this (e.g. 10m, 1h)')
  .option('-p, --previous', "the container's run before this one (after a crash or restart), not the current run")
  .option('--data-dir <dir>', 'data dir of a `berth up` on this machine, to find its API server', '.berth')
  .addHelpText('after', '\nExample:\n  berth logs web-5f7c9d8b4-0 -n shop --tail 20 -f')
  .action(async (pod: string, flags: LogsFlags) => (await import('./logs.js')).runLogs(pod, flags));

server(program.command('exec').description("run a command in a pod's container, through the API server and the agent of its node; exits with the command's exit code"))
  .argument('<pod>', 'the pod')
  .argument('<command...>', 'the command and its arguments, after --')
  .option('-n, --namespace <namespace>', 'its namespace (default: the one namespace with a pod of that name)')
  .option('-c, --container <name>', 'the container (needed when the pod has several)')
  .option('-i, --stdin', "pass berth's standard input to the command")
  .option('-t, --tty', 'give the command a terminal (with -i, when standard input is one)')
  .option('--data-dir <dir>', 'data dir of a `berth up` on this machine, to find its API server and token', '.berth')
  .addHelpText('after', '\nExamples:\n  berth exec web-5f7c9d8b4-0 -n shop -- cat /etc/hostname\n  berth exec -it web-5f7c9d8b4-0 -- sh')
  .action(async (pod: string, command: string[], flags: ExecFlags) => {
    process.exitCode = await (await import('./exec.js')).runExec(pod, command, flags);
  });

program
  .command('completion')
  .description('print a completion script for bash or zsh: commands, their flags and values, and the names of sources, deployments, pods and nodes (asked of the API server as you type)')
  .argument('<shell>', 'bash or zsh')
  .addHelpText('after', '\nExamples:\n  source <(berth completion bash)          # in ~/.bashrc\n  berth completion zsh > "${fpath[1]}/_berth"')
  .action(async (shell: string) => (await import('./completion.js')).runCompletion(shell, program));
// What the completion script asks for names; not for people.
reading(program.command('__complete', { hidden: true }).argument('<what>', 'sources, deployments, pods, nodes, services or namespaces'))
  .action(async (what: string, flags: ReadFlags) => (await import('./completion.js')).runNames(what, flags));

// Every --help ends with an example: these commands' own help text above has none.
const EXAMPLES: Record<string, string> = {
  up: 'berth up --repo https://git.example.org/ops.git --branch main --path deploy',
  controller: 'berth controller --etcd http://10.0.0.5:2379',
  scheduler: 'berth scheduler --etcd http://10.0.0.5:2379',
  api: 'berth api --etcd http://10.0.0.5:2379 --listen 0.0.0.0:7420 --token-file /etc/berth/api-token',
  validate: 'berth validate deploy/\n  berth validate --rev HEAD~1 deploy',
  get: 'berth get pods -n shop -o wide\n  berth get deployments -w',
  history: 'berth history --source default --limit 10',
  events: 'berth events -o json',
  status: 'berth status --server http://10.0.0.5:7420',
  describe: 'berth describe pod web-5f7c9d8b4-0 -n shop\n  berth describe source default -o yaml',
};
for (const cmd of program.commands) {
  const example = EXAMPLES[cmd.name()];
  if (example !== undefined) cmd.addHelpText('after', `\nExample${example.includes('\n') ? 's' : ''}:\n  ${example}`);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`berth: ${messageOf(err)}\n`);
  if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  // 2: the command line itself is wrong (as commander's own refusals); 1: what it asked for failed.
  process.exit(err instanceof UsageError ? 2 : err instanceof BerthError ? 1 : 70);
}
