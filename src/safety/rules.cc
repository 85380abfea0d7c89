#include "safety/rules.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>

#include "safety/arg_scan.h"
#include "safety/effects.h"
#include "safety/inline_code.h"
#include "safety/paths.h"
#include "safety/programs.h"

namespace cmdai::safety {
namespace {

using R = RiskLevel;

bool program_is(const Invocation& inv, std::initializer_list<std::string_view> names) {
  return is_any(inv.program, names);
}

bool has_arg(const Invocation& inv, std::string_view arg) {
  return std::find(inv.args.begin(), inv.args.end(), arg) != inv.args.end();
}

std::string to_upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string joined_args(const Invocation& inv) {
  std::string joined;
  for (const std::string& arg : inv.args) joined += arg + " ";
  return joined;
}

// The first operand, i.e. a subcommand such as `git push` or `systemctl stop`.
std::string first_operand(const Invocation& inv, std::string_view value_shorts = {},
                          const std::vector<std::string_view>& value_longs = {}) {
  const ScannedArgs scanned = scan_args(inv.args, value_shorts, value_longs, true);
  return scanned.operands.empty() ? std::string() : scanned.operands[0];
}

// ---- rm ----

bool rm_recursive(const Invocation& inv) {
  if (!program_is(inv, {"rm", "srm", "wipe"})) return false;
  const ScannedArgs scanned = scan_args(inv.args);
  return scanned.has('r') || scanned.has('R') || scanned.has_long("recursive");
}

bool rm_recursive_hits(const Invocation& inv, TreeClass wanted) {
  if (!rm_recursive(inv)) return false;
  for (const std::string& target : scan_args(inv.args).operands) {
    if (classify_tree(target) == wanted) return true;
  }
  return false;
}

// The text an argument would have if every unknown expansion ($X, ${X}, $(...)) were empty.
std::string with_unknowns_empty(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    const char next = text[i + 1];
    if (next == '{' || next == '(') {
      const char close = next == '{' ? '}' : ')';
      int depth = 0;
      size_t j = i + 1;
      for (; j < text.size(); ++j) {
        if (text[j] == next) ++depth;
        if (text[j] == close && --depth == 0) break;
      }
      // ${X:?} and ${X?} stop the shell when X is unset or empty: never an empty path.
      const std::string body = text.substr(i + 2, j > i + 2 ? j - i - 2 : 0);
      const size_t name_end =
          body.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
      const bool guarded = next == '{' && name_end != std::string::npos && name_end > 0 &&
                           (body[name_end] == '?' || body.compare(name_end, 2, ":?") == 0);
      if (guarded) out += "set";
      i = j;
    } else {
      size_t j = i + 1;
      while (j < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) {
        ++j;
      }
      i = j == i + 1 ? i + 1 : j - 1;
    }
  }
  return out;
}

bool rm_recursive_unset_hits(const Invocation& inv) {
  if (!rm_recursive(inv)) return false;
  for (const std::string& target : scan_args(inv.args).operands) {
    if (target.find('$') == std::string::npos) continue;
    const std::string empty = with_unknowns_empty(target);
    if (empty.empty() || empty == target) continue;
    const TreeClass tree = classify_tree(empty);
    if (tree == TreeClass::kRoot || tree == TreeClass::kHome || tree == TreeClass::kSystemDir) {
      return true;
    }
  }
  return false;
}

// ---- chmod / chown ----

struct PermView {
  bool recursive = false;
  std::string mode;  // chmod only
  std::vector<std::string> targets;
};

std::optional<PermView> perm_view(const Invocation& inv) {
  if (!program_is(inv, {"chmod", "chown", "chgrp"})) return std::nullopt;
  std::vector<std::string> args;
  std::vector<std::string> modes;
  for (const std::string& arg : inv.args) {
    // `chmod -w file`: a symbolic mode that looks like an option.
    if (inv.program == "chmod" && arg.size() > 1 && arg[0] == '-' &&
        arg.find_first_not_of("rwxXst", 1) == std::string::npos) {
      modes.push_back(arg);
    } else {
      args.push_back(arg);
    }
  }
  const ScannedArgs scanned = scan_args(args, "", {"reference", "from"});
  PermView view;
  view.recursive = scanned.has('R') || scanned.has_long("recursive");
  view.targets = scanned.operands;
  const bool has_reference = scanned.value("reference") != nullptr;
  if (!modes.empty()) {
    view.mode = modes[0];
  } else if (!has_reference && !view.targets.empty()) {
    if (inv.program == "chmod") view.mode = view.targets.front();
    view.targets.erase(view.targets.begin());
  }
  return view;
}

bool perm_hits(const Invocation& inv, bool (*test)(const std::string&), bool need_recursive) {
  const std::optional<PermView> view = perm_view(inv);
  if (!view || (need_recursive && !view->recursive)) return false;
  return std::any_of(view->targets.begin(), view->targets.end(), test);
}

bool mode_is_world_writable(const std::string& mode) {
  if (!mode.empty() && mode.find_first_not_of("01234567") == std::string::npos) {
    return ((mode.back() - '0') & 2) != 0;
  }
  size_t start = 0;
  while (start <= mode.size()) {
    size_t end = mode.find(',', start);
    if (end == std::string::npos) end = mode.size();
    const std::string clause = mode.substr(start, end - start);
    const size_t op = clause.find_first_of("+=");
    if (op != std::string::npos) {
      const std::string who = clause.substr(0, op);
      const bool others = who.find_first_of("oa") != std::string::npos;
      if (others && clause.find('w', op) != std::string::npos) return true;
    }
    start = end + 1;
  }
  return false;
}

bool mode_sets_setuid(const std::string& mode) {
  if (mode.size() == 4 && mode.find_first_not_of("01234567") == std::string::npos) {
    return ((mode[0] - '0') & 6) != 0;
  }
  const size_t op = mode.find_first_of("+=");
  return op != std::string::npos && mode.find('s', op) != std::string::npos;
}

bool tree_is_root_or_system(const std::string& path) {
  const TreeClass tree = classify_tree(path);
  return tree == TreeClass::kRoot || tree == TreeClass::kSystemDir;
}

// ---- paths written ----

bool writes_any(const Invocation& inv, bool (*test)(std::string_view)) {
  for (const std::string& path : written_paths(inv)) {
    if (test(path)) return true;
  }
  return false;
}

bool writes_or_destroys_any(const Invocation& inv, bool (*test)(std::string_view)) {
  if (writes_any(inv, test)) return true;
  for (const std::string& path : destroyed_paths(inv)) {
    if (test(path)) return true;
  }
  return false;
}

// ---- subcommand helpers ----

std::string git_subcommand(const Invocation& inv) {
  if (inv.program != "git") return "";
  return first_operand(inv, "Cc", {"git-dir", "work-tree", "namespace", "exec-path"});
}

ScannedArgs git_args(const Invocation& inv) { return scan_args(inv.args, "Cc", {}); }

bool git_is(const Invocation& inv, std::string_view subcommand) {
  return git_subcommand(inv) == subcommand;
}

std::vector<std::string> operands_of(const Invocation& inv) { return scan_args(inv.args).operands; }

bool operands_start_with(const Invocation& inv, std::initializer_list<std::string_view> words) {
  const std::vector<std::string> operands = operands_of(inv);
  size_t i = 0;
  for (std::string_view word : words) {
    if (i >= operands.size() || operands[i] != word) return false;
    ++i;
  }
  return true;
}

bool is_container_tool(const Invocation& inv) { return program_is(inv, {"docker", "podman"}); }

bool systemctl_verb_on(const Invocation& inv, std::initializer_list<std::string_view> verbs,
                       std::initializer_list<std::string_view> units) {
  std::vector<std::string> operands;
  if (inv.program == "systemctl") {
    operands = operands_of(inv);
  } else if (inv.program == "service" && inv.args.size() >= 2) {
    operands = {inv.args[1], inv.args[0]};  // `service ufw stop` reads as `systemctl stop ufw`
  } else {
    return false;
  }
  if (operands.empty() || !is_any(operands[0], verbs)) return false;
  for (size_t i = 1; i < operands.size(); ++i) {
    std::string unit = operands[i];
    if (unit.size() > 8 && unit.substr(unit.size() - 8) == ".service") {
      unit.resize(unit.size() - 8);
    }
    if (is_any(unit, units)) return true;
  }
  return false;
}

bool inline_code_has(const Invocation& inv, std::initializer_list<std::string_view> needles) {
  if (!is_interpreter(inv.program)) return false;
  std::string code = joined_args(inv);
  if (inv.stdin_is_code && inv.stdin_known) code += "\n" + inv.stdin_literal;
  for (std::string_view needle : needles) {
    if (code.find(needle) != std::string::npos) return true;
  }
  return false;
}

bool assigns(const std::string& text, std::string_view name, bool only_empty_or_zero) {
  if (text.rfind(std::string(name) + "=", 0) != 0) return false;
  if (!only_empty_or_zero) return true;
  const std::string value = text.substr(name.size() + 1);
  return value.empty() || value == "0" || value == "/dev/null";
}

bool tampers_history_variables(const Invocation& inv) {
  std::vector<std::string> texts = inv.assignments;
  if (program_is(inv, {"export", "declare", "typeset", "local", "readonly"})) {
    texts.insert(texts.end(), inv.args.begin(), inv.args.end());
  }
  for (const std::string& text : texts) {
    if (assigns(text, "HISTFILE", true) || assigns(text, "HISTSIZE", true) ||
        assigns(text, "HISTFILESIZE", true) || assigns(text, "SAVEHIST", true)) {
      return true;
    }
  }
  if (inv.program == "unset") {
    for (const std::string& arg : inv.args) {
      if (is_any(arg, {"HISTFILE", "HISTSIZE", "HISTFILESIZE"})) return true;
    }
  }
  return false;
}

bool kills_everything(const Invocation& inv) {
  if (inv.program == "killall5") return true;
  if (inv.program != "kill") return false;
  bool signal_seen = false;
  for (size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& arg = inv.args[i];
    if (arg == "-s" || arg == "-n") {
      ++i;
      signal_seen = true;
      continue;
    }
    if (arg == "--") {
      signal_seen = true;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-' && !signal_seen) {
      signal_seen = true;  // -9, -KILL, -SIGTERM: the signal, not a pid
      continue;
    }
    if (arg == "-1" || arg == "1") return true;
    signal_seen = true;
  }
  return false;
}

// pkill -u USER / killall -u USER with no process name: every process of that user.
bool kills_all_of_user(const Invocation& inv) {
  if (!program_is(inv, {"pkill", "killall", "skill", "slay"})) return false;
  bool user = false;
  bool name = false;
  for (size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& arg = inv.args[i];
    if (is_any(arg, {"-u", "-U", "--euid", "--uid", "--user"})) {
      user = true;
      ++i;  // the user name
      continue;
    }
    if (arg.rfind("--user=", 0) == 0 || arg.rfind("--euid=", 0) == 0 ||
        arg.rfind("--uid=", 0) == 0 || (arg.rfind("-u", 0) == 0 && arg.size() > 2)) {
      user = true;
      continue;
    }
    if (is_any(arg, {"-g", "-G", "-P", "-s", "-t", "--signal", "-n", "--session", "--terminal",
                     "--parent", "--group", "--pgroup"})) {
      ++i;
      continue;
    }
    if (!arg.empty() && arg[0] == '-') continue;  // -9, -KILL, -f, -x, ...
    name = true;
  }
  return user && !name;
}

// Overwriting (not appending to) a file under /var/log, or emptying one.
bool wipes_system_log(const Invocation& inv) {
  auto is_log = [](std::string_view path) {
    return normalize_path(path).rfind("/var/log/", 0) == 0;
  };
  for (const RedirectionTarget& redirection : inv.redirections) {
    if (is_any(redirection.op, {">", ">|", "&>"}) && is_log(redirection.target)) return true;
  }
  if (!program_is(inv, {"cp", "dd", "truncate", "ln", "install", "shred"})) return false;
  const std::vector<std::string> written = written_paths(inv);
  return std::any_of(written.begin(), written.end(),
                     [&](const std::string& path) { return is_log(path); });
}

// setcap granting a capability that is as good as root: setuid, sys_admin, dac_override, ...
bool grants_root_capability(const Invocation& inv) {
  if (inv.program != "setcap") return false;
  for (std::string arg : inv.args) {
    for (char& c : arg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (arg.rfind("=", 0) == 0 || arg.rfind("all", 0) == 0) return true;  // "=ep": every cap
    for (std::string_view cap :
         {"cap_setuid", "cap_setgid", "cap_sys_admin", "cap_dac_override", "cap_dac_read_search",
          "cap_sys_ptrace", "cap_sys_module", "cap_chown", "cap_fowner", "cap_sys_rawio",
          "cap_setfcap", "cap_setpcap"}) {
      if (arg.find(cap) != std::string::npos) return true;
    }
  }
  return false;
}

// docker rm -f $(docker ps -aq): forced removal of containers, images or volumes whose names
// are only known at run time.
bool container_removes_unknown(const Invocation& inv) {
  if (!is_container_tool(inv)) return false;
  const std::vector<std::string> operands = operands_of(inv);
  if (operands.empty()) return false;
  const bool removes =
      is_any(operands[0], {"rm", "rmi"}) ||
      (operands.size() >= 2 && is_any(operands[0], {"container", "image", "volume"}) &&
       is_any(operands[1], {"rm", "remove"}));
  const bool force = std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
    return arg == "--force" ||
           (arg.size() > 1 && arg[0] == '-' && arg[1] != '-' && arg.find('f') != std::string::npos);
  });
  const bool unknown = std::any_of(operands.begin(), operands.end(), [](const std::string& op) {
    return op.find('$') != std::string::npos;
  });
  return removes && force && unknown;
}

bool partitions_disk(const Invocation& inv) {
  if (!program_is(inv, {"fdisk", "gdisk", "cfdisk", "cgdisk", "sfdisk", "parted", "sgdisk"})) {
    return false;
  }
  const ScannedArgs scanned = scan_args(inv.args);
  if (scanned.has('l') || scanned.has_long("list") || scanned.has('p') ||
      scanned.has_long("print") || scanned.has_long("version") || scanned.has_long("help")) {
    return false;
  }
  const std::vector<std::string>& operands = scanned.operands;
  return std::find(operands.begin(), operands.end(), "print") == operands.end();
}

bool wipes_disk(const Invocation& inv) {
  const ScannedArgs scanned = scan_args(inv.args, "o", {"offset"});
  if (inv.program == "wipefs")
    return scanned.has('a') || scanned.has_long("all") || scanned.value("o");
  if (inv.program == "blkdiscard") return true;
  if (inv.program == "sgdisk") {
    return scanned.has('Z') || scanned.has('z') || scanned.has('o') ||
           scanned.has_long("zap-all") || scanned.has_long("zap") || scanned.has_long("clear");
  }
  if (inv.program == "sfdisk") return scanned.has_long("delete");
  if (inv.program == "parted") {
    for (const std::string& op : scanned.operands) {
      if (is_any(op, {"mklabel", "mktable", "rm"})) return true;
    }
  }
  if (inv.program == "cryptsetup") {
    for (const std::string& op : scanned.operands) {
      if (is_any(op, {"luksFormat", "erase", "luksErase"})) return true;
    }
  }
  if (inv.program == "hdparm") {
    return scanned.has_long("security-erase") || scanned.has_long("security-erase-enhanced");
  }
  if (inv.program == "nvme")
    return operands_start_with(inv, {"format"}) || operands_start_with(inv, {"sanitize"});
  if (inv.program == "diskutil") {
    return std::any_of(scanned.operands.begin(), scanned.operands.end(), [](const std::string& op) {
      return is_any(
          op, {"eraseDisk", "eraseVolume", "zeroDisk", "randomDisk", "secureErase", "partitionDisk",
               "reformat", "deleteContainer", "eraseDisk", "deleteVolume"});
    });
  }
  if (inv.program == "mdadm") return scanned.has_long("zero-superblock");
  return false;
}

bool is_mkfs(const Invocation& inv) {
  return inv.program.rfind("mkfs", 0) == 0 ||
         program_is(inv, {"mke2fs", "mkswap", "mkntfs", "mkdosfs", "mkexfatfs", "newfs",
                          "mkfs.ext4", "mkfs.vfat", "mkisofs"});
}

// mkfs on a file (`mkfs.ext4 disk.img`, `mkswap /swapfile`) only builds an image; on a device,
// an unknown path or nothing visible it erases a disk.
bool mkfs_on_device(const Invocation& inv) {
  if (!is_mkfs(inv) || inv.program == "mkisofs") return false;
  const std::vector<std::string> operands =
      scan_args(inv.args, "bCdEgGiIJlLmMNoOrtTUez", {"type", "label"}).operands;
  if (operands.empty()) return true;
  return std::any_of(operands.begin(), operands.end(), [](const std::string& path) {
    return path.find('$') != std::string::npos || normalize_path(path).rfind("/dev/", 0) == 0 ||
           is_system_path(path);
  });
}

bool mv_moves_tree(const Invocation& inv) {
  if (inv.program != "mv") return false;
  for (const std::string& source : destroyed_paths(inv)) {
    const TreeClass tree = classify_tree(source);
    if (tree == TreeClass::kRoot || tree == TreeClass::kSystemDir || tree == TreeClass::kHome) {
      return true;
    }
  }
  return false;
}

bool is_download_to_file(const Invocation& inv) {
  if (inv.program == "curl") {
    const ScannedArgs scanned = scan_args(inv.args, "oHdXAeuTrwKxEF", {"output", "header", "data"});
    return scanned.has('O') || scanned.has_long("remote-name") ||
           scanned.has_long("remote-name-all") || !written_paths(inv).empty();
  }
  if (inv.program == "wget") {
    const ScannedArgs scanned = scan_args(inv.args, "OPaoU", {"output-document"});
    if (scanned.has_long("spider")) return false;
    const std::string* output = scanned.value("O");
    if (!output) output = scanned.value("output-document");
    return !output || (*output != "-" && !is_harmless_sink(*output));
  }
  return program_is(inv, {"aria2c", "scp", "rsync", "sftp"});
}

bool changes_packages(const Invocation& inv) {
  const std::string sub = first_operand(inv);
  if (program_is(inv, {"apt",   "apt-get", "aptitude", "dnf",  "yum",     "zypper", "apk",   "brew",
                       "snap",  "flatpak", "port",     "pkg",  "conda",   "mamba",  "pipx",  "gem",
                       "cargo", "go",      "yarn",     "pnpm", "nix-env", "choco",  "winget"})) {
    return is_any(sub, {"install", "remove", "purge", "autoremove", "upgrade", "dist-upgrade",
                        "full-upgrade", "uninstall", "add", "del", "update", "reinstall", "erase",
                        "in", "rm", "refresh", "global"});
  }
  if (program_is(inv, {"pip", "pip3", "npm"})) {
    return is_any(sub, {"install", "uninstall", "i", "ci", "remove", "rm", "update", "upgrade",
                        "un", "link", "unlink"});
  }
  if (inv.program == "pacman" || inv.program == "yay" || inv.program == "paru") {
    const ScannedArgs scanned = scan_args(inv.args);
    return scanned.has('S') || scanned.has('R') || scanned.has('U');
  }
  if (inv.program == "dpkg") {
    const ScannedArgs scanned = scan_args(inv.args);
    return scanned.has('i') || scanned.has('r') || scanned.has('P') ||
           scanned.has_long("install") || scanned.has_long("remove") || scanned.has_long("purge");
  }
  if (inv.program == "rpm") {
    const ScannedArgs scanned = scan_args(inv.args);
    return scanned.has('i') || scanned.has('U') || scanned.has('e') || scanned.has('F');
  }
  return false;
}

// rsync --delete into /, a home or a system directory deletes whatever the source lacks.
bool rsync_deletes_tree(const Invocation& inv) {
  if (inv.program != "rsync") return false;
  const ScannedArgs scanned = scan_args(inv.args, "eBfT", {"rsh", "filter", "exclude", "include"});
  const bool deletes = std::any_of(
      scanned.long_flags.begin(), scanned.long_flags.end(), [](const std::string& flag) {
        return flag.rfind("delete", 0) == 0 || flag == "del" || flag == "remove-source-files";
      });
  if (!deletes || scanned.operands.size() < 2) return false;
  const TreeClass tree = classify_tree(scanned.operands.back());
  return tree == TreeClass::kRoot || tree == TreeClass::kHome || tree == TreeClass::kSystemDir;
}

// Boot entries and boot loaders: a wrong one leaves the machine unable to start.
bool changes_boot_loader(const Invocation& inv) {
  if (inv.program == "efibootmgr") {
    const ScannedArgs scanned = scan_args(inv.args, "bBLlpdo", {"bootnum", "label", "loader"});
    return scanned.has('B') || scanned.has_long("delete-bootnum") || scanned.has('c') ||
           scanned.has('o') || scanned.has_long("create");
  }
  if (program_is(inv,
                 {"grub-install", "grub2-install", "bootctl", "lilo", "syslinux", "extlinux"})) {
    return !has_arg(inv, "status") && !has_arg(inv, "list") && !has_arg(inv, "--help");
  }
  if (inv.program == "bcdedit") {
    return std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
      return arg.rfind("/delete", 0) == 0 || arg == "/set";
    });
  }
  return inv.program == "nvram" && !inv.args.empty() && !has_arg(inv, "-p") && !has_arg(inv, "-x");
}

// git checkout -- . / git restore .: every uncommitted change in the tree is thrown away.
bool git_discards_worktree(const Invocation& inv) {
  const std::string sub = git_subcommand(inv);
  if (sub != "checkout" && sub != "restore") return false;
  const ScannedArgs scanned = git_args(inv);
  if (sub == "restore" && (scanned.has('S') || scanned.has_long("staged")) &&
      !(scanned.has('W') || scanned.has_long("worktree"))) {
    return false;
  }
  return std::any_of(scanned.operands.begin() + 1, scanned.operands.end(),
                     [](const std::string& path) {
                       return is_any(path, {".", "*", ":/", "./", ":/*"});
                     });
}

// xhost +: any host may open windows on and read keystrokes from this display.
bool opens_display(const Invocation& inv) {
  return inv.program == "xhost" &&
         std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
           return arg == "+" || arg.rfind("+inet:", 0) == 0 || arg == "+local:";
         });
}

// An unknown program handed /, a system path or a disk: it may well write there.
bool unknown_tool_on_system_path(const Invocation& inv) {
  if (!inv.program_unknown) return false;
  return std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
    std::string path = arg;
    if (!path.empty() && path[0] == '-') {
      const size_t eq = path.find('=');
      if (eq == std::string::npos) return false;
      // ./configure --prefix=/usr --sysconfdir=/etc: where it will install, later.
      const std::string option = path.substr(0, eq);
      if (option == "--prefix" ||
          (option.size() > 3 && option.substr(option.size() - 3) == "dir")) {
        return false;
      }
      path = path.substr(eq + 1);
    } else if (const size_t eq = path.find('='); eq != std::string::npos && path[0] != '/') {
      path = path.substr(eq + 1);  // of=/dev/sda, if=..., dest=/etc
    }
    if (path == "~" || path == "~/" || path == "~/*") return true;  // a whole home
    if (path.empty() || path[0] != '/') return false;
    if (is_harmless_sink(path)) return false;
    return is_system_path(path) || is_block_device(path) ||
           classify_tree(path) != TreeClass::kOther || is_kernel_control(path);
  });
}

bool is_firewall_teardown(const Invocation& inv) {
  if (inv.program == "ufw") {
    const std::vector<std::string> operands = operands_of(inv);
    if (operands.size() >= 2 && operands[0] == "default" && operands[1] == "allow") return true;
    return is_any(first_operand(inv), {"disable", "reset"});
  }
  if (inv.program == "firewall-cmd") {
    return has_arg(inv, "--set-default-zone=trusted") || has_arg(inv, "--panic-on") ||
           (has_arg(inv, "--set-default-zone") && has_arg(inv, "trusted"));
  }
  if (program_is(inv, {"iptables", "ip6tables", "iptables-legacy", "iptables-nft"})) {
    const ScannedArgs scanned = scan_args(inv.args, "tPjsdiopAIDRNE", {"table", "policy"});
    if (scanned.has('F') || scanned.has('X') || scanned.has_long("flush") ||
        scanned.has_long("delete-chain")) {
      return true;
    }
    const std::string* policy = scanned.value("P");
    return policy && has_arg(inv, "ACCEPT");
  }
  if (inv.program == "nft") {
    return operands_start_with(inv, {"flush", "ruleset"}) ||
           operands_start_with(inv, {"delete", "table"});
  }
  if (inv.program == "pfctl") return has_arg(inv, "-d");
  return systemctl_verb_on(
      inv, {"stop", "disable", "mask", "kill"},
      {"firewalld", "ufw", "nftables", "iptables", "ip6tables", "netfilter-persistent"});
}

bool changes_firewall_rules(const Invocation& inv) {
  if (program_is(inv, {"iptables", "ip6tables", "iptables-legacy", "iptables-nft"})) {
    const ScannedArgs scanned = scan_args(inv.args, "tjsdiop", {"table"});
    return scanned.has('A') || scanned.has('I') || scanned.has('D') || scanned.has('R') ||
           scanned.has('N') || scanned.has('E') || scanned.has('P') || scanned.has('Z') ||
           scanned.has_long("append") || scanned.has_long("insert") || scanned.has_long("delete");
  }
  if (program_is(inv, {"iptables-restore", "ip6tables-restore"})) return true;
  if (inv.program == "nft") {
    return is_any(first_operand(inv),
                  {"add", "insert", "delete", "replace", "flush", "create", "destroy", "-f"}) ||
           has_arg(inv, "-f");
  }
  return false;
}

bool container_prunes_data(const Invocation& inv) {
  if (!is_container_tool(inv) && inv.program != "docker-compose") return false;
  const ScannedArgs scanned = scan_args(inv.args, "f", {"filter"});
  const bool all = scanned.has('a') || scanned.has_long("all");
  if (operands_start_with(inv, {"system", "prune"})) return all || scanned.has_long("volumes");
  if (operands_start_with(inv, {"volume", "prune"}) || operands_start_with(inv, {"volume", "rm"})) {
    return true;
  }
  const bool down = operands_start_with(inv, {"compose", "down"}) ||
                    (inv.program == "docker-compose" && operands_start_with(inv, {"down"}));
  return down && (scanned.has('v') || scanned.has_long("volumes"));
}

bool container_privileged(const Invocation& inv) {
  if (!is_container_tool(inv) || !is_any(first_operand(inv), {"run", "create", "exec"})) {
    return false;
  }
  for (size_t i = 0; i < inv.args.size(); ++i) {
    const std::string& arg = inv.args[i];
    if (arg == "--privileged" || arg == "--pid=host") return true;
    const bool volume_flag = arg == "-v" || arg == "--volume";
    const std::string mount = volume_flag && i + 1 < inv.args.size() ? inv.args[i + 1]
                              : arg.rfind("--volume=", 0) == 0       ? arg.substr(9)
                                                                     : "";
    if (mount.rfind("/:", 0) == 0) return true;
  }
  return false;
}

bool container_mutates(const Invocation& inv) {
  if (!is_container_tool(inv) && inv.program != "docker-compose") return false;
  const std::vector<std::string> operands = operands_of(inv);
  if (operands.empty()) return false;
  const std::string& sub = operands[0];
  if (is_any(sub, {"rm", "rmi", "stop", "kill", "run", "exec", "restart", "create", "prune", "down",
                   "up", "pause", "build", "push", "load", "import", "commit", "cp", "update"})) {
    return true;
  }
  const std::string action = operands.size() >= 2 ? operands[1] : "";
  return is_any(action, {"prune", "rm", "remove", "stop", "down", "up", "kill", "restart"});
}

bool edits_in_place(const Invocation& inv) {
  if (inv.program == "sed") {
    const ScannedArgs scanned = scan_args(inv.args, "efl", {"expression", "file"});
    return scanned.has('i') || scanned.has_long("in-place") || scanned.value("in-place");
  }
  if (inv.program == "perl") return scan_args(inv.args, "eE", {}).has('i');
  return false;
}

bool truncates_to_empty(const Invocation& inv) {
  if (inv.program == "truncate") {
    const ScannedArgs scanned = scan_args(inv.args, "sr", {"size", "reference"});
    const std::string* size = scanned.value("s");
    if (!size) size = scanned.value("size");
    return size && (*size == "0" || *size == "0K" || *size == "0M");
  }
  if (inv.program == "cp") {
    const std::vector<std::string> operands = scan_args(inv.args).operands;
    return operands.size() == 2 && operands[0] == "/dev/null" && !is_harmless_sink(operands[1]);
  }
  // `> file`, `: > file`, `cat /dev/null > file`, `echo -n > file`: empty output into a file.
  const bool empty_output =
      inv.program.empty() || (program_is(inv, {":", "true", "false"}) && inv.args.empty()) ||
      (inv.program == "cat" && inv.args == std::vector<std::string>{"/dev/null"}) ||
      (inv.program == "echo" && inv.args == std::vector<std::string>{"-n"});
  if (!empty_output) return false;
  for (const RedirectionTarget& redirection : inv.redirections) {
    if ((redirection.op == ">" || redirection.op == ">|" || redirection.op == "&>") &&
        !redirection.target.empty() && !is_harmless_sink(redirection.target)) {
      return true;
    }
  }
  return false;
}

bool opens_root_shell(const Invocation& inv) {
  if (program_is(inv, {"sudo", "doas", "pkexec"})) {
    if (inv.args.empty()) return inv.program != "sudo";
    const ScannedArgs scanned = scan_args(inv.args, "ugC", {"user"});
    return scanned.has('i') || scanned.has('s') || scanned.has_long("login") ||
           scanned.has_long("shell");
  }
  if (inv.program == "su") return true;
  return inv.elevated && is_shell(inv.program) && inv.args.empty() && inv.redirections.empty() &&
         !inv.stdin_opaque_pipe;
}

bool adds_admin_group(const Invocation& inv) {
  if (!program_is(inv, {"usermod", "gpasswd", "adduser", "addgroup"})) return false;
  for (const std::string& arg : inv.args) {
    // The argument may be a comma-separated group list (`-aG docker,sudo`).
    size_t start = 0;
    while (start <= arg.size()) {
      size_t end = arg.find(',', start);
      if (end == std::string::npos) end = arg.size();
      if (is_any(std::string_view(arg).substr(start, end - start),
                 {"sudo", "wheel", "root", "admin", "adm", "docker"})) {
        return true;
      }
      start = end + 1;
    }
  }
  return false;
}

bool destructive_sql(const Invocation& inv) {
  if (program_is(inv, {"dropdb", "dropuser"})) return true;
  if (!program_is(inv, {"mysql", "psql", "sqlite3", "redis-cli", "mongo", "mongosh",
                        "clickhouse-client", "mysqladmin", "mariadb"})) {
    return false;
  }
  const std::string text = to_upper(joined_args(inv) + " " + inv.stdin_literal);
  for (std::string_view needle : {"DROP DATABASE", "DROP TABLE", "DROP SCHEMA", "TRUNCATE",
                                  "FLUSHALL", "FLUSHDB", "DROPDATABASE", "DROP "}) {
    if (text.find(needle) != std::string::npos) return true;
  }
  return false;
}

bool powers_off(const Invocation& inv) {
  if (program_is(inv, {"shutdown"})) return !has_arg(inv, "-c");
  if (program_is(inv, {"reboot", "halt", "poweroff", "kexec", "openrc-shutdown"})) {
    return !has_arg(inv, "-l") || inv.program != "kexec";
  }
  if (program_is(inv, {"init", "telinit"})) {
    return has_arg(inv, "0") || has_arg(inv, "6") || has_arg(inv, "1") || has_arg(inv, "S") ||
           has_arg(inv, "s");
  }
  if (inv.program == "systemctl" || inv.program == "loginctl") {
    const std::vector<std::string> operands = operands_of(inv);
    if (operands.empty()) return false;
    if (is_any(operands[0],
               {"poweroff", "reboot", "halt", "kexec", "emergency", "rescue", "soft-reboot"})) {
      return true;
    }
    if (is_any(operands[0], {"start", "isolate", "restart", "default", "set-default"})) {
      return std::any_of(operands.begin() + 1, operands.end(), [](const std::string& unit) {
        return is_any(
            unit, {"poweroff.target", "halt.target", "reboot.target", "rescue.target",
                   "emergency.target", "kexec.target", "shutdown.target", "poweroff", "halt",
                   "reboot", "rescue", "emergency", "soft-reboot.target",
                   "systemd-poweroff.service", "systemd-reboot.service", "systemd-halt.service"});
      });
    }
    return false;
  }
  if (program_is(inv, {"dbus-send", "busctl", "gdbus", "qdbus"})) {
    const std::string text = joined_args(inv);
    return text.find("PowerOff") != std::string::npos || text.find("Reboot") != std::string::npos ||
           text.find("Halt") != std::string::npos;
  }
  if (program_is(inv, {"gnome-session-quit", "xfce4-session-logout"})) {
    return has_arg(inv, "--power-off") || has_arg(inv, "--reboot") || has_arg(inv, "--halt");
  }
  return false;
}

// pkill/killall aimed at every process of root (or of everyone), or at init itself.
bool kills_by_pattern_everything(const Invocation& inv) {
  if (inv.program == "loginctl") {
    const std::vector<std::string> operands = operands_of(inv);
    return operands.size() >= 2 && is_any(operands[0], {"kill-user", "terminate-user"}) &&
           is_any(operands[1], {"root", "0"});
  }
  if (!program_is(inv, {"pkill", "killall", "skill", "slay"})) return false;
  const ScannedArgs scanned =
      scan_args(inv.args, "usUGgtPFnOc", {"user", "uid", "euid", "signal", "group"});
  for (std::string_view option : {"u", "U", "user", "uid", "euid"}) {
    if (const std::string* user = scanned.value(option)) {
      if (is_any(*user, {"root", "0"})) return true;
    }
  }
  for (const std::string& pattern : scanned.operands) {
    if (is_any(pattern, {".", ".*", "", "^", "systemd", "init", "-1", "1"})) return true;
  }
  return inv.program == "skill" && (has_arg(inv, "root") || has_arg(inv, "-u"));
}

// Cloud and infrastructure deletions: whole stacks, buckets, instances, clusters.
bool destroys_cloud_resources(const Invocation& inv) {
  const std::vector<std::string> operands = operands_of(inv);
  if (operands.empty()) return false;
  const std::string& sub = operands[0];
  if (program_is(inv, {"terraform", "tofu", "terragrunt", "pulumi", "cdk", "sam", "serverless",
                       "sls", "vagrant", "eksctl", "copilot"})) {
    return is_any(sub, {"destroy", "delete", "remove"}) ||
           (sub == "apply" && (has_arg(inv, "-destroy") || has_arg(inv, "--destroy"))) ||
           (sub == "stack" && operands.size() > 1 && is_any(operands[1], {"rm", "remove"})) ||
           (sub == "state" && operands.size() > 1 && operands[1] == "rm") ||
           (sub == "workspace" && operands.size() > 1 && operands[1] == "delete");
  }
  auto any_operand = [&operands](std::initializer_list<std::string_view> words) {
    return std::any_of(operands.begin(), operands.end(),
                       [words](const std::string& op) { return is_any(op, words); });
  };
  if (inv.program == "aws") {
    if (sub == "s3") {
      return any_operand({"rb"}) || (any_operand({"rm"}) && has_arg(inv, "--recursive"));
    }
    return std::any_of(operands.begin(), operands.end(), [](const std::string& op) {
      return op.rfind("delete-", 0) == 0 || op.rfind("terminate-", 0) == 0 ||
             op.rfind("deregister-", 0) == 0 || op == "remove-role-from-instance-profile" ||
             op.rfind("purge-", 0) == 0 || op == "rb";
    });
  }
  if (program_is(inv, {"gcloud", "az", "doctl", "linode-cli", "hcloud", "scw", "exo", "openstack",
                       "ibmcloud", "oci", "yc"})) {
    return any_operand({"delete", "destroy", "rm", "remove", "purge", "terminate"});
  }
  if (inv.program == "gsutil") {
    return sub == "rb" || (sub == "rm" && (has_arg(inv, "-r") || has_arg(inv, "-R") ||
                                           has_arg(inv, "-rf") || has_arg(inv, "-a")));
  }
  if (program_is(inv, {"heroku", "flyctl", "fly", "vercel", "netlify", "firebase", "railway",
                       "render", "gh", "glab", "virsh", "multipass", "lxc", "incus", "minikube",
                       "kind", "k3d", "eb", "supabase"})) {
    return any_operand({"destroy", "apps:destroy", "delete", "undefine", "purge", "projects:delete",
                        "remove", "rm"}) &&
           !(inv.program == "gh" && !any_operand({"repo", "release", "secret"}));
  }
  return false;
}

bool disables_mac(const Invocation& inv) {
  if (inv.program == "setenforce") return has_arg(inv, "0") || has_arg(inv, "Permissive");
  if (inv.program == "csrutil") return has_arg(inv, "disable");
  if (inv.program == "spctl")
    return has_arg(inv, "--master-disable") || has_arg(inv, "--global-disable");
  if (inv.program == "launchctl") {
    return std::any_of(inv.args.begin(), inv.args.end(),
                       [](const std::string& arg) {
                         return arg.find("com.apple.alf") != std::string::npos;
                       }) &&
           (has_arg(inv, "unload") || has_arg(inv, "bootout") || has_arg(inv, "disable"));
  }
  if (program_is(inv, {"aa-teardown", "aa-disable", "aa-complain"})) return true;
  return systemctl_verb_on(inv, {"stop", "disable", "mask", "kill"}, {"apparmor", "selinux"});
}

bool is_remote_shell(const Invocation& inv) {
  for (const RedirectionTarget& redirection : inv.redirections) {
    if (redirection.target.rfind("/dev/tcp/", 0) == 0 ||
        redirection.target.rfind("/dev/udp/", 0) == 0) {
      return true;
    }
  }
  if (!program_is(inv, {"nc", "ncat", "netcat", "nc.traditional", "socat"})) return false;
  if (inv.program == "socat") {
    const std::string text = to_upper(joined_args(inv));
    return text.find("EXEC:") != std::string::npos || text.find("SYSTEM:") != std::string::npos;
  }
  const ScannedArgs scanned = scan_args(inv.args, "ecpswi", {"exec", "sh-exec"});
  return scanned.value("e") || scanned.value("c") || scanned.value("exec") ||
         scanned.value("sh-exec");
}

const std::vector<Rule>& build_table() {
  static const std::vector<Rule> table = {
      // ---- Parsing ----
      {"parse.too_complex", R::kCritical, "parse",
       "the command is too long or too deeply nested to be checked, so it is refused",
       [](const Invocation& inv) { return inv.limit_exceeded; }},
      {"parse.unparseable", R::kHigh, "parse",
       "cannot parse the command (unbalanced quotes or brackets?), so it cannot be checked",
       [](const Invocation& inv) { return !inv.parse_error.empty(); }},
      {"parse.nul_byte", R::kCritical, "parse",
       "contains a NUL byte, which the shell stops at or drops, so what runs is not what was "
       "checked",
       [](const Invocation& inv) { return inv.nul_byte; }},

      // ---- Deleting trees ----
      {"fs.rm_no_preserve_root", R::kCritical, "fs.rm",
       "--no-preserve-root turns off rm's guard against deleting /",
       [](const Invocation& inv) {
         return inv.program == "rm" && scan_args(inv.args).has_long("no-preserve-root");
       }},
      {"fs.rm_recursive_root", R::kCritical, "fs.rm",
       "recursively deletes the root filesystem",
       [](const Invocation& inv) { return rm_recursive_hits(inv, TreeClass::kRoot); }},
      {"fs.rm_recursive_home", R::kCritical, "fs.rm",
       "recursively deletes a home directory",
       [](const Invocation& inv) { return rm_recursive_hits(inv, TreeClass::kHome); }},
      {"fs.rm_recursive_system_dir", R::kCritical, "fs.rm",
       "recursively deletes a system directory",
       [](const Invocation& inv) { return rm_recursive_hits(inv, TreeClass::kSystemDir); }},
      {"fs.rm_recursive_cwd_all", R::kCritical, "fs.rm",
       "recursively deletes everything in the current or a parent directory",
       [](const Invocation& inv) { return rm_recursive_hits(inv, TreeClass::kCwdAll); }},
      {"fs.rm_recursive_unset_var", R::kCritical, "fs.rm",
       "if a variable in the path is empty or unset, this recursively deletes / or a system "
       "directory",
       [](const Invocation& inv) { return rm_recursive_unset_hits(inv); }},
      {"fs.rm_recursive", R::kHigh, "fs.rm", "recursively deletes a directory tree",
       [](const Invocation& inv) { return rm_recursive(inv); }},
      {"fs.rm_system_files", R::kHigh, "fs.rm", "deletes files from a system directory",
       [](const Invocation& inv) {
         if (!program_is(inv, {"rm", "unlink"})) return false;
         for (const std::string& target : operands_of(inv)) {
           const TreeClass tree = classify_tree(target);
           if (is_system_path(target) || tree == TreeClass::kRoot ||
               tree == TreeClass::kSystemDir || tree == TreeClass::kHome) {
             return true;
           }
         }
         return false;
       }},
      {"fs.rsync_delete_tree", R::kCritical, "fs.rsync",
       "rsync --delete onto /, a home or a system directory deletes everything the source lacks",
       [](const Invocation& inv) { return rsync_deletes_tree(inv); }},
      {"boot.loader_change", R::kHigh, "boot",
       "changes boot entries or the boot loader; a mistake leaves the machine unable to start",
       [](const Invocation& inv) { return changes_boot_loader(inv); }},
      {"fs.rm_files", R::kModerate, "fs.rm", "deletes files",
       [](const Invocation& inv) { return program_is(inv, {"rm", "unlink"}); }},
      {"fs.find_delete_everything", R::kCritical, "fs.find",
       "find -delete with no filter over /, a home, a system or the current directory "
       "deletes all of it",
       [](const Invocation& inv) {
         if (inv.program != "find") return false;
         const FindExpression find = parse_find(inv.args);
         return find.deletes && !find.filtered &&
                std::any_of(find.roots.begin(), find.roots.end(), [](const std::string& root) {
                  return classify_tree(root) != TreeClass::kOther;
                });
       }},
      {"fs.find_delete_broad", R::kHigh, "fs.find",
       "find -delete over /, a home or a system directory",
       [](const Invocation& inv) {
         if (inv.program != "find") return false;
         const FindExpression find = parse_find(inv.args);
         return find.deletes &&
                std::any_of(find.roots.begin(), find.roots.end(), [](const std::string& root) {
                  const TreeClass tree = classify_tree(root);
                  return tree == TreeClass::kRoot || tree == TreeClass::kSystemDir ||
                         tree == TreeClass::kHome || is_system_path(root);
                });
       }},
      {"fs.find_delete", R::kModerate, "fs.find", "find -delete removes every file it matches",
       [](const Invocation& inv) { return inv.program == "find" && parse_find(inv.args).deletes; }},

      // ---- Disks ----
      {"disk.write_device", R::kCritical, "disk.write",
       "writes directly onto a disk device, destroying its filesystem",
       [](const Invocation& inv) { return writes_any(inv, is_block_device); }},
      {"disk.mkfs", R::kCritical, "disk.format", "creates a filesystem, erasing the device",
       [](const Invocation& inv) { return mkfs_on_device(inv); }},
      {"disk.wipe", R::kCritical, "disk.format",
       "erases partition tables, filesystem signatures or the whole device",
       [](const Invocation& inv) { return wipes_disk(inv); }},
      {"disk.partition", R::kHigh, "disk.format", "edits a disk's partition table",
       [](const Invocation& inv) { return partitions_disk(inv); }},
      {"disk.volume_destroy", R::kHigh, "disk.format",
       "destroys a logical volume, pool or subvolume and its data",
       [](const Invocation& inv) {
         if (program_is(inv, {"lvremove", "vgremove", "pvremove"})) return true;
         if (program_is(inv, {"zfs", "zpool"})) {
           return is_any(first_operand(inv), {"destroy", "labelclear"});
         }
         return inv.program == "btrfs" && operands_start_with(inv, {"subvolume", "delete"});
       }},
      {"disk.mkfs_image", R::kModerate, "disk.format",
       "creates a filesystem inside a file, replacing its content",
       [](const Invocation& inv) { return is_mkfs(inv); }},
      {"disk.dd", R::kModerate, "disk.write", "dd copies raw bytes and overwrites its output",
       [](const Invocation& inv) { return inv.program == "dd"; }},
      {"fs.shred", R::kHigh, "fs.shred", "shred destroys file contents beyond recovery",
       [](const Invocation& inv) { return inv.program == "shred"; }},

      // ---- Processes and power ----
      {"proc.fork_bomb", R::kCritical, "proc.fork",
       "a fork bomb: the function spawns copies of itself until the machine stalls",
       [](const Invocation& inv) {
         return inv.spawns_itself || inline_code_has(inv, {"fork while fork", "while fork",
                                                           "while(fork", "while (fork"});
       }},
      {"proc.kill_all", R::kCritical, "proc.kill", "kills every process (or init), taking the "
       "system down",
       [](const Invocation& inv) {
         return kills_everything(inv) || kills_by_pattern_everything(inv);
       }},
      {"proc.kill_user", R::kHigh, "proc.kill",
       "kills every process of a user (pkill/killall -u without a name), ending their sessions",
       [](const Invocation& inv) { return kills_all_of_user(inv); }},
      {"proc.kill", R::kModerate, "proc.kill", "terminates processes",
       [](const Invocation& inv) {
         return program_is(inv, {"kill", "pkill", "killall", "skill", "xkill"});
       }},
      {"sys.power", R::kHigh, "sys.power", "shuts down or reboots the machine",
       [](const Invocation& inv) { return powers_off(inv); }},
      {"proc.sysrq", R::kCritical, "sys.kernel",
       "writing to /proc/sysrq-trigger can crash or reboot the machine at once",
       [](const Invocation& inv) {
         return writes_any(inv, [](std::string_view path) {
           return normalize_path(path) == "/proc/sysrq-trigger";
         });
       }},
      {"sys.kernel_write", R::kHigh, "sys.kernel", "changes kernel settings under /proc/sys or /sys",
       [](const Invocation& inv) { return writes_any(inv, is_kernel_control); }},

      // ---- System files ----
      {"fs.credentials_write", R::kCritical, "fs.system",
       "overwrites or removes a system account, password or sudo file",
       [](const Invocation& inv) { return writes_or_destroys_any(inv, is_credential_file); }},
      {"boot.overwrite", R::kCritical, "fs.system",
       "overwrites or removes boot loader or kernel files",
       [](const Invocation& inv) { return writes_or_destroys_any(inv, is_boot_path); }},
      {"fs.extract_over_system", R::kCritical, "fs.system",
       "unpacks an archive over / or a system directory, replacing system files",
       [](const Invocation& inv) {
         if (!program_is(inv, {"tar", "bsdtar", "unzip", "cpio"})) return false;
         const std::vector<std::string> redirected = redirected_files(inv);
         for (const std::string& path : written_paths(inv)) {
           const bool is_redirection =
               std::find(redirected.begin(), redirected.end(), path) != redirected.end();
           if (!is_redirection && tree_is_root_or_system(path)) return true;
         }
         return false;
       }},
      {"fs.system_write", R::kHigh, "fs.system", "writes into a system directory",
       [](const Invocation& inv) { return writes_any(inv, is_system_path); }},
      {"fs.mv_system_tree", R::kCritical, "fs.mv", "moves /, a home or a system directory away",
       [](const Invocation& inv) { return mv_moves_tree(inv); }},
      {"fs.mv_to_dev_null", R::kHigh, "fs.mv",
       "mv onto /dev/null replaces the device node and loses the file",
       [](const Invocation& inv) {
         const std::vector<std::string> operands = operands_of(inv);
         return inv.program == "mv" && !operands.empty() &&
                normalize_path(operands.back()).rfind("/dev/", 0) == 0;
       }},
      {"fs.mv", R::kModerate, "fs.mv", "moves or renames files, replacing any existing target",
       [](const Invocation& inv) { return inv.program == "mv"; }},
      {"fs.cp_force", R::kModerate, "fs.cp", "cp --force overwrites existing files",
       [](const Invocation& inv) {
         if (inv.program != "cp") return false;
         const ScannedArgs scanned = scan_args(inv.args, "tS", {"target-directory", "suffix"});
         return scanned.has('f') || scanned.has_long("force") ||
                scanned.has_long("remove-destination");
       }},
      {"fs.truncate_empty", R::kHigh, "fs.truncate", "empties a file, destroying its content",
       [](const Invocation& inv) { return truncates_to_empty(inv); }},
      {"fs.truncate", R::kModerate, "fs.truncate", "changes a file's size, cutting off content",
       [](const Invocation& inv) { return inv.program == "truncate"; }},
      {"fs.log_wipe", R::kHigh, "fs.log",
       "empties or overwrites a system log, destroying the record of what happened",
       [](const Invocation& inv) { return wipes_system_log(inv); }},
      {"fs.overwrite_redirect", R::kModerate, "fs.redirect",
       "output redirection overwrites or appends to a file",
       [](const Invocation& inv) { return !redirected_files(inv).empty(); }},
      {"fs.edit_in_place", R::kModerate, "fs.edit", "edits files in place",
       [](const Invocation& inv) { return edits_in_place(inv); }},

      // ---- Permissions ----
      {"perm.recursive_system", R::kCritical, "perm",
       "recursively changes permissions or ownership of / or a system directory",
       [](const Invocation& inv) { return perm_hits(inv, tree_is_root_or_system, true); }},
      {"perm.recursive_home", R::kHigh, "perm",
       "recursively changes permissions or ownership of a whole home directory",
       [](const Invocation& inv) {
         return perm_hits(inv, [](const std::string& path) {
           return classify_tree(path) == TreeClass::kHome;
         }, true);
       }},
      {"perm.world_writable_recursive", R::kHigh, "perm",
       "makes a whole directory tree writable by every user",
       [](const Invocation& inv) {
         const std::optional<PermView> view = perm_view(inv);
         return view && view->recursive && mode_is_world_writable(view->mode);
       }},
      {"perm.capability", R::kHigh, "perm",
       "grants a program a capability that amounts to root (setuid, sys_admin, dac_override, ...)",
       [](const Invocation& inv) { return grants_root_capability(inv); }},
      {"perm.setuid", R::kHigh, "perm", "sets the setuid/setgid bit, a privilege escalation path",
       [](const Invocation& inv) {
         const std::optional<PermView> view = perm_view(inv);
         return view && inv.program == "chmod" && mode_sets_setuid(view->mode);
       }},
      {"perm.system_files", R::kHigh, "perm",
       "changes permissions or ownership of system files",
       [](const Invocation& inv) {
         return perm_hits(inv, [](const std::string& path) {
           return is_system_path(path) || tree_is_root_or_system(path);
         }, false);
       }},
      {"perm.attributes_system", R::kHigh, "perm",
       "changes file attributes or ACLs on a system path (chattr +i, setfacl)",
       [](const Invocation& inv) {
         if (!program_is(inv, {"chattr", "setfacl"})) return false;
         return std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
           return !arg.empty() && arg[0] == '/' && (is_system_path(arg) || tree_is_root_or_system(arg));
         });
       }},
      {"perm.change", R::kModerate, "perm", "changes file permissions or ownership",
       [](const Invocation& inv) { return program_is(inv, {"chmod", "chown", "chgrp"}); }},

      // ---- Code from elsewhere ----
      {"net.pipe_to_shell", R::kCritical, "exec.stdin",
       "pipes a download straight into a shell or interpreter, running unseen code",
       [](const Invocation& inv) {
         return (is_shell(inv.program) || is_interpreter(inv.program)) && inv.stdin_from_download;
       }},
      {"net.exec_download", R::kCritical, "exec.remote",
       "runs code fetched from the network without showing it",
       [](const Invocation& inv) {
         const bool runs_operand = is_shell(inv.program) || is_interpreter(inv.program) ||
                                   program_is(inv, {"source", ".", "eval"});
         return inv.program_from_download || inv.input_from_network ||
                (runs_operand && inv.operand_from_download);
       }},
      {"net.remote_shell", R::kCritical, "exec.remote",
       "connects a shell to a network socket (a reverse or bind shell)",
       [](const Invocation& inv) { return is_remote_shell(inv); }},
      {"exec.pipe_to_shell", R::kHigh, "exec.stdin",
       "pipes generated text into a shell, so what runs cannot be checked",
       [](const Invocation& inv) {
         return (is_shell(inv.program) || is_interpreter(inv.program)) && inv.stdin_opaque_pipe;
       }},
      {"exec.dynamic_command", R::kHigh, "exec.dynamic",
       "the program to run comes from a command substitution, so it cannot be checked",
       [](const Invocation& inv) { return inv.program_from_substitution; }},
      {"exec.variable_command", R::kHigh, "exec.dynamic",
       "the program to run comes from a variable, so it cannot be checked",
       [](const Invocation& inv) { return inv.program_dynamic && !inv.program_user_tool; }},
      {"exec.user_tool_variable", R::kModerate, "exec.dynamic",
       "runs the editor, pager or browser named by the user's environment",
       [](const Invocation& inv) { return inv.program_user_tool; }},
      {"exec.unknown_input", R::kHigh, "exec.input",
       "runs code or commands whose text cannot be known here (a variable, a substitution, "
       "stdin, a decoder's output or a script file chosen at run time)",
       [](const Invocation& inv) { return inv.input_unknown; }},
      {"exec.inline_code_destructive", R::kCritical, "exec.inline",
       "inline script code deletes a directory tree, or a system or home path",
       [](const Invocation& inv) { return scan_invocation_code(inv).destroys; }},
      {"net.inline_remote_shell", R::kCritical, "exec.inline",
       "inline script code wires a shell to a network socket or runs code it downloads",
       [](const Invocation& inv) {
         const InlineCode code = scan_invocation_code(inv);
         return code.remote_shell || code.runs_download;
       }},
      {"exec.inline_code_unknown", R::kHigh, "exec.inline",
       "inline script code does more than print or compute, so what it does cannot be checked",
       [](const Invocation& inv) {
         const InlineCode code = scan_invocation_code(inv);
         return code.present && (!code.trivial || code.runs_unknown || code.encoded);
       }},

      // ---- Privilege and accounts ----
      {"priv.root_shell", R::kHigh, "priv", "opens an interactive root shell",
       [](const Invocation& inv) { return opens_root_shell(inv); }},
      {"priv.sudo", R::kModerate, "priv", "runs with root privileges",
       [](const Invocation& inv) {
         // `sudo -l` or `sudo -v` alone only queries sudo itself.
         return inv.elevated || inv.program == "sudoedit" ||
                (program_is(inv, {"sudo", "doas", "pkexec"}) && opens_root_shell(inv));
       }},
      {"acct.password", R::kHigh, "acct", "changes account passwords",
       [](const Invocation& inv) {
         if (program_is(inv, {"passwd", "chpasswd"})) return !has_arg(inv, "-S");
         return inv.program == "usermod" &&
                (has_arg(inv, "-p") || has_arg(inv, "--password"));
       }},
      {"acct.delete", R::kHigh, "acct", "deletes a user account or group",
       [](const Invocation& inv) {
         return program_is(inv, {"userdel", "deluser", "groupdel", "delgroup"});
       }},
      {"acct.privilege", R::kHigh, "acct", "adds a user to an administrator group",
       [](const Invocation& inv) { return adds_admin_group(inv); }},
      {"acct.change", R::kModerate, "acct", "creates or changes user accounts",
       [](const Invocation& inv) {
         return program_is(inv, {"useradd", "adduser", "usermod", "groupadd", "addgroup",
                                 "gpasswd", "chsh", "chage", "visudo"});
       }},

      // ---- Security controls ----
      {"net.firewall_disable", R::kHigh, "net.firewall", "disables or flushes the firewall",
       [](const Invocation& inv) { return is_firewall_teardown(inv); }},
      {"net.firewall_change", R::kHigh, "net.firewall", "changes firewall rules",
       [](const Invocation& inv) { return changes_firewall_rules(inv); }},
      {"net.firewall_rule", R::kModerate, "net.firewall", "changes firewall rules",
       [](const Invocation& inv) {
         return inv.program == "ufw" &&
                is_any(first_operand(inv), {"allow", "deny", "reject", "limit", "delete",
                                            "insert", "enable", "default", "route"});
       }},
      {"sec.mac_disable", R::kHigh, "sec.mac", "turns off SELinux or AppArmor protection",
       [](const Invocation& inv) { return disables_mac(inv); }},
      {"sec.history_tamper", R::kHigh, "sec.history", "erases or disables the shell history",
       [](const Invocation& inv) {
         if (inv.program == "history") {
           const ScannedArgs scanned = scan_args(inv.args, "d", {});
           return scanned.has('c') || scanned.has('d') || scanned.has('w');
         }
         if (inv.program == "set" && has_arg(inv, "+o") && has_arg(inv, "history")) return true;
         if (tampers_history_variables(inv)) return true;
         if (writes_or_destroys_any(inv, is_history_file)) return true;
         return inv.program == "ln" && !operands_of(inv).empty() &&
                is_history_file(operands_of(inv).back());
       }},
      {"sched.crontab_remove", R::kHigh, "sched", "removes every cron job of the user",
       [](const Invocation& inv) {
         if (inv.program != "crontab") return false;
         const ScannedArgs scanned = scan_args(inv.args, "u", {});
         if (scanned.has('r')) return true;
         if (scanned.operands.size() != 1) return false;
         // crontab /dev/null, `echo | crontab -`: an empty table replaces every job.
         const bool empty_stdin = inv.stdin_known && inv.stdin_literal.find_first_not_of(
                                                         " \t\n") == std::string::npos;
         return normalize_path(scanned.operands[0]) == "/dev/null" ||
                (scanned.operands[0] == "-" && empty_stdin);
       }},
      {"cloud.destroy", R::kHigh, "cloud",
       "deletes cloud or infrastructure resources (stacks, buckets, instances, clusters)",
       [](const Invocation& inv) { return destroys_cloud_resources(inv); }},
      {"net.display_open", R::kHigh, "net.open",
       "lets any host connect to the X display and read or inject keystrokes",
       [](const Invocation& inv) { return opens_display(inv); }},
      {"fs.unknown_tool_system_path", R::kHigh, "fs.unknown",
       "an unknown program is handed /, a system path or a disk, and may write to it",
       [](const Invocation& inv) { return unknown_tool_on_system_path(inv); }},

      // ---- Version control, containers, clusters, databases ----
      {"git.force_push", R::kHigh, "git", "force-push rewrites the remote branch's history",
       [](const Invocation& inv) {
         if (!git_is(inv, "push")) return false;
         const ScannedArgs scanned = git_args(inv);
         if (scanned.has('f') || scanned.has_long("force") || scanned.has_long("mirror")) {
           return true;
         }
         return std::any_of(scanned.operands.begin() + 1, scanned.operands.end(),
                            [](const std::string& ref) { return !ref.empty() && ref[0] == '+'; });
       }},
      {"git.remote_delete", R::kHigh, "git", "deletes a branch or tag on the remote",
       [](const Invocation& inv) {
         if (!git_is(inv, "push")) return false;
         const ScannedArgs scanned = git_args(inv);
         if (scanned.has('d') || scanned.has_long("delete") || scanned.has_long("prune")) {
           return true;
         }
         return std::any_of(scanned.operands.begin() + 1, scanned.operands.end(),
                            [](const std::string& ref) { return !ref.empty() && ref[0] == ':'; });
       }},
      {"git.discard_changes", R::kHigh, "git",
       "throws away every uncommitted change in the working tree",
       [](const Invocation& inv) { return git_discards_worktree(inv); }},
      {"git.reset_hard", R::kHigh, "git", "git reset --hard discards uncommitted work",
       [](const Invocation& inv) {
         return git_is(inv, "reset") && git_args(inv).has_long("hard");
       }},
      {"git.clean_force", R::kHigh, "git", "git clean -f deletes untracked files for good",
       [](const Invocation& inv) {
         if (!git_is(inv, "clean")) return false;
         const ScannedArgs scanned = git_args(inv);
         return (scanned.has('f') || scanned.has_long("force")) && !scanned.has('n') &&
                !scanned.has_long("dry-run");
       }},
      {"git.stash_clear", R::kHigh, "git", "git stash clear deletes every stashed change for good",
       [](const Invocation& inv) {
         const ScannedArgs scanned = git_args(inv);
         return git_is(inv, "stash") && scanned.operands.size() >= 2 &&
                scanned.operands[1] == "clear";
       }},
      {"git.history_rewrite", R::kHigh, "git", "rewrites or expires repository history",
       [](const Invocation& inv) {
         const std::string sub = git_subcommand(inv);
         return sub == "filter-branch" || sub == "filter-repo" ||
                (sub == "reflog" && has_arg(inv, "expire"));
       }},
      {"git.change", R::kModerate, "git", "changes the repository, working tree or remote",
       [](const Invocation& inv) {
         const std::string sub = git_subcommand(inv);
         if (is_any(sub, {"commit", "checkout", "switch", "merge", "rebase", "pull", "push",
                          "reset", "restore", "rm", "mv", "cherry-pick", "revert", "am", "apply",
                          "gc", "prune", "clean"})) {
           return true;
         }
         const ScannedArgs scanned = git_args(inv);
         if (sub == "stash") {
           return scanned.operands.size() < 2 ||
                  !is_any(scanned.operands[1], {"list", "show", "create"});
         }
         if (sub == "branch") {
           return scanned.has('d') || scanned.has('D') || scanned.has('m') || scanned.has('M') ||
                  scanned.has_long("delete") || scanned.has_long("force");
         }
         return sub == "tag" && (scanned.has('d') || scanned.has_long("delete"));
       }},
      {"container.prune_data", R::kHigh, "container",
       "deletes all unused containers, images or volumes, with their data",
       [](const Invocation& inv) { return container_prunes_data(inv); }},
      {"container.privileged", R::kHigh, "container",
       "runs a container with full access to the host",
       [](const Invocation& inv) { return container_privileged(inv); }},
      {"container.remove_unknown", R::kHigh, "container",
       "force-removes containers, images or volumes chosen at run time (every one, often)",
       [](const Invocation& inv) { return container_removes_unknown(inv); }},
      {"container.change", R::kModerate, "container", "starts, stops or removes containers",
       [](const Invocation& inv) { return container_mutates(inv); }},
      {"k8s.delete", R::kHigh, "k8s", "deletes cluster resources",
       [](const Invocation& inv) {
         if (inv.program == "kubectl" || inv.program == "oc") {
           return is_any(first_operand(inv, "ns", {"namespace", "context"}), {"delete", "drain"});
         }
         return inv.program == "helm" &&
                is_any(first_operand(inv), {"uninstall", "delete", "del", "un"});
       }},
      {"k8s.change", R::kModerate, "k8s", "changes cluster resources",
       [](const Invocation& inv) {
         if (inv.program == "kubectl" || inv.program == "oc") {
           return is_any(first_operand(inv, "ns", {"namespace", "context"}),
                         {"apply", "create", "edit", "patch", "replace", "scale", "rollout",
                          "cordon", "uncordon", "label", "annotate", "set", "exec", "taint"});
         }
         return inv.program == "helm" &&
                is_any(first_operand(inv), {"install", "upgrade", "rollback"});
       }},
      {"db.destructive", R::kHigh, "db", "drops or empties a database",
       [](const Invocation& inv) { return destructive_sql(inv); }},

      // ---- Everyday changes ----
      {"pkg.change", R::kModerate, "pkg", "installs, removes or upgrades software packages",
       [](const Invocation& inv) { return changes_packages(inv); }},
      {"svc.change", R::kModerate, "svc", "starts, stops or reconfigures system services",
       [](const Invocation& inv) {
         if (inv.program == "systemctl") {
           return is_any(first_operand(inv), {"start", "stop", "restart", "reload", "enable",
                                              "disable", "mask", "unmask", "kill", "isolate",
                                              "daemon-reload", "try-restart", "reload-or-restart"});
         }
         if (inv.program == "service") return inv.args.size() >= 2;
         return inv.program == "launchctl" &&
                is_any(first_operand(inv), {"load", "unload", "bootout", "remove", "stop"});
       }},
      {"sys.unmount_system", R::kHigh, "sys",
       "unmounts / or a system directory from under the running system",
       [](const Invocation& inv) {
         if (!program_is(inv, {"umount"})) return false;
         const std::vector<std::string> operands = operands_of(inv);
         return std::any_of(operands.begin(), operands.end(), [](const std::string& path) {
           return !path.empty() && path[0] == '/' &&
                  (tree_is_root_or_system(path) || is_boot_path(path));
         });
       }},
      {"sys.mount", R::kModerate, "sys", "mounts, unmounts or changes swap",
       [](const Invocation& inv) {
         if (program_is(inv, {"mount"})) return !inv.args.empty();
         return program_is(inv, {"umount", "swapoff", "swapon", "losetup", "fsck", "e2fsck"});
       }},
      {"sys.kernel_change", R::kModerate, "sys", "loads kernel modules or changes kernel settings",
       [](const Invocation& inv) {
         if (program_is(inv, {"modprobe", "insmod", "rmmod"})) return true;
         return inv.program == "sysctl" &&
                (has_arg(inv, "-w") || has_arg(inv, "-p") ||
                 std::any_of(inv.args.begin(), inv.args.end(), [](const std::string& arg) {
                   return arg.find('=') != std::string::npos;
                 }));
       }},
      {"sys.network_down", R::kModerate, "sys", "takes a network interface down",
       [](const Invocation& inv) {
         if (program_is(inv, {"ifdown"})) return true;
         if (program_is(inv, {"ip", "ifconfig", "nmcli"})) {
           return has_arg(inv, "down") || has_arg(inv, "off");
         }
         return false;
       }},
      {"net.download_to_file", R::kModerate, "net.download", "downloads files to disk",
       [](const Invocation& inv) { return is_download_to_file(inv); }},
      {"sched.crontab_replace", R::kModerate, "sched", "replaces or edits the user's crontab",
       [](const Invocation& inv) {
         return inv.program == "crontab" && !scan_args(inv.args, "u", {}).has('l');
       }},
  };
  return table;
}

}  // namespace

const std::vector<Rule>& rule_table() { return build_table(); }

std::vector<RuleMatch> match_rules(const Invocation& given) {
  // --help, --version, dry runs: only the redirections still do something.
  Invocation quiet;
  if (given.dry_run) {
    quiet.program = "(dry run) " + given.program;
    quiet.redirections = given.redirections;
    quiet.parse_error = given.parse_error;
    quiet.limit_exceeded = given.limit_exceeded;
  }
  const Invocation& invocation = given.dry_run ? quiet : given;
  std::map<std::string_view, const Rule*> riskiest_per_family;
  std::vector<std::string_view> family_order;
  for (const Rule& rule : rule_table()) {
    if (!rule.matches(invocation)) continue;
    auto [it, inserted] = riskiest_per_family.emplace(rule.family, &rule);
    if (inserted) {
      family_order.push_back(rule.family);
    } else if (rule.risk > it->second->risk) {
      it->second = &rule;
    }
  }
  std::vector<RuleMatch> matches;
  for (std::string_view family : family_order) {
    const Rule* rule = riskiest_per_family[family];
    matches.push_back(RuleMatch{std::string(rule->id), rule->risk, std::string(rule->reason)});
  }
  return matches;
}

}  // namespace cmdai::safety
