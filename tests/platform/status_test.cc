// Tests for fieldsync/status.h: codes, names, string forms and Result<T>.
#include "fieldsync/status.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>

namespace fieldsync {
namespace {

TEST_CASE("a default Status is ok and prints as ok") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == StatusCode::kOk);
  CHECK(s.message().empty());
  CHECK(s.ToString() == "ok");
  CHECK(Status::OK().ok());
}

TEST_CASE("every status code has its stable snake_case name") {
  const std::pair<StatusCode, const char*> expected[] = {
      {StatusCode::kOk, "ok"},
      {StatusCode::kInvalidArgument, "invalid_argument"},
      {StatusCode::kNotFound, "not_found"},
      {StatusCode::kAlreadyExists, "already_exists"},
      {StatusCode::kWrongKey, "wrong_key"},
      {StatusCode::kCorruption, "corruption"},
      {StatusCode::kIOError, "io_error"},
      {StatusCode::kUnavailable, "unavailable"},
      {StatusCode::kAborted, "aborted"},
      {StatusCode::kFailedPrecondition, "failed_precondition"},
      {StatusCode::kInternal, "internal"},
      {StatusCode::kCancelled, "cancelled"},
      {StatusCode::kDeviceRevoked, "device_revoked"},
  };
  for (const auto& entry : expected) {
    CAPTURE(entry.second);
    CHECK(std::string(StatusCodeName(entry.first)) == entry.second);
  }
  CHECK(std::string(StatusCodeName(static_cast<StatusCode>(99))) == "unknown");
}

TEST_CASE("each factory sets its code and message and the matching predicate") {
  struct Case {
    Status status;
    StatusCode code;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument},
      {Status::NotFound("m"), StatusCode::kNotFound},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists},
      {Status::WrongKey("m"), StatusCode::kWrongKey},
      {Status::Corruption("m"), StatusCode::kCorruption},
      {Status::IOError("m"), StatusCode::kIOError},
      {Status::Unavailable("m"), StatusCode::kUnavailable},
      {Status::Aborted("m"), StatusCode::kAborted},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition},
      {Status::Internal("m"), StatusCode::kInternal},
      {Status::Cancelled("m"), StatusCode::kCancelled},
      {Status::DeviceRevoked("m"), StatusCode::kDeviceRevoked},
  };
  for (const Case& c : cases) {
    CAPTURE(StatusCodeName(c.code));
    CHECK_FALSE(c.status.ok());
    CHECK(c.status.code() == c.code);
    CHECK(c.status.message() == "m");
    CHECK(c.status.IsNotFound() == (c.code == StatusCode::kNotFound));
    CHECK(c.status.IsWrongKey() == (c.code == StatusCode::kWrongKey));
    CHECK(c.status.IsCorruption() == (c.code == StatusCode::kCorruption));
    CHECK(c.status.IsIOError() == (c.code == StatusCode::kIOError));
  }
}

TEST_CASE("an error prints as its code name then its message") {
  CHECK(Status::Corruption("page 7 failed authentication").ToString() ==
        "corruption: page 7 failed authentication");
  CHECK(Status::WrongKey("").ToString() == "wrong_key: ");
}

TEST_CASE("WithContext prefixes the message and keeps the code") {
  Status s = Status::NotFound("no such file").WithContext("opening store");
  CHECK(s.IsNotFound());
  CHECK(s.message() == "opening store: no such file");
  CHECK(s.ToString() == "not_found: opening store: no such file");
  CHECK(Status::OK().WithContext("anything").ok());
  CHECK(Status::OK().WithContext("anything").message().empty());
}

TEST_CASE("a Result holds either a value or an error status") {
  Result<int> good(42);
  REQUIRE(good.ok());
  CHECK(good.status().ok());
  CHECK(good.value() == 42);
  CHECK(*good == 42);

  Result<int> bad(Status::Unavailable("busy"));
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kUnavailable);
  CHECK(bad.status().message() == "busy");
}

TEST_CASE("a Result of a move-only type gives up its value by move") {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
  REQUIRE(r.ok());
  CHECK(**r == 7);
  std::unique_ptr<int> taken = std::move(r).value();
  REQUIRE(taken != nullptr);
  CHECK(*taken == 7);

  Result<std::string> s(std::string("abc"));
  CHECK(s->size() == 3);
}

Status FailsWith(Status inner, bool* reached_end) {
  FIELDSYNC_RETURN_IF_ERROR(inner);
  *reached_end = true;
  return Status::OK();
}

TEST_CASE("FIELDSYNC_RETURN_IF_ERROR returns errors and falls through on ok") {
  bool reached = false;
  Status s = FailsWith(Status::Aborted("restart"), &reached);
  CHECK(s.code() == StatusCode::kAborted);
  CHECK_FALSE(reached);

  s = FailsWith(Status::OK(), &reached);
  CHECK(s.ok());
  CHECK(reached);
}

}  // namespace
}  // namespace fieldsync
