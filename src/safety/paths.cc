#include "safety/paths.h"

#include <array>
#include <vector>

namespace cmdai::safety {
namespace {

constexpr std::string_view kHome = "/home/~";

std::vector<std::string> split_components(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > i) parts.emplace_back(path.substr(i, slash - i));
    i = slash + 1;
  }
  return parts;
}

bool starts_with_dir(std::string_view path, std::string_view dir) {
  return path == dir ||
         (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

bool has_glob(std::string_view text) { return text.find_first_of("*?[") != std::string_view::npos; }

// "*", ".*", "*.*", ".[!.]*": a component that matches (nearly) every entry of its directory.
bool is_catch_all_component(std::string_view component) {
  if (component.find('*') == std::string_view::npos) return false;
  for (char c : component) {
    if (std::string_view("*?.[]!^").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// The part after the last '/', or the whole path when it has none.
std::string_view last_component(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

constexpr std::array<std::string_view, 27> kTopSystemDirs = {
    "/bin",   "/boot",   "/dev",     "/etc",          "/home",    "/lib",    "/lib32",
    "/lib64", "/libx32", "/media",   "/mnt",          "/opt",     "/proc",   "/root",
    "/run",   "/sbin",   "/srv",     "/sys",          "/usr",     "/var",    "/snap",
    "/Users", "/System", "/Library", "/Applications", "/private", "/Volumes"};

constexpr std::array<std::string_view, 19> kSecondLevelSystemDirs = {
    "/usr/bin",     "/usr/sbin",    "/usr/lib",       "/usr/lib32",    "/usr/lib64",
    "/usr/libexec", "/usr/include", "/usr/share",     "/usr/local",    "/usr/src",
    "/var/lib",     "/var/log",     "/var/spool",     "/var/mail",     "/var/www",
    "/var/cache",   "/var/backups", "/usr/local/bin", "/usr/local/lib"};

// Whole trees whose loss breaks the machine, at any depth.
constexpr std::array<std::string_view, 9> kVitalTrees = {
    "/boot", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sys"};

// /proc/PID/root is the process's view of /, and /proc/PID/cwd its working directory.
std::string strip_proc_aliases(std::string path) {
  if (path.rfind("/proc/", 0) != 0) return path;
  const size_t pid_end = path.find('/', 6);
  if (pid_end == std::string::npos) return path;
  const std::string_view rest = std::string_view(path).substr(pid_end);
  for (std::string_view alias : {"/root", "/cwd"}) {
    if (rest.substr(0, alias.size()) == alias &&
        (rest.size() == alias.size() || rest[alias.size()] == '/')) {
      const std::string tail(rest.substr(alias.size()));
      if (alias == "/root") return tail.empty() ? "/" : tail;
      return tail.empty() ? "." : "." + tail;
    }
  }
  return path;
}

}  // namespace

std::string normalize_path(std::string_view path) {
  std::string expanded;
  if (!path.empty() && path[0] == '/') {
    // Collapse repeated slashes first so that //proc//1/root is seen too.
    std::string collapsed;
    for (char c : path) {
      if (c == '/' && !collapsed.empty() && collapsed.back() == '/') continue;
      collapsed += c;
    }
    expanded = strip_proc_aliases(collapsed);
  } else if (!path.empty() && path[0] == '~') {
    const size_t slash = path.find('/');
    expanded = std::string(kHome);
    if (slash != std::string_view::npos) expanded += path.substr(slash);
  } else {
    expanded = std::string(path);
  }
  const bool absolute = !expanded.empty() && expanded[0] == '/';
  std::vector<std::string> stack;
  for (std::string& component : split_components(expanded)) {
    if (component == ".") continue;
    if (component == "..") {
      if (!stack.empty() && stack.back() != "..") {
        stack.pop_back();
      } else if (!absolute) {
        stack.push_back("..");
      }
      continue;
    }
    stack.push_back(std::move(component));
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < stack.size(); ++i) {
    if (i > 0) out += '/';
    out += stack[i];
  }
  if (out.empty()) out = ".";
  return out;
}

TreeClass classify_tree(std::string_view path) {
  if (path.empty()) return TreeClass::kOther;
  std::string base = normalize_path(path);
  // `dir/*` sweeps up as much as `dir` itself.
  while (true) {
    if (!is_catch_all_component(last_component(base))) break;
    base = std::string(parent_of(base));
  }
  if (base == "/") return TreeClass::kRoot;
  const bool absolute = base[0] == '/';
  if (!absolute) {
    for (const std::string& component : split_components(base)) {
      if (component != "..") return base == "." ? TreeClass::kCwdAll : TreeClass::kOther;
    }
    return TreeClass::kCwdAll;
  }
  const std::vector<std::string> components = split_components(base);
  if (has_glob(components[0])) return TreeClass::kRoot;
  if (components.size() == 2 && !has_glob(components[1]) &&
      (components[0] == "home" || components[0] == "Users")) {
    return TreeClass::kHome;
  }
  if (base == "/root" || base == kHome) return TreeClass::kHome;
  for (std::string_view dir : kTopSystemDirs) {
    if (base == dir) return TreeClass::kSystemDir;
  }
  for (std::string_view dir : kSecondLevelSystemDirs) {
    if (base == dir) return TreeClass::kSystemDir;
  }
  for (std::string_view dir : kVitalTrees) {
    if (starts_with_dir(base, dir)) return TreeClass::kSystemDir;
  }
  // A glob one level under a system directory (/usr/*, /var/l*) hits system directories too.
  if (components.size() == 2 && has_glob(components[1])) {
    for (std::string_view dir : kTopSystemDirs) {
      if (parent_of(base) == dir) return TreeClass::kSystemDir;
    }
  }
  return TreeClass::kOther;
}

bool is_block_device(std::string_view path) {
  const std::string normalized = normalize_path(path);
  if (!starts_with_dir(normalized, "/dev") || normalized.size() <= 5) return false;
  const std::string_view name = std::string_view(normalized).substr(5);
  static constexpr std::array<std::string_view, 27> kPrefixes = {
      "sd",     "hd",   "vd",    "xvd",     "nvme", "mmcblk", "md",     "dm-",   "loop",
      "nbd",    "disk", "rdisk", "mapper/", "mem",  "kmem",   "port",   "sr",    "fd0",
      "block/", "root", "mtd",   "ubi",     "zd",   "rbd",    "bcache", "zvol/", "vg"};
  for (std::string_view prefix : kPrefixes) {
    if (name.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

bool is_harmless_sink(std::string_view path) {
  const std::string normalized = normalize_path(path);
  for (std::string_view sink : {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
                                "/dev/zero", "/dev/full"}) {
    if (normalized == sink) return true;
  }
  return starts_with_dir(normalized, "/dev/fd") || starts_with_dir(normalized, "/dev/pts") ||
         starts_with_dir(normalized, "/proc/self/fd");
}

bool is_credential_file(std::string_view path) {
  const std::string normalized = normalize_path(path);
  for (std::string_view file : {"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow",
                                "/etc/sudoers", "/etc/master.passwd", "/etc/security/opasswd"}) {
    if (normalized == file) return true;
  }
  return starts_with_dir(normalized, "/etc/sudoers.d") || starts_with_dir(normalized, "/etc/pam.d");
}

bool is_boot_path(std::string_view path) {
  const std::string normalized = normalize_path(path);
  return starts_with_dir(normalized, "/boot") || starts_with_dir(normalized, "/efi");
}

bool is_system_path(std::string_view path) {
  const std::string normalized = normalize_path(path);
  for (std::string_view dir :
       {"/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/opt",
        "/var/lib", "/root", "/System", "/Library", "/efi"}) {
    if (starts_with_dir(normalized, dir)) return true;
  }
  return false;
}

bool is_history_file(std::string_view path) {
  const std::string normalized = normalize_path(path);
  const std::string_view name = last_component(normalized);
  for (std::string_view file :
       {".bash_history", ".zsh_history", ".zhistory", ".history", ".sh_history", ".python_history",
        ".mysql_history", ".psql_history", ".node_repl_history", "fish_history"}) {
    if (name == file) return true;
  }
  return false;
}

PersistedCode persisted_code(std::string_view path) {
  const std::string normalized = normalize_path(path);
  const std::string_view name = last_component(normalized);
  for (std::string_view file :
       {".bashrc",   ".bash_profile", ".bash_login", ".bash_logout", ".profile",    ".zshrc",
        ".zshenv",   ".zprofile",     ".zlogin",     ".zlogout",     ".kshrc",      ".mkshrc",
        ".xprofile", ".xinitrc",      ".xsession",   "config.fish",  "bash.bashrc", "zshrc",
        "zshenv",    "zprofile",      "rc.local"}) {
    if (name == file) return PersistedCode::kShell;
  }
  const std::string_view full = normalized;
  for (std::string_view dir : {"/etc/profile.d/", "/.config/fish/conf.d/", "/.config/autostart/",
                               "/.ssh/rc", "/etc/profile", "/etc/environment"}) {
    if (full.find(dir) != std::string_view::npos) return PersistedCode::kShell;
  }
  for (std::string_view dir : {"/etc/cron", "/var/spool/cron/", "/etc/anacrontab"}) {
    if (full.find(dir) != std::string_view::npos) return PersistedCode::kCron;
  }
  return PersistedCode::kNone;
}

bool is_kernel_control(std::string_view path) {
  const std::string normalized = normalize_path(path);
  return starts_with_dir(normalized, "/proc/sys") || starts_with_dir(normalized, "/sys") ||
         normalized == "/proc/sysrq-trigger";
}

}  // namespace cmdai::safety
