#include "cli/shell_integration.h"

namespace cmdai::cli {
namespace {

// bash: `cmdai …` runs through this function; choosing "e" at the prompt (or passing --edit)
// leaves the command in a temporary file, which the function puts on an editable prompt line
// (read -e -i); Enter runs it as if typed, and it goes into history. A command cmdai ran itself
// (-x, or "y") is named in a second file and goes into history too. Ctrl-X a turns the text on
// the current prompt line into a request and replaces it with the command.
constexpr const char* kBashInit =
    R"BASH(# cmdai shell integration for bash: add to ~/.bashrc:  eval "$(cmdai init bash)"
cmdai() {
  local __cmdai_file __cmdai_ran __cmdai_status __cmdai_cmd
  __cmdai_file=$(mktemp "${TMPDIR:-/tmp}/cmdai-edit.XXXXXX") || return 1
  __cmdai_ran=$(mktemp "${TMPDIR:-/tmp}/cmdai-ran.XXXXXX") || { rm -f -- "$__cmdai_file"; return 1; }
  CMDAI_EDIT_FILE="$__cmdai_file" CMDAI_HISTORY_FILE="$__cmdai_ran" command cmdai "$@"
  __cmdai_status=$?
  [ -s "$__cmdai_ran" ] && history -s -- "$(<"$__cmdai_ran")"
  rm -f -- "$__cmdai_ran"
  if [ -s "$__cmdai_file" ]; then
    __cmdai_cmd=$(<"$__cmdai_file")
    if read -r -e -i "$__cmdai_cmd" -p "\$ " __cmdai_cmd && [ -n "$__cmdai_cmd" ]; then
      history -s -- "$__cmdai_cmd"
      eval -- "$__cmdai_cmd"
      __cmdai_status=$?
    fi
  fi
  rm -f -- "$__cmdai_file"
  return $__cmdai_status
}
__cmdai_widget() {
  [ -n "$READLINE_LINE" ] || return
  local __cmdai_out
  __cmdai_out=$(command cmdai --edit --quiet -- "$READLINE_LINE" </dev/tty) || return
  [ -n "$__cmdai_out" ] && READLINE_LINE=$__cmdai_out && READLINE_POINT=${#READLINE_LINE}
}
bind -x '"\C-xa": __cmdai_widget'
)BASH";

constexpr const char* kZshInit =
    R"ZSH(# cmdai shell integration for zsh: add to ~/.zshrc:  eval "$(cmdai init zsh)"
cmdai() {
  local __cmdai_file __cmdai_ran __cmdai_status
  __cmdai_file=$(mktemp "${TMPDIR:-/tmp}/cmdai-edit.XXXXXX") || return 1
  __cmdai_ran=$(mktemp "${TMPDIR:-/tmp}/cmdai-ran.XXXXXX") || { rm -f -- "$__cmdai_file"; return 1; }
  CMDAI_EDIT_FILE="$__cmdai_file" CMDAI_HISTORY_FILE="$__cmdai_ran" command cmdai "$@"
  __cmdai_status=$?
  [[ -s "$__cmdai_ran" ]] && print -s -- "$(<"$__cmdai_ran")"
  rm -f -- "$__cmdai_ran"
  if [[ -s "$__cmdai_file" ]]; then
    print -z -- "$(<"$__cmdai_file")"
  fi
  rm -f -- "$__cmdai_file"
  return $__cmdai_status
}
__cmdai_widget() {
  [[ -n "$BUFFER" ]] || return
  local __cmdai_out
  zle -I  # cmdai may show a risky command's risk and ask on the terminal
  __cmdai_out=$(command cmdai --edit --quiet -- "$BUFFER" </dev/tty) || { zle reset-prompt; return; }
  [[ -n "$__cmdai_out" ]] && BUFFER=$__cmdai_out && CURSOR=${#BUFFER}
  zle reset-prompt
}
zle -N __cmdai_widget
bindkey '^Xa' __cmdai_widget
)ZSH";

constexpr const char* kFishInit =
    R"FISH(# cmdai shell integration for fish: add to ~/.config/fish/config.fish:  cmdai init fish | source
function cmdai --wraps cmdai
    set -l __cmdai_tmp (set -q TMPDIR; and echo $TMPDIR; or echo /tmp)
    set -l __cmdai_file (mktemp $__cmdai_tmp/cmdai-edit.XXXXXX)
    or return 1
    set -l __cmdai_ran (mktemp $__cmdai_tmp/cmdai-ran.XXXXXX)
    or begin
        rm -f -- $__cmdai_file
        return 1
    end
    CMDAI_EDIT_FILE=$__cmdai_file CMDAI_HISTORY_FILE=$__cmdai_ran command cmdai $argv
    set -l __cmdai_status $status
    test -s $__cmdai_ran; and __cmdai_remember (string collect < $__cmdai_ran)
    rm -f -- $__cmdai_ran
    if test -s $__cmdai_file
        commandline -r -- (cat $__cmdai_file)
    end
    rm -f -- $__cmdai_file
    return $__cmdai_status
end
# Puts a command cmdai ran into history as if typed. fish 3.6 (Debian 12) has no `history append`:
# the entry goes into the history file (backslash and newline escaped, as fish writes them), and
# `history merge` reads it into this session.
function __cmdai_remember --argument-names __cmdai_cmd
    set -q fish_private_mode; and return
    set -l __cmdai_session fish
    set -q fish_history; and set __cmdai_session $fish_history
    test -n "$__cmdai_session"; or return
    set -l __cmdai_dir (set -q XDG_DATA_HOME; and echo $XDG_DATA_HOME; or echo ~/.local/share)/fish
    set -l __cmdai_escaped (string replace -a -- '\\' '\\\\' $__cmdai_cmd | string replace -a -- \n '\\n')
    printf '%s\n' "- cmd: $__cmdai_escaped" "  when: "(date +%s) >>$__cmdai_dir/{$__cmdai_session}_history
    and builtin history merge
end
function __cmdai_widget
    set -l __cmdai_line (commandline)
    test -n "$__cmdai_line"; or return
    set -l __cmdai_out (command cmdai --edit --quiet -- $__cmdai_line </dev/tty)
    and test -n "$__cmdai_out"; and commandline -r -- $__cmdai_out
    commandline -f repaint
end
bind \cxa __cmdai_widget
)FISH";

}  // namespace

std::optional<std::string> init_script(std::string_view shell) {
  if (shell == "bash") return kBashInit;
  if (shell == "zsh") return kZshInit;
  if (shell == "fish") return kFishInit;
  return std::nullopt;
}

}  // namespace cmdai::cli
