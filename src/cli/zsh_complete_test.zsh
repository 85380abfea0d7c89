#!/usr/bin/env zsh
# Test helper: prints, one a line, what zsh's completion offers for the command line $2 (the
# cursor at its end) with the completion script $1 loaded. zsh completes only inside its line
# editor, so this drives an interactive zsh in a pseudo-terminal (zpty) and wraps compadd to print
# each candidate it is given (the technique of github.com/Valodim/zsh-capture-completion).
emulate -L zsh
zmodload zsh/zpty || exit 2
zpty z zsh -f -i || exit 2
zpty -w z 'PROMPT= RPROMPT='
# compinit takes seconds to scan $fpath; its dump in $HOME makes later runs fast.
zpty -w z 'autoload -Uz compinit && compinit -u -d "$HOME/.zcompdump-cmdai-test"'
zpty -w z "source ${(q)1}"
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
# The markers are typed split ("<""<") so that the echo of these lines never looks like output.
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits; builtin compadd -A __hits "$@"
  (( $#__hits )) && print -rl -- "<""<"${^__hits}">>"
  builtin compadd "$@"
}'
zpty -w z '__cmdai_test_done() { print -r -- "<""<END>>"; exit }; comppostfuncs=(__cmdai_test_done)'
zpty -w z "$2"$'\t'
local line
while zpty -r z line; do
  line=${line//$'\r'/}
  [[ $line == *'<<END>>'* ]] && exit 0
  [[ $line == *'<<'*'>>'* ]] && { line=${line#*<<}; print -r -- ${line%>>*} }
done
exit 1
