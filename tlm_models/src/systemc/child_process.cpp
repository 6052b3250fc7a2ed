#include "txsim/tlm/systemc/child_process.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "txsim/config.h"
#include "txsim/state_archive.h"

namespace txsim::hw {

namespace {

// The child's answer: one byte saying what it is ('o' the result, 'c' ConfigError, 's'
// StateError, 'e' another exception), then its bytes.
void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent went away: nothing to tell
    done += static_cast<std::size_t>(n);
  }
}

std::string read_all(int fd) {
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

}  // namespace

std::string run_in_child_process(const std::function<std::string()>& work) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error(std::string("cannot make a pipe for a child process: ") + std::strerror(errno));
  std::fflush(nullptr);  // what the parent has buffered is written once, not again by the child
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error(std::string("cannot start a child process: ") + std::strerror(errno));
  }
  if (pid == 0) {
    close(fds[0]);
    std::string answer;
    try {
      answer = "o" + work();
    } catch (const ConfigError& e) {
      answer = std::string("c") + e.what();
    } catch (const StateError& e) {
      answer = std::string("s") + e.what();
    } catch (const std::exception& e) {
      answer = std::string("e") + e.what();
    } catch (...) {
      answer = "eunknown exception";
    }
    std::fflush(nullptr);
    write_all(fds[1], answer);
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  const std::string answer = read_all(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw std::runtime_error("the child process died of signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || answer.empty())
    throw std::runtime_error("the child process ended without an answer (exit status " + std::to_string(WEXITSTATUS(status)) + ")");
  const std::string body = answer.substr(1);
  switch (answer[0]) {
    case 'o': return body;
    case 'c': throw ConfigError(body);
    case 's': throw StateError(body);
    default: throw std::runtime_error(body);
  }
}

}  // namespace txsim::hw
