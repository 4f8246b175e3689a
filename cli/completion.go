package cli

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// bashCompletion completes ganrt's commands and flags in bash by asking
// ganrt itself (urfave/cli's --generate-bash-completion), and file names
// where ganrt has nothing to offer.
const bashCompletion = `# bash completion for ganrt. Load it with
#   source <(ganrt completion bash)
# or save it as ~/.local/share/bash-completion/completions/ganrt
_ganrt() {
  local cur=${COMP_WORDS[COMP_CWORD]}
  local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
  [[ $cur == -* ]] && words+=("$cur")
  local IFS=$'\n'
  COMPREPLY=($(compgen -W "$("${words[@]}" --generate-bash-completion 2>/dev/null)" -- "$cur"))
}
complete -o default -F _ganrt ganrt
`

// zshCompletion is the same for zsh; with $0 set to zsh in its environment
// urfave/cli lists commands as "name:usage" pairs for _describe.
const zshCompletion = `#compdef ganrt
# zsh completion for ganrt. Load it with
#   source <(ganrt completion zsh)
# or save it as _ganrt in a folder of $fpath
_ganrt() {
  local cur=${words[CURRENT]}
  local -a req opts
  req=(${words[1,CURRENT-1]})
  [[ $cur == -* ]] && req+=($cur)
  opts=("${(@f)$(env 0=zsh ${req[@]} --generate-bash-completion 2>/dev/null)}")
  if [[ -n ${opts[1]} ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _ganrt ganrt
`

var completionCommand = &cli.Command{
	Name:      "completion",
	Usage:     "print a shell completion script for bash, zsh or fish",
	ArgsUsage: "bash|zsh|fish",
	Description: `Prints a script that completes ganrt's commands and flags (and file names
for arguments) in the shell named.

Examples:
   source <(ganrt completion bash)        # in ~/.bashrc
   ganrt completion zsh > "${fpath[1]}/_ganrt"
   ganrt completion fish > ~/.config/fish/completions/ganrt.fish`,
	Action: func(c *cli.Context) error {
		if c.NArg() != 1 {
			return &usageError{path: []string{"completion"}, line: "ganrt completion bash|zsh|fish",
				err: fmt.Errorf("need one shell name, got %d arguments", c.NArg())}
		}
		switch shell := c.Args().First(); shell {
		case "bash":
			_, err := fmt.Fprint(c.App.Writer, bashCompletion)
			return err
		case "zsh":
			_, err := fmt.Fprint(c.App.Writer, zshCompletion)
			return err
		case "fish":
			script, err := c.App.ToFishCompletion()
			if err != nil {
				return fmt.Errorf("fish completion: %w", err)
			}
			_, err = fmt.Fprint(c.App.Writer, script)
			return err
		default:
			return &usageError{path: []string{"completion"}, line: "ganrt completion bash|zsh|fish",
				err: fmt.Errorf("unknown shell %q (want bash, zsh or fish)", shell)}
		}
	},
}
