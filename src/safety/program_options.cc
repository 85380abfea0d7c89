#include "safety/program_options.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "safety/arg_scan.h"
#include "safety/programs.h"

namespace cmdai::safety {

// GNU getopt accepts any unambiguous prefix of a long option (`rm --rec --fo`); rewrite those
// to the full names for the programs whose rules look at long options.
void expand_long_abbreviations(const std::string& program, std::vector<std::string>& args) {
  static const std::map<std::string_view, std::vector<std::string_view>, std::less<>> kLongs = {
      {"rm",
       {"force", "interactive", "one-file-system", "no-preserve-root", "preserve-root", "recursive",
        "dir", "verbose", "help", "version"}},
      {"chmod",
       {"changes", "silent", "quiet", "verbose", "no-preserve-root", "preserve-root", "reference",
        "recursive", "help", "version"}},
      {"chown",
       {"changes", "dereference", "no-dereference", "from", "silent", "quiet", "verbose",
        "no-preserve-root", "preserve-root", "reference", "recursive", "help", "version"}},
      {"shred",
       {"force", "iterations", "random-source", "size", "remove", "verbose", "exact", "zero",
        "help", "version"}},
      {"truncate", {"no-create", "io-blocks", "reference", "size", "help", "version"}},
      {"cp",
       {"archive", "backup", "force", "interactive", "link", "no-clobber", "recursive",
        "remove-destination", "symbolic-link", "target-directory", "update", "verbose", "help",
        "version"}},
      {"mv",
       {"backup", "force", "interactive", "no-clobber", "target-directory", "update", "verbose",
        "help", "version"}},
      {"wipefs",
       {"all", "backup", "force", "no-act", "offset", "output", "parsable", "quiet", "types",
        "help", "version"}},
      {"sed",
       {"expression", "file", "in-place", "quiet", "silent", "regexp-extended", "separate",
        "null-data", "help", "version"}},
      {"iptables",
       {"append", "delete", "insert", "replace", "list", "flush", "zero", "new-chain",
        "delete-chain", "policy", "rename-chain", "table", "help", "version"}},
      {"crontab", {"help", "version"}},
      {"kill", {"signal", "list", "table", "help", "version"}},
      {"dd", {"help", "version"}},
      {"tar",
       {"to-command", "use-compress-program", "checkpoint-action", "directory", "extract", "create",
        "file", "info-script", "new-volume-script", "rsh-command", "get", "help", "version"}},
      {"rsync", {"rsh", "rsync-path", "delete", "dry-run", "help", "version"}},
      // git's parse-options accepts unique prefixes of a subcommand's long options
      // (`git rebase --exe=CMD`); the neighbours of the options the rules read are listed so
      // that a prefix they share stays ambiguous.
      {"git", {"exec",        "exclude",          "exit-code",
               "ext-diff",    "extcmd",           "extended-regexp",
               "upload-pack", "tree-filter",      "index-filter",
               "msg-filter",  "env-filter",       "commit-filter",
               "force",       "force-with-lease", "force-if-includes",
               "follow-tags", "delete",           "dry-run",
               "hard",        "mirror",           "help",
               "version"}},
      {"xargs", {"replace", "arg-file", "max-args", "null", "help", "version"}},
  };
  const auto known = kLongs.find(program);
  if (known == kLongs.end()) return;
  for (std::string& arg : args) {
    if (arg == "--") break;
    if (arg.size() < 3 || arg[0] != '-' || arg[1] != '-') continue;
    const size_t eq = arg.find('=');
    const std::string given = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string_view match;
    int matches = 0;
    for (std::string_view name : known->second) {
      if (name == given) {
        matches = 0;
        break;
      }
      if (name.substr(0, given.size()) == given) {
        match = name;
        ++matches;
      }
    }
    if (matches == 1) {
      arg = "--" + std::string(match) + (eq == std::string::npos ? "" : arg.substr(eq));
    }
  }
}

// --help, --version and dry-run flags: the program reports what it would do and stops.
bool is_dry_run(const std::string& program, const std::vector<std::string>& args) {
  if (is_shell(program) || is_interpreter(program)) return false;
  for (const std::string& arg : args) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "--version") return true;  // GNU getopt reads it anywhere
  }
  auto any = [&args](std::initializer_list<std::string_view> flags) {
    return std::any_of(args.begin(), args.end(), [flags](const std::string& arg) {
      return is_any(arg, flags) || arg.rfind("--dry-run", 0) == 0;
    });
  };
  if (is_any(program, {"rsync",
                       "make",
                       "git",
                       "wipefs",
                       "sfdisk",
                       "mke2fs",
                       "mkfs.ext2",
                       "mkfs.ext3",
                       "mkfs.ext4",
                       "zfs",
                       "btrfs",
                       "kubectl",
                       "helm",
                       "npm",
                       "pip",
                       "pip3",
                       "certbot",
                       "ufw",
                       "apt",
                       "apt-get",
                       "terraform",
                       "ansible",
                       "ansible-playbook",
                       "rclone",
                       "lvremove",
                       "docker",
                       "sgdisk",
                       "dnf",
                       "yum",
                       "brew",
                       "cargo",
                       "aws",
                       "gcloud"})) {
    if (any({"--dry-run", "--simulate", "--no-act", "--just-print", "--recon", "--check",
             "--pretend", "--test", "--what-if", "--print"})) {
      return true;
    }
    if (is_any(program, {"apt", "apt-get"}) && any({"-s"})) return true;
    if (program == "sgdisk" && any({"-P"})) return true;
    const ScannedArgs scanned = scan_args(args);
    if (is_any(program, {"rsync", "make", "wipefs", "sfdisk", "mke2fs", "mkfs.ext2", "mkfs.ext3",
                         "mkfs.ext4", "zfs"}) &&
        scanned.has('n')) {
      return true;
    }
    if (program == "git" && scanned.has('n') && !scanned.operands.empty() &&
        is_any(scanned.operands[0], {"clean", "rm", "push", "add", "mv"})) {
      return true;
    }
  }
  // `kill -0 PID` only asks whether the process exists.
  return program == "kill" && !args.empty() &&
         (args[0] == "-0" || (args[0] == "-s" && args.size() > 1 && args[1] == "0"));
}

}  // namespace cmdai::safety
