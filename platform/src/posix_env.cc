// posix_env.cc: the POSIX Env, fieldsync's only route to the file system.
//
// Every call is stateless (it opens, works, and closes its own descriptor), so PosixEnv is safe
// for concurrent use without locks. Descriptors are opened O_CLOEXEC so a host that forks and
// execs does not leak database files into the child. Calls that can be interrupted by a signal
// are retried on EINTR. Errors are NotFound for ENOENT and IOError otherwise, and their message
// names the operation, the path and strerror.
//
// Durability: WriteFileRange and SyncFile fsync the file; WriteFileAtomic fsyncs the temporary
// file before the rename and the directory after it, so after a crash the path holds either the
// old or the new contents in full, never a mix or an empty file.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "fieldsync/env.h"
#include "fieldsync/secret.h"

namespace fieldsync {

namespace {

// strerror_r comes in two incompatible flavours; overloads pick whichever the libc provides.
[[maybe_unused]] const char* StrErrorResult(int rc, const char* buf) {
  return rc == 0 ? buf : "unknown error";
}
[[maybe_unused]] const char* StrErrorResult(const char* msg, const char* /*buf*/) { return msg; }

std::string ErrnoText(int err) {
  char buf[256] = {};
  return StrErrorResult(strerror_r(err, buf, sizeof(buf)), buf);
}

Status PosixError(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + ErrnoText(err);
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  return Status::IOError(std::move(msg));
}

int OpenRetrying(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

int FsyncRetrying(int fd) {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

// Owns a descriptor. close() is not retried on EINTR: on Linux the descriptor is already released
// and a retry could close one another thread has just opened.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

  int get() const { return fd_; }
  // Closes now and reports the result; some file systems (NFS) report write errors only here.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool OffsetFits(uint64_t offset, size_t n) {
  constexpr uint64_t kMaxOff = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  return offset <= kMaxOff && n <= kMaxOff - offset;
}

Status PwriteAll(int fd, const std::string& path, uint64_t offset, std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t w = ::pwrite(fd, p, left, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return PosixError("write", path, errno);
    }
    p += w;
    left -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::OK();
}

// Reads until `n` bytes or end of file; returns the count read, or -1 with errno set.
ssize_t PreadAll(int fd, char* out, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

std::string HexSuffix() {
  uint8_t bytes[8];
  // A CSPRNG failure here is not fatal to the write: the name only has to avoid colliding with a
  // concurrent writer's temporary file, and O_EXCL catches the rare case where it does not.
  if (!SecureRandom(bytes, sizeof(bytes)).ok()) {
    struct timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t v = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(::getpid()) << 32);
    std::memcpy(bytes, &v, sizeof(bytes));
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

class PosixEnv final : public Env {
 public:
  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<uint64_t> FileSize(const std::string& path) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return PosixError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::string> ReadFile(const std::string& path) override {
    ScopedFd fd(OpenRetrying(path, O_RDONLY));
    if (fd.get() < 0) return PosixError("open", path, errno);
    std::string out;
    char buf[64 * 1024];
    for (;;) {
      ssize_t r = ::read(fd.get(), buf, sizeof(buf));
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError("read", path, errno);
      }
      if (r == 0) break;
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }

  Result<std::string> ReadFileRange(const std::string& path, uint64_t offset, size_t n) override {
    if (!OffsetFits(offset, n)) {
      return Status::InvalidArgument("read range out of bounds in " + path);
    }
    ScopedFd fd(OpenRetrying(path, O_RDONLY));
    if (fd.get() < 0) return PosixError("open", path, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return PosixError("stat", path, errno);
    // Sizing the buffer to what the file holds keeps a caller's large `n` from allocating memory
    // that could never be filled.
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const size_t want =
        offset >= size ? 0 : static_cast<size_t>(std::min<uint64_t>(n, size - offset));
    std::string out(want, '\0');
    ssize_t got = PreadAll(fd.get(), out.data(), want, offset);
    if (got < 0) return PosixError("read", path, errno);
    out.resize(static_cast<size_t>(got));
    return out;
  }

  Status WriteFileRange(const std::string& path, uint64_t offset, std::string_view data) override {
    if (!OffsetFits(offset, data.size())) {
      return Status::InvalidArgument("write range out of bounds in " + path);
    }
    ScopedFd fd(OpenRetrying(path, O_WRONLY));
    if (fd.get() < 0) return PosixError("open", path, errno);
    FIELDSYNC_RETURN_IF_ERROR(PwriteAll(fd.get(), path, offset, data));
    if (FsyncRetrying(fd.get()) != 0) return PosixError("fsync", path, errno);
    if (fd.Close() != 0) return PosixError("close", path, errno);
    return Status::OK();
  }

  Status WriteFileAtomic(const std::string& path, std::string_view data) override {
    const std::string tmp = path + ".tmp-" + HexSuffix();
    Status s = WriteTemp(path, tmp, data);
    if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
      s = PosixError("rename " + tmp + " to", path, errno);
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());  // best effort; the original error is the one worth reporting
      return s;
    }
    // Without this the rename itself may be lost in a crash, resurrecting the old contents.
    return SyncDir(DirName(path));
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename " + from + " to", to, errno);
    }
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("unlink", path, errno);
    return Status::OK();
  }

  Status SyncFile(const std::string& path) override {
    // Read-only is enough for fsync on Linux and lets us sync files we may not write.
    ScopedFd fd(OpenRetrying(path, O_RDONLY));
    if (fd.get() < 0) return PosixError("open", path, errno);
    if (FsyncRetrying(fd.get()) != 0) return PosixError("fsync", path, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    ScopedFd fd(OpenRetrying(dir, O_RDONLY | O_DIRECTORY));
    if (fd.get() < 0) return PosixError("open directory", dir, errno);
    if (FsyncRetrying(fd.get()) != 0) return PosixError("fsync directory", dir, errno);
    return Status::OK();
  }

  Status CreateDir(const std::string& path) override {
    if (path.empty())
      return Status::InvalidArgument("cannot create a directory with an empty path");
    // Walk the components so that missing parents are created too (mkdir -p).
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = path.find('/', pos + 1);
      const std::string prefix = path.substr(0, pos);
      if (prefix.empty() || prefix.back() == '/') continue;  // "//" or a leading '/'
      if (::mkdir(prefix.c_str(), 0777) == 0) continue;
      const int err = errno;
      // An existing directory is fine whatever mkdir said: in a parent we may not write to it
      // can fail with EACCES rather than EEXIST.
      struct stat st {};
      if (::stat(prefix.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) continue;
        if (err == EEXIST) return Status::AlreadyExists(prefix + " exists and is not a directory");
      }
      return PosixError("mkdir", prefix, err);
    }
    return Status::OK();
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError("opendir", dir, errno);
    std::vector<std::string> names;
    int err = 0;
    for (;;) {
      errno = 0;  // readdir signals errors only through errno
      struct dirent* e = ::readdir(d);
      if (e == nullptr) {
        err = errno;
        break;
      }
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    if (err != 0) return PosixError("readdir", dir, err);
    std::sort(names.begin(), names.end());
    return names;
  }

  Result<std::string> AbsolutePath(const std::string& path) override {
    if (path.empty()) return Status::InvalidArgument("cannot make an empty path absolute");
    if (path.front() == '/') return path;
    std::vector<char> buf(256);
    while (::getcwd(buf.data(), buf.size()) == nullptr) {
      if (errno != ERANGE) return PosixError("getcwd for", path, errno);
      buf.resize(buf.size() * 2);
    }
    std::string cwd(buf.data());
    if (cwd.back() != '/') cwd += '/';
    return cwd + path;
  }

  void SleepMicros(int64_t micros) override {
    if (micros <= 0) return;
    struct timespec req {};
    req.tv_sec = static_cast<time_t>(micros / 1000000);
    req.tv_nsec = static_cast<long>((micros % 1000000) * 1000);
    struct timespec rem {};
    // nanosleep reports the time left when a signal interrupts it; sleep the rest.
    while (::nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  }

 private:
  Status WriteTemp(const std::string& path, const std::string& tmp, std::string_view data) {
    ScopedFd fd(OpenRetrying(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666));
    if (fd.get() < 0) return PosixError("create", tmp, errno);
    // Replacing a file must not change who can read it: keep the permissions of the one replaced.
    struct stat old {};
    if (::stat(path.c_str(), &old) == 0 && ::fchmod(fd.get(), old.st_mode & 07777) != 0) {
      return PosixError("chmod", tmp, errno);
    }
    FIELDSYNC_RETURN_IF_ERROR(PwriteAll(fd.get(), tmp, 0, data));
    if (FsyncRetrying(fd.get()) != 0) return PosixError("fsync", tmp, errno);
    if (fd.Close() != 0) return PosixError("close", tmp, errno);
    return Status::OK();
  }
};

}  // namespace

Env::~Env() = default;

Env* Env::Default() {
  // Leaked on purpose: layers may use the Env from static destructors.
  static Env* const env = new PosixEnv();
  return env;
}

std::string DirName(const std::string& path) {
  // POSIX dirname(3) semantics, without its habit of modifying the argument.
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;  // "a/b/" names "a/b"
  const size_t slash = path.rfind('/', end == 0 ? 0 : end - 1);
  if (slash == std::string::npos) return ".";
  size_t dir_end = slash;
  while (dir_end > 0 && path[dir_end - 1] == '/') --dir_end;  // "a//b" -> "a"
  if (dir_end == 0) return "/";
  return path.substr(0, dir_end);
}

}  // namespace fieldsync
