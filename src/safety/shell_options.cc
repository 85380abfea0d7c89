#include "safety/shell_options.h"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "safety/programs.h"

namespace cmdai::safety {

namespace {

// Options whose either setting leaves what the check reads as it is, or only removes
// expansions the check already assumes (globbing, brace expansion). zsh spellings ignore case
// and underscores; `no` in front negates.
bool is_harmless_option(std::string name) {
  std::erase_if(name, [](char c) { return c == '_' || c == '-'; });
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto listed = [](std::string_view n) {
    return is_any(n, {"errexit",
                      "errreturn",
                      "nounset",
                      "unset",
                      "pipefail",
                      "xtrace",
                      "verbose",
                      "clobber",
                      "noclobber",
                      "nullglob",
                      "cshnullglob",
                      "nomatch",
                      "failglob",
                      "globdots",
                      "dotglob",
                      "glob",
                      "noglob",
                      "braceexpand",
                      "shwordsplit",
                      "aliases",
                      "expandaliases",
                      "monitor",
                      "notify",
                      "hashall",
                      "hashcmds",
                      "history",
                      "histexpand",
                      "histappend",
                      "appendhistory",
                      "sharehistory",
                      "incappendhistory",
                      "extendedhistory",
                      "histignoredups",
                      "histignorespace",
                      "histverify",
                      "histreedit",
                      "ignoreeof",
                      "vi",
                      "emacs",
                      "allexport",
                      "allexport",
                      "physical",
                      "chaselinks",
                      "chasedots",
                      "globstar",
                      "nocaseglob",
                      "caseglob",
                      "nocasematch",
                      "checkwinsize",
                      "cdspell",
                      "autocd",
                      "autopushd",
                      "pushdsilent",
                      "pushdignoredups",
                      "pushdtohome",
                      "direxpand",
                      "dirspell",
                      "lastpipe",
                      "inheriterrexit",
                      "errtrace",
                      "functrace",
                      "cmdhist",
                      "lithist",
                      "progcomp",
                      "promptvars",
                      "promptsubst",
                      "promptpercent",
                      "huponexit",
                      "hup",
                      "checkjobs",
                      "checkhash",
                      "globasciiranges",
                      "shiftverbose",
                      "sourcepath",
                      "xpgecho",
                      "beep",
                      "listbeep",
                      "histbeep",
                      "correct",
                      "correctall",
                      "bgnice",
                      "longlistjobs",
                      "printexitvalue",
                      "localoptions",
                      "localtraps",
                      "localpatterns",
                      "warncreateglobal",
                      "warnnestedvar",
                      "multios",
                      "autolist",
                      "automenu",
                      "menucomplete",
                      "alwaystoend",
                      "completeinword",
                      "listpacked",
                      "zle",
                      "flowcontrol",
                      "numericglobsort",
                      "markdirs",
                      "bareglobqual",
                      "equals",
                      "noexec",
                      "exec",
                      "rcs",
                      "globalrcs",
                      "login",
                      "interactive",
                      "shinstdin",
                      "singlecommand",
                      "privileged",
                      "extdebug",
                      "gnuerrfmt",
                      "extquote",
                      "forcefignore",
                      "hostcomplete",
                      "mailwarn",
                      "nullcmd",
                      "localvarinherit",
                      "localvarunset",
                      "assocexpandonce",
                      "patsubreplacement",
                      "varredirclose",
                      "noemptycmdcompletion",
                      "progcompalias",
                      "loginshell",
                      "restrictedshell"});
  };
  if (listed(name)) return true;
  return name.size() > 2 && name.compare(0, 2, "no") == 0 && listed(name.substr(2));
}

// One-letter `set` flags that leave the reading alone: -e -u -x -v -f -n -a -m -b -h -C -E -T
// in bash; zsh spells different options with some letters, so only the common ones there.
bool harmless_set_letters(std::string_view letters, Dialect dialect) {
  const std::string_view allowed = dialect == Dialect::kZsh ? "euxvnaCm" : "euxvfnamCbhBHTEP";
  return letters.find_first_not_of(allowed) == std::string_view::npos;
}

std::optional<std::string> first_harmful(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (!is_harmless_option(name)) return name;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> option_changing_reading(const std::vector<std::string>& words,
                                                   const std::vector<bool>& dynamic,
                                                   Dialect dialect) {
  if (words.empty() || dialect == Dialect::kFish) return std::nullopt;
  const std::string& program = words[0];
  if (!is_any(program, {"setopt", "unsetopt", "set", "shopt", "emulate"})) return std::nullopt;
  if (program == "setopt" && dialect != Dialect::kZsh) return std::nullopt;
  if (program == "unsetopt" && dialect != Dialect::kZsh) return std::nullopt;
  for (size_t i = 1; i < words.size(); ++i) {
    if (i < dynamic.size() && dynamic[i]) return words[i];
  }
  std::vector<std::string> names;
  if (program == "emulate") {
    // `emulate zsh` (and -L, -R) restores what the check assumes; sh, ksh and csh do not.
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i] == "-c") break;
      if (!words[i].empty() && words[i][0] != '-' && words[i] != "zsh") return words[i];
    }
    return std::nullopt;
  }
  if (program == "setopt" || program == "unsetopt") {
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i].empty()) continue;
      if (words[i][0] == '-' || words[i][0] == '+') {
        if (words[i] == "-m" || words[i] == "+m") return words[i];  // options by pattern
        continue;
      }
      names.push_back(words[i]);
    }
    return first_harmful(names);
  }
  if (program == "shopt") {
    bool changes = false;
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i].size() > 1 && words[i][0] == '-') {
        changes |= words[i].find_first_of("su") != std::string::npos;
        if (words[i].find('o') != std::string::npos) continue;
        continue;
      }
      names.push_back(words[i]);
    }
    return changes ? first_harmful(names) : std::nullopt;
  }
  // set: `-o NAME`/`+o NAME`, and one-letter flags; `set --` and operands set $1, $2, ...
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "--" || word == "-" || word.size() < 2 || (word[0] != '-' && word[0] != '+')) {
      break;
    }
    if (word == "-o" || word == "+o") {
      if (i + 1 < words.size()) names.push_back(words[++i]);
      continue;
    }
    std::string_view letters = std::string_view(word).substr(1);
    const size_t o = letters.find('o');
    if (o != std::string_view::npos) {
      // `-euo pipefail`: the option name follows the letters.
      if (i + 1 < words.size()) names.push_back(words[++i]);
      std::string rest(letters.substr(0, o));
      rest += letters.substr(o + 1);
      if (!harmless_set_letters(rest, dialect)) return word;
      continue;
    }
    if (!harmless_set_letters(letters, dialect)) return word;
  }
  return first_harmful(names);
}

}  // namespace cmdai::safety
