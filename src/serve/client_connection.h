// Whether the client of a request is still there, so that a non-streamed generation whose client
// hung up is cancelled instead of running to its end for nobody. cpp-httplib 0.11 gives handlers
// no socket, so the request's connection is found among the process's sockets by its two ends.
#pragma once

#include <optional>
#include <string>

namespace cmdai::serve {

class ClientConnection {
 public:
  // The open TCP socket whose peer is remote_addr:remote_port and whose own port is local_port
  // (the fields cpp-httplib fills in for every request); nullopt when none matches.
  static std::optional<ClientConnection> find(const std::string& remote_addr, int remote_port,
                                              int local_port);

  // True once the client closed its end or reset the connection. Bytes it sent after the request
  // (a pipelined next request) stay unread. A client that half-closes after sending its request
  // counts as gone: HTTP clients do not do that while they wait for the answer.
  bool gone() const;

 private:
  explicit ClientConnection(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cmdai::serve
