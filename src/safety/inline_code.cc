#include "safety/inline_code.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "safety/paths.h"
#include "safety/programs.h"

namespace cmdai::safety {
namespace {

bool has_any(std::string_view text, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [text](std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
  });
}

// The code strings of `program`'s command line: -c/-e/-r values, or awk's program operand.
std::vector<std::string> code_arguments(const std::string& program,
                                        const std::vector<std::string>& args, bool* encoded) {
  std::vector<std::string> codes;
  std::string_view code_letters = "e";  // perl, ruby, lua, node, Rscript, julia, osascript
  if (program == "python" || program == "pypy" || program == "ipython") code_letters = "c";
  if (program == "php") code_letters = "rBRFE";
  if (program == "node" || program == "nodejs" || program == "bun") code_letters = "ep";
  if (program == "expect" || program == "pwsh" || program == "powershell") code_letters = "c";
  if (is_awk(program)) {
    bool from_file = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "-f" || arg == "--file" || arg.rfind("-f", 0) == 0) from_file = true;
      if (arg == "-e" || arg == "--source") {
        if (i + 1 < args.size()) codes.push_back(args[++i]);
        continue;
      }
      if (arg == "-v" || arg == "-F" || arg == "--assign" || arg == "--field-separator") {
        ++i;
        continue;
      }
      if (arg.size() > 1 && arg[0] == '-') continue;
      if (!from_file && codes.empty()) codes.push_back(arg);
      break;
    }
    return codes;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (arg == "--eval" || arg == "--print" || arg == "-Command" || arg == "-command") {
      if (i + 1 < args.size()) codes.push_back(args[++i]);
      continue;
    }
    if (arg.rfind("--eval=", 0) == 0) {
      codes.push_back(arg.substr(7));
      continue;
    }
    if (arg == "-EncodedCommand" || arg == "-enc" || (arg == "-e" && program == "pwsh")) {
      *encoded = true;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-' || arg[1] == '-') {
      if (program == "deno" && arg == "eval" && i + 1 < args.size()) codes.push_back(args[++i]);
      if (arg.size() < 2 || arg[0] != '-') break;  // the script file: code is not inline
      continue;
    }
    for (size_t k = 1; k < arg.size(); ++k) {
      const char flag = arg[k];
      if (code_letters.find(flag) != std::string_view::npos) {
        if (k + 1 < arg.size()) {
          codes.push_back(arg.substr(k + 1));
        } else if (i + 1 < args.size()) {
          codes.push_back(args[++i]);
        }
        break;
      }
      // Options whose value is the rest of the word: perl -Mmod, -Idir, python -Wx, ...
      if (std::string_view("MmIWXrlx0").find(flag) != std::string_view::npos) break;
    }
  }
  return codes;
}

// The first argument of every `call(` in `code`: a literal string (or a list of literals,
// joined with blanks) goes to `commands`, anything else sets `*unknown`.
using Spans = std::vector<std::pair<size_t, size_t>>;  // [begin, end) offsets into the code

void call_arguments(std::string_view code, std::string_view call,
                    std::vector<std::string>& commands, bool* unknown, Spans* seen = nullptr) {
  for (size_t at = code.find(call); at != std::string_view::npos;
       at = code.find(call, at + call.size())) {
    size_t i = at + call.size();
    // For names such as "subprocess.run", also accept "subprocess.check_output(" etc.
    // A call written with its "(" (exec(, spawn() is complete: its argument comes next.
    while (
        call.back() != '(' && i < code.size() && code[i] != '(' && code[i] != ' ' &&
        code[i] != '"' && code[i] != '\'' &&
        (std::isalnum(static_cast<unsigned char>(code[i])) || code[i] == '_' || code[i] == '.')) {
      ++i;
    }
    while (i < code.size() && (code[i] == '(' || code[i] == ' ' || code[i] == '[')) ++i;
    std::string command;
    bool literal = false;
    while (i < code.size() && (code[i] == '"' || code[i] == '\'')) {
      const char quote = code[i];
      const size_t close = code.find(quote, i + 1);
      if (close == std::string_view::npos) break;
      if (!command.empty()) command += ' ';
      command += std::string(code.substr(i + 1, close - i - 1));
      literal = true;
      i = close + 1;
      while (i < code.size() && (code[i] == ',' || code[i] == ' ')) ++i;
      if (i < code.size() && code[i] != '"' && code[i] != '\'') break;
    }
    if (seen != nullptr) seen->emplace_back(at, i);
    const bool concatenated = i < code.size() && (code[i] == '+' || code[i] == '.');
    if (literal && !concatenated && command.find("%s") == std::string::npos) {
      commands.push_back(std::move(command));
    } else {
      *unknown = true;
    }
  }
}

// Text between backticks (perl, ruby, php) is a shell command.
void backtick_commands(std::string_view code, std::vector<std::string>& commands, bool* unknown) {
  size_t open = code.find('`');
  while (open != std::string_view::npos) {
    const size_t close = code.find('`', open + 1);
    if (close == std::string_view::npos) break;
    const std::string_view inner = code.substr(open + 1, close - open - 1);
    if (inner.find('$') != std::string_view::npos || inner.find('#') != std::string_view::npos) {
      *unknown = true;
    }
    commands.emplace_back(inner);
    open = code.find('`', close + 1);
  }
}

// Any quoted literal in the code that names /, a home or a system path.
bool mentions_vital_path(std::string_view code) {
  if (has_any(code, {"expanduser(", "Path.home()", "os.homedir()", "ENV['HOME']", "$ENV{HOME}",
                     "getenv('HOME')", "getenv(\"HOME\")", "Dir.home"})) {
    return true;
  }
  for (size_t i = 0; i < code.size(); ++i) {
    if (code[i] != '\'' && code[i] != '"') continue;
    const size_t close = code.find(code[i], i + 1);
    if (close == std::string_view::npos) break;
    const std::string path(code.substr(i + 1, close - i - 1));
    if (!path.empty() && (path[0] == '/' || path[0] == '~')) {
      const TreeClass tree = classify_tree(path);
      if (tree != TreeClass::kOther || is_system_path(path)) return true;
    }
    i = close;
  }
  return false;
}

// `open(f, 'w')`, `open(F, ">x")`, `open(P, "|cmd")`: a file opened for writing or a pipe.
bool opens_for_write(std::string_view code) {
  for (size_t at = code.find("open"); at != std::string_view::npos;
       at = code.find("open", at + 4)) {
    const std::string_view call = code.substr(at, 80);
    const std::string_view args = call.substr(0, call.find(')'));
    if (has_any(args, {"'w", "\"w", "'a", "\"a", "'x", "\"x", "r+", ">", "|", "O_WRONLY", "O_RDWR",
                       "O_CREAT"})) {
      return true;
    }
  }
  return false;
}

// Names through which code can do more than print or compute: run commands, write, delete,
// rename or change files, signal processes, load native code or decode hidden payloads.
constexpr std::string_view kCapabilities[] = {"system(",
                                              "system ",
                                              "exec(",
                                              "exec ",
                                              "execv",
                                              "execl",
                                              "execSync",
                                              "execFile",
                                              "eval(",
                                              "eval ",
                                              "spawn",
                                              "popen",
                                              "subprocess",
                                              "shutil",
                                              "os.rename",
                                              "os.replace",
                                              "os.chmod",
                                              "os.chown",
                                              "os.kill",
                                              "os.fork",
                                              "os.write",
                                              "os.setuid",
                                              "os.symlink",
                                              "os.link",
                                              "os.truncate",
                                              "rename",
                                              "chmod",
                                              "chown",
                                              "kill",
                                              "fork",
                                              "__import__",
                                              "getattr",
                                              "compile(",
                                              "marshal",
                                              "pickle",
                                              "ctypes",
                                              "importlib",
                                              "b64decode",
                                              "base64",
                                              "codecs",
                                              "decode(",
                                              "chr(",
                                              "\\x",
                                              "child_process",
                                              "process.binding",
                                              "writeFile",
                                              "appendFile",
                                              "File.write",
                                              "File.open",
                                              "fs.rm",
                                              "fs.chmod",
                                              "fs.chown",
                                              "fs.rename",
                                              "fs.copyFile",
                                              "fs.symlink",
                                              "fs.truncate",
                                              "fs.open",
                                              "fs.write",
                                              "fs.mkdir",
                                              "write_text",
                                              "write_bytes",
                                              "syscall",
                                              "send(",
                                              "Kernel",
                                              "`",
                                              "qx",
                                              "%x",
                                              "pty",
                                              "sysopen",
                                              "mkdir",
                                              "symlink",
                                              "setuid",
                                              "Invoke-",
                                              "Start-",
                                              "Set-",
                                              "New-Item",
                                              "Remove-",
                                              "http",
                                              "curl",
                                              "wget",
                                              "dlopen",
                                              "ffi",
                                              "FFI",
                                              "Deno.run",
                                              "Deno.Command",
                                              "Deno.remove",
                                              "Deno.write",
                                              "Deno.chmod",
                                              "Deno.rename",
                                              "Deno.kill",
                                              "Bun.spawn",
                                              "Bun.write",
                                              "Bun.$",
                                              "$`"};

// True when every mention of `name` in `code` is a call site read by call_arguments, or a
// plain `import name` / `require("name").`: an alias (`import subprocess as s`, `from os
// import system as x`, `const {execSync: e} = require(...)`) hides the calls made through it.
bool all_mentions_read(std::string_view code, std::string_view name, const Spans& call_sites) {
  auto identifier_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  for (size_t at = code.find(name); at != std::string_view::npos; at = code.find(name, at + 1)) {
    // Only the name itself or a call variant of it: not `filesystem`, not `sys.executable`.
    if (at > 0 && identifier_char(code[at - 1])) continue;
    size_t end = at + name.size();
    while (end < code.size() && identifier_char(code[end])) ++end;
    const std::string_view suffix = code.substr(at + name.size(), end - at - name.size());
    if (!suffix.empty() && !is_any(suffix, {"v", "l", "vp", "vpe", "ve", "le", "lp", "lpe", "Sync",
                                            "File", "FileSync", "2", "3"})) {
      continue;
    }
    const bool in_call = std::any_of(call_sites.begin(), call_sites.end(), [at](const auto& span) {
      return at >= span.first && at < span.second;
    });
    if (in_call) continue;
    const std::string_view before = code.substr(0, at);
    const std::string_view after = code.substr(at + name.size());
    const bool plain_import =
        before.size() >= 7 && before.substr(before.size() - 7) == "import " &&
        (after.empty() || after[0] == ';' || after[0] == '\n') &&
        (before.size() == 7 ||
         std::string_view(";\n ").find(before[before.size() - 8]) != std::string_view::npos);
    const bool plain_require = before.size() >= 9 &&
                               before.substr(before.size() - 9).substr(0, 8) == "require(" &&
                               after.size() >= 3 && after[1] == ')' && after[2] == '.';
    if (!plain_import && !plain_require) return false;
  }
  return true;
}

void scan_program_code(std::string_view code, InlineCode& out) {
  bool unknown_command = false;
  Spans call_sites;
  for (std::string_view call : {"system",
                                "os.popen",
                                "popen",
                                "subprocess.",
                                "execSync",
                                "exec(",
                                "execFileSync",
                                "spawnSync",
                                "spawn(",
                                "shell_exec",
                                "passthru",
                                "proc_open",
                                "IO.popen",
                                "Open3.",
                                "do shell script",
                                "run(`",
                                "os.exec",
                                "pty.spawn",
                                "Runtime.getRuntime().exec",
                                "Start-Process",
                                "Invoke-Expression",
                                "iex "}) {
    call_arguments(code, call, out.shell_commands, &unknown_command, &call_sites);
  }
  backtick_commands(code, out.shell_commands, &unknown_command);
  // awk: `print | "cmd"` and `"cmd" | getline` run cmd through sh.
  for (size_t at = code.find('|'); at != std::string_view::npos; at = code.find('|', at + 1)) {
    size_t open = code.find_first_not_of(' ', at + 1);
    if (open != std::string_view::npos && code[open] == '"') {
      const size_t close = code.find('"', open + 1);
      if (close == std::string_view::npos) break;
      const std::string sink(code.substr(open + 1, close - open - 1));
      const std::string first = sink.substr(0, sink.find(' '));
      if (is_shell(first) || is_interpreter(first) || first.empty()) unknown_command = true;
      out.shell_commands.push_back(sink);
    }
    size_t before = at;
    while (before > 0 && code[before - 1] == ' ') --before;
    if (before > 0 && code[before - 1] == '"' && code.substr(at).find("getline") < 8) {
      const size_t open_quote = code.rfind('"', before - 2);
      if (open_quote != std::string_view::npos) {
        out.shell_commands.emplace_back(code.substr(open_quote + 1, before - open_quote - 2));
      }
    }
  }
  for (std::string_view marker : {"qx(", "qx{", "%x(", "%x{"}) {
    for (size_t at = code.find(marker); at != std::string_view::npos;
         at = code.find(marker, at + 1)) {
      const char close = marker[2] == '(' ? ')' : '}';
      const size_t end = code.find(close, at + 3);
      if (end == std::string_view::npos) break;
      out.shell_commands.emplace_back(code.substr(at + 3, end - at - 3));
    }
  }
  const bool networked = has_any(code, {"socket", "Socket", "fsockopen", "TCPSocket", "net.connect",
                                        "net.Socket", "createConnection", "/dev/tcp/"});
  const bool shell_wired =
      has_any(code, {"dup2", "pty.spawn", "/bin/sh", "/bin/bash", "cmd.exe", "subprocess", "exec(",
                     "spawn(", "system(", "popen", "proc_open", "child_process", "-i"});
  out.remote_shell = has_any(code, {"/dev/tcp/", "/dev/udp/", "pty.spawn", "/inet/tcp/"}) ||
                     (networked && shell_wired);
  const bool fetches = has_any(code, {"urlopen",
                                      "urllib",
                                      "requests.get",
                                      "requests.post",
                                      "http.get",
                                      "https.get",
                                      "fetch(",
                                      "Net::HTTP",
                                      "open-uri",
                                      "URI.open",
                                      "LWP",
                                      "HTTP::Tiny",
                                      "getstore",
                                      "file_get_contents('http",
                                      "file_get_contents(\"http",
                                      "curl_exec",
                                      "DownloadString",
                                      "Invoke-WebRequest",
                                      "iwr ",
                                      "http.client",
                                      "httpx"});
  const bool executes =
      has_any(code, {"exec(", "eval(", "eval ", "system(", "spawn", "popen", "IEX",
                     "Invoke-Expression", "iex ", "loadstring(", "Function(", "instance_eval",
                     "subprocess", "do shell script", "| sh", "|sh", "| bash", "|bash"});
  out.runs_download = fetches && executes;
  const bool tree_delete =
      has_any(code, {"rmtree", "rm_rf", "rm_r(", "rm_r ", "remove_tree", "rimraf",
                     "deleteRecursively", "rmSync", "rmdirSync", "Remove-Item", "rmdir -Recurse",
                     "FileUtils.rm", "unlink glob", "unlink(glob", "File::Path"});
  const bool file_delete =
      has_any(code, {"os.remove", "os.unlink", "os.rmdir", "unlink", "File.delete", "Files.delete",
                     "removedirs", "fs.unlink", "File.unlink", "Path.unlink", ".unlink(",
                     "truncate(", "Deno.remove", "unlinkSync", "file.remove", "os.remove("});
  out.destroys = tree_delete || (file_delete && mentions_vital_path(code));
  out.runs_unknown = unknown_command;
  // Calls that only run the literal commands found above are rated through those commands;
  // anything else the code can do makes it non-trivial.
  static constexpr std::string_view kCallsAnalyzed[] = {
      "system(", "system ", "exec(",      "exec ",         "execSync", "execFile",
      "spawn",   "popen",   "subprocess", "child_process", "`",        "qx",
      "%x",      "os.",     "shell_exec", "passthru"};
  const bool other_capability =
      std::any_of(std::begin(kCapabilities), std::end(kCapabilities), [&](std::string_view name) {
        if (code.find(name) == std::string_view::npos) return false;
        return std::none_of(std::begin(kCallsAnalyzed), std::end(kCallsAnalyzed),
                            [name](std::string_view call) { return name == call; });
      });
  // A command-running name met outside the calls read above runs something not seen.
  static constexpr std::string_view kCallNames[] = {
      "system",        "exec",       "spawn",    "popen",     "subprocess",
      "child_process", "shell_exec", "passthru", "proc_open", "Open3"};
  const bool hidden_call = std::any_of(
      std::begin(kCallNames), std::end(kCallNames),
      [&](std::string_view name) { return !all_mentions_read(code, name, call_sites); });
  const bool evaluates = has_any(
      code, {"eval(", "eval ", "IEX", "Invoke-Expression", "iex ", "loadstring(", "Function(",
             "instance_eval", "| sh", "|sh", "| bash", "|bash", "execv", "execl"});
  // os.<anything> other than os.system/os.popen reaches the file system or processes.
  bool other_os_call = false;
  for (size_t at = code.find("os."); at != std::string_view::npos; at = code.find("os.", at + 3)) {
    const std::string_view call = code.substr(at + 3, 8);
    if (call.rfind("system", 0) != 0 && call.rfind("popen", 0) != 0 &&
        call.rfind("getcwd", 0) != 0 && call.rfind("environ", 0) != 0 &&
        call.rfind("path", 0) != 0 && call.rfind("listdir", 0) != 0 &&
        call.rfind("getenv", 0) != 0 && call.rfind("sep", 0) != 0 && call.rfind("name", 0) != 0 &&
        call.rfind("cpu_count", 0) != 0) {
      other_os_call = true;
    }
  }
  const bool capable = tree_delete || file_delete || networked || fetches || evaluates ||
                       unknown_command || other_capability || other_os_call || hidden_call;
  out.trivial = !capable && !opens_for_write(code);
}

// sed: the `e` command runs its text (or the pattern space) as a shell command, and so does
// the `e` flag of `s///` (its replacement text).
void scan_sed_script(std::string_view script, InlineCode& out) {
  size_t i = 0;
  auto skip_blanks = [&] {
    while (i < script.size() &&
           (script[i] == ' ' || script[i] == '\t' || script[i] == ';' || script[i] == '\n' ||
            script[i] == '{' || script[i] == '}' || script[i] == '!')) {
      ++i;
    }
  };
  auto skip_address = [&] {
    for (int part = 0; part < 2 && i < script.size(); ++part) {
      if (std::isdigit(static_cast<unsigned char>(script[i])) || script[i] == '$') {
        while (i < script.size() && (std::isdigit(static_cast<unsigned char>(script[i])) ||
                                     script[i] == '$' || script[i] == '~' || script[i] == '+')) {
          ++i;
        }
      } else if (script[i] == '/' || script[i] == '\\') {
        const char delimiter = script[i] == '\\' && i + 1 < script.size() ? script[++i] : '/';
        for (++i; i < script.size() && script[i] != delimiter; ++i) {
          if (script[i] == '\\') ++i;
        }
        ++i;
        while (i < script.size() && (script[i] == 'I' || script[i] == 'M')) ++i;
      }
      if (i < script.size() && script[i] == ',') {
        ++i;
      } else {
        break;
      }
    }
  };
  auto rest_of_line = [&] {
    const size_t end = std::min(script.find('\n', i), script.size());
    std::string text(script.substr(i, end - i));
    i = end;
    return text;
  };
  // Every pass consumes at least the command character, so this ends.
  while (i < script.size()) {
    skip_blanks();
    skip_address();
    i = std::min(i, script.size());
    skip_blanks();
    if (i >= script.size()) break;
    const char command = script[i++];
    if (command == 's' || command == 'y') {
      if (i >= script.size()) break;
      const char delimiter = script[i++];
      std::string parts[2];
      for (int part = 0; part < 2; ++part) {
        while (i < script.size() && script[i] != delimiter) {
          if (script[i] == '\\' && i + 1 < script.size()) parts[part] += script[i++];
          parts[part] += script[i++];
        }
        ++i;
      }
      i = std::min(i, script.size());
      size_t flags_end = i;
      while (flags_end < script.size() &&
             std::string_view("gpeiImM0123456789w").find(script[flags_end]) !=
                 std::string_view::npos) {
        if (script[flags_end] == 'w') break;
        ++flags_end;
      }
      const std::string_view flags = script.substr(i, flags_end - i);
      if (command == 's' && flags.find('e') != std::string_view::npos) {
        out.present = true;
        const std::string& replacement = parts[1];
        if (replacement.find('\\') != std::string::npos ||
            replacement.find('&') != std::string::npos) {
          out.runs_unknown = true;
        } else {
          out.shell_commands.push_back(replacement);
        }
      }
      i = flags_end;
      if (i < script.size() && script[i] == 'w') rest_of_line();
    } else if (command == 'e') {
      out.present = true;
      std::string text = rest_of_line();
      while (!text.empty() && text[0] == ' ') text.erase(0, 1);
      if (text.empty()) {
        out.runs_unknown = true;  // runs the pattern space: the input decides
      } else {
        out.shell_commands.push_back(std::move(text));
      }
    } else if (std::string_view("aicrRwWbtT:#").find(command) != std::string_view::npos) {
      rest_of_line();
    }
  }
}

// vim/ex command strings: `!cmd`, `r !cmd`, `w !cmd`, `call system("cmd")`.
void scan_ex_command(std::string_view command, InlineCode& out) {
  while (!command.empty() && (command[0] == ':' || command[0] == ' ')) command.remove_prefix(1);
  for (std::string_view prefix : {"silent!", "silent", "sil!", "sil", "exe ", "execute "}) {
    if (command.substr(0, prefix.size()) == prefix) {
      command.remove_prefix(prefix.size());
      while (!command.empty() && command[0] == ' ') command.remove_prefix(1);
      break;
    }
  }
  size_t bang = command.find('!');
  const bool starts_shell = bang != std::string_view::npos &&
                            (bang == 0 || command.substr(0, bang).find_first_not_of(
                                              "rwead 0123456789,.$%") == std::string_view::npos);
  if (starts_shell) {
    out.present = true;
    out.shell_commands.emplace_back(command.substr(bang + 1));
    return;
  }
  if (has_any(command, {"system(", "systemlist(", "terminal", "py3 ", "python", "lua ", "perl ",
                        "ruby ", "source", "so "})) {
    out.present = true;
    bool unknown = false;
    call_arguments(command, "system", out.shell_commands, &unknown);
    out.runs_unknown |= unknown || out.shell_commands.empty();
  }
}

// Merges what one code string does into `out` (whose `trivial` starts true).
void add_program_code(const std::string& code, InlineCode& out) {
  InlineCode one;
  scan_program_code(code, one);
  out.codes.push_back(code);
  out.destroys |= one.destroys;
  out.remote_shell |= one.remote_shell;
  out.runs_download |= one.runs_download;
  out.runs_unknown |= one.runs_unknown;
  out.shell_commands.insert(out.shell_commands.end(), one.shell_commands.begin(),
                            one.shell_commands.end());
  out.trivial = out.trivial && one.trivial;
}

}  // namespace

InlineCode scan_inline_code(const std::string& program, const std::vector<std::string>& args) {
  InlineCode out;
  if (program == "sed" || program == "gsed") {
    bool script_given = false;
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if ((arg == "-e" || arg == "--expression") && i + 1 < args.size()) {
        scan_sed_script(args[++i], out);
        script_given = true;
      } else if (arg.rfind("--expression=", 0) == 0) {
        scan_sed_script(std::string_view(arg).substr(13), out);
        script_given = true;
      } else if (arg == "-f" || arg == "--file") {
        ++i;
        script_given = true;
      } else if (!script_given && (arg.empty() || arg[0] != '-')) {
        scan_sed_script(arg, out);
        script_given = true;
      }
    }
    return out;
  }
  if (program == "vim" || program == "vi" || program == "nvim" || program == "ex" ||
      program == "view" || program == "gvim" || program == "vimdiff") {
    for (size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if ((arg == "-c" || arg == "--cmd") && i + 1 < args.size()) {
        scan_ex_command(args[++i], out);
      } else if (arg.size() > 1 && arg[0] == '+') {
        scan_ex_command(std::string_view(arg).substr(1), out);
      }
    }
    return out;
  }
  if (program == "less" || program == "more") {
    for (const std::string& arg : args) {
      if (arg.rfind("+!", 0) == 0 || arg.rfind("++!", 0) == 0) {
        out.present = true;
        out.shell_commands.push_back(arg.substr(arg.find('!') + 1));
      }
    }
    return out;
  }
  if (!is_interpreter(program) && !is_awk(program)) return out;
  const std::vector<std::string> codes = code_arguments(program, args, &out.encoded);
  if (codes.empty() && !out.encoded) return out;
  out.present = true;
  out.trivial = !out.encoded;
  for (const std::string& code : codes) add_program_code(code, out);
  return out;
}

InlineCode scan_invocation_code(const Invocation& invocation) {
  InlineCode out = scan_inline_code(invocation.program, invocation.args);
  if (invocation.stdin_is_code && invocation.stdin_known &&
      is_any(invocation.program, {"ed", "ex", "vim", "vi", "nvim"})) {
    // Editor commands, one a line: only their `!cmd`, `r !cmd`, `w !cmd` run anything.
    std::string_view text = invocation.stdin_literal;
    while (!text.empty()) {
      const size_t end = std::min(text.find('\n'), text.size());
      scan_ex_command(text.substr(0, end), out);
      text.remove_prefix(std::min(end + 1, text.size()));
    }
    return out;
  }
  if (invocation.stdin_is_code && invocation.stdin_known) {
    if (!out.present) out.trivial = true;
    out.present = true;
    add_program_code(invocation.stdin_literal, out);
  }
  return out;
}

}  // namespace cmdai::safety
