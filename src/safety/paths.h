// Lexical path classification for the safety rules. Nothing touches the filesystem: a verdict
// must not depend on the machine that computes it, and the path may not exist yet.
#pragma once

#include <string>
#include <string_view>

namespace cmdai::safety {

// Resolves ".", ".." and repeated slashes without looking at the disk. The home directory
// (`~`, `~/x`, `~user`) is spelled "/home/~" so that `~/..` resolves to "/home". Relative paths
// stay relative ("." when nothing is left; leading ".." are kept).
std::string normalize_path(std::string_view path);

// What a recursive operation on `path` (e.g. `rm -rf`, `chmod -R`) would sweep up.
enum class TreeClass {
  kOther,      // an ordinary directory
  kRoot,       // "/", "/*", "/tmp/..", a glob over top-level directories
  kSystemDir,  // /etc, /usr, /var/lib, anything under /boot or /bin, ...
  kHome,       // ~, $HOME, /home/<user>, /root, /Users/<user> (and their "/*")
  kCwdAll,     // ".", "..", "*", "./*", "../..": everything in the current or a parent directory
};
TreeClass classify_tree(std::string_view path);

bool is_block_device(std::string_view path);     // /dev/sda, /dev/nvme0n1p2, /dev/mapper/x, ...
bool is_harmless_sink(std::string_view path);    // /dev/null, /dev/stdout, /dev/tty, /dev/fd/N
bool is_credential_file(std::string_view path);  // /etc/passwd, shadow, group, sudoers, ...
bool is_boot_path(std::string_view path);        // /boot/..., /efi/...
bool is_system_path(std::string_view path);      // under /etc, /usr, /bin, /lib, /boot, /opt, ...
bool is_history_file(std::string_view path);     // ~/.bash_history, .zsh_history, fish_history
bool is_kernel_control(std::string_view path);
// Files whose text runs later as commands: shell startup files (~/.bashrc, ~/.profile,
// ~/.zshrc, fish config, /etc/profile.d/...), crontabs, ~/.ssh/rc, autostart entries.
enum class PersistedCode { kNone, kShell, kCron };
PersistedCode persisted_code(std::string_view path);  // under /proc/sys or /sys

}  // namespace cmdai::safety
