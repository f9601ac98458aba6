import type { Command } from 'commander';
import type { Listing } from '../api/resources.js';
import { UsageError } from '../errors.js';
import type { ReadFlags } from './connect.js';

// `berth completion bash|zsh`: a shell completion script made from the commands berth has (their
// flags, the values a flag takes, their arguments), which asks `berth __complete` for the names of
// sources, deployments, pods and nodes when a word needs one. zsh runs the same function through
// bashcompinit, as kubectl's first zsh completion did.

/** What the script needs to know of one command. */
export interface CompletionCommand {
  name: string;
  /** Every flag, long and short. */
  flags: string[];
  /** The flags that take a value, with what completes it: words joined by commas, `@file`, `@<resource>` for names, or `-` for nothing. */
  values: Record<string, string>;
  /** Its positional arguments, by what completes each (as a flag's value; `@name` for a name of the kind before it). */
  args: string[];
}

/** The shells `completion` writes for. */
export const SHELLS = ['bash', 'zsh'] as const;

/** The resources `berth __complete` names. */
export const COMPLETABLE = ['sources', 'deployments', 'pods', 'nodes', 'services', 'namespaces'] as const;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const ident = (name: string): string => name.replace(/[^A-Za-z0-9]/g, '_');

/** The completion script for `shell`. */
export function completionScript(shell: (typeof SHELLS)[number], commands: readonly CompletionCommand[]): string {
  const tables = commands.flatMap((c) => {
    const id = ident(c.name);
    return [
      `_berth_flags_${id}=${quote(c.flags.join(' '))}`,
      `_berth_args_${id}=${quote(c.args.join(' '))}`,
      ...Object.entries(c.values).map(([flag, what]) => `_berth_value_${id}_${ident(flag)}=${quote(what)}`),
    ];
  });
  const body = `# berth completion (${shell}): source it, e.g. \`source <(berth completion ${shell})\`
_berth_commands=${quote(commands.map((c) => c.name).join(' '))}
${tables.join('\n')}

# Names from the API server (or etcd), with the connection flags of the line being completed.
_berth_names() {
  local what=$1 i conn=()
  for ((i = 1; i < \${#COMP_WORDS[@]} - 1; i++)); do
    case "\${COMP_WORDS[i]}" in
      --server|--data-dir|--etcd|--prefix|--token-file) conn+=("\${COMP_WORDS[i]}" "\${COMP_WORDS[i+1]}") ;;
    esac
  done
  berth __complete "$what" "\${conn[@]}" 2>/dev/null
}

# The words a value completes from: a list, files, or names of a resource.
_berth_complete_from() {
  local from=$1 cur=$2 kind=$3
  case "$from" in
    @file) COMPREPLY=($(compgen -f -- "$cur")) ;;
    @name)
      case "$kind" in
        po|pod|pods) from=pods ;;
        deploy|deployment|deployments) from=deployments ;;
        no|node|nodes) from=nodes ;;
        source|sources) from=sources ;;
        svc|service|services|ep|endpoints) from=services ;;
        *) return ;;
      esac
      COMPREPLY=($(compgen -W "$(_berth_names "$from")" -- "$cur")) ;;
    @*) COMPREPLY=($(compgen -W "$(_berth_names "\${from#@}")" -- "$cur")) ;;
    -) ;;
    *) COMPREPLY=($(compgen -W "\${from//,/ }" -- "$cur")) ;;
  esac
}

_berth() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= i word id
  local -a positional=()
  COMPREPLY=()
  # The command is the first word that is no flag; the words after it that are no flag nor a flag's value are its arguments.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ -z $cmd ]]; then
      [[ $word != -* ]] && cmd=$word
      continue
    fi
    id=\${cmd//[^A-Za-z0-9]/_}
    if [[ $word == -- ]]; then positional+=(--); break; fi
    if [[ $word == -* ]]; then
      local v="_berth_value_\${id}_\${word//[^A-Za-z0-9]/_}"
      [[ -n \${!v+x} && $word != *=* ]] && ((i++))
      continue
    fi
    positional+=("$word")
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$_berth_commands --help --version" -- "$cur"))
    return
  fi
  id=\${cmd//[^A-Za-z0-9]/_}
  local flags="_berth_flags_$id" args="_berth_args_$id"
  [[ -z \${!flags+x} ]] && return
  if [[ $prev == -* ]]; then
    local v="_berth_value_\${id}_\${prev//[^A-Za-z0-9]/_}"
    if [[ -n \${!v+x} ]]; then
      _berth_complete_from "\${!v}" "$cur"
      return
    fi
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${!flags} --help" -- "$cur"))
    return
  fi
  local -a specs=(\${!args})
  local n=\${#positional[@]}
  ((n >= \${#specs[@]})) && return
  _berth_complete_from "\${specs[n]}" "$cur" "\${positional[0]}"
}
`;
  if (shell === 'bash') return `${body}complete -o default -F _berth berth\n`;
  return `#compdef berth\n${body}autoload -U +X bashcompinit && bashcompinit\ncomplete -o default -F _berth berth\n`;
}

/** The kinds each command's `<kind>` argument takes. */
const KIND_WORDS: Record<string, string> = { get: 'pods,deployments,services,endpoints,nodes', describe: 'deployment,pod,node,source' };
/** What completes an argument, by its name. */
const ARG_WORDS: Record<string, string> = { name: '@name', source: '@sources', node: '@nodes', pod: '@pods', shell: SHELLS.join(','), paths: '@file', what: COMPLETABLE.join(',') };
/** What completes a flag's value, by the flag, when it has no choices. */
const FLAG_WORDS: Record<string, string> = { '--source': '@sources', '--node': '@nodes', '--namespace': '@namespaces' };

/** The commands of `program` as the completion script needs them (hidden ones left out). */
export function commandsOf(program: Command): CompletionCommand[] {
  return program.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map((c) => {
    const flags: string[] = [];
    const values: Record<string, string> = {};
    for (const o of c.options) {
      const names = [o.long, o.short].filter((n): n is string => n !== undefined);
      flags.push(...names);
      if (!o.required && !o.optional) continue;
      const what = o.argChoices ? o.argChoices.join(',') : (FLAG_WORDS[o.long ?? ''] ?? (/<(file|dir|keyring|socket\|url)>/.test(o.flags) ? '@file' : '-'));
      for (const n of names) values[n] = what;
    }
    const args = c.registeredArguments.map((a) => (a.name() === 'kind' ? KIND_WORDS[c.name()] ?? '-' : ARG_WORDS[a.name()] ?? '-'));
    return { name: c.name(), flags, values, args };
  });
}

/** The names `berth __complete WHAT` prints, one a line, from a read of the resource (namespaces: those of pods and deployments). */
export function namesOf(what: string, read: (resource: string) => Promise<Listing>): Promise<string[]> {
  const names = async (resource: string, key: 'name' | 'namespace' | 'source'): Promise<string[]> =>
    (await read(resource)).items.map((i) => (i as Record<string, unknown>)[key]).filter((n): n is string => typeof n === 'string');
  const unique = (list: string[]): string[] => [...new Set(list)].sort();
  if (what === 'namespaces') return Promise.all([names('pods', 'namespace'), names('deployments', 'namespace')]).then(([a, b]) => unique([...a, ...b]));
  if (what === 'sources') return names('sources', 'source').then(unique);
  return names(what, 'name').then(unique);
}

/** `berth __complete WHAT`: the names, one a line; nothing (and exit 0) when they cannot be read, as a shell completing wants. */
export async function runNames(what: string, flags: Omit<ReadFlags, 'output'>): Promise<void> {
  const { readResource } = await import('./connect.js');
  const names = await namesOf(what, (resource) => readResource(flags, resource, {})).catch(() => []);
  if (names.length > 0) process.stdout.write(`${names.join('\n')}\n`);
}

/** `berth completion SHELL`. */
export function runCompletion(shell: string, program: Command): void {
  if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError('ESHELL', `berth completion knows ${SHELLS.join(' and ')}, not "${shell}"`, { hint: 'run berth completion bash (or zsh)' });
  process.stdout.write(completionScript(shell as (typeof SHELLS)[number], commandsOf(program)));
}
