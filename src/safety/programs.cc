#include "safety/programs.h"

#include <algorithm>
#include <set>

namespace cmdai::safety {
namespace {

using NameSet = std::set<std::string_view>;

const NameSet& shells() {
  static const NameSet names = {"sh",    "bash", "zsh",    "dash", "ksh",   "mksh",
                                "ash",   "fish", "csh",    "tcsh", "yash",  "rbash",
                                "pdksh", "oksh", "elvish", "nu",   "xonsh", "busybox-sh"};
  return names;
}

const NameSet& interpreters() {
  static const NameSet names = {"python",     "pypy",   "perl",   "ruby",   "node",      "nodejs",
                                "deno",       "bun",    "php",    "lua",    "luajit",    "pwsh",
                                "powershell", "tclsh",  "wish",   "expect", "osascript", "Rscript",
                                "julia",      "groovy", "jshell", "irb",    "ipython"};
  return names;
}

const NameSet& network_sources() {
  static const NameSet names = {"curl",   "wget",   "fetch",          "http",      "https",
                                "xh",     "aria2c", "lynx",           "w3m",       "links",
                                "nc",     "ncat",   "netcat",         "socat",     "ssh",
                                "telnet", "ftp",    "tftp",           "curlie",    "httpie",
                                "wget2",  "axel",   "nc.traditional", "nc.openbsd"};
  return names;
}

// Programs whose purpose is to run the command given in their arguments.
const NameSet& command_wrappers() {
  static const NameSet names = {"runuser",
                                "toybox",
                                "unshare",
                                "nsenter",
                                "systemd-run",
                                "dbus-launch",
                                "dbus-run-session",
                                "strace",
                                "ltrace",
                                "valgrind",
                                "faketime",
                                "proxychains",
                                "proxychains4",
                                "torsocks",
                                "torify",
                                "firejail",
                                "bwrap",
                                "chpst",
                                "sg",
                                "catchsegv",
                                "numactl",
                                "cgexec",
                                "prlimit",
                                "tini",
                                "dumb-init",
                                "su-exec",
                                "gosu",
                                "setpriv",
                                "fakeroot",
                                "fakechroot",
                                "trickle",
                                "tsocks",
                                "rlwrap",
                                "cpulimit",
                                "systemd-nspawn",
                                "xvfb-run",
                                "sshpass",
                                "ssh-agent",
                                "aws-vault",
                                "doppler",
                                "chamber",
                                "eatmydata",
                                "nocache",
                                "chronic",
                                "ifne",
                                "lckdo",
                                "setarch",
                                "linux32",
                                "linux64",
                                "schroot",
                                "distrobox-enter",
                                "flatpak-spawn",
                                "run0",
                                "daemonize",
                                "entr",
                                "watchexec",
                                "with-lock-ex",
                                "retry",
                                "sem",
                                "capsh",
                                "ltrace",
                                "uftrace",
                                "heaptrack",
                                "torify",
                                "firejail",
                                "minijail0",
                                "nix-shell",
                                "direnv",
                                "mise",
                                "asdf",
                                "rtx",
                                "poetry",
                                "pipenv",
                                "uv",
                                "bundle",
                                "conda",
                                "mamba",
                                "micromamba",
                                "pixi",
                                "hatch",
                                "tox",
                                "op",
                                "dotenv",
                                "envchain",
                                "caffeinate",
                                "unbuffer",
                                "nohup",
                                "setsid",
                                "stdbuf",
                                "nice",
                                "ionice",
                                "chrt",
                                "taskset",
                                "timeout",
                                "time",
                                "exec",
                                "command",
                                "builtin",
                                "env",
                                "sudo",
                                "doas",
                                "pkexec",
                                "busybox",
                                "chroot",
                                "flock",
                                "watch",
                                "xargs",
                                "parallel",
                                "script",
                                "coproc",
                                "trap",
                                "at",
                                "batch",
                                "eval",
                                "source",
                                ".",
                                "npx",
                                "bunx",
                                "pnpx",
                                "uvx",
                                "pipx",
                                "tmux",
                                "screen",
                                "xterm",
                                "gnome-terminal",
                                "konsole",
                                "kitty",
                                "alacritty",
                                "perf",
                                "gdb",
                                "lldb",
                                "hyperfine",
                                "su",
                                "ssh",
                                "vagrant",
                                "lxc-attach",
                                "machinectl",
                                "flatpak",
                                "wsl",
                                "sudoedit"};
  return names;
}

// Everyday and rule-covered programs: knowing them means an argument such as /etc/hosts is
// read the way that program reads it, not as a target of an unknown tool.
const NameSet& known_programs() {
  static const NameSet names = {
      // files and text
      "ls", "cat", "tac", "head", "tail", "less", "more", "most", "bat", "batcat", "grep", "egrep",
      "fgrep", "rg", "ag", "ack", "sed", "awk", "gawk", "mawk", "nawk", "cut", "sort", "uniq", "wc",
      "tr", "tee", "diff", "cmp", "comm", "paste", "join", "fold", "fmt", "nl", "od", "xxd",
      "hexdump", "strings", "file", "stat", "find", "fd", "fdfind", "locate", "which", "whereis",
      "type", "readlink", "realpath", "basename", "dirname", "pwd", "cd", "pushd", "popd", "dirs",
      "touch", "mkdir", "rmdir", "cp", "mv", "rm", "ln", "install", "chmod", "chown", "chgrp",
      "chattr", "lsattr", "du", "df", "tree", "md5sum", "sha1sum", "sha256sum", "sha512sum",
      "b2sum", "cksum", "base64", "base32", "rev", "shuf", "split", "csplit", "expand", "unexpand",
      "column", "jq", "yq", "xq", "tar", "gzip", "gunzip", "zcat", "bzip2", "bunzip2", "bzcat",
      "xz", "unxz", "xzcat", "zstd", "unzstd", "zstdcat", "lz4", "zip", "unzip", "7z", "7za", "rar",
      "unrar", "cpio", "ar", "truncate", "shred", "dd", "sync", "mktemp", "mkfifo", "mknod",
      "iconv", "dos2unix", "unix2dos", "look", "zgrep", "zless", "bzgrep", "xzgrep", "ripgrep",
      "pv", "patch", "envsubst", "numfmt", "tput", "clear", "reset", "tty", "stty", "printf",
      "echo", "yes", "true", "false", "test", "[", "[[", "seq", "sleep", "expr", "bc", "dc",
      "factor", "date", "cal", "ncal", "unlink", "vdir", "dir", "wipe", "srm", "rename", "prename",
      "mmv", "rsync", "scp", "sftp", "ssh", "ssh-keygen", "ssh-copy-id", "ssh-add", "ssh-keyscan",
      "gpg", "gpg2", "openssl", "age", "pass", "certbot", "htpasswd",
      // editors and viewers
      "vi", "vim", "nvim", "view", "ex", "gvim", "nano", "pico", "emacs", "micro", "code", "subl",
      "kate", "gedit", "ed", "joe", "mcedit", "man", "info", "tldr", "help", "open", "xdg-open",
      "evince", "okular",
      // system information
      "uname", "hostname", "hostnamectl", "uptime", "whoami", "id", "groups", "who", "w", "last",
      "lastlog", "users", "finger", "ps", "pgrep", "top", "htop", "btop", "atop", "glances", "free",
      "vmstat", "iostat", "mpstat", "sar", "pidstat", "lsof", "fuser", "lsblk", "blkid", "lscpu",
      "lspci", "lsusb", "lsmod", "lshw", "dmidecode", "dmesg", "journalctl", "timedatectl",
      "localectl", "loginctl", "env", "printenv", "set", "export", "unset", "declare", "local",
      "readonly", "typeset", "alias", "unalias", "history", "fc", "jobs", "fg", "bg", "wait",
      "disown", "umask", "ulimit", "shopt", "read", "getent", "nproc", "arch", "sensors",
      "nvidia-smi", "inxi", "neofetch", "fastfetch", "screenfetch", "lsns", "findmnt", "mount",
      "umount", "swapon", "swapoff", "df", "sysctl", "ldd", "ldconfig", "nm", "objdump", "readelf",
      "size", "strip", "getconf", "locale", "tzselect", "cal", "logger", "wall", "write", "mesg",
      // network
      "ping", "ping6", "traceroute", "tracepath", "mtr", "dig", "nslookup", "host", "whois", "curl",
      "wget", "ip", "ifconfig", "route", "netstat", "ss", "nmap", "arp", "iw", "iwconfig", "nmcli",
      "resolvectl", "tcpdump", "ethtool", "nc", "ncat", "netcat", "socat", "telnet", "ftp",
      "iptables", "ip6tables", "nft", "ufw", "firewall-cmd", "pfctl", "xhost", "http", "https",
      "aria2c", "speedtest", "speedtest-cli",
      // processes, services, power
      "kill", "pkill", "killall", "killall5", "skill", "xkill", "nice", "renice", "systemctl",
      "service", "launchctl", "shutdown", "reboot", "halt", "poweroff", "init", "telinit",
      "crontab", "at", "atq", "atrm", "batch", "chkconfig", "update-rc.d", "rc-service",
      "rc-update", "sv",
      // disks, accounts, security
      "fdisk", "gdisk", "cfdisk", "cgdisk", "sfdisk", "parted", "sgdisk", "wipefs", "blkdiscard",
      "cryptsetup", "hdparm", "nvme", "mdadm", "mkswap", "mke2fs", "mkntfs", "mkdosfs", "newfs",
      "e2fsck", "fsck", "tune2fs", "resize2fs", "losetup", "lvremove", "vgremove", "pvremove",
      "lvcreate", "lvs", "vgs", "pvs", "zfs", "zpool", "btrfs", "diskutil", "passwd", "chpasswd",
      "useradd", "adduser", "usermod", "userdel", "deluser", "groupadd", "addgroup", "groupdel",
      "delgroup", "gpasswd", "chsh", "chage", "visudo", "sudo", "doas", "su", "setenforce",
      "getenforce", "sestatus", "aa-status", "aa-teardown", "aa-disable", "aa-complain", "modprobe",
      "insmod", "rmmod", "modinfo", "sysrq", "ifdown", "ifup",
      // development
      "git", "gh", "hub", "svn", "hg", "make", "cmake", "ninja", "meson", "bazel", "gcc", "g++",
      "cc", "c++", "clang", "clang++", "ld", "as", "gdb", "lldb", "valgrind", "go", "cargo",
      "rustc", "rustup", "javac", "java", "mvn", "gradle", "kotlin", "kotlinc", "scala", "sbt",
      "dotnet", "swift", "swiftc", "xcodebuild", "npm", "yarn", "pnpm", "npx", "tsc", "eslint",
      "prettier", "jest", "mocha", "vitest", "webpack", "vite", "pip", "pip3", "pipx", "poetry",
      "pytest", "tox", "black", "ruff", "flake8", "mypy", "pylint", "isort", "conda", "virtualenv",
      "gem", "bundle", "rake", "rails", "composer", "clang-format", "clang-tidy", "ctags", "cscope",
      "shellcheck", "shfmt", "jupyter", "ipython", "pre-commit", "direnv", "terraform", "tofu",
      "pulumi", "ansible", "ansible-playbook", "packer", "vagrant", "docker", "docker-compose",
      "podman", "kubectl", "oc", "helm", "k9s", "kind", "minikube", "aws", "gcloud", "gsutil", "az",
      "doctl", "heroku", "flyctl", "fly", "vercel", "netlify", "firebase", "psql", "mysql",
      "mariadb", "sqlite3", "redis-cli", "mongo", "mongosh", "clickhouse-client", "mysqladmin",
      "mysqldump", "pg_dump", "pg_restore", "dropdb", "createdb", "dropuser", "createuser",
      // packages
      "apt", "apt-get", "apt-cache", "aptitude", "dpkg", "dnf", "yum", "rpm", "zypper", "pacman",
      "yay", "paru", "apk", "brew", "port", "snap", "flatpak", "nix", "nix-env", "guix", "pkg",
      "choco", "winget", "scoop", "mas", "softwareupdate",
      // media and desktop
      "ffmpeg", "ffprobe", "convert", "magick", "identify", "mogrify", "exiftool", "youtube-dl",
      "yt-dlp", "mpv", "vlc", "pandoc", "pdftotext", "qpdf", "gs", "lp", "lpr", "lpstat",
      "notify-send", "xclip", "xsel", "pbcopy", "pbpaste", "say", "osascript", "defaults", "pmset",
      "networksetup", "scutil", "sw_vers", "brctl", "xrandr", "xset", "gsettings", "dconf",
      "systemd-analyze", "hwclock", "ntpdate", "chronyc", "timeshift", "restic", "borg", "rclone",
      "duplicity", "tmux", "screen", "watch", "script", "bc", "units", "cowsay", "fortune",
      "figlet", "lolcat", "sl", "cmatrix", "asciinema", "rsync", "zoxide", "z", "fzf", "starship",
      "cmdai", "pyenv", "rbenv", "nodenv", "nvm", "fnm", "sdk", "dircolors", "ssh-agent",
      "keychain", "gpg-agent", "xargs", "parallel", "time", "timeout", "nohup", "setsid", "stdbuf",
      "ionice", "chrt", "taskset", "chroot", "flock", "busybox", "eval", "source", ".", "exec",
      "command", "builtin", "trap", "exit", "return", "shift", "break", "continue", "let",
      "getopts", "hash", "wait", "caller", "enable", "mapfile", "readarray", "complete", "compgen",
      "bind", "logout", "suspend", "coproc", "select", "function", ":", "rmdir",
      "update-alternatives", "update-grub", "grub-install", "grub-mkconfig", "mkinitcpio", "dracut",
      "update-initramfs", "dkms", "efibootmgr", "kexec", "iptables-save", "iptables-restore", "nft",
      "semanage", "restorecon", "chcon", "auditctl", "ausearch", "fail2ban-client", "sshd", "nginx",
      "apachectl", "httpd", "php-fpm", "redis-server", "postgres", "mysqld", "supervisorctl", "pm2",
      "forever", "gunicorn", "uvicorn", "flask", "django-admin", "celery", "serve", "http-server",
      "live-server", "ngrok", "caddy", "traefik", "mc", "ranger", "nnn", "lf", "vifm", "exa", "eza",
      "lsd", "duf", "dust", "ncdu", "btm", "procs", "sd", "hyperfine", "tokei", "cloc", "scc",
      "wget2", "curlie", "xh", "httpie", "jless", "gron", "mlr", "csvkit", "xsv", "qsv",
      "sqlite-utils", "datasette", "strace", "ltrace", "perf", "lsof", "iotop", "iftop", "nethogs",
      "bmon", "vnstat", "nload", "tshark", "wireshark", "mitmproxy", "openvpn", "wg", "wg-quick",
      "tailscale", "zerotier-cli", "dbus-send", "busctl", "gdbus", "qdbus", "systemd-run",
      "systemd-nspawn", "machinectl", "journalctl", "coredumpctl", "udevadm", "rfkill",
      "bluetoothctl", "pactl", "pamixer", "amixer", "alsamixer", "brightnessctl", "light",
      "xdotool", "wmctrl", "gpg-connect-agent", "keyctl", "tpm2", "mokutil", "fwupdmgr", "snapper",
      "etckeeper", "needrestart", "reboot-required", "apt-mark", "debconf", "dpkg-query",
      "dpkg-reconfigure", "lsb_release", "cat", "nl", "wc", "smartctl", "lsscsi", "udisksctl",
      "dumpe2fs", "xfs_info", "partprobe", "thefuck", "minikube", "docker-machine", "op", "xattr",
      "mdfind", "hdiutil", "sensors", "iwlist",
      // editors, viewers and inspectors seen on system files every day
      "hx", "helix", "kak", "vis", "mg", "jed", "ne", "zed", "codium", "cursor", "mousepad",
      "pluma", "xed", "geany", "glow", "mdcat", "delta", "difft", "meld", "kdiff3", "vimdiff",
      "colordiff", "icdiff", "sdiff", "diff3", "tig", "lazygit", "gitui", "yazi", "broot", "zellij",
      "lnav", "multitail", "goaccess", "ccze", "grc", "cheat", "navi", "hexyl", "binwalk",
      "checksec", "r2", "rizin", "mediainfo", "getfacl", "namei", "mountpoint", "shasum", "md5",
      "otool", "codesign", "mdls", "plutil", "dscl", "ioreg", "system_profiler", "pkgutil",
      "systemd-cgls", "systemd-cgtop", "lsinitramfs", "lsinitrd", "visidata", "vd", "fx", "csvlook",
      "jless", "dog", "doggo", "gping", "nload", "iptraf-ng", "nethogs", "powertop", "cpupower",
      "turbostat", "iostat", "blktrace", "fio", "stress", "stress-ng", "sysbench", "lsipc",
      "lslocks", "lslogins", "who", "pinky", "tload", "slabtop", "pmap", "pstree", "ps_mem", "smem",
      "numastat"};
  return names;
}

bool contains(const NameSet& set, std::string_view name) { return set.count(name) != 0; }

}  // namespace

std::string canonical_program(std::string_view name) {
  if (contains(shells(), name) || contains(interpreters(), name)) return std::string(name);
  // Strip a version suffix: digits, dots, dashes and underscores at the end of the name.
  size_t end = name.size();
  while (end > 0 &&
         (std::string_view("0123456789.-_").find(name[end - 1]) != std::string_view::npos)) {
    --end;
  }
  if (end == 0 || end == name.size()) return std::string(name);
  const std::string_view stem = name.substr(0, end);
  if (contains(shells(), stem) || contains(interpreters(), stem)) return std::string(stem);
  // "python3-dbg", "pypy3": the stem may still end in a letter that is not a version.
  return std::string(name);
}

bool is_shell(std::string_view program) { return contains(shells(), canonical_program(program)); }

bool is_interpreter(std::string_view program) {
  return contains(interpreters(), canonical_program(program));
}

bool is_awk(std::string_view program) {
  return program == "awk" || program == "gawk" || program == "mawk" || program == "nawk";
}

bool is_network_source(std::string_view program) { return contains(network_sources(), program); }

bool is_command_wrapper(std::string_view program) { return contains(command_wrappers(), program); }

bool is_known_program(std::string_view program) {
  const std::string canonical = canonical_program(program);
  return contains(known_programs(), canonical) || contains(shells(), canonical) ||
         contains(interpreters(), canonical) || contains(command_wrappers(), canonical) ||
         canonical.rfind("mkfs", 0) == 0;
}

bool is_any(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string basename_of(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace cmdai::safety
