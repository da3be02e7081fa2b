// fieldsync/status.h: the error type every fieldsync layer returns.
//
// A Status is either OK or carries a StatusCode plus a readable message. Result<T> holds either a
// value or a non-OK Status (never an OK status without a value). Both are [[nodiscard]]: an ignored
// error is a bug. Construct errors with the named factories:
//
//   if (size < kHeaderSize) return Status::Corruption("file is shorter than its header");
//   Result<std::string> r = env->ReadFile(path);
//   if (!r.ok()) return r.status();
//
// The codes are few on purpose; each tells the caller what to do next:
//   InvalidArgument     the input is wrong: fix it, do not retry as is
//   NotFound            the named thing does not exist
//   AlreadyExists       it exists and the call would overwrite it
//   WrongKey            the key or passphrase does not open this database: ask the user again
//   Corruption          data failed authentication or is structurally damaged: stop, do not retry
//   IOError             the operating system failed the call (disk full, permission, ...)
//   Unavailable         transient (busy, locked, network): retry the same call later
//   Aborted             a higher-level operation must restart (e.g. a sync round)
//   FailedPrecondition  the state does not allow it (e.g. database in use); change state first
//   Internal            a bug in fieldsync
//
// Thread safety: values, safe to copy between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace fieldsync {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,
  kNotFound = 2,
  kAlreadyExists = 3,
  kWrongKey = 4,
  kCorruption = 5,
  kIOError = 6,
  kUnavailable = 7,
  kAborted = 8,
  kFailedPrecondition = 9,
  kInternal = 10,
  kCancelled = 11,  // the caller asked to stop (Replicator::Cancel); nothing half-applied
  // The server revoked this device: the replicator erased the local database and its key
  // (Replicator::SyncOnce says whether erasing succeeded). Use that database no more.
  kDeviceRevoked = 12,
};

// Stable snake_case name of a code ("wrong_key"); printed by the CLI and carried by the C API.
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(StatusCode::kAlreadyExists, std::move(msg));
  }
  static Status WrongKey(std::string msg) { return Status(StatusCode::kWrongKey, std::move(msg)); }
  static Status Corruption(std::string msg) {
    return Status(StatusCode::kCorruption, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(StatusCode::kIOError, std::move(msg)); }
  static Status Unavailable(std::string msg) {
    return Status(StatusCode::kUnavailable, std::move(msg));
  }
  static Status Aborted(std::string msg) { return Status(StatusCode::kAborted, std::move(msg)); }
  static Status FailedPrecondition(std::string msg) {
    return Status(StatusCode::kFailedPrecondition, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }
  static Status Cancelled(std::string msg) {
    return Status(StatusCode::kCancelled, std::move(msg));
  }
  static Status DeviceRevoked(std::string msg) {
    return Status(StatusCode::kDeviceRevoked, std::move(msg));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsWrongKey() const { return code_ == StatusCode::kWrongKey; }
  bool IsCorruption() const { return code_ == StatusCode::kCorruption; }
  bool IsIOError() const { return code_ == StatusCode::kIOError; }

  // "<code_name>: <message>", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `; OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {
    assert(code != StatusCode::kOk);
  }

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of type T, or the error that prevented producing one.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose, like StatusOr
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result cannot hold an OK status without a value");
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace fieldsync

// Propagates a non-OK Status from an expression returning Status.
#define FIELDSYNC_RETURN_IF_ERROR(expr)      \
  do {                                       \
    ::fieldsync::Status fs_status_ = (expr); \
    if (!fs_status_.ok()) return fs_status_; \
  } while (0)
