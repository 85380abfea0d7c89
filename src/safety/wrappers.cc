// Wrappers peeled by the command visitor: sudo, env, xargs, find -exec, sh -c, eval, ssh, the
// wrapper table of programs.cc, inline code and the options of other programs that run commands.
#include <algorithm>
#include <utility>

#include "safety/analyzer.h"
#include "safety/arg_scan.h"
#include "safety/inline_code.h"
#include "safety/paths.h"
#include "safety/program_options.h"
#include "safety/programs.h"

namespace cmdai::safety {

Step Analyzer::peel_step(const std::string& name, Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  auto scan = [&args](std::string_view shorts, const std::vector<std::string_view>& longs) {
    return scan_args(args, shorts, longs, true);
  };
  if (name == "sudo" || name == "doas" || name == "pkexec" || name == "run0") {
    return peel_sudo(work, name == "run0" ? "pkexec" : name, depth);
  }
  if (name == "env") return peel_env(work, depth);
  if (is_any(name, {"rimraf", "del-cli"})) {
    // rimraf and friends are `rm -rf` under another name.
    work.words[0].text = "rm";
    work.words.insert(work.words.begin() + 1, literal_word("-rf"));
    return Step::kContinue;
  }
  if (name == "newgrp") {
    // newgrp starts a shell in the new group: it reads its commands from stdin.
    if (work.stdin_text) {
      analyze_nested(work, *work.stdin_text, depth, "newgrp", work.inv.elevated);
    } else if (work.inv.stdin_opaque_pipe || work.inv.stdin_from_download) {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
    }
    return Step::kStop;
  }
  if (name == "xargs") return peel_xargs(work, depth);
  if (name == "find") return peel_find(work, depth);
  if (is_shell(name)) return peel_shell(work, depth);
  if (is_interpreter(name) || is_awk(name) ||
      is_any(name,
             {"sed", "gsed", "vim", "vi", "nvim", "ex", "view", "gvim", "less", "more", "ed"})) {
    return peel_inline_code(work, name, depth);
  }
  if (name == "su") return peel_su(work, depth);
  if (name == "ssh") return peel_ssh(work, depth);
  if (name == "parallel") return peel_parallel(work, depth);
  if (name == "eval") {
    // eval "$(ssh-agent -s)": the output of a known set-up generator, meant to be run.
    if (work.words.size() == 2 && work.words[1].from_subst && !work.words[1].downloads &&
        work.words[1].text.rfind("$(", 0) == 0 && work.words[1].text.back() == ')' &&
        is_init_generator(work.words[1].text.substr(2, work.words[1].text.size() - 3))) {
      return Step::kDone;
    }
    analyze_nested(work, join_texts(work.words, 1), depth, "eval", work.inv.elevated);
    return Step::kDone;
  }
  if (name == "source" || name == ".") {
    if (work.words.size() < 2 && dialect_ == Dialect::kFish) {
      // fish: `source` with no file reads its commands from stdin (`curl ... | source`).
      if (work.stdin_text) {
        analyze_nested(work, *work.stdin_text, depth, "source", work.inv.elevated);
        return Step::kDone;
      }
      work.inv.input_unknown = work.inv.stdin_opaque_pipe || work.inv.stdin_from_download;
      work.inv.input_from_network = work.inv.stdin_from_download;
      return Step::kStop;
    }
    if (work.words.size() < 2) return Step::kStop;
    const Expanded& file = work.words[1];
    if (names_stdin(file.text)) {
      if (work.stdin_text) {
        analyze_nested(work, *work.stdin_text, depth, "source", work.inv.elevated);
        return Step::kDone;
      }
      work.inv.input_unknown = true;
    } else if (file.dynamic && !file.from_subst) {
      work.inv.input_unknown = true;  // . "$X": a file chosen at run time
    } else if (file.from_subst && !file.downloads &&
               !(file.text.size() > 3 && file.text.rfind("<(", 0) == 0 &&
                 is_init_generator(file.text.substr(2, file.text.size() - 3)))) {
      work.inv.input_unknown = true;  // source <(kubectl completion bash) is fine
    }
    return Step::kStop;
  }
  if (name == "at" || name == "batch") {
    const ScannedArgs scanned = scan_args(args, "qftM", {});
    if (scanned.has('l') || scanned.has('d') || scanned.has('r') || scanned.has('c')) {
      return Step::kStop;
    }
    if (scanned.value("f")) {
      return Step::kStop;  // a script file, like `bash ./script.sh`
    }
    if (work.stdin_text) {
      analyze_nested(work, *work.stdin_text, depth, "at", work.inv.elevated);
    } else if (work.inv.stdin_opaque_pipe || work.inv.stdin_from_download) {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
    }
    return Step::kStop;
  }
  if (name == "trap") {
    const ScannedArgs scanned = scan("", {});
    if (scanned.has('l') || scanned.has('p') || scanned.operands.size() < 2) return Step::kStop;
    if (scanned.operands[0] != "-") {
      analyze_nested(work, scanned.operands[0], depth, "trap", work.inv.elevated);
    }
    return Step::kDone;
  }
  if (name == "watch") {
    const ScannedArgs scanned = scan("n", {"interval"});
    if (scanned.options_end >= args.size()) return Step::kStop;
    analyze_nested(work, join_texts(work.words, scanned.options_end + 1), depth, "watch",
                   work.inv.elevated);
    return Step::kDone;
  }
  if (name == "flock") {
    const ScannedArgs all = scan_args(args, "wEc", {"timeout", "conflict-exit-code", "command"});
    const std::string* command = all.value("c");
    if (!command) command = all.value("command");
    if (command) {
      analyze_nested(work, *command, depth, "flock", work.inv.elevated);
      return Step::kDone;
    }
    return drop_wrapper(work, scan("wE", {"timeout", "conflict-exit-code"}), 1, "flock");
  }
  if (name == "command") {
    const ScannedArgs scanned = scan("", {});
    if (scanned.has('v') || scanned.has('V')) return Step::kStop;
    return drop_wrapper(work, scanned, 0, "command");
  }
  if (name == "busybox" || name == "toybox") return drop_wrapper(work, scan("", {}), 0, "busybox");
  if (is_any(name, {"nohup", "builtin", "unbuffer", "setsid", "caffeinate"})) {
    return drop_wrapper(work, scan("w", {}), 0, "nohup");
  }
  if (name == "time") return drop_wrapper(work, scan("fo", {"format", "output"}), 0, "time");
  if (name == "nice") return drop_wrapper(work, scan("n", {"adjustment"}), 0, "nice");
  if (name == "exec") return drop_wrapper(work, scan("a", {}), 0, "exec");
  if (name == "stdbuf") {
    return drop_wrapper(work, scan("ioe", {"input", "output", "error"}), 0, "stdbuf");
  }
  if (name == "timeout") {
    return drop_wrapper(work, scan("sk", {"signal", "kill-after"}), 1, "timeout");
  }
  if (name == "ionice" || name == "chrt" || name == "taskset") {
    const ScannedArgs scanned = scan(name == "ionice" ? "cn" : "", {"class", "classdata"});
    if (scanned.has('p') || scanned.has_long("pid")) return Step::kStop;
    return drop_wrapper(work, scanned, name == "ionice" ? 0 : 1, "nice");
  }
  if (name == "chroot") {
    return drop_wrapper(work, scan("", {"userspec", "groups"}), 1, "chroot");
  }
  const Step runner = peel_known_runner(work, name, depth);
  if (runner != Step::kStop) return runner;
  if (is_command_wrapper(name)) return peel_table_wrapper(work, name, depth);
  // An unknown program whose arguments start with a known program: read them as a command.
  if (!is_known_program(name)) {
    analyze_command_arguments(work, 1, depth);
    // The unknown program is rated too: `setcap cap_setuid+ep /usr/bin/python3` is not only
    // the python3 it names.
    Work self = work;
    const Step step = peel_from_first_program(work, 1, "unknown wrapper");
    if (step != Step::kStop) emit_with_directory(to_invocation(std::move(self)));
    return step;
  }
  return Step::kStop;
}

// Drops every word before the first one that names a known program (options and their values,
// a user name, an image, a timestamp, ...). Stops when there is none.
Step Analyzer::peel_from_first_program(Work& work, size_t from, const char* wrapper) {
  for (size_t i = from; i < work.words.size(); ++i) {
    const Expanded& word = work.words[i];
    if (word.dynamic || word.text.empty() || word.text[0] == '-' || word.text[0] == '+' ||
        is_assignment_text(word.text)) {
      continue;
    }
    const std::string name = canonical_program(basename_of(word.text));
    // ".", ":" and "[" name builtins but are far more often a directory or a separator.
    if (!is_known_program(name) ||
        is_any(word.text, {"--", ".", ":", "[", "..", "/", "exec", "run"})) {
      continue;
    }
    work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(i));
    work.inv.wrappers.push_back(wrapper);
    return Step::kContinue;
  }
  return Step::kStop;
}

// Wrappers from programs.h that have a command-string option; the rest run their first
// argument that names a program.
Step Analyzer::peel_table_wrapper(Work& work, const std::string& name, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  if (is_any(name, {"runuser", "sg", "script", "su-exec", "capsh", "nix-shell", "expect", "vagrant",
                    "machinectl", "lxc-attach", "schroot"})) {
    const std::string_view value_shorts = name == "script"    ? "cETIOBmo"
                                          : name == "runuser" ? "cugGsw"
                                                              : "c";
    const ScannedArgs all = scan_args(args, value_shorts, {"command", "run", "user", "group"});
    for (std::string_view option : {"c", "command", "run"}) {
      if (const std::string* code = all.value(option)) {
        analyze_nested(work, *code, depth, "wrapper -c", work.inv.elevated || name == "runuser");
        return Step::kDone;
      }
    }
    if (name == "sg" && all.operands.size() >= 2) {
      // sg GROUP 'CMD': the command is one string handed to /bin/sh -c.
      analyze_nested(work, all.operands[1], depth, "sg", work.inv.elevated);
      return Step::kDone;
    }
    if (name == "capsh") {
      for (size_t i = 0; i + 2 < args.size(); ++i) {
        if (args[i] == "--" && args[i + 1] == "-c") {
          analyze_nested(work, args[i + 2], depth, "capsh", work.inv.elevated);
          return Step::kDone;
        }
      }
    }
  }
  if (is_any(name, {"xterm", "konsole", "alacritty", "kitty", "gnome-terminal", "xfce4-terminal",
                    "terminator", "tilix", "mate-terminal", "lxterminal", "urxvt", "rxvt", "st",
                    "foot", "wezterm", "terminology", "qterminal", "sakura"})) {
    for (size_t i = 1; i < work.words.size(); ++i) {
      // `xterm -e 'CMD ARGS'`, `tilix -e 'CMD'`: one argument holding blanks is a command line
      // (xterm and the -e of VTE terminals run it through a shell or split it as one).
      if (is_any(work.words[i].text, {"-e", "--command", "-c"}) && i + 2 == work.words.size() &&
          work.words[i + 1].text.find_first_of(" \t\n") != std::string::npos) {
        analyze_nested(work, work.words[i + 1].text, depth, "terminal", work.inv.elevated);
        return Step::kDone;
      }
      if (is_any(work.words[i].text, {"-e", "--", "-x", "--command"})) {
        return peel_from_first_program(work, i + 1, "terminal");
      }
    }
    return Step::kStop;
  }
  if (name == "hyperfine") {
    const ScannedArgs scanned =
        scan_args(args, "wrmMpcsnLPSuN",
                  {"warmup", "runs", "prepare", "cleanup", "setup", "command-name", "export-json",
                   "export-csv", "export-markdown", "shell"});
    for (std::string_view option : {"p", "c", "s", "prepare", "cleanup", "setup"}) {
      if (const std::string* code = scanned.value(option)) {
        analyze_nested(work, *code, depth, "hyperfine", work.inv.elevated);
      }
    }
    for (const std::string& code : scanned.operands) {
      analyze_nested(work, code, depth, "hyperfine", work.inv.elevated);
    }
    return Step::kDone;
  }
  if (name == "tmux" || name == "screen") {
    const ScannedArgs scanned = scan_args(args, "stnxyFecLfSTpX", {});
    const std::vector<std::string>& operands = scanned.operands;
    if (name == "tmux" && !operands.empty() && is_any(operands[0], {"send-keys", "send"})) {
      std::string typed;
      for (size_t i = 1; i < operands.size(); ++i) {
        if (is_any(operands[i], {"Enter", "C-m", "KPEnter"})) continue;
        typed += operands[i] + " ";
      }
      analyze_nested(work, typed, depth, "tmux send-keys", work.inv.elevated);
      return Step::kDone;
    }
    if (name == "tmux" && operands.size() >= 2 &&
        is_any(operands[0], {"new", "new-session", "new-window", "neww", "split-window", "splitw",
                             "run-shell", "run", "respawn-pane", "respawnp", "display-popup",
                             "popup", "respawn-window", "respawnw"})) {
      analyze_nested(work, operands.back(), depth, "tmux", work.inv.elevated);
      return Step::kDone;
    }
    if (name == "screen") return peel_from_first_program(work, 1, "screen");
    return Step::kStop;
  }
  if (name == "gdb" || name == "lldb") {
    bool ran = false;
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (!is_any(args[i],
                  {"-ex", "--ex", "-eval-command", "--eval-command", "-iex", "-o", "--one-line"})) {
        continue;
      }
      std::string command = args[++i];
      while (!command.empty() && command[0] == ' ') command.erase(0, 1);
      if (command.rfind("shell ", 0) == 0 || command.rfind("platform shell ", 0) == 0) {
        command = command.substr(command.find("shell ") + 6);
      } else if (!command.empty() && command[0] == '!') {
        command = command.substr(1);
      } else if (command.rfind("python", 0) == 0 || command.rfind("script", 0) == 0) {
        Work code = work;
        code.words = {literal_word("python3"), literal_word("-c"),
                      literal_word(command.substr(command.find(' ') + 1))};
        peel(std::move(code), depth + 1);
        ran = true;
        continue;
      } else {
        continue;
      }
      analyze_nested(work, command, depth, "gdb", work.inv.elevated);
      ran = true;
    }
    for (size_t i = 1; i < work.words.size(); ++i) {
      if (work.words[i].text == "--args") return peel_from_first_program(work, i + 1, "gdb");
    }
    return ran ? Step::kDone : Step::kStop;
  }
  if (is_any(name, {"npx", "bunx", "pnpx", "uvx", "pipx"})) {
    const ScannedArgs all = scan_args(args, "cp", {"call", "package", "spec"}, true);
    for (std::string_view option : {"c", "call"}) {
      if (const std::string* code = all.value(option)) {
        analyze_nested(work, *code, depth, "npx -c", work.inv.elevated);
        return Step::kDone;
      }
    }
    size_t index = 1 + all.options_end;
    if (name == "pipx" && index < work.words.size() && work.words[index].text == "run") ++index;
    if (index >= work.words.size()) return Step::kStop;
    work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(index));
    // rimraf and friends are `rm -rf` under another name.
    if (is_any(basename_of(work.words[0].text),
               {"rimraf", "del-cli", "trash-cli", "rimraf@latest"})) {
      work.words[0].text = "rm";
      work.words.insert(work.words.begin() + 1, literal_word("-rf"));
    }
    work.inv.wrappers.push_back(name);
    return Step::kContinue;
  }
  // perf record|stat|trace CMD: the first operand is perf's own subcommand.
  return peel_from_first_program(work, name == "perf" ? 2 : 1, name.c_str());
}
// Known programs with an option or mode that runs a command: git -c core.pager=..., tar
// --to-command, rsync -e, docker run IMAGE CMD, kubectl exec POD -- CMD, man -P, npm exec.
// Returns kStop when `name` has none of them in use.
Step Analyzer::peel_known_runner(Work& work, const std::string& name, int depth) {
  std::vector<std::string> args = texts_of(work.words, 1);
  expand_long_abbreviations(name, args);  // tar --use-compress-prog=CMD runs CMD
  auto run = [&](const std::string& code, const char* wrapper) {
    analyze_code_value(work, code, depth, wrapper);
  };
  auto emit_self = [&] {
    Work self = work;
    emit_with_directory(to_invocation(std::move(self)));
  };
  if (name == "git") {
    bool ran = false;
    for (size_t i = 0; i < args.size(); ++i) {
      std::string value;
      if (args[i] == "-c" && i + 1 < args.size()) {
        value = args[++i];
      } else if (args[i].rfind("-c", 0) == 0 && args[i].size() > 2 && args[i][2] != '-') {
        value = args[i].substr(2);
      } else if (args[i].rfind("--upload-pack=", 0) == 0 || args[i].rfind("--exec=", 0) == 0 ||
                 args[i].rfind("--extcmd=", 0) == 0 || args[i].rfind("--tree-filter=", 0) == 0) {
        run(args[i].substr(args[i].find('=') + 1), "git");
        ran = true;
        continue;
      } else if (is_any(args[i],
                        {"--upload-pack", "-u", "--exec", "-x", "--extcmd", "--tree-filter",
                         "--index-filter", "--msg-filter", "--env-filter", "--commit-filter"}) &&
                 i + 1 < args.size()) {
        run(args[++i], "git");
        ran = true;
        continue;
      } else if (args[i].rfind("ext::", 0) == 0) {
        // ext::CMD ARGS: blanks split the words, "% " is a blank inside one.
        std::string code = "'";
        const std::string url = args[i].substr(5);
        for (size_t k = 0; k < url.size(); ++k) {
          if (url[k] == '%' && k + 1 < url.size() && url[k + 1] == ' ') {
            code += ' ';
            ++k;
          } else if (url[k] == ' ') {
            code += "' '";
          } else if (url[k] == '\'') {
            code += "'\\''";
          } else {
            code += url[k];
          }
        }
        run(code + "'", "git ext::");
        ran = true;
        continue;
      } else {
        continue;
      }
      const size_t eq = value.find('=');
      if (eq == std::string::npos) continue;
      std::string key = value.substr(0, eq);
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string code = value.substr(eq + 1);
      const bool shell_alias = key.rfind("alias.", 0) == 0 && !code.empty() && code[0] == '!';
      const bool command_key =
          is_any(key, {"core.pager", "core.sshcommand", "core.editor", "core.fsmonitor",
                       "core.askpass", "core.gitproxy", "sequence.editor", "diff.external",
                       "gpg.program", "gpg.ssh.program", "uploadpack.packobjectshook",
                       "sendemail.sendmailcmd", "core.hookspath", "merge.tool"}) ||
          key.rfind("pager.", 0) == 0 ||
          (key.rfind("filter.", 0) == 0 &&
           (key.find(".clean") != std::string::npos || key.find(".smudge") != std::string::npos ||
            key.find(".process") != std::string::npos)) ||
          (key.rfind("credential", 0) == 0 && !code.empty() && code[0] == '!') ||
          (key.rfind("difftool.", 0) == 0 || key.rfind("mergetool.", 0) == 0);
      if (!shell_alias && !command_key) continue;
      if (!code.empty() && code[0] == '!') code.erase(0, 1);
      if (key == "core.hookspath") {
        Work hooks = work;
        hooks.inv.input_unknown = true;  // runs whatever scripts that directory holds
        emit(to_invocation(std::move(hooks)));
      } else {
        run(code, "git -c");
      }
      ran = true;
    }
    // git config [--global] alias.x '!CMD' / core.pager CMD: stored now, run by later git
    // commands; read it as if it ran.
    {
      const ScannedArgs config = scan_args(args, "Cc", {"git-dir", "work-tree", "file"}, false);
      const std::vector<std::string>& ops = config.operands;
      if (ops.size() >= 3 && ops[0] == "config") {
        std::string key = ops[1];
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const std::string& code = ops[2];
        const bool runs = (key.rfind("alias.", 0) == 0 && !code.empty() && code[0] == '!') ||
                          is_any(key, {"core.pager", "core.sshcommand", "core.editor",
                                       "core.fsmonitor", "core.askpass", "sequence.editor",
                                       "diff.external", "gpg.program", "core.gitproxy"}) ||
                          key.rfind("pager.", 0) == 0 || key.rfind("filter.", 0) == 0;
        if (runs) {
          run(code[0] == '!' ? code.substr(1) : code, "git config");
          ran = true;
        }
      }
    }
    // `git bisect run CMD`, `git submodule foreach CMD`, `git rebase --exec CMD`.
    const ScannedArgs scanned = scan_args(args, "Cc", {"git-dir", "work-tree"}, true);
    const std::vector<std::string>& ops = scanned.operands;
    if (ops.size() >= 3 && ops[0] == "bisect" && ops[1] == "run") {
      Work child = work;
      child.words.assign(work.words.end() - static_cast<long>(ops.size() - 2), work.words.end());
      peel(std::move(child), depth + 1);
      ran = true;
    }
    if (ops.size() >= 3 && ops[0] == "submodule" && ops[1] == "foreach") {
      run(join_texts(work.words, work.words.size() - (ops.size() - 2)), "git submodule");
      ran = true;
    }
    if (!ran) return Step::kStop;
    emit_self();
    return Step::kDone;
  }
  if (name == "tar" || name == "bsdtar" || name == "gtar") {
    bool ran = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      for (std::string_view option :
           {"--to-command=", "--use-compress-program=", "--info-script=", "--new-volume-script=",
            "--rsh-command=", "--checkpoint-action=exec=", "--checkpoint-action=",
            "--compress-program="}) {
        if (arg.rfind(option, 0) == 0) {
          std::string code = arg.substr(option.size());
          if (option == "--checkpoint-action=") {
            if (code.rfind("exec=", 0) != 0) break;
            code = code.substr(5);
          }
          run(code, "tar");
          ran = true;
          break;
        }
      }
      if (is_any(arg, {"-I", "--to-command", "--use-compress-program", "-F", "--info-script",
                       "--new-volume-script", "--rsh-command"}) &&
          i + 1 < args.size()) {
        run(args[++i], "tar");
        ran = true;
      }
    }
    if (!ran) return Step::kStop;
    emit_self();
    return Step::kDone;
  }
  if (name == "rsync" || name == "scp" || name == "sftp") {
    bool ran = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if ((arg == "-e" || arg == "--rsh" || arg == "--rsync-path") && i + 1 < args.size() &&
          name == "rsync") {
        run(args[++i], "rsync -e");
        ran = true;
      } else if ((arg.rfind("--rsh=", 0) == 0 || arg.rfind("--rsync-path=", 0) == 0) &&
                 name == "rsync") {
        run(arg.substr(arg.find('=') + 1), "rsync -e");
        ran = true;
      } else if (arg.rfind("-e", 0) == 0 && arg.size() > 2 && name == "rsync") {
        run(arg.substr(2), "rsync -e");
        ran = true;
      } else if (arg == "-S" && i + 1 < args.size() && name != "rsync") {
        run(args[++i], "scp -S");  // the program scp runs instead of ssh
        ran = true;
      } else if (arg == "-o" && i + 1 < args.size()) {
        ran |= peel_ssh_option(work, args[++i], depth);
      } else if (arg.rfind("-o", 0) == 0 && arg.size() > 2) {
        ran |= peel_ssh_option(work, arg.substr(2), depth);
      }
    }
    if (!ran) return Step::kStop;
    emit_self();
    return Step::kDone;
  }
  if (name == "docker" || name == "podman" || name == "nerdctl") {
    const ScannedArgs scanned = scan_args(args, "Hc", {"host", "context", "config"}, true);
    if (scanned.operands.empty() || !is_any(scanned.operands[0], {"run", "exec", "create"})) {
      return Step::kStop;
    }
    emit_self();
    Work child = work;
    child.inv.elevated = false;
    child.inv.redirections.clear();
    const size_t sub = 1 + scanned.options_end;
    if (peel_from_first_program(child, sub + 1, "docker") == Step::kContinue) {
      peel(std::move(child), depth + 1);
    }
    return Step::kDone;
  }
  if (name == "kubectl" || name == "oc") {
    const auto dashes = std::find_if(work.words.begin(), work.words.end(),
                                     [](const Expanded& word) { return word.text == "--"; });
    const ScannedArgs scanned = scan_args(args, "nc", {"namespace", "context", "container"});
    if (dashes == work.words.end() || scanned.operands.empty() ||
        !is_any(scanned.operands[0], {"exec", "run", "debug", "attach"})) {
      return Step::kStop;
    }
    emit_self();
    Work child = work;
    child.words.assign(dashes + 1, work.words.end());
    child.inv.elevated = false;
    child.inv.redirections.clear();
    child.inv.wrappers.push_back("kubectl exec");
    if (!child.words.empty()) peel(std::move(child), depth + 1);
    return Step::kDone;
  }
  if (is_any(name, {"make", "gmake", "bmake", "remake"})) return peel_make(work, args, depth);
  if (name == "man") {
    for (size_t i = 0; i < args.size(); ++i) {
      if ((args[i] == "-P" || args[i] == "--pager" || args[i] == "-H") && i + 1 < args.size()) {
        run(args[i + 1], "man -P");
        return Step::kDone;
      }
      if (args[i].rfind("--pager=", 0) == 0 || args[i].rfind("-P", 0) == 0) {
        run(args[i].substr(args[i][1] == 'P' ? 2 : 8), "man -P");
        return Step::kDone;
      }
    }
    return Step::kStop;
  }
  if (is_any(name, {"npm", "pnpm", "yarn", "bun"}) && !args.empty() &&
      is_any(args[0], {"exec", "x", "dlx"})) {
    const ScannedArgs scanned = scan_args(std::vector<std::string>(args.begin() + 1, args.end()),
                                          "cp", {"call", "package", "workspace"}, true);
    for (std::string_view option : {"c", "call"}) {
      if (const std::string* code = scanned.value(option)) {
        run(*code, "npm exec -c");
        return Step::kDone;
      }
    }
    const size_t index = 2 + scanned.options_end;
    if (index >= work.words.size()) return Step::kStop;
    work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(index));
    work.inv.wrappers.push_back("npm exec");
    return Step::kContinue;
  }
  return Step::kStop;
}

// ssh -o ProxyCommand=CMD / LocalCommand=CMD: CMD runs on this machine.
bool Analyzer::peel_ssh_option(const Work& work, const std::string& option, int depth) {
  const size_t split = option.find_first_of("= ");
  if (split == std::string::npos) return false;
  std::string key = option.substr(0, split);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!is_any(key, {"proxycommand", "localcommand", "knownhostscommand", "remotecommand"})) {
    return false;
  }
  std::string code = option.substr(split + 1);
  while (!code.empty() && (code[0] == ' ' || code[0] == '=')) code.erase(0, 1);
  analyze_code_value(work, code, depth, "ssh -o");
  return true;
}

namespace {

// The shell commands of makefile text: recipe lines (after a tab) and `$(shell ...)` calls.
std::vector<std::string> makefile_commands(std::string_view text) {
  std::vector<std::string> commands;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line[0] == '\t') {
      line.remove_prefix(1);
      while (!line.empty() && (line[0] == '@' || line[0] == '-' || line[0] == '+')) {
        line.remove_prefix(1);
      }
      commands.emplace_back(line);
    }
    start = end + 1;
  }
  for (size_t at = text.find("$(shell "); at != std::string_view::npos;
       at = text.find("$(shell ", at + 1)) {
    const size_t close = text.find(')', at);
    if (close == std::string_view::npos) break;
    commands.emplace_back(text.substr(at + 8, close - at - 8));
  }
  return commands;
}

// awk -f /dev/stdin, awk -f -: the program is read from stdin.
bool reads_program_from_stdin_file(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if ((args[i] == "-f" || args[i] == "--file") && i + 1 < args.size() &&
        names_stdin(args[i + 1])) {
      return true;
    }
    if (args[i].rfind("-f", 0) == 0 && names_stdin(args[i].substr(2))) return true;
    if (args[i].rfind("--file=", 0) == 0 && names_stdin(args[i].substr(7))) return true;
  }
  return false;
}

// ed and ex read editor commands from stdin, and so does vim in Ex mode (-e, -es, -E).
bool reads_editor_commands(const std::string& name, const std::vector<std::string>& args) {
  if (name == "ed" || name == "ex") return true;
  if (!is_any(name, {"vim", "vi", "nvim"})) return false;
  return std::any_of(args.begin(), args.end(), [](const std::string& arg) {
    return is_any(arg, {"-e", "-es", "-E", "-Es", "-se", "-sE", "--headless"});
  });
}

}  // namespace

// An interpreter reading its program from stdin: known text (a here-document, a here-string,
// `echo ... |`) is scanned as inline code and the commands it visibly runs are analyzed;
// unknown stdin is rated by the exec.stdin rules.
void Analyzer::read_stdin_as_code(Work& work, const std::string& name, int depth) {
  if (!work.stdin_text) return;
  work.inv.stdin_is_code = true;
  Invocation probe;
  probe.program = name;
  probe.stdin_is_code = true;
  probe.stdin_known = true;
  probe.stdin_literal = *work.stdin_text;
  for (const std::string& command : scan_invocation_code(probe).shell_commands) {
    analyze_nested(work, command, depth, "inline code", work.inv.elevated);
  }
}

// make --eval=TEXT, make -E TEXT and make -f /dev/stdin: makefile text given on the line or on
// stdin; its recipes and $(shell ...) calls run. Unknown makefile text is unknown code.
Step Analyzer::peel_make(Work& work, const std::vector<std::string>& args, int depth) {
  std::vector<std::string> texts;
  bool unknown = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    std::string file;
    if ((arg == "-E" || arg == "--eval") && i + 1 < args.size()) {
      texts.push_back(args[++i]);
    } else if (arg.rfind("--eval=", 0) == 0) {
      texts.push_back(arg.substr(7));
    } else if (arg.rfind("-E", 0) == 0 && arg.size() > 2) {
      texts.push_back(arg.substr(2));
    } else if (is_any(arg, {"-f", "--file", "--makefile"}) && i + 1 < args.size()) {
      file = args[++i];
    } else if (arg.rfind("--file=", 0) == 0 || arg.rfind("--makefile=", 0) == 0) {
      file = arg.substr(arg.find('=') + 1);
    } else if (arg.rfind("-f", 0) == 0 && arg.size() > 2) {
      file = arg.substr(2);
    }
    if (file.empty()) continue;
    if (names_stdin(file) && work.stdin_text) {
      texts.push_back(*work.stdin_text);
    } else if (names_stdin(file) || file[0] == '$' || file.rfind("/dev/fd/", 0) == 0) {
      unknown = true;  // stdin from a pipe, <(...), a variable: the recipes are not known
      work.inv.input_from_network |= work.inv.stdin_from_download;
    }
  }
  for (size_t i = 1; i < work.words.size(); ++i) {
    const std::string& text = work.words[i].text;
    const bool makefile_text =
        is_any(text.substr(0, 2), {"-E", "-f"}) || text.rfind("--eval", 0) == 0 ||
        text.rfind("--file", 0) == 0 || text.rfind("--makefile", 0) == 0 ||
        (i > 1 && is_any(work.words[i - 1].text, {"-E", "--eval", "-f", "--file", "--makefile"}));
    if (makefile_text && (work.words[i].dynamic || work.words[i].from_subst)) {
      unknown = true;  // make --eval="$RULES": text chosen at run time
    }
  }
  if (texts.empty() && !unknown) return Step::kStop;
  for (const std::string& text : texts) {
    for (const std::string& command : makefile_commands(text)) {
      analyze_nested(work, command, depth, "make", work.inv.elevated);
    }
  }
  Work self = work;
  self.inv.input_unknown |= unknown;
  emit_with_directory(to_invocation(std::move(self)));
  return Step::kDone;
}

// Interpreters with inline code, awk programs, sed scripts, vim -c and less +!: the shell
// commands they visibly run are analyzed; the invocation itself is rated by its code.
Step Analyzer::peel_inline_code(Work& work, const std::string& name, int depth) {
  const InlineCode code = scan_inline_code(name, texts_of(work.words, 1));
  for (const std::string& command : code.shell_commands) {
    analyze_nested(work, command, depth, "inline code", work.inv.elevated);
  }
  if (is_awk(name) && reads_program_from_stdin_file(texts_of(work.words, 1))) {
    read_stdin_as_code(work, name, depth);
  }
  if (reads_editor_commands(name, texts_of(work.words, 1))) {
    // ed, ex, vim -es: stdin holds editor commands, and `!cmd` runs a shell command.
    if (!work.stdin_text && (work.inv.stdin_opaque_pipe || work.inv.stdin_from_download)) {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
    }
    read_stdin_as_code(work, name, depth);
  }
  if (!is_interpreter(name)) return Step::kStop;
  const ScannedArgs scanned = scan_args(texts_of(work.words, 1), "cemErW", {}, true);
  const size_t operand = 1 + scanned.options_end;
  const bool runs_module = scanned.value("m") != nullptr;  // python -m json.tool reads data
  const bool reads_stdin = !code.present && !runs_module &&
                           (operand >= work.words.size() || names_stdin(work.words[operand].text));
  if (reads_stdin) read_stdin_as_code(work, name, depth);
  if (!reads_stdin) {
    work.inv.stdin_opaque_pipe = false;
    work.inv.stdin_from_download = false;
  }
  if (!code.present && operand < work.words.size() && work.words[operand].from_subst &&
      !work.words[operand].downloads) {
    work.inv.input_unknown = true;  // python3 <(...): code from a substitution
  }
  if (reads_stdin && work.inv.args_from_stdin) work.inv.input_unknown = true;
  // python -c "$CODE": the code itself is not known.
  for (size_t i = 1; i < work.words.size(); ++i) {
    const Expanded& word = work.words[i];
    if (word.dynamic && !word.text.empty() && word.text[0] == '$' &&
        std::find(code.codes.begin(), code.codes.end(), word.text) != code.codes.end()) {
      work.inv.input_unknown = true;
    }
  }
  return Step::kStop;
}

// parallel CMD ::: ARGS, parallel ::: 'CMD1' 'CMD2', ... | parallel CMD.
Step Analyzer::peel_parallel(Work& work, int depth) {
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "jSaI", {"jobs", "sshlogin", "arg-file", "joblog"}, true);
  const size_t command_start = 1 + scanned.options_end;
  size_t separator = command_start;
  while (separator < work.words.size() &&
         !is_any(work.words[separator].text, {":::", "::::", ":::+", "::::+"})) {
    ++separator;
  }
  std::vector<Expanded> command(work.words.begin() + static_cast<long>(command_start),
                                work.words.begin() + static_cast<long>(separator));
  std::vector<std::string> items;
  for (size_t i = separator + 1; i < work.words.size(); ++i) {
    if (!is_any(work.words[i].text, {":::", "::::", ":::+", "::::+"})) {
      items.push_back(work.words[i].text);
    }
  }
  const bool items_known = separator < work.words.size();
  if (command.empty()) {
    if (items_known) {
      for (const std::string& item : items) {
        analyze_nested(work, item, depth, "parallel", work.inv.elevated);
      }
    } else if (work.stdin_text) {
      analyze_nested(work, *work.stdin_text, depth, "parallel", work.inv.elevated);
    } else {
      work.inv.input_unknown = true;
      work.inv.input_from_network = work.inv.stdin_from_download;
      return Step::kStop;
    }
    return Step::kDone;
  }
  // Like xargs: the command gets each item, in place of {} or appended.
  std::string line = join_texts(command, 0);
  if (!items_known) {
    Work child = work;
    child.words = command;
    child.inv.args_from_stdin = true;
    child.inv.wrappers.push_back("parallel");
    peel(std::move(child), depth + 1);
    return Step::kDone;
  }
  for (const std::vector<std::string>& group : fan_out_groups(items)) {
    std::string joined;
    for (const std::string& item : group) joined += (joined.empty() ? "" : " ") + item;
    std::string one = line;
    const size_t at = one.find("{}");
    if (at != std::string::npos) {
      one.replace(at, 2, joined);
    } else {
      one += " " + joined;
    }
    analyze_nested(work, one, depth, "parallel", work.inv.elevated);
  }
  return Step::kDone;
}

// Drops words[0], its options and `extra_operands` more words; stops when nothing would be left.
Step Analyzer::drop_wrapper(Work& work, const ScannedArgs& scanned, size_t extra_operands,
                            const char* wrapper) {
  const size_t command_index = 1 + scanned.options_end + extra_operands;
  if (command_index >= work.words.size()) return Step::kStop;
  work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(command_index));
  work.inv.wrappers.push_back(wrapper);
  return Step::kContinue;
}

Step Analyzer::peel_sudo(Work& work, const std::string& name, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  const ScannedArgs scanned =
      name == "pkexec" ? scan_args(args, "", {"user"}, true)
                       : scan_args(args, name == "doas" ? "uC" : "ugphrtTCDUR",
                                   {"user", "group", "prompt", "host", "role", "type", "close-from",
                                    "chdir", "other-user", "command-timeout"},
                                   true);
  if (name == "sudo" && scanned.has('e')) {
    work.words[0].text = "sudoedit";
    work.words.erase(work.words.begin() + 1,
                     work.words.begin() + 1 + static_cast<long>(scanned.options_end));
    work.inv.elevated = true;
    return Step::kStop;
  }
  if (name == "sudo" &&
      (scanned.has('l') || scanned.has('v') || scanned.has('K') || scanned.has('V'))) {
    return Step::kStop;
  }
  size_t index = 1 + scanned.options_end;
  while (index < work.words.size() && is_assignment_text(work.words[index].text)) {
    work.inv.assignments.push_back(work.words[index].text);
    analyze_assignment(work.words[index].text, depth, work);
    ++index;
  }
  if (index >= work.words.size()) return Step::kStop;  // a root shell, rated by the rules
  work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(index));
  work.inv.elevated = true;
  work.inv.wrappers.push_back(name);
  return Step::kContinue;
}

Step Analyzer::peel_env(Work& work, int depth) {
  size_t i = 1;
  std::optional<std::string> split_string;
  auto value_of = [&](size_t& k, std::string_view short_opt,
                      std::string_view long_opt) -> std::optional<std::string> {
    const std::string& text = work.words[k].text;
    if (text == short_opt || text == std::string("--") + std::string(long_opt)) {
      if (k + 1 >= work.words.size()) return std::string();
      return work.words[++k].text;
    }
    if (text.rfind(short_opt, 0) == 0 && text.size() > 2 && text[1] != '-') {
      return text.substr(2);
    }
    const std::string long_prefix = std::string("--") + std::string(long_opt) + "=";
    if (text.rfind(long_prefix, 0) == 0) return text.substr(long_prefix.size());
    return std::nullopt;
  };
  for (; i < work.words.size(); ++i) {
    const std::string& text = work.words[i].text;
    if (text == "--") {
      ++i;
      break;
    }
    if (auto value = value_of(i, "-S", "split-string")) {
      split_string = *value;
      continue;
    }
    if (value_of(i, "-u", "unset") || value_of(i, "-C", "chdir") || value_of(i, "-P", "path")) {
      continue;
    }
    if (is_assignment_text(text)) {
      work.inv.assignments.push_back(text);
      analyze_assignment(text, depth, work);
      continue;
    }
    if (text.size() > 1 && text[0] == '-') continue;  // -i, -0, -v, --ignore-environment
    if (text == "-") continue;
    break;
  }
  if (split_string) {
    std::string line = *split_string;
    if (i < work.words.size()) line += " " + join_texts(work.words, i);
    analyze_nested(work, line, depth, "env", work.inv.elevated);
    return Step::kDone;
  }
  if (i >= work.words.size()) return Step::kStop;
  work.words.erase(work.words.begin(), work.words.begin() + static_cast<long>(i));
  work.inv.wrappers.push_back("env");
  return Step::kContinue;
}

Step Analyzer::peel_xargs(Work& work, int depth) {
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "ILnPsdEa",
                {"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "max-lines",
                 "process-slot-var", "replace", "eof"},
                true);
  std::optional<std::string> placeholder;
  if (const std::string* replace = scanned.value("I")) placeholder = *replace;
  if (const std::string* replace = scanned.value("replace")) placeholder = *replace;
  if (!placeholder && (scanned.has('i') || scanned.has_long("replace"))) placeholder = "{}";

  Work child;
  child.inv = work.inv;
  child.inv.redirections.clear();
  child.inv.stdin_opaque_pipe = false;
  child.inv.stdin_from_download = false;
  child.inv.wrappers.push_back("xargs");
  child.args_from_network = work.inv.stdin_from_download;
  const size_t command_index = 1 + scanned.options_end;
  for (size_t i = command_index; i < work.words.size(); ++i) child.words.push_back(work.words[i]);
  if (child.words.empty()) child.words.push_back(literal_word("echo"));
  // Emit xargs itself only for its redirections; the command it runs is what matters.
  if (!work.inv.redirections.empty()) {
    Work self = work;
    self.words.resize(1);
    emit(to_invocation(std::move(self)));
  }
  if (!work.stdin_text) {
    child.inv.args_from_stdin = true;
    if (placeholder && !placeholder->empty()) {
      // Each {} becomes a line of stdin that cannot be known here.
      for (Expanded& word : child.words) {
        if (word.text.find(*placeholder) == std::string::npos) continue;
        for (size_t at = word.text.find(*placeholder); at != std::string::npos;
             at = word.text.find(*placeholder, at + 7)) {
          word.text.replace(at, placeholder->size(), "$XARGS");
        }
        word.dynamic = true;
      }
    }
    peel(std::move(child), depth);
    return Step::kDone;
  }
  std::vector<std::string> tokens;
  std::string current;
  for (char c : *work.stdin_text + "\n") {
    if (c == ' ' || c == '\t' || c == '\n') {
      if (!current.empty()) tokens.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!placeholder) {
    for (std::string& token : tokens) child.words.push_back(literal_word(std::move(token)));
    peel(std::move(child), depth);
    return Step::kDone;
  }
  for (const std::vector<std::string>& group : fan_out_groups(tokens)) {
    Work copy = child;
    copy.words = substitute_items(child.words, *placeholder, group);
    peel(std::move(copy), depth);
  }
  return Step::kDone;
}

Step Analyzer::peel_find(Work& work, int depth) {
  const FindExpression expression = parse_find(texts_of(work.words, 1));
  Work self = work;
  self.words.clear();
  std::vector<std::vector<Expanded>> exec_commands;
  for (size_t i = 0; i < work.words.size(); ++i) {
    const std::string& text = work.words[i].text;
    self.words.push_back(work.words[i]);
    if (i == 0 || !is_any(text, {"-exec", "-execdir", "-ok", "-okdir"})) continue;
    std::vector<Expanded> command;
    while (i + 1 < work.words.size() && work.words[i + 1].text != ";" &&
           work.words[i + 1].text != "+") {
      command.push_back(work.words[++i]);
    }
    if (i + 1 < work.words.size()) self.words.push_back(work.words[++i]);
    if (!command.empty()) exec_commands.push_back(std::move(command));
  }
  emit(to_invocation(std::move(self)));
  for (const std::vector<Expanded>& command : exec_commands) {
    Work child;
    child.inv = work.inv;
    child.inv.redirections.clear();
    child.inv.stdin_opaque_pipe = false;
    child.inv.stdin_from_download = false;
    child.inv.wrappers.push_back("find -exec");
    child.words = command;
    // With no test narrowing the matches, the first path find hands over is the root itself.
    const bool substitute = !expression.filtered;
    for (const std::vector<std::string>& group : fan_out_groups(expression.roots)) {
      Work copy = child;
      if (substitute) copy.words = substitute_items(child.words, "{}", group);
      peel(std::move(copy), depth + 1);
      if (!substitute) break;
    }
  }
  return Step::kDone;
}

// `zsh -c`, `fish -c`, `dash -c`: the nested text is read in that shell's dialect (a shell the
// check cannot read is read as bash).
Step Analyzer::peel_shell(Work& work, int depth) {
  const Dialect saved = dialect_;
  dialect_ =
      dialect_of_shell(canonical_program(basename_of(work.words[0].text))).value_or(Dialect::kBash);
  const Step step = peel_shell_in_dialect(work, depth);
  dialect_ = saved;
  return step;
}

Step Analyzer::peel_shell_in_dialect(Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  // `+o name` is an option too; treat it like `-o name` before scanning.
  std::vector<std::string> normalized = args;
  for (std::string& arg : normalized) {
    if (arg.size() > 1 && arg[0] == '+') arg[0] = '-';
  }
  const ScannedArgs scanned = scan_args(normalized, "oO", {"rcfile", "init-file"}, true);
  const size_t operand = 1 + scanned.options_end;
  const std::string name = basename_of(work.words[0].text);
  if (scanned.has('c') || scanned.has_long("command")) {
    const std::string* long_command = scanned.value("command");
    if (long_command) {
      analyze_nested(work, *long_command, depth, "sh -c", work.inv.elevated);
      return Step::kDone;
    }
    if (operand >= work.words.size()) {
      // `xargs sh -c`: the code is the first argument read from stdin.
      if (work.inv.args_from_stdin) work.inv.input_unknown = true;
      work.inv.input_from_network = work.args_from_network;
      return Step::kStop;
    }
    analyze_nested(work, work.words[operand].text, depth, "sh -c", work.inv.elevated);
    return Step::kDone;
  }
  const bool reads_stdin =
      operand >= work.words.size() || scanned.has('s') || names_stdin(work.words[operand].text);
  if (!reads_stdin) {
    work.inv.stdin_opaque_pipe = false;
    work.inv.stdin_from_download = false;
    const Expanded& script = work.words[operand];
    // bash <(...): the script is the output of a substitution.
    if (script.from_subst && !script.downloads) {
      const std::string& text = script.text;
      const std::optional<std::string> known =
          text.size() > 3 && text.rfind("<(", 0) == 0
              ? static_substitution(std::string_view(text).substr(2, text.size() - 3), dialect_)
              : std::nullopt;
      if (known) {
        analyze_nested(work, *known, depth, "sh <(...)", work.inv.elevated);
      } else {
        work.inv.input_unknown = true;
      }
    }
  } else if (work.stdin_text) {
    analyze_nested(work, *work.stdin_text, depth, "sh <<<", work.inv.elevated);
  } else if (work.inv.args_from_stdin) {
    work.inv.input_unknown = true;  // `xargs sh`: runs script files named on stdin
    work.inv.input_from_network = work.args_from_network;
  }
  return Step::kStop;
}

Step Analyzer::peel_su(Work& work, int depth) {
  const ScannedArgs scanned =
      scan_args(texts_of(work.words, 1), "csgG", {"command", "shell", "group", "supp-group"});
  const std::string* command = scanned.value("c");
  if (!command) command = scanned.value("command");
  if (!command) return Step::kStop;  // an interactive shell, rated by the rules
  analyze_nested(work, *command, depth, "su", true);
  return Step::kDone;
}

Step Analyzer::peel_ssh(Work& work, int depth) {
  const std::vector<std::string> args = texts_of(work.words, 1);
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-o" && i + 1 < args.size()) {
      peel_ssh_option(work, args[++i], depth);
    } else if (args[i].rfind("-o", 0) == 0 && args[i].size() > 2) {
      peel_ssh_option(work, args[i].substr(2), depth);
    }
  }
  const ScannedArgs scanned = scan_args(args, "BbcDEeFIiJLlmOoPpQRSWw", {}, true);
  const size_t host = 1 + scanned.options_end;
  if (host + 1 >= work.words.size()) return Step::kStop;
  analyze_nested(work, join_texts(work.words, host + 1), depth, "ssh", false);
  work.words.resize(host + 1);
  return Step::kStop;
}

}  // namespace cmdai::safety
