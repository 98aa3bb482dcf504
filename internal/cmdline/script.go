package cmdline

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// Shell completion asks the program itself: `PROG __complete WORD...` prints the words
// that can replace the last one (see Complete), and nothing where a file name goes.
const bashCompletion = `# bash completion for PROG; load with: source <(PROG completion bash)
_PROG_complete() {
  local cur=${COMP_WORDS[COMP_CWORD]} IFS=$'\n'
  [[ $cur == = ]] && cur=
  COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
  if ((${#COMPREPLY[@]} == 0)); then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -o bashdefault -F _PROG_complete PROG
`

const zshCompletion = `#compdef PROG
# zsh completion for PROG; load with: source <(PROG completion zsh)
_PROG() {
  local -a opts
  opts=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ -n ${opts[1]} ]]; then
    compadd -- "${opts[@]}"
  else
    _files
  fi
}
compdef _PROG PROG
`

const fishCompletion = `# fish completion for PROG; load with: PROG completion fish | source
function __PROG_complete
    set -l tokens (commandline -opc) (commandline -ct)
    $tokens[1] __complete $tokens[2..-1] 2>/dev/null
end
complete -c PROG -e
complete -c PROG -f -n '__PROG_complete | string length -q' -a '(__PROG_complete)'
complete -c PROG -F -n 'not __PROG_complete | string length -q'
`

// Shells are the shells Script writes completion for.
var Shells = []string{"bash", "zsh", "fish"}

// Script returns the completion script of a shell, for the program named prog, which
// runs as "prog __complete WORD..." (Complete) to list the candidates.
func Script(shell, prog string) (string, error) {
	var script string
	switch shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	default:
		return "", fmt.Errorf("want bash, zsh or fish, not %q", shell)
	}
	return strings.ReplaceAll(script, "PROG", prog), nil
}

// ManPage returns app's manual page in section 1: the commands and flags as urfave/cli
// writes them, under the title line th (".TH …", which dates the page and names the
// version), followed by sections (the roff of EXIT STATUS, FILES and the like).
func ManPage(app *cli.App, th, sections string) (string, error) {
	page, err := app.ToManWithSection(1)
	if err != nil {
		return "", err
	}
	head, rest, ok := strings.Cut(page, "\n.TH ")
	if !ok {
		return "", fmt.Errorf("man page: no .TH line")
	}
	_, rest, _ = strings.Cut(rest, "\n")
	return head + "\n" + th + "\n" + rest + sections, nil
}
