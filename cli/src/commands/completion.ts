/**
 * `wasmesh completion bash|zsh|fish`: a shell completion script generated from the command tree
 * itself, so it never falls behind the commands. It completes command names, subcommands and
 * flags; files complete as the shell does by default.
 */
import type { Command } from 'commander';
import { UsageError } from '@wasmesh/lattice';
import { examples } from '../common.js';

/** One command path (`''`, `'get'`, `'app deploy'`) and what may follow it. */
interface Node {
  path: string;
  words: string[];
}

/** Every command path of `program` with its subcommands and flags. */
export function commandTree(program: Command): Node[] {
  const out: Node[] = [];
  const visit = (cmd: Command, path: string): void => {
    const subs = cmd.commands.filter((c) => c.name() !== 'help');
    const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
    out.push({ path, words: [...subs.map((c) => c.name()), ...flags, '--help'] });
    for (const c of subs) visit(c, path ? `${path} ${c.name()}` : c.name());
  };
  visit(program, '');
  return out;
}

function bashScript(nodes: Node[]): string {
  const known = nodes.filter((n) => n.path).map((n) => `"${n.path}"`);
  const cases = nodes.map((n) => `    "${n.path}") words="${n.words.join(' ')}" ;;`).join('\n');
  return `# wasmesh bash completion: source <(wasmesh completion bash)
_wasmesh() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" next words i
  for ((i = 1; i < COMP_CWORD; i++)); do
    [[ \${COMP_WORDS[i]} == -* ]] && continue
    next="\${path:+$path }\${COMP_WORDS[i]}"
    case "$next" in
      ${known.join('|')}) path="$next" ;;
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _wasmesh wasmesh
`;
}

function fishScript(nodes: Node[]): string {
  const lines = ['# wasmesh fish completion: wasmesh completion fish | source', 'complete -c wasmesh -f'];
  for (const n of nodes) {
    const parts = n.path ? n.path.split(' ') : [];
    const cond = parts.length ? `__fish_seen_subcommand_from ${parts[parts.length - 1]}` : '__fish_use_subcommand';
    const subs = n.words.filter((w) => !w.startsWith('-'));
    if (subs.length) lines.push(`complete -c wasmesh -n '${cond}' -a '${subs.join(' ')}'`);
    for (const f of n.words.filter((w) => w.startsWith('--'))) {
      lines.push(`complete -c wasmesh -n '${cond}' -l '${f.slice(2)}'`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Registers `completion` on `program`. */
export function registerCompletion(program: Command): void {
  examples(
    program
      .command('completion')
      .description('print a shell completion script (bash, zsh or fish)')
      .argument('<shell>', 'bash, zsh or fish'),
    [
      'source <(wasmesh completion bash)            # in ~/.bashrc',
      'source <(wasmesh completion zsh)             # in ~/.zshrc',
      'wasmesh completion fish > ~/.config/fish/completions/wasmesh.fish',
    ],
  ).action((shell: string) => {
    const nodes = commandTree(program);
    switch (shell) {
      case 'bash':
        process.stdout.write(bashScript(nodes));
        break;
      case 'zsh':
        process.stdout.write(`autoload -U +X bashcompinit && bashcompinit\n${bashScript(nodes)}`);
        break;
      case 'fish':
        process.stdout.write(fishScript(nodes));
        break;
      default:
        throw new UsageError(`unknown shell "${shell}" for completion: use bash, zsh or fish`);
    }
  });
}
