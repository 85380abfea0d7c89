#include "serve/client_connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace cmdai::serve {
namespace {

// The numeric host and the port of an address, as cpp-httplib writes them into a Request.
bool host_and_port(const sockaddr_storage& addr, socklen_t len, std::string* host, int* port) {
  if (addr.ss_family == AF_INET) {
    *port = ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  } else if (addr.ss_family == AF_INET6) {
    *port = ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  } else {
    return false;
  }
  if (host == nullptr) return true;
  char text[NI_MAXHOST];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, text, sizeof(text), nullptr, 0,
                  NI_NUMERICHOST) != 0) {
    return false;
  }
  *host = text;
  return true;
}

}  // namespace

std::optional<ClientConnection> ClientConnection::find(const std::string& remote_addr,
                                                       int remote_port, int local_port) {
  if (remote_port <= 0 || local_port <= 0) return std::nullopt;
  // /dev/fd lists this process's open descriptors (on Linux through /proc/self/fd).
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/fd", ec)) {
    const int fd = std::atoi(entry.path().filename().c_str());
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int port = 0;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        !host_and_port(addr, len, nullptr, &port) || port != local_port) {
      continue;
    }
    len = sizeof(addr);
    std::string host;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        !host_and_port(addr, len, &host, &port) || port != remote_port || host != remote_addr) {
      continue;
    }
    return ClientConnection(fd);
  }
  return std::nullopt;
}

bool ClientConnection::gone() const {
  char byte = 0;
  const ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;  // the client's FIN
  if (n > 0) return false;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

}  // namespace cmdai::serve
